use std::sync::mpsc;
use std::time::Duration;

use super::*;

/// A syncer whose rounds each wait for a permit from the test, and report that they started.
fn gated() -> (GroupSync, mpsc::Sender<()>, mpsc::Receiver<()>) {
    let (permit_tx, permit_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let sync = GroupSync::start(Box::new(move || {
        let _ = started_tx.send(());
        permit_rx.recv().map_err(|_| io::Error::other("test over"))
    }));
    (sync, permit_tx, started_rx)
}

fn started(rx: &mpsc::Receiver<()>) {
    rx.recv_timeout(Duration::from_secs(5))
        .expect("a sync round should have started");
}

async fn pending<F: std::future::Future>(f: &mut std::pin::Pin<Box<F>>) -> bool {
    tokio::time::timeout(Duration::from_millis(50), f.as_mut())
        .await
        .is_err()
}

/// The committer's wait ends only after a round that began after its commit has finished.
#[tokio::test]
async fn a_commit_waits_for_a_round_that_began_after_it() {
    let (sync, permit, rounds) = gated();
    let number = sync.committing().number();
    let mut wait = Box::pin(sync.wait(number));
    assert!(pending(&mut wait).await, "no round has run yet");
    started(&rounds);
    assert!(pending(&mut wait).await, "the round has not finished");
    permit.send(()).unwrap();
    wait.await.unwrap();
    assert_eq!(sync.rounds(), 1);
}

/// A round that starts while a commit is still running does not cover it: a wait for that
/// commit (a barrier after reading its rows) lasts until the commit has ended and a later round
/// has finished.
#[tokio::test]
async fn a_round_does_not_cover_a_commit_still_running() {
    let (sync, permit, rounds) = gated();
    let running = sync.committing();
    let mut barrier = Box::pin(sync.barrier());
    assert!(pending(&mut barrier).await);
    started(&rounds);
    permit.send(()).unwrap();
    started(&rounds);
    assert!(
        pending(&mut barrier).await,
        "a round that began while the commit ran must not end the wait"
    );
    drop(running);
    permit.send(()).unwrap();
    // The round in progress noted its coverage before the commit ended; one more may be needed.
    let _ = permit.send(());
    tokio::time::timeout(Duration::from_secs(5), barrier)
        .await
        .expect("the barrier ends once a round covers the ended commit")
        .unwrap();
}

/// Commits waiting together share rounds: far fewer fsyncs than commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_share_fsyncs() {
    let sync = Arc::new(GroupSync::start(Box::new(|| {
        std::thread::sleep(Duration::from_millis(20));
        Ok(())
    })));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let sync = sync.clone();
        tasks.push(tokio::spawn(async move {
            let number = sync.committing().number();
            sync.wait(number).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(
        sync.rounds() <= 4,
        "{} fsyncs for 50 commits",
        sync.rounds()
    );
}

/// With every durable commit on disk, a barrier costs no fsync.
#[tokio::test]
async fn a_barrier_with_nothing_unsynced_does_not_sync() {
    let sync = GroupSync::start(Box::new(|| Ok(())));
    sync.barrier().await.unwrap();
    assert_eq!(sync.rounds(), 0, "nothing committed yet");
    let number = sync.committing().number();
    sync.wait(number).await.unwrap();
    let after_commit = sync.rounds();
    assert_eq!(after_commit, 1);
    sync.barrier().await.unwrap();
    sync.wait(number).await.unwrap();
    assert_eq!(sync.rounds(), after_commit);
}

/// A failed fsync fails the waits of its round and every later one, even if the disk would
/// answer again: the syncer stops for good and durable writes are refused.
#[tokio::test]
async fn a_failed_fsync_fails_every_wait_from_then_on() {
    let mut calls = 0;
    let sync = GroupSync::start(Box::new(move || {
        calls += 1;
        if calls == 1 {
            Err(io::Error::other("EIO"))
        } else {
            Ok(())
        }
    }));
    sync.healthy().unwrap();
    let first = sync.committing().number();
    let e = sync.wait(first).await.unwrap_err().to_string();
    assert!(e.contains("fsync failed") && e.contains("EIO"), "{e}");
    assert!(sync.healthy().is_err());
    let metrics = crate::metrics::render().unwrap();
    assert!(
        metrics.contains("stica_durable_writes_halted 1"),
        "{metrics}"
    );
    let second = sync.committing().number();
    assert!(sync.wait(second).await.is_err());
    assert!(sync.barrier().await.is_err());
    assert_eq!(sync.rounds(), 1, "no fsync after the failed one");
}

/// The real syncer fsyncs the WAL of a SQLite file, and fails closed when there is none.
#[tokio::test]
async fn syncs_the_wal_of_a_file_and_fails_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let sync = GroupSync::for_file(&path);
    let number = sync.committing().number();
    sync.wait(number).await.unwrap();
    assert_eq!(sync.rounds(), 1);

    let missing = GroupSync::for_file(&dir.path().join("missing.db"));
    let number = missing.committing().number();
    let e = missing.wait(number).await.unwrap_err().to_string();
    assert!(e.contains("fsync failed"), "{e}");
}
