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
        _ => {
            let path = std::env::temp_dir()
                .join(format!("stica-test-{}.db", uuid::Uuid::new_v4().simple()));
            Ok(format!("sqlite://{}?mode=rwc", path.display()))
        }
    }
}

async fn admin_connection(url: &str) -> Result<sea_orm::DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(1).sqlx_logging(false);
    Database::connect(opts).await
}

async fn fresh_postgres(base: &str) -> Result<String, SaError> {
    let name = format!("{TEST_DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let mut url = url::Url::parse(base)
        .map_err(|e| SaError::Db(DbErr::Custom(format!("bad {TEST_DATABASE_ENV}: {e}"))))?;
    let admin = admin_connection(base).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
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
    let safe = name
        .strip_prefix(TEST_DATABASE_PREFIX)
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()));
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
