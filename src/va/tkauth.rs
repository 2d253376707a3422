//! The tkauth-01 Authority Token verifier (RFC 9447 §3.1, RFC 9448 §5-§6; standards.md §2.4-2.7).
//!
//! A token is the challenge response: a compact JWS whose claims say "the holder of the ACME
//! account key with this fingerprint may get a certificate for this TNAuthList", signed by a
//! token authority (the STI-PA, or stica's development one) whose certificate chains to a
//! configured trust anchor. Everything is checked and anything unexpected refuses the token.
//!
//! Order of checks: structure and header, claim shapes, times, then the binding to this
//! authorization (tktype, tkvalue, fingerprint) — all local — and only then the network-facing
//! part (x5u fetch, chain, signature, CRL), so no request goes out for a token that cannot
//! succeed anyway.
//!
//! Problem types (RFC 8555 §6.7, standards.md §2.7 "Failure reporting"), see [`TokenError::kind`]:
//! * `malformed`: the response cannot be read as a token (not a JWS, a required claim missing or
//!   of the wrong type, no signer reference);
//! * `incorrectResponse`: a well-formed token that fails validation (algorithm, `crit`, `typ`,
//!   expired or not yet valid, lifetime over the policy cap, bad signature, signer key unusable,
//!   `ca` not a boolean, x5u unreachable or not certificates);
//! * `unauthorized`: the token does not authorize this account for this identifier, or its
//!   signer is not trusted (untrusted or revoked signer, revocation unknown under `require_crl`,
//!   x5u refused by policy, wrong tktype, tkvalue mismatch, fingerprint mismatch).
//!
//! The `ca` member has to be a boolean; the brief's kind list ("ca type wrong ->
//! IncorrectResponse") is followed rather than treating it like other claim-shape errors: the
//! client cannot fix a token the authority minted, so "your response is wrong" fits better.
//! Token reuse (`jti` bookkeeping) is the RA's, through `sa::Storage::record_token_use`.

use std::sync::Arc;

use der::Encode;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::jose::{CompactJws, JoseError, PublicJwk, b64, parse_fingerprint};
use crate::policy::{AuthorityTokenPolicy, FingerprintForm, Policy};
use crate::tnauth::TnAuthList;
use crate::tnauth::jwtcc::ClaimConstraints;
use crate::va::crl::{self, CrlError, CrlStatus};
use crate::va::x5u::{FetchError, Fetcher};
use crate::x509::chain::{ChainError, ParsedCert, verify_chain};

/// Longest token accepted, in bytes (an x5c chain of a few certificates fits easily).
pub const MAX_TOKEN_LEN: usize = 64 * 1024;
/// Longest `jti` accepted, in bytes (it is stored; UUIDs are 36).
pub const MAX_JTI_LEN: usize = 256;

