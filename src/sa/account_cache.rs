//! A short-lived cache of account records by id, for the `kid` lookup every signed request makes
//! (RFC 8555 §6.2): one `SELECT` per POST was the most frequent statement of an issuance.
//!
//! Coherence: every change stica makes to an account goes through [`super::Storage`], which
//! drops the entry in the same call, so on one replica a deactivation or a key change is seen by
//! the very next request. Another replica (or the `stica` CLI writing to the same database) may
//! keep serving its copy for at most [`ACCOUNT_CACHE_TTL`]; that bound is written in
//! docs/operations.md. Entries are never extended by use, so the bound holds under load.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::model::Account;

/// How long another replica's change to an account can go unseen here.
pub const ACCOUNT_CACHE_TTL: Duration = Duration::from_secs(1);
/// Entries kept at most; past it the cache starts over (a burst of new accounts must not grow
/// memory without bound).
const MAX_ENTRIES: usize = 10_000;

/// The cache (cheap to share behind an `Arc`).
#[derive(Debug, Default)]
pub struct AccountCache {
    entries: Mutex<HashMap<String, (Instant, Account)>>,
    /// Bumped by every [`AccountCache::forget`]: a read that began before a change of this
    /// replica's is not cached (it may hold the old row).
    epoch: AtomicU64,
}

impl AccountCache {
    /// The cached account `id` if it was read less than the TTL ago.
    pub fn get(&self, id: &str) -> Option<Account> {
        self.get_at(id, Instant::now())
    }

    fn get_at(&self, id: &str, now: Instant) -> Option<Account> {
        let entries = self.entries.lock().ok()?;
        let (at, account) = entries.get(id)?;
        (now.saturating_duration_since(*at) < ACCOUNT_CACHE_TTL).then(|| account.clone())
    }

    /// The current epoch: take it, with the time, before reading an account to cache.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Remembers `account` as read at `read_at` (taken before the read began, so a change
    /// committed during the read is not covered by a longer lifetime than the TTL), unless this
    /// replica forgot an account since `epoch` was taken.
    pub fn put(&self, account: &Account, read_at: Instant, epoch: u64) {
        if let Ok(mut entries) = self.entries.lock() {
            if self.epoch.load(Ordering::SeqCst) != epoch {
                return;
            }
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(account.id.clone(), (read_at, account.clone()));
        }
    }

    /// Forgets account `id`: called before and after this replica changes it.
    pub fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            self.epoch.fetch_add(1, Ordering::SeqCst);
            entries.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acme::AccountStatus;

    fn account(id: &str) -> Account {
        Account {
            id: id.into(),
            jwk: "{}".into(),
            thumbprint: format!("t-{id}"),
            status: AccountStatus::Valid,
            contact: vec![],
            eab_kid: None,
            created_at: 0,
        }
    }

    #[test]
    fn entries_live_for_the_ttl_only_and_can_be_forgotten() {
        let c = AccountCache::default();
        let t0 = Instant::now();
        assert!(c.get_at("a", t0).is_none());
        c.put(&account("a"), t0, c.epoch());
        assert_eq!(c.get_at("a", t0).map(|a| a.id), Some("a".into()));
        let almost = t0 + ACCOUNT_CACHE_TTL - Duration::from_millis(1);
        assert!(c.get_at("a", almost).is_some());
        assert!(c.get_at("a", t0 + ACCOUNT_CACHE_TTL).is_none());
        c.forget("a");
        assert!(c.get_at("a", t0).is_none());
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_cached() {
        let c = AccountCache::default();
        let t0 = Instant::now();
        let before = c.epoch();
        c.forget("a"); // this replica changed account "a" while the read was in flight
        c.put(&account("a"), t0, before);
        assert!(c.get_at("a", t0).is_none());
        c.put(&account("a"), t0, c.epoch());
        assert!(c.get_at("a", t0).is_some());
    }

    #[test]
    fn the_cache_is_bounded() {
        let c = AccountCache::default();
        let t0 = Instant::now();
        for i in 0..=MAX_ENTRIES {
            c.put(&account(&i.to_string()), t0, c.epoch());
        }
        let n = c.entries.lock().unwrap().len();
        assert!(n <= MAX_ENTRIES, "{n}");
        assert!(c.get_at(&MAX_ENTRIES.to_string(), t0).is_some());
    }
}
