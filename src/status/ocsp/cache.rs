//! Pre-signed responses (RFC 5019 §2.2.4 / §6: responses produced ahead of time and served
//! to everyone who asks without a nonce).
//!
//! Keyed by issuer, CertID hash algorithm and serial: a response echoes the request's CertID,
//! and clients compare it field by field (hash algorithm included), so a SHA-1 response cannot
//! answer a SHA-256 request. Entries hold the final DER as [`Bytes`] (cloning is a reference
//! count, not a copy) and the HTTP validators computed once, so the serving path copies and
//! formats almost nothing. Only `good` and `revoked` answers are stored: their number is
//! bounded by the certificates stica issued, while `unknown` serials are chosen by clients.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::http::HeaderValue;

use super::OcspError;
use super::certid::HashAlg;
use super::response::CertStatus;

/// The longest serial a cache key holds: RFC 5280 §4.1.2.2 caps serials at 20 octets (the
/// magnitude of a 20-octet positive INTEGER is at most 20 octets).
pub const MAX_SERIAL_LEN: usize = 20;

/// Identifies a pre-signed response: issuer index, CertID hash algorithm, serial magnitude.
/// Fixed size, so looking one up allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey {
    issuer: u16,
    alg: HashAlg,
    len: u8,
    serial: [u8; MAX_SERIAL_LEN],
}

impl CacheKey {
    /// The key, `None` when the serial is empty or longer than [`MAX_SERIAL_LEN`] or the issuer
    /// index does not fit (such requests are answered without the cache).
    pub fn new(issuer: usize, alg: HashAlg, serial: &[u8]) -> Option<Self> {
        let issuer = u16::try_from(issuer).ok()?;
        if serial.is_empty() || serial.len() > MAX_SERIAL_LEN {
            return None;
        }
        let mut buf = [0u8; MAX_SERIAL_LEN];
        buf.get_mut(..serial.len())?.copy_from_slice(serial);
        Some(Self {
            issuer,
            alg,
            len: serial.len() as u8,
            serial: buf,
        })
    }

    /// The issuer index.
    pub fn issuer(&self) -> usize {
        usize::from(self.issuer)
    }

