//! The CA signing key, behind a trait so that a key file today and a PKCS#11 token later plug in
//! the same way.
//!
//! rcgen signs through its `SigningKey` / `PublicKeyData` traits; [`RcgenKey`] adapts any
//! [`Signer`] to them. Only P-256 with ecdsa-with-SHA256 exists here: ATIS-1000080 §6.4.1 names
//! ecdsa-with-SHA256 for STI certificates, and CAs in the SHAKEN PKI sign with P-256 (US SHAKEN
//! CP v1.4 §6.1.5 would also allow P-384/SHA-384 for CAs; stica does not need it).

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

/// Errors from a signing key.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// the key file
        path: PathBuf,
        /// why
        source: std::io::Error,
    },
    /// The key file exists but holds no usable P-256 PKCS#8 private key.
    #[error("key file {path}: {reason}")]
    BadKey {
        /// the key file
        path: PathBuf,
        /// what is wrong with it
        reason: String,
    },
    /// The key could not be generated (the system RNG or the crypto library failed).
    #[error("key generation failed")]
    Generate,
    /// The signing operation itself failed (library error, token unreachable, ...).
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A CA signing key: a P-256 key that signs with ecdsa-with-SHA256.
///
/// Implementations must be usable from many request tasks at once (`Send + Sync`); a PKCS#11
/// implementation wraps its non-`Sync` session in a mutex or a pool (crates.md).
pub trait Signer: Send + Sync + fmt::Debug {
    /// The public key as an uncompressed SEC1 point (`04 || X || Y`, 65 bytes): the content of
    /// the subjectPublicKey BIT STRING (RFC 5480 §2.2).
    fn public_key(&self) -> &[u8];

    /// Signs `message` (SHA-256 is applied by the signer) and returns the DER ECDSA-Sig-Value
    /// `SEQUENCE { r INTEGER, s INTEGER }` that X.509 signatures carry (RFC 5480 §2.2, RFC 3279
    /// §2.2.3). A signer whose backend returns raw `r || s` (PKCS#11) converts it.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// A P-256 key kept in a PKCS#8 PEM file (mode 0600), signing with aws-lc-rs.
pub struct KeyFileSigner {
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for KeyFileSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFileSigner")
            .field("public_key", &hex::encode(self.public_key()))
            .finish_non_exhaustive()
    }
}

