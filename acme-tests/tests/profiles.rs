//! End to end on the real binary: the profile follows from the token and the CSR (issue 3, items
//! 1, 2 and 7). SPC token → `shaken-spc`; TN-list token → `tn-level` with the token's TNAuthList
//! byte for byte; `ca: true` token → `sca` whose chain verifies and which can sign a delegate;
//! every refusal leaves nothing issued. Each certificate is checked with `openssl verify` and
//! stica's lint.

mod common;

use std::process::{Command, Stdio};

use acme_tests::raw::{Raw, csr, csr_with_ca, csr_with_ca_key};
use acme_tests::{ServerOptions, TestServer};
use common::*;
use serde_json::Value;
use stica::ca::Profile;
use stica::pa::SignerRef;
use stica::tnauth::TnAuthList;

/// tn-level and sca offered next to shaken-spc.
const ALL_PROFILES: &str = "[issuance]\nprofiles = [\"shaken-spc\", \"tn-level\", \"sca\"]\n";

fn list(text: &str) -> TnAuthList {
    text.parse().expect("list")
}

/// The value of the extension `oid` in a certificate.
fn extension(der: &[u8], oid: &str) -> Option<Vec<u8>> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(der).expect("certificate");
    cert.tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id.to_string() == oid)
        .map(|e| e.extn_value.as_bytes().to_vec())
}

