//! The log's Merkle tree: RFC 9162 §2.1 with BLAKE3 as the hash. A leaf is
//! `BLAKE3(0x00 ‖ record bytes)`, an interior node `BLAKE3(0x01 ‖ left ‖ right)`, the root of the
//! empty tree `BLAKE3("")`. Inclusion and consistency proofs are generated from any
//! [`NodeSource`] that knows the tree's perfect (complete, aligned) subtrees, so a proof costs
//! O(log n) node reads, and verified by pure functions that reject every malformed proof with a
//! typed [`ProofError`].
//!
//! Perfect subtrees are addressed as `(level, index)`: the node over leaves
//! `[index·2^level, (index+1)·2^level)`. [`Frontier`] keeps the right edge of a growing tree and
//! says which new perfect nodes each appended leaf completes, so the store can keep them all.

use crate::id::{Hash32, Seq};

/// The hash of a leaf's content.
pub fn leaf_hash(content: &[u8]) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(&[0x00]);
    h.update(content);
    Hash32(*h.finalize().as_bytes())
}

/// The hash of an interior node.
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(&[0x01]);
    h.update(&left.0);
    h.update(&right.0);
    Hash32(*h.finalize().as_bytes())
}

/// The root of the empty tree.
pub fn empty_root() -> Hash32 {
    Hash32::digest(b"")
}

/// A perfect subtree's address: `level` (0 for leaves) and `index` at that level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

/// Anything that can produce the hashes of a tree's perfect subtrees.
pub trait NodeSource {
    type Error;
    /// The hash of a perfect subtree that lies wholly within the tree.
    fn node(&self, id: NodeId) -> Result<Hash32, Self::Error>;
}

/// The largest power of two strictly less than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH of leaves `[start, end)`, where `start` is aligned to the largest power of two not above
/// `end - start`, as every range RFC 9162's recursion visits is.
fn range_hash<S: NodeSource>(source: &S, start: u64, end: u64) -> Result<Hash32, S::Error> {
    let n = end - start;
    if n.is_power_of_two() {
        let level = n.trailing_zeros() as u8;
        return source.node(NodeId { level, index: start >> level });
    }
    let k = split_point(n);
    Ok(node_hash(&range_hash(source, start, start + k)?, &range_hash(source, start + k, end)?))
}

/// The root of the first `size` leaves.
pub fn root<S: NodeSource>(source: &S, size: u64) -> Result<Hash32, S::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(source, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1), leaf
/// side first. `index < size` is the caller's to check ([`ProofError::IndexOutOfRange`]).
pub fn inclusion_proof<S: NodeSource>(source: &S, index: u64, size: u64) -> Result<Vec<Hash32>, S::Error> {
    let mut path = Vec::new();
    inclusion_path(source, index, 0, size, &mut path)?;
    Ok(path)
}

fn inclusion_path<S: NodeSource>(
    source: &S,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash32>,
) -> Result<(), S::Error> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < k {
        inclusion_path(source, m, start, start + k, out)?;
        out.push(range_hash(source, start + k, end)?);
    } else {
        inclusion_path(source, m - k, start + k, end, out)?;
        out.push(range_hash(source, start, start + k)?);
    }
    Ok(())
}

/// The consistency proof between the trees of `first` and `second` leaves (RFC 9162 §2.1.4.1).
pub fn consistency_proof<S: NodeSource>(source: &S, first: u64, second: u64) -> Result<Vec<Hash32>, S::Error> {
    let mut path = Vec::new();
    if first > 0 && first < second {
        subproof(source, first, 0, second, true, &mut path)?;
    }
    Ok(path)
}

fn subproof<S: NodeSource>(
    source: &S,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    out: &mut Vec<Hash32>,
) -> Result<(), S::Error> {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(range_hash(source, start, end)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(source, m, start, start + k, complete, out)?;
        out.push(range_hash(source, start + k, end)?);
    } else {
        subproof(source, m - k, start + k, end, false, out)?;
        out.push(range_hash(source, start, start + k)?);
    }
    Ok(())
}

