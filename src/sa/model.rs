//! Plain records that `sa` hands to the rest of stica, and their conversions to and from the
//! sea-orm entities (which never leave `sa`).
//!
//! Times are unix seconds. Statuses are the ACME wire enums, stored by their wire spelling.

use std::fmt;

use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::DbErr;

use crate::acme::{AccountStatus, AuthzStatus, ChallengeStatus, OrderStatus};
use crate::tnauth::jwtcc::ClaimConstraints;

use super::entity;

/// An ACME account (RFC 8555 §7.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Random opaque id.
    pub id: String,
    /// The account key as JWK JSON.
    pub jwk: String,
    /// RFC 7638 thumbprint of the key; unique across accounts.
    pub thumbprint: String,
    /// Account status.
    pub status: AccountStatus,
    /// Contact URLs.
    pub contact: Vec<String>,
    /// The EAB key id the account was created with (RFC 8555 §7.3.4).
    pub eab_kid: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// An external account binding key (RFC 8555 §7.3.4) and what it grants.
#[derive(Clone, PartialEq, Eq)]
pub struct EabKey {
    /// Key id.
    pub kid: String,
    /// The HMAC key (secret; redacted from `Debug`).
    pub hmac_key: Vec<u8>,
    /// Legal name; becomes the certificate subject's `O`.
    pub name: String,
    /// SPCs the bound account may order (empty: no restriction).
    pub spcs: Vec<String>,
    /// The bound account, once bound.
    pub account_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for EabKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EabKey")
            .field("kid", &self.kid)
            .field("hmac_key", &"<redacted>")
            .field("name", &self.name)
            .field("spcs", &self.spcs)
            .field("account_id", &self.account_id)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// An ACME order (RFC 8555 §7.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Random opaque id.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// Order status.
    pub status: OrderStatus,
    /// The TNAuthList identifier value, DER (RFC 9448 §3).
    pub identifier_der: Vec<u8>,
    /// Requested notBefore.
    pub not_before: Option<i64>,
    /// Requested notAfter.
    pub not_after: Option<i64>,
    /// Expiry.
    pub expires: i64,
    /// Problem document JSON when the order failed.
    pub error: Option<String>,
    /// Hex serial once a certificate is issued.
    pub certificate_serial: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// When finalize claimed it, while `processing` (set by `Storage::begin_finalize`).
    pub processing_since: Option<i64>,
}

/// An ACME authorization (RFC 8555 §7.1.4) with what its Authority Token granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authz {
    /// Random opaque id.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// The order it belongs to.
    pub order_id: String,
    /// The TNAuthList identifier value, DER.
    pub identifier_der: Vec<u8>,
    /// Authorization status.
    pub status: AuthzStatus,
    /// Expiry.
    pub expires: i64,
    /// The token's `ca` claim (RFC 9448 §4), once validated.
    pub ca_grant: Option<bool>,
    /// The `jti` of the token that validated it.
    pub token_jti: Option<String>,
    /// That token's `exp`.
    pub token_exp: Option<i64>,
    /// The JWT claim constraints the token asked for (RFC 8226 §8 / RFC 9118), once validated.
    pub claim_constraints: Option<ClaimConstraints>,
    /// The serial of the stica-issued certificate that signed the token, when a carrier
    /// delegated directly (issue 3); its revocation revokes what this authorization yields.
    pub parent_serial: Option<String>,
}

/// An ACME challenge (RFC 8555 §8; `tkauth-01`, RFC 9447 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Random opaque id.
    pub id: String,
    /// The authorization it belongs to.
    pub authz_id: String,
    /// Challenge type.
    pub kind: String,
    /// Challenge status.
    pub status: ChallengeStatus,
    /// Random token.
    pub token: String,
    /// When it was validated.
    pub validated_at: Option<i64>,
    /// Problem document JSON when validation failed (RFC 8555 §8: stored on the challenge).
    pub error: Option<String>,
}

