//! Tests of the dev token authority: PKI files, token shape and signature, CRL, HTTP API.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::str::FromStr;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use der::{Decode, Encode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;

const BASE: &str = "http://127.0.0.1:8080/sti-pa";
/// TNAuthList with SPC "1234" (standards.md §1.2).
const SPC_1234: &str = "3008a006160431323334";

fn fp() -> String {
    format!("SHA256 {}", vec!["4A"; 32].join(":"))
}

fn b64url_decode(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

fn request(tnauth_hex: &str) -> TokenRequest {
    TokenRequest {
        tnauthlist: crate::tnauth::TnAuthList::from_der(&hex::decode(tnauth_hex).unwrap()).unwrap(),
        fingerprint: fp(),
        ca: false,
        ttl_secs: 600,
        x5u_or_x5c: SignerRef::X5u,
        claim_constraints: None,
    }
}

/// Splits a compact JWS and checks its ES256 signature with the public key of `signer_der`.
fn verify_token(token: &str, signer_der: &[u8]) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let cert = x509_cert::Certificate::from_der(signer_der).unwrap();
    let point = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let input = format!("{}.{}", parts[0], parts[1]);
    let sig = b64url_decode(parts[2]);
    assert_eq!(sig.len(), 64, "ES256 signatures are raw r||s");
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .verify(input.as_bytes(), &sig)
        .expect("token signature verifies with the signer certificate's key");
    let header = serde_json::from_slice(&b64url_decode(parts[0])).unwrap();
    let claims = serde_json::from_slice(&b64url_decode(parts[1])).unwrap();
    (header, claims)
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(|s| s.as_str()).collect();
    k.sort();
    k
}

fn have_openssl() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("openssl not installed: skipping the openssl part of this test");
    }
    ok
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_twice_is_idempotent_and_keys_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let pa_dir = dir.path().join("pa");
    let a = DevTokenAuthority::load_or_init(&pa_dir, BASE).unwrap();
    let b = DevTokenAuthority::load_or_init(&pa_dir, &format!("{BASE}/")).unwrap();
    assert_eq!(a.root_der(), b.root_der());
    assert_eq!(a.signer_der(), b.signer_der());
    assert_eq!(a.config(), b.config());
    assert_eq!(b.base_url(), BASE);
    assert_eq!(b.x5u(), format!("{BASE}/cert.pem"));
    assert_eq!(b.crl_url(), format!("{BASE}/crl"));
    assert_eq!(mode(&pa_dir.join("root.key")), 0o600);
    assert_eq!(mode(&pa_dir.join("signer.key")), 0o600);
    assert_eq!(mode(&pa_dir.join(USERS_FILE)), 0o600);
    let key = std::fs::read_to_string(pa_dir.join("root.key")).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    // No temporary files left behind.
    for entry in std::fs::read_dir(&pa_dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(!name.contains(".tmp-"), "{name}");
    }
    let root = x509_cert::Certificate::from_der(&a.root_der()).unwrap();
    assert!(
        root.tbs_certificate()
            .subject()
            .to_string()
            .contains(ROOT_CN)
    );
}

#[test]
fn moved_base_url_reissues_signer_and_open_reuses_recorded_url() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        DevTokenAuthority::open(dir.path()).is_err(),
        "nothing to open yet"
    );
    let a = DevTokenAuthority::load_or_init(dir.path(), BASE).unwrap();
    let opened = DevTokenAuthority::open(dir.path()).unwrap();
    assert_eq!(opened.base_url(), BASE);
    assert_eq!(opened.signer_der(), a.signer_der());

    let moved = "http://127.0.0.1:9999/sti-pa";
    let b = DevTokenAuthority::load_or_init(dir.path(), moved).unwrap();
    assert_eq!(b.root_der(), a.root_der());
    assert_ne!(b.signer_der(), a.signer_der());
    let signer = x509_cert::Certificate::from_der(&b.signer_der()).unwrap();
    let (_, dps) = signer
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::CrlDistributionPoints>()
        .unwrap()
        .unwrap();
    let dp_der = dps.to_der().unwrap();
    let url = format!("{moved}/crl");
    assert!(dp_der.windows(url.len()).any(|w| w == url.as_bytes()));
    let opened = DevTokenAuthority::open(dir.path()).unwrap();
    assert_eq!(opened.base_url(), moved);
    assert_eq!(opened.signer_der(), b.signer_der());
    let token = opened.mint(&request(SPC_1234)).unwrap();
    let (header, _) = verify_token(&token, &b.signer_der());
    assert_eq!(header["x5u"], format!("{moved}/cert.pem"));
}

