//! The pre-signed OCSP GET fast path, in front of the router (RFC 5019 §5: the request most
//! relying parties send, answered from memory).
//!
//! [`Front`] wraps the whole application. A `GET <prefix>/ocsp/<request>` whose answer is a
//! pre-signed response in the cache, and that carries no `If-None-Match`, is answered here
//! without going through the router and its middleware; everything else (POST, cache misses,
//! nonces, malformed requests, conditional requests, every other path) goes to the router
//! unchanged. What the request middleware ([`crate::wfe::request::track`]) gives every request,
//! this path gives too: the `X-Request-Id` header, the access-log line (`stica::http` at INFO) and
//! the request counters and latency histogram of the route template in `/metrics`.
//!
//! Why: a pre-signed answer's own work is a cache lookup, and everything around it was most of
//! its cost. Routing (matching, percent-decoding the path parameter, the matched-path
//! extension), the request span and the metrics' label lookups took a third of the responder's
//! CPU per answer (22 µs to 14.5 µs, docs/performance.md); decoding and parsing the request is
//! memoized per path.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, IF_NONE_MATCH};
use axum::http::{HeaderValue, Method, Request};
use axum::response::Response;
use futures_util::future::Either;
use tower::Service;

use super::responder::{Answer, Responder};
use super::{CacheKey, Presigned};
use crate::metrics::HttpRouteMetrics;
use crate::wfe::request::{REQUEST_ID, request_id};

/// The application: the router, with pre-signed OCSP GETs answered before routing.
#[derive(Clone)]
pub struct Front {
    router: Router,
    ocsp: Arc<FastOcsp>,
}

/// What the fast path needs.
struct FastOcsp {
    responder: Arc<Responder>,
    /// `<prefix>/ocsp/`: the paths the fast path looks at.
    path_prefix: String,
    /// The route template the router would match (`<prefix>/ocsp/{*request}`), for logs and
    /// metrics, so both paths count in the same series.
    route: String,
    metrics: HttpRouteMetrics,
    memo: PathMemo,
}

/// Most memoized request paths; the memo starts over when full.
const MEMO_MAX: usize = 16_384;
/// Longest memoized path (characters): RFC 5019 §5 GET requests are under 255 octets, so with
/// some percent-escapes this covers them, and the memo stays under 16,384 × 384 octets of keys.
const MEMO_MAX_PATH: usize = 384;

/// Request path (after `<prefix>/ocsp/`, as sent) to its pre-signed cache key: decoding and
/// parsing a GET request cost more than the rest of the answer, and relying parties send the
/// same few requests over and over. A pure function of the path (the key names issuer, hash
/// algorithm and serial; status and freshness are read from the cache at every request), so it
/// never goes stale. Bounded against clients that make up requests: at most `max_entries`
/// paths (then it starts over), none longer than `max_path`.
struct PathMemo {
    map: RwLock<HashMap<Box<str>, CacheKey>>,
    max_entries: usize,
    max_path: usize,
}

impl PathMemo {
    fn new(max_entries: usize, max_path: usize) -> Self {
        Self {
            map: RwLock::default(),
            max_entries,
            max_path,
        }
    }

    fn get(&self, path: &str) -> Option<CacheKey> {
        self.map.read().ok()?.get(path).copied()
    }

    fn remember(&self, path: &str, key: CacheKey) {
        if path.len() > self.max_path {
            return;
        }
        if let Ok(mut map) = self.map.write() {
            if map.len() >= self.max_entries {
                map.clear();
            }
            map.insert(path.into(), key);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.read().map_or(0, |m| m.len())
    }
}

impl Front {
    /// `router` with `responder`'s pre-signed GETs at `<prefix>/ocsp/...` answered first. The
    /// router must serve the same responder at the same prefix ([`super::router_at`]): it
    /// answers every request the fast path passes on.
    pub fn with_ocsp(router: Router, prefix: &str, responder: Arc<Responder>) -> Self {
        let route = format!("{prefix}/ocsp/{{*request}}");
        let metrics = HttpRouteMetrics::new(&route, "GET", 200);
        Self {
            router,
            ocsp: Arc::new(FastOcsp {
                responder,
                path_prefix: format!("{prefix}/ocsp/"),
                route,
                metrics,
                memo: PathMemo::new(MEMO_MAX, MEMO_MAX_PATH),
            }),
        }
    }
}

impl FastOcsp {
    /// The response when the fast path can give it; `None` sends the request to the router.
    fn answer(&self, req: &Request<Body>) -> Option<Response> {
        if req.method() != Method::GET || req.headers().contains_key(IF_NONE_MATCH) {
            return None;
        }
        let encoded = req.uri().path().strip_prefix(&self.path_prefix)?;
        let started = Instant::now();
        let now = crate::acme::now();
        // Errors, nonces and misses go to the router, whose handler logs and answers them as
        // it always has.
        let answer = Answer::Shared(self.presigned(encoded, now)?);
        let id = request_id(req.headers().get(&REQUEST_ID));
        let mut resp = super::http::answer_response(&answer, now);
        let h = resp.headers_mut();
        // As the router's answer has it (axum sets it for bodies of known length).
        h.insert(CONTENT_LENGTH, HeaderValue::from(answer.der().len()));
        if let Ok(v) = HeaderValue::from_str(&id) {
            h.insert(REQUEST_ID, v);
        }
        let secs = started.elapsed().as_secs_f64();
        self.metrics.record(secs);
        tracing::info!(
            target: "stica::http",
            request_id = %id,
            method = "GET",
            route = %self.route,
            status = 200u16,
            ms = secs * 1000.0,
            "request done"
        );
        Some(resp)
    }

    /// The pre-signed response for a request path, its cache key memoized.
    fn presigned(&self, encoded: &str, now: i64) -> Option<Arc<Presigned>> {
        if let Some(key) = self.memo.get(encoded) {
            return self.responder.cache().get(&key, now);
        }
        let key = super::http::shared_key_of_get(&self.responder, encoded)?;
        let hit = self.responder.cache().get(&key, now)?;
        // Only paths that were answered from the cache.
        self.memo.remember(encoded, key);
        Some(hit)
    }
}

impl<B> Service<Request<B>> for Front
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future =
        Either<Ready<Result<Response, Infallible>>, <Router as Service<Request<Body>>>::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        <Router as Service<Request<Body>>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let req = req.map(Body::new);
        if let Some(resp) = self.ocsp.answer(&req) {
            return Either::Left(ready(Ok(resp)));
        }
        Either::Right(self.router.call(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::ocsp::HashAlg;

    fn key(serial: u8) -> CacheKey {
        CacheKey::new(0, HashAlg::Sha1, &[serial]).unwrap()
    }

    #[test]
    fn the_memo_is_bounded_in_entries_and_path_length() {
        let memo = PathMemo::new(3, 10);
        for i in 0..3u8 {
            memo.remember(&format!("path-{i}"), key(i + 1));
        }
        assert_eq!(memo.len(), 3);
        assert_eq!(memo.get("path-1"), Some(key(2)));
        // Full: the next path starts it over instead of growing it.
        memo.remember("path-9", key(9));
        assert_eq!(memo.len(), 1);
        assert_eq!(memo.get("path-1"), None);
        assert_eq!(memo.get("path-9"), Some(key(9)));
        // Longer than the limit: answered, never kept.
        memo.remember("a-much-longer-path", key(7));
        assert_eq!(memo.get("a-much-longer-path"), None);
        assert_eq!(memo.len(), 1);
    }
}
