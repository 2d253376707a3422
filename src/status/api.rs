//! The issuance-state API (docs/openapi.yaml): read-only JSON for external OCSP responders and
//! verification services. Look a certificate up by serial or by the SHA-256 of its DER, or mirror
//! every issuance and revocation incrementally with `GET /api/v1/changes?since=<cursor>`.
//!
//! Every request carries `Authorization: Bearer <token>` (RFC 6750 §2.1). Tokens are made per
//! consumer with `stica api-token add` and stored as SHA-256 only; a missing or unknown token is
//! 401 with an RFC 9457 problem document and `WWW-Authenticate`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use der::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::acme::rfc3339;
use crate::jose::b64;
use crate::sa::model::sha256_hex;
use crate::sa::{ApiToken, CertificateState};

use super::http::StatusState;
use super::reason;

/// Prefix of every token, so a leaked one is recognizable in logs and secret scanners.
pub const TOKEN_PREFIX: &str = "stica_api_";
/// Default page size of `changes`.
pub const DEFAULT_LIMIT: u64 = 100;
/// Largest page size of `changes`.
pub const MAX_LIMIT: u64 = 1000;
/// OID of the TNAuthList extension (RFC 8226 §9).
const TN_AUTH_LIST: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.26");

/// A new token: `stica_api_` + 256 random bits (base64url), and its SHA-256 (what is stored).
pub fn generate_token() -> Result<(String, String), String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| "system random number generator failed")?;
    let token = format!("{TOKEN_PREFIX}{}", b64::encode_url(&bytes));
    let hash = token_sha256(&token);
    Ok((token, hash))
}

/// The stored form of a token.
pub fn token_sha256(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// An API error: an RFC 9457 problem document.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
}

impl ApiError {
    fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }
    fn unauthorized(detail: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }
    fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "no certificate matches")
    }
    fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "issuance-state API failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not complete the request; it has been logged",
        )
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApiProblem {
    /// always `about:blank`: the HTTP status says what kind of problem it is
    #[serde(rename = "type")]
    pub kind: String,
    /// the status phrase
    pub title: String,
    /// the HTTP status
    pub status: u16,
    /// what went wrong
    pub detail: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ApiProblem {
            kind: "about:blank".into(),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
        };
        let mut resp = (self.status, Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"stica\", error=\"invalid_token\""),
            );
        }
        resp
    }
}

/// Checks the bearer token (RFC 6750 §2.1) and returns its consumer.
async fn consumer(s: &StatusState, headers: &HeaderMap) -> Result<ApiToken, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <token>"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <token>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthorized("send Authorization: Bearer <token>"));
    }
    let token = token.trim();
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Err(ApiError::unauthorized("the token is not valid"));
    }
    s.sa.api_token_by_hash(&token_sha256(token))
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::unauthorized("the token is not valid"))
}

/// A certificate's issuer, with the hashes an OCSP CertID uses (RFC 6960 §4.1.1).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssuerView {
    /// The issuer name (RFC 4514 text).
    pub subject: String,
    /// SHA-1 of the DER issuer name (issuerNameHash with SHA-1).
    pub name_sha1: String,
    /// SHA-256 of the DER issuer name.
    pub name_sha256: String,
    /// SHA-1 of the issuer's public key (issuerKeyHash with SHA-1), when stica holds the issuer.
    pub key_sha1: Option<String>,
    /// SHA-256 of the issuer's public key, when stica holds the issuer.
    pub key_sha256: Option<String>,
}

/// A revocation.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RevocationView {
    /// When stica revoked it (RFC 3339).
    pub revoked_at: String,
    /// CRLReason code (RFC 5280 §5.3.1).
    pub reason: u8,
    /// Its RFC 5280 name.
    pub reason_name: String,
    /// `account:<id>`, `authorization:<id>`, `certificate-key`, `operator` or `parent:<serial>`.
    pub cause: String,
}

/// A certificate and its status now.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CertificateView {
    /// Serial number, lowercase hex.
    pub serial: String,
    /// SHA-256 of the DER certificate, lowercase hex.
    pub sha256: String,
    /// `good` or `revoked` (OCSP's terms, RFC 6960 §2.2).
    pub status: String,
    /// The profile it was issued under.
    pub profile: String,
    /// notBefore (RFC 3339).
    pub not_before: String,
    /// notAfter (RFC 3339).
    pub not_after: String,
    /// When stica issued and published it (RFC 3339).
    pub issued_at: String,
    /// The TNAuthList extension value, base64url DER.
    pub tnauthlist: Option<String>,
    /// The certificate whose revocation revokes this one too.
    pub parent_serial: Option<String>,
    /// The issuer.
    pub issuer: IssuerView,
    /// Set when revoked.
    pub revocation: Option<RevocationView>,
    /// The published chain (STI-CR).
    pub chain_url: String,
}

fn hex_digest(alg: &'static aws_lc_rs::digest::Algorithm, bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(alg, bytes))
}