/// Why an Authority Token was refused. The message says which rule failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is longer than [`MAX_TOKEN_LEN`].
    #[error("the Authority Token is longer than {MAX_TOKEN_LEN} bytes")]
    TooLarge,
    /// The token is not a compact JWS with JSON header and claims (RFC 7515 §7.1).
    #[error("the Authority Token is not a compact JWS: {0}")]
    NotJws(JoseError),
    /// `alg` is not ES256, the only algorithm SHAKEN token authorities use (RFC 9448 §5).
    #[error("the Authority Token alg {0:?} is not accepted; ES256 is required")]
    UnsupportedAlg(String),
    /// The header has `crit`; stica understands no JWS extension (RFC 7515 §4.1.11).
    #[error("the Authority Token header has crit {0:?}; no JWS extensions are supported")]
    Crit(Vec<String>),
    /// `typ` is present and is not `JWT` (RFC 9447 §3.1, RFC 7519 §5.1).
    #[error("the Authority Token typ {0:?} is not JWT")]
    WrongTyp(String),
    /// A required claim is absent (RFC 9447 §3.1: `exp`, `jti`, `atc` and its members).
    #[error("the Authority Token has no {0} claim (RFC 9447 §3.1)")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or an unusable value.
    #[error("the Authority Token claim {claim} is invalid: {reason}")]
    InvalidClaim {
        /// the claim (`exp`, `atc.tkvalue`, ...)
        claim: &'static str,
        /// what is wrong
        reason: String,
    },
    /// `atc.ca` is present and not a boolean (RFC 9448 §5).
    #[error("the Authority Token claim atc.ca must be a boolean")]
    CaNotBoolean,
    /// `exp` has passed (with the policy's clock skew).
    #[error("the Authority Token expired at {exp} (now {now})")]
    Expired {
        /// exp, RFC 3339
        exp: String,
        /// now, RFC 3339
        now: String,
    },
    /// `nbf` is in the future (with the policy's clock skew).
    #[error("the Authority Token is not valid before {nbf}")]
    NotYetValid {
        /// nbf, RFC 3339
        nbf: String,
    },
    /// `exp` is further away than `max_token_lifetime_secs` allows.
    #[error(
        "the Authority Token is valid for {remaining} more seconds; policy accepts at most {max}"
    )]
    LifetimeTooLong {
        /// exp - now
        remaining: i64,
        /// the policy cap
        max: i64,
    },
    /// The header names neither `x5u` nor `x5c`, so the signer is unknown.
    #[error("the Authority Token header has neither x5u nor x5c")]
    NoSigner,
    /// The header names both `x5u` and `x5c`; which one signs would be ambiguous.
    #[error("the Authority Token header has both x5u and x5c; send one")]
    AmbiguousSigner,
    /// The `x5u` URL is refused by policy (scheme, non-public address, redirect, size).
    #[error("the Authority Token x5u {url} is refused: {error}")]
    X5uRefused {
        /// the URL
        url: String,
        /// which rule
        error: FetchError,
    },
    /// The `x5u` URL could not be fetched (timeout, connection, HTTP status).
    #[error("the Authority Token x5u {url} could not be fetched: {error}")]
    X5uFetch {
        /// the URL
        url: String,
        /// why
        error: FetchError,
    },
    /// What the `x5u` URL returned is not a PEM or DER certificate chain.
    #[error("the Authority Token x5u {url} did not return certificates: {reason}")]
    X5uContent {
        /// the URL
        url: String,
        /// why
        reason: String,
    },
    /// The signer certificate does not chain to a configured token authority.
    #[error("the Authority Token signer is not trusted: {0}")]
    UntrustedSigner(ChainError),
    /// The signer certificate has keyUsage without digitalSignature (RFC 5280 §4.2.1.3).
    #[error("the Authority Token signer certificate is not for digital signatures (keyUsage)")]
    SignerKeyUsage,
    /// The signer certificate's key is not an EC P-256 key, so it cannot sign ES256.
    #[error("the Authority Token signer key cannot verify ES256: {0}")]
    SignerKey(String),
    /// The signature does not verify with the signer certificate's key.
    #[error("the Authority Token signature does not verify with the signer certificate's key")]
    BadSignature,
    /// The signer certificate is listed on the CRL it names.
    #[error("the Authority Token signer certificate (serial {serial}) is revoked per {url}")]
    SignerRevoked {
        /// serial, hex
        serial: String,
        /// the CRL URL
        url: String,
    },
    /// The signer's revocation status could not be established and policy requires it.
    #[error("the Authority Token signer's revocation status is unknown: {0}")]
    RevocationUnknown(CrlError),
    /// `atc.tktype` is not `TNAuthList` (compared case-insensitively, standards.md §2.1).
    #[error("the Authority Token atc.tktype {0:?} is not TNAuthList")]
    WrongTkType(String),
    /// `atc.tkvalue` is not the DER of this authorization's identifier (RFC 9448 §5).
    #[error("the Authority Token atc.tkvalue is not the TNAuthList of this authorization")]
    TkValueMismatch,
    /// `atc.fingerprint` is not the fingerprint of the account key in an accepted form.
    #[error("the Authority Token atc.fingerprint does not match the account key ({0})")]
    FingerprintMismatch(String),
}

