//! The HTTP API of the dev token authority, shaped like iconectiv's STI-PA API (standards.md §2.8
//! and §4) so SHAKEN client software can use it unchanged.
//!
//! Every JSON answer carries `"status":"success"` or `"status":"error"` with a `message`, as the
//! STI-PA's does. The access token goes in a raw `Authorization: <token>` header (the STI-PA form);
//! `Bearer <token>` is accepted too.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::{DevTokenAuthority, PaError, TokenRequest};
use crate::tnauth::{Spc, TnAuthList};

/// Request bodies are small JSON objects; anything bigger is refused with 413.
pub const MAX_BODY: usize = 16 * 1024;

/// Longest SPC accepted in the path (SHAKEN SPCs are 4 characters).
const MAX_SPC_LEN: usize = 16;

pub(super) fn router(pa: DevTokenAuthority) -> Router {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/account/{spc}/token", post(token))
        .route("/api/v1/ca-list", get(ca_list))
        .route("/cert.pem", get(cert))
        .route("/crl", get(crl))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(pa)
}

/// An error answer: `{"status":"error","message":..}` with an HTTP status.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "missing, unknown or expired access token",
        )
    }
}

impl From<PaError> for ApiError {
    fn from(e: PaError) -> Self {
        match e {
            PaError::InvalidRequest(detail) => Self::bad_request(detail),
            other => {
                tracing::error!(error = %other, "dev token authority: internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        Self::new(e.status(), e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"status": "error", "message": self.message});
        (self.status, axum::Json(body)).into_response()
    }
}

/// `POST /api/v1/auth/login` body.
#[derive(Debug, Deserialize)]
struct LoginRequest {
    #[serde(rename = "userId")]
    user_id: String,
    password: String,
}

/// `POST /api/v1/account/{spc}/token` body: the `atc` the token will carry (RFC 9448 §5.5).
#[derive(Debug, Deserialize)]
struct TokenBody {
    atc: AtcBody,
}

#[derive(Debug, Deserialize)]
struct AtcBody {
    tktype: String,
    tkvalue: String,
    #[serde(default)]
    ca: bool,
    fingerprint: String,
    /// JWT claim constraints for the certificate (base64 DER JWTClaimConstraints), copied into
    /// the token (a stica extension, see `va::tkauth`).
    #[serde(default)]
    jwtcc: Option<String>,
    /// The same as EnhancedJWTClaimConstraints (RFC 9118); never together with `jwtcc`.
    #[serde(default)]
    ejwtcc: Option<String>,
}

/// The claim constraints a token request asks for.
fn requested_claim_constraints(
    atc: &AtcBody,
) -> Result<Option<crate::tnauth::jwtcc::ClaimConstraints>, ApiError> {
    use crate::tnauth::jwtcc::{
        ClaimConstraints, ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS, ID_PE_JWT_CLAIM_CONSTRAINTS,
    };
    let (member, text, oid) = match (&atc.jwtcc, &atc.ejwtcc) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "atc.jwtcc and atc.ejwtcc together: a certificate carries one kind, never both",
            ));
        }
        (Some(t), None) => ("atc.jwtcc", t, ID_PE_JWT_CLAIM_CONSTRAINTS),
        (None, Some(t)) => ("atc.ejwtcc", t, ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS),
    };
    let der = crate::jose::b64::decode_lenient(text)
        .map_err(|e| ApiError::bad_request(format!("{member}: not base64: {e}")))?;
    ClaimConstraints::from_extension(&oid, &der)
        .map_err(|e| ApiError::bad_request(format!("{member}: {e}")))
}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

async fn login(
    State(pa): State<DevTokenAuthority>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let req: LoginRequest = parse_json(&body)?;
    match pa.login(&req.user_id, &req.password)? {
        Some(access_token) => {
            tracing::info!(user = %req.user_id, "dev token authority: login");
            Ok(
                axum::Json(json!({"status": "success", "accessToken": access_token}))
                    .into_response(),
            )
        }
        None => {
            tracing::warn!(user = %req.user_id, "dev token authority: failed login");
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid userId or password",
            ))
        }
    }
}

/// The access token from `Authorization: <token>` or `Authorization: Bearer <token>`.
fn access_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => value,
    };
    (!token.is_empty()).then_some(token)
}