/// Why a proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("the proof has {actual} hashes; a proof for these sizes has {expected}")]
    WrongLength { expected: usize, actual: usize },
    #[error("tree sizes {first} and {second} are not in order (the first must not exceed the second)")]
    SizesOutOfOrder { first: u64, second: u64 },
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("a consistency proof from the empty tree proves nothing")]
    EmptyTree,
}

/// Verifies that `leaf` is at `index` in the tree of `size` leaves with root `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash32,
    index: u64,
    size: u64,
    path: &[Hash32],
    root: &Hash32,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_length(index, size);
    if path.len() != expected {
        return Err(ProofError::WrongLength { expected, actual: path.len() });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn == 0 && &r == root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// How many hashes an inclusion proof for (index, size) has.
fn inclusion_length(index: u64, size: u64) -> usize {
    let (mut fn_, mut sn, mut len) = (index, size - 1, 0);
    while sn > 0 {
        if fn_ & 1 == 1 || fn_ != sn {
            len += 1;
        } else {
            // fn_ == sn with fn_ even: a right-edge node with no sibling at this level.
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
            if sn == 0 {
                break;
            }
            len += 1;
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    len
}

/// Verifies that the tree of `first` leaves with root `first_root` is a prefix of the tree of
/// `second` leaves with root `second_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash32,
    second_root: &Hash32,
    path: &[Hash32],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::SizesOutOfOrder { first, second });
    }
    if first == second {
        if !path.is_empty() {
            return Err(ProofError::WrongLength { expected: 0, actual: path.len() });
        }
        return if first_root == second_root { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    if first == 0 {
        return Err(ProofError::EmptyTree);
    }
    let expected = consistency_length(first, second);
    if path.len() != expected {
        return Err(ProofError::WrongLength { expected, actual: path.len() });
    }
    let mut path = path.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_root);
    }
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn == 0 && &fr == first_root && &sr == second_root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// How many hashes a consistency proof between these sizes has (0 < first < second).
fn consistency_length(first: u64, second: u64) -> usize {
    // Mirrors SUBPROOF: one hash per level of descent, plus the final subtree unless it is the
    // whole old tree.
    let (mut m, mut n, mut complete, mut len) = (first, second, true, 0);
    loop {
        if m == n {
            return len + usize::from(!complete);
        }
        let k = split_point(n);
        len += 1;
        if m <= k {
            n = k;
        } else {
            m -= k;
            n -= k;
            complete = false;
        }
    }
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    peaks: Vec<(NodeId, Hash32)>,
}

impl Frontier {
    /// The frontier of the tree of `size` leaves, from its peaks' hashes.
    pub fn load<S: NodeSource>(source: &S, size: u64) -> Result<Self, S::Error> {
        let mut peaks = Vec::new();
        let mut start = 0;
        for level in (0..64u8).rev() {
            if size & (1 << level) != 0 {
                let id = NodeId { level, index: start >> level };
                peaks.push((id, source.node(id)?));
                start += 1 << level;
            }
        }
        Ok(Frontier { size, peaks })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns every perfect node it completes (the leaf itself first).
    pub fn push(&mut self, leaf: Hash32) -> Vec<(NodeId, Hash32)> {
        let mut made = vec![(NodeId { level: 0, index: self.size }, leaf)];
        self.peaks.push(made[0]);
        while self.peaks.len() >= 2 {
            let (right_id, right) = self.peaks[self.peaks.len() - 1];
            let (left_id, left) = self.peaks[self.peaks.len() - 2];
            if left_id.level != right_id.level {
                break;
            }
            self.peaks.truncate(self.peaks.len() - 2);
            let merged = (NodeId { level: left_id.level + 1, index: left_id.index >> 1 }, node_hash(&left, &right));
            self.peaks.push(merged);
            made.push(merged);
        }
        self.size += 1;
        made
    }

    /// The root of the tree.
    pub fn root(&self) -> Hash32 {
        let mut peaks = self.peaks.iter().rev().map(|(_, h)| *h);
        match peaks.next() {
            None => empty_root(),
            Some(last) => peaks.fold(last, |acc, peak| node_hash(&peak, &acc)),
        }
    }

    /// The index the next leaf gets.
    pub fn next_seq(&self) -> Seq {
        self.size
    }
}

/// A tree held in memory: every perfect node of the leaves it was given (tests, benchmarks). It
/// grows with its leaves: a log's tree is read from the store, and `audit` keeps a [`Frontier`].
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    nodes: std::collections::HashMap<NodeId, Hash32>,
    frontier: Frontier,
}

impl MemoryTree {
    /// A tree over these leaf hashes.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash32>) -> Self {
        let mut tree = MemoryTree::default();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash32) {
        self.nodes.extend(self.frontier.push(leaf));
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of all leaves.
    pub fn root(&self) -> Hash32 {
        self.frontier.root()
    }
}

/// A node that a proof needed is not in the tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node at level {}, index {} is not in the tree", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl NodeSource for MemoryTree {
    type Error = MissingNode;
    fn node(&self, id: NodeId) -> Result<Hash32, MissingNode> {
        self.nodes.get(&id).copied().ok_or(MissingNode(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MTH straight from the RFC's recursive definition.
    fn reference_root(leaves: &[Hash32]) -> Hash32 {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash32> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn roots_match_the_recursive_definition_for_every_prefix() {
        let all = leaves(70);
        let tree = MemoryTree::from_leaves(all.clone());
        for size in 0..=70u64 {
            assert_eq!(root(&tree, size).unwrap(), reference_root(&all[..size as usize]), "size {size}");
        }
        assert_eq!(tree.root(), reference_root(&all));
    }

    #[test]
    fn every_inclusion_and_consistency_proof_verifies() {
        let all = leaves(40);
        let tree = MemoryTree::from_leaves(all.clone());
        for size in 1..=40u64 {
            let r = root(&tree, size).unwrap();
            for index in 0..size {
                let path = inclusion_proof(&tree, index, size).unwrap();
                verify_inclusion(&all[index as usize], index, size, &path, &r).unwrap();
            }
            for first in 1..=size {
                let path = consistency_proof(&tree, first, size).unwrap();
                verify_consistency(first, size, &root(&tree, first).unwrap(), &r, &path).unwrap();
            }
        }
    }

    #[test]
    fn malformed_proofs_are_typed_errors() {
        let all = leaves(10);
        let tree = MemoryTree::from_leaves(all.clone());
        let r = tree.root();
        let path = inclusion_proof(&tree, 3, 10).unwrap();
        assert_eq!(
            verify_inclusion(&all[3], 10, 10, &path, &r),
            Err(ProofError::IndexOutOfRange { index: 10, size: 10 })
        );
        assert!(matches!(verify_inclusion(&all[3], 3, 10, &path[1..], &r), Err(ProofError::WrongLength { .. })));
        let mut longer = path.clone();
        longer.push(r);
        assert!(matches!(verify_inclusion(&all[3], 3, 10, &longer, &r), Err(ProofError::WrongLength { .. })));
        assert_eq!(verify_inclusion(&all[4], 3, 10, &path, &r), Err(ProofError::RootMismatch));
        // A proof for another tree size.
        assert!(verify_inclusion(&all[3], 3, 9, &path, &root(&tree, 9).unwrap()).is_err());
        let c = consistency_proof(&tree, 4, 10).unwrap();
        let r4 = root(&tree, 4).unwrap();
        assert_eq!(verify_consistency(10, 4, &r, &r4, &c), Err(ProofError::SizesOutOfOrder { first: 10, second: 4 }));
        assert_eq!(verify_consistency(0, 10, &empty_root(), &r, &c), Err(ProofError::EmptyTree));
        assert!(matches!(verify_consistency(4, 10, &r4, &r, &c[1..]), Err(ProofError::WrongLength { .. })));
        assert_eq!(verify_consistency(4, 10, &r, &r, &c), Err(ProofError::RootMismatch));
    }

    #[test]
    fn frontier_loads_from_stored_nodes() {
        let tree = MemoryTree::from_leaves(leaves(13));
        let loaded = Frontier::load(&tree, 13).unwrap();
        assert_eq!(loaded, tree.frontier);
        assert_eq!(loaded.root(), tree.root());
    }
}