impl TokenError {
    /// The variant's name: the `reason` label of `stica_token_failures_total`.
    pub fn name(&self) -> &'static str {
        use TokenError::*;
        match self {
            TooLarge => "TooLarge",
            NotJws(_) => "NotJws",
            UnsupportedAlg(_) => "UnsupportedAlg",
            Crit(_) => "Crit",
            WrongTyp(_) => "WrongTyp",
            MissingClaim(_) => "MissingClaim",
            InvalidClaim { .. } => "InvalidClaim",
            CaNotBoolean => "CaNotBoolean",
            Expired { .. } => "Expired",
            NotYetValid { .. } => "NotYetValid",
            LifetimeTooLong { .. } => "LifetimeTooLong",
            NoSigner => "NoSigner",
            AmbiguousSigner => "AmbiguousSigner",
            X5uRefused { .. } => "X5uRefused",
            X5uFetch { .. } => "X5uFetch",
            X5uContent { .. } => "X5uContent",
            UntrustedSigner(_) => "UntrustedSigner",
            SignerKeyUsage => "SignerKeyUsage",
            SignerKey(_) => "SignerKey",
            BadSignature => "BadSignature",
            SignerRevoked { .. } => "SignerRevoked",
            RevocationUnknown(_) => "RevocationUnknown",
            WrongTkType(_) => "WrongTkType",
            TkValueMismatch => "TkValueMismatch",
            FingerprintMismatch(_) => "FingerprintMismatch",
        }
    }

    /// The ACME problem type (see the module docs for the reasoning).
    pub fn kind(&self) -> ErrorKind {
        use TokenError::*;
        match self {
            TooLarge
            | NotJws(_)
            | MissingClaim(_)
            | InvalidClaim { .. }
            | NoSigner
            | AmbiguousSigner => ErrorKind::Malformed,
            UnsupportedAlg(_)
            | Crit(_)
            | WrongTyp(_)
            | CaNotBoolean
            | Expired { .. }
            | NotYetValid { .. }
            | LifetimeTooLong { .. }
            | X5uFetch { .. }
            | X5uContent { .. }
            | SignerKey(_)
            | BadSignature => ErrorKind::IncorrectResponse,
            X5uRefused { .. }
            | UntrustedSigner(_)
            | SignerKeyUsage
            | SignerRevoked { .. }
            | RevocationUnknown(_)
            | WrongTkType(_)
            | TkValueMismatch
            | FingerprintMismatch(_) => ErrorKind::Unauthorized,
        }
    }
}

impl From<TokenError> for Error {
    fn from(e: TokenError) -> Self {
        Error::new(e.kind(), e.to_string())
    }
}

/// Who signed a token, by the trust anchor its signer's chain ends at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerAnchor {
    /// A configured token authority (the STI-PA, or the development one).
    TokenAuthority,
    /// This CA's own root: a carrier signed with a certificate stica issued (direct delegation,
    /// issue 3). The verifier has checked the chain and the signature only; the RA must check,
    /// against its own records, that stica issued the signer, that it is not revoked, that its
    /// profile may delegate, and that its TNAuthList encompasses the token's
    /// ([`crate::ra`]'s delegation checks). No CRL is fetched for such a signer: stica's own
    /// database is the authoritative and immediate source of its status.
    ThisCa,
}

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedToken {
    /// `jti`: the RA records it (reuse rules).
    pub jti: String,
    /// `exp`, unix seconds (may cap the certificate's notAfter).
    pub exp: i64,
    /// `atc.ca` (absent means false): whether a CA certificate may be issued (RFC 9448 §5,
    /// standards.md §2.6).
    pub ca: bool,
    /// The TNAuthList the token authorizes (its DER equals the authorization's identifier).
    pub tnauthlist: TnAuthList,
    /// The signer certificate (DER).
    pub signer_der: Vec<u8>,
    /// The verified chain, signer first, trust anchor last (DER).
    pub chain: Vec<Vec<u8>>,
    /// Which fingerprint form matched the account key.
    pub fingerprint_form: FingerprintForm,
    /// The JWT claim constraints the token asks the certificate to carry (`atc.jwtcc` or
    /// `atc.ejwtcc`, a stica extension: see [`read_claim_constraints`]).
    pub claim_constraints: Option<ClaimConstraints>,
    /// Which kind of anchor the signer chains to.
    pub anchor: SignerAnchor,
}

/// The claims, typed.
struct Claims {
    exp: i64,
    nbf: Option<i64>,
    jti: String,
    tktype: String,
    tkvalue: String,
    fingerprint: String,
    ca: bool,
    claim_constraints: Option<ClaimConstraints>,
}

