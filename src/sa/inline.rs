//! SQLite files without a thread hand-off per statement: rusqlite connections that run each
//! statement on the calling task, behind sea-orm's [`ConnectionTrait`], so every query in `sa` is
//! written once for both databases.
//!
//! Why: sqlx runs each SQLite connection on a thread of its own and hands every statement to it
//! and every answer back. Under load each hand-off waits for a core that crypto and HTTP are
//! using, so a one-statement `INSERT` held the process's write queue for ≈ 350 µs and the queue
//! was held ≈ 90% of the time (docs/performance.md, "2026-12-07"). A SQLite statement on a warm
//! page cache takes microseconds: running it where it is asked for is cheaper than any hand-off.
//! Every connection commits with `synchronous=NORMAL`; the durable handle numbers its commits
//! and waits, after giving the write queue back, for a group fsync that covers them
//! ([`super::group_sync`]). Every write runs on one writer connection ([`InlineDb`] says why).
//! WAL checkpoints run in the background ([`spawn_checkpointer`]) instead of inside a request's
//! commit. Writers of this process still queue on `Storage`'s write gate first; a
//! writer that finds the lock held by another process (the `stica` CLI, a second `serve` on the
//! same file) waits asynchronously instead of in SQLite's busy handler, which would block a
//! runtime thread.
//!
//! sea-orm 2.0.4 has no public constructor for its `QueryResult` and `ExecResult` but through
//! its row-map backends (its `proxy` feature does not compile beside `sqlx-sqlite` in that
//! version), so rows are handed over through a `MockDatabase` built for the purpose
//! ([`query_results`], [`exec_result`]): a few allocations per statement, against the
//! hundreds of microseconds a thread hand-off cost. Row-map values must have the exact variant the
//! entity field asks for, and SQLite's storage classes do not say whether an INTEGER is an
//! `i32`, an `i64` or a `bool`, so [`ColumnKinds`] reads that from the entity definitions once.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{Connection, OpenFlags};
use sea_orm::sea_query::Value;
use sea_orm::{
    ColumnTrait, ColumnType, ConnectionTrait, DbBackend, DbErr, EntityTrait, ExecResult,
    IdenStatic, Iterable, MockDatabase, MockExecResult, QueryResult, RuntimeErr, Statement,
};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use super::entity;
use super::group_sync::GroupSync;

/// How long a writer waits for another process (the `stica` CLI) to release SQLite's write lock.
const BUSY_BUDGET: Duration = Duration::from_secs(10);
/// Between two tries for the write lock held by another process.
const BUSY_STEP: Duration = Duration::from_millis(5);
/// Prepared statements kept per connection (sea-orm builds a few dozen distinct ones).
const STATEMENT_CACHE: usize = 128;

/// What a column's values are in the entities, where SQLite cannot tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    BigInt,
    Bool,
    Text,
    Bytes,
}

/// Column name to [`Kind`], over every entity. A name used by several tables must have one kind
/// in all of them (`column_kinds_agree_across_tables` checks it); one that did not would be
/// listed in `conflicts` and read by its storage class alone.
#[derive(Debug, Default)]
pub(super) struct ColumnKinds {
    kinds: HashMap<String, Kind>,
    conflicts: Vec<String>,
}

impl ColumnKinds {
    fn of_entities() -> Self {
        let mut kinds = Self::default();
        kinds.add::<entity::account::Entity>();
        kinds.add::<entity::api_token::Entity>();
        kinds.add::<entity::authz::Entity>();
        kinds.add::<entity::ca_identity::Entity>();
        kinds.add::<entity::certificate::Entity>();
        kinds.add::<entity::challenge::Entity>();
        kinds.add::<entity::crl::Entity>();
        kinds.add::<entity::eab_key::Entity>();
        kinds.add::<entity::lease::Entity>();
        kinds.add::<entity::order::Entity>();
        kinds.add::<entity::status_change::Entity>();
        kinds.add::<entity::token::Entity>();
        kinds.add::<entity::used_nonce::Entity>();
        kinds
    }

