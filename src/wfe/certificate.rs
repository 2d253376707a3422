//! Certificate download (RFC 8555 §7.4.2) and revokeCert (§7.6).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{Error, ErrorKind, Result};

use super::AppState;
use super::jws::{KeyRef, authenticate};

/// POST-as-GET the certificate chain: `application/pem-certificate-chain`, leaf first.
pub async fn certificate(
    State(s): State<Arc<AppState>>,
    Path(serial): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let req = authenticate(
        &s,
        &headers,
        body,
        &s.urls.certificate(&serial),
        KeyRef::Kid,
    )
    .await?;
    if !req.is_post_as_get() {
        return Err(Error::malformed(
            "certificate download is POST-as-GET: the payload must be empty",
        ));
    }
    let cert = s.ra.certificate(req.account()?, &serial).await?;
    let mut resp = (StatusCode::OK, cert.chain_pem).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pem-certificate-chain"),
    );
    Ok(resp)
}

/// revokeCert: not offered until the revocation issue lands; the directory names it because RFC
/// 8555 §7.1.1 requires the field.
pub async fn revoke(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    authenticate(&s, &headers, body, &s.urls.revoke_cert(), KeyRef::Either).await?;
    Err(Error::new(
        ErrorKind::Unauthorized,
        "revocation through ACME is not offered by this server yet; contact the CA operator",
    ))
}
