//! JSON Web Signatures for ACME (RFC 7515, RFC 8555 §6.2) and for Authority Tokens (RFC 9447).
//!
//! stica does its own JWS over aws-lc-rs instead of a general JOSE library: every request costs a
//! signature verification, and RFC 8555 §6.2 narrows JWS in ways general libraries do not enforce
//! (flattened serialization only, no unprotected header, no unencoded payload, only asymmetric
//! algorithms for account keys). The pieces:
//!
//! - [`b64`]: strict base64url (RFC 8555 §6.1) and the lenient forms the SHAKEN ecosystem sends.
//! - [`PublicJwk`]: the account key types stica accepts, RFC 7638 thumbprints, SPKI encodings.
//! - [`FlattenedJws`]: the body of every ACME POST (and the inner JWS of keyChange and EAB).
//! - [`CompactJws`]: Authority Tokens (RFC 9447 §3.1, RFC 9448 §5).
//! - [`EcSigner`] and the `sign_*` functions: the client, the development token authority, tests.
//! - [`fingerprint_text`] / [`parse_fingerprint`]: the `atc.fingerprint` form (standards.md §2.5).

pub mod b64;
mod compact;
mod flattened;
mod jwk;
mod sign;

use thiserror::Error;

use crate::error::{Error, ErrorKind};

pub use compact::CompactJws;
pub use flattened::{FlattenedJws, ProtectedHeader};
pub use jwk::{EcP256Key, Ed25519Key, PublicJwk, RsaKey};
pub use sign::{EcSigner, sign_compact, sign_flattened, sign_hmac_flattened};

/// The JWS algorithms stica accepts for account keys (RFC 8555 §6.2: ES256 MUST, EdDSA SHOULD;
/// RS256 because many ACME clients default to RSA keys). MAC algorithms are never accepted here:
/// they are only for the EAB inner JWS ([`FlattenedJws::verify_hmac`]).
pub const ACCEPTED_ALGS: &[&str] = &["ES256", "RS256", "EdDSA"];

/// The MAC algorithms accepted for an External Account Binding (RFC 8555 §7.3.4).
pub const HMAC_ALGS: &[&str] = &["HS256", "HS384", "HS512"];

/// Checks that `alg` may sign an account JWS at all, before any key is looked up
/// (RFC 8555 §6.2: `none` and MAC algorithms are refused with `badSignatureAlgorithm`).
pub fn check_account_alg(alg: &str) -> Result<(), JoseError> {
    if ACCEPTED_ALGS.contains(&alg) {
        Ok(())
    } else {
        Err(JoseError::UnsupportedAlgorithm(alg.to_string()))
    }
}