/// An issued certificate and its issuance metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    /// Serial, lowercase hex.
    pub serial: String,
    /// The account it was issued to.
    pub account_id: String,
    /// The order it finalized.
    pub order_id: String,
    /// Profile name (`shaken-spc`).
    pub profile: String,
    /// The leaf, DER.
    pub der: Vec<u8>,
    /// Leaf then intermediate, PEM.
    pub chain_pem: String,
    /// notBefore.
    pub not_before: i64,
    /// notAfter.
    pub not_after: i64,
    /// The `jti` of the Authority Token behind it.
    pub token_jti: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// The certificate whose scope this one was carved from (a delegate's `sca` or TN-level
    /// parent): revoking the parent revokes this one (RFC 9060 §7).
    pub parent_serial: Option<String>,
}

/// A revocation as stored (RFC 5280 §5.3.1 reason code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// When stica processed it (the CRL entry's revocationDate), unix seconds.
    pub revoked_at: i64,
    /// CRLReason code (0-10, never 7).
    pub reason: u8,
    /// Who or what caused it, for the record and the API: `account:<id>` (the issuing account),
    /// `authorization:<id>` (an account holding a valid authorization for the TNAuthList),
    /// `certificate-key`, `operator`, or `parent:<serial>` (the parent certificate was revoked).
    pub cause: String,
}

/// A certificate with its publication and revocation state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateState {
    /// The issued certificate.
    pub cert: CertificateRecord,
    /// SHA-256 of the DER certificate, lowercase hex.
    pub sha256: String,
    /// The certificate whose revocation revokes this one too (a delegate's `sca`).
    pub parent_serial: Option<String>,
    /// Set once revoked.
    pub revocation: Option<Revocation>,
}

/// What happened to a certificate, in the change sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeEvent {
    /// It was issued (and published).
    Issued,
    /// It was revoked.
    Revoked,
}

impl ChangeEvent {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeEvent::Issued => "issued",
            ChangeEvent::Revoked => "revoked",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "issued" => Some(ChangeEvent::Issued),
            "revoked" => Some(ChangeEvent::Revoked),
            _ => None,
        }
    }
}

/// One entry of the change sequence (commit-ordered; `seq` only grows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in the sequence.
    pub seq: i64,
    /// The certificate.
    pub serial: String,
    /// What happened.
    pub event: ChangeEvent,
    /// When, unix seconds.
    pub at: i64,
}

/// What a revocation request changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Revoked now; `cascaded` lists the certificates below it revoked with it.
    Revoked {
        /// Serials revoked because an ancestor was (`parent:<serial>` cause).
        cascaded: Vec<String>,
    },
    /// It was revoked before (nothing changed).
    AlreadyRevoked(Revocation),
    /// No certificate has this serial.
    NotFound,
}

/// A revoked certificate as a CRL entry needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Serial, lowercase hex.
    pub serial: String,
    /// The certificate, DER (its issuer name goes into the entry's certificateIssuer).
    pub der: Vec<u8>,
    /// revocationDate, unix seconds.
    pub revoked_at: i64,
    /// CRLReason code.
    pub reason: u8,
}

/// What a CRL is built from, read under the CRL number lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlInput {
    /// The cRLNumber to use (one more than the last one handed out).
    pub number: i64,
    /// The last change sequence number of a revocation that the entries include.
    pub covered_seq: i64,
    /// The revoked certificates to list, by serial.
    pub entries: Vec<RevokedEntry>,
}

/// A published CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCrl {
    /// cRLNumber.
    pub number: i64,
    /// thisUpdate, unix seconds.
    pub this_update: i64,
    /// nextUpdate, unix seconds.
    pub next_update: i64,
    /// The last revocation change it includes.
    pub covered_seq: i64,
    /// The URL it is published at.
    pub url: String,
    /// The CRL, DER.
    pub der: Vec<u8>,
}

