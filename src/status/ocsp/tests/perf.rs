//! A rough throughput check of the pre-signed GET path (not a criterion benchmark): run with
//! `cargo test --release -p stica --lib status::ocsp::tests::perf -- --ignored --nocapture`.

use std::time::Instant;

use base64::Engine;

use super::*;
use crate::status::ocsp::{Answer, http};

#[tokio::test]
#[ignore = "timing; run by hand"]
async fn presigned_get_path_rate() {
    let pki = Pki::new();
    let r = pki.responder(pki.delegated_entry(), pki.source());
    let req = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    let path = format!(
        "/ocsp/{}",
        base64::engine::general_purpose::STANDARD
            .encode(&req)
            .replace('/', "%2F")
    );
    let now = crate::acme::now();
    r.respond(&req, now).await;
    let n = 200_000;
    let start = Instant::now();
    for _ in 0..n {
        let a = http::get_fast_for_tests(&r, &path, now);
        assert!(matches!(a, Ok(Answer::Shared(_))));
        let resp = http::answer_response(&a.unwrap_or(Answer::Private(Default::default())), now);
        std::hint::black_box(resp);
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "pre-signed GET path (decode, parse, match, cache, headers): {per_sec:.0}/s on one core"
    );

    let nonce_req = pki.request("issuer.pem", &["good.pem"], &[]);
    let n = 5_000;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(r.respond(&nonce_req, now).await);
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!("nonce path (parse, lookup, sign): {per_sec:.0}/s on one core");
}