/// Everything that can be wrong with a JWS, a JWK or a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JoseError {
    /// The body or a decoded member is not JSON (a compact JWS sent as a body lands here too).
    #[error("{0} is not valid JSON")]
    NotJson(&'static str),
    /// The body or a decoded member is JSON but not a JSON object.
    #[error("{0} is not a JSON object")]
    NotObject(&'static str),
    /// The general JWS JSON serialization (`signatures`) was sent; RFC 8555 §6.2 allows only the
    /// flattened one.
    #[error("the general JWS serialization is not accepted; send a flattened JWS (RFC 8555 §6.2)")]
    GeneralSerialization,
    /// An unprotected `header` member was sent; RFC 8555 §6.2 forbids it.
    #[error("the unprotected JWS header is not allowed (RFC 8555 §6.2)")]
    UnprotectedHeader,
    /// A required member is absent.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// A member has the wrong JSON type (e.g. `nonce` is a number).
    #[error("{member} must be {expected}")]
    WrongType {
        /// The member.
        member: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A member is not strict base64url (padding, wrong alphabet, whitespace; RFC 8555 §6.1), or
    /// an `x5c` entry is not base64.
    #[error("{0} is not valid base64url without padding (RFC 8555 §6.1)")]
    BadBase64(&'static str),
    /// The protected header asks for an unencoded payload (`b64: false`, RFC 7797), which
    /// RFC 8555 §6.2 forbids.
    #[error("unencoded payloads (b64: false, RFC 7797) are not allowed (RFC 8555 §6.2)")]
    UnencodedPayload,
    /// The protected header has a `crit` member; stica understands no JWS extensions, so
    /// RFC 7515 §4.1.11 requires refusing it.
    #[error("the crit header parameter is not supported (RFC 7515 §4.1.11)")]
    Critical,
    /// Any other structural problem (compact JWS parts, empty values, bad `x5c`).
    #[error("{0}")]
    Malformed(String),
    /// The `alg` is not one stica accepts for this use (`none`, MAC algorithms on account
    /// JWS, anything unknown).
    #[error("algorithm {0:?} is not accepted")]
    UnsupportedAlgorithm(String),
    /// The `alg` does not fit the key (e.g. RS256 with an EC key).
    #[error("algorithm {alg:?} does not match the {key} key")]
    AlgorithmKeyMismatch {
        /// The `alg` in the header.
        alg: String,
        /// The key type.
        key: &'static str,
    },
    /// The public key is of a type, curve or size stica does not accept, is not a valid key,
    /// or carries private key members.
    #[error("{0}")]
    BadKey(String),
    /// The signature has the wrong length for its algorithm (ES256 is raw r||s, 64 bytes,
    /// RFC 7518 §3.4: a DER signature lands here).
    #[error("{alg} signature must be {expected} bytes, got {got}")]
    SignatureLength {
        /// The algorithm.
        alg: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it had.
        got: usize,
    },
    /// The signature does not verify.
    #[error("JWS signature verification failed")]
    BadSignature,
    /// A fingerprint text is not `SHA256 ` followed by 32 colon-separated hex pairs.
    #[error("fingerprint is not of the form \"SHA256 AB:CD:...\" with 32 bytes: {0}")]
    BadFingerprint(String),
    /// The crypto library failed while generating, encoding or signing (never caused by input).
    #[error("crypto library failure: {0}")]
    Crypto(&'static str),
}

impl JoseError {
    /// The ACME problem type for this error (RFC 8555 §6.7).
    pub fn kind(&self) -> ErrorKind {
        match self {
            JoseError::NotJson(_)
            | JoseError::NotObject(_)
            | JoseError::GeneralSerialization
            | JoseError::UnprotectedHeader
            | JoseError::Missing(_)
            | JoseError::WrongType { .. }
            | JoseError::BadBase64(_)
            | JoseError::UnencodedPayload
            | JoseError::Critical
            | JoseError::Malformed(_)
            | JoseError::SignatureLength { .. }
            | JoseError::BadFingerprint(_) => ErrorKind::Malformed,
            JoseError::UnsupportedAlgorithm(_) | JoseError::AlgorithmKeyMismatch { .. } => {
                ErrorKind::BadSignatureAlgorithm
            }
            JoseError::BadKey(_) => ErrorKind::BadPublicKey,
            JoseError::BadSignature => ErrorKind::Unauthorized,
            JoseError::Crypto(_) => ErrorKind::Internal,
        }
    }
}

impl From<JoseError> for Error {
    fn from(e: JoseError) -> Self {
        match e.kind() {
            ErrorKind::Internal => Error::internal(e),
            kind => Error::new(kind, e.to_string()),
        }
    }
}

/// The `atc.fingerprint` text for a SHA-256 digest: `"SHA256 "` and uppercase hex pairs joined by
/// `:` (RFC 9447 §3.1 example; standards.md §2.5).
pub fn fingerprint_text(digest: &[u8]) -> String {
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256 {}", hex.join(":"))
}

/// Parses an `atc.fingerprint`: `SHA256` (or `sha-256`, any case), whitespace, then 32 hex pairs
/// joined by `:` in any case. Clients differ in case (standards.md §2.5: accept lowercase, emit
/// uppercase); the digest bytes are what get compared.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], JoseError> {
    let bad = || JoseError::BadFingerprint(text.chars().take(120).collect());
    let text = text.trim();
    let (name, hex) = text.split_once(char::is_whitespace).ok_or_else(bad)?;
    if !name.eq_ignore_ascii_case("SHA256") && !name.eq_ignore_ascii_case("SHA-256") {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    let mut count = 0usize;
    for pair in hex.trim_start().split(':') {
        let slot = out.get_mut(count).ok_or_else(bad)?;
        if pair.len() != 2 || !pair.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        *slot = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        count += 1;
    }
    if count != 32 {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// standards.md §2.5: SPKI fingerprint of the RFC 9118 example key.
    const RFC9118_FP: &str = "SHA256 43:F7:43:B9:D6:40:FC:AA:DE:90:E7:E1:32:21:C9:F7:36:74:26:1A:BF:A8:67:2F:FD:91:5B:9B:CE:27:41:C8";

    #[test]
    fn fingerprint_round_trip_and_case() {
        let digest = parse_fingerprint(RFC9118_FP).unwrap();
        assert_eq!(fingerprint_text(&digest), RFC9118_FP);
        assert_eq!(
            parse_fingerprint(&RFC9118_FP.to_lowercase()).unwrap(),
            digest
        );
        let sdp = RFC9118_FP.replace("SHA256", "sha-256");
        assert_eq!(parse_fingerprint(&sdp).unwrap(), digest);
    }

    #[test]
    fn fingerprint_rejects_bad_forms() {
        let hex = &RFC9118_FP[7..];
        for bad in [
            hex.to_string(),                            // no hash name
            format!("SHA1 {hex}"),                      // other hash
            format!("SHA256 {}", &hex[3..]),            // 31 bytes
            format!("SHA256 {hex}:00"),                 // 33 bytes
            format!("SHA256 {}", hex.replace(':', "")), // no separators
            format!("SHA256 {}", hex.replacen("43", "4G", 1)),
            format!("SHA256 {}", hex.replacen(":", "::", 1)),
            format!("SHA256 {}", hex.replacen("43", "+3", 1)),
            String::new(),
        ] {
            assert!(
                matches!(parse_fingerprint(&bad), Err(JoseError::BadFingerprint(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn account_alg_check() {
        for alg in ACCEPTED_ALGS {
            assert!(check_account_alg(alg).is_ok());
        }
        for alg in ["none", "HS256", "ES384", "PS256", "es256", ""] {
            let err = check_account_alg(alg).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BadSignatureAlgorithm, "{alg}");
        }
    }

    #[test]
    fn error_kinds_map_to_problem_types() {
        let e: Error = JoseError::BadSignature.into();
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        let e: Error = JoseError::BadKey("x".into()).into();
        assert_eq!(e.kind, ErrorKind::BadPublicKey);
        let e: Error = JoseError::UnprotectedHeader.into();
        assert_eq!(e.kind, ErrorKind::Malformed);
        let e: Error = JoseError::UnsupportedAlgorithm("none".into()).into();
        assert_eq!(e.kind, ErrorKind::BadSignatureAlgorithm);
        assert!(e.problem().algorithms.is_some());
        let e: Error = JoseError::Crypto("rng").into();
        assert_eq!(e.kind, ErrorKind::Internal);
    }
}