#[test]
fn bad_base_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["ftp://x/y", "not a url", "http://h/p?q=1"] {
        assert!(matches!(
            DevTokenAuthority::load_or_init(dir.path(), bad),
            Err(PaError::BaseUrl(_))
        ));
    }
}

#[test]
fn minted_token_verifies_and_has_the_sti_pa_shape() {
    let dir = tempfile::tempdir().unwrap();
    let pa = DevTokenAuthority::load_or_init(dir.path(), BASE).unwrap();
    let mut req = request(SPC_1234);
    req.fingerprint = fp().to_lowercase().replace("sha256", "SHA256");
    let before = crate::acme::now();
    let token = pa.mint(&req).unwrap();
    let (header, claims) = verify_token(&token, &pa.signer_der());
    assert_eq!(
        header,
        json!({"alg": "ES256", "typ": "JWT", "x5u": format!("{BASE}/cert.pem")})
    );
    // Header members in the STI-PA's order.
    let header_text = String::from_utf8(b64url_decode(token.split('.').next().unwrap())).unwrap();
    assert!(header_text.starts_with("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"x5u\":"));
    assert_eq!(keys(&claims), vec!["atc", "exp", "jti"], "no iss, no iat");
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp >= before + 600 && exp <= crate::acme::now() + 600);
    let jti = uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).unwrap();
    assert_eq!(jti.get_version_num(), 4);
    let atc = &claims["atc"];
    assert_eq!(keys(atc), vec!["ca", "fingerprint", "tktype", "tkvalue"]);
    assert_eq!(atc["tktype"], "TNAuthList");
    assert_eq!(atc["tkvalue"], "MAigBhYEMTIzNA");
    assert_eq!(atc["ca"], false);
    assert_eq!(atc["fingerprint"], fp(), "fingerprint emitted uppercase");

    // Two tokens never share a jti.
    let other = pa.mint(&req).unwrap();
    let (_, claims2) = verify_token(&other, &pa.signer_der());
    assert_ne!(claims["jti"], claims2["jti"]);
}

#[test]
fn jose_parses_and_verifies_minted_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let pa = DevTokenAuthority::load_or_init(dir.path(), BASE).unwrap();
    let account = crate::jose::EcSigner::generate().unwrap();
    let list: crate::tnauth::TnAuthList = "spc:709J".parse().unwrap();
    let req = TokenRequest::new(list.clone(), &account.public_jwk(), false, 300);
    // standards.md §2.5: SHA-256 over the account key's DER SubjectPublicKeyInfo.
    let spki_digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &account.public_jwk().spki_der());
    assert_eq!(
        req.fingerprint,
        crate::jose::fingerprint_text(spki_digest.as_ref())
    );
    assert_eq!(req.x5u_or_x5c, SignerRef::X5u);

    let jws = crate::jose::CompactJws::parse(&pa.mint(&req).unwrap()).unwrap();
    assert_eq!(jws.alg, "ES256");
    assert_eq!(jws.typ.as_deref(), Some("JWT"));
    assert_eq!(jws.x5u.as_deref(), Some(pa.x5u().as_str()));
    assert!(jws.crit.is_empty());
    let signer = x509_cert::Certificate::from_der(&pa.signer_der()).unwrap();
    let spki = signer
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    jws.verify_es256_spki(&spki).unwrap();
    let root = x509_cert::Certificate::from_der(&pa.root_der()).unwrap();
    let root_spki = root
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    assert!(jws.verify_es256_spki(&root_spki).is_err());
    let tkvalue = jws.claims["atc"]["tkvalue"].as_str().unwrap();
    assert_eq!(
        crate::tnauth::TnAuthList::from_identifier_value(tkvalue).unwrap(),
        list
    );
}

