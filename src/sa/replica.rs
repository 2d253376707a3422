//! What replicas of one CA share besides its data directory: the lease that picks the replica
//! running periodic jobs, the identity of the CA hierarchy the database belongs to, and the
//! health facts `/readyz` and `/metrics` read.
//!
//! The lease is a row, not a PostgreSQL advisory lock, so that it works the same on SQLite and
//! needs no connection held for its lifetime. Taking it is one conditional statement, so of two
//! replicas racing exactly one wins: an `INSERT .. ON CONFLICT DO NOTHING` when nobody ever held
//! it, else `UPDATE .. WHERE holder = me OR expires_at <= now`.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, DbBackend, EntityTrait, QueryFilter};

use super::conn::Db;
use super::entity::{ca_identity, certificate, lease};
use super::{SaError, Storage, is_unique_violation};

/// The key of the single `ca_identity` row.
const IDENTITY_ROW: &str = "ca";

/// A lease as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it.
    pub holder: String,
    /// Until when (unix seconds).
    pub expires_at: i64,
}

/// The CA hierarchy a database belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaIdentity {
    /// SHA-256 of the root certificate (DER), lowercase hex: what decides "same CA".
    pub root_sha256: String,
    /// SHA-256 of the issuing certificate when the database was bound, lowercase hex.
    pub issuer_sha256: String,
    /// When it was bound (unix seconds).
    pub bound_at: i64,
}

/// How busy the connection pool is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections checked out.
    pub in_use: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
    /// The pool's limit.
    pub max: u32,
}

