//! Group commit for a SQLite file: one fsync of the WAL makes every commit that finished before it
//! durable, so concurrent durable commits share their fsyncs and none is taken while holding the
//! write queue.
//!
//! Why: with `synchronous=FULL` every durable commit (two per issuance) fsynced inside the
//! process's write queue, 0.6-0.7 ms under load, and the queue was what limited issuance
//! (docs/performance.md, "group commit"). Here the durable connections commit with
//! `synchronous=NORMAL` (the commit is in the WAL, not yet on disk), give the write queue back,
//! and then wait for a sync round of this module that started after their commit.
//!
//! The rule kept: **nothing durable is told before it is on disk.** Two waits make it so:
//! - the committing request waits for a round that covers its commit before it answers
//!   ([`GroupSync::wait`], called by the durable transaction's commit);
//! - a request that reads what a durable commit wrote (a certificate, an order that became
//!   `valid`, a revocation, a published change) and is about to tell it calls
//!   [`GroupSync::barrier`] after its read: it waits for a round covering every durable commit
//!   that had begun by then. With nothing unsynced (the usual case when idle) that is two atomic
//!   loads.
//!
//! What a round covers: durable commits are numbered when they begin (`COMMIT` about to run) and
//! tracked until they end. A round, before its fsync, notes the highest number below which every
//! commit has ended; after the fsync all of those are on disk. An fsync of the WAL file through
//! any descriptor flushes every write to it (Linux syncs the file, not the descriptor), and a
//! WAL checkpoint under `synchronous=NORMAL` syncs the WAL before copying and the database file
//! after, so a commit is on disk once a round that began after it ends.
//!
//! A failed fsync leaves the page cache in an unknown state (a later fsync may succeed without
//! the lost pages): the syncer stops for good, every wait fails, and durable writes are refused
//! until the process restarts (fail closed; PostgreSQL does the same).
//!
//! Not waited for: reads of accounts, EAB keys and authorizations. Only the holder of an
//! account's key can ask for the account, and its own request's answer waited for the disk.
//! Commits of other processes on the same file (the `stica` CLI, a second `serve`) are not
//! numbered here: such a process syncs its own commits before it reports them, but a read here
//! could see one up to an fsync earlier.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use sea_orm::DbErr;
use tokio::sync::watch;

/// Between two rounds while a commit that a wait asks for is still running.
const RUNNING_COMMIT_PAUSE: Duration = Duration::from_micros(50);

/// What rounds have achieved so far.
#[derive(Debug, Clone, Default)]
struct Synced {
    /// Every durable commit numbered up to this one is on disk.
    upto: u64,
    /// Why the syncer stopped, if it did.
    failed: Option<Arc<str>>,
}

/// Durable commits begun and not yet ended, and the next number.
#[derive(Debug, Default)]
struct Open {
    last: u64,
    open: BTreeSet<u64>,
}

/// What the syncer thread is asked to reach.
#[derive(Debug, Default)]
struct Wanted {
    upto: u64,
    closed: bool,
}

struct Shared {
    open: Mutex<Open>,
    wanted: Mutex<Wanted>,
    wake: Condvar,
    synced: watch::Sender<Synced>,
    /// fsyncs done, for tests and logs.
    rounds: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// The highest number below which (inclusive) every begun commit has ended.
    fn ended_upto(&self) -> u64 {
        let open = lock(&self.open);
        match open.open.first() {
            Some(first) => first.saturating_sub(1),
            None => open.last,
        }
    }
}

/// The syncing of one SQLite file's WAL (see the module docs). Stops its thread when dropped.
pub struct GroupSync {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for GroupSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupSync")
            .field("synced", &*self.shared.synced.borrow())
            .field("rounds", &self.rounds())
            .finish()
    }
}

/// A durable commit in progress: its number, and its end when dropped (committed or not).
pub struct Committing {
    shared: Arc<Shared>,
    number: u64,
}

impl Committing {
    /// The round to wait for.
    pub fn number(&self) -> u64 {
        self.number
    }
}

impl Drop for Committing {
    fn drop(&mut self) {
        lock(&self.shared.open).open.remove(&self.number);
    }
}

impl GroupSync {
    /// The syncer of the SQLite file at `db_path`: it fsyncs `<db_path>-wal`, and the directory
    /// once (so that a WAL file created by this process's start is found after a power cut).
    pub fn for_file(db_path: &Path) -> Self {
        let mut wal = db_path.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let dir = db_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let mut dir_synced = false;
        Self::start(Box::new(move || {
            std::fs::File::open(&wal)?.sync_data()?;
            if !dir_synced {
                std::fs::File::open(&dir)?.sync_all()?;
                dir_synced = true;
            }
            Ok(())
        }))
    }