/// Verifies Authority Tokens against the policy and the token-authority trust anchors.
pub struct TokenVerifier {
    anchors: Vec<Vec<u8>>,
    /// This CA's root(s) (DER), for tokens a carrier signed with a stica-issued certificate.
    own_roots: Vec<Vec<u8>>,
    /// This CA's intermediates (DER), added to a delegating signer's chain so that a carrier may
    /// send only its own certificate.
    own_intermediates: Vec<Vec<u8>>,
    /// `anchors` then `own_roots`: what chains are built to.
    all_anchors: Vec<Vec<u8>>,
    rules: AuthorityTokenPolicy,
    fetcher: Arc<Fetcher>,
}

impl TokenVerifier {
    /// A verifier trusting `policy.token_authorities` plus `extra_anchors` (DER; the embedded
    /// development token authority's root, which the lead passes when no `--policy-dir` is given).
    /// A CRL signer that is not in the token's chain can be added here too: it is only used for
    /// CRLs, since without keyCertSign it cannot issue a signer.
    pub fn new(policy: &Policy, extra_anchors: Vec<Vec<u8>>) -> Self {
        let mut anchors = policy.token_authorities.clone();
        for a in extra_anchors {
            if !anchors.contains(&a) {
                anchors.push(a);
            }
        }
        Self {
            all_anchors: anchors.clone(),
            anchors,
            own_roots: Vec::new(),
            own_intermediates: Vec::new(),
            rules: policy.file.authority_token.clone(),
            fetcher: Arc::new(Fetcher::new(&policy.file.authority_token)),
        }
    }

    /// Also accepts tokens signed by certificates that chain to `root` (this CA's root) through
    /// `intermediates` (this CA's, leaf side first): direct delegation (issue 3), where a
    /// carrier signs an enterprise's token with its stica-issued `sca` or TN-level certificate.
    /// Such tokens come back with [`SignerAnchor::ThisCa`] for the RA's further checks.
    pub fn with_own_hierarchy(mut self, root: Vec<u8>, intermediates: Vec<Vec<u8>>) -> Self {
        if !self.all_anchors.contains(&root) {
            self.all_anchors.push(root.clone());
        }
        self.own_roots.push(root);
        self.own_intermediates = intermediates;
        self
    }

    /// The trust anchors (DER).
    pub fn anchors(&self) -> &[Vec<u8>] {
        &self.anchors
    }