    fn add<E: EntityTrait>(&mut self) {
        for c in E::Column::iter() {
            let kind = match c.def().get_column_type() {
                ColumnType::Integer | ColumnType::SmallInteger | ColumnType::TinyInteger => {
                    Kind::Int
                }
                ColumnType::BigInteger => Kind::BigInt,
                ColumnType::Boolean => Kind::Bool,
                ColumnType::Binary(_)
                | ColumnType::VarBinary(_)
                | ColumnType::Blob
                | ColumnType::Bit(_)
                | ColumnType::VarBit(_) => Kind::Bytes,
                _ => Kind::Text,
            };
            let name = c.as_str();
            if self.conflicts.iter().any(|n| n == name) {
                continue;
            }
            if let Some(before) = self.kinds.insert(name.to_string(), kind)
                && before != kind
            {
                self.kinds.remove(name);
                self.conflicts.push(name.to_string());
            }
        }
    }

    fn get(&self, name: &str) -> Option<Kind> {
        self.kinds.get(name).copied()
    }
}

/// SQLITE_CONSTRAINT_PRIMARYKEY and SQLITE_CONSTRAINT_UNIQUE (extended result codes).
const CONSTRAINT_PRIMARYKEY: std::ffi::c_int = 1555;
const CONSTRAINT_UNIQUE: std::ffi::c_int = 2067;

/// A rusqlite error as a sea-orm one, with the two conditions `sa` acts on (busy, unique
/// violation) recognisable by [`is_busy`] and [`is_unique_violation`].
/// The column kinds of every entity, worked out once per process.
static KINDS: LazyLock<ColumnKinds> = LazyLock::new(ColumnKinds::of_entities);

fn db_err(e: rusqlite::Error) -> DbErr {
    let (busy, unique) = match &e {
        rusqlite::Error::SqliteFailure(f, _) => (
            f.code == rusqlite::ErrorCode::DatabaseBusy,
            matches!(f.extended_code, CONSTRAINT_PRIMARYKEY | CONSTRAINT_UNIQUE),
        ),
        _ => (false, false),
    };
    let text = e.to_string();
    if busy {
        DbErr::Exec(RuntimeErr::Internal(format!(
            "database is locked (5): {text}"
        )))
    } else if unique {
        DbErr::Exec(RuntimeErr::Internal(format!("unique violation: {text}")))
    } else {
        DbErr::Exec(RuntimeErr::Internal(text))
    }
}

/// Whether `e` (from this module) is a UNIQUE or PRIMARY KEY violation.
pub(super) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e, DbErr::Exec(RuntimeErr::Internal(t)) if t.starts_with("unique violation: "))
}

/// Whether `e` (from this module) is SQLite's busy.
pub(super) fn is_busy(e: &DbErr) -> bool {
    matches!(e, DbErr::Exec(RuntimeErr::Internal(t)) if t.starts_with("database is locked (5)"))
}

/// A sea-query value as a SQLite value.
fn to_sql(v: &Value) -> Result<Sql, DbErr> {
    let int = |x: Option<i64>| x.map_or(Sql::Null, Sql::Integer);
    Ok(match v {
        Value::Bool(x) => int(x.map(i64::from)),
        Value::TinyInt(x) => int(x.map(i64::from)),
        Value::SmallInt(x) => int(x.map(i64::from)),
        Value::Int(x) => int(x.map(i64::from)),
        Value::BigInt(x) => int(*x),
        Value::TinyUnsigned(x) => int(x.map(i64::from)),
        Value::SmallUnsigned(x) => int(x.map(i64::from)),
        Value::Unsigned(x) => int(x.map(i64::from)),
        Value::BigUnsigned(x) => match x {
            Some(u) => Sql::Integer(
                i64::try_from(*u).map_err(|_| DbErr::Custom(format!("{u} is out of range")))?,
            ),
            None => Sql::Null,
        },
        Value::Float(x) => x.map_or(Sql::Null, |f| Sql::Real(f64::from(f))),
        Value::Double(x) => x.map_or(Sql::Null, Sql::Real),
        Value::String(x) => x.clone().map_or(Sql::Null, Sql::Text),
        Value::Char(x) => x.map_or(Sql::Null, |c| Sql::Text(c.to_string())),
        Value::Bytes(x) => x.clone().map_or(Sql::Null, Sql::Blob),
        Value::Json(x) => x.as_ref().map_or(Sql::Null, |j| Sql::Text(j.to_string())),
        other => {
            return Err(DbErr::Custom(format!(
                "value {other:?} has no SQLite binding here"
            )));
        }
    })
}

