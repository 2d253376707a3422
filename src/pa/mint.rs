//! Minting Authority Tokens shaped like the STI-PA's SPC tokens (RFC 9447 §3.1, RFC 9448 §5,
//! standards.md §2.4 and §4).
//!
//! Header `{"alg":"ES256","typ":"JWT","x5u":<signer URL>}` (or `x5c`), claims
//! `{"exp","jti","atc":{"tktype":"TNAuthList","tkvalue","ca","fingerprint"}}`: no `iss` and no `iat`,
//! exactly like the tokens the production STI-PA issues, so a CA that accepts these accepts the
//! real ones.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::EcdsaKeyPair;
use base64::Engine;
use serde::Serialize;

use super::PaError;

/// How the token names its signing certificate (RFC 7515 §4.1.5, §4.1.6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SignerRef {
    /// `x5u`: the URL of the signer's PEM chain (what SHAKEN uses).
    #[default]
    X5u,
    /// `x5c`: the chain itself, signer first then the root, standard base64 DER.
    X5c,
}

/// What to put in a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The TNAuthList the token authorizes, DER (RFC 8226 §9); `tkvalue` is its base64url.
    pub tnauthlist_der: Vec<u8>,
    /// The ACME account key fingerprint, `"SHA256 AA:BB:.."` (RFC 9447 §3.1); any hex case on
    /// input, emitted uppercase.
    pub fingerprint: String,
    /// The `ca` member (RFC 9448): whether the token allows a CA certificate.
    pub ca: bool,
    /// Lifetime: `exp` = now + `ttl_secs`.
    pub ttl_secs: u64,
    /// `x5u` or `x5c` in the header.
    pub x5u_or_x5c: SignerRef,
}

/// The `atc` claim (RFC 9447 §3.1, RFC 9448 §5).
#[derive(Debug, Serialize)]
struct Atc<'a> {
    tktype: &'a str,
    tkvalue: String,
    ca: bool,
    fingerprint: String,
}

/// Claims in the STI-PA's order.
#[derive(Debug, Serialize)]
struct Claims<'a> {
    exp: i64,
    jti: String,
    atc: Atc<'a>,
}

/// JOSE header in the STI-PA's order.
#[derive(Debug, Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5u: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5c: Option<Vec<String>>,
}

/// Where the signer lives: its x5u URL and its chain (signer, root) for x5c.
pub(crate) struct SignerContext<'a> {
    pub key: &'a EcdsaKeyPair,
    pub x5u: &'a str,
    pub chain_der: [&'a [u8]; 2],
}

/// A signed token and the claims worth logging.
pub(crate) struct Minted {
    pub token: String,
    pub jti: String,
    pub exp: i64,
}

/// Builds and signs the token at time `now`.
pub(crate) fn mint(
    signer: &SignerContext<'_>,
    req: &TokenRequest,
    now: i64,
) -> Result<Minted, PaError> {
    if req.tnauthlist_der.is_empty() {
        return Err(PaError::InvalidRequest("empty TNAuthList".to_string()));
    }
    if req.ttl_secs == 0 {
        return Err(PaError::InvalidRequest(
            "ttl_secs must be positive".to_string(),
        ));
    }
    let ttl = i64::try_from(req.ttl_secs)
        .map_err(|_| PaError::InvalidRequest("ttl_secs too large".to_string()))?;
    let exp = now
        .checked_add(ttl)
        .ok_or_else(|| PaError::InvalidRequest("ttl_secs too large".to_string()))?;
    let fingerprint = normalize_fingerprint(&req.fingerprint)?;
    let header = match req.x5u_or_x5c {
        SignerRef::X5u => Header {
            alg: "ES256",
            typ: "JWT",
            x5u: Some(signer.x5u),
            x5c: None,
        },
        SignerRef::X5c => Header {
            alg: "ES256",
            typ: "JWT",
            x5u: None,
            x5c: Some(
                signer
                    .chain_der
                    .iter()
                    .map(|der| base64::engine::general_purpose::STANDARD.encode(der))
                    .collect(),
            ),
        },
    };
    let jti = uuid::Uuid::new_v4().to_string();
    let claims = Claims {
        exp,
        jti: jti.clone(),
        atc: Atc {
            tktype: crate::acme::TNAUTHLIST,
            tkvalue: b64url(&req.tnauthlist_der),
            ca: req.ca,
            fingerprint,
        },
    };
    let token = sign_compact(signer.key, &header, &claims)?;
    Ok(Minted { token, jti, exp })
}

/// RFC 7515 §7.1 compact serialization with ES256 (raw r||s, RFC 7518 §3.4).
///
/// Private until `jose::sign_compact` lands; the contract there is the same.
pub(crate) fn sign_compact<H: Serialize, C: Serialize>(
    key: &EcdsaKeyPair,
    header: &H,
    claims: &C,
) -> Result<String, PaError> {
    let header = serde_json::to_vec(header).map_err(PaError::crypto)?;
    let claims = serde_json::to_vec(claims).map_err(PaError::crypto)?;
    let signing_input = format!("{}.{}", b64url(&header), b64url(&claims));
    let sig = key
        .sign(&SystemRandom::new(), signing_input.as_bytes())
        .map_err(PaError::crypto)?;
    Ok(format!("{signing_input}.{}", b64url(sig.as_ref())))
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Checks the `"SHA256 XX:XX:..."` form (32 hex pairs, any case) and returns it uppercase
/// (standards.md §2.5).
pub(crate) fn normalize_fingerprint(text: &str) -> Result<String, PaError> {
    let bad = || {
        PaError::InvalidRequest(
            "fingerprint must be \"SHA256 \" followed by 32 colon-separated hex pairs".to_string(),
        )
    };
    let rest = text.strip_prefix("SHA256 ").ok_or_else(bad)?;
    let pairs: Vec<&str> = rest.split(':').collect();
    if pairs.len() != 32
        || pairs
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(bad());
    }
    Ok(format!("SHA256 {}", rest.to_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_normalizes_and_rejects() {
        let lower = format!("SHA256 {}", vec!["ab"; 32].join(":"));
        assert_eq!(
            normalize_fingerprint(&lower).unwrap(),
            format!("SHA256 {}", vec!["AB"; 32].join(":"))
        );
        assert!(normalize_fingerprint("SHA256 AB:CD").is_err());
        assert!(normalize_fingerprint(&lower.replace("SHA256 ", "sha256 ")).is_err());
        assert!(normalize_fingerprint(&lower.replacen("ab", "zz", 1)).is_err());
        assert!(normalize_fingerprint(&format!("{lower}:AB")).is_err());
    }
}