#[test]
fn banner_user_and_crl_issuer_name() {
    let dir = tempfile::tempdir().unwrap();
    let pa = DevTokenAuthority::load_or_init(dir.path(), BASE).unwrap();
    assert_eq!(pa.dev_user(), "dev");
    assert_eq!(pa.dev_password(), pa.config().users[0].password);
    let text = std::fs::read_to_string(dir.path().join(USERS_FILE)).unwrap();
    assert!(text.contains(pa.dev_password()));
    let crl = <x509_cert::crl::CertificateList>::from_der(&pa.crl_der().unwrap()).unwrap();
    assert_eq!(
        pa.crl_issuer_name_der().unwrap(),
        crl.tbs_cert_list.issuer.to_der().unwrap()
    );
}

#[test]
fn x5c_and_ca_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let pa = DevTokenAuthority::load_or_init(dir.path(), BASE).unwrap();
    let mut req = request(SPC_1234);
    req.x5u_or_x5c = SignerRef::X5c;
    req.ca = true;
    let token = pa.mint(&req).unwrap();
    let (header, claims) = verify_token(&token, &pa.signer_der());
    assert_eq!(keys(&header), vec!["alg", "typ", "x5c"]);
    let chain: Vec<Vec<u8>> = header["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            base64::engine::general_purpose::STANDARD
                .decode(c.as_str().unwrap())
                .unwrap()
        })
        .collect();
    assert_eq!(chain, vec![pa.signer_der(), pa.root_der()]);
    assert_eq!(claims["atc"]["ca"], true);
}

#[test]
fn mint_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let pa = DevTokenAuthority::load_or_init(dir.path(), BASE).unwrap();
    let mut req = request(SPC_1234);
    req.fingerprint = "SHA256 00".to_string();
    assert!(matches!(pa.mint(&req), Err(PaError::InvalidRequest(_))));
    let mut req = request(SPC_1234);
    req.ttl_secs = 0;
    assert!(matches!(pa.mint(&req), Err(PaError::InvalidRequest(_))));
    // An expired token can be minted on purpose.
    let token = pa.mint_at(&request(SPC_1234), 1_000).unwrap();
    let (_, claims) = verify_token(&token, &pa.signer_der());
    assert_eq!(claims["exp"], 1_600);
}