    /// A syncer that calls `sync` for each round, on a thread of its own (an fsync blocks).
    pub(super) fn start(mut sync: Box<dyn FnMut() -> io::Result<()> + Send>) -> Self {
        let shared = Arc::new(Shared {
            open: Mutex::default(),
            wanted: Mutex::default(),
            wake: Condvar::new(),
            synced: watch::Sender::new(Synced::default()),
            rounds: AtomicU64::new(0),
        });
        let thread = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("stica-wal-sync".into())
            .spawn(move || run(&thread, &mut *sync));
        if let Err(e) = spawned {
            shared.synced.send_modify(|s| {
                s.failed = Some(format!("cannot start the WAL sync thread: {e}").into());
            });
        }
        Self { shared }
    }

    /// Numbers a durable commit that is about to run; drop the result once it has run (or
    /// failed), then [`wait`](Self::wait) for its number.
    pub fn committing(&self) -> Committing {
        let mut open = lock(&self.shared.open);
        open.last += 1;
        let number = open.last;
        open.open.insert(number);
        Committing {
            shared: self.shared.clone(),
            number,
        }
    }

    /// Waits until durable commit `number`, and every one before it, is on disk.
    pub async fn wait(&self, number: u64) -> Result<(), DbErr> {
        let mut rx = self.shared.synced.subscribe();
        if let Some(done) = reached(&rx.borrow_and_update(), number) {
            return done;
        }
        {
            let mut wanted = lock(&self.shared.wanted);
            wanted.upto = wanted.upto.max(number);
        }
        self.shared.wake.notify_one();
        let state = rx
            .wait_for(|s| reached(s, number).is_some())
            .await
            .map_err(|_| DbErr::Custom("the WAL sync thread is gone".into()))?;
        reached(&state, number).unwrap_or(Ok(()))
    }

    /// Waits until every durable commit that has begun so far is on disk: call it after reading
    /// what such a commit wrote and before telling it.
    pub async fn barrier(&self) -> Result<(), DbErr> {
        let last = lock(&self.shared.open).last;
        self.wait(last).await
    }

    /// An error if the syncer has stopped (a failed fsync): durable writes must not start.
    pub fn healthy(&self) -> Result<(), DbErr> {
        match &self.shared.synced.borrow().failed {
            Some(why) => Err(failed(why)),
            None => Ok(()),
        }
    }

    /// fsyncs done so far.
    pub fn rounds(&self) -> u64 {
        self.shared.rounds.load(Ordering::Relaxed)
    }
}

impl Drop for GroupSync {
    fn drop(&mut self) {
        lock(&self.shared.wanted).closed = true;
        self.shared.wake.notify_one();
    }
}

fn failed(why: &str) -> DbErr {
    DbErr::Custom(format!(
        "durable writes are refused until stica restarts: the WAL fsync failed ({why})"
    ))
}

/// `Some` once `number` is on disk or never will be.
fn reached(s: &Synced, number: u64) -> Option<Result<(), DbErr>> {
    if let Some(why) = &s.failed {
        return Some(Err(failed(why)));
    }
    (s.upto >= number).then_some(Ok(()))
}

/// The syncer thread: a round whenever a wait asks for more than is on disk, until the
/// [`GroupSync`] is dropped with nothing left to do, or an fsync fails.
fn run(shared: &Shared, sync: &mut dyn FnMut() -> io::Result<()>) {
    loop {
        {
            let mut wanted = lock(&shared.wanted);
            loop {
                if wanted.upto > shared.synced.borrow().upto {
                    break;
                }
                if wanted.closed {
                    return;
                }
                wanted = shared.wake.wait(wanted).unwrap_or_else(|p| p.into_inner());
            }
        }
        // Noted before the fsync: what has ended by now is in the file the fsync flushes.
        let covered = shared.ended_upto();
        let started = std::time::Instant::now();
        let r = sync();
        crate::metrics::wal_fsync(started.elapsed().as_secs_f64());
        shared.rounds.fetch_add(1, Ordering::Relaxed);
        match r {
            Ok(()) => {
                shared.synced.send_modify(|s| s.upto = s.upto.max(covered));
                if covered < lock(&shared.wanted).upto {
                    // A commit asked for is still running (microseconds): not a tight loop.
                    std::thread::sleep(RUNNING_COMMIT_PAUSE);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "WAL fsync failed; durable writes stop until restart");
                crate::metrics::durable_writes_halted();
                shared
                    .synced
                    .send_modify(|s| s.failed = Some(e.to_string().into()));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
