//! Every HTTP request gets an id, a tracing span that carries it into every log line written
//! while the request runs, an access-log line, and its count in `/metrics`.
//!
//! The id is the client's (or the proxy's) `X-Request-Id` when it is a sane token (1 to 64
//! characters of `[A-Za-z0-9._-]`, so it cannot forge log fields), else a fresh random one; it is
//! echoed in the response's `X-Request-Id` either way, so an operator can find a client's
//! request in the logs.

use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header that carries the request id both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The longest incoming request id stica keeps.
const MAX_ID_LEN: usize = 64;

/// The incoming id if it is sane, else a new one.
pub fn request_id(incoming: Option<&HeaderValue>) -> String {
    incoming
        .and_then(|v| v.to_str().ok())
        .filter(|s| is_sane(s))
        .map(str::to_string)
        .unwrap_or_else(fresh_id)
}

/// A new id: 8 random bytes drawn once per process and a 64-bit counter, base64url (22
/// characters, as before). Unique across requests and restarts without a system call per
/// request (a random id per request cost a `getrandom` call, ≈2% of a pre-signed OCSP answer).
fn fresh_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<[u8; 8]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let mut p = [0u8; 8];
        if aws_lc_rs::rand::fill(&mut p).is_err() {
            // Only uniqueness matters here: fall back to the clock.
            p = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
                .to_be_bytes();
        }
        p
    });
    let mut id = [0u8; 16];
    let (head, tail) = id.split_at_mut(8);
    head.copy_from_slice(prefix);
    tail.copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    crate::jose::b64::encode_url(&id)
}

fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The middleware (`Router::layer`, applied last so that every route, merged or nested, has it
/// and the matched route template is known).
pub async fn track(req: Request<axum::body::Body>, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(req.headers().get(&REQUEST_ID));
    // The template, never the raw path: ids in paths would make a series per request.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    let method = req.method().clone();
    // At ERROR level so that no level filter drops it: a warning logged during the request under
    // `STICA_LOG=warn` still carries the request id. (A span's level only decides whether it
    // exists, it adds no line of its own.)
    let span = tracing::error_span!("request", request_id = %id, method = %method, route = %route);
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let secs = started.elapsed().as_secs_f64();
    crate::metrics::http_request(&route, &method, status, secs);
    span.in_scope(|| {
        tracing::info!(target: "stica::http", status, ms = secs * 1000.0, "request done");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_others_replaced() {
        for good in ["abc", "req-1.2_3", &"a".repeat(64)] {
            let v = HeaderValue::from_str(good).unwrap();
            assert_eq!(request_id(Some(&v)), good);
        }
        for bad in [
            "",
            "has space",
            "quote\"",
            "a=b",
            "ünï",
            &"a".repeat(65),
            "x\ty",
        ] {
            let v = HeaderValue::from_bytes(bad.as_bytes()).unwrap();
            let id = request_id(Some(&v));
            assert_ne!(id, bad);
            assert!(is_sane(&id), "{id}");
        }
        let fresh = request_id(None);
        assert!(is_sane(&fresh) && fresh.len() == 22, "{fresh}");
        assert_ne!(fresh, request_id(None));
    }
}
