//! RFC 9162 §2.1 Merkle trees with BLAKE3 (`credledger::merkle`).
//!
//! * Golden vectors: `tests/vectors/merkle/vectors.json`, written by an independent Python reading
//!   of the RFC (`tests/vectors/merkle/gen.py`): leaf hashes, every root, every inclusion proof and
//!   every consistency proof of the trees of 1..=17 leaves must come out byte for byte, and verify.
//! * Properties over trees of up to 300 leaves: every proof is the RFC's, verifies, and stops
//!   verifying when any part of it is tampered with, with the error the RFC's shape predicts.
//! * Garbage (random paths, sizes up to `u64::MAX`, indices past the end) is rejected with a typed
//!   error and never panics.

use std::fs;
use std::sync::OnceLock;

use credledger::id::Hash32;
use credledger::merkle::{
    self, MemoryTree, ProofError, consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash,
    verify_consistency, verify_inclusion,
};
use proptest::prelude::*;
use serde::Deserialize;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/merkle/vectors.json");

// ---------------------------------------------------------------------------------------------
// The vector file.
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    leaf_contents: Vec<String>,
    leaf_hashes: Vec<Hash32>,
    empty_root: Hash32,
    trees: Vec<TreeVector>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TreeVector {
    size: u64,
    root: Hash32,
    inclusion: Vec<InclusionVector>,
    consistency: Vec<ConsistencyVector>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionVector {
    index: u64,
    path: Vec<Hash32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyVector {
    from: u64,
    path: Vec<Hash32>,
}

fn vectors() -> Vectors {
    let text = fs::read_to_string(VECTORS).unwrap_or_else(|e| panic!("{VECTORS}: {e}"));
    let v: Vectors = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{VECTORS}: {e}"));
    // The file must be complete, or a golden test could pass by checking nothing.
    let n = v.leaf_contents.len();
    assert_eq!(n, 17, "leaf_contents");
    assert_eq!(v.leaf_hashes.len(), n, "leaf_hashes");
    assert_eq!(v.trees.len(), n, "trees");
    for (t, size) in v.trees.iter().zip(1u64..) {
        assert_eq!(t.size, size, "trees are in size order, 1..=17");
        let indices: Vec<u64> = t.inclusion.iter().map(|p| p.index).collect();
        assert_eq!(indices, (0..size).collect::<Vec<_>>(), "size {size}: inclusion");
        let froms: Vec<u64> = t.consistency.iter().map(|p| p.from).collect();
        assert_eq!(froms, (1..=size).collect::<Vec<_>>(), "size {size}: consistency");
    }
    v
}

fn hexes(path: &[Hash32]) -> Vec<String> {
    path.iter().map(Hash32::to_hex).collect()
}

// ---------------------------------------------------------------------------------------------
// Golden vectors.
// ---------------------------------------------------------------------------------------------

#[test]
fn hex_round_trips_through_hash32() {
    let v = vectors();
    for h in v.leaf_hashes.iter().chain([&v.empty_root]) {
        assert_eq!(h.to_hex().parse::<Hash32>().unwrap(), *h);
    }
}

#[test]
fn leaf_hashes_roots_and_proofs_match_the_vectors() {
    let v = vectors();
    let mut wrong = Vec::new();

    assert_eq!(empty_root(), v.empty_root, "empty root");
    let leaves: Vec<Hash32> = v.leaf_contents.iter().map(|c| leaf_hash(c.as_bytes())).collect();
    for (i, (actual, expected)) in leaves.iter().zip(&v.leaf_hashes).enumerate() {
        if actual != expected {
            wrong.push(format!("leaf {i}: expected {expected}, got {actual}"));
        }
    }
    // From here on use the vectors' leaf hashes, so one bad leaf hash does not hide the rest.
    let tree = MemoryTree::from_leaves(v.leaf_hashes.iter().copied());
    assert_eq!(tree.size(), 17);
    assert_eq!(merkle::root(&tree, 0).unwrap(), v.empty_root, "root of size 0");

    let roots: Vec<Hash32> = v.trees.iter().map(|t| t.root).collect();
    for t in &v.trees {
        let n = t.size;
        let actual = merkle::root(&tree, n).unwrap();
        if actual != t.root {
            wrong.push(format!("root of size {n}: expected {}, got {actual}", t.root));
        }
        let own = MemoryTree::from_leaves(v.leaf_hashes[..n as usize].iter().copied());
        if own.root() != t.root {
            wrong.push(format!("MemoryTree::root of {n} leaves: expected {}, got {}", t.root, own.root()));
        }
        for p in &t.inclusion {
            let i = p.index;
            let actual = inclusion_proof(&tree, i, n).unwrap();
            if actual != p.path {
                wrong.push(format!(
                    "inclusion size {n} index {i}: expected {:?}, got {:?}",
                    hexes(&p.path),
                    hexes(&actual)
                ));
            }
            if let Err(e) = verify_inclusion(&v.leaf_hashes[i as usize], i, n, &p.path, &t.root) {
                wrong.push(format!("inclusion size {n} index {i}: the vector proof is rejected: {e}"));
            }
        }
        for p in &t.consistency {
            let m = p.from;
            let actual = consistency_proof(&tree, m, n).unwrap();
            if actual != p.path {
                wrong.push(format!("consistency {m} -> {n}: expected {:?}, got {:?}", hexes(&p.path), hexes(&actual)));
            }
            let old = &roots[m as usize - 1];
            if let Err(e) = verify_consistency(m, n, old, &t.root, &p.path) {
                wrong.push(format!("consistency {m} -> {n}: the vector proof is rejected: {e}"));
            }
        }
    }
    assert_eq!(tree.root(), roots[16], "MemoryTree::root");
    assert!(wrong.is_empty(), "{} disagreements with {VECTORS}:\n{}", wrong.len(), wrong.join("\n"));
}

fn flip_bit(h: &Hash32, bit: usize) -> Hash32 {
    let mut out = *h;
    out.0[bit / 8] ^= 1 << (bit % 8);
    out
}

/// Every single-bit change to any hash of any vector proof, its leaf or its roots is caught.
#[test]
fn every_bit_flip_of_a_vector_proof_is_rejected() {
    let v = vectors();
    let roots: Vec<Hash32> = v.trees.iter().map(|t| t.root).collect();
    for t in &v.trees {
        let n = t.size;
        for p in &t.inclusion {
            let i = p.index;
            let leaf = &v.leaf_hashes[i as usize];
            for bit in 0..256 {
                let e = Err(ProofError::RootMismatch);
                assert_eq!(verify_inclusion(&flip_bit(leaf, bit), i, n, &p.path, &t.root), e);
                assert_eq!(verify_inclusion(leaf, i, n, &p.path, &flip_bit(&t.root, bit)), e);
                for j in 0..p.path.len() {
                    let mut path = p.path.clone();
                    path[j] = flip_bit(&path[j], bit);
                    assert_eq!(
                        verify_inclusion(leaf, i, n, &path, &t.root),
                        e,
                        "size {n} index {i} hash {j} bit {bit}"
                    );
                }
            }
        }
        for p in &t.consistency {
            let m = p.from;
            let old = &roots[m as usize - 1];
            for bit in 0..256 {
                let e = Err(ProofError::RootMismatch);
                assert_eq!(verify_consistency(m, n, &flip_bit(old, bit), &t.root, &p.path), e);
                assert_eq!(verify_consistency(m, n, old, &flip_bit(&t.root, bit), &p.path), e);
                for j in 0..p.path.len() {
                    let mut path = p.path.clone();
                    path[j] = flip_bit(&path[j], bit);
                    assert_eq!(verify_consistency(m, n, old, &t.root, &path), e, "{m} -> {n} hash {j} bit {bit}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The RFC's definitions, for trees of any size: what a proof looks like, and (over leaf hashes)
// what it contains.
// ---------------------------------------------------------------------------------------------

/// The largest power of two smaller than `n` (n > 1), without overflow up to `u64::MAX`.
fn split(n: u64) -> u64 {
    assert!(n > 1);
    let mut k = 1;
    while k < n - k {
        k *= 2;
    }
    k
}

/// Which side of the running hash each inclusion-proof hash goes on, leaf side first
/// (RFC 9162 §2.1.3.1, PATH(m, D[n])). Two (index, size) pairs with the same shape are the same
/// computation to a verifier, so a proof for one is a proof for the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// The proof hash is the left child: `node(p, r)`.
    Left,
    /// The proof hash is the right child: `node(r, p)`.
    Right,
}

fn inclusion_shape(index: u64, size: u64) -> Vec<Side> {
    assert!(index < size);
    let (mut m, mut n) = (index, size);
    let mut top_down = Vec::new();
    while n > 1 {
        let k = split(n);
        if m < k {
            top_down.push(Side::Right);
            n = k;
        } else {
            top_down.push(Side::Left);
            m -= k;
            n -= k;
        }
    }
    top_down.reverse();
    top_down
}

/// The steps of consistency-proof verification, bottom first (RFC 9162 §2.1.4.1, SUBPROOF): the
/// start is either the old root itself (`OldRoot`, not in the proof: the old tree is a perfect
/// subtree of the new) or the proof's first hash (`Seed`); then each further hash is a left
/// sibling in both trees, or a right sibling in the new tree only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    OldRoot,
    Seed,
    LeftInBoth,
    RightInNew,
}

fn consistency_shape(first: u64, second: u64) -> Vec<Step> {
    assert!(0 < first && first <= second);
    let (mut m, mut n, mut complete) = (first, second, true);
    let mut top_down = Vec::new();
    while m != n {
        let k = split(n);
        if m <= k {
            top_down.push(Step::RightInNew);
            n = k;
        } else {
            top_down.push(Step::LeftInBoth);
            m -= k;
            n -= k;
            complete = false;
        }
    }
    top_down.push(if complete { Step::OldRoot } else { Step::Seed });
    top_down.reverse();
    top_down
}

fn consistency_len(shape: &[Step]) -> usize {
    shape.iter().filter(|s| **s != Step::OldRoot).count()
}

/// What `verify_inclusion` must say about a claimed (index, size) and a path of `len` hashes
/// whose hashes are right for `truth` = (index, size) exactly when `genuine`.
fn inclusion_verdict(index: u64, size: u64, len: usize, genuine: Option<(u64, u64)>) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let shape = inclusion_shape(index, size);
    if len != shape.len() {
        return Err(ProofError::WrongLength { expected: shape.len(), actual: len });
    }
    match genuine {
        Some((i, n)) if inclusion_shape(i, n) == shape => Ok(()),
        _ => Err(ProofError::RootMismatch),
    }
}

/// What `verify_consistency` must say, as [`inclusion_verdict`]. `same_roots` is whether the two
/// roots given are equal.
fn consistency_verdict(
    first: u64,
    second: u64,
    len: usize,
    same_roots: bool,
    genuine: Option<(u64, u64)>,
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::SizesOutOfOrder { first, second });
    }
    if first == second {
        return match (len, same_roots) {
            (0, true) => Ok(()),
            (0, false) => Err(ProofError::RootMismatch),
            (actual, _) => Err(ProofError::WrongLength { expected: 0, actual }),
        };
    }
    if first == 0 {
        return Err(ProofError::EmptyTree);
    }
    let shape = consistency_shape(first, second);
    if len != consistency_len(&shape) {
        return Err(ProofError::WrongLength { expected: consistency_len(&shape), actual: len });
    }
    match genuine {
        Some((m, n)) if consistency_shape(m, n) == shape => Ok(()),
        _ => Err(ProofError::RootMismatch),
    }
}

/// MTH over leaf hashes (RFC 9162 §2.1.1).
fn mth(d: &[Hash32]) -> Hash32 {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// PATH(m, D[n]) over leaf hashes (RFC 9162 §2.1.3.1).
fn rfc_path(m: usize, d: &[Hash32]) -> Vec<Hash32> {
    let n = d.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n as u64) as usize;
    let (mut path, sibling) =
        if m < k { (rfc_path(m, &d[..k]), mth(&d[k..])) } else { (rfc_path(m - k, &d[k..]), mth(&d[..k])) };
    path.push(sibling);
    path
}

/// SUBPROOF(m, D[n], b) over leaf hashes (RFC 9162 §2.1.4.1).
fn rfc_subproof(m: usize, d: &[Hash32], complete: bool) -> Vec<Hash32> {
    let n = d.len();
    if m == n {
        return if complete { Vec::new() } else { vec![mth(d)] };
    }
    let k = split(n as u64) as usize;
    let (mut path, sibling) = if m <= k {
        (rfc_subproof(m, &d[..k], complete), mth(&d[k..]))
    } else {
        (rfc_subproof(m - k, &d[k..], false), mth(&d[..k]))
    };
    path.push(sibling);
    path
}

#[test]
fn the_shapes_agree_with_the_vectors() {
    let v = vectors();
    for t in &v.trees {
        for p in &t.inclusion {
            assert_eq!(inclusion_shape(p.index, t.size).len(), p.path.len());
        }
        for p in &t.consistency {
            assert_eq!(consistency_len(&consistency_shape(p.from, t.size)), p.path.len());
        }
    }
    // The known coincidences: a proof for leaf 0 of 4 leaves is also one for leaf 0 of 3 (both
    // climb two left-hand levels), and 2 -> 4 proves 2 -> 3. RFC 9162's verifier cannot tell them
    // apart (it does not see the kind of node a path hash stands for), so neither must ours.
    assert_eq!(inclusion_shape(0, 3), inclusion_shape(0, 4));
    assert_eq!(consistency_shape(2, 3), consistency_shape(2, 4));
    assert_ne!(inclusion_shape(2, 3), inclusion_shape(3, 4));
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

const MAX_SIZE: u64 = 300;

/// One tree of `MAX_SIZE` distinct leaves; every smaller tree is a prefix of it.
fn big_tree() -> &'static (Vec<Hash32>, MemoryTree) {
    static TREE: OnceLock<(Vec<Hash32>, MemoryTree)> = OnceLock::new();
    TREE.get_or_init(|| {
        let leaves: Vec<Hash32> = (0..MAX_SIZE).map(|i| leaf_hash(format!("property leaf {i}").as_bytes())).collect();
        let tree = MemoryTree::from_leaves(leaves.iter().copied());
        (leaves, tree)
    })
}

fn config(cases: u32) -> ProptestConfig {
    // PROPTEST_CASES still wins, for a longer run.
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    ProptestConfig {
        cases,
        // Failures print their inputs; no regression file is written next to this test.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX_SIZE).prop_flat_map(|n| (Just(n), 0..n))
}

fn size_and_first() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX_SIZE).prop_flat_map(|n| (Just(n), 1..=n))
}

/// Sizes and indices anywhere in u64, with the edges well represented.
fn any_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(1 << 63),
        (0..64u32).prop_map(|e| 1u64 << e),
        (0..64u32).prop_map(|e| (1u64 << e) - 1),
        0..2000u64,
        any::<u64>(),
    ]
}