/// An issuance-state API consumer (the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Random opaque id.
    pub id: String,
    /// The consumer's name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// How an Authority Token `jti` has been used before (RFC 9447 §5: the CA tracks token use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// Never seen: recorded now for this account.
    First,
    /// Seen before, for the same account (reuse until `exp` is a policy decision).
    SameAccount,
    /// Seen before, for another account: never acceptable.
    OtherAccount,
}

/// The outcome of validating a challenge, applied by
/// [`Storage::record_challenge_result`](super::Storage::record_challenge_result).
///
/// The authorization follows the challenge (RFC 8555 §7.1.6: one valid challenge makes it valid,
/// a failed one makes it invalid) and the order follows its authorizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeOutcome {
    /// The Authority Token proved control (RFC 9447 §3, RFC 9448 §5).
    Valid {
        /// The token's `ca` claim (RFC 9448 §4): whether it grants a CA certificate.
        ca_grant: bool,
        /// The token's `jti`.
        token_jti: String,
        /// The token's `exp`.
        token_exp: i64,
        /// The JWT claim constraints the token asked for.
        claim_constraints: Option<ClaimConstraints>,
        /// The stica-issued certificate that signed the token (direct delegation), if any.
        parent_serial: Option<String>,
    },
    /// Validation failed.
    Invalid {
        /// The problem document JSON, stored on the challenge (RFC 8555 §8) and the order.
        error: String,
    },
}

fn corrupt(what: &str, value: &str) -> DbErr {
    DbErr::Custom(format!("corrupt stored {what}: {value:?}"))
}

fn json_list(what: &str, value: &str) -> Result<Vec<String>, DbErr> {
    serde_json::from_str(value).map_err(|_| corrupt(what, value))
}

/// JSON text for a list of strings (contact URLs, SPCs).
pub(super) fn json_text(list: &[String]) -> String {
    // Serializing a list of strings cannot fail; fall back to an empty list to stay panic-free.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string())
}

impl TryFrom<entity::account::Model> for Account {
    type Error = DbErr;
    fn try_from(m: entity::account::Model) -> Result<Self, DbErr> {
        Ok(Self {
            status: AccountStatus::parse(&m.status)
                .ok_or_else(|| corrupt("account status", &m.status))?,
            contact: json_list("account contact", &m.contact)?,
            id: m.id,
            jwk: m.jwk,
            thumbprint: m.thumbprint,
            eab_kid: m.eab_kid,
            created_at: m.created_at,
        })
    }
}

impl From<&Account> for entity::account::ActiveModel {
    fn from(a: &Account) -> Self {
        Self {
            id: Set(a.id.clone()),
            jwk: Set(a.jwk.clone()),
            thumbprint: Set(a.thumbprint.clone()),
            status: Set(a.status.as_str().to_string()),
            contact: Set(json_text(&a.contact)),
            eab_kid: Set(a.eab_kid.clone()),
            created_at: Set(a.created_at),
        }
    }
}

impl TryFrom<entity::eab_key::Model> for EabKey {
    type Error = DbErr;
    fn try_from(m: entity::eab_key::Model) -> Result<Self, DbErr> {
        Ok(Self {
            spcs: json_list("eab spcs", &m.spcs)?,
            kid: m.kid,
            hmac_key: m.hmac_key,
            name: m.name,
            account_id: m.account_id,
            created_at: m.created_at,
        })
    }
}

impl From<&EabKey> for entity::eab_key::ActiveModel {
    fn from(k: &EabKey) -> Self {
        Self {
            kid: Set(k.kid.clone()),
            hmac_key: Set(k.hmac_key.clone()),
            name: Set(k.name.clone()),
            spcs: Set(json_text(&k.spcs)),
            account_id: Set(k.account_id.clone()),
            created_at: Set(k.created_at),
        }
    }
}

