//! Storage authority: the only module that touches sea-orm and rusqlite (Boulder's SA role).
//!
//! [`Storage`] runs on SQLite (the embedded default: WAL, foreign keys on, statements run on the
//! calling task, see `sa/inline.rs`) or on PostgreSQL, which several replicas may share. Every
//! state change that two replicas could race on is a single guarded statement or one transaction
//! whose first write is guarded, so the database decides the winner:
//! - a nonce is spent by inserting it into the replay record (RFC 8555 §6.5);
//! - finalize moves an order `ready -> processing` with one conditional `UPDATE`, so two
//!   concurrent finalize requests sign at most once (RFC 8555 §7.4);
//! - issuance stores the certificate and moves the order `processing -> valid` in one
//!   transaction, before any response can carry the certificate;
//! - an Authority Token `jti` is recorded by insert, and a second use is reported with whether it
//!   comes from the same account (RFC 9447 §5).
//!
//! Getters return `Ok(None)` (or an empty list) when nothing matches, so callers choose between
//! 404 and `accountDoesNotExist`; writes to a row that does not exist return
//! [`SaError::NotFound`].

mod account_cache;
mod conn;
mod entity;
mod group_sync;
mod inline;
pub mod model;
mod nonce_batch;
mod replica;
mod status;
pub mod testing;
#[cfg(test)]
mod tests;

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use stica_migrations::{Migrator, MigratorTrait};

use crate::acme::{AccountStatus, AuthzStatus, ChallengeStatus, OrderStatus};
use crate::error::{Error, ErrorKind};

pub use model::{
    Account, Authz, CertificateRecord, Challenge, ChallengeOutcome, EabKey, Order, TokenUse,
};
pub use model::{
    ApiToken, CertificateState, Change, ChangeEvent, CrlInput, Revocation, RevokeOutcome,
    RevokedEntry, StoredCrl,
};
pub use replica::{CaIdentity, Lease, PoolStats};

use conn::{Db, Txn};
use entity::{account, authz, certificate, challenge, eab_key, order, token, used_nonce};

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// SQLite pool size: WAL lets readers run beside the one writer.
const SQLITE_POOL: u32 = 8;
/// The key of the PostgreSQL advisory lock that serializes migrations across replicas
/// (the ASCII bytes of "sticamig").
const MIGRATION_LOCK_KEY: i64 = 0x7374_6963_616d_6967;
/// Token use records are kept this long past the token's `exp`, so a token that a verifier still
/// accepts within its clock skew is never reported as a first use again.
const TOKEN_RECORD_GRACE: i64 = 24 * 3600;

/// The `what` of the `Conflict` a guarded account write returns when the stored account is no
/// longer valid with the key the request was signed with.
pub const ACCOUNT_CHANGED: &str = "the account was deactivated or re-keyed meanwhile";

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum SaError {
    /// The row a write names does not exist (the payload names the kind of row).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The write conflicts with existing state; `id` names the row that holds it (for a taken
    /// account key: the existing account, as RFC 8555 §7.3.5 wants it in `Location`).
    #[error("{what}: {id}")]
    Conflict {
        /// What conflicted, for the detail.
        what: &'static str,
        /// The id of the existing or affected row.
        id: String,
    },
    /// The database failed, or a stored value could not be read back.
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<SaError> for Error {
    fn from(e: SaError) -> Self {
        match e {
            SaError::NotFound(_) => Error::not_found(),
            SaError::Conflict { .. } => Error::new(ErrorKind::Conflict, e.to_string()),
            SaError::Db(cause) => Error::internal(cause),
        }
    }
}

/// A new random opaque id: 128 random bits, base64url without padding (22 characters), so ids
/// are unguessable and safe in URLs.
pub fn new_id() -> String {
    URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

/// SQLITE_BUSY ("database is locked"), however the error reached sea-orm.
fn is_sqlite_busy(e: &DbErr) -> bool {
    if inline::is_busy(e) {
        return true;
    }
    let sqlx = match e {
        DbErr::Conn(sea_orm::RuntimeErr::SqlxError(x))
        | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(x))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(x)) => x,
        _ => return false,
    };
    matches!(&**sqlx, sea_orm::sqlx::Error::Database(d) if d.code().as_deref() == Some("5"))
}

