//! Criterion benchmarks of the per-issuance work (docs/performance.md):
//! `cargo bench -p acme-tests --bench issuance`.
//!
//! The crypto-bound limit of one issuance is about ten P-256 verifications (a JWS on each of ~8
//! requests, the token, the CSR) plus one or two signatures; `p256_*` measure those primitives,
//! the rest measure stica's code around them.

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, json};
use stica::ca::{Ca, CrlDistributionPoint, IssuanceRequest, Profile};
use stica::jose::{EcSigner, FlattenedJws, sign_flattened};
use stica::pa::{DevTokenAuthority, SignerRef, TokenRequest};
use stica::policy::Policy;
use stica::tnauth::TnAuthList;
use stica::va::tkauth::TokenVerifier;

fn p256(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .unwrap();
    let msg = [7u8; 200];
    let sig = key.sign(&rng, &msg).unwrap();
    let public = UnparsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        key.public_key().as_ref().to_vec(),
    );
    c.bench_function("p256_sign (aws-lc-rs)", |b| {
        b.iter(|| key.sign(&rng, black_box(&msg)).unwrap())
    });
    c.bench_function("p256_verify (aws-lc-rs)", |b| {
        b.iter(|| public.verify(black_box(&msg), sig.as_ref()).unwrap())
    });
}

fn jws(c: &mut Criterion) {
    let key = EcSigner::generate().unwrap();
    let mut protected = Map::new();
    protected.insert(
        "nonce".into(),
        json!("AAAAAGsDrIlpsM0jot8m9AFing3b2Tar306QdfLafq64d3rQWzbuHA"),
    );
    protected.insert("url".into(), json!("https://ca.example/acme/new-order"));
    protected.insert(
        "kid".into(),
        json!("https://ca.example/acme/account/KWphS8lLH0YJwGgW7Sd-LA"),
    );
    let payload = serde_json::to_vec(
        &json!({"identifiers": [{"type": "TNAuthList", "value": "MAigBhYEMTIzNA"}]}),
    )
    .unwrap();
    let body = serde_json::to_vec(&sign_flattened(&key, protected, &payload).unwrap()).unwrap();
    let jwk = key.public_jwk();
    c.bench_function("jws_parse_verify (ACME request)", |b| {
        b.iter(|| {
            let jws = FlattenedJws::parse(black_box(&body)).unwrap();
            jws.verify(&jwk).unwrap();
        })
    });
}

fn tnauth(c: &mut Criterion) {
    let list: TnAuthList = "spc:709J,tn:12155550123,range:12155550100+100"
        .parse()
        .unwrap();
    let der = list.to_der();
    c.bench_function("tnauthlist_decode", |b| {
        b.iter(|| TnAuthList::from_der(black_box(&der)).unwrap())
    });
    c.bench_function("tnauthlist_encode", |b| {
        b.iter(|| black_box(&list).to_der())
    });
}

fn csr(c: &mut Criterion) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let der =
        acme_tests::raw::csr_with_key(&TnAuthList::from_der(&hex_spc()).unwrap().to_der(), &key);
    c.bench_function("csr_parse_verify", |b| {
        b.iter(|| stica::ca::csr::parse_csr(black_box(&der)).unwrap())
    });
}

fn hex_spc() -> Vec<u8> {
    vec![0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, b'1', b'2', b'3', b'4']
}

fn token(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let pa = DevTokenAuthority::load_or_init(&dir.path().join("pa"), "http://127.0.0.1:9/sti-pa")
        .unwrap();
    let account = EcSigner::generate().unwrap();
    let list = TnAuthList::from_der(&hex_spc()).unwrap();
    let mut req = TokenRequest::new(list.clone(), &account.public_jwk(), false, 3600);
    req.x5u_or_x5c = SignerRef::X5c;
    let token = pa.mint(&req).unwrap();
    let verifier = TokenVerifier::new(&Policy::default(), vec![pa.root_der()]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let jwk = account.public_jwk();
    let der = list.to_der();
    c.bench_function("token_verify (x5c chain + signature + claims)", |b| {
        b.iter(|| {
            rt.block_on(verifier.verify(black_box(&token), &der, &jwk, stica::acme::now()))
                .unwrap()
        })
    });
}

fn certificate(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    stica::ca::init_hierarchy(dir.path(), "bench CA").unwrap();
    let crl = CrlDistributionPoint {
        url: "https://crl.example/crl".into(),
        crl_issuer_der: None,
    };
    let ca = Ca::load(dir.path(), &Policy::default(), crl).unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
    let now = stica::acme::now();
    let request = || IssuanceRequest {
        profile: Profile::ShakenSpc,
        account_id: "bench".into(),
        spki_der: spki.clone(),
        tnauthlist_der: hex_spc(),
        organization: "Bench Telecom".into(),
        not_before: now,
        not_after: now + 30 * 86_400,
        claim_constraints: None,
    };
    c.bench_function("certificate_prepare_lint_sign", |b| {
        b.iter(|| {
            let prepared = ca.prepare(request()).unwrap();
            ca.issue(prepared).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = p256, jws, tnauth, csr, token, certificate
}
criterion_main!(benches);