impl TryFrom<entity::order::Model> for Order {
    type Error = DbErr;
    fn try_from(m: entity::order::Model) -> Result<Self, DbErr> {
        Ok(Self {
            status: OrderStatus::parse(&m.status)
                .ok_or_else(|| corrupt("order status", &m.status))?,
            id: m.id,
            account_id: m.account_id,
            identifier_der: m.identifier_der,
            not_before: m.not_before,
            not_after: m.not_after,
            expires: m.expires,
            error: m.error,
            certificate_serial: m.certificate_serial,
            created_at: m.created_at,
            processing_since: m.processing_since,
        })
    }
}

impl From<&Order> for entity::order::ActiveModel {
    fn from(o: &Order) -> Self {
        Self {
            id: Set(o.id.clone()),
            account_id: Set(o.account_id.clone()),
            status: Set(o.status.as_str().to_string()),
            identifier_der: Set(o.identifier_der.clone()),
            not_before: Set(o.not_before),
            not_after: Set(o.not_after),
            expires: Set(o.expires),
            error: Set(o.error.clone()),
            certificate_serial: Set(o.certificate_serial.clone()),
            created_at: Set(o.created_at),
            processing_since: Set(o.processing_since),
        }
    }
}

impl TryFrom<entity::authz::Model> for Authz {
    type Error = DbErr;
    fn try_from(m: entity::authz::Model) -> Result<Self, DbErr> {
        Ok(Self {
            status: AuthzStatus::parse(&m.status)
                .ok_or_else(|| corrupt("authz status", &m.status))?,
            id: m.id,
            account_id: m.account_id,
            order_id: m.order_id,
            identifier_der: m.identifier_der,
            expires: m.expires,
            ca_grant: m.ca_grant,
            token_jti: m.token_jti,
            token_exp: m.token_exp,
            claim_constraints: m
                .claim_constraints
                .as_deref()
                .map(|text| {
                    claim_constraints_from_text(text)
                        .ok_or_else(|| corrupt("authz claim_constraints", text))
                })
                .transpose()?,
            parent_serial: m.parent_serial,
        })
    }
}

impl From<&Authz> for entity::authz::ActiveModel {
    fn from(a: &Authz) -> Self {
        Self {
            id: Set(a.id.clone()),
            account_id: Set(a.account_id.clone()),
            order_id: Set(a.order_id.clone()),
            identifier_der: Set(a.identifier_der.clone()),
            status: Set(a.status.as_str().to_string()),
            expires: Set(a.expires),
            ca_grant: Set(a.ca_grant),
            token_jti: Set(a.token_jti.clone()),
            token_exp: Set(a.token_exp),
            claim_constraints: Set(a.claim_constraints.as_ref().map(claim_constraints_to_text)),
            parent_serial: Set(a.parent_serial.clone()),
        }
    }
}

impl TryFrom<entity::challenge::Model> for Challenge {
    type Error = DbErr;
    fn try_from(m: entity::challenge::Model) -> Result<Self, DbErr> {
        Ok(Self {
            status: ChallengeStatus::parse(&m.status)
                .ok_or_else(|| corrupt("challenge status", &m.status))?,
            id: m.id,
            authz_id: m.authz_id,
            kind: m.kind,
            token: m.token,
            validated_at: m.validated_at,
            error: m.error,
        })
    }
}

impl From<&Challenge> for entity::challenge::ActiveModel {
    fn from(c: &Challenge) -> Self {
        Self {
            id: Set(c.id.clone()),
            authz_id: Set(c.authz_id.clone()),
            kind: Set(c.kind.clone()),
            status: Set(c.status.as_str().to_string()),
            token: Set(c.token.clone()),
            validated_at: Set(c.validated_at),
            error: Set(c.error.clone()),
        }
    }
}

impl From<entity::certificate::Model> for CertificateRecord {
    fn from(m: entity::certificate::Model) -> Self {
        Self {
            serial: m.serial,
            account_id: m.account_id,
            order_id: m.order_id,
            profile: m.profile,
            der: m.der,
            chain_pem: m.chain_pem,
            not_before: m.not_before,
            not_after: m.not_after,
            token_jti: m.token_jti,
            created_at: m.created_at,
            parent_serial: m.parent_serial,
        }
    }
}