#[test]
fn signer_certificate_profile_and_openssl_verify() {
    let dir = tempfile::tempdir().unwrap();
    let pa = DevTokenAuthority::load_or_init(dir.path(), BASE).unwrap();
    let signer = x509_cert::Certificate::from_der(&pa.signer_der()).unwrap();
    let tbs = signer.tbs_certificate();
    assert!(tbs.subject().to_string().contains(SIGNER_CN));
    let (_, ku) = tbs
        .get_extension::<x509_cert::ext::pkix::KeyUsage>()
        .unwrap()
        .unwrap();
    assert!(ku.digital_signature() && !ku.key_cert_sign() && !ku.crl_sign());
    let (_, bc) = tbs
        .get_extension::<x509_cert::ext::pkix::BasicConstraints>()
        .unwrap()
        .unwrap();
    assert!(!bc.ca);
    let (_, dps) = tbs
        .get_extension::<x509_cert::ext::pkix::CrlDistributionPoints>()
        .unwrap()
        .unwrap();
    let dp_der = dps.to_der().unwrap();
    let crl_url = format!("{BASE}/crl");
    assert!(
        dp_der
            .windows(crl_url.len())
            .any(|w| w == crl_url.as_bytes())
    );
    let root = x509_cert::Certificate::from_der(&pa.root_der()).unwrap();
    let (_, ku) = root
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::KeyUsage>()
        .unwrap()
        .unwrap();
    assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());

    if !have_openssl() {
        return;
    }
    let root_pem = dir.path().join("root-copy.pem");
    let chain_pem = dir.path().join("chain.pem");
    std::fs::write(&root_pem, pa.root_pem()).unwrap();
    std::fs::write(&chain_pem, pa.chain_pem()).unwrap();
    let root_s = root_pem.to_str().unwrap();
    // cert.pem serves signer first: openssl verify checks the first certificate in the file.
    let (ok, text) = openssl(&[
        "verify",
        "-x509_strict",
        "-purpose",
        "any",
        "-CAfile",
        root_s,
        chain_pem.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let (ok, text) = openssl(&[
        "x509",
        "-in",
        chain_pem.to_str().unwrap(),
        "-noout",
        "-text",
    ]);
    assert!(ok && text.contains(&format!("URI:{BASE}/crl")), "{text}");
}

#[test]
fn crl_parses_and_lists_the_revoked_signer() {
    let dir = tempfile::tempdir().unwrap();
    let pa = DevTokenAuthority::load_or_init(dir.path(), BASE).unwrap();
    let old_signer = pa.signer_der();
    let old_serial = pa.signer_serial_hex().unwrap();
    let token_before = pa.mint(&request(SPC_1234)).unwrap();

    let revoked = pa.revoke_signer().unwrap();
    assert_eq!(revoked, old_serial);
    assert_ne!(pa.signer_der(), old_signer);
    assert_ne!(pa.signer_serial_hex().unwrap(), old_serial);
    // Old tokens stay signed by the revoked certificate; new ones by the new signer.
    verify_token(&token_before, &old_signer);
    verify_token(&pa.mint(&request(SPC_1234)).unwrap(), &pa.signer_der());

    // The revocation survives a reload, and the reloaded signer is the new one.
    let again = DevTokenAuthority::load_or_init(dir.path(), BASE).unwrap();
    assert_eq!(again.signer_der(), pa.signer_der());
    let crl = again.crl_der().unwrap();
    let parsed = <x509_cert::crl::CertificateList>::from_der(&crl).unwrap();
    let listed: Vec<String> = parsed
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| hex::encode(r.serial_number.as_bytes()))
        .collect();
    assert_eq!(listed, vec![old_serial.clone()]);

    if !have_openssl() {
        return;
    }
    let crl_path = dir.path().join("copy.crl");
    let root_path = dir.path().join("root-copy.pem");
    std::fs::write(&crl_path, &crl).unwrap();
    std::fs::write(&root_path, pa.root_pem()).unwrap();
    let (ok, text) = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        crl_path.to_str().unwrap(),
        "-noout",
        "-text",
        "-CAfile",
        root_path.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("verify OK"), "{text}");
    assert!(
        text.contains(&old_serial.to_uppercase()),
        "serial {old_serial} not in\n{text}"
    );
    assert!(text.contains("Superseded"), "{text}");
    assert!(text.contains(ROOT_CN), "{text}");
}

#[test]
fn stale_crl_is_reissued_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let pa = DevTokenAuthority::load_or_init(dir.path(), BASE).unwrap();
    let first = pa.crl_der().unwrap();
    drop(pa);
    let state_path = dir.path().join("crl-state.json");
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let old = crate::acme::now() - 8 * 86_400;
    state["this_update"] = json!(old);
    state["next_update"] = json!(old + CRL_LIFETIME);
    std::fs::write(&state_path, state.to_string()).unwrap();
    let pa = DevTokenAuthority::load_or_init(dir.path(), BASE).unwrap();
    let second = pa.crl_der().unwrap();
    assert_ne!(first, second);
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    assert_eq!(state["crl_number"], 2);
    assert!(state["next_update"].as_i64().unwrap() > crate::acme::now() + 6 * 86_400);
}

// ---- HTTP API ----

fn restricted_authority(dir: &Path) -> DevTokenAuthority {
    std::fs::write(
        dir.join(USERS_FILE),
        "[[users]]\nuser_id = \"alice\"\npassword = \"s3cret\"\nspcs = [\"1234\"]\n\n\
         [[users]]\nuser_id = \"root\"\npassword = \"toor\"\nspcs = [\"*\"]\n\n\
         [[users]]\nuser_id = \"carol\"\npassword = \"pw\"\nspcs = [\"1234\"]\ntn_lists = true\n",
    )
    .unwrap();
    DevTokenAuthority::load_or_init(dir, BASE).unwrap()
}