    /// The CertID hash algorithm.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// The serial magnitude.
    pub fn serial(&self) -> &[u8] {
        self.serial.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// A signed response with the metadata needed to serve and refresh it.
#[derive(Clone, Debug)]
pub struct Presigned {
    /// The OCSPResponse DER.
    pub der: Bytes,
    /// The certificate status it states.
    pub status: CertStatus,
    /// producedAt, unix seconds.
    pub produced_at: i64,
    /// thisUpdate, unix seconds.
    pub this_update: i64,
    /// nextUpdate, unix seconds.
    pub next_update: i64,
    /// Strong validator over the DER (RFC 9110 §8.8.3): the first 16 octets of its SHA-256.
    pub etag: HeaderValue,
    /// thisUpdate as an HTTP-date (RFC 5019 §6.2 suggests Last-Modified = thisUpdate).
    pub last_modified: HeaderValue,
    /// nextUpdate as an HTTP-date (RFC 5019 §6.2: Expires = nextUpdate).
    pub expires: HeaderValue,
}

impl Presigned {
    /// Wraps a signed response and computes its HTTP validators.
    pub fn new(
        der: Vec<u8>,
        status: CertStatus,
        produced_at: i64,
        this_update: i64,
        next_update: i64,
    ) -> Result<Self, OcspError> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
        let tag = hex::encode(digest.as_ref().get(..16).unwrap_or_default());
        let header = |s: String| {
            HeaderValue::try_from(s).map_err(|e| OcspError::Config(format!("header value: {e}")))
        };
        Ok(Self {
            etag: header(format!("\"{tag}\""))?,
            last_modified: header(super::http::http_date(this_update)?)?,
            expires: header(super::http::http_date(next_update)?)?,
            der: Bytes::from(der),
            status,
            produced_at,
            this_update,
            next_update,
        })
    }

    /// Whether it may still be served at `now` (before nextUpdate; RFC 5019 §4: a client
    /// rejects a response whose nextUpdate has passed).
    pub fn is_fresh(&self, now: i64) -> bool {
        now < self.next_update
    }

    /// When it should be replaced: half-way through its validity, so that a refresher that
    /// misses a run or two still replaces it before nextUpdate.
    pub fn refresh_at(&self) -> i64 {
        self.this_update + (self.next_update - self.this_update) / 2
    }

    /// Seconds until nextUpdate (0 when past), the `max-age` an HTTP cache may keep it
    /// (RFC 5019 §6.2).
    pub fn max_age(&self, now: i64) -> i64 {
        (self.next_update - now).max(0)
    }
}

/// The pre-signed responses, shared by all request tasks.
#[derive(Debug)]
pub struct PresignedCache {
    map: RwLock<HashMap<CacheKey, Arc<Presigned>>>,
    max_entries: usize,
}

impl PresignedCache {
    /// An empty cache that holds at most `max_entries` responses (new keys beyond it are not
    /// stored; their requests are signed on demand).
    pub fn new(max_entries: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            max_entries,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<CacheKey, Arc<Presigned>>> {
        // A panic while holding the lock leaves a consistent map (every write is one call).
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<CacheKey, Arc<Presigned>>> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The response for `key` if it is fresh at `now`.
    pub fn get(&self, key: &CacheKey, now: i64) -> Option<Arc<Presigned>> {
        self.read().get(key).filter(|p| p.is_fresh(now)).cloned()
    }

    /// The response for `key`, fresh or not.
    pub fn peek(&self, key: &CacheKey) -> Option<Arc<Presigned>> {
        self.read().get(key).cloned()
    }

    /// Stores (or replaces) a response. Returns false when the cache is full and `key` is new.
    pub fn insert(&self, key: CacheKey, response: Arc<Presigned>) -> bool {
        let mut map = self.write();
        if map.len() >= self.max_entries && !map.contains_key(&key) {
            return false;
        }
        map.insert(key, response);
        true
    }

    /// Removes one entry.
    pub fn remove(&self, key: &CacheKey) -> bool {
        self.write().remove(key).is_some()
    }

    /// Removes every entry of one serial (all hash algorithms): after a revocation.
    pub fn remove_serial(&self, issuer: usize, serial: &[u8]) -> usize {
        let mut removed = 0;
        let mut map = self.write();
        for alg in HashAlg::ALL {
            if let Some(key) = CacheKey::new(issuer, alg, serial)
                && map.remove(&key).is_some()
            {
                removed += 1;
            }
        }
        removed
    }

    /// Removes every entry of one issuer: after its responder certificate changed.
    pub fn remove_issuer(&self, issuer: usize) -> usize {
        let mut map = self.write();
        let before = map.len();
        map.retain(|k, _| k.issuer() != issuer);
        before - map.len()
    }

    /// The keys whose response is past half its validity (or expired) at `now`, oldest
    /// refresh time first: what a refresher should re-sign.
    pub fn refresh_due(&self, now: i64) -> Vec<CacheKey> {
        let mut due: Vec<(i64, CacheKey)> = self
            .read()
            .iter()
            .filter(|(_, p)| now >= p.refresh_at())
            .map(|(k, p)| (p.refresh_at(), *k))
            .collect();
        due.sort_unstable();
        due.into_iter().map(|(_, k)| k).collect()
    }

    /// Drops responses whose nextUpdate has passed. Returns how many.
    pub fn purge_expired(&self, now: i64) -> usize {
        let mut map = self.write();
        let before = map.len();
        map.retain(|_, p| p.is_fresh(now));
        before - map.len()
    }

    /// Number of stored responses.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presigned(this_update: i64, next_update: i64) -> Arc<Presigned> {
        Arc::new(
            Presigned::new(
                vec![0x30, 0x00],
                CertStatus::Good,
                this_update,
                this_update,
                next_update,
            )
            .unwrap(),
        )
    }

    #[test]
    fn keys() {
        let k = CacheKey::new(1, HashAlg::Sha256, &[1, 2, 3]).unwrap();
        assert_eq!(k.issuer(), 1);
        assert_eq!(k.alg(), HashAlg::Sha256);
        assert_eq!(k.serial(), &[1, 2, 3]);
        assert!(CacheKey::new(0, HashAlg::Sha1, &[]).is_none());
        assert!(CacheKey::new(0, HashAlg::Sha1, &[1; 21]).is_none());
        assert!(CacheKey::new(0, HashAlg::Sha1, &[1; 20]).is_some());
        assert!(CacheKey::new(70_000, HashAlg::Sha1, &[1]).is_none());
        assert_ne!(
            CacheKey::new(0, HashAlg::Sha1, &[1]),
            CacheKey::new(0, HashAlg::Sha256, &[1])
        );
    }

    #[test]
    fn freshness_refresh_and_capacity() {
        let cache = PresignedCache::new(2);
        let a = CacheKey::new(0, HashAlg::Sha1, &[1]).unwrap();
        let b = CacheKey::new(0, HashAlg::Sha256, &[1]).unwrap();
        let c = CacheKey::new(1, HashAlg::Sha1, &[2]).unwrap();
        assert!(cache.insert(a, presigned(1000, 2000)));
        assert!(cache.insert(b, presigned(1200, 2000)));
        assert!(!cache.insert(c, presigned(1000, 2000)), "full");
        assert!(
            cache.insert(a, presigned(1000, 3000)),
            "replacing is allowed when full"
        );
        assert!(cache.get(&a, 2999).is_some());
        assert!(cache.get(&b, 2000).is_none(), "not served at nextUpdate");
        assert!(cache.peek(&b).is_some());
        assert_eq!(cache.refresh_due(1599), Vec::<CacheKey>::new());
        assert_eq!(cache.refresh_due(1600), vec![b]);
        assert_eq!(cache.refresh_due(2000), vec![b, a]);
        assert_eq!(cache.purge_expired(2000), 1);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.remove_serial(0, &[1]), 1);
        assert!(cache.is_empty());
    }

    #[test]
    fn validators() {
        let p = presigned(1_735_689_600, 1_735_693_200);
        assert_eq!(p.last_modified, "Wed, 01 Jan 2025 00:00:00 GMT");
        assert_eq!(p.expires, "Wed, 01 Jan 2025 01:00:00 GMT");
        assert_eq!(p.etag.len(), 34);
        assert_eq!(p.max_age(1_735_689_600), 3600);
        assert_eq!(p.max_age(1_735_699_999), 0);
        assert_eq!(p.refresh_at(), 1_735_691_400);
    }

    #[test]
    fn remove_issuer() {
        let cache = PresignedCache::new(10);
        for (i, s) in [(0, 1u8), (0, 2), (1, 3)] {
            cache.insert(
                CacheKey::new(i, HashAlg::Sha1, &[s]).unwrap(),
                presigned(0, 10),
            );
        }
        assert_eq!(cache.remove_issuer(0), 2);
        assert_eq!(cache.len(), 1);
    }
}