/// A SQLite value as the sea-query value an entity field of `kind` takes.
fn from_sql(v: ValueRef<'_>, kind: Option<Kind>) -> Result<Value, DbErr> {
    let wrong = |what: &str| DbErr::Type(format!("a {what} where the entity has {kind:?}"));
    Ok(match (v, kind) {
        (ValueRef::Null, Some(Kind::Int)) => Value::Int(None),
        (ValueRef::Null, Some(Kind::BigInt)) => Value::BigInt(None),
        (ValueRef::Null, Some(Kind::Bool)) => Value::Bool(None),
        (ValueRef::Null, Some(Kind::Bytes)) => Value::Bytes(None),
        (ValueRef::Null, _) => Value::String(None),
        (ValueRef::Integer(i), Some(Kind::Int)) => {
            Value::Int(Some(i32::try_from(i).map_err(|_| wrong("64-bit integer"))?))
        }
        (ValueRef::Integer(i), Some(Kind::Bool)) => Value::Bool(Some(i != 0)),
        (ValueRef::Integer(i), None | Some(Kind::BigInt)) => Value::BigInt(Some(i)),
        (ValueRef::Integer(_), _) => return Err(wrong("integer")),
        (ValueRef::Real(f), _) => Value::Double(Some(f)),
        (ValueRef::Text(t), None | Some(Kind::Text)) => Value::String(Some(
            std::str::from_utf8(t)
                .map_err(|_| wrong("non-UTF-8 text"))?
                .to_string(),
        )),
        (ValueRef::Text(_), _) => return Err(wrong("text")),
        (ValueRef::Blob(b), None | Some(Kind::Bytes)) => Value::Bytes(Some(b.to_vec())),
        (ValueRef::Blob(_), _) => return Err(wrong("blob")),
    })
}

/// A statement's rows (column name to value) and (last insert rowid, rows changed).
type Ran = (Vec<BTreeMap<String, Value>>, (u64, u64));

/// Runs one statement on `conn`: its rows, and the changes it made.
fn run(conn: &Connection, kinds: &ColumnKinds, stmt: &Statement) -> Result<Ran, DbErr> {
    let mut prepared = conn.prepare_cached(&stmt.sql).map_err(db_err)?;
    if let Some(values) = &stmt.values {
        for (i, v) in values.0.iter().enumerate() {
            prepared
                .raw_bind_parameter(i + 1, to_sql(v)?)
                .map_err(db_err)?;
        }
    }
    let names: Vec<(String, Option<Kind>)> = prepared
        .column_names()
        .into_iter()
        .map(|n| (n.to_string(), kinds.get(n)))
        .collect();
    let mut out = Vec::new();
    let mut rows = prepared.raw_query();
    while let Some(row) = rows.next().map_err(db_err)? {
        let mut values = BTreeMap::new();
        for (i, (name, kind)) in names.iter().enumerate() {
            let v = row.get_ref(i).map_err(db_err)?;
            values.insert(name.clone(), from_sql(v, *kind)?);
        }
        out.push(values);
    }
    drop(rows);
    let changes = (
        u64::try_from(conn.last_insert_rowid()).unwrap_or_default(),
        conn.changes(),
    );
    Ok((out, changes))
}

/// Rows as sea-orm query results (see the module documentation for why through a mock).
async fn query_results(rows: Vec<BTreeMap<String, Value>>) -> Result<Vec<QueryResult>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    MockDatabase::new(DbBackend::Sqlite)
        .append_query_results([rows])
        .into_connection()
        .query_all_raw(Statement::from_string(DbBackend::Sqlite, String::new()))
        .await
}

/// A statement's changes as a sea-orm exec result.
async fn exec_result((last_insert_id, rows_affected): (u64, u64)) -> Result<ExecResult, DbErr> {
    MockDatabase::new(DbBackend::Sqlite)
        .append_exec_results([MockExecResult {
            last_insert_id,
            rows_affected,
        }])
        .into_connection()
        .execute_raw(Statement::from_string(DbBackend::Sqlite, String::new()))
        .await
}

