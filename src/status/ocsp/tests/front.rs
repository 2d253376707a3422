//! The fast path in front of the router: which requests it answers, and that its answers are
//! the router's, byte for byte and header for header (but the request id).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use base64::Engine;
use tower::ServiceExt;

use super::*;
use crate::status::ocsp::front::Front;
use crate::status::ocsp::router_at;

/// A router that answers every request with 418, so a test sees which requests reach it.
fn teapot() -> Router {
    Router::new().fallback(|| async { StatusCode::IM_A_TEAPOT })
}

async fn send(app: &Front, req: Request<Body>) -> Response {
    app.clone().oneshot(req).await.unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// `request` as an RFC 6960 appendix A.1 GET path under `/sti/ocsp/`.
fn path_of(request: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(request);
    format!("/sti/ocsp/{}", b64.replace('/', "%2F"))
}

#[tokio::test]
async fn only_cached_shared_gets_are_answered_before_the_router() {
    let pki = Pki::new();
    let r = Arc::new(pki.responder(pki.delegated_entry(), pki.source()));
    let good = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    let front = Front::with_ocsp(teapot(), "/sti", r.clone());

    // Nothing pre-signed yet: a miss goes to the router (which signs and caches it).
    assert_eq!(send(&front, get(&path_of(&good))).await.status(), 418);
    let real = Front::with_ocsp(router_at("/sti", r.clone()), "/sti", r.clone());
    assert_eq!(send(&real, get(&path_of(&good))).await.status(), 200);
    assert_eq!(r.cache().len(), 1);

    // Now a hit: answered in front, with the request id the client sent.
    let mut req = get(&path_of(&good));
    req.headers_mut()
        .insert("x-request-id", "client-id-1".parse().unwrap());
    let resp = send(&front, req).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-request-id"], "client-id-1");

    // Everything else reaches the router.
    let nonce = pki.request("issuer.pem", &["good.pem"], &[]);
    let other = pki.request("other_ca.pem", &["other_leaf.pem"], &["-no_nonce"]);
    let mut conditional = get(&path_of(&good));
    conditional
        .headers_mut()
        .insert("if-none-match", "\"x\"".parse().unwrap());
    let post = Request::post("/sti/ocsp")
        .body(Body::from(good.clone()))
        .unwrap();
    for (what, req) in [
        ("a nonce request", get(&path_of(&nonce))),
        ("an unknown issuer", get(&path_of(&other))),
        ("garbage", get("/sti/ocsp/%zz")),
        ("an empty request", get("/sti/ocsp/")),
        ("a conditional GET", conditional),
        ("a POST", post),
        (
            "another prefix",
            get(&path_of(&good).replacen("/sti", "/x", 1)),
        ),
        (
            "HEAD",
            Request::head(path_of(&good)).body(Body::empty()).unwrap(),
        ),
    ] {
        assert_eq!(send(&front, req).await.status(), 418, "{what}");
    }
}

#[tokio::test]
async fn the_fast_answer_is_the_routers_answer() {
    let pki = Pki::new();
    let r = Arc::new(pki.responder(pki.delegated_entry(), pki.source()));
    let good = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    let router = router_at("/sti", r.clone());
    let front = Front::with_ocsp(router.clone(), "/sti", r.clone());
    let path = path_of(&good);
    // The first answer signs (router); the second is the fast path's.
    let slow = router.oneshot(get(&path)).await.unwrap();
    let fast = send(&front, get(&path)).await;
    assert_eq!(slow.status(), fast.status());
    let mut fast_headers = fast.headers().clone();
    assert!(
        fast_headers.remove("x-request-id").is_some(),
        "a request id"
    );
    assert_eq!(slow.headers(), &fast_headers);
    let slow = axum::body::to_bytes(slow.into_body(), 1 << 16)
        .await
        .unwrap();
    let fast = axum::body::to_bytes(fast.into_body(), 1 << 16)
        .await
        .unwrap();
    assert_eq!(slow, fast);
    pki.assert_shared_good(&fast);
}

#[tokio::test]
async fn fast_answers_are_counted_in_the_route_series() {
    let pki = Pki::new();
    let r = Arc::new(pki.responder(pki.delegated_entry(), pki.source()));
    let good = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    // A prefix no other test uses, so the series is this test's alone.
    let prefix = "/front-metrics";
    let front = Front::with_ocsp(router_at(prefix, r.clone()), prefix, r.clone());
    let path = path_of(&good).replacen("/sti", prefix, 1);
    let series = format!(
        "stica_http_requests_total{{method=\"GET\",route=\"{prefix}/ocsp/{{*request}}\",status=\"200\"}}"
    );
    let count = || {
        let text = crate::metrics::render().unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&series))
            .map_or(0, |v| v.trim().parse::<u64>().unwrap())
    };
    assert_eq!(send(&front, get(&path)).await.status(), 200); // signed by the router
    assert_eq!(r.cache().len(), 1);
    let before = count();
    for _ in 0..3 {
        assert_eq!(send(&front, get(&path)).await.status(), 200);
    }
    assert_eq!(count(), before + 3);
}

#[tokio::test]
async fn a_memoized_path_still_reads_the_cache_every_time() {
    let pki = Pki::new();
    let r = Arc::new(pki.responder(pki.delegated_entry(), pki.source()));
    let good = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    let real = Front::with_ocsp(router_at("/sti", r.clone()), "/sti", r.clone());
    let front = Front::with_ocsp(teapot(), "/sti", r.clone());
    let path = path_of(&good);
    assert_eq!(send(&real, get(&path)).await.status(), 200); // signs and caches
    for _ in 0..2 {
        assert_eq!(send(&front, get(&path)).await.status(), 200); // memoized after the first
    }
    // What a revocation does to the cache: the next request must not be answered in front.
    assert_eq!(r.cache().remove_serial(0, GOOD), 1);
    assert_eq!(send(&front, get(&path)).await.status(), 418);
    // Stale (past nextUpdate) entries are not served either.
    assert_eq!(send(&real, get(&path)).await.status(), 200);
    assert_eq!(r.cache().len(), 1);
    let late = crate::acme::now() + 30 * 24 * 3600;
    assert!(r.cache().get(&r.shared_key(&good).unwrap(), late).is_none());
}
