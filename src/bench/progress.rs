//! When the workers stop (deadline or count), the counters they share, and the progress line
//! drawn on stderr while a run lasts (only on a terminal, so scripts and `--json` output stay
//! clean).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Shared by every worker of one run.
#[derive(Debug)]
pub struct Run {
    start: Instant,
    deadline: Instant,
    duration: Duration,
    limit: Option<u64>,
    interval: Option<Duration>,
    started: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
}

impl Run {
    /// A run that ends after `duration`, or once `limit` iterations have started.
    pub fn new(duration: Duration, limit: Option<u64>) -> Self {
        let start = Instant::now();
        Self {
            start,
            deadline: start + duration,
            duration,
            limit,
            interval: None,
            started: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// Paces the run: iteration `k` (counted over all workers) starts no earlier than
    /// `k / rate` seconds after the start. Latency is measured from the actual start, so a
    /// server slower than the rate shows up as a lower throughput, not as higher latencies.
    pub fn with_rate(mut self, per_sec: f64) -> Self {
        if per_sec > 0.0 && per_sec.is_finite() {
            self.interval = Some(Duration::from_secs_f64(1.0 / per_sec));
        }
        self
    }

    /// [`Run::next`], then waits for the iteration's slot when the run is paced.
    pub async fn next_paced(&self) -> bool {
        let Some(interval) = self.interval else {
            return self.next();
        };
        if Instant::now() >= self.deadline {
            return false;
        }
        let k = self.started.fetch_add(1, Ordering::Relaxed);
        if self.limit.is_some_and(|limit| k >= limit) {
            return false;
        }
        let slot = self.start + interval.saturating_mul(u32::try_from(k).unwrap_or(u32::MAX));
        if slot >= self.deadline {
            return false;
        }
        tokio::time::sleep_until(slot.into()).await;
        true
    }

    /// Claims the next iteration; false once the run is over. A worker in the middle of an
    /// iteration at the deadline finishes it (its latency is real), so the run can end a
    /// little after the deadline: throughput divides by the measured wall time.
    pub fn next(&self) -> bool {
        if Instant::now() >= self.deadline {
            return false;
        }
        match self.limit {
            Some(limit) => self.started.fetch_add(1, Ordering::Relaxed) < limit,
            None => true,
        }
    }

    /// Counts a finished iteration.
    pub fn done(&self, ok: bool) {
        let counter = if ok { &self.ok } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn line(&self, label: &str) -> String {
        let elapsed = self.elapsed().as_secs_f64();
        let ok = self.ok.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let rate = if elapsed > 0.0 {
            ok as f64 / elapsed
        } else {
            0.0
        };
        format!(
            "{label}: {elapsed:5.1}/{:.0} s  {ok} ok  {failed} failed  {rate:.1}/s",
            self.duration.as_secs_f64()
        )
    }
}

/// Redraws `\r<progress>` on stderr twice a second while the run lasts, when stderr is a
/// terminal and `enabled`. Abort the returned task (or let the run end) to stop it; [`clear`]
/// wipes the line.
pub fn spawn(
    run: Arc<Run>,
    label: &'static str,
    enabled: bool,
) -> Option<tokio::task::JoinHandle<()>> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{}", run.line(label));
            let _ = err.flush();
        }
    }))
}

/// Stops the progress task and wipes its line.
pub fn clear(task: Option<tokio::task::JoinHandle<()>>) {
    if let Some(task) = task {
        task.abort();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_limit_stops_the_run() {
        let run = Run::new(Duration::from_secs(3600), Some(3));
        assert!(run.next());
        assert!(run.next());
        assert!(run.next());
        assert!(!run.next());
        run.done(true);
        run.done(false);
        let line = run.line("issue");
        assert!(line.contains("1 ok  1 failed"), "{line}");
    }

    #[tokio::test]
    async fn a_paced_run_spaces_iterations_and_respects_the_count() {
        let run = Run::new(Duration::from_secs(3600), Some(3)).with_rate(1000.0);
        assert!(run.next_paced().await);
        assert!(run.next_paced().await);
        assert!(run.next_paced().await);
        assert!(!run.next_paced().await);
        // Slot 2 starts 2 ms after the start at the earliest (a lower bound, not a timing).
        assert!(run.elapsed() >= Duration::from_millis(2));
        let unpaced = Run::new(Duration::from_secs(3600), None).with_rate(0.0);
        assert!(unpaced.interval.is_none());
    }

    #[test]
    fn a_past_deadline_stops_the_run() {
        let run = Run::new(Duration::ZERO, None);
        assert!(!run.next());
    }
}