/// Connections of one kind to one SQLite file; a connection goes back on drop of its
/// [`Checkout`].
struct Pool {
    conns: Mutex<Vec<Connection>>,
    free: Arc<Semaphore>,
    size: u32,
}

impl Pool {
    /// Opens `size` connections to `path` (created if missing, WAL, `synchronous=NORMAL`,
    /// foreign keys, no busy timeout: the caller waits for the write lock asynchronously).
    fn open(path: &str, size: u32) -> Result<Self, DbErr> {
        let mut conns = Vec::new();
        for _ in 0..size {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(db_err)?;
            conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            conn.execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; \
                 PRAGMA wal_autocheckpoint=0;",
            )
            .map_err(db_err)?;
            conn.busy_timeout(Duration::ZERO).map_err(db_err)?;
            conns.push(conn);
        }
        Ok(Self {
            conns: Mutex::new(conns),
            free: Arc::new(Semaphore::new(size as usize)),
            size,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn idle(&self) -> u32 {
        u32::try_from(self.free.available_permits()).unwrap_or(self.size)
    }

    /// A connection of its own for a while (a statement, a transaction).
    async fn checkout(self: &Arc<Self>) -> Result<Checkout, DbErr> {
        let permit = self
            .free
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DbErr::Custom("the SQLite pool is closed".into()))?;
        let conn = self
            .lock()
            .pop()
            .ok_or_else(|| DbErr::Custom("SQLite pool out of connections".into()))?;
        Ok(Checkout {
            pool: self.clone(),
            conn: Some(conn),
            _permit: permit,
        })
    }

    fn close(&self) {
        self.free.close();
        self.lock().clear();
    }
}

/// Whether `sql` writes (routed to the writer connection). A write sent to a reader would still
/// be correct, only slower; sea-orm starts every write with one of these words.
fn is_write(sql: &str) -> bool {
    let head = sql.trim_start().as_bytes();
    ["INSERT", "UPDATE", "DELETE", "REPLACE"]
        .iter()
        .any(|w| head.len() >= w.len() && head[..w.len()].eq_ignore_ascii_case(w.as_bytes()))
}

/// One SQLite file: reader connections, and one connection for every write of the process.
///
/// One writer, because SQLite empties a connection's page cache whenever another connection has
/// written since its last transaction: with writes spread over a pool every write transaction
/// started cold and read its pages back through `pread` (≈ 90 `pread`s per issuance). Writes are
/// one at a time anyway (SQLite's write lock, and `Storage`'s write queue before it), so the
/// writer's cache stays warm. Two handles share the connections: the plain one, and the durable
/// one ([`Self::durable`]), whose commits wait for the disk.
pub struct InlineDb {
    readers: Arc<Pool>,
    writer: Arc<Pool>,
    /// Set on the durable handle: its commits wait for the disk (group commit).
    sync: Option<Arc<GroupSync>>,
}

impl std::fmt::Debug for InlineDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineDb")
            .field("durable", &self.sync.is_some())
            .field("readers", &self.readers.size)
            .finish()
    }
}

impl InlineDb {
    /// Opens `readers` reader connections and the writer connection to `path`.
    pub(super) fn open(path: &str, readers: u32) -> Result<Self, DbErr> {
        Ok(Self {
            readers: Arc::new(Pool::open(path, readers)?),
            writer: Arc::new(Pool::open(path, 1)?),
            sync: None,
        })
    }

    /// A handle on the same connections whose every commit waits until `sync` has it on disk.
    pub(super) fn durable(&self, sync: Arc<GroupSync>) -> Self {
        Self {
            readers: self.readers.clone(),
            writer: self.writer.clone(),
            sync: Some(sync),
        }
    }

    /// Connections in use and idle.
    pub(super) fn stats(&self) -> (u32, u32) {
        let idle = self.readers.idle() + self.writer.idle();
        (self.size().saturating_sub(idle), idle)
    }

    /// The number of connections.
    pub(super) fn size(&self) -> u32 {
        self.readers.size + self.writer.size
    }