    /// Verifies `token` as the tkauth-01 response for an authorization of `identifier_der` (the
    /// DER TNAuthList) by the account holding `account_key`, at `now` (unix seconds).
    pub async fn verify(
        &self,
        token: &str,
        identifier_der: &[u8],
        account_key: &PublicJwk,
        now: i64,
    ) -> Result<ValidatedToken, TokenError> {
        let skew = self.rules.clock_skew_secs.max(0);
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLarge);
        }
        let jws = CompactJws::parse(token).map_err(TokenError::NotJws)?;
        check_header(&jws)?;
        let claims = read_claims(&jws.claims)?;
        self.check_times(&claims, now, skew)?;
        check_tktype(&claims.tktype)?;
        let tnauthlist = check_tkvalue(&claims.tkvalue, identifier_der)?;
        let fingerprint_form = self.check_fingerprint(&claims.fingerprint, account_key)?;

        let (leaf, mut intermediates) = self.signer_chain(&jws, now).await?;
        for own in &self.own_intermediates {
            if !intermediates.contains(own) {
                intermediates.push(own.clone());
            }
        }
        let chain = verify_chain(&leaf, &intermediates, &self.all_anchors, now, skew)
            .map_err(TokenError::UntrustedSigner)?;
        let anchor = match chain.certs.last() {
            Some(a) if self.own_roots.contains(a) && !self.anchors.contains(a) => {
                SignerAnchor::ThisCa
            }
            _ => SignerAnchor::TokenAuthority,
        };
        let signer =
            ParsedCert::parse(&leaf, "token signer").map_err(TokenError::UntrustedSigner)?;
        if let Some(ku) = &signer.key_usage {
            use x509_cert::ext::pkix::KeyUsages;
            // A delegating `sca` certificate has keyCertSign only (profiles.md): its key vouches
            // for the numbers it hands down, which is what signing a delegation token does.
            let usable = ku.0.contains(KeyUsages::DigitalSignature)
                || (anchor == SignerAnchor::ThisCa && ku.0.contains(KeyUsages::KeyCertSign));
            if !usable {
                return Err(TokenError::SignerKeyUsage);
            }
        }
        let spki = signer
            .cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| TokenError::SignerKey(e.to_string()))?;
        jws.verify_es256_spki(&spki).map_err(|e| match e {
            JoseError::BadSignature | JoseError::SignatureLength { .. } => TokenError::BadSignature,
            JoseError::UnsupportedAlgorithm(alg) => TokenError::UnsupportedAlg(alg),
            other => TokenError::SignerKey(other.to_string()),
        })?;
        if anchor == SignerAnchor::TokenAuthority {
            self.check_revocation(&leaf, &chain.certs, now, skew)
                .await?;
        }

        Ok(ValidatedToken {
            jti: claims.jti,
            exp: claims.exp,
            ca: claims.ca,
            tnauthlist,
            signer_der: leaf,
            chain: chain.certs,
            fingerprint_form,
            claim_constraints: claims.claim_constraints,
            anchor,
        })
    }

    fn check_times(&self, claims: &Claims, now: i64, skew: i64) -> Result<(), TokenError> {
        // RFC 7519 §4.1.4: not accepted on or after exp.
        if now.saturating_sub(skew) >= claims.exp {
            return Err(TokenError::Expired {
                exp: crate::acme::rfc3339(claims.exp),
                now: crate::acme::rfc3339(now),
            });
        }
        if let Some(nbf) = claims.nbf
            && now.saturating_add(skew) < nbf
        {
            return Err(TokenError::NotYetValid {
                nbf: crate::acme::rfc3339(nbf),
            });
        }
        let max = self.rules.max_token_lifetime_secs;
        let remaining = claims.exp.saturating_sub(now);
        if max > 0 && remaining > max.saturating_add(skew) {
            return Err(TokenError::LifetimeTooLong { remaining, max });
        }
        Ok(())
    }

    /// standards.md §2.5: SHA-256 over the account key's DER SPKI (what production SHAKEN
    /// clients send) or over its RFC 7638 JWK thumbprint input, as policy allows.
    fn check_fingerprint(
        &self,
        text: &str,
        account_key: &PublicJwk,
    ) -> Result<FingerprintForm, TokenError> {
        let digest = parse_fingerprint(text).map_err(|e| TokenError::InvalidClaim {
            claim: "atc.fingerprint",
            reason: e.to_string(),
        })?;
        let forms = &self.rules.fingerprint_forms;
        let matched = if digest == account_key.spki_sha256() {
            FingerprintForm::Spki
        } else if digest == account_key.thumbprint_sha256() {
            FingerprintForm::JwkThumbprint
        } else {
            return Err(TokenError::FingerprintMismatch(
                "neither the SPKI nor the JWK thumbprint digest of the account key".into(),
            ));
        };
        if forms.contains(&matched) {
            Ok(matched)
        } else {
            Err(TokenError::FingerprintMismatch(format!(
                "it is the {} form, which policy does not accept",
                form_name(matched)
            )))
        }
    }

    /// The signer certificate and the rest of the chain, from `x5c` or `x5u` (RFC 7515 §4.1.5,
    /// §4.1.6: the signer's certificate comes first).
    async fn signer_chain(
        &self,
        jws: &CompactJws,
        now: i64,
    ) -> Result<(Vec<u8>, Vec<Vec<u8>>), TokenError> {
        let certs = match (&jws.x5u, jws.x5c.is_empty()) {
            (Some(_), false) => return Err(TokenError::AmbiguousSigner),
            (None, true) => return Err(TokenError::NoSigner),
            (None, false) => jws.x5c.clone(),
            (Some(url), true) => {
                let body = self.fetcher.fetch(url, now).await.map_err(|error| {
                    if error.is_policy_refusal() {
                        TokenError::X5uRefused {
                            url: url.clone(),
                            error,
                        }
                    } else {
                        TokenError::X5uFetch {
                            url: url.clone(),
                            error,
                        }
                    }
                })?;
                let certs = crate::x509::pem_certificates(&body).map_err(|reason| {
                    TokenError::X5uContent {
                        url: url.clone(),
                        reason,
                    }
                })?;
                if certs.is_empty() {
                    return Err(TokenError::X5uContent {
                        url: url.clone(),
                        reason: "no CERTIFICATE block".into(),
                    });
                }
                certs
            }
        };
        let mut certs = certs.into_iter();
        let leaf = certs.next().ok_or(TokenError::NoSigner)?;
        Ok((leaf, certs.collect()))
    }

    async fn check_revocation(
        &self,
        signer: &[u8],
        chain: &[Vec<u8>],
        now: i64,
        skew: i64,
    ) -> Result<(), TokenError> {
        let mut trusted = chain.to_vec();
        trusted.extend(self.anchors.iter().cloned());
        match crl::check_signer(&self.fetcher, signer, &trusted, now, skew).await {
            Ok(CrlStatus::NoDistributionPoint) | Ok(CrlStatus::Good { .. }) => Ok(()),
            Ok(CrlStatus::Revoked { url, serial }) => {
                Err(TokenError::SignerRevoked { serial, url })
            }
            Err(e) if self.rules.require_crl => Err(TokenError::RevocationUnknown(e)),
            Err(e) => {
                tracing::warn!(error = %e, "Authority Token signer revocation not checked (require_crl is off)");
                Ok(())
            }
        }
    }
}

