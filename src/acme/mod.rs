//! ACME wire types (RFC 8555 §7.1, RFC 9447 §3, RFC 9448 §3-4): serde only, no I/O.

use serde::{Deserialize, Serialize};

use crate::error::Problem;

/// The identifier type for TNAuthList orders (RFC 9448 §3).
pub const TNAUTHLIST: &str = "TNAuthList";
/// The Authority Token challenge type (RFC 9447 §3).
pub const TKAUTH_01: &str = "tkauth-01";
/// The token type for TNAuthList tokens (RFC 9448 §4: a JWT with an `atc` claim).
pub const TKAUTH_TYPE_ATC: &str = "atc";

/// An identifier in an order (RFC 8555 §7.1.3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Identifier {
    /// `TNAuthList` is the only type stica issues for.
    #[serde(rename = "type")]
    pub kind: String,
    /// For TNAuthList: the DER TNAuthorizationList, base64url without padding when stica writes it.
    pub value: String,
}

/// Account status (RFC 8555 §7.1.6).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// usable
    Valid,
    /// deactivated by the client (final)
    Deactivated,
    /// revoked by the server (final)
    Revoked,
}

/// Order status (RFC 8555 §7.1.6).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// waiting for authorizations
    Pending,
    /// all authorizations valid; finalize may be called
    Ready,
    /// finalize received; issuing
    Processing,
    /// certificate issued
    Valid,
    /// failed or expired
    Invalid,
}

/// Authorization status (RFC 8555 §7.1.6).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthzStatus {
    /// waiting for a challenge
    Pending,
    /// a challenge succeeded
    Valid,
    /// a challenge failed
    Invalid,
    /// deactivated by the client
    Deactivated,
    /// past `expires`
    Expired,
    /// revoked by the server
    Revoked,
}

/// Challenge status (RFC 8555 §7.1.6).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChallengeStatus {
    /// not yet answered
    Pending,
    /// being validated
    Processing,
    /// validated
    Valid,
    /// failed
    Invalid,
}

macro_rules! status_str {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// The wire (and database) spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            /// Parses the wire (and database) spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}
status_str!(AccountStatus { Valid => "valid", Deactivated => "deactivated", Revoked => "revoked" });
status_str!(OrderStatus { Pending => "pending", Ready => "ready", Processing => "processing", Valid => "valid", Invalid => "invalid" });
status_str!(AuthzStatus { Pending => "pending", Valid => "valid", Invalid => "invalid", Deactivated => "deactivated", Expired => "expired", Revoked => "revoked" });
status_str!(ChallengeStatus { Pending => "pending", Processing => "processing", Valid => "valid", Invalid => "invalid" });

/// The directory object (RFC 8555 §7.1.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    /// newNonce URL
    pub new_nonce: String,
    /// newAccount URL
    pub new_account: String,
    /// newOrder URL
    pub new_order: String,
    /// revokeCert URL
    pub revoke_cert: String,
    /// keyChange URL
    pub key_change: String,
    /// server metadata
    pub meta: DirectoryMeta,
}

/// Directory metadata (RFC 8555 §7.1.1).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryMeta {
    /// terms of service URL
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms_of_service: Option<String>,
    /// operator web site
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// whether newAccount needs an external account binding
    pub external_account_required: bool,
    /// certificate profiles stica issues (name → description)
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub profiles: std::collections::BTreeMap<String, String>,
}

/// The account object (RFC 8555 §7.1.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// account status
    pub status: AccountStatus,
    /// contact URLs
    #[serde(default)]
    pub contact: Vec<String>,
    /// URL listing the account's orders
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<String>,
    /// the EAB the account was created with (echoed per §7.3.4)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_account_binding: Option<serde_json::Value>,
}

/// The newAccount request payload (RFC 8555 §7.3).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct NewAccount {
    /// contact URLs
    #[serde(default)]
    pub contact: Option<Vec<String>>,
    /// whether the client agreed to the terms
    #[serde(default)]
    pub terms_of_service_agreed: Option<bool>,
    /// look up only
    #[serde(default)]
    pub only_return_existing: Option<bool>,
    /// a flattened JWS by the EAB MAC key over the account JWK
    #[serde(default)]
    pub external_account_binding: Option<serde_json::Value>,
}

/// The account update payload (RFC 8555 §7.3.2, §7.3.6).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct AccountUpdate {
    /// new contacts
    #[serde(default)]
    pub contact: Option<Vec<String>>,
    /// `deactivated` to deactivate
    #[serde(default)]
    pub status: Option<String>,
}

/// The newOrder payload (RFC 8555 §7.4).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOrder {
    /// identifiers to certify
    pub identifiers: Vec<Identifier>,
    /// requested notBefore (RFC 3339)
    #[serde(default)]
    pub not_before: Option<String>,
    /// requested notAfter (RFC 3339)
    #[serde(default)]
    pub not_after: Option<String>,
}

/// The order object (RFC 8555 §7.1.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// order status
    pub status: OrderStatus,
    /// when the order expires (RFC 3339)
    pub expires: String,
    /// identifiers
    pub identifiers: Vec<Identifier>,
    /// requested notBefore
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// requested notAfter
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// why the order failed
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
    /// authorization URLs
    pub authorizations: Vec<String>,
    /// finalize URL
    pub finalize: String,
    /// certificate URL once valid
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// STI-CR URL of the published chain (SHAKEN practice; see interop.md)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5u: Option<String>,
}

/// The finalize payload (RFC 8555 §7.4).
#[derive(Debug, Clone, Deserialize)]
pub struct Finalize {
    /// base64url DER CSR
    pub csr: String,
}

/// The authorization object (RFC 8555 §7.1.4, RFC 9448 §4).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Authorization {
    /// the identifier
    pub identifier: Identifier,
    /// status
    pub status: AuthzStatus,
    /// expiry (RFC 3339)
    pub expires: String,
    /// its challenges
    pub challenges: Vec<Challenge>,
}

impl Authorization {
    /// Its tkauth-01 challenge (RFC 9447 §3), if it offers one.
    pub fn tkauth(&self) -> Option<&Challenge> {
        self.challenges.iter().find(|c| c.kind == TKAUTH_01)
    }
}

/// A challenge object (RFC 8555 §8, RFC 9447 §3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Challenge {
    /// `tkauth-01`
    #[serde(rename = "type")]
    pub kind: String,
    /// challenge URL
    pub url: String,
    /// status
    pub status: ChallengeStatus,
    /// `atc` (RFC 9448 §4)
    #[serde(rename = "tkauth-type", skip_serializing_if = "Option::is_none")]
    pub tkauth_type: Option<String>,
    /// random token (unused by SHAKEN clients; RFC 9447 examples carry one)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// when it was validated (RFC 3339)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validated: Option<String>,
    /// why it failed
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// Formats unix seconds as RFC 3339 (UTC, whole seconds), the form every ACME timestamp uses.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

/// Parses an RFC 3339 timestamp to unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Now, in unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
