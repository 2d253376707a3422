//! Certificate download (RFC 8555 §7.4.2) and revokeCert (§7.6).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{Error, Result};
use crate::ra::revoke::Requester;

use super::AppState;
use super::jws::{KeyRef, authenticate};

/// The response header naming the published chain (interop.md).
const SHAKEN_CERTIFICATE_LOCATION: &str = "x-shaken-certificate-location";

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
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pem-certificate-chain"),
    );
    // Where the same chain is published for PASSporT x5u (STI-CR; what SHAKEN clients read).
    if let Ok(v) = HeaderValue::from_str(&s.urls.cr(&cert.serial)) {
        h.insert(SHAKEN_CERTIFICATE_LOCATION, v);
    }
    Ok(resp)
}

/// revokeCert (RFC 8555 §7.6): signed by an account (`kid`) or by the certificate's key (`jwk`);
/// 200 with an empty body.
pub async fn revoke(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let req = authenticate(&s, &headers, body, &s.urls.revoke_cert(), KeyRef::Either).await?;
    let requester = match &req.account {
        Some(account) => Requester::Account(account),
        None => Requester::Key(&req.key),
    };
    s.ra.revoke(requester, &req.payload).await?;
    Ok(StatusCode::OK.into_response())
}