fn form_name(form: FingerprintForm) -> &'static str {
    match form {
        FingerprintForm::Spki => "SPKI",
        FingerprintForm::JwkThumbprint => "JWK thumbprint",
    }
}

/// RFC 9448 §5 / standards.md §2.7 step 1: ES256, no `crit`, `typ` JWT when present
/// (`application/jwt` is the same media type, RFC 7515 §4.1.9).
fn check_header(jws: &CompactJws) -> Result<(), TokenError> {
    if jws.alg != "ES256" {
        return Err(TokenError::UnsupportedAlg(jws.alg.clone()));
    }
    if !jws.crit.is_empty() || jws.header.get("crit").is_some() {
        return Err(TokenError::Crit(jws.crit.clone()));
    }
    if let Some(typ) = &jws.typ
        && !typ.eq_ignore_ascii_case("JWT")
        && !typ.eq_ignore_ascii_case("application/jwt")
    {
        return Err(TokenError::WrongTyp(typ.clone()));
    }
    Ok(())
}

/// Reads the claims RFC 9447 §3.1 requires, with their types.
fn read_claims(claims: &Value) -> Result<Claims, TokenError> {
    let obj = claims.as_object().ok_or(TokenError::InvalidClaim {
        claim: "claims",
        reason: "not a JSON object".into(),
    })?;
    let exp = numeric_date(obj, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
    let nbf = numeric_date(obj, "nbf")?;
    let jti = match obj.get("jti") {
        None => return Err(TokenError::MissingClaim("jti")),
        Some(Value::String(s)) if s.is_empty() => {
            return Err(TokenError::InvalidClaim {
                claim: "jti",
                reason: "empty".into(),
            });
        }
        Some(Value::String(s)) if s.len() > MAX_JTI_LEN => {
            return Err(TokenError::InvalidClaim {
                claim: "jti",
                reason: format!("longer than {MAX_JTI_LEN} bytes"),
            });
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(TokenError::InvalidClaim {
                claim: "jti",
                reason: "not a string".into(),
            });
        }
    };
    let atc = match obj.get("atc") {
        None => return Err(TokenError::MissingClaim("atc")),
        Some(Value::Object(atc)) => atc,
        Some(_) => {
            return Err(TokenError::InvalidClaim {
                claim: "atc",
                reason: "not a JSON object".into(),
            });
        }
    };
    let ca = match atc.get("ca") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(TokenError::CaNotBoolean),
    };
    Ok(Claims {
        exp,
        nbf,
        jti,
        tktype: atc_string(atc, "tktype", "atc.tktype")?,
        tkvalue: atc_string(atc, "tkvalue", "atc.tkvalue")?,
        fingerprint: atc_string(atc, "fingerprint", "atc.fingerprint")?,
        ca,
        claim_constraints: read_claim_constraints(atc)?,
    })
}

