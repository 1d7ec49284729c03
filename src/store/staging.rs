//! A staging area for projection entries: where `rebuild` and `audit` fold the log, beside the
//! stored entries and unseen by their readers, so that neither holds every entry in memory.
//!
//! A [`Staging`] is written chunk by chunk while the fold reads it back through a bounded cache
//! (it is an [`EntrySource`]); it is then compared with the stored entries
//! ([`Staging::differences`]) and either swapped in whole, fenced like a commit
//! ([`Staging::swap_in`]), or dropped, which discards it.

use crate::projection::EntrySource;
use crate::store::StoreError;

/// Projection entries staged beside the stored ones. Dropping it unswapped discards it.
pub trait Staging: EntrySource {
    /// Writes (`Some`) or deletes (`None`) staged entries. Not durable, and not seen by readers
    /// of the stored entries, until swapped in.
    fn write(&self, entries: Vec<(String, Option<Vec<u8>>)>) -> Result<(), StoreError>;
    /// Up to `limit` keys where the staged and the stored entries differ, in key order.
    fn differences(&self, limit: usize) -> Result<Vec<Difference>, StoreError>;
    /// Makes the staged entries, folded from the first `log_len` records, the stored ones,
    /// atomically and durably, once they reflect the whole log. The store holds the fence of
    /// [`crate::store::Store::commit`] from reading the log's length to the swap, so no writer
    /// comes between: if the log has grown to `len` records meanwhile, it calls `catch_up(len)`,
    /// which stages the entries of the records in between (reading the store, never writing
    /// its log), and swaps after it. So a rebuild beside busy writers finishes. A log shorter
    /// than `log_len` is a [`StoreError::Conflict`]; any failure changes nothing, and the
    /// staging can be written and swapped in again. Once swapped in, it is spent: it must not be
    /// written again. Answers whether the entries it replaced differed from the staged ones,
    /// judged under the fence.
    fn swap_in(&self, log_len: u64, catch_up: CatchUp<'_>) -> Result<bool, StoreError>;
}

/// What [`Staging::swap_in`] calls, holding the fence, when the log grew past what was folded:
/// stage the entries of the records up to the length it is given.
pub type CatchUp<'a> = &'a mut dyn FnMut(u64) -> Result<(), StoreError>;

/// A swap's step once it holds the fence and has read the log's length `len`, for a staging
/// folded from `log_len` records: nothing when they are equal, the catch-up when the log grew, a
/// conflict when it is shorter.
pub fn catch_up_to(log_len: u64, len: u64, catch_up: CatchUp<'_>) -> Result<(), StoreError> {
    if len > log_len { catch_up(len) } else { crate::store::Batch::at(log_len).check_fence(len).map(drop) }
}

/// A [`CatchUp`] for a caller that cannot fold more records: the log must not have grown.
pub fn no_catch_up(log_len: u64) -> impl FnMut(u64) -> Result<(), StoreError> {
    move |len| Err(StoreError::Conflict { expected: log_len, len })
}

/// A key whose staged and stored entries differ.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Difference {
    /// Stored, and not staged.
    OnlyStored(String),
    /// Staged, and not stored.
    OnlyStaged(String),
    /// Both, with different bytes.
    Differs(String),
}

impl Difference {
    /// The key that differs.
    pub fn key(&self) -> &str {
        match self {
            Difference::OnlyStored(key) | Difference::OnlyStaged(key) | Difference::Differs(key) => key,
        }
    }
}

/// An entry's key and value, as bytes.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Up to `limit` differences between two sequences of entries in key order.
pub fn differences<E>(
    stored: impl IntoIterator<Item = Result<Pair, E>>,
    staged: impl IntoIterator<Item = Result<Pair, E>>,
    limit: usize,
) -> Result<Vec<Difference>, E> {
    let name = |key: &[u8]| String::from_utf8_lossy(key).into_owned();
    let (mut stored, mut staged) = (stored.into_iter(), staged.into_iter());
    let (mut a, mut b) = (stored.next().transpose()?, staged.next().transpose()?);
    let mut found = Vec::new();
    while found.len() < limit {
        match (&a, &b) {
            (None, None) => break,
            (Some((key, _)), None) => {
                found.push(Difference::OnlyStored(name(key)));
                a = stored.next().transpose()?;
            }
            (None, Some((key, _))) => {
                found.push(Difference::OnlyStaged(name(key)));
                b = staged.next().transpose()?;
            }
            (Some((ka, va)), Some((kb, vb))) => match ka.cmp(kb) {
                std::cmp::Ordering::Less => {
                    found.push(Difference::OnlyStored(name(ka)));
                    a = stored.next().transpose()?;
                }
                std::cmp::Ordering::Greater => {
                    found.push(Difference::OnlyStaged(name(kb)));
                    b = staged.next().transpose()?;
                }
                std::cmp::Ordering::Equal => {
                    if va != vb {
                        found.push(Difference::Differs(name(ka)));
                    }
                    (a, b) = (stored.next().transpose()?, staged.next().transpose()?);
                }
            },
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(pairs: &[(&str, &str)]) -> Vec<Result<Pair, ()>> {
        pairs.iter().map(|(k, v)| Ok((k.as_bytes().to_vec(), v.as_bytes().to_vec()))).collect()
    }

    #[test]
    fn differences_name_each_key_missing_extra_or_changed_in_key_order() {
        let stored = entries(&[("a", "1"), ("b", "2"), ("d", "4"), ("e", "5")]);
        let staged = entries(&[("a", "1"), ("b", "two"), ("c", "3"), ("e", "5"), ("f", "6")]);
        let found = differences(stored.clone(), staged.clone(), usize::MAX).unwrap();
        assert_eq!(
            found,
            vec![
                Difference::Differs("b".into()),
                Difference::OnlyStaged("c".into()),
                Difference::OnlyStored("d".into()),
                Difference::OnlyStaged("f".into()),
            ]
        );
        assert_eq!(differences(stored.clone(), staged, 1).unwrap().len(), 1);
        assert!(differences(stored.clone(), stored, usize::MAX).unwrap().is_empty());
    }

    #[test]
    fn a_failed_read_is_the_answer() {
        let stored = vec![Ok((b"a".to_vec(), b"1".to_vec())), Err("broken")];
        let staged = vec![Ok((b"a".to_vec(), b"1".to_vec())), Ok((b"b".to_vec(), b"2".to_vec()))];
        assert_eq!(differences(stored, staged, usize::MAX), Err("broken"));
    }
}
