//! Spending nonces in batches: every signed request spends one (RFC 8555 §6.5), 7 per issuance,
//! each an `INSERT` of its own. Requests that arrive while one is in flight are gathered and
//! spent together by one multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING nonce`, so under
//! load the statement count per request drops while one request alone still costs exactly one
//! statement, sent at once (no waiting for company).
//!
//! Single use is still the database's to decide: a nonce counts as fresh only if the statement
//! returned it, i.e. this insert created its row. A nonce sent twice within one batch is given to
//! its first sender only (the statement would insert it once and return it once, and both
//! senders would otherwise see it in the result).

use std::collections::HashSet;
use std::sync::Arc;

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use tokio::sync::{mpsc, oneshot};

use super::SaError;
use super::conn::Db;

/// Nonces spent by one statement at most (SQLite binds at most 32,766 parameters; PostgreSQL
/// 65,535: far above this).
const MAX_BATCH: usize = 128;

struct Spend {
    nonce: String,
    expires: i64,
    reply: oneshot::Sender<Result<bool, SaError>>,
}

/// The sending side, held by `Storage` (its clones share one batcher).
#[derive(Debug, Clone)]
pub(super) struct NonceBatcher {
    tx: mpsc::UnboundedSender<Spend>,
}

impl NonceBatcher {
    /// Starts the task that spends batches on `db`, taking `gate` (the SQLite write queue) around
    /// each statement. The task ends when the last `NonceBatcher` clone is dropped.
    pub(super) fn start(db: Db, gate: Option<Arc<tokio::sync::Mutex<()>>>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Spend>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let _turn = match &gate {
                    Some(g) => Some(g.clone().lock_owned().await),
                    None => None,
                };
                spend(&db, batch).await;
            }
        });
        Self { tx }
    }

    /// Spends `nonce`: true the first time, false if it was spent before (here or by any replica).
    pub(super) async fn spend(&self, nonce: &str, expires: i64) -> Result<bool, SaError> {
        let (reply, answer) = oneshot::channel();
        let gone = || SaError::Db(sea_orm::DbErr::Custom("the nonce batcher stopped".into()));
        self.tx
            .send(Spend {
                nonce: nonce.to_string(),
                expires,
                reply,
            })
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// One statement for the whole batch; every sender gets its answer (or the error).
async fn spend(db: &Db, batch: Vec<Spend>) {
    // Only the first sender of each distinct nonce takes part in the insert; repeats are refused.
    let mut seen = HashSet::new();
    let first: Vec<bool> = batch
        .iter()
        .map(|s| seen.insert(s.nonce.as_str()))
        .collect();
    let rows: Vec<(&str, i64)> = batch
        .iter()
        .zip(&first)
        .filter(|(_, first)| **first)
        .map(|(s, _)| (s.nonce.as_str(), s.expires))
        .collect();
    // SaError is not Clone: an error reaches every sender as its text.
    let created = insert_returning(db, &rows).await.map_err(|e| e.to_string());
    drop(seen);
    for (s, first) in batch.into_iter().zip(first) {
        let answer = match &created {
            Ok(set) => Ok(first && set.contains(&s.nonce)),
            Err(e) => Err(SaError::Db(sea_orm::DbErr::Custom(e.clone()))),
        };
        // A sender that stopped waiting (its request was cancelled) needs no answer.
        let _ = s.reply.send(answer);
    }
}

/// `INSERT INTO used_nonces (nonce, expires) VALUES ... ON CONFLICT (nonce) DO NOTHING RETURNING
/// nonce`: the nonces whose rows this statement created.
async fn insert_returning(db: &Db, rows: &[(&str, i64)]) -> Result<HashSet<String>, SaError> {
    let backend = db.get_database_backend();
    let mut sql = String::from("INSERT INTO used_nonces (nonce, expires) VALUES ");
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 2);
    for (i, (nonce, expires)) in rows.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        match backend {
            DbBackend::Postgres => sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2)),
            _ => sql.push_str("(?, ?)"),
        }
        values.push((*nonce).into());
        values.push((*expires).into());
    }
    sql.push_str(" ON CONFLICT (nonce) DO NOTHING RETURNING nonce");
    let found = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    found
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).map_err(SaError::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::sa::Storage;
    use crate::sa::testing::{drop_database, fresh_database_url};

    async fn storage() -> (Storage, String) {
        let url = fresh_database_url().await.expect("url");
        (Storage::connect(&url).await.expect("connect"), url)
    }

    /// A batch holding one nonce three times, a spent nonce and a fresh one: the first sender of
    /// the repeated nonce alone gets it, the spent one is refused, the fresh one accepted.
    #[tokio::test]
    async fn a_batch_gives_each_nonce_to_its_first_sender_only() {
        let (s, url) = storage().await;
        assert!(s.consume_nonce("spent", 100).await.unwrap());
        let mut answers = Vec::new();
        let batch: Vec<Spend> = ["dup", "dup", "spent", "fresh", "dup"]
            .iter()
            .map(|n| {
                let (reply, answer) = oneshot::channel();
                answers.push(answer);
                Spend {
                    nonce: n.to_string(),
                    expires: 100,
                    reply,
                }
            })
            .collect();
        spend(&s.db, batch).await;
        let mut got = Vec::new();
        for a in answers {
            got.push(a.await.unwrap().unwrap());
        }
        assert_eq!(got, [true, false, false, true, false]);
        // And they stay spent.
        for n in ["dup", "spent", "fresh"] {
            assert!(!s.consume_nonce(n, 100).await.unwrap(), "{n}");
        }
        s.close().await.unwrap();
        drop_database(&url).await.unwrap();
    }

    /// Many requests at once, each nonce sent by several of them (so batches form and repeat
    /// nonces within and across batches): every nonce is accepted exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_spends_accept_each_nonce_exactly_once() {
        let (s, url) = storage().await;
        let mut tasks = Vec::new();
        for round in 0..4 {
            for n in 0..50 {
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    let nonce = format!("n{n}");
                    (
                        nonce.clone(),
                        round,
                        s.consume_nonce(&nonce, 100).await.unwrap(),
                    )
                }));
            }
        }
        let mut accepted: HashMap<String, usize> = HashMap::new();
        for t in tasks {
            let (nonce, _, ok) = t.await.unwrap();
            *accepted.entry(nonce).or_default() += usize::from(ok);
        }
        assert_eq!(accepted.len(), 50);
        assert!(accepted.values().all(|&n| n == 1), "{accepted:?}");
        s.close().await.unwrap();
        drop_database(&url).await.unwrap();
    }

    /// After the pools close, a spend is an error, not a silent acceptance.
    #[tokio::test]
    async fn a_closed_database_refuses_to_spend() {
        let (s, url) = storage().await;
        s.close().await.unwrap();
        assert!(s.consume_nonce("x", 100).await.is_err());
        drop_database(&url).await.unwrap();
    }
}
