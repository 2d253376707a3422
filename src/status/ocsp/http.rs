//! OCSP over HTTP (RFC 6960 Appendix A, RFC 5019 §5 and §6).
//!
//! - `POST /ocsp` (and `/ocsp/`): the body is the DER request. The media type is not checked
//!   (clients differ; the body is parsed either way); bodies over
//!   [`ResponderConfig::max_request_bytes`](super::ResponderConfig) get HTTP 413 with a
//!   `malformedRequest` body.
//! - `GET /ocsp/{url-encoded base64 request}`: decoded into fixed buffers and answered from the
//!   pre-signed cache when possible, without waiting on anything.
//! - Responses are `application/ocsp-response`. Shared (nonce-free) responses carry
//!   `Cache-Control: max-age=<seconds to nextUpdate>, public, no-transform, must-revalidate`,
//!   `ETag`, `Last-Modified` (thisUpdate) and `Expires` (nextUpdate), RFC 5019 §6.2; a GET
//!   with a matching `If-None-Match` gets 304. Nonce responses and errors are `no-store`.
//!   OCSP-level errors travel with HTTP 200, as RFC 6960 expects a client to read the status
//!   from the body.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, EXPIRES, IF_NONE_MATCH, LAST_MODIFIED,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::asn1::ResponseStatus;
use super::responder::{Answer, Responder};
use super::{CacheKey, OcspError};

/// The OCSP response media type (RFC 6960 Appendix C.2).
pub const OCSP_RESPONSE: &str = "application/ocsp-response";
/// The OCSP request media type (RFC 6960 Appendix C.1).
pub const OCSP_REQUEST: &str = "application/ocsp-request";

/// Longest GET path accepted (characters after `/ocsp/`). RFC 5019 §5 has clients use GET
/// only for requests under 255 octets; 2048 leaves room for percent escapes and nonces.
const MAX_GET_CHARS: usize = 2048;
/// Buffer for the decoded GET request.
const MAX_GET_DER: usize = MAX_GET_CHARS / 4 * 3;

/// The router: `POST /ocsp`, `POST /ocsp/`, `GET /ocsp/{*request}` (and `GET /ocsp`, which
/// has no request and gets `malformedRequest`). Merge it into the server's router at the root
/// (`Router::merge`), so `<external-url>/ocsp` is the responder URL.
pub fn router(responder: Arc<Responder>) -> Router {
    router_at("", responder)
}

/// [`router`] under a path prefix (the external URL's path, e.g. `/sti`; `""` at the root).
pub fn router_at(prefix: &str, responder: Arc<Responder>) -> Router {
    Router::new()
        .route(&format!("{prefix}/ocsp"), get(get_empty).post(post))
        .route(&format!("{prefix}/ocsp/"), get(get_empty).post(post))
        .route(&format!("{prefix}/ocsp/{{*request}}"), get(get_request))
        .with_state(responder)
}

async fn post(State(responder): State<Arc<Responder>>, request: Request) -> Response {
    let limit = responder.config().max_request_bytes;
    let body = match axum::body::to_bytes(request.into_body(), limit).await {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(error = %e, limit, "OCSP request body refused");
            let mut r = answer_response(&Answer::Error(ResponseStatus::MalformedRequest), 0);
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return r;
        }
    };
    let now = crate::acme::now();
    let answer = responder.respond(&body, now).await;
    answer_response(&answer, now)
}

async fn get_empty() -> Response {
    answer_response(&Answer::Error(ResponseStatus::MalformedRequest), 0)
}

async fn get_request(State(responder): State<Arc<Responder>>, request: Request) -> Response {
    let now = crate::acme::now();
    let answer = match get_fast(&responder, request.uri().path(), now) {
        Ok(a) => a,
        Err(owned) => responder.respond(&owned, now).await,
    };
    if let Answer::Shared(p) = &answer
        && if_none_match(request.headers(), &p.etag)
    {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        let h = r.headers_mut();
        h.insert(ETAG, p.etag.clone());
        h.insert(CACHE_CONTROL, cache_control(p.max_age(now)));
        h.insert(EXPIRES, p.expires.clone());
        return r;
    }
    answer_response(&answer, now)
}