/// `openssl x509 -noout -text` of the first certificate of `pem`.
fn openssl_text(pem: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["x509", "-noout", "-text"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(pem.as_bytes())
        .expect("write");
    String::from_utf8_lossy(&child.wait_with_output().expect("openssl").stdout).into_owned()
}

/// The DER `atc.tkvalue` of a compact token (read without verifying: the server did that).
fn tkvalue_der(token: &str) -> Vec<u8> {
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value =
        serde_json::from_slice(&stica::jose::b64::decode_url(payload).expect("b64")).expect("json");
    stica::jose::b64::decode_lenient(claims["atc"]["tkvalue"].as_str().expect("tkvalue"))
        .expect("tkvalue b64")
}

/// The profile stored with the certificate (the certificate URL ends with the serial).
async fn stored_profile(srv: &TestServer, order: &Value) -> String {
    let url = order["certificate"].as_str().expect("certificate url");
    let serial = url.rsplit('/').next().expect("serial");
    let sa = stica::sa::Storage::connect(&srv.database_url)
        .await
        .expect("database");
    sa.certificate(serial)
        .await
        .expect("read")
        .expect("certificate row")
        .profile
}

/// Answers the order's challenge with `token` and expects it valid.
async fn answer_valid(raw: &Raw, chall: &str, token: &str) {
    let r = raw.answer(chall, token).await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
}

#[tokio::test]
async fn directory_lists_the_offered_profiles() {
    let (srv, _ta) = server_with_ta(ALL_PROFILES).await;
    let dir: Value = reqwest::get(srv.directory())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = dir["meta"]["profiles"]
        .as_object()
        .expect("profiles")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, vec!["sca", "shaken-spc", "tn-level"]);
    let (plain, _ta) = server_with_ta("").await;
    let dir: Value = reqwest::get(plain.directory())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&String> = dir["meta"]["profiles"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(names, vec!["shaken-spc"]);
}

#[tokio::test]
async fn spc_token_gets_an_spc_certificate_when_every_profile_is_offered() {
    let (srv, ta) = server_with_ta(ALL_PROFILES).await;
    let l = spc("1234");
    let (raw, order, _, chall) = pending_order(&srv, &l).await;
    answer_valid(&raw, &chall, &ta.token(&l, &raw.key.public_jwk())).await;
    let (o, cert) = finalize_and_download(&raw, &order, &l).await;
    check_certificate_as(&srv, &cert.text(), Profile::ShakenSpc);
    assert_eq!(stored_profile(&srv, &o).await, "shaken-spc");
    let text = openssl_text(&cert.text());
    assert!(
        text.contains("CA:FALSE") && text.contains("CN = SHAKEN 1234"),
        "{text}"
    );
}

#[tokio::test]
async fn tn_list_token_gets_a_tn_level_certificate_with_the_token_list_byte_for_byte() {
    let (srv, ta) = server_with_ta(ALL_PROFILES).await;
    for (text, with_spc) in [
        ("tn:12155550123,range:12155550100+100", false),
        ("spc:1234,range:12155550100+100,tn:12155559999", true),
    ] {
        let l = list(text);
        let (raw, order, _, chall) = pending_order(&srv, &l).await;
        let token = ta.token(&l, &raw.key.public_jwk());
        answer_valid(&raw, &chall, &token).await;
        let (o, cert) = finalize_and_download(&raw, &order, &l).await;
        check_certificate_as(&srv, &cert.text(), Profile::TnLevel);
        assert_eq!(stored_profile(&srv, &o).await, "tn-level");
        let ders = stica::x509::pem_certificates(cert.text().as_bytes()).unwrap();
        assert_eq!(
            extension(&ders[0], "1.3.6.1.5.5.7.1.26").expect("TNAuthList"),
            tkvalue_der(&token),
            "{text}: the certificate's TNAuthList is the token's tkvalue, byte for byte"
        );
        let dump = openssl_text(&cert.text());
        assert!(
            dump.contains("CA:FALSE") && dump.contains("Digital Signature"),
            "{dump}"
        );
        if with_spc {
            assert!(dump.contains("CN = SHAKEN 1234"), "{dump}");
        } else {
            // the account label: the ACME account id (the last segment of its URL)
            let kid = raw.kid.clone().expect("account URL");
            let account_id = kid.rsplit('/').next().unwrap();
            assert!(
                dump.contains(&format!("CN = SHAKEN {account_id}")),
                "{dump}"
            );
        }
    }
}

#[tokio::test]
async fn ca_true_token_gets_an_sca_certificate_whose_chain_verifies_and_signs_a_delegate() {
    let (srv, ta) = server_with_ta(ALL_PROFILES).await;
    // The intermediate was created with room for one CA below it.
    let inter = std::fs::read_to_string(srv.data_dir.join("ca").join("intermediate.pem")).unwrap();
    assert!(openssl_text(&inter).contains("CA:TRUE, pathlen:1"));

    let l = spc("1234");
    let (raw, order, _, chall) = pending_order(&srv, &l).await;
    let token = ta.token_with(&l, &raw.key.public_jwk(), SignerRef::X5c, true);
    answer_valid(&raw, &chall, &token).await;
    let sca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let r = raw
        .finalize(&order, &csr_with_ca_key(&l.to_der(), true, &sca_key))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let o = r.json();
    assert_eq!(o["status"], "valid", "{o}");
    let chain = raw
        .post(o["certificate"].as_str().unwrap(), None)
        .await
        .text();
    check_certificate_as(&srv, &chain, Profile::Sca);
    assert_eq!(stored_profile(&srv, &o).await, "sca");
    let text = openssl_text(&chain);
    for needle in [
        "X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0",
        "X509v3 Key Usage: critical\n                Certificate Sign\n",
        "SHAKEN SCA 1234",
        "1.3.6.1.5.5.7.1.26:",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }

    // `stica lint` refuses the SCA under the SPC profile, naming the broken rules.
    let file = srv.data_dir.with_file_name("sca-chain.pem");
    std::fs::write(&file, &chain).unwrap();
    let out = Command::new(BIN)
        .args(["lint", "--profile", "shaken-spc"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    for rule in [
        "e_sti_basic_constraints_critical_ca_false",
        "e_sti_key_usage_digital_signature_only",
        "e_sti_subject_cn_shaken_spc",
    ] {
        assert!(text.contains(rule), "{rule} in {text}");
    }

    // The SCA signs a delegate end entity; openssl verifies root -> intermediate -> SCA -> leaf.
    let ders = stica::x509::pem_certificates(chain.as_bytes()).unwrap();
    let sca_pem = stica::x509::to_pem("CERTIFICATE", &ders[0]);
    let issuer = rcgen::Issuer::from_ca_cert_pem(&sca_pem, sca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Enterprise SHAKEN");
    params.use_authority_key_identifier_extension = true;
    let leaf = params.signed_by(&leaf_key, &issuer).unwrap();
    let (ok, out) = acme_tests::openssl_verify(&srv.root_pem(), &format!("{}{chain}", leaf.pem()));
    assert!(ok, "delegate under the SCA: {out}");

    // A ca: true token makes an SCA even when the CSR does not ask for cA (the token requires it).
    let l = list("tn:12155550123,range:12155550100+100");
    let (raw, order, _, chall) = pending_order(&srv, &l).await;
    let token = ta.token_with(&l, &raw.key.public_jwk(), SignerRef::X5c, true);
    answer_valid(&raw, &chall, &token).await;
    let (o, cert) = finalize_and_download(&raw, &order, &l).await;
    check_certificate_as(&srv, &cert.text(), Profile::Sca);
    assert_eq!(stored_profile(&srv, &o).await, "sca");
    let text = openssl_text(&cert.text());
    assert!(
        text.contains("CA:TRUE, pathlen:0") && text.contains("SHAKEN SCA"),
        "{text}"
    );
}

#[tokio::test]
async fn ca_mismatch_both_ways_is_refused_and_nothing_is_issued() {
    // ca: false token, CSR asking for a CA: badCSR, the order stays ready.
    let (srv, ta) = server_with_ta(ALL_PROFILES).await;
    for text in ["spc:1234", "tn:12155550123"] {
        let l = list(text);
        let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
        answer_valid(&raw, &chall, &ta.token(&l, &raw.key.public_jwk())).await;
        let p = assert_finalize_refused(
            &raw,
            &order,
            &order_url,
            &csr_with_ca(&l.to_der(), true),
            "badCSR",
        )
        .await;
        assert!(
            p["detail"].as_str().unwrap().contains("does not grant"),
            "{p}"
        );
        // cA FALSE in the CSR (what `openssl req` adds) asks for nothing: issued as usual.
        let (_, cert) = {
            let r = raw.finalize(&order, &csr_with_ca(&l.to_der(), false)).await;
            assert_eq!(r.json()["status"], "valid", "{}", r.text());
            let url = r.json()["certificate"].as_str().unwrap().to_string();
            (r, raw.post(&url, None).await)
        };
        let profile = if text.starts_with("spc") {
            Profile::ShakenSpc
        } else {
            Profile::TnLevel
        };
        check_certificate_as(&srv, &cert.text(), profile);
    }

    // ca: true token where sca is not offered: unauthorized, whatever the CSR.
    let (srv, ta) = server_with_ta("[issuance]\nprofiles = [\"shaken-spc\", \"tn-level\"]\n").await;
    for text in ["spc:1234", "tn:12155550123"] {
        let l = list(text);
        let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
        let token = ta.token_with(&l, &raw.key.public_jwk(), SignerRef::X5c, true);
        answer_valid(&raw, &chall, &token).await;
        for ca in [true, false] {
            let p = assert_finalize_refused(
                &raw,
                &order,
                &order_url,
                &csr_with_ca(&l.to_der(), ca),
                "unauthorized",
            )
            .await;
            assert!(p["detail"].as_str().unwrap().contains("sca"), "{p}");
        }
    }
}

#[tokio::test]
async fn csr_numbers_differing_from_the_token_are_bad_csr_and_nothing_is_issued() {
    let (srv, ta) = server_with_ta(ALL_PROFILES).await;
    let l = list("tn:12155550123,range:12155550100+100");
    let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
    answer_valid(&raw, &chall, &ta.token(&l, &raw.key.public_jwk())).await;
    for other in [
        // one number off
        "tn:12155550124,range:12155550100+100",
        // the range one longer
        "tn:12155550123,range:12155550100+101",
        // a subset
        "tn:12155550123",
        // the same numbers in another order (a different DER value)
        "range:12155550100+100,tn:12155550123",
        // plus an SPC
        "spc:1234,tn:12155550123,range:12155550100+100",
    ] {
        let p = assert_finalize_refused(
            &raw,
            &order,
            &order_url,
            &csr(&list(other).to_der()),
            "badCSR",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("TNAuthList"), "{p}");
    }
    // the right CSR still works
    let (_, cert) = finalize_and_download(&raw, &order, &l).await;
    check_certificate_as(&srv, &cert.text(), Profile::TnLevel);
}

#[tokio::test]
async fn tn_order_when_tn_level_is_not_offered_is_a_rejected_identifier() {
    let (srv, _ta) = server_with_ta("").await;
    let mut raw = Raw::new(&srv.directory()).await;
    assert_eq!(raw.register().await.status, 201);
    for text in [
        "tn:12155550123",
        "spc:1234,range:12155550100+100",
        "spc:1234,spc:5678",
    ] {
        let r = raw.new_order(&list(text).to_der()).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(
            r.problem_type(),
            "urn:ietf:params:acme:error:rejectedIdentifier",
            "{text}"
        );
    }
    // nothing was created for the account
    let account = raw.post(raw.kid.as_deref().unwrap(), None).await.json();
    let orders = raw
        .post(account["orders"].as_str().expect("orders URL"), None)
        .await
        .json();
    assert_eq!(
        orders["orders"].as_array().map(Vec::len),
        Some(0),
        "{orders}"
    );
}

#[tokio::test]
async fn offering_sca_on_a_path_len_0_hierarchy_refuses_to_start_and_says_how_to_fix_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // A data directory made by a server that did not offer sca: intermediate pathLen 0.
    let first = TestServer::start(
        BIN,
        ServerOptions {
            data_dir: Some(data.clone()),
            ..Default::default()
        },
    )
    .await;
    let database_url = first.database_url.clone();
    drop(first);
    let inter = std::fs::read_to_string(data.join("ca").join("intermediate.pem")).unwrap();
    assert!(openssl_text(&inter).contains("CA:TRUE, pathlen:0"));

    let policy = tmp.path().join("policy");
    std::fs::create_dir_all(policy.join("token-authorities")).unwrap();
    std::fs::copy(
        data.join("pa").join("root.pem"),
        policy.join("token-authorities").join("dev.pem"),
    )
    .unwrap();
    std::fs::write(policy.join("policy.toml"), ALL_PROFILES).unwrap();
    let (code, stderr) = {
        let (d, p) = (data.clone(), policy.clone());
        tokio::task::spawn_blocking(move || {
            acme_tests::tools::serve_expecting_exit(BIN, &d, Some(&p), Some(&database_url))
        })
        .await
        .unwrap()
    };
    assert!(code.is_some_and(|c| c != 0), "stica started: {stderr}");
    for needle in [
        "pathLenConstraint 0",
        "sca_path_len = 0",
        "needs at least 1",
        "remove \"sca\" from [issuance] profiles",
        "move <data-dir>/ca away",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in: {stderr}");
    }

    // Following the advice (a development hierarchy: move ca/ away) fixes it: the new
    // intermediate has pathLen 1 and a ca: true token gets an SCA.
    std::fs::rename(data.join("ca"), tmp.path().join("ca.old")).unwrap();
    let srv = TestServer::start(
        BIN,
        ServerOptions {
            data_dir: Some(data.clone()),
            // A new hierarchy on the database of the old one: the operator's escape hatch
            // (without it stica refuses to make a second hierarchy, docs/operations.md).
            args: vec!["--bind-new-database".into()],
            policy_toml: Some(ALL_PROFILES.to_string()),
            token_authorities: vec![data.join("pa").join("root.pem")],
            ..Default::default()
        },
    )
    .await;
    let inter = std::fs::read_to_string(srv.data_dir.join("ca").join("intermediate.pem")).unwrap();
    assert!(openssl_text(&inter).contains("CA:TRUE, pathlen:1"));
    let key_file = tmp.path().join("account.pem");
    let l = spc("1234");
    let (raw, order, _, chall) = pending_order(&srv, &l).await;
    std::fs::write(&key_file, raw.key.to_pkcs8_pem()).unwrap();
    let out = srv.run(
        BIN,
        &[
            "pa",
            "token",
            "--spc",
            "1234",
            "--ca",
            "--account-key",
            key_file.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    answer_valid(&raw, &chall, String::from_utf8_lossy(&out.stdout).trim()).await;
    let r = raw.finalize(&order, &csr_with_ca(&l.to_der(), true)).await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let chain = raw
        .post(r.json()["certificate"].as_str().unwrap(), None)
        .await
        .text();
    check_certificate_as(&srv, &chain, Profile::Sca);
}

#[tokio::test]
async fn stica_pa_token_tn_and_range_flags_mint_a_tn_list_token_the_server_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // First start makes the dev token authority; the second trusts it through a policy dir
    // that also offers tn-level.
    drop(
        TestServer::start(
            BIN,
            ServerOptions {
                data_dir: Some(data.clone()),
                ..Default::default()
            },
        )
        .await,
    );
    let srv = TestServer::start(
        BIN,
        ServerOptions {
            data_dir: Some(data.clone()),
            policy_toml: Some("[issuance]\nprofiles = [\"shaken-spc\", \"tn-level\"]\n".into()),
            token_authorities: vec![data.join("pa").join("root.pem")],
            ..Default::default()
        },
    )
    .await;
    let l = list("spc:1234,tn:12155550123,range:12155550100+100");
    let (raw, order, _, chall) = pending_order(&srv, &l).await;
    let key_file = tmp.path().join("account.pem");
    std::fs::write(&key_file, raw.key.to_pkcs8_pem()).unwrap();
    let out = srv.run(
        BIN,
        &[
            "pa",
            "token",
            "--spc",
            "1234",
            "--tn",
            "12155550123",
            "--range",
            "12155550100+100",
            "--account-key",
            key_file.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(tkvalue_der(&token), l.to_der());
    answer_valid(&raw, &chall, &token).await;
    let (o, cert) = finalize_and_download(&raw, &order, &l).await;
    check_certificate_as(&srv, &cert.text(), Profile::TnLevel);
    assert_eq!(stored_profile(&srv, &o).await, "tn-level");
    let ders = stica::x509::pem_certificates(cert.text().as_bytes()).unwrap();
    assert_eq!(
        extension(&ders[0], "1.3.6.1.5.5.7.1.26").unwrap(),
        l.to_der()
    );
    // A bad --range is refused with a clear message.
    let out = srv.run(
        BIN,
        &[
            "pa",
            "token",
            "--range",
            "12155550100",
            "--account-key",
            key_file.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("START+COUNT"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn jwt_claim_constraints_from_the_token_or_policy_on_tn_level_certificates_only() {
    use stica::tnauth::jwtcc::{ClaimConstraints, ClaimName, EnhancedJwtClaimConstraints};
    // mustInclude { "orig" } (RFC 8226 §8)
    let must_include_orig = "MAqgCDAGFgRvcmln";
    let policy =
        format!("{ALL_PROFILES}\n[issuance.jwt_claim_constraints]\nmust_include = [\"orig\"]\n");
    let (srv, ta) = server_with_ta(&policy).await;
    let l = list("tn:12155550123,range:12155550100+100");

    // policy's constraints: a JWTClaimConstraints extension (id-pe 27)
    let (raw, order, _, chall) = pending_order(&srv, &l).await;
    answer_valid(&raw, &chall, &ta.token(&l, &raw.key.public_jwk())).await;
    let (_, cert) = finalize_and_download(&raw, &order, &l).await;
    check_certificate_as(&srv, &cert.text(), Profile::TnLevel);
    let ders = stica::x509::pem_certificates(cert.text().as_bytes()).unwrap();
    assert_eq!(
        extension(&ders[0], "1.3.6.1.5.5.7.1.27").unwrap(),
        stica::jose::b64::decode_url(must_include_orig).unwrap()
    );
    assert!(openssl_text(&cert.text()).contains("1.3.6.1.5.5.7.1.27:"));

    // the token asks for the same constraints: fine
    let token_with = |raw: &Raw, list: &TnAuthList, member: &str, value: &str| {
        let mut claims = acme_tests::ta::TestTa::claims(list, &raw.fingerprint());
        claims["atc"][member] = serde_json::json!(value);
        ta.custom_token(&claims)
    };
    let (raw, order, _, chall) = pending_order(&srv, &l).await;
    answer_valid(
        &raw,
        &chall,
        &token_with(&raw, &l, "jwtcc", must_include_orig),
    )
    .await;
    let (_, cert) = finalize_and_download(&raw, &order, &l).await;
    check_certificate_as(&srv, &cert.text(), Profile::TnLevel);

    // the token asks for others (enhanced, mustExclude rcd): refused, nothing issued
    let other = ClaimConstraints::Enhanced(
        EnhancedJwtClaimConstraints::new(vec![], vec![], vec![ClaimName::new("rcd").unwrap()])
            .unwrap(),
    );
    let other_b64 = stica::jose::b64::encode_url(&other.to_der());
    let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
    answer_valid(&raw, &chall, &token_with(&raw, &l, "ejwtcc", &other_b64)).await;
    let p =
        assert_finalize_refused(&raw, &order, &order_url, &csr(&l.to_der()), "unauthorized").await;
    assert!(p["detail"].as_str().unwrap().contains("differ"), "{p}");

    // without policy constraints the token's go in: an EnhancedJWTClaimConstraints (id-pe 33)
    let (srv, ta2) = server_with_ta(ALL_PROFILES).await;
    let (raw, order, _, chall) = pending_order(&srv, &l).await;
    let mut claims = acme_tests::ta::TestTa::claims(&l, &raw.fingerprint());
    claims["atc"]["ejwtcc"] = serde_json::json!(other_b64);
    answer_valid(&raw, &chall, &ta2.custom_token(&claims)).await;
    let (_, cert) = finalize_and_download(&raw, &order, &l).await;
    check_certificate_as(&srv, &cert.text(), Profile::TnLevel);
    let ders = stica::x509::pem_certificates(cert.text().as_bytes()).unwrap();
    assert_eq!(
        extension(&ders[0], "1.3.6.1.5.5.7.1.33").unwrap(),
        other.to_der()
    );
    assert_eq!(extension(&ders[0], "1.3.6.1.5.5.7.1.27"), None);

    // on an SPC order the token's constraints are refused; both kinds in one token are malformed
    let s = spc("1234");
    let (raw, order, order_url, chall) = pending_order(&srv, &s).await;
    let mut claims = acme_tests::ta::TestTa::claims(&s, &raw.fingerprint());
    claims["atc"]["jwtcc"] = serde_json::json!(must_include_orig);
    answer_valid(&raw, &chall, &ta2.custom_token(&claims)).await;
    let p =
        assert_finalize_refused(&raw, &order, &order_url, &csr(&s.to_der()), "unauthorized").await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("only tn-level and delegate"),
        "{p}"
    );
    let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
    let mut claims = acme_tests::ta::TestTa::claims(&l, &raw.fingerprint());
    claims["atc"]["jwtcc"] = serde_json::json!(must_include_orig);
    claims["atc"]["ejwtcc"] = serde_json::json!(other_b64);
    assert_token_refused(
        &raw,
        &order,
        &order_url,
        &chall,
        &ta2.custom_token(&claims),
        "malformed",
    )
    .await;
}

#[tokio::test]
async fn stica_client_obtains_tn_level_and_sca_certificates_from_the_dev_token_authority() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    drop(
        TestServer::start(
            BIN,
            ServerOptions {
                data_dir: Some(data.clone()),
                ..Default::default()
            },
        )
        .await,
    );
    // Offering sca needs a new hierarchy (the first start made pathLen 0).
    std::fs::rename(data.join("ca"), tmp.path().join("ca.old")).unwrap();
    let srv = TestServer::start(
        BIN,
        ServerOptions {
            data_dir: Some(data.clone()),
            // A new hierarchy on the database of the old one: the operator's escape hatch
            // (without it stica refuses to make a second hierarchy, docs/operations.md).
            args: vec!["--bind-new-database".into()],
            policy_toml: Some(ALL_PROFILES.into()),
            token_authorities: vec![data.join("pa").join("root.pem")],
            ..Default::default()
        },
    )
    .await;
    let users = std::fs::read_to_string(data.join("pa").join("users.toml")).unwrap();
    let field = |key: &str| {
        users
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|r| {
                r.trim_start_matches([' ', '='])
                    .trim()
                    .trim_matches('"')
                    .to_string()
            })
            .expect("users.toml field")
    };
    let (user, password) = (field("user_id"), field("password"));
    for (list, ca, profile) in [
        (
            "spc:1234,tn:12155550123,range:12155550100+100",
            false,
            Profile::TnLevel,
        ),
        ("spc:1234", true, Profile::Sca),
    ] {
        let out_dir = tmp.path().join(format!("out-{}", profile.as_str()));
        let mut args: Vec<String> = [
            "client",
            "--directory",
            &srv.directory(),
            "--tnauthlist",
            list,
            "--token-authority",
            &format!("{}/sti-pa", srv.base),
            "--pa-user",
            &user,
            "--pa-password",
            &password,
            "--account-key",
            tmp.path().join("account.pem").to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if ca {
            args.push("--ca".into());
        }
        let out = tokio::task::spawn_blocking(move || Command::new(BIN).args(&args).output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            out.status.success(),
            "stica client ({list}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let chain = std::fs::read_to_string(out_dir.join("chain.pem")).unwrap();
        check_certificate_as(&srv, &chain, profile);
    }
}
