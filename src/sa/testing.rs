//! Databases for tests: a fresh SQLite file by default, or a fresh PostgreSQL database on the
//! server named by `STICA_TEST_DATABASE_URL`, so parallel test runs never share state.
//!
//! A normal module (not `cfg(test)`): the end-to-end crate uses it too.

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbErr};

use super::SaError;

/// The environment variable naming a PostgreSQL server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const TEST_DATABASE_ENV: &str = "STICA_TEST_DATABASE_URL";

/// Prefix of the databases [`fresh_database_url`] creates on PostgreSQL.
pub const TEST_DATABASE_PREFIX: &str = "stica_t_";

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A URL for a database nobody else uses.
///
/// Without `STICA_TEST_DATABASE_URL` (or when it is not a PostgreSQL URL): a new SQLite file in the
/// temporary directory (`sqlite:///tmp/stica-test-<random>.db?mode=rwc`). With it: creates
/// `stica_t_<random>` on that server and returns the same URL pointing at the new database.
pub async fn fresh_database_url() -> Result<String, SaError> {
    match std::env::var(TEST_DATABASE_ENV) {
        Ok(base) if is_postgres(&base) => fresh_postgres(&base).await,
        _ => Ok(fresh_sqlite_url()),
    }
}

/// A new SQLite file's URL, whatever `STICA_TEST_DATABASE_URL` says (for tests of what only a
/// SQLite file does); [`drop_database`] removes it.
pub fn fresh_sqlite_url() -> String {
    let path =
        std::env::temp_dir().join(format!("stica-test-{}.db", uuid::Uuid::new_v4().simple()));
    format!("sqlite://{}?mode=rwc", path.display())
}

async fn admin_connection(url: &str) -> Result<sea_orm::DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(1).sqlx_logging(false);
    Database::connect(opts).await
}

/// Test databases older than this are dropped by the next [`fresh_database_url`]: tests that
/// restart a server on one data directory keep its database past the server, and nothing else
/// would ever drop it.
const STALE_TEST_DATABASE_SECS: i64 = 6 * 3600;

async fn fresh_postgres(base: &str) -> Result<String, SaError> {
    let now = crate::acme::now();
    // `stica_t_<unix seconds>_<random>`: the time lets a later run tell leftovers from live ones.
    let name = format!(
        "{TEST_DATABASE_PREFIX}{now}_{}",
        uuid::Uuid::new_v4().simple()
    );
    let mut url = url::Url::parse(base)
        .map_err(|e| SaError::Db(DbErr::Custom(format!("bad {TEST_DATABASE_ENV}: {e}"))))?;
    let admin = admin_connection(base).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    drop_stale(&admin, now).await;
    admin.close().await?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Removes a database made by [`fresh_database_url`]: deletes the SQLite file (and its WAL
/// files), or drops the PostgreSQL database. Close every [`super::Storage`] on it first.
/// Anything else is left alone.
pub async fn drop_database(url: &str) -> Result<(), SaError> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let path = rest.split('?').next().unwrap_or_default();
        let name_ok = std::path::Path::new(path)
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("stica-test-"));
        if name_ok {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
        return Ok(());
    }
    if !is_postgres(url) {
        return Ok(());
    }
    let mut parsed = url::Url::parse(url)
        .map_err(|e| SaError::Db(DbErr::Custom(format!("bad database URL: {e}"))))?;
    let name = parsed.path().trim_start_matches('/').to_string();
    let safe = name.strip_prefix(TEST_DATABASE_PREFIX).is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if !safe {
        return Ok(());
    }
    // Connect to the maintenance database of the same server to drop this one.
    let base = std::env::var(TEST_DATABASE_ENV)
        .ok()
        .filter(|b| is_postgres(b))
        .unwrap_or_else(|| {
            parsed.set_path("/postgres");
            parsed.to_string()
        });
    let admin = admin_connection(&base).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    admin.close().await?;
    Ok(())
}

/// Best effort: drops test databases made more than [`STALE_TEST_DATABASE_SECS`] ago (or named
/// before the name carried a time). A database still in use refuses to be dropped; that is fine.
async fn drop_stale(admin: &sea_orm::DatabaseConnection, now: i64) {
    let Ok(rows) = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT datname FROM pg_database WHERE datname LIKE '{TEST_DATABASE_PREFIX}%'"),
        ))
        .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        if !stale_test_database(&name, now) {
            continue;
        }
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await;
    }
}

/// Whether `name` is a test database made before `now - STALE_TEST_DATABASE_SECS` (or an old
/// `stica_t_<hex>` name without a time). Only `[a-z0-9_]` names qualify, so the name is safe to
/// put in SQL.
fn stale_test_database(name: &str, now: i64) -> bool {
    let Some(rest) = name.strip_prefix(TEST_DATABASE_PREFIX) else {
        return false;
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    match rest.split_once('_') {
        Some((ts, _)) => ts
            .parse::<i64>()
            .is_ok_and(|t| t < now - STALE_TEST_DATABASE_SECS),
        None => rest.len() == 32,
    }
}

#[cfg(test)]
mod stale_tests {
    use super::*;

    #[test]
    fn only_old_test_databases_are_stale() {
        let now = 1_800_000_000;
        assert!(stale_test_database(
            &format!("stica_t_{}_{}", now - 7 * 3600, "ab12"),
            now
        ));
        assert!(!stale_test_database(
            &format!("stica_t_{}_{}", now - 60, "ab12"),
            now
        ));
        assert!(stale_test_database(
            "stica_t_0123456789abcdef0123456789abcdef",
            now
        ));
        assert!(!stale_test_database("stica_t_short", now));
        assert!(!stale_test_database("test", now));
        assert!(!stale_test_database("stica_t_1; DROP", now));
        assert!(!stale_test_database("stica_t_1_X", now));
    }
}
