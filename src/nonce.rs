//! Anti-replay nonces (RFC 8555 §6.5) that any replica holding the same key can check.
//!
//! A nonce is `base64url(expiry || random || tag)`: 8 bytes of expiry (big-endian unix seconds),
//! 16 random bytes, and the first 16 bytes of HMAC-SHA256(key, expiry || random). The tag makes
//! nonces unforgeable without shared state, so a request can land on any replica; the expiry
//! bounds how long the replay record (`sa::Storage::consume_nonce`) must remember a used nonce:
//! [`NonceKey::check`] returns it so the record can be purged after it. Single use is the
//! storage layer's job; this module only answers "did we mint this, and is it still fresh?".
//!
//! 40 bytes encode to 54 base64url characters, within the RFC 8555 §6.5.1 alphabet.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::{hmac, rand};
use thiserror::Error;

use crate::error::{Error, ErrorKind};
use crate::jose::b64;

/// How long a nonce stays valid by default (seconds).
pub const DEFAULT_LIFETIME_SECS: i64 = 3600;

const EXPIRY_LEN: usize = 8;
const RANDOM_LEN: usize = 16;
const TAG_LEN: usize = 16;
const NONCE_LEN: usize = EXPIRY_LEN + RANDOM_LEN + TAG_LEN;
/// Length of the base64url text of a nonce (40 bytes, unpadded).
const NONCE_TEXT_LEN: usize = (NONCE_LEN * 4).div_ceil(3);
/// Length of the key file.
const KEY_LEN: usize = 32;

/// Why a nonce was refused. Every variant is a `badNonce` problem (RFC 8555 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NonceError {
    /// Not base64url, or not the length stica's nonces have.
    #[error("the nonce is malformed")]
    Malformed,
    /// The tag does not match: not minted with this server's key (or altered).
    #[error("the nonce was not issued by this server")]
    Forged,
    /// The nonce was minted by this server but its lifetime is over.
    #[error("the nonce has expired")]
    Expired,
}

impl NonceError {
    /// The reason's name in `/metrics` (`stica_nonce_rejections_total`).
    pub fn name(self) -> &'static str {
        match self {
            NonceError::Malformed => "malformed",
            NonceError::Forged => "forged",
            NonceError::Expired => "expired",
        }
    }
}

impl From<NonceError> for Error {
    fn from(e: NonceError) -> Self {
        Error::new(ErrorKind::BadNonce, e.to_string())
    }
}

/// The HMAC key shared by every replica that must accept each other's nonces.
pub struct NonceKey {
    key: hmac::Key,
    lifetime: i64,
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NonceKey(lifetime={}s)", self.lifetime)
    }
}

