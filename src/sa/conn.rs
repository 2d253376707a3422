//! The two ways `sa` reaches its database, behind one sea-orm [`ConnectionTrait`]: sqlx pools
//! (PostgreSQL, in-memory SQLite, migrations) and inline rusqlite connections (SQLite files, see
//! [`super::inline`]). Every query is written once against `ConnectionTrait`; only beginning,
//! committing and closing differ.

use std::sync::Arc;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use super::inline::{InlineDb, InlineTxn};

/// A pool.
#[derive(Debug, Clone)]
pub enum Db {
    /// sqlx (PostgreSQL, in-memory SQLite)
    Sqlx(DatabaseConnection),
    /// rusqlite on the calling task (SQLite files)
    Inline(Arc<InlineDb>),
}

/// A write transaction; rolled back when dropped without [`Txn::commit`].
#[derive(Debug)]
pub enum Txn {
    /// sqlx
    Sqlx(DatabaseTransaction),
    /// rusqlite
    Inline(InlineTxn),
}

impl Db {
    /// `BEGIN IMMEDIATE` on SQLite (the write lock up front), a plain `BEGIN` on PostgreSQL.
    pub async fn begin_immediate(&self) -> Result<Txn, DbErr> {
        self.begin_holding(None).await
    }

    /// [`Self::begin_immediate`] for a caller holding the process's write queue (`gate`): the
    /// transaction holds it until it commits or rolls back, and an inline commit gives it back
    /// before it waits for the disk. The queue exists only for inline SQLite files; a sqlx
    /// transaction drops it at once.
    pub async fn begin_holding(
        &self,
        gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    ) -> Result<Txn, DbErr> {
        match self {
            Db::Sqlx(db) => Ok(Txn::Sqlx(
                db.begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await?,
            )),
            Db::Inline(db) => Ok(Txn::Inline(db.begin(gate).await?)),
        }
    }

    /// A trivial round trip (readiness).
    pub async fn ping(&self) -> Result<(), DbErr> {
        match self {
            Db::Sqlx(db) => db.ping().await,
            Db::Inline(db) => db.ping().await,
        }
    }

    /// Closes the pool.
    pub async fn close(&self) -> Result<(), DbErr> {
        match self {
            Db::Sqlx(db) => db.close_by_ref().await,
            Db::Inline(db) => {
                db.close();
                Ok(())
            }
        }
    }
}

impl Txn {
    /// Commits.
    pub async fn commit(self) -> Result<(), DbErr> {
        match self {
            Txn::Sqlx(t) => t.commit().await,
            Txn::Inline(t) => t.commit().await,
        }
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), DbErr> {
        match self {
            Txn::Sqlx(t) => t.rollback().await,
            Txn::Inline(t) => t.rollback().await,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Db::Sqlx(db) => db.get_database_backend(),
            Db::Inline(_) => DbBackend::Sqlite,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Db::Sqlx(db) => db.execute_raw(stmt).await,
            Db::Inline(db) => db.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Db::Sqlx(db) => db.execute_unprepared(sql).await,
            Db::Inline(db) => db.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Db::Sqlx(db) => db.query_one_raw(stmt).await,
            Db::Inline(db) => db.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Db::Sqlx(db) => db.query_all_raw(stmt).await,
            Db::Inline(db) => db.query_all_raw(stmt).await,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Txn {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Txn::Sqlx(t) => t.get_database_backend(),
            Txn::Inline(_) => DbBackend::Sqlite,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Txn::Sqlx(t) => t.execute_raw(stmt).await,
            Txn::Inline(t) => t.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Txn::Sqlx(t) => t.execute_unprepared(sql).await,
            Txn::Inline(t) => t.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Txn::Sqlx(t) => t.query_one_raw(stmt).await,
            Txn::Inline(t) => t.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Txn::Sqlx(t) => t.query_all_raw(stmt).await,
            Txn::Inline(t) => t.query_all_raw(stmt).await,
        }
    }
}