    /// The writer connection. Waited for at most [`BUSY_BUDGET`]: a caller that already holds
    /// it (a write outside the transaction it has open) fails instead of waiting for itself.
    async fn writer(&self) -> Result<Checkout, DbErr> {
        tokio::time::timeout(BUSY_BUDGET, self.writer.checkout())
            .await
            .map_err(|_| DbErr::Custom("timed out waiting for the SQLite writer".into()))?
    }

    /// The connection for `sql`: the writer for a write, else a reader.
    async fn checkout_for(&self, sql: &str) -> Result<Checkout, DbErr> {
        if is_write(sql) {
            self.writer().await
        } else {
            self.readers.checkout().await
        }
    }

    /// Runs one statement outside a transaction (SQLite's autocommit). A write waits while
    /// another process holds the write lock ([`Checkout::retry_busy`]); on a durable pool the
    /// statement then waits for the disk (these are rare writes: it does so in the write queue).
    async fn statement(&self, stmt: &Statement) -> Result<Ran, DbErr> {
        self.autocommit(&stmt.sql, |conn| run(conn, &KINDS, stmt))
            .await
    }

    /// Runs `f` as one autocommit unit; see [`Self::statement`].
    async fn autocommit<T>(
        &self,
        sql: &str,
        f: impl Fn(&Connection) -> Result<T, DbErr>,
    ) -> Result<T, DbErr> {
        let Some(sync) = &self.sync else {
            return Ok(self.checkout_for(sql).await?.retry_busy(f).await?.1);
        };
        sync.healthy()?;
        let (_, (v, number)) = self
            .checkout_for(sql)
            .await?
            .retry_busy(|conn| {
                let before = conn.total_changes();
                let committing = sync.committing();
                let v = f(conn)?;
                // A read (or a write that matched nothing) has nothing to wait for.
                Ok((
                    v,
                    (conn.total_changes() != before).then(|| committing.number()),
                ))
            })
            .await?;
        if let Some(number) = number {
            sync.wait(number).await?;
        }
        Ok(v)
    }

    /// A trivial query, for readiness probes; an error too once durable writes are refused.
    pub(super) async fn ping(&self) -> Result<(), DbErr> {
        if let Some(sync) = &self.sync {
            sync.healthy()?;
        }
        let c = self.readers.checkout().await?;
        c.conn()?
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(db_err)
    }

    /// `BEGIN IMMEDIATE`: the write lock up front, waiting while another process holds it
    /// ([`Checkout::retry_busy`]). `gate` (the process's write queue, when the caller holds it)
    /// is held by the transaction and given back by its commit before the commit waits for the
    /// disk, or when it rolls back.
    pub(super) async fn begin(
        &self,
        gate: Option<OwnedMutexGuard<()>>,
    ) -> Result<InlineTxn, DbErr> {
        if let Some(sync) = &self.sync {
            sync.healthy()?;
        }
        let (c, ()) = self
            .writer()
            .await?
            .retry_busy(|conn| conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err))
            .await?;
        Ok(InlineTxn {
            conn: Mutex::new(Some(c)),
            gate,
            sync: self.sync.clone(),
        })
    }

    /// Closes the connections (of both handles): later checkouts fail.
    pub(super) fn close(&self) {
        self.readers.close();
        self.writer.close();
    }

    /// One passive WAL checkpoint (copies committed pages into the database file without
    /// blocking readers or writers), on a connection of this pool.
    fn checkpoint(&self) -> Result<(), DbErr> {
        let Ok(permit) = self.readers.free.clone().try_acquire_owned() else {
            return Ok(()); // busy pool: next time
        };
        let conn = self.readers.lock().pop();
        let c = Checkout {
            pool: self.readers.clone(),
            conn,
            _permit: permit,
        };
        c.conn()?
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(db_err)
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for InlineDb {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        exec_result(self.statement(&stmt).await?.1).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let changes = self
            .autocommit(sql, |conn| {
                conn.execute_batch(sql).map_err(db_err)?;
                Ok(conn.changes())
            })
            .await?;
        exec_result((0, changes)).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut rows = self.statement(&stmt).await?.0;
        rows.truncate(1);
        Ok(query_results(rows).await?.into_iter().next())
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        query_results(self.statement(&stmt).await?.0).await
    }
}