fn authenticated<'a>(
    pa: &'a DevTokenAuthority,
    headers: &HeaderMap,
) -> Result<&'a super::DevPaUser, ApiError> {
    access_token(headers)
        .and_then(|t| pa.session_user(t))
        .ok_or_else(ApiError::unauthorized)
}

async fn token(
    State(pa): State<DevTokenAuthority>,
    headers: HeaderMap,
    spc: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let user = authenticated(&pa, &headers)?;
    let Path(spc) = spc.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let spc = match Spc::new(spc.as_str()) {
        Ok(parsed) if parsed.is_shaken_form() && spc.len() <= MAX_SPC_LEN => parsed,
        _ => {
            return Err(ApiError::bad_request(format!(
                "{spc:?} is not an SPC (1 to {MAX_SPC_LEN} characters 0-9 A-Z)"
            )));
        }
    };
    if !user.may_act_for(spc.as_str()) {
        tracing::warn!(user = %user.user_id, spc = %spc, "dev token authority: SPC not allowed");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("user is not authorized for spc: {spc}"),
        ));
    }
    let body = body?;
    let req: TokenBody = parse_json(&body)?;
    // RFC 9447 §3.1: tktype is an ACME identifier type; tolerate the RFC 9447 example's casing.
    if !req.atc.tktype.eq_ignore_ascii_case(crate::acme::TNAUTHLIST) {
        return Err(ApiError::bad_request(format!(
            "atc.tktype must be {}",
            crate::acme::TNAUTHLIST
        )));
    }
    let tnauthlist = TnAuthList::from_identifier_value(&req.atc.tkvalue)
        .map_err(|e| ApiError::bad_request(format!("atc.tkvalue: {e}")))?;
    let kind = if tnauthlist.has_numbers() {
        // A TN-list token (issue 3): numbers and ranges, optionally with this SPC, for users
        // that users.toml allows (`tn_lists = true`).
        if !user.tn_lists {
            tracing::warn!(user = %user.user_id, spc = %spc, "dev token authority: TN lists not allowed");
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "user is not authorized for TN-list tokens (users.toml: tn_lists = true); send a TNAuthList holding exactly spc: {spc}"
                ),
            ));
        }
        if tnauthlist.spcs().any(|s| s != &spc) {
            return Err(ApiError::bad_request(format!(
                "atc.tkvalue of a TN-list token may name no SPC other than spc: {spc}"
            )));
        }
        "TN-list"
    } else {
        if tnauthlist.single_spc() != Some(&spc) {
            return Err(ApiError::bad_request(format!(
                "atc.tkvalue must be a TNAuthList holding exactly spc: {spc}"
            )));
        }
        "SPC"
    };
    let claim_constraints = requested_claim_constraints(&req.atc)?;
    let token = pa.mint(&TokenRequest {
        tnauthlist,
        fingerprint: req.atc.fingerprint,
        ca: req.atc.ca,
        ttl_secs: pa.config().token_ttl_secs,
        x5u_or_x5c: pa.default_signer_ref(),
        claim_constraints,
    })?;
    tracing::info!(user = %user.user_id, spc = %spc, ca = req.atc.ca, kind, "dev token authority: token issued");
    Ok(axum::Json(json!({
        "status": "success",
        "message": format!("{kind} token for spc: {spc} is created successfully"),
        "token": token,
        "crl": pa.crl_url(),
    }))
    .into_response())
}

async fn ca_list(
    State(pa): State<DevTokenAuthority>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authenticated(&pa, &headers)?;
    let jws = pa.ca_list_jws()?;
    Ok(axum::Json(json!({"status": "success", "caList": jws})).into_response())
}

async fn cert(State(pa): State<DevTokenAuthority>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        pa.chain_pem(),
    )
        .into_response()
}

async fn crl(State(pa): State<DevTokenAuthority>) -> Result<Response, ApiError> {
    let der = pa.crl_der()?;
    Ok(([(header::CONTENT_TYPE, "application/pkix-crl")], der).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(access_token(&h), None);
        h.insert(header::AUTHORIZATION, "abc".parse().unwrap());
        assert_eq!(access_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(access_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(access_token(&h), None);
    }
}