impl From<&CertificateRecord> for entity::certificate::ActiveModel {
    fn from(c: &CertificateRecord) -> Self {
        Self {
            serial: Set(c.serial.clone()),
            account_id: Set(c.account_id.clone()),
            order_id: Set(c.order_id.clone()),
            profile: Set(c.profile.clone()),
            der: Set(c.der.clone()),
            chain_pem: Set(c.chain_pem.clone()),
            not_before: Set(c.not_before),
            not_after: Set(c.not_after),
            token_jti: Set(c.token_jti.clone()),
            created_at: Set(c.created_at),
            der_sha256: Set(Some(sha256_hex(&c.der))),
            revoked_at: NotSet,
            revocation_reason: NotSet,
            revocation_cause: NotSet,
            parent_serial: Set(c.parent_serial.clone()),
        }
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}

impl TryFrom<entity::certificate::Model> for CertificateState {
    type Error = DbErr;
    fn try_from(m: entity::certificate::Model) -> Result<Self, DbErr> {
        let sha256 = m.der_sha256.clone().unwrap_or_else(|| sha256_hex(&m.der));
        let revocation = match (m.revoked_at, m.revocation_reason) {
            (None, _) => None,
            (Some(revoked_at), reason) => {
                let reason = reason.unwrap_or(0);
                Some(Revocation {
                    revoked_at,
                    reason: u8::try_from(reason)
                        .map_err(|_| corrupt("revocation reason", &reason.to_string()))?,
                    cause: m.revocation_cause.clone().unwrap_or_default(),
                })
            }
        };
        let parent_serial = m.parent_serial.clone();
        Ok(Self {
            cert: CertificateRecord::from(m),
            sha256,
            parent_serial,
            revocation,
        })
    }
}

impl TryFrom<entity::status_change::Model> for Change {
    type Error = DbErr;
    fn try_from(m: entity::status_change::Model) -> Result<Self, DbErr> {
        Ok(Self {
            event: ChangeEvent::parse(&m.event).ok_or_else(|| corrupt("change event", &m.event))?,
            seq: m.seq,
            serial: m.serial,
            at: m.at,
        })
    }
}

impl From<entity::crl::Model> for StoredCrl {
    fn from(m: entity::crl::Model) -> Self {
        Self {
            number: m.number,
            this_update: m.this_update,
            next_update: m.next_update,
            covered_seq: m.covered_seq,
            url: m.url,
            der: m.der,
        }
    }
}

impl From<entity::api_token::Model> for ApiToken {
    fn from(m: entity::api_token::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            created_at: m.created_at,
        }
    }
}

/// The stored form of claim constraints: `jwtcc:<b64url DER>` or `ejwtcc:<b64url DER>`.
pub(crate) fn claim_constraints_to_text(c: &ClaimConstraints) -> String {
    let kind = match c {
        ClaimConstraints::Legacy(_) => "jwtcc",
        ClaimConstraints::Enhanced(_) => "ejwtcc",
    };
    format!("{kind}:{}", crate::jose::b64::encode_url(&c.to_der()))
}

/// Reads [`claim_constraints_to_text`]'s form.
pub(crate) fn claim_constraints_from_text(text: &str) -> Option<ClaimConstraints> {
    let (kind, b64) = text.split_once(':')?;
    let der = crate::jose::b64::decode_url(b64).ok()?;
    let oid = match kind {
        "jwtcc" => crate::tnauth::jwtcc::ID_PE_JWT_CLAIM_CONSTRAINTS,
        "ejwtcc" => crate::tnauth::jwtcc::ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS,
        _ => return None,
    };
    ClaimConstraints::from_extension(&oid, &der).ok().flatten()
}