/// Checkpoints the WAL of `db`'s file every `every`, on the blocking pool, until the pool is
/// closed or dropped. The inline connections never checkpoint in a commit (`wal_autocheckpoint=0`), so
/// without this the WAL would only grow.
pub(super) fn spawn_checkpointer(db: std::sync::Weak<InlineDb>, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(db) = db.upgrade() else { return };
            if db.readers.free.is_closed() {
                return;
            }
            let db2 = db.clone();
            match tokio::task::spawn_blocking(move || db2.checkpoint()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                Err(e) => tracing::warn!(error = %e, "WAL checkpoint task failed"),
            }
        }
    });
}

/// A connection taken from an [`InlineDb`]; back to the pool on drop.
struct Checkout {
    pool: Arc<Pool>,
    conn: Option<Connection>,
    _permit: OwnedSemaphorePermit,
}

impl Checkout {
    fn conn(&self) -> Result<&Connection, DbErr> {
        self.conn
            .as_ref()
            .ok_or_else(|| DbErr::Custom("SQLite connection already returned".into()))
    }

    /// Runs `f` on the connection, again every [`BUSY_STEP`] (asynchronously, for up to
    /// [`BUSY_BUDGET`]) while SQLite answers busy because another process holds the write lock.
    /// A statement refused as busy changed nothing, so trying it again is safe. Takes the
    /// checkout by value and gives it back: no reference to the connection (not `Sync`) may
    /// live across the sleep, or the request's future would not be `Send`.
    async fn retry_busy<T>(
        self,
        f: impl Fn(&Connection) -> Result<T, DbErr>,
    ) -> Result<(Self, T), DbErr> {
        let started = tokio::time::Instant::now();
        loop {
            let done = f(self.conn()?);
            match done {
                Ok(v) => return Ok((self, v)),
                Err(e) if is_busy(&e) && started.elapsed() <= BUSY_BUDGET => {
                    tokio::time::sleep(BUSY_STEP).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !self.pool.free.is_closed()
        {
            self.pool.lock().push(conn);
        }
    }
}

/// A write transaction on one connection of an [`InlineDb`]. Dropped without
/// [`commit`](Self::commit), it rolls back.
pub struct InlineTxn {
    conn: Mutex<Option<Checkout>>,
    /// The write queue, held until the commit or the rollback.
    gate: Option<OwnedMutexGuard<()>>,
    /// Set on a durable pool: the commit waits for the disk.
    sync: Option<Arc<GroupSync>>,
}

impl std::fmt::Debug for InlineTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineTxn").finish_non_exhaustive()
    }
}

impl InlineTxn {
    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, DbErr>) -> Result<T, DbErr> {
        let guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let c = guard
            .as_ref()
            .ok_or_else(|| DbErr::Custom("the transaction has ended".into()))?;
        f(c.conn()?)
    }

    fn take(&self) -> Result<Checkout, DbErr> {
        self.conn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| DbErr::Custom("the transaction has ended".into()))
    }

    /// Commits, then gives the write queue back; on a durable pool, then waits until a group
    /// fsync has the commit on disk ([`GroupSync`]), so the caller tells nobody before that.
    pub(super) async fn commit(mut self) -> Result<(), DbErr> {
        let c = self.take()?;
        let committing = self.sync.as_ref().map(|s| s.committing());
        let r = c
            .conn()
            .and_then(|conn| conn.execute_batch("COMMIT").map_err(db_err));
        let number = committing.map(|c| c.number());
        finish(c, r)?;
        drop(self.gate.take());
        if let (Some(sync), Some(number)) = (&self.sync, number) {
            sync.wait(number).await?;
        }
        Ok(())
    }

    /// Rolls back.
    pub(super) async fn rollback(self) -> Result<(), DbErr> {
        let c = self.take()?;
        c.conn()?.execute_batch("ROLLBACK").map_err(db_err)
    }
}

/// After a failed `COMMIT` SQLite may still be in the transaction: roll it back before the
/// connection goes back to the pool.
fn finish(c: Checkout, r: Result<(), DbErr>) -> Result<(), DbErr> {
    if r.is_err()
        && let Ok(conn) = c.conn()
        && !conn.is_autocommit()
    {
        let _ = conn.execute_batch("ROLLBACK");
    }
    r
}

