//! Minting Authority Tokens shaped like the STI-PA's SPC tokens (RFC 9447 §3.1, RFC 9448 §5,
//! standards.md §2.4 and §4).
//!
//! Header `{"alg":"ES256","typ":"JWT","x5u":<signer URL>}` (or `x5c`), claims
//! `{"exp","jti","atc":{"tktype":"TNAuthList","tkvalue","ca","fingerprint"}}`: no `iss` and no `iat`,
//! exactly like the tokens the production STI-PA issues, so a CA that accepts these accepts the
//! real ones.

use aws_lc_rs::digest;
use base64::Engine;
use serde_json::{Map, Value, json};

use super::PaError;
use crate::jose::{self, EcSigner, PublicJwk};
use crate::tnauth::TnAuthList;
use crate::tnauth::jwtcc::ClaimConstraints;

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
    /// The TNAuthList the token authorizes (RFC 8226 §9); `tkvalue` is its DER, base64url.
    pub tnauthlist: TnAuthList,
    /// The ACME account key fingerprint, `"SHA256 AA:BB:.."` (RFC 9447 §3.1); any hex case on
    /// input, emitted uppercase.
    pub fingerprint: String,
    /// The `ca` member (RFC 9448): whether the token allows a CA certificate.
    pub ca: bool,
    /// Lifetime: `exp` = now + `ttl_secs`.
    pub ttl_secs: u64,
    /// `x5u` or `x5c` in the header.
    pub x5u_or_x5c: SignerRef,
    /// JWT claim constraints the certificate should carry: written as `atc.jwtcc` (RFC 8226 §8)
    /// or `atc.ejwtcc` (RFC 9118), base64url DER (a stica extension of the `atc` object, read by
    /// [`crate::va::tkauth`]).
    pub claim_constraints: Option<ClaimConstraints>,
}

impl TokenRequest {
    /// A request for `account_key`'s account, fingerprinted as production SHAKEN clients do:
    /// SHA-256 over the key's DER SubjectPublicKeyInfo (standards.md §2.5); signer by `x5u`.
    pub fn new(tnauthlist: TnAuthList, account_key: &PublicJwk, ca: bool, ttl_secs: u64) -> Self {
        let spki = account_key.spki_der();
        let d = digest::digest(&digest::SHA256, &spki);
        Self {
            tnauthlist,
            fingerprint: jose::fingerprint_text(d.as_ref()),
            ca,
            ttl_secs,
            x5u_or_x5c: SignerRef::X5u,
            claim_constraints: None,
        }
    }
}

/// Where the signer lives: its x5u URL and its chain (signer first) for x5c.
pub(crate) struct SignerContext<'a> {
    pub key: &'a EcSigner,
    pub x5u: &'a str,
    pub chain_der: Vec<&'a [u8]>,
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
    let mut header = Map::new();
    header.insert("typ".into(), json!("JWT"));
    match req.x5u_or_x5c {
        SignerRef::X5u => {
            header.insert("x5u".into(), json!(signer.x5u));
        }
        SignerRef::X5c => {
            let chain: Vec<String> = signer
                .chain_der
                .iter()
                .map(|der| base64::engine::general_purpose::STANDARD.encode(der))
                .collect();
            header.insert("x5c".into(), json!(chain));
        }
    }
    let jti = uuid::Uuid::new_v4().to_string();
    let mut claims = json!({
        "exp": exp,
        "jti": jti,
        "atc": {
            "tktype": crate::acme::TNAUTHLIST,
            "tkvalue": req.tnauthlist.to_identifier_value(),
            "ca": req.ca,
            "fingerprint": fingerprint,
        },
    });
    if let (Some(cc), Some(atc)) = (&req.claim_constraints, claims["atc"].as_object_mut()) {
        let member = match cc {
            ClaimConstraints::Legacy(_) => "jwtcc",
            ClaimConstraints::Enhanced(_) => "ejwtcc",
        };
        atc.insert(member.into(), json!(jose::b64::encode_url(&cc.to_der())));
    }
    let token = sign_compact(signer.key, header, &claims)?;
    Ok(Minted { token, jti, exp })
}

/// RFC 7515 §7.1 compact serialization with ES256 (`alg` is set by [`jose::sign_compact`]).
pub(crate) fn sign_compact(
    key: &EcSigner,
    header: Map<String, Value>,
    claims: &Value,
) -> Result<String, PaError> {
    jose::sign_compact(key, header, claims).map_err(PaError::crypto)
}

/// Checks the `"SHA256 XX:XX:..."` form (32 hex pairs, any case) and returns it in the canonical
/// uppercase form (standards.md §2.5).
pub(crate) fn normalize_fingerprint(text: &str) -> Result<String, PaError> {
    let digest = jose::parse_fingerprint(text)
        .map_err(|e| PaError::InvalidRequest(format!("fingerprint: {e}")))?;
    Ok(jose::fingerprint_text(&digest))
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
        assert!(normalize_fingerprint(&lower.replacen("ab", "zz", 1)).is_err());
        assert!(normalize_fingerprint(&format!("{lower}:AB")).is_err());
    }
}
