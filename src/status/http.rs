//! The status routes: `GET /crl`, `GET /crl/signer.pem`, `GET /cr/<serial>.pem` and the
//! issuance-state API under `/api/v1/`. Plain GETs, outside the ACME middleware (no nonces).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use der::{Decode, Encode};

use crate::sa::Storage;
use crate::wfe::Urls;

use super::crl::CrlPublisher;
use super::{api, cr};

/// What the status routes read.
pub struct StatusState {
    /// storage (read only)
    pub sa: Storage,
    /// absolute URLs
    pub urls: Urls,
    /// stica's CRL
    pub crl: Arc<CrlPublisher>,
    /// Subject DER → subjectPublicKey of the CA certificates stica issues under, so the API can
    /// give the OCSP CertID hashes of a certificate's issuer (RFC 6960 §4.1.1).
    pub(crate) issuer_keys: HashMap<Vec<u8>, Vec<u8>>,
}

impl StatusState {
    /// The state for the status routes; `issuers` are the CA certificates (DER) stica issues
    /// under.
    pub fn new(sa: Storage, urls: Urls, crl: Arc<CrlPublisher>, issuers: &[Vec<u8>]) -> Self {
        let issuer_keys = issuers
            .iter()
            .filter_map(|der| {
                let c = x509_cert::Certificate::from_der(der).ok()?;
                let tbs = c.tbs_certificate();
                let name = tbs.subject().to_der().ok()?;
                let key = tbs
                    .subject_public_key_info()
                    .subject_public_key
                    .as_bytes()?
                    .to_vec();
                Some((name, key))
            })
            .collect();
        Self {
            sa,
            urls,
            crl,
            issuer_keys,
        }
    }
}

/// The status routes, under the path prefix of the external URL.
pub fn router(state: Arc<StatusState>) -> Router {
    let p = state.urls.path_prefix();
    Router::new()
        .route(&format!("{p}/crl"), get(crl))
        .route(&format!("{p}/crl/signer.pem"), get(crl_signer))
        .route(&format!("{p}/cr/{{file}}"), get(cr::chain))
        .route(
            &format!("{p}/api/v1/certificates/by-hash/{{sha256}}"),
            get(api::by_hash),
        )
        .route(
            &format!("{p}/api/v1/certificates/{{serial}}"),
            get(api::by_serial),
        )
        .route(&format!("{p}/api/v1/changes"), get(api::changes))
        .with_state(state)
}

/// An HTTP-date (RFC 9110 §5.6.7, IMF-fixdate) for unix seconds.
pub(crate) fn http_date(secs: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_default()
}

/// A plain-text answer with `no-store`.
pub(crate) fn text(status: StatusCode, body: &'static str) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// True when `If-None-Match` names `etag` (or `*`).
pub(crate) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// `GET /crl`: the current CRL, DER, `application/pkix-crl` (RFC 5280 §4.2.1.13, RFC 2585 §4.2),
/// cacheable until its nextUpdate but no longer than `crl.max_age_secs`.
async fn crl(State(s): State<Arc<StatusState>>, headers: HeaderMap) -> Response {
    let current = match s.crl.current().await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "no CRL has been published yet; retry shortly\n",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "reading the CRL failed");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
        }
    };
    let now = crate::acme::now();
    let max_age = (current.next_update - now).clamp(0, i64::from(s.crl.settings().max_age_secs));
    let etag = format!("\"crl-{}\"", current.number);
    let mut resp = if not_modified(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, current.der).into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pkix-crl"),
    );
    for (name, value) in [
        (header::CACHE_CONTROL, format!("public, max-age={max_age}")),
        (header::LAST_MODIFIED, http_date(current.this_update)),
        (header::EXPIRES, http_date(now + max_age)),
        (header::ETAG, etag),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp
}

/// `GET /crl/signer.pem`: the CRL signer's certificate then the intermediate.
async fn crl_signer(State(s): State<Arc<StatusState>>) -> Response {
    let mut resp = (StatusCode::OK, s.crl.signer().chain_pem()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pem-certificate-chain"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_and_etags() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, "\"crl-3\""));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"crl-2\", W/\"crl-3\""),
        );
        assert!(not_modified(&h, "\"crl-3\""));
        assert!(!not_modified(&h, "\"crl-4\""));
    }
}
