//! Criterion benchmarks of the OCSP responder (docs/performance.md):
//! `cargo bench -p acme-tests --bench ocsp`.
//!
//! - `ocsp_presigned_get`: what a pre-signed GET costs stica above HTTP: decode the URL path,
//!   parse the request, match the issuer, hit the cache, build the response with its headers.
//! - `ocsp_build_sign_nonce`: a request with a nonce (RFC 8954), answered for itself: parse, a
//!   status lookup (in memory here, the database in the server), build the BasicOCSPResponse and
//!   sign it with P-256.
//! - `ocsp_presign`: building and signing one shared response for the cache (the refresh job).

use std::hint::black_box;
use std::sync::Arc;

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SerialNumber};
use stica::bench::ocsp_request;
use stica::ca::{KeyFileSigner, Signer};
use stica::status::ocsp::request::decode_get;
use stica::status::ocsp::{
    Answer, CertStatus, HashAlg, IssuerEntry, Responder, ResponderConfig, StatusFuture,
    StatusSource, http,
};

/// Every serial is good (the server asks its database).
struct AllGood;

impl StatusSource for AllGood {
    fn status<'a>(&'a self, _issuer: usize, _serial: &'a [u8]) -> StatusFuture<'a> {
        Box::pin(async { Ok(CertStatus::Good) })
    }
}

/// An issuing CA (signing its own responses, as RFC 6960 §4.2.2.2 allows) and one leaf.
fn pki() -> (Vec<u8>, Arc<dyn Signer>, Vec<u8>) {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Bench Issuing CA");
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca, &ca_key);
    let mut leaf = CertificateParams::new(Vec::<String>::new()).expect("params");
    leaf.serial_number = Some(SerialNumber::from_slice(&[
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
    ]));
    let leaf_cert = leaf
        .signed_by(&KeyPair::generate().expect("key"), &issuer)
        .expect("leaf");
    let signer = KeyFileSigner::from_pem(ca_key.serialize_pem().as_bytes()).expect("signer");
    (
        ca_cert.der().to_vec(),
        Arc::new(signer),
        leaf_cert.der().to_vec(),
    )
}

fn ocsp(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let (issuer_der, signer, leaf_der) = pki();
    let responder = Responder::new(
        vec![IssuerEntry {
            cert_der: issuer_der.clone(),
            responder: signer,
            responder_cert_der: issuer_der.clone(),
        }],
        Arc::new(AllGood),
        ResponderConfig::default(),
    )
    .expect("responder");
    let cert_id = ocsp_request::cert_id(&issuer_der, &leaf_der, HashAlg::Sha1).expect("cert id");
    let plain = ocsp_request::request(&cert_id, None).expect("request");
    let with_nonce = ocsp_request::request(&cert_id, Some(&[7u8; 32])).expect("request");
    let now = stica::acme::now();

    // Fill the cache the way the server does (the first request for a serial signs and stores).
    let first = rt.block_on(responder.respond(&plain, now));
    assert!(matches!(first, Answer::Shared(_)), "{first:?}");
    let path = format!(
        "/ocsp/{}",
        base64::engine::general_purpose::STANDARD
            .encode(&plain)
            .replace('/', "%2F")
            .replace('+', "%2B")
    );

    let encoded = path.trim_start_matches("/ocsp/").to_string();
    c.bench_function(
        "ocsp_presigned_get (decode, parse, cache hit, headers)",
        |b| {
            // The GET handler's steps, with its fixed buffers (`request::decode_get`).
            let mut text = [0u8; 2048];
            let mut der = [0u8; 1536];
            b.iter(|| {
                let n = decode_get(black_box(&encoded), &mut text, &mut der).expect("decodes");
                let answer = responder.cached(&der[..n], now).expect("cache hit");
                black_box(http::answer_response(&answer, now))
            })
        },
    );
    c.bench_function("ocsp_build_sign_nonce (parse, lookup, build, sign)", |b| {
        b.iter(|| {
            let answer = rt.block_on(responder.respond(black_box(&with_nonce), now));
            assert!(matches!(answer, Answer::Private(_)));
            black_box(answer)
        })
    });
    c.bench_function("ocsp_presign (build and sign a shared response)", |b| {
        b.iter(|| {
            // A fresh serial each time would grow the cache; forgetting keeps one entry.
            responder.forget(0, &[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]);
            let answer = rt.block_on(responder.respond(black_box(&plain), now));
            assert!(matches!(answer, Answer::Shared(_)));
            black_box(answer)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = ocsp
}
criterion_main!(benches);