impl Drop for InlineTxn {
    fn drop(&mut self) {
        if let Some(c) = self
            .conn
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            && let Ok(conn) = c.conn()
            && !conn.is_autocommit()
        {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for InlineTxn {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let changes = self.with(|c| run(c, &KINDS, &stmt))?.1;
        exec_result(changes).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let changes = self.with(|c| {
            c.execute_batch(sql).map_err(db_err)?;
            Ok(c.changes())
        })?;
        exec_result((0, changes)).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut rows = self.with(|c| run(c, &KINDS, &stmt))?.0;
        rows.truncate(1);
        Ok(query_results(rows).await?.into_iter().next())
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        query_results(self.with(|c| run(c, &KINDS, &stmt))?.0).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_kinds_agree_across_tables() {
        let all = ColumnKinds::of_entities();
        assert_eq!(all.conflicts, Vec::<String>::new());
        assert_eq!(all.get("revocation_reason"), Some(Kind::Int));
        assert_eq!(all.get("ca_grant"), Some(Kind::Bool));
        assert_eq!(all.get("expires"), Some(Kind::BigInt));
        assert_eq!(all.get("der"), Some(Kind::Bytes));
        assert_eq!(all.get("status"), Some(Kind::Text));
    }

    fn temp_db() -> (tempfile::TempDir, String, Arc<InlineDb>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db").to_string_lossy().into_owned();
        let db = Arc::new(InlineDb::open(&path, 2).unwrap());
        (dir, path, db)
    }

    fn stmt(sql: &str) -> Statement {
        Statement::from_string(DbBackend::Sqlite, sql.to_string())
    }

    /// Another process holding SQLite's write lock: a transaction and a lone write wait for it
    /// (asynchronously) and then succeed; a read is not held up at all (WAL).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_wait_for_another_process_s_lock() {
        let (_dir, path, db) = temp_db();
        db.execute_unprepared("CREATE TABLE t (v INTEGER NOT NULL)")
            .await
            .unwrap();
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
            .unwrap();
        let released = std::time::Instant::now();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        let reads = db.query_all_raw(stmt("SELECT v FROM t")).await.unwrap();
        assert!(reads.is_empty(), "the uncommitted row is not visible");
        assert!(
            released.elapsed() < Duration::from_millis(300),
            "reads do not wait"
        );
        let lone = db
            .execute_raw(stmt("INSERT INTO t VALUES (2)"))
            .await
            .unwrap();
        assert_eq!(lone.rows_affected(), 1);
        assert!(
            released.elapsed() >= Duration::from_millis(300),
            "the write waited"
        );
        let txn = db.begin(None).await.unwrap();
        txn.execute_raw(stmt("INSERT INTO t VALUES (3)"))
            .await
            .unwrap();
        txn.commit().await.unwrap();
        holder.join().unwrap();
        let all = db.query_all_raw(stmt("SELECT v FROM t")).await.unwrap();
        assert_eq!(all.len(), 3);
    }

    /// A transaction dropped without commit leaves nothing behind, and its connection is usable.
    #[tokio::test]
    async fn a_dropped_transaction_rolls_back() {
        let (_dir, _path, db) = temp_db();
        db.execute_unprepared("CREATE TABLE t (v INTEGER NOT NULL)")
            .await
            .unwrap();
        for _ in 0..3 {
            let txn = db.begin(None).await.unwrap();
            txn.execute_raw(stmt("INSERT INTO t VALUES (1)"))
                .await
                .unwrap();
            drop(txn);
        }
        let txn = db.begin(None).await.unwrap();
        txn.execute_raw(stmt("INSERT INTO t VALUES (2)"))
            .await
            .unwrap();
        txn.rollback().await.unwrap();
        let all = db.query_all_raw(stmt("SELECT v FROM t")).await.unwrap();
        assert!(all.is_empty());
        assert_eq!(db.stats(), (0, 3), "every connection back in its pool");
    }

    #[test]
    fn writes_are_told_from_reads() {
        for w in [
            "INSERT INTO t VALUES (1)",
            "  update t SET v = 1",
            "DELETE FROM t",
            "REPLACE INTO t VALUES (1)",
        ] {
            assert!(is_write(w), "{w}");
        }
        for r in [
            "SELECT 1",
            "PRAGMA synchronous",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "",
            "UPD",
        ] {
            assert!(!is_write(r), "{r}");
        }
    }

    /// Writes go through the one writer connection, so a write that cannot get it (here: the
    /// caller's own transaction holds it) fails after the busy budget instead of waiting forever;
    /// reads are not held up by the open transaction.
    #[tokio::test(start_paused = true)]
    async fn a_write_waits_for_the_writer_and_gives_up_after_the_budget() {
        let (_dir, _path, db) = temp_db();
        db.execute_unprepared("CREATE TABLE t (v INTEGER NOT NULL)")
            .await
            .unwrap();
        let txn = db.begin(None).await.unwrap();
        assert!(db.query_all_raw(stmt("SELECT v FROM t")).await.is_ok());
        let e = db
            .execute_raw(stmt("INSERT INTO t VALUES (1)"))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("timed out waiting for the SQLite writer"), "{e}");
        txn.rollback().await.unwrap();
        db.execute_raw(stmt("INSERT INTO t VALUES (1)"))
            .await
            .unwrap();
    }

    /// Commits never checkpoint (`wal_autocheckpoint=0`); the background checkpointer copies the
    /// WAL into the database file.
    #[tokio::test]
    async fn the_checkpointer_moves_the_wal_into_the_database() {
        let (_dir, path, db) = temp_db();
        db.execute_unprepared("CREATE TABLE t (v BLOB NOT NULL)")
            .await
            .unwrap();
        for _ in 0..20 {
            db.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO t VALUES (?)",
                [Value::Bytes(Some(vec![7u8; 8192]))],
            ))
            .await
            .unwrap();
        }
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        assert!(
            before < 20 * 8192,
            "nothing checkpointed by the commits: {before}"
        );
        spawn_checkpointer(Arc::downgrade(&db), Duration::from_millis(10));
        let mut waited = 0;
        while size() < 20 * 8192 && waited < 200 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        assert!(size() >= 20 * 8192, "checkpointed: {}", size());
    }

    /// A UNIQUE violation and SQLite's busy are told apart from other errors.
    #[tokio::test]
    async fn unique_violations_are_recognised() {
        let (_dir, _path, db) = temp_db();
        db.execute_unprepared("CREATE TABLE t (v TEXT PRIMARY KEY)")
            .await
            .unwrap();
        db.execute_raw(stmt("INSERT INTO t VALUES ('a')"))
            .await
            .unwrap();
        let e = db
            .execute_raw(stmt("INSERT INTO t VALUES ('a')"))
            .await
            .unwrap_err();
        assert!(is_unique_violation(&e) && !is_busy(&e), "{e}");
        let e = db
            .execute_raw(stmt("INSERT INTO nope VALUES (1)"))
            .await
            .unwrap_err();
        assert!(!is_unique_violation(&e) && !is_busy(&e), "{e}");
    }

    #[test]
    fn conflicting_kinds_fall_back_to_the_storage_class() {
        let mut k = ColumnKinds::default();
        k.add::<entity::certificate::Entity>(); // revocation_reason: Int
        k.kinds.insert("revocation_reason".into(), Kind::Text);
        k.add::<entity::certificate::Entity>();
        assert_eq!(k.get("revocation_reason"), None);
        assert_eq!(k.conflicts, vec!["revocation_reason".to_string()]);
    }

    #[test]
    fn values_round_trip_with_the_entity_kind() {
        assert_eq!(
            from_sql(ValueRef::Integer(4), Some(Kind::Int)).unwrap(),
            Value::Int(Some(4))
        );
        assert_eq!(
            from_sql(ValueRef::Integer(1), Some(Kind::Bool)).unwrap(),
            Value::Bool(Some(true))
        );
        assert_eq!(
            from_sql(ValueRef::Null, Some(Kind::BigInt)).unwrap(),
            Value::BigInt(None)
        );
        assert!(from_sql(ValueRef::Integer(1 << 40), Some(Kind::Int)).is_err());
        assert!(from_sql(ValueRef::Text(b"x"), Some(Kind::BigInt)).is_err());
        assert_eq!(to_sql(&Value::Bool(Some(true))).unwrap(), Sql::Integer(1));
        assert_eq!(to_sql(&Value::String(None)).unwrap(), Sql::Null);
    }
}