fn view(s: &StatusState, st: &CertificateState) -> Result<CertificateView, ApiError> {
    use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY as SHA1, SHA256};
    let cert = x509_cert::Certificate::from_der(&st.cert.der).map_err(ApiError::internal)?;
    let tbs = cert.tbs_certificate();
    let issuer_der = tbs.issuer().to_der().map_err(ApiError::internal)?;
    let key = s.issuer_keys.get(&issuer_der);
    let tnauthlist = tbs
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id == TN_AUTH_LIST)
        .map(|e| b64::encode_url(e.extn_value.as_bytes()));
    Ok(CertificateView {
        serial: st.cert.serial.clone(),
        sha256: st.sha256.clone(),
        status: if st.revocation.is_some() {
            "revoked"
        } else {
            "good"
        }
        .to_string(),
        profile: st.cert.profile.clone(),
        not_before: rfc3339(st.cert.not_before),
        not_after: rfc3339(st.cert.not_after),
        issued_at: rfc3339(st.cert.created_at),
        tnauthlist,
        parent_serial: st.parent_serial.clone(),
        issuer: IssuerView {
            subject: tbs.issuer().to_string(),
            name_sha1: hex_digest(&SHA1, &issuer_der),
            name_sha256: hex_digest(&SHA256, &issuer_der),
            key_sha1: key.as_ref().map(|k| hex_digest(&SHA1, k)),
            key_sha256: key.as_ref().map(|k| hex_digest(&SHA256, k)),
        },
        revocation: st.revocation.as_ref().map(|r| RevocationView {
            revoked_at: rfc3339(r.revoked_at),
            reason: r.reason,
            reason_name: reason::name(r.reason).to_string(),
            cause: r.cause.clone(),
        }),
        chain_url: s.urls.cr(&st.cert.serial),
    })
}

fn json<T: Serialize>(body: &T) -> Response {
    let mut resp = Json(body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `GET /api/v1/certificates/{serial}`
pub async fn by_serial(
    State(s): State<Arc<StatusState>>,
    Path(serial): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    consumer(&s, &headers).await?;
    let serial = serial.to_ascii_lowercase();
    if serial.is_empty() || serial.len() > 42 || !is_lower_hex(&serial) {
        return Err(ApiError::bad_request("the serial must be hex"));
    }
    let st =
        s.sa.certificate_state(&serial)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(ApiError::not_found)?;
    Ok(json(&view(&s, &st)?))
}

/// `GET /api/v1/certificates/by-hash/{sha256}`
pub async fn by_hash(
    State(s): State<Arc<StatusState>>,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    consumer(&s, &headers).await?;
    let hash = hash.to_ascii_lowercase();
    if hash.len() != 64 || !is_lower_hex(&hash) {
        return Err(ApiError::bad_request(
            "the hash must be the SHA-256 of the DER certificate, 64 hex digits",
        ));
    }
    let st =
        s.sa.certificate_state_by_hash(&hash)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(ApiError::not_found)?;
    Ok(json(&view(&s, &st)?))
}

/// The opaque cursor of a position in the change sequence.
pub fn encode_cursor(seq: i64) -> String {
    b64::encode_url(&seq.to_be_bytes())
}

/// The position a cursor names.
pub fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes: [u8; 8] = b64::decode_url(cursor).ok()?.try_into().ok()?;
    Some(i64::from_be_bytes(bytes)).filter(|s| *s >= 0)
}

/// Query of `changes`.
#[derive(Debug, Deserialize)]
pub struct ChangesQuery {
    /// Cursor from an earlier page (`next_cursor` or an entry's `cursor`); absent: from the start.
    pub since: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u64>,
}

/// One change.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChangeView {
    /// The cursor just after this change.
    pub cursor: String,
    /// `issued` or `revoked`.
    pub event: String,
    /// The certificate.
    pub serial: String,
    /// When it happened (RFC 3339).
    pub at: String,
    /// The certificate's state now (not at the time of the event).
    pub certificate: CertificateView,
}

/// A page of changes.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChangesPage {
    /// The changes, oldest first.
    pub changes: Vec<ChangeView>,
    /// Pass as `since` for the next page (the request's own cursor when the page is empty).
    pub next_cursor: String,
    /// True when more changes are waiting (ask again at once).
    pub has_more: bool,
}

/// `GET /api/v1/changes?since=<cursor>&limit=N`
pub async fn changes(
    State(s): State<Arc<StatusState>>,
    Query(q): Query<ChangesQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    consumer(&s, &headers).await?;
    let after = match q.since.as_deref() {
        None | Some("") => 0,
        Some(c) => decode_cursor(c)
            .ok_or_else(|| ApiError::bad_request("since is not a cursor this API returned"))?,
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let mut rows =
        s.sa.changes_since(after, limit + 1)
            .await
            .map_err(ApiError::internal)?;
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let serials: Vec<String> = rows.iter().map(|c| c.serial.clone()).collect();
    let states =
        s.sa.certificate_states(&serials)
            .await
            .map_err(ApiError::internal)?;
    let mut changes = Vec::with_capacity(rows.len());
    for c in &rows {
        let st = states
            .get(&c.serial)
            .ok_or_else(|| ApiError::internal(format!("change {} names no certificate", c.seq)))?;
        changes.push(ChangeView {
            cursor: encode_cursor(c.seq),
            event: c.event.as_str().to_string(),
            serial: c.serial.clone(),
            at: rfc3339(c.at),
            certificate: view(&s, st)?,
        });
    }
    let next = rows.last().map_or(after, |c| c.seq);
    Ok(json(&ChangesPage {
        changes,
        next_cursor: encode_cursor(next),
        has_more,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for seq in [0, 1, 42, i64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(seq)), Some(seq));
        }
        for bad in ["", "x", "AAAA", "!!!!!!!!!!!", &encode_cursor(-1)] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_are_prefixed_random_and_stored_hashed() {
        let (a, ha) = generate_token().unwrap();
        let (b, hb) = generate_token().unwrap();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert_eq!(ha, token_sha256(&a));
        assert_eq!(ha.len(), 64);
        assert!(!ha.contains(&a[TOKEN_PREFIX.len()..]));
    }
}
