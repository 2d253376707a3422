//! Periodic jobs that write shared state (CRL regeneration, purging expired nonces, token records
//! and such) run on one replica at a time: the holder of the `jobs` lease in the database
//! (`sa::Storage::acquire_lease`). When the holder dies its lease expires and another replica's
//! next renewal takes it, so the jobs resume within [`LEASE_TTL_SECS`] + [`RENEW_EVERY`].
//!
//! The lease is about doing the work once, not about correctness: every job is a guarded write
//! that stays right if two replicas ran it together (CRL numbers come from a locked counter,
//! purges are conditional deletes). A replica therefore stops believing it leads
//! [`RENEW_EVERY`] before its lease can expire, which absorbs that much clock skew between
//! replicas. Per-replica caches (the OCSP responder's pre-signed responses, its responder
//! certificate) are not jobs in this sense and refresh on every replica.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use crate::sa::Storage;

/// The lease the periodic jobs run under.
pub const JOBS_LEASE: &str = "jobs";
/// How long a taken or renewed lease lasts, in seconds.
pub const LEASE_TTL_SECS: i64 = 30;
/// How often the holder renews (and the others try to take) the lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);

/// This replica's standing for one lease. Cheap to clone.
#[derive(Clone)]
pub struct Leadership {
    inner: Arc<Inner>,
}

struct Inner {
    sa: Storage,
    name: String,
    holder: String,
    /// Unix seconds until which this replica may act as the holder (0: not the holder).
    leads_until: AtomicI64,
    /// Set by [`Leadership::release`]: a renewal racing with shutdown must not take the lease back.
    released: AtomicBool,
}

impl Leadership {
    /// A standing for lease `name` under a fresh holder id (host, process, random part), so two
    /// processes never share one even on the same host.
    pub fn new(sa: Storage, name: &str) -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".into());
        let random: String = crate::sa::new_id().chars().take(8).collect();
        let holder = format!("{host}/{}/{random}", std::process::id());
        Self::with_holder(sa, name, &holder)
    }

    /// A standing with a chosen holder id (tests).
    pub fn with_holder(sa: Storage, name: &str, holder: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                sa,
                name: name.to_string(),
                holder: holder.to_string(),
                leads_until: AtomicI64::new(0),
                released: AtomicBool::new(false),
            }),
        }
    }

    /// This replica's holder id.
    pub fn holder(&self) -> &str {
        &self.inner.holder
    }

    /// Takes or renews the lease at `now`; true while this replica leads. A database error
    /// keeps the standing already earned, which lapses on its own.
    pub async fn renew(&self, now: i64) -> bool {
        let i = &self.inner;
        if i.released.load(Ordering::SeqCst) {
            return false;
        }
        match i
            .sa
            .acquire_lease(&i.name, &i.holder, now, LEASE_TTL_SECS)
            .await
        {
            Ok(true) => {
                let margin = i64::try_from(RENEW_EVERY.as_secs()).unwrap_or(LEASE_TTL_SECS);
                let was = i
                    .leads_until
                    .swap(now + LEASE_TTL_SECS - margin, Ordering::SeqCst);
                if was <= now {
                    tracing::info!(lease = %i.name, holder = %i.holder, "this replica now runs the periodic jobs");
                }
            }
            Ok(false) => {
                if i.leads_until.swap(0, Ordering::SeqCst) > now {
                    tracing::warn!(lease = %i.name, holder = %i.holder, "another replica took the periodic jobs");
                }
            }
            Err(e) => tracing::warn!(lease = %i.name, error = %e, "renewing the jobs lease failed"),
        }
        let leads = self.leads(now);
        crate::metrics::lease_held(&i.name, leads);
        leads
    }

    /// Whether this replica may run the jobs at `now`.
    pub fn leads(&self, now: i64) -> bool {
        now < self.inner.leads_until.load(Ordering::SeqCst)
    }

    /// Renews every [`RENEW_EVERY`] until the process ends.
    pub fn spawn_renewal(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RENEW_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                me.renew(crate::acme::now()).await;
            }
        });
    }

    /// Gives the lease up (graceful shutdown), so another replica takes it at its next renewal.
    pub async fn release(&self) {
        let i = &self.inner;
        i.released.store(true, Ordering::SeqCst);
        i.leads_until.store(0, Ordering::SeqCst);
        crate::metrics::lease_held(&i.name, false);
        match i.sa.release_lease(&i.name, &i.holder).await {
            Ok(true) => tracing::info!(lease = %i.name, "jobs lease released"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(lease = %i.name, error = %e, "releasing the jobs lease failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sa::testing::{drop_database, fresh_database_url};

    #[tokio::test]
    async fn one_replica_leads_and_another_takes_over_when_it_stops_renewing() {
        let url = fresh_database_url().await.unwrap();
        let sa = Storage::connect(&url).await.unwrap();
        let a = Leadership::with_holder(sa.clone(), JOBS_LEASE, "a");
        let b = Leadership::with_holder(sa.clone(), JOBS_LEASE, "b");
        let t = 1_000_000;
        assert!(a.renew(t).await);
        assert!(!b.renew(t + 1).await);
        assert!(a.leads(t + 1) && !b.leads(t + 1));
        // a's own standing lapses before its lease can expire (the skew margin)
        let margin = i64::try_from(RENEW_EVERY.as_secs()).unwrap();
        assert!(!a.leads(t + LEASE_TTL_SECS - margin));
        // a died: b cannot take the lease before expiry, then does
        assert!(!b.renew(t + LEASE_TTL_SECS - 1).await);
        assert!(b.renew(t + LEASE_TTL_SECS).await);
        assert!(!a.renew(t + LEASE_TTL_SECS + 1).await);
        assert!(!a.leads(t + LEASE_TTL_SECS + 1));
        // b shuts down gracefully: a takes over at once
        b.release().await;
        assert!(!b.leads(t + LEASE_TTL_SECS + 2));
        // and stays out: a renewal racing with its shutdown does not take the lease back
        assert!(!b.renew(t + LEASE_TTL_SECS + 2).await);
        assert!(a.renew(t + LEASE_TTL_SECS + 2).await);
        sa.close().await.unwrap();
        drop_database(&url).await.unwrap();
    }
}