impl NonceKey {
    /// A key from 32 secret bytes (e.g. from configuration shared by replicas).
    pub fn from_bytes(key: &[u8; KEY_LEN]) -> Self {
        NonceKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            lifetime: DEFAULT_LIFETIME_SECS,
        }
    }

    /// A fresh random key (single-process use and tests).
    pub fn generate() -> io::Result<Self> {
        Ok(Self::from_bytes(&random_key()?))
    }

    /// Reads the 32-byte key file at `path`, creating it (random, mode 0600) when absent.
    ///
    /// Creation writes a temporary file and hard-links it into place, so two processes starting
    /// together on a shared data directory end up with the same key and nobody reads a half
    /// written file. A key file of the wrong size is an error, never silently replaced: that
    /// would invalidate every outstanding nonce of the other replicas.
    pub fn load_or_create(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        match read_key(path) {
            Ok(key) => return Ok(Self::from_bytes(&key)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let key = random_key()?;
        let mut suffix = [0u8; 8];
        rand::fill(&mut suffix).map_err(|_| io::Error::other("random generator failed"))?;
        let tmp = path.with_extension(format!("tmp-{}", hex::encode(suffix)));
        let created = write_private(&tmp, &key).and_then(|()| fs::hard_link(&tmp, path));
        let _ = fs::remove_file(&tmp);
        match created {
            Ok(()) => Ok(Self::from_bytes(&key)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Ok(Self::from_bytes(&read_key(path)?))
            }
            Err(e) => Err(e),
        }
    }

    /// The same key with another nonce lifetime (seconds, at least 1).
    pub fn with_lifetime(mut self, secs: i64) -> Self {
        self.lifetime = secs.max(1);
        self
    }

    /// The nonce lifetime in seconds.
    pub fn lifetime(&self) -> i64 {
        self.lifetime
    }

    /// Mints a nonce valid until `now + lifetime` (RFC 8555 §6.5: sent in `Replay-Nonce`).
    pub fn mint(&self, now: i64) -> String {
        let expires = now.saturating_add(self.lifetime);
        let mut nonce = [0u8; NONCE_LEN];
        let (expiry, rest) = nonce.split_at_mut(EXPIRY_LEN);
        let (random, tag) = rest.split_at_mut(RANDOM_LEN);
        expiry.copy_from_slice(&expires.to_be_bytes());
        if rand::fill(random).is_err() {
            // AWS-LC aborts rather than fail here; should it ever fail, uniqueness (all that
            // this field needs, the tag carries unforgeability) still holds with a counter.
            tracing::error!("random generator failed while minting a nonce; using a counter");
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let count = COUNTER.fetch_add(1, Ordering::Relaxed);
            random[..8].copy_from_slice(&count.to_be_bytes());
            random[8..].copy_from_slice(&std::process::id().to_be_bytes().repeat(2));
        }
        let full = self.tag(expiry, random);
        tag.copy_from_slice(&full.as_ref()[..TAG_LEN]);
        b64::encode_url(&nonce)
    }

    /// Checks that `nonce` was minted with this key and has not expired at `now`; returns its
    /// expiry (unix seconds) so the replay record can be dropped after it. Single use is checked
    /// separately by `sa::Storage::consume_nonce`.
    pub fn check(&self, nonce: &str, now: i64) -> Result<i64, NonceError> {
        if nonce.len() != NONCE_TEXT_LEN {
            return Err(NonceError::Malformed);
        }
        let bytes = b64::decode_url(nonce).map_err(|_| NonceError::Malformed)?;
        if bytes.len() != NONCE_LEN {
            return Err(NonceError::Malformed);
        }
        let (expiry, rest) = bytes.split_at(EXPIRY_LEN);
        let (random, tag) = rest.split_at(RANDOM_LEN);
        let expected = self.tag(expiry, random);
        verify_slices_are_equal(&expected.as_ref()[..TAG_LEN], tag)
            .map_err(|_| NonceError::Forged)?;
        let expires = i64::from_be_bytes(expiry.try_into().map_err(|_| NonceError::Malformed)?);
        if now >= expires {
            return Err(NonceError::Expired);
        }
        Ok(expires)
    }

    fn tag(&self, expiry: &[u8], random: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(expiry);
        ctx.update(random);
        ctx.sign()
    }
}

fn random_key() -> io::Result<[u8; KEY_LEN]> {
    let mut key = [0u8; KEY_LEN];
    rand::fill(&mut key).map_err(|_| io::Error::other("random generator failed"))?;
    Ok(key)
}

fn read_key(path: &Path) -> io::Result<[u8; KEY_LEN]> {
    let file = fs::File::open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"),
                "nonce key file is readable by group or others; it should be 0600");
        }
    }
    let mut bytes = Vec::with_capacity(KEY_LEN);
    file.take(KEY_LEN as u64 + 1).read_to_end(&mut bytes)?;
    bytes.as_slice().try_into().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "nonce key file {} must hold exactly {KEY_LEN} bytes",
                path.display()
            ),
        )
    })
}