impl KeyFileSigner {
    /// A fresh key that lives in memory only (the lint key, tests).
    pub fn generate() -> Result<Self, SignerError> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
            .map_err(|_| SignerError::Generate)?;
        Ok(Self {
            key,
            rng: SystemRandom::new(),
        })
    }

    /// Loads a PKCS#8 (`PRIVATE KEY`) PEM or DER file holding a P-256 key.
    pub fn load(path: &Path) -> Result<Self, SignerError> {
        let bytes = std::fs::read(path).map_err(|source| SignerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |reason: String| SignerError::BadKey {
            path: path.to_path_buf(),
            reason,
        };
        let der = crate::x509::pem_blocks(&bytes, "PRIVATE KEY")
            .map_err(bad)?
            .into_iter()
            .next()
            .ok_or_else(|| bad("no PRIVATE KEY block".into()))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der)
            .map_err(|e| bad(format!("not a P-256 PKCS#8 key: {e}")))?;
        Ok(Self {
            key,
            rng: SystemRandom::new(),
        })
    }

    /// Parses a P-256 private key from PEM (or DER) text: PKCS#8 (`PRIVATE KEY`) or SEC1 / RFC 5915
    /// (`EC PRIVATE KEY`, what `openssl ecparam -genkey` writes). `stica ca import` accepts both
    /// and stores the key as PKCS#8, the one form [`KeyFileSigner::load`] reads.
    pub fn from_pem(bytes: &[u8]) -> Result<Self, String> {
        let key = if bytes.first() == Some(&0x30) {
            EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, bytes)
                .map_err(|e| format!("not a P-256 private key (PKCS#8 or SEC1 DER): {e}"))?
        } else if let Some(der) = crate::x509::pem_blocks(bytes, "PRIVATE KEY")?.first() {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
                .map_err(|e| format!("not a P-256 PKCS#8 key: {e}"))?
        } else if let Some(der) = crate::x509::pem_blocks(bytes, "EC PRIVATE KEY")?.first() {
            EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
                .map_err(|e| format!("not a P-256 SEC1 (EC PRIVATE KEY) key: {e}"))?
        } else {
            return Err("no PRIVATE KEY or EC PRIVATE KEY block".into());
        };
        Ok(Self {
            key,
            rng: SystemRandom::new(),
        })
    }

    /// The key as PKCS#8 v1 PEM (`-----BEGIN PRIVATE KEY-----`), the form openssl and rcgen read.
    pub fn to_pkcs8_pem(&self) -> Result<String, SignerError> {
        let doc = self.key.to_pkcs8v1().map_err(|_| SignerError::Generate)?;
        Ok(crate::x509::to_pem("PRIVATE KEY", doc.as_ref()))
    }

    /// Writes the key to `path` as PKCS#8 PEM. The file is created with mode 0600 (never
    /// widened and narrowed afterwards) and must not exist yet.
    pub fn save(&self, path: &Path) -> Result<(), SignerError> {
        let pem = self.to_pkcs8_pem()?;
        write_private(path, pem.as_bytes()).map_err(|source| SignerError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

impl Signer for KeyFileSigner {
    fn public_key(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        // ECDSA_P256_SHA256_ASN1_SIGNING already yields the DER ECDSA-Sig-Value.
        self.key
            .sign(&self.rng, message)
            .map(|sig| sig.as_ref().to_vec())
            .map_err(|_| SignerError::Sign("aws-lc-rs ECDSA signing failed".into()))
    }
}

/// Creates `path` with mode 0600 and writes `bytes`; fails if the file exists.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Adapts a [`Signer`] to rcgen's signing traits.
#[derive(Clone)]
pub(crate) struct RcgenKey(pub(crate) Arc<dyn Signer>);

impl rcgen::PublicKeyData for RcgenKey {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for RcgenKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0.sign(msg).map_err(|e| {
            tracing::error!(error = %e, "CA signer failed");
            rcgen::Error::RemoteKeyError
        })
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};

    use super::*;

    #[test]
    fn signature_is_der_and_verifies() {
        let s = KeyFileSigner::generate().unwrap();
        let sig = s.sign(b"hello").unwrap();
        assert_eq!(sig[0], 0x30, "DER SEQUENCE");
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, s.public_key())
            .verify(b"hello", &sig)
            .unwrap();
        assert_eq!(s.public_key().len(), 65);
    }

    #[test]
    fn save_creates_0600_and_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let s = KeyFileSigner::generate().unwrap();
        s.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = KeyFileSigner::load(&path).unwrap();
        assert_eq!(loaded.public_key(), s.public_key());
        // never overwrites
        assert!(s.save(&path).is_err());
        // openssl reads it
        let out = std::process::Command::new("openssl")
            .args(["pkey", "-noout", "-text", "-in"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("prime256v1"));
    }

    #[test]
    fn from_pem_reads_pkcs8_and_sec1_and_refuses_other_keys() {
        let s = KeyFileSigner::generate().unwrap();
        let pkcs8 = s.to_pkcs8_pem().unwrap();
        let a = KeyFileSigner::from_pem(pkcs8.as_bytes()).unwrap();
        assert_eq!(a.public_key(), s.public_key());
        // SEC1 as openssl writes it
        let dir = tempfile::tempdir().unwrap();
        let p8 = dir.path().join("k.pem");
        std::fs::write(&p8, &pkcs8).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["ec", "-in"])
            .arg(&p8)
            .output()
            .unwrap();
        let sec1 = String::from_utf8(out.stdout).unwrap();
        assert!(sec1.contains("BEGIN EC PRIVATE KEY"), "{sec1}");
        let b = KeyFileSigner::from_pem(sec1.as_bytes()).unwrap();
        assert_eq!(b.public_key(), s.public_key());
        // a P-384 key, a certificate, garbage: refused
        let out = std::process::Command::new("openssl")
            .args(["ecparam", "-name", "secp384r1", "-genkey", "-noout"])
            .output()
            .unwrap();
        assert!(KeyFileSigner::from_pem(&out.stdout).is_err());
        assert!(
            KeyFileSigner::from_pem(
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            )
            .is_err()
        );
        assert!(KeyFileSigner::from_pem(b"hello").is_err());
    }

    #[test]
    fn load_rejects_garbage_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.key");
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        assert!(matches!(
            KeyFileSigner::load(&path),
            Err(SignerError::BadKey { .. })
        ));
        assert!(matches!(
            KeyFileSigner::load(&dir.path().join("none")),
            Err(SignerError::Io { .. })
        ));
    }
}