/// The optional `atc.jwtcc` (DER JWTClaimConstraints, RFC 8226 §8) or `atc.ejwtcc` (DER
/// EnhancedJWTClaimConstraints, RFC 9118), base64 or base64url: the claim constraints the token
/// authority asks the certificate to carry. A stica extension of the `atc` object (RFC 9448 §5
/// defines none; draft-ietf-acme-authority-token-jwtclaimcon uses a separate identifier and token
/// instead, not implemented): tokens from other authorities simply lack it. Both at once are
/// refused, as a certificate never carries both (issue 3, item 6).
fn read_claim_constraints(
    atc: &Map<String, Value>,
) -> Result<Option<ClaimConstraints>, TokenError> {
    use crate::tnauth::jwtcc::{ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS, ID_PE_JWT_CLAIM_CONSTRAINTS};
    let read = |member: &str, claim: &'static str, oid| -> Result<_, TokenError> {
        let Some(value) = atc.get(member) else {
            return Ok(None);
        };
        let bad = |reason: String| TokenError::InvalidClaim { claim, reason };
        let text = value.as_str().ok_or_else(|| bad("not a string".into()))?;
        let der = b64::decode_lenient(text).map_err(|e| bad(format!("not base64: {e}")))?;
        ClaimConstraints::from_extension(&oid, &der).map_err(|e| bad(e.to_string()))
    };
    let legacy = read("jwtcc", "atc.jwtcc", ID_PE_JWT_CLAIM_CONSTRAINTS)?;
    let enhanced = read("ejwtcc", "atc.ejwtcc", ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS)?;
    match (legacy, enhanced) {
        (Some(_), Some(_)) => Err(TokenError::InvalidClaim {
            claim: "atc.jwtcc",
            reason: "atc.jwtcc and atc.ejwtcc together: a certificate carries one kind of claim constraints, never both".into(),
        }),
        (one, other) => Ok(one.or(other)),
    }
}

/// A NumericDate (RFC 7519 §2): a JSON number of seconds, fractions dropped.
fn numeric_date(obj: &Map<String, Value>, claim: &'static str) -> Result<Option<i64>, TokenError> {
    let bad = || TokenError::InvalidClaim {
        claim,
        reason: "not a NumericDate (a JSON number of seconds)".into(),
    };
    match obj.get(claim) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => {
                let f = n.as_f64().filter(|f| f.is_finite()).ok_or_else(bad)?;
                if f.abs() > 1e15 {
                    return Err(bad());
                }
                // Bounded above, so the conversion cannot saturate surprisingly.
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(f.floor() as i64))
            }
        },
        Some(_) => Err(bad()),
    }
}

fn atc_string(
    atc: &Map<String, Value>,
    member: &str,
    claim: &'static str,
) -> Result<String, TokenError> {
    match atc.get(member) {
        None => Err(TokenError::MissingClaim(claim)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(TokenError::InvalidClaim {
            claim,
            reason: "not a string".into(),
        }),
    }
}

/// standards.md §2.1: RFC 9447's own example writes `TnAuthList`; compare case-insensitively.
fn check_tktype(tktype: &str) -> Result<(), TokenError> {
    if tktype.eq_ignore_ascii_case(crate::acme::TNAUTHLIST) {
        Ok(())
    } else {
        Err(TokenError::WrongTkType(tktype.to_string()))
    }
}

/// standards.md §2.1: tkvalue is base64 or base64url, padded or not (the STI-PA sends padded
/// standard base64); the decoded DER must equal the identifier's DER. Text forms are never
/// compared.
fn check_tkvalue(tkvalue: &str, identifier_der: &[u8]) -> Result<TnAuthList, TokenError> {
    let der = b64::decode_lenient(tkvalue).map_err(|e| TokenError::InvalidClaim {
        claim: "atc.tkvalue",
        reason: format!("not base64: {e}"),
    })?;
    if der != identifier_der {
        return Err(TokenError::TkValueMismatch);
    }
    TnAuthList::from_der(&der).map_err(|e| TokenError::InvalidClaim {
        claim: "atc.tkvalue",
        reason: format!("not a TNAuthList (RFC 8226): {e}"),
    })
}

#[cfg(test)]
mod tests;