fn is_unique_violation(e: &DbErr) -> bool {
    inline::is_unique_violation(e)
        || matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn inconsistent(what: &str) -> SaError {
    SaError::Db(DbErr::Custom(format!("inconsistent records: {what}")))
}

/// Commits on success, rolls back on error (keeping the original error).
async fn finish<T>(txn: Txn, r: Result<T, SaError>) -> Result<T, SaError> {
    match r {
        Ok(v) => {
            txn.commit().await?;
            Ok(v)
        }
        Err(e) => {
            if let Err(rollback) = txn.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

/// How often the WAL of a SQLite file is checkpointed (the inline connections never do it in a
/// commit; see [`inline`]).
const SQLITE_CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

fn sqlite_options(
    o: sea_orm::sqlx::sqlite::SqliteConnectOptions,
    synchronous: SqliteSynchronous,
) -> sea_orm::sqlx::sqlite::SqliteConnectOptions {
    o.create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
}

/// The options of one of the two PostgreSQL pools (see [`Storage`]), or of the sqlx connection
/// that migrates a SQLite file (its durable commits go through `sa/group_sync.rs` instead).
fn pool_options(url: &str, durable: bool) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url);
    opts.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        opts.max_connections(SQLITE_POOL);
        opts.map_sqlx_sqlite_opts(|o| sqlite_options(o, SqliteSynchronous::Normal));
    } else if !durable {
        opts.map_sqlx_postgres_opts(|o| o.options([("synchronous_commit", "off")]));
    }
    opts
}

/// Opens a pool. A new SQLite file that several processes open at once can answer the first
/// connection's set-up (the switch to WAL) with "database is locked" without waiting out the busy
/// timeout; that first connection is retried for up to 5 s.
async fn connect_pool(opts: ConnectOptions) -> Result<DatabaseConnection, DbErr> {
    let mut tries = 0;
    loop {
        match Database::connect(opts.clone()).await {
            Err(e) if tries < 100 && is_sqlite_busy(&e) => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

/// Brings the schema up to date, in one transaction on the pool that does not wait for the
/// disk: a migration lost to a power cut (with its row in the migrations table, in the same
/// transaction) runs again at next start. Before the storage serves anything, so no write queue.
async fn migrate(db: &DatabaseConnection) -> Result<(), SaError> {
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    let r = async {
        if txn.get_database_backend() == DbBackend::Postgres {
            txn.execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
            ))
            .await?;
        }
        Migrator::up(&txn, None).await?;
        Ok::<_, DbErr>(())
    }
    .await;
    match r {
        Ok(()) => Ok(txn.commit().await?),
        Err(e) => {
            if let Err(rollback) = txn.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(e.into())
        }
    }
}

/// Serializes writers to one order: a no-op update takes the row lock on PostgreSQL (SQLite
/// write transactions are already exclusive). Returns whether the order exists.
async fn lock_order(txn: &Txn, order_id: &str) -> Result<bool, DbErr> {
    let res = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::col(order::Column::Status))
        .filter(order::Column::Id.eq(order_id))
        .exec(txn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The database behind stica: cheap to clone (shared pools).
///
/// Two pools over one database, differing only in when a commit waits for the disk:
/// - `db` commits without waiting (SQLite `synchronous=NORMAL` in WAL mode, PostgreSQL
///   `synchronous_commit=off`): nonces, orders, authorizations, challenges, token uses, order
///   state. A power loss (not a process crash) may forget the last such commits.
/// - `durable` waits for the disk on every commit (PostgreSQL's default; on a SQLite file a
///   group fsync of the WAL after the commit, `sa/group_sync.rs`): what a client or a relying
///   party is told and then relies on: accounts and their keys, EAB bindings, authorization
///   deactivation, issued certificates, revocations, CRLs, API tokens, the CA binding.
///
/// Both logs are written in commit order, so a durable commit also makes every earlier commit
/// of either pool durable (SQLite fsyncs the shared WAL file; PostgreSQL flushes its WAL up to
/// the commit record). A state a crash can leave behind is therefore always a prefix of what
/// happened: an issued certificate's order, authorization, token use and nonce are never lost
/// while the certificate survives. Lost tail commits only send a client back a step (an order
/// to `pending`, a nonce usable once more for a request whose effect was lost too).
///
/// On a SQLite file a durable commit is visible to other requests a moment before it is on
/// disk (it gives the write queue back first, so that concurrent durable commits share an
/// fsync). The reads that tell what such a commit wrote (certificates, a `valid` order,
/// certificate states, the change feed, CRLs) therefore wait for the fsync too
/// ([`Storage::told_durably`]): nothing durable is told before it is on disk.
///
/// On a SQLite file, writers of this process also queue on one async lock (`write_gate`) before
/// they ask SQLite for its write lock: SQLite admits one writer at a time and makes the others
/// poll with sleeps of up to 100 ms (its busy handler), which is what made p99 latencies jump
/// under load; an async FIFO queue wakes the next writer the moment the last one is done.
/// Other processes on the same file (the `stica` CLI) are waited for asynchronously (see
/// `sa/inline.rs`).
#[derive(Debug, Clone)]
pub struct Storage {
    db: Db,
    durable: Db,
    write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
    /// `kid` lookups (see [`Storage::account_for_request`]).
    accounts: Arc<account_cache::AccountCache>,
    /// Spends nonces, several per statement under load (see [`nonce_batch`]).
    nonces: nonce_batch::NonceBatcher,
    /// Group commit of a SQLite file's durable writes (see `sa/group_sync.rs`).
    group_sync: Option<Arc<group_sync::GroupSync>>,
}

impl Storage {
    /// Connects to `url` and brings the schema up to date.
    ///
    /// `sqlite://path?mode=rwc` (the file is created if missing; every connection gets WAL and
    /// `foreign_keys=ON`; after the migrations, rusqlite connections that run statements on the
    /// calling task, `sa/inline.rs`) or `postgres://...`. Migrations run in one
    /// transaction under a lock (`BEGIN IMMEDIATE` on SQLite, `pg_advisory_xact_lock` on
    /// PostgreSQL), so replicas starting together apply them once. See [`Storage`] for the two
    /// pools this opens.
    pub async fn connect(url: &str) -> Result<Self, SaError> {
        let sqlite = url.starts_with("sqlite:");
        if !(sqlite || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(SaError::Db(DbErr::Custom(format!(
                "unsupported database URL scheme {scheme:?} (use sqlite:// or postgres://)"
            ))));
        }
        if sqlite && (url.contains(":memory:") || url.contains("mode=memory")) {
            // Each in-memory connection is its own database: keep exactly one, forever, and
            // use it for both roles (nothing in memory survives a crash anyway).
            let mut opts = ConnectOptions::new(url);
            opts.sqlx_logging(false)
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
            opts.map_sqlx_sqlite_opts(|o| sqlite_options(o, SqliteSynchronous::Full));
            let db = Database::connect(opts).await?;
            migrate(&db).await?;
            let db = Db::Sqlx(db);
            return Ok(Self {
                nonces: nonce_batch::NonceBatcher::start(db.clone(), None),
                durable: db.clone(),
                db,
                write_gate: None,
                accounts: Arc::default(),
                group_sync: None,
            });
        }
        if sqlite {
            return Self::connect_file(url, group_sync::GroupSync::for_file).await;
        }
        // Lazy: its first connection is made by its first write, not at start (start time).
        let mut durable_opts = pool_options(url, true);
        durable_opts.connect_lazy(true);
        let durable = connect_pool(durable_opts).await?;
        let db = connect_pool(pool_options(url, false)).await?;
        migrate(&db).await?;
        let db = Db::Sqlx(db);
        Ok(Self {
            nonces: nonce_batch::NonceBatcher::start(db.clone(), None),
            db,
            durable: Db::Sqlx(durable),
            write_gate: None,
            accounts: Arc::default(),
            group_sync: None,
        })
    }

    /// [`Self::connect`] for a SQLite file, whose durable commits `make_sync` (given the file's
    /// path) puts on disk.
    async fn connect_file(
        url: &str,
        make_sync: impl FnOnce(&std::path::Path) -> group_sync::GroupSync,
    ) -> Result<Self, SaError> {
        // sea-orm-migration speaks to sqlx connections: one, for the migrations only.
        let mut opts = pool_options(url, false);
        opts.max_connections(1);
        let migrations = connect_pool(opts).await?;
        migrate(&migrations).await?;
        migrations.close_by_ref().await?;
        let path = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .map_err(|e| DbErr::Custom(format!("SQLite URL: {e}")))?
            .get_filename()
            .to_string_lossy()
            .into_owned();
        let group_sync = Arc::new(make_sync(std::path::Path::new(&path)));
        let db = Arc::new(inline::InlineDb::open(&path, SQLITE_POOL)?);
        let durable = Arc::new(db.durable(group_sync.clone()));
        inline::spawn_checkpointer(Arc::downgrade(&db), SQLITE_CHECKPOINT_EVERY);
        let db = Db::Inline(db);
        let write_gate = Some(Arc::new(tokio::sync::Mutex::new(())));
        Ok(Self {
            nonces: nonce_batch::NonceBatcher::start(db.clone(), write_gate.clone()),
            db,
            durable: Db::Inline(durable),
            write_gate,
            accounts: Arc::default(),
            group_sync: Some(group_sync),
        })
    }

    /// Closes the pools; clones of this storage fail afterwards.
    pub async fn close(&self) -> Result<(), SaError> {
        self.db.close().await?;
        self.durable.close().await?;
        Ok(())
    }

    /// `"sqlite"` or `"postgres"`, for logs.
    pub fn backend(&self) -> &'static str {
        match self.db.get_database_backend() {
            DbBackend::Postgres => "postgres",
            DbBackend::Sqlite => "sqlite",
            _ => "other",
        }
    }

    /// This process's turn to write (SQLite files only; see [`Storage`]). Held until the
    /// writing function returns; no function holding it calls another one that takes it.
    async fn gate(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        }
    }

    /// A write transaction: `BEGIN IMMEDIATE` on SQLite, so it takes the write lock up front
    /// (waiting while another process holds it) instead of failing when a read upgrades to a
    /// write.
    async fn begin_write(&self) -> Result<Txn, DbErr> {
        self.db.begin_immediate().await
    }

    /// [`Self::begin_write`] whose commit waits for the disk (see [`Storage`]). The transaction
    /// takes the caller's `gate` and gives it back as soon as it has committed, before it waits
    /// for the disk, so that concurrent durable commits share one fsync.
    async fn begin_durable(
        &self,
        gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    ) -> Result<Txn, DbErr> {
        self.durable.begin_holding(gate).await
    }

    /// Call after reading what a durable commit wrote and before telling it (a certificate, an
    /// order that became `valid`, a revocation, a CRL, the change feed): waits until every
    /// durable commit of this process that had begun is on disk (SQLite files; see
    /// `sa/group_sync.rs`). On PostgreSQL a durable commit is on disk before anyone can read it.
    async fn told_durably(&self) -> Result<(), DbErr> {
        match &self.group_sync {
            Some(sync) => sync.barrier().await,
            None => Ok(()),
        }
    }

    // ---- nonces (RFC 8555 §6.5) ----

    /// Spends `nonce`: true the first time, false if any replica has spent it before. The
    /// primary key of the replay record decides, so two replicas racing on one nonce cannot
    /// both win. `expires` is when the nonce would be refused anyway (purge after that).
    pub async fn consume_nonce(&self, nonce: &str, expires: i64) -> Result<bool, SaError> {
        self.nonces.spend(nonce, expires).await
    }

    /// Deletes replay records of nonces expired before `now` and token use records well past
    /// their `exp`. Returns how many rows went.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, SaError> {
        let _gate = self.gate().await;
        let nonces = used_nonce::Entity::delete_many()
            .filter(used_nonce::Column::Expires.lt(now))
            .exec(&self.db)
            .await?;
        let tokens = token::Entity::delete_many()
            .filter(token::Column::Exp.lt(now.saturating_sub(TOKEN_RECORD_GRACE)))
            .exec(&self.db)
            .await?;
        Ok(nonces.rows_affected + tokens.rows_affected)
    }

    // ---- accounts (RFC 8555 §7.3) ----

    /// Stores a new account; binds `account.eab_kid` if set, as
    /// [`Self::insert_account_with_eab`] does.
    pub async fn insert_account(&self, account: &Account) -> Result<(), SaError> {
        self.insert_account_with_eab(account, account.eab_kid.as_deref())
            .await
    }

    /// Stores a new account and, when `eab_kid` is given, binds that EAB key to it in the same
    /// transaction (RFC 8555 §7.3.4: a binding serves one account; `account.eab_kid` must name
    /// the same key). An unknown kid is `NotFound("external account binding")`, a key bound
    /// already is a `Conflict` on the kid, and a key used by another account is a `Conflict`
    /// carrying that account's id; in every failure no account is stored.
    pub async fn insert_account_with_eab(
        &self,
        account: &Account,
        eab_kid: Option<&str>,
    ) -> Result<(), SaError> {
        let gate = self.gate().await;
        if account.eab_kid.as_deref() != eab_kid {
            return Err(inconsistent("account eab_kid differs from the key to bind"));
        }
        // The new account's first signed request (newOrder) finds it cached: taken before the
        // write, as `account_for_request` does before its read.
        let (written_at, epoch) = (std::time::Instant::now(), self.accounts.epoch());
        let txn = self.begin_durable(gate).await?;
        let r = async {
            account::Entity::insert(account::ActiveModel::from(account))
                .exec_without_returning(&txn)
                .await?;
            if let Some(kid) = eab_kid {
                let bound = bind_eab_in(&txn, kid, &account.id).await?;
                if !bound {
                    return Err(match eab_key::Entity::find_by_id(kid).one(&txn).await? {
                        None => SaError::NotFound("external account binding"),
                        Some(_) => SaError::Conflict {
                            what: "external account binding already used",
                            id: kid.to_string(),
                        },
                    });
                }
            }
            Ok(())
        }
        .await;
        match finish(txn, r).await {
            Err(SaError::Db(e)) if is_unique_violation(&e) => {
                match self.account_by_thumbprint(&account.thumbprint).await? {
                    Some(existing) => Err(SaError::Conflict {
                        what: "account key already in use",
                        id: existing.id,
                    }),
                    None => Err(SaError::Conflict {
                        what: "account id already exists",
                        id: account.id.clone(),
                    }),
                }
            }
            Ok(()) => {
                self.accounts.put(account, written_at, epoch);
                Ok(())
            }
            other => other,
        }
    }

    /// The account with `id`, read fresh from the database.
    pub async fn account(&self, id: &str) -> Result<Option<Account>, SaError> {
        let m = account::Entity::find_by_id(id).one(&self.db).await?;
        Ok(m.map(Account::try_from).transpose()?)
    }

    /// The account with `id` for authenticating a request (the `kid` lookup of RFC 8555 §6.2):
    /// from a cache that this storage keeps coherent with its own writes and that lags another
    /// replica's writes by at most [`account_cache::ACCOUNT_CACHE_TTL`] (see that module).
    pub async fn account_for_request(&self, id: &str) -> Result<Option<Account>, SaError> {
        if let Some(hit) = self.accounts.get(id) {
            return Ok(Some(hit));
        }
        let (read_at, epoch) = (std::time::Instant::now(), self.accounts.epoch());
        let account = self.account(id).await?;
        if let Some(a) = &account {
            self.accounts.put(a, read_at, epoch);
        }
        Ok(account)
    }

    /// The account whose key has this RFC 7638 thumbprint (RFC 8555 §7.3.1 lookups by key).
    pub async fn account_by_thumbprint(
        &self,
        thumbprint: &str,
    ) -> Result<Option<Account>, SaError> {
        let m = account::Entity::find()
            .filter(account::Column::Thumbprint.eq(thumbprint))
            .one(&self.db)
            .await?;
        Ok(m.map(Account::try_from).transpose()?)
    }

    /// Writes the mutable fields of an account: `status` and `contact` (RFC 8555 §7.3.2,
    /// §7.3.6). The key changes only through [`Self::change_account_key`].
    ///
    /// Applies only while the stored account is still `valid` with the key `account` carries
    /// (the key that authenticated the request): a request authenticated from a cached copy
    /// that another replica has since deactivated or re-keyed changes nothing and gets
    /// `Conflict` ("account changed"). An unknown id is `NotFound`.
    pub async fn update_account(&self, account: &Account) -> Result<(), SaError> {
        let _gate = self.gate().await;
        self.accounts.forget(&account.id);
        let res = account::Entity::update_many()
            .col_expr(
                account::Column::Status,
                Expr::value(account.status.as_str()),
            )
            .col_expr(
                account::Column::Contact,
                Expr::value(model::json_text(&account.contact)),
            )
            .filter(account::Column::Id.eq(&account.id))
            .filter(account::Column::Thumbprint.eq(&account.thumbprint))
            .filter(account::Column::Status.eq(AccountStatus::Valid.as_str()))
            .exec(&self.durable)
            .await;
        // Again after the write: a request that read the old row meanwhile must not cache it.
        self.accounts.forget(&account.id);
        if res?.rows_affected == 1 {
            return Ok(());
        }
        Err(self.account_changed(&account.id).await)
    }

    /// Why a guarded account write changed nothing: no such account, or it changed.
    async fn account_changed(&self, id: &str) -> SaError {
        match self.account(id).await {
            Ok(None) => SaError::NotFound("account"),
            Ok(Some(_)) => SaError::Conflict {
                what: ACCOUNT_CHANGED,
                id: id.to_string(),
            },
            Err(e) => e,
        }
    }

    /// Replaces an account's key (RFC 8555 §7.3.5), provided it is still `valid` with the key
    /// whose thumbprint is `old_thumbprint` (compare-and-swap: a rollover signed with a key that
    /// was rolled over meanwhile, on any replica, is a `Conflict` with [`ACCOUNT_CHANGED`]). If
    /// another account holds the new key this is a `Conflict` carrying that account's id (the
    /// server answers 409 with its URL).
    pub async fn change_account_key(
        &self,
        id: &str,
        old_thumbprint: &str,
        jwk: &str,
        thumbprint: &str,
    ) -> Result<(), SaError> {
        let _gate = self.gate().await;
        self.accounts.forget(id);
        let res = account::Entity::update_many()
            .col_expr(account::Column::Jwk, Expr::value(jwk))
            .col_expr(account::Column::Thumbprint, Expr::value(thumbprint))
            .filter(account::Column::Id.eq(id))
            .filter(account::Column::Thumbprint.eq(old_thumbprint))
            .filter(account::Column::Status.eq(AccountStatus::Valid.as_str()))
            .exec(&self.durable)
            .await;
        self.accounts.forget(id);
        match res {
            Ok(r) if r.rows_affected == 0 => Err(self.account_changed(id).await),
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                match self.account_by_thumbprint(thumbprint).await? {
                    Some(existing) => Err(SaError::Conflict {
                        what: "account key already in use",
                        id: existing.id,
                    }),
                    None => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    // ---- external account binding (RFC 8555 §7.3.4) ----

    /// Stores a new EAB key; a `Conflict` if the kid exists.
    pub async fn insert_eab(&self, key: &EabKey) -> Result<(), SaError> {
        let _gate = self.gate().await;
        let res = eab_key::Entity::insert(eab_key::ActiveModel::from(key))
            .exec_without_returning(&self.durable)
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(SaError::Conflict {
                what: "external account binding key id exists",
                id: key.kid.clone(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The EAB key with this kid.
    pub async fn eab(&self, kid: &str) -> Result<Option<EabKey>, SaError> {
        let m = eab_key::Entity::find_by_id(kid).one(&self.db).await?;
        Ok(m.map(EabKey::try_from).transpose()?)
    }

    /// Binds an unbound EAB key to an account; false if it is unknown or bound already.
    pub async fn bind_eab(&self, kid: &str, account_id: &str) -> Result<bool, SaError> {
        let _gate = self.gate().await;
        Ok(bind_eab_in(&self.durable, kid, account_id).await?)
    }

    /// Every EAB key, oldest first.
    pub async fn list_eab(&self) -> Result<Vec<EabKey>, SaError> {
        let rows = eab_key::Entity::find()
            .order_by_asc(eab_key::Column::CreatedAt)
            .order_by_asc(eab_key::Column::Kid)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(EabKey::try_from)
            .collect::<Result<_, _>>()?)
    }

    // ---- orders, authorizations, challenges (RFC 8555 §7.4, §7.5; RFC 9447 §3) ----

    /// Stores a new order with its authorization and challenge in one transaction. The records
    /// must agree (authz in the order, challenge in the authz, one account).
    pub async fn create_order(
        &self,
        order: &Order,
        authz: &Authz,
        challenge: &Challenge,
    ) -> Result<(), SaError> {
        let _gate = self.gate().await;
        if authz.order_id != order.id
            || authz.account_id != order.account_id
            || challenge.authz_id != authz.id
        {
            return Err(inconsistent("order, authorization and challenge disagree"));
        }
        let txn = self.begin_write().await?;
        let r = async {
            order::Entity::insert(order::ActiveModel::from(order))
                .exec_without_returning(&txn)
                .await?;
            authz::Entity::insert(authz::ActiveModel::from(authz))
                .exec_without_returning(&txn)
                .await?;
            challenge::Entity::insert(challenge::ActiveModel::from(challenge))
                .exec_without_returning(&txn)
                .await?;
            Ok(())
        }
        .await;
        finish(txn, r).await
    }

    /// The order with `id`.
    pub async fn order(&self, id: &str) -> Result<Option<Order>, SaError> {
        let m = order::Entity::find_by_id(id).one(&self.db).await?;
        // `valid` (with its certificate) is the one order state a durable commit writes.
        if m.as_ref()
            .is_some_and(|m| m.status == OrderStatus::Valid.as_str())
        {
            self.told_durably().await?;
        }
        Ok(m.map(Order::try_from).transpose()?)
    }

    /// The ids of an account's orders, oldest first (RFC 8555 §7.1.2.1).
    pub async fn order_ids_for_account(&self, account_id: &str) -> Result<Vec<String>, SaError> {
        let ids: Vec<String> = order::Entity::find()
            .select_only()
            .column(order::Column::Id)
            .filter(order::Column::AccountId.eq(account_id))
            .order_by_asc(order::Column::CreatedAt)
            .order_by_asc(order::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(ids)
    }

    /// The authorization with `id`.
    pub async fn authz(&self, id: &str) -> Result<Option<Authz>, SaError> {
        let m = authz::Entity::find_by_id(id).one(&self.db).await?;
        Ok(m.map(Authz::try_from).transpose()?)
    }

    /// The authorizations of an order.
    pub async fn authz_for_order(&self, order_id: &str) -> Result<Vec<Authz>, SaError> {
        let rows = authz::Entity::find()
            .filter(authz::Column::OrderId.eq(order_id))
            .order_by_asc(authz::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(Authz::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// The challenge with `id`.
    pub async fn challenge(&self, id: &str) -> Result<Option<Challenge>, SaError> {
        let m = challenge::Entity::find_by_id(id).one(&self.db).await?;
        Ok(m.map(Challenge::try_from).transpose()?)
    }

    /// The challenges of an authorization.
    pub async fn challenges_for_authz(&self, authz_id: &str) -> Result<Vec<Challenge>, SaError> {
        let rows = challenge::Entity::find()
            .filter(challenge::Column::AuthzId.eq(authz_id))
            .order_by_asc(challenge::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(Challenge::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// Applies a validation outcome in one transaction (RFC 8555 §7.1.6 state machine):
    /// the challenge becomes valid (validated at `now`) or invalid (with its error, RFC 8555 §8);
    /// its authorization follows, recording the token's grant; the order becomes `ready` once all
    /// its authorizations are valid, or `invalid` (carrying the error) when one fails.
    ///
    /// `authz_id` and `order_id` must be the challenge's. Returns the challenge and authorization
    /// as written (so the caller need not read them again), or `None`, changing nothing, if the
    /// challenge or its authorization is no longer pending (another request or replica got there
    /// first); a missing challenge is `NotFound`.
    pub async fn record_challenge_result(
        &self,
        challenge_id: &str,
        authz_id: &str,
        order_id: &str,
        outcome: &ChallengeOutcome,
        now: i64,
    ) -> Result<Option<(Challenge, Authz)>, SaError> {
        let _gate = self.gate().await;
        let txn = self.begin_write().await?;
        let r = async {
            let mut ch = challenge::Entity::find_by_id(challenge_id)
                .one(&txn)
                .await?
                .ok_or(SaError::NotFound("challenge"))?;
            if ch.authz_id != authz_id {
                return Err(inconsistent("challenge belongs to another authorization"));
            }
            if !lock_order(&txn, order_id).await? {
                return Err(SaError::NotFound("order"));
            }
            // Read under the order lock: a concurrent writer to this order has committed.
            let mut az = authz::Entity::find_by_id(authz_id)
                .one(&txn)
                .await?
                .ok_or_else(|| inconsistent("challenge without authorization"))?;
            if az.order_id != order_id {
                return Err(inconsistent("authorization belongs to another order"));
            }
            if az.status != AuthzStatus::Pending.as_str() {
                return Ok(None);
            }
            let (ch_status, az_status, validated_at, error) = match outcome {
                ChallengeOutcome::Valid { .. } => {
                    (ChallengeStatus::Valid, AuthzStatus::Valid, Some(now), None)
                }
                ChallengeOutcome::Invalid { error } => (
                    ChallengeStatus::Invalid,
                    AuthzStatus::Invalid,
                    None,
                    Some(error.clone()),
                ),
            };
            let updated = challenge::Entity::update_many()
                .col_expr(challenge::Column::Status, Expr::value(ch_status.as_str()))
                .col_expr(challenge::Column::ValidatedAt, Expr::value(validated_at))
                .col_expr(challenge::Column::Error, Expr::value(error.clone()))
                .filter(challenge::Column::Id.eq(challenge_id))
                .filter(challenge::Column::Status.is_in([
                    ChallengeStatus::Pending.as_str(),
                    ChallengeStatus::Processing.as_str(),
                ]))
                .exec(&txn)
                .await?;
            if updated.rows_affected != 1 {
                return Ok(None);
            }
            ch.status = ch_status.as_str().to_string();
            ch.validated_at = validated_at;
            ch.error = error.clone();
            az.status = az_status.as_str().to_string();
            let mut update = authz::Entity::update_many()
                .col_expr(authz::Column::Status, Expr::value(az_status.as_str()))
                .filter(authz::Column::Id.eq(authz_id));
            if let ChallengeOutcome::Valid {
                ca_grant,
                token_jti,
                token_exp,
                claim_constraints,
                parent_serial,
            } = outcome
            {
                az.ca_grant = Some(*ca_grant);
                az.token_jti = Some(token_jti.clone());
                az.token_exp = Some(*token_exp);
                az.claim_constraints = claim_constraints
                    .as_ref()
                    .map(model::claim_constraints_to_text);
                az.parent_serial = parent_serial.clone();
                update = update
                    .col_expr(authz::Column::CaGrant, Expr::value(az.ca_grant))
                    .col_expr(authz::Column::TokenJti, Expr::value(az.token_jti.clone()))
                    .col_expr(authz::Column::TokenExp, Expr::value(az.token_exp))
                    .col_expr(
                        authz::Column::ClaimConstraints,
                        Expr::value(az.claim_constraints.clone()),
                    )
                    .col_expr(
                        authz::Column::ParentSerial,
                        Expr::value(az.parent_serial.clone()),
                    );
            }
            update.exec(&txn).await?;
            match error {
                None => {
                    let not_valid = authz::Entity::find()
                        .filter(authz::Column::OrderId.eq(order_id))
                        .filter(authz::Column::Status.ne(AuthzStatus::Valid.as_str()))
                        .count(&txn)
                        .await?;
                    if not_valid == 0 {
                        set_order_status(
                            &txn,
                            order_id,
                            &[OrderStatus::Pending],
                            OrderStatus::Ready,
                            None,
                        )
                        .await?;
                    }
                }
                Some(error) => {
                    set_order_status(
                        &txn,
                        order_id,
                        &[OrderStatus::Pending],
                        OrderStatus::Invalid,
                        Some(error),
                    )
                    .await?;
                }
            }
            Ok(Some((Challenge::try_from(ch)?, Authz::try_from(az)?)))
        }
        .await;
        finish(txn, r).await
    }

    /// Deactivates a pending or valid authorization (RFC 8555 §7.5.2) and, in the same
    /// transaction, makes its still pending or ready order invalid. False if the authorization
    /// was in another state.
    pub async fn deactivate_authz(&self, id: &str) -> Result<bool, SaError> {
        let gate = self.gate().await;
        let txn = self.begin_durable(gate).await?;
        let r = async {
            let order_id = authz::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(SaError::NotFound("authorization"))?
                .order_id;
            lock_order(&txn, &order_id).await?;
            let res = authz::Entity::update_many()
                .col_expr(
                    authz::Column::Status,
                    Expr::value(AuthzStatus::Deactivated.as_str()),
                )
                .filter(authz::Column::Id.eq(id))
                .filter(
                    authz::Column::Status
                        .is_in([AuthzStatus::Pending.as_str(), AuthzStatus::Valid.as_str()]),
                )
                .exec(&txn)
                .await?;
            if res.rows_affected != 1 {
                return Ok(false);
            }
            set_order_status(
                &txn,
                &order_id,
                &[OrderStatus::Pending, OrderStatus::Ready],
                OrderStatus::Invalid,
                None,
            )
            .await?;
            Ok(true)
        }
        .await;
        finish(txn, r).await
    }

    /// Records a use of the Authority Token `jti` by `account_id` (RFC 9447 §5). The first use
    /// inserts the record (atomically: of two racing replicas exactly one sees `First`); later
    /// uses report whether they come from the same account.
    pub async fn record_token_use(
        &self,
        jti: &str,
        account_id: &str,
        exp: i64,
        now: i64,
    ) -> Result<TokenUse, SaError> {
        let _gate = self.gate().await;
        // Twice: the record could be purged between the insert and the read.
        for _ in 0..2 {
            let row = token::ActiveModel {
                jti: Set(jti.to_string()),
                account_id: Set(account_id.to_string()),
                exp: Set(exp),
                first_used_at: Set(now),
            };
            let inserted = token::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(token::Column::Jti)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&self.db)
                .await;
            match inserted {
                Ok(1) => return Ok(TokenUse::First),
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {}
                Err(e) => return Err(e.into()),
            }
            if let Some(existing) = token::Entity::find_by_id(jti).one(&self.db).await? {
                return Ok(if existing.account_id == account_id {
                    TokenUse::SameAccount
                } else {
                    TokenUse::OtherAccount
                });
            }
        }
        Err(inconsistent(
            "token record vanished while recording its use",
        ))
    }

    // ---- finalize and issuance (RFC 8555 §7.4) ----

    /// Claims an order for issuance: `ready -> processing` in one conditional update. True for
    /// exactly one caller, however many requests or replicas race.
    /// The claim's time is recorded, so that an order whose replica died while signing can be
    /// failed later ([`Self::fail_stale_processing`]).
    pub async fn begin_finalize(&self, order_id: &str) -> Result<bool, SaError> {
        let _gate = self.gate().await;
        let res = order::Entity::update_many()
            .col_expr(
                order::Column::Status,
                Expr::value(OrderStatus::Processing.as_str()),
            )
            .col_expr(
                order::Column::ProcessingSince,
                Expr::value(Some(crate::acme::now())),
            )
            .filter(order::Column::Id.eq(order_id))
            .filter(order::Column::Status.eq(OrderStatus::Ready.as_str()))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Fails an order that has been `processing` since before `claimed_before` (unix seconds):
    /// the replica that claimed it stopped while signing. `processing -> invalid` with `error`
    /// (problem document JSON). Invalid is final, so a stalled replica finishing later cannot
    /// store its certificate ([`Self::complete_issuance`] needs `processing`) and no second
    /// claim can sign again: nothing is lost silently and nothing is issued twice. False when
    /// the order is not processing or was claimed later.
    pub async fn fail_stale_processing(
        &self,
        order_id: &str,
        claimed_before: i64,
        error: &str,
    ) -> Result<bool, SaError> {
        let _gate = self.gate().await;
        let res = order::Entity::update_many()
            .col_expr(
                order::Column::Status,
                Expr::value(OrderStatus::Invalid.as_str()),
            )
            .col_expr(order::Column::Error, Expr::value(error.to_string()))
            .filter(order::Column::Id.eq(order_id))
            .filter(order::Column::Status.eq(OrderStatus::Processing.as_str()))
            .filter(order::Column::ProcessingSince.lt(claimed_before))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Gives a claimed order back (`processing -> ready`), when issuance stopped before signing
    /// for a reason the client can fix (for example a bad CSR). False if it was not processing.
    pub async fn abort_finalize(&self, order_id: &str) -> Result<bool, SaError> {
        let _gate = self.gate().await;
        Ok(set_order_status(
            &self.db,
            order_id,
            &[OrderStatus::Processing],
            OrderStatus::Ready,
            None,
        )
        .await?)
    }

    /// Fails an order that is not finished yet (`pending`, `ready` or `processing` ->
    /// `invalid`), storing the problem document JSON as its error (RFC 8555 §7.1.3).
    pub async fn fail_order(&self, order_id: &str, error: &str) -> Result<bool, SaError> {
        let _gate = self.gate().await;
        Ok(set_order_status(
            &self.db,
            order_id,
            &[
                OrderStatus::Pending,
                OrderStatus::Ready,
                OrderStatus::Processing,
            ],
            OrderStatus::Invalid,
            Some(error.to_string()),
        )
        .await?)
    }

    /// Expires an order that is still `pending` or `ready` (RFC 8555 §7.1.6: past `expires`
    /// it becomes `invalid`). False if it was in another state (for example a finalize claimed
    /// it first).
    pub async fn expire_order(&self, order_id: &str) -> Result<bool, SaError> {
        let _gate = self.gate().await;
        Ok(set_order_status(
            &self.db,
            order_id,
            &[OrderStatus::Pending, OrderStatus::Ready],
            OrderStatus::Invalid,
            None,
        )
        .await?)
    }

    /// Stores the issued certificate and moves its order `processing -> valid` (recording the
    /// serial) in one transaction, so no response can carry a certificate that is not stored.
    /// Fails and changes nothing if the order is missing (`NotFound`), is not processing, or
    /// belongs to another account than the certificate (`Conflict` on the order id).
    pub async fn complete_issuance(
        &self,
        order_id: &str,
        cert: &CertificateRecord,
    ) -> Result<(), SaError> {
        let gate = self.gate().await;
        if cert.order_id != order_id {
            return Err(inconsistent("certificate record names another order"));
        }
        let txn = self.begin_durable(gate).await?;
        let r = async {
            let res = order::Entity::update_many()
                .col_expr(
                    order::Column::Status,
                    Expr::value(OrderStatus::Valid.as_str()),
                )
                .col_expr(
                    order::Column::CertificateSerial,
                    Expr::value(cert.serial.clone()),
                )
                .filter(order::Column::Id.eq(order_id))
                .filter(order::Column::AccountId.eq(&cert.account_id))
                .filter(order::Column::Status.eq(OrderStatus::Processing.as_str()))
                .exec(&txn)
                .await?;
            if res.rows_affected != 1 {
                return Err(match order::Entity::find_by_id(order_id).one(&txn).await? {
                    None => SaError::NotFound("order"),
                    Some(_) => SaError::Conflict {
                        what: "order is not processing for this account",
                        id: order_id.to_string(),
                    },
                });
            }
            certificate::Entity::insert(certificate::ActiveModel::from(cert))
                .exec_without_returning(&txn)
                .await?;
            // Published (STI-CR, issuance-state API) in the same commit that stores it.
            status::record_change(&txn, &cert.serial, ChangeEvent::Issued, cert.created_at).await?;
            Ok(())
        }
        .await;
        finish(txn, r).await
    }

    /// The certificate with this serial (lowercase hex).
    pub async fn certificate(&self, serial: &str) -> Result<Option<CertificateRecord>, SaError> {
        let m = certificate::Entity::find_by_id(serial)
            .one(&self.db)
            .await?;
        self.told_durably().await?;
        Ok(m.map(CertificateRecord::from))
    }

    /// The certificate that finalized an order.
    pub async fn certificate_for_order(
        &self,
        order_id: &str,
    ) -> Result<Option<CertificateRecord>, SaError> {
        let m = certificate::Entity::find()
            .filter(certificate::Column::OrderId.eq(order_id))
            .one(&self.db)
            .await?;
        self.told_durably().await?;
        Ok(m.map(CertificateRecord::from))
    }
}

async fn bind_eab_in<C: ConnectionTrait>(
    db: &C,
    kid: &str,
    account_id: &str,
) -> Result<bool, DbErr> {
    let res = eab_key::Entity::update_many()
        .col_expr(eab_key::Column::AccountId, Expr::value(account_id))
        .filter(eab_key::Column::Kid.eq(kid))
        .filter(eab_key::Column::AccountId.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// `UPDATE orders SET status = to [, error = ..] WHERE id = .. AND status IN (from)`: the guarded
/// transition every order state change goes through. True if the row moved.
async fn set_order_status<C: ConnectionTrait>(
    db: &C,
    order_id: &str,
    from: &[OrderStatus],
    to: OrderStatus,
    error: Option<String>,
) -> Result<bool, DbErr> {
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to.as_str()))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.is_in(from.iter().map(|s| s.as_str())));
    if let Some(error) = error {
        update = update.col_expr(order::Column::Error, Expr::value(error));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}
