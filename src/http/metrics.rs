//! Prometheus text metrics: appends, rejects by reason, request latency, log size.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the request latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    appends: AtomicU64,
    duplicates: AtomicU64,
    batches: AtomicU64,
    pending: AtomicU64,
    abandoned: AtomicU64,
    rejects: Mutex<BTreeMap<&'static str, u64>>,
    latency: Mutex<Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    /// Counts events appended, already present, and one committed group.
    pub fn appended(&self, new: u64, duplicates: u64) {
        self.appends.fetch_add(new, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts events answered `202 pending`: not committed within the request timeout.
    pub fn pending(&self, events: u64) {
        self.pending.fetch_add(events, Ordering::Relaxed);
    }

    /// Counts events the writer skipped because their client had gone.
    pub fn abandoned(&self, events: u64) {
        self.abandoned.fetch_add(events, Ordering::Relaxed);
    }

    /// Counts a rejected event by reason code.
    pub fn rejected(&self, reason: &'static str) {
        *self.rejects.lock().unwrap_or_else(|e| e.into_inner()).entry(reason).or_default() += 1;
    }

    /// Records one request's latency.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut h = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        for (bound, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The Prometheus text exposition, with the log's current size.
    pub fn render(&self, log_size: u64) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter(
            &mut out,
            "credledger_appends_total",
            "Events appended to the log.",
            self.appends.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "credledger_duplicates_total",
            "Events submitted again (idempotent no-ops).",
            self.duplicates.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "credledger_commit_groups_total",
            "Durable group commits.",
            self.batches.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "credledger_pending_total",
            "Events answered 202 pending: not committed within the request timeout (they may still commit).",
            self.pending.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "credledger_abandoned_total",
            "Events the writer skipped because their client had gone.",
            self.abandoned.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP credledger_rejects_total Events rejected, by reason.\n# TYPE credledger_rejects_total counter"
        );
        for (reason, n) in self.rejects.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "credledger_rejects_total{{reason=\"{reason}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP credledger_log_size Records on the log.\n# TYPE credledger_log_size gauge\ncredledger_log_size {log_size}"
        );
        let h = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let name = "credledger_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} HTTP request latency.\n# TYPE {name} histogram");
        for (bound, count) in BUCKETS.iter().zip(h.counts.iter()) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
        }
        let _ =
            writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {}\n{name}_count {}", h.count, h.sum, h.count);
        out
    }
}

/// Whether this node leads the nodes sharing its store (`term`: the term it leads in), for
/// [`Metrics::render`]'s text: `credledger_leader` is 1 on the node that sequences the appends
/// and 0 on the nodes that forward theirs to it.
pub fn render_lead(term: Option<u64>) -> String {
    format!(
        "# HELP credledger_leader 1 if this node leads (sequences every append), 0 if it forwards its appends.\n\
         # TYPE credledger_leader gauge\ncredledger_leader {}\n\
         # HELP credledger_leader_term The term this node leads in (0 while it follows).\n\
         # TYPE credledger_leader_term gauge\ncredledger_leader_term {}\n",
        u8::from(term.is_some()),
        term.unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_whether_this_node_leads() {
        let leading = render_lead(Some(4));
        assert!(leading.contains("\ncredledger_leader 1\n") && leading.contains("\ncredledger_leader_term 4\n"));
        let following = render_lead(None);
        assert!(following.contains("credledger_leader 0\n") && following.contains("credledger_leader_term 0\n"));
    }

    #[test]
    fn renders_counters_rejects_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.appended(3, 1);
        m.rejected("bad-signature");
        m.rejected("bad-signature");
        m.observe(Duration::from_millis(3));
        let text = m.render(42);
        assert!(text.contains("credledger_appends_total 3\n"));
        assert!(text.contains("credledger_rejects_total{reason=\"bad-signature\"} 2\n"));
        assert!(text.contains("credledger_log_size 42\n"));
        assert!(text.contains("credledger_request_duration_seconds_bucket{le=\"0.0025\"} 0\n"));
        assert!(text.contains("credledger_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("credledger_request_duration_seconds_count 1\n"));
    }
}
