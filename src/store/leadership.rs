//! Which node sequences the appends when several share one store: the one that holds the lead
//! ([`Store::stand`]). A node that leads appends; the others forward their appends to it. The
//! lead is a performance choice, never the safety: every write stays fenced by the log's length
//! ([`super::Batch::check_fence`]), so a node that lost the lead without knowing it yet cannot
//! fork the log or sign a checkpoint that is not its prefix.

use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(doc)]
use super::Store;

/// Whether this node leads, and under which term (each election increments the term).
#[derive(Debug, Default)]
pub struct Leadership {
    /// The term this node leads in; 0 while it follows.
    term: AtomicU64,
}

impl Leadership {
    /// The term this node leads in, or `None` while another node leads (or none yet).
    pub fn term(&self) -> Option<u64> {
        match self.term.load(Ordering::Acquire) {
            0 => None,
            term => Some(term),
        }
    }

    /// This node won the election of `term` (at least 1).
    pub(crate) fn lead(&self, term: u64) {
        self.term.store(term.max(1), Ordering::Release);
    }

    /// This node no longer leads (its hold on the lead broke).
    pub(crate) fn step_down(&self) {
        self.term.store(0, Ordering::Release);
    }
}

/// The node that leads, as the store records it: its term and where it is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    pub term: u64,
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_leads_in_its_term_until_it_steps_down() {
        let leadership = Leadership::default();
        assert_eq!(leadership.term(), None);
        leadership.lead(3);
        assert_eq!(leadership.term(), Some(3));
        leadership.step_down();
        assert_eq!(leadership.term(), None);
    }
}