async fn call(
    pa: &DevTokenAuthority,
    method: &str,
    uri: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(auth) = auth {
        req = req.header(header::AUTHORIZATION, auth);
    }
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = pa.router().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, ct, bytes.to_vec())
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

async fn login(pa: &DevTokenAuthority, user: &str, password: &str) -> String {
    let (status, _, body) = call(
        pa,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"userId": user, "password": password})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v = json_of(&body);
    assert_eq!(v["status"], "success");
    v["accessToken"].as_str().unwrap().to_string()
}

fn atc(tkvalue: &str) -> Value {
    json!({"atc": {"tktype": "TNAuthList", "tkvalue": tkvalue, "ca": false, "fingerprint": fp()}})
}

fn assert_error(status: StatusCode, body: &[u8], expected: StatusCode) {
    assert_eq!(status, expected, "{}", String::from_utf8_lossy(body));
    let v = json_of(body);
    assert_eq!(v["status"], "error");
    assert!(!v["message"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn http_login_and_spc_token() {
    let dir = tempfile::tempdir().unwrap();
    let pa = restricted_authority(dir.path());
    let access = login(&pa, "alice", "s3cret").await;

    // Raw Authorization header, as the STI-PA wants; padded std base64 tkvalue as it sends.
    let (status, ct, body) = call(
        &pa,
        "POST",
        "/api/v1/account/1234/token",
        Some(&access),
        Some(atc("MAigBhYEMTIzNA==")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct.as_deref(), Some("application/json"));
    let v = json_of(&body);
    assert_eq!(keys(&v), vec!["crl", "message", "status", "token"]);
    assert_eq!(v["status"], "success");
    assert_eq!(
        v["message"],
        "SPC token for spc: 1234 is created successfully"
    );
    assert_eq!(v["crl"], format!("{BASE}/crl"));
    let (header, claims) = verify_token(v["token"].as_str().unwrap(), &pa.signer_der());
    // Over plain http the dev authority names its signer by x5c (see default_signer_ref).
    if BASE.starts_with("https://") {
        assert_eq!(header["x5u"], format!("{BASE}/cert.pem"));
    } else {
        assert!(header.get("x5u").is_none());
        assert!(header["x5c"].as_array().is_some_and(|c| c.len() == 2));
    }
    assert_eq!(claims["atc"]["tkvalue"], "MAigBhYEMTIzNA");
    assert_eq!(claims["atc"]["fingerprint"], fp());
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp > crate::acme::now() + 3500);

    // Bearer form and base64url tkvalue work too.
    let (status, _, body) = call(
        &pa,
        "POST",
        "/api/v1/account/1234/token",
        Some(&format!("Bearer {access}")),
        Some(atc("MAigBhYEMTIzNA")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));

    // The wildcard user may act for any SPC.
    let root = login(&pa, "root", "toor").await;
    let (status, _, _) = call(
        &pa,
        "POST",
        "/api/v1/account/709J/token",
        Some(&root),
        Some(atc("MAigBhYENzA5Sg==")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn http_wrong_password_and_missing_session() {
    let dir = tempfile::tempdir().unwrap();
    let pa = restricted_authority(dir.path());
    for (user, pw) in [("alice", "wrong"), ("nobody", "s3cret"), ("alice", "")] {
        let (status, ct, body) = call(
            &pa,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"userId": user, "password": pw})),
        )
        .await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED);
        assert_eq!(ct.as_deref(), Some("application/json"));
    }
    let (status, _, body) = call(
        &pa,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"user": "alice"})),
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);

    for auth in [None, Some("not-a-session"), Some("Basic abc")] {
        let (status, _, body) = call(
            &pa,
            "POST",
            "/api/v1/account/1234/token",
            auth,
            Some(atc("MAigBhYEMTIzNA")),
        )
        .await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED);
        let (status, _, body) = call(&pa, "GET", "/api/v1/ca-list", auth, None).await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn http_wrong_spc_and_bad_tkvalue() {
    let dir = tempfile::tempdir().unwrap();
    let pa = restricted_authority(dir.path());
    let access = login(&pa, "alice", "s3cret").await;

    // alice may not act for 709J.
    let (status, _, body) = call(
        &pa,
        "POST",
        "/api/v1/account/709J/token",
        Some(&access),
        Some(atc("MAigBhYENzA5Sg")),
    )
    .await;
    assert_error(status, &body, StatusCode::FORBIDDEN);

    let fp = fp();
    let bad_bodies = [
        // tkvalue for another SPC than the path's
        atc("MAigBhYENzA5Sg"),
        // not base64
        atc("!!not base64!!"),
        // bare IA5String instead of a TNAuthList
        atc(&base64::engine::general_purpose::STANDARD.encode(hex::decode("160431323334").unwrap())),
        // wrong tktype
        json!({"atc": {"tktype": "dns", "tkvalue": "MAigBhYEMTIzNA", "fingerprint": fp}}),
        // bad fingerprint
        json!({"atc": {"tktype": "TNAuthList", "tkvalue": "MAigBhYEMTIzNA", "fingerprint": "SHA256 00"}}),
        // no atc
        json!({"tkvalue": "MAigBhYEMTIzNA"}),
    ];
    for body_json in bad_bodies {
        let (status, _, body) = call(
            &pa,
            "POST",
            "/api/v1/account/1234/token",
            Some(&access),
            Some(body_json.clone()),
        )
        .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST);
    }
    // SPCs that are not of the SHAKEN form [0-9A-Z]+.
    for path in ["12%2034", "abcd", "12345678901234567"] {
        let (status, _, body) = call(
            &pa,
            "POST",
            &format!("/api/v1/account/{path}/token"),
            Some(&access),
            Some(atc("MAigBhYEMTIzNA")),
        )
        .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST);
    }
    // TN lists (with or without the SPC) need tn_lists in users.toml: alice has not.
    for list in ["spc:1234,tn:12155550123", "tn:12155550123"] {
        let list = crate::tnauth::TnAuthList::from_str(list).unwrap();
        let (status, _, body) = call(
            &pa,
            "POST",
            "/api/v1/account/1234/token",
            Some(&access),
            Some(atc(&list.to_identifier_value())),
        )
        .await;
        assert_error(status, &body, StatusCode::FORBIDDEN);
        assert!(String::from_utf8_lossy(&body).contains("tn_lists"));
    }
    // RFC 9447's example casing of tktype is tolerated.
    let (status, _, _) = call(
        &pa,
        "POST",
        "/api/v1/account/1234/token",
        Some(&access),
        Some(json!({"atc": {"tktype": "TnAuthList", "tkvalue": "MAigBhYEMTIzNA", "fingerprint": fp}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn http_tn_list_tokens_for_users_allowed_to() {
    let dir = tempfile::tempdir().unwrap();
    let pa = restricted_authority(dir.path());
    let access = login(&pa, "carol", "pw").await;
    for text in [
        "tn:12155550123,range:12155550100+100",
        "spc:1234,tn:12155550123",
    ] {
        let list = crate::tnauth::TnAuthList::from_str(text).unwrap();
        let (status, _, body) = call(
            &pa,
            "POST",
            "/api/v1/account/1234/token",
            Some(&access),
            Some(atc(&list.to_identifier_value())),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let v = json_of(&body);
        assert_eq!(
            v["message"],
            "TN-list token for spc: 1234 is created successfully"
        );
        let (_, claims) = verify_token(v["token"].as_str().unwrap(), &pa.signer_der());
        assert_eq!(
            b64url_decode(claims["atc"]["tkvalue"].as_str().unwrap()),
            list.to_der()
        );
    }
    // claim constraints are copied into the token; both kinds at once are refused
    let list = crate::tnauth::TnAuthList::from_str("tn:12155550123").unwrap();
    let mut body = atc(&list.to_identifier_value());
    body["atc"]["ejwtcc"] = json!("MAygCjAIFgZvcmlnAA");
    let (status, _, resp) = call(
        &pa,
        "POST",
        "/api/v1/account/1234/token",
        Some(&access),
        Some(body.clone()),
    )
    .await;
    assert_error(status, &resp, StatusCode::BAD_REQUEST);
    body["atc"]["ejwtcc"] = json!("MAqgCDAGFgRvcmln");
    let (status, _, resp) = call(
        &pa,
        "POST",
        "/api/v1/account/1234/token",
        Some(&access),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&resp));
    let (_, claims) = verify_token(json_of(&resp)["token"].as_str().unwrap(), &pa.signer_der());
    assert_eq!(claims["atc"]["ejwtcc"], "MAqgCDAGFgRvcmln");
    assert!(claims["atc"].get("jwtcc").is_none());
    body["atc"]["jwtcc"] = json!("MAqgCDAGFgRvcmln");
    let (status, _, resp) = call(
        &pa,
        "POST",
        "/api/v1/account/1234/token",
        Some(&access),
        Some(body),
    )
    .await;
    assert_error(status, &resp, StatusCode::BAD_REQUEST);

    // another SPC in the list, or an SPC the user may not act for: refused
    let other = crate::tnauth::TnAuthList::from_str("spc:709J,tn:12155550123").unwrap();
    let (status, _, body) = call(
        &pa,
        "POST",
        "/api/v1/account/1234/token",
        Some(&access),
        Some(atc(&other.to_identifier_value())),
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);
    let (status, _, body) = call(
        &pa,
        "POST",
        "/api/v1/account/709J/token",
        Some(&access),
        Some(atc(&other.to_identifier_value())),
    )
    .await;
    assert_error(status, &body, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn http_body_size_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let pa = restricted_authority(dir.path());
    let big = "x".repeat(api::MAX_BODY + 1);
    let (status, _, body) = call(
        &pa,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"userId": big, "password": "p"})),
    )
    .await;
    assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn http_cert_crl_and_ca_list() {
    let dir = tempfile::tempdir().unwrap();
    let pa = restricted_authority(dir.path());

    let (status, ct, body) = call(&pa, "GET", "/cert.pem", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("application/pem-certificate-chain"));
    let chain = crate::x509::pem_certificates(&body).unwrap();
    assert_eq!(chain, vec![pa.signer_der(), pa.root_der()]);

    let (status, ct, body) = call(&pa, "GET", "/crl", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("application/pkix-crl"));
    <x509_cert::crl::CertificateList>::from_der(&body).unwrap();

    let anchors =
        vec!["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_string()];
    pa.set_trust_list(anchors.clone());
    let access = login(&pa, "alice", "s3cret").await;
    let (status, _, body) = call(&pa, "GET", "/api/v1/ca-list", Some(&access), None).await;
    assert_eq!(status, StatusCode::OK);
    let v = json_of(&body);
    assert_eq!(v["status"], "success");
    let (header, payload) = verify_token(v["caList"].as_str().unwrap(), &pa.signer_der());
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["x5u"], format!("{BASE}/cert.pem"));
    assert_eq!(payload["version"], 1);
    assert_eq!(payload["sequence"], 1);
    assert!(payload["exp"].as_i64().unwrap() > crate::acme::now());
    assert_eq!(payload["trustList"], json!(anchors));
}

#[tokio::test]
async fn http_sessions_expire() {
    let dir = tempfile::tempdir().unwrap();
    let pa = restricted_authority(dir.path());
    let access = login(&pa, "alice", "s3cret").await;
    {
        let mut sessions = pa.inner.sessions.lock().unwrap();
        for s in sessions.values_mut() {
            s.expires = crate::acme::now() - 1;
        }
    }
    let (status, _, body) = call(
        &pa,
        "POST",
        "/api/v1/account/1234/token",
        Some(&access),
        Some(atc("MAigBhYEMTIzNA")),
    )
    .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED);
}