fn write_private(path: &Path, key: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(key)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn mint_then_check() {
        let key = NonceKey::generate().unwrap();
        let nonce = key.mint(NOW);
        assert_eq!(nonce.len(), NONCE_TEXT_LEN);
        assert!(
            nonce
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(key.check(&nonce, NOW), Ok(NOW + DEFAULT_LIFETIME_SECS));
        assert_eq!(
            key.check(&nonce, NOW + DEFAULT_LIFETIME_SECS - 1),
            Ok(NOW + DEFAULT_LIFETIME_SECS)
        );
        assert_ne!(key.mint(NOW), nonce, "nonces are unique");
    }

    #[test]
    fn expired() {
        let key = NonceKey::generate().unwrap().with_lifetime(60);
        let nonce = key.mint(NOW);
        assert_eq!(key.check(&nonce, NOW + 59), Ok(NOW + 60));
        assert_eq!(key.check(&nonce, NOW + 60), Err(NonceError::Expired));
        assert_eq!(key.check(&nonce, NOW + 100_000), Err(NonceError::Expired));
    }

    #[test]
    fn forged_by_any_bit_flip() {
        let key = NonceKey::generate().unwrap();
        let nonce = key.mint(NOW);
        let bytes = b64::decode_url(&nonce).unwrap();
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            let text = b64::encode_url(&flipped);
            assert_eq!(key.check(&text, NOW), Err(NonceError::Forged), "byte {i}");
        }
        // Pushing the expiry forward without the key does not work either.
        let mut later = bytes.clone();
        later[..8].copy_from_slice(&(NOW + 10 * DEFAULT_LIFETIME_SECS).to_be_bytes());
        assert_eq!(
            key.check(&b64::encode_url(&later), NOW),
            Err(NonceError::Forged)
        );
    }

    #[test]
    fn other_key_is_forged() {
        let a = NonceKey::generate().unwrap();
        let b = NonceKey::generate().unwrap();
        assert_eq!(b.check(&a.mint(NOW), NOW), Err(NonceError::Forged));
        // Replicas sharing the key accept each other's nonces.
        let shared = [7u8; 32];
        let r1 = NonceKey::from_bytes(&shared);
        let r2 = NonceKey::from_bytes(&shared);
        assert!(r2.check(&r1.mint(NOW), NOW).is_ok());
    }

    #[test]
    fn malformed() {
        let key = NonceKey::generate().unwrap();
        let nonce = key.mint(NOW);
        let cases = [
            String::new(),
            "abc".to_string(),
            format!("{nonce}="),
            format!("{nonce}A"),
            nonce[..NONCE_TEXT_LEN - 1].to_string(),
            nonce.replacen(|c: char| c.is_ascii_alphanumeric(), "+", 1),
            nonce.replacen(|c: char| c.is_ascii_alphanumeric(), "=", 1),
            nonce.replacen(|c: char| c.is_ascii_alphanumeric(), " ", 1),
            b64::encode_url(&[0u8; NONCE_LEN + 3]),
            "é".repeat(NONCE_TEXT_LEN / 2),
        ];
        for case in cases {
            assert_eq!(
                key.check(&case, NOW),
                Err(NonceError::Malformed),
                "{case:?}"
            );
        }
    }

    #[test]
    fn errors_are_bad_nonce() {
        for e in [
            NonceError::Malformed,
            NonceError::Forged,
            NonceError::Expired,
        ] {
            let err: Error = e.into();
            assert_eq!(err.kind, ErrorKind::BadNonce);
        }
    }

    #[test]
    fn key_file_is_created_once_with_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nonce.key");
        let a = NonceKey::load_or_create(&path).unwrap();
        let b = NonceKey::load_or_create(&path).unwrap();
        assert!(b.check(&a.mint(NOW), NOW).is_ok());
        assert_eq!(fs::read(&path).unwrap().len(), KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary files left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn key_file_of_wrong_size_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nonce.key");
        fs::write(&path, [1u8; 31]).unwrap();
        let err = NonceKey::load_or_create(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        fs::write(&path, [1u8; 33]).unwrap();
        assert!(NonceKey::load_or_create(&path).is_err());
    }
}