fn hash() -> impl Strategy<Value = Hash32> {
    any::<[u8; 32]>().prop_map(Hash32)
}

/// A garbage path: any length up to 70, or (`None`) exactly the length the sizes call for.
fn garbage_path() -> impl Strategy<Value = (Option<usize>, Vec<Hash32>)> {
    prop_oneof![(0..=70usize).prop_map(Some), Just(None::<usize>),]
        .prop_flat_map(|len| (Just(len), prop::collection::vec(hash(), 0..=70)))
}

/// `path` cut or padded (with copies of `filler`) to `len`.
fn fit(mut path: Vec<Hash32>, len: usize, filler: Hash32) -> Vec<Hash32> {
    path.resize(len, filler);
    path
}

proptest! {
    #![proptest_config(config(256))]

    /// Inclusion proofs in trees of up to 300 leaves are the RFC's, verify, and stop verifying
    /// when any bit of the leaf, root or path changes, when the index or size moves by one (unless
    /// the moved claim is the very same computation, see `the_shapes_agree_with_the_vectors`), or
    /// when the path is cut or padded.
    #[test]
    fn inclusion_proofs_verify_and_tampering_is_caught(
        (size, index) in size_and_index(),
        bit in 0..256usize,
        cut in any::<prop::sample::Index>(),
    ) {
        let (leaves, tree) = big_tree();
        let leaf = leaves[index as usize];
        let root = merkle::root(tree, size).unwrap();
        let path = inclusion_proof(tree, index, size).unwrap();
        let d = &leaves[..size as usize];
        prop_assert_eq!(root, mth(d));
        prop_assert_eq!(&path, &rfc_path(index as usize, d));
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &path, &root), Ok(()));

        let mismatch = Err(ProofError::RootMismatch);
        prop_assert_eq!(verify_inclusion(&flip_bit(&leaf, bit), index, size, &path, &root), mismatch.clone());
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &path, &flip_bit(&root, bit)), mismatch.clone());
        for j in 0..path.len() {
            let mut bad = path.clone();
            bad[j] = flip_bit(&bad[j], (bit + 97 * j) % 256);
            prop_assert_eq!(verify_inclusion(&leaf, index, size, &bad, &root), mismatch.clone(), "hash {}", j);
        }

        let truth = Some((index, size));
        for i in [index.checked_sub(1), index.checked_add(1)].into_iter().flatten() {
            let got = verify_inclusion(&leaf, i, size, &path, &root);
            prop_assert!(got.is_err(), "index {} accepted in place of {}", i, index);
            prop_assert_eq!(got, inclusion_verdict(i, size, path.len(), truth), "index {}", i);
        }
        for n in [size - 1, size + 1] {
            let got = verify_inclusion(&leaf, index, n, &path, &root);
            prop_assert_eq!(got, inclusion_verdict(index, n, path.len(), truth), "size {}", n);
        }

        let len = path.len();
        if len > 0 {
            let mut short = path.clone();
            short.remove(cut.index(len));
            prop_assert_eq!(
                verify_inclusion(&leaf, index, size, &short, &root),
                Err(ProofError::WrongLength { expected: len, actual: len - 1 })
            );
            prop_assert_eq!(
                verify_inclusion(&leaf, index, size, &[], &root),
                Err(ProofError::WrongLength { expected: len, actual: 0 })
            );
        }
        for extra in [root, leaf, path.first().copied().unwrap_or(root)] {
            let mut long = path.clone();
            long.insert(cut.index(len + 1), extra);
            prop_assert_eq!(
                verify_inclusion(&leaf, index, size, &long, &root),
                Err(ProofError::WrongLength { expected: len, actual: len + 1 })
            );
        }
    }

    /// Consistency proofs between trees of up to 300 leaves, likewise.
    #[test]
    fn consistency_proofs_verify_and_tampering_is_caught(
        (second, first) in size_and_first(),
        bit in 0..256usize,
        cut in any::<prop::sample::Index>(),
    ) {
        let (leaves, tree) = big_tree();
        let old = merkle::root(tree, first).unwrap();
        let new = merkle::root(tree, second).unwrap();
        let path = consistency_proof(tree, first, second).unwrap();
        prop_assert_eq!(&path, &rfc_subproof(first as usize, &leaves[..second as usize], true));
        prop_assert_eq!(verify_consistency(first, second, &old, &new, &path), Ok(()));

        let mismatch = Err(ProofError::RootMismatch);
        prop_assert_eq!(verify_consistency(first, second, &flip_bit(&old, bit), &new, &path), mismatch.clone());
        prop_assert_eq!(verify_consistency(first, second, &old, &flip_bit(&new, bit), &path), mismatch.clone());
        for j in 0..path.len() {
            let mut bad = path.clone();
            bad[j] = flip_bit(&bad[j], (bit + 97 * j) % 256);
            prop_assert_eq!(verify_consistency(first, second, &old, &new, &bad), mismatch.clone(), "hash {}", j);
        }
        // Swapped roots (for different trees) never pass.
        if first < second {
            prop_assert!(verify_consistency(first, second, &new, &old, &path).is_err());
        }

        let truth = Some((first, second));
        let same_roots = old == new;
        for m in [first - 1, first + 1] {
            let got = verify_consistency(m, second, &old, &new, &path);
            prop_assert_eq!(got, consistency_verdict(m, second, path.len(), same_roots, truth), "first {}", m);
        }
        for n in [second - 1, second + 1] {
            let got = verify_consistency(first, n, &old, &new, &path);
            prop_assert_eq!(got, consistency_verdict(first, n, path.len(), same_roots, truth), "second {}", n);
        }

        let len = path.len();
        if len > 0 {
            let mut short = path.clone();
            short.remove(cut.index(len));
            prop_assert_eq!(
                verify_consistency(first, second, &old, &new, &short),
                Err(ProofError::WrongLength { expected: len, actual: len - 1 })
            );
        }
        for extra in [old, new, path.first().copied().unwrap_or(old)] {
            let mut long = path.clone();
            long.insert(cut.index(len + 1), extra);
            prop_assert_eq!(
                verify_consistency(first, second, &old, &new, &long),
                Err(ProofError::WrongLength { expected: len, actual: len + 1 })
            );
        }
    }

    /// Random inclusion "proofs" for any index and size are rejected with the right error, and
    /// never panic.
    #[test]
    fn garbage_inclusion_proofs_are_rejected(
        index in any_size(),
        size in any_size(),
        (len, path) in garbage_path(),
        leaf in hash(),
        root in hash(),
    ) {
        let path = match len {
            Some(len) => fit(path, len, root),
            None if index < size => fit(path, inclusion_shape(index, size).len(), root),
            None => path,
        };
        let got = verify_inclusion(&leaf, index, size, &path, &root);
        prop_assert!(got.is_err());
        prop_assert_eq!(got, inclusion_verdict(index, size, path.len(), None));
    }

    /// Indices at or past the end are out of range whatever the proof.
    #[test]
    fn indices_past_the_end_are_out_of_range(
        size in any_size(),
        past in prop_oneof![Just(0u64), 1..1000u64, any::<u64>()],
        (_, path) in garbage_path(),
        leaf in hash(),
        root in hash(),
    ) {
        let index = size.saturating_add(past);
        prop_assert_eq!(
            verify_inclusion(&leaf, index, size, &path, &root),
            Err(ProofError::IndexOutOfRange { index, size })
        );
    }

    /// Random consistency "proofs" for any sizes are rejected with the right error, and never
    /// panic.
    #[test]
    fn garbage_consistency_proofs_are_rejected(
        first in any_size(),
        second in any_size(),
        (len, path) in garbage_path(),
        old in hash(),
        new in hash(),
    ) {
        let path = match len {
            Some(len) => fit(path, len, old),
            None if 0 < first && first <= second => {
                fit(path, consistency_len(&consistency_shape(first, second)), old)
            }
            None => path,
        };
        let got = verify_consistency(first, second, &old, &new, &path);
        prop_assert_eq!(&got, &consistency_verdict(first, second, path.len(), old == new, None));
        prop_assert!(got.is_err() || (first == second && path.is_empty() && old == new));
    }
}

/// Proofs and roots for trees larger than the store holds are errors, not panics.
#[test]
fn sizes_beyond_the_tree_are_missing_nodes() {
    let (_, tree) = big_tree();
    assert!(merkle::root(tree, MAX_SIZE + 100).is_err());
    assert!(inclusion_proof(tree, 0, MAX_SIZE + 100).is_err());
    assert!(consistency_proof(tree, 1, MAX_SIZE + 100).is_err());
    assert!(merkle::root(tree, u64::MAX).is_err());
    assert!(inclusion_proof(tree, u64::MAX - 1, u64::MAX).is_err());
    assert!(consistency_proof(tree, 1, u64::MAX).is_err());
}