/// The synchronous part of a GET: decode the path into stack buffers (a plain function, so
/// they are not kept in the handler's future) and answer from the cache. `Err` carries the
/// request DER when it needs a lookup or a signature.
fn get_fast(responder: &Responder, path: &str, now: i64) -> Result<Answer, Vec<u8>> {
    // The raw (still percent-encoded) path: decoding happens once, here.
    let encoded = path
        .find("/ocsp/")
        .and_then(|at| path.get(at + "/ocsp/".len()..))
        .unwrap_or_default();
    let mut text = [0u8; MAX_GET_CHARS];
    let mut der_buf = [0u8; MAX_GET_DER];
    let der_bytes = match super::request::decode_get(encoded, &mut text, &mut der_buf) {
        Ok(n) => der_buf.get(..n).unwrap_or_default(),
        Err(e) => {
            tracing::debug!(error = %e, "undecodable OCSP GET request");
            return Ok(Answer::Error(ResponseStatus::MalformedRequest));
        }
    };
    responder
        .cached(der_bytes, now)
        .ok_or_else(|| der_bytes.to_vec())
}

/// The pre-signed cache key of a GET request, from the part of the path after `/ocsp/` (still
/// percent-encoded), `None` when the request cannot be answered from the cache.
pub(crate) fn shared_key_of_get(responder: &Responder, encoded: &str) -> Option<CacheKey> {
    let mut text = [0u8; MAX_GET_CHARS];
    let mut der_buf = [0u8; MAX_GET_DER];
    let n = super::request::decode_get(encoded, &mut text, &mut der_buf).ok()?;
    responder.shared_key(der_buf.get(..n)?)
}

/// [`get_fast`] for the timing test.
#[cfg(test)]
pub(crate) fn get_fast_for_tests(
    responder: &Responder,
    path: &str,
    now: i64,
) -> Result<Answer, Vec<u8>> {
    get_fast(responder, path, now)
}

/// Whether `If-None-Match` lists `etag` (or `*`), RFC 9110 §13.1.2 (weak comparison).
fn if_none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = etag.as_bytes();
    headers.get_all(IF_NONE_MATCH).iter().any(|v| {
        v.as_bytes().split(|b| *b == b',').any(|t| {
            let t = t.trim_ascii();
            let t = t.strip_prefix(b"W/").unwrap_or(t);
            t == b"*" || t == ours
        })
    })
}

fn cache_control(max_age: i64) -> HeaderValue {
    HeaderValue::try_from(format!(
        "max-age={max_age}, public, no-transform, must-revalidate"
    ))
    .unwrap_or(HeaderValue::from_static("no-store"))
}

/// The HTTP response for an answer.
pub fn answer_response(answer: &Answer, now: i64) -> Response {
    let mut r = Response::new(Body::from(answer.der()));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(OCSP_RESPONSE));
    match answer {
        Answer::Shared(p) => {
            h.insert(CACHE_CONTROL, cache_control(p.max_age(now)));
            h.insert(ETAG, p.etag.clone());
            h.insert(LAST_MODIFIED, p.last_modified.clone());
            h.insert(EXPIRES, p.expires.clone());
        }
        Answer::Private(_) | Answer::Error(_) => {
            h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    r
}

/// An IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn http_date(t: i64) -> Result<String, OcspError> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&format).ok())
        .ok_or(OcspError::Time(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            http_date(784_111_777).unwrap(),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    #[test]
    fn etag_matching() {
        let etag = HeaderValue::from_static("\"abc\"");
        let mut h = HeaderMap::new();
        assert!(!if_none_match(&h, &etag));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"x\", W/\"abc\""));
        assert!(if_none_match(&h, &etag));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match(&h, &etag));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"abcd\""));
        assert!(!if_none_match(&h, &etag));
    }

    #[test]
    fn cache_control_value() {
        assert_eq!(
            cache_control(42),
            "max-age=42, public, no-transform, must-revalidate"
        );
    }
}