impl Storage {
    /// Takes or renews the lease `name` for `holder` until `now + ttl_secs`. True when `holder`
    /// holds it afterwards: it was free, expired (`expires_at <= now`), or already `holder`'s.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<bool, SaError> {
        let _gate = self.gate().await;
        let until = now.saturating_add(ttl_secs);
        let inserted = lease::Entity::insert(lease::ActiveModel {
            name: Set(name.to_string()),
            holder: Set(holder.to_string()),
            expires_at: Set(until),
        })
        .on_conflict(
            OnConflict::column(lease::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await;
        match inserted {
            Ok(1) => return Ok(true),
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
        let res = lease::Entity::update_many()
            .col_expr(lease::Column::Holder, Expr::value(holder))
            .col_expr(lease::Column::ExpiresAt, Expr::value(until))
            .filter(lease::Column::Name.eq(name))
            .filter(
                Condition::any()
                    .add(lease::Column::Holder.eq(holder))
                    .add(lease::Column::ExpiresAt.lte(now)),
            )
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Gives the lease up if `holder` has it (on shutdown, so another replica takes over at
    /// once). True if it was `holder`'s.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<bool, SaError> {
        let _gate = self.gate().await;
        let res = lease::Entity::delete_many()
            .filter(lease::Column::Name.eq(name))
            .filter(lease::Column::Holder.eq(holder))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// The lease `name` as stored (whether or not it has expired).
    pub async fn lease(&self, name: &str) -> Result<Option<Lease>, SaError> {
        let m = lease::Entity::find_by_id(name).one(&self.db).await?;
        Ok(m.map(|m| Lease {
            holder: m.holder,
            expires_at: m.expires_at,
        }))
    }

    /// The CA hierarchy this database belongs to; `None` for a database no CA has bound yet.
    pub async fn ca_identity(&self) -> Result<Option<CaIdentity>, SaError> {
        let m = ca_identity::Entity::find_by_id(IDENTITY_ROW)
            .one(&self.db)
            .await?;
        Ok(m.map(|m| CaIdentity {
            root_sha256: m.root_sha256,
            issuer_sha256: m.issuer_sha256,
            bound_at: m.bound_at,
        }))
    }

    /// Binds the database to `identity` unless it is bound already (`replace` overwrites an
    /// existing binding: the operator's escape hatch). Returns the identity stored afterwards,
    /// which differs from `identity` when another replica bound the database first.
    pub async fn bind_ca_identity(
        &self,
        identity: &CaIdentity,
        replace: bool,
    ) -> Result<CaIdentity, SaError> {
        let _gate = self.gate().await;
        let row = ca_identity::ActiveModel {
            name: Set(IDENTITY_ROW.to_string()),
            root_sha256: Set(identity.root_sha256.clone()),
            issuer_sha256: Set(identity.issuer_sha256.clone()),
            bound_at: Set(identity.bound_at),
        };
        let mut conflict = OnConflict::column(ca_identity::Column::Name);
        if replace {
            conflict.update_columns([
                ca_identity::Column::RootSha256,
                ca_identity::Column::IssuerSha256,
                ca_identity::Column::BoundAt,
            ]);
        } else {
            conflict.do_nothing();
        }
        let res = ca_identity::Entity::insert(row)
            .on_conflict(conflict.to_owned())
            .exec_without_returning(&self.durable)
            .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
        self.ca_identity()
            .await?
            .ok_or_else(|| super::inconsistent("ca_identity row missing after insert"))
    }

    /// Whether any certificate is stored: a database with certificates but no identity was used by
    /// a stica from before `ca_identity` existed, so it belongs to some CA already.
    pub async fn has_certificates(&self) -> Result<bool, SaError> {
        Ok(certificate::Entity::find().one(&self.db).await?.is_some())
    }

    /// Whether the database answers a trivial query on both pools (`/readyz`).
    pub async fn ping(&self) -> Result<(), SaError> {
        self.db.ping().await?;
        self.durable.ping().await?;
        Ok(())
    }

    /// The connection pool's use, for `/metrics`.
    pub fn pool_stats(&self) -> PoolStats {
        fn stats<DB: sea_orm::sqlx::Database>(p: &sea_orm::sqlx::Pool<DB>) -> PoolStats {
            let idle = u32::try_from(p.num_idle()).unwrap_or(u32::MAX);
            PoolStats {
                in_use: p.size().saturating_sub(idle),
                idle,
                max: p.options().get_max_connections(),
            }
        }
        match &self.db {
            Db::Inline(db) => {
                let (in_use, idle) = db.stats();
                PoolStats {
                    in_use,
                    idle,
                    max: db.size(),
                }
            }
            Db::Sqlx(db) => match db.get_database_backend() {
                DbBackend::Postgres => stats(db.get_postgres_connection_pool()),
                DbBackend::Sqlite => stats(db.get_sqlite_connection_pool()),
                _ => PoolStats {
                    in_use: 0,
                    idle: 0,
                    max: 0,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sa::testing::{drop_database, fresh_database_url};

    async fn storage() -> (Storage, String) {
        let url = fresh_database_url().await.unwrap();
        (Storage::connect(&url).await.unwrap(), url)
    }

    async fn done(sa: Storage, url: String) {
        sa.close().await.unwrap();
        drop_database(&url).await.unwrap();
    }

    #[tokio::test]
    async fn a_lease_is_held_by_one_replica_renewed_by_it_and_taken_after_expiry() {
        let (sa, url) = storage().await;
        assert_eq!(sa.lease("jobs").await.unwrap(), None);
        // a takes the free lease; b cannot while it runs
        assert!(sa.acquire_lease("jobs", "a", 1000, 30).await.unwrap());
        assert!(!sa.acquire_lease("jobs", "b", 1001, 30).await.unwrap());
        assert!(!sa.acquire_lease("jobs", "b", 1029, 30).await.unwrap());
        // a renews before expiry: the deadline moves, b still loses
        assert!(sa.acquire_lease("jobs", "a", 1020, 30).await.unwrap());
        assert_eq!(
            sa.lease("jobs").await.unwrap(),
            Some(Lease {
                holder: "a".into(),
                expires_at: 1050
            })
        );
        assert!(!sa.acquire_lease("jobs", "b", 1049, 30).await.unwrap());
        // a stops renewing (died): b takes it at expiry, and a cannot take it back
        assert!(sa.acquire_lease("jobs", "b", 1050, 30).await.unwrap());
        assert_eq!(sa.lease("jobs").await.unwrap().unwrap().holder, "b");
        assert!(!sa.acquire_lease("jobs", "a", 1051, 30).await.unwrap());
        // other leases are independent
        assert!(sa.acquire_lease("other", "a", 1051, 30).await.unwrap());
        // release: only the holder's counts, then anyone takes it at once
        assert!(!sa.release_lease("jobs", "a").await.unwrap());
        assert!(sa.release_lease("jobs", "b").await.unwrap());
        assert!(sa.acquire_lease("jobs", "a", 1052, 30).await.unwrap());
        done(sa, url).await;
    }

    #[tokio::test]
    async fn racing_replicas_take_a_free_lease_once() {
        let (sa, url) = storage().await;
        let tries = (0..8).map(|i| {
            let sa = sa.clone();
            tokio::spawn(async move {
                sa.acquire_lease("race", &format!("r{i}"), 5000, 30)
                    .await
                    .unwrap()
            })
        });
        let mut winners = 0;
        for t in tries {
            winners += usize::from(t.await.unwrap());
        }
        assert_eq!(winners, 1);
        done(sa, url).await;
    }

    #[tokio::test]
    async fn the_first_ca_to_bind_a_database_keeps_it_unless_replaced() {
        let (sa, url) = storage().await;
        assert_eq!(sa.ca_identity().await.unwrap(), None);
        assert!(!sa.has_certificates().await.unwrap());
        let a = CaIdentity {
            root_sha256: "aa".into(),
            issuer_sha256: "a1".into(),
            bound_at: 10,
        };
        let b = CaIdentity {
            root_sha256: "bb".into(),
            issuer_sha256: "b1".into(),
            bound_at: 20,
        };
        assert_eq!(sa.bind_ca_identity(&a, false).await.unwrap(), a);
        // a second CA does not overwrite the binding: it is told who holds it
        assert_eq!(sa.bind_ca_identity(&b, false).await.unwrap(), a);
        assert_eq!(sa.ca_identity().await.unwrap(), Some(a));
        // the escape hatch replaces it
        assert_eq!(sa.bind_ca_identity(&b, true).await.unwrap(), b);
        sa.ping().await.unwrap();
        let stats = sa.pool_stats();
        assert!(stats.max >= 1 && stats.in_use <= stats.max, "{stats:?}");
        done(sa, url).await;
    }

    #[tokio::test]
    async fn a_closed_database_does_not_answer_ping() {
        let (sa, url) = storage().await;
        sa.close().await.unwrap();
        assert!(sa.ping().await.is_err());
        drop_database(&url).await.unwrap();
    }
}
