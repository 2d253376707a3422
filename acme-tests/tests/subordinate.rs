//! End to end on the real binary: a subordinate delegation CA (issue 3, item 3 "Subordinate",
//! RFC 9060 §4). stica A (an STI-CA offering `sca`) issues a carrier an SCA certificate for a TN
//! range; `stica ca import` puts it into a fresh data directory; stica B serves on it, trusting the
//! carrier's own token authority, and issues an enterprise a `delegate` certificate whose chain
//! root → A's intermediate → SCA → delegate verifies with `openssl verify` and `stica verify
//! chain`. Every refusal is checked for its problem type and for nothing having been issued:
//! numbers outside the SCA's scope, a `ca: true` token under an SCA with pathLen 0, imports of
//! what cannot be a subordinate CA, and a tampered data directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use acme_tests::raw::{Raw, csr_with_ca, csr_with_ca_key, csr_with_key};
use acme_tests::ta::TestTa;
use acme_tests::{ServerOptions, TestServer};
use common::*;
use serde_json::Value;
use stica::ca::Profile;
use stica::pa::SignerRef;
use stica::tnauth::TnAuthList;

/// A offers SCAs next to SPC certificates.
const STI_CA_POLICY: &str = "[issuance]\nprofiles = [\"shaken-spc\", \"sca\"]\n";
/// B, the subordinate, issues delegates only.
const SUBORDINATE_POLICY: &str = "[issuance]\nprofiles = [\"delegate\"]\n";
/// The numbers the carrier's SCA may delegate.
const SCA_SCOPE: &str = "range:12155550000+1000";

fn list(text: &str) -> TnAuthList {
    text.parse().expect("TNAuthList")
}

/// The carrier's side after A issued its SCA: files for `stica ca import`.
struct Carrier {
    a: TestServer,
    /// A's token authority
    a_ta: TestTa,
    tmp: tempfile::TempDir,
    /// SCA, A's intermediate, A's root (PEM)
    chain: PathBuf,
    /// the SCA key, SEC1 PEM (`EC PRIVATE KEY`), as `openssl ec` writes it
    key: PathBuf,
}

impl Carrier {
    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
}

/// Starts A, orders an SCA for [`SCA_SCOPE`] with a `ca: true` token from A's token authority,
/// and writes the import files.
async fn carrier() -> Carrier {
    let (a, ta) = server_with_ta(STI_CA_POLICY).await;
    let l = list(SCA_SCOPE);
    let (raw, order, _, chall) = pending_order(&a, &l).await;
    let token = ta.token_with(&l, &raw.key.public_jwk(), SignerRef::X5c, true);
    let r = raw.answer(&chall, &token).await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let sca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let r = raw
        .finalize(&order, &csr_with_ca_key(&l.to_der(), true, &sca_key))
        .await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let chain = raw
        .post(r.json()["certificate"].as_str().expect("url"), None)
        .await
        .text();
    check_certificate_as(&a, &chain, Profile::Sca);

    let tmp = tempfile::tempdir().expect("tempdir");
    let root = std::fs::read_to_string(a.root_pem()).expect("A root");
    let chain_file = tmp.path().join("sca-chain.pem");
    std::fs::write(&chain_file, format!("{chain}{root}")).expect("write chain");
    let pkcs8 = tmp.path().join("sca.pkcs8.pem");
    std::fs::write(&pkcs8, sca_key.serialize_pem()).expect("write key");
    let key = tmp.path().join("sca.key");
    let out = Command::new("openssl")
        .args(["ec", "-in"])
        .arg(&pkcs8)
        .arg("-out")
        .arg(&key)
        .output()
        .expect("openssl ec");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(&key)
            .expect("key")
            .contains("BEGIN EC PRIVATE KEY")
    );
    Carrier {
        a,
        a_ta: ta,
        tmp,
        chain: chain_file,
        key,
    }
}

/// `stica ca import`; returns (success, stdout + stderr).
fn import(data: &Path, chain: &Path, key: &Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["ca", "import", "--data-dir"])
        .arg(data)
        .arg("--chain")
        .arg(chain)
        .arg("--key")
        .arg(key)
        .output()
        .expect("stica ca import");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Imports the carrier's SCA into a fresh data directory and starts B on it, trusting `ta` (the
/// carrier's own token authority).
async fn subordinate(c: &Carrier, ta: &TestTa) -> TestServer {
    let data = c.path("b").join("data");
    let (ok, out) = import(&data, &c.chain, &c.key);
    assert!(ok, "{out}");
    for needle in [
        "SHAKEN SCA",
        &format!("TNAuthList:          {SCA_SCOPE}"),
        "pathLen:             0",
        "notAfter:",
        "certificates between: 1",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in {out}");
    }
    TestServer::start(
        BIN,
        ServerOptions {
            data_dir: Some(data),
            policy_toml: Some(SUBORDINATE_POLICY.to_string()),
            token_authorities: vec![ta.root_file.clone()],
            ..Default::default()
        },
    )
    .await
}

/// An enterprise account on `srv` with a valid order for `l` (token from `ta`, `ca` as given).
async fn ready_order(
    srv: &TestServer,
    ta: &TestTa,
    l: &TnAuthList,
    ca: bool,
) -> (Raw, Value, String) {
    let (raw, order, order_url, chall) = pending_order(srv, l).await;
    let token = ta.token_with(l, &raw.key.public_jwk(), SignerRef::X5c, ca);
    let r = raw.answer(&chall, &token).await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    (raw, order, order_url)
}

/// newOrder for `l` is refused with `problem` (so no order, nothing issued).
async fn assert_order_refused(srv: &TestServer, l: &TnAuthList, problem: &str, needle: &str) {
    let mut raw = Raw::new(&srv.directory()).await;
    assert_eq!(raw.register().await.status, 201);
    let r = raw.new_order(&l.to_der()).await;
    assert_eq!(
        r.problem_type(),
        format!("urn:ietf:params:acme:error:{problem}"),
        "{l}: {}",
        r.text()
    );
    assert!(r.header("location").is_none(), "{}", r.text());
    let detail = r.json()["detail"].as_str().unwrap_or_default().to_string();
    assert!(detail.contains(needle), "{needle:?} in {detail}");
}

#[tokio::test]
async fn an_imported_sca_issues_delegates_whose_chain_verifies_and_refuses_outside_its_scope() {
    let c = carrier().await;
    let carrier_ta = TestTa::start().await;
    let b = subordinate(&c, &carrier_ta).await;
    // B's trust anchor for relying parties is A's root.
    assert_eq!(
        std::fs::read(b.root_pem()).unwrap(),
        std::fs::read(c.a.root_pem()).unwrap()
    );

    // An enterprise orders a subset of the SCA's numbers: a delegate certificate.
    let l = list("tn:12155550042,range:12155550100+100");
    let (raw, order, _) = ready_order(&b, &carrier_ta, &l, false).await;
    let (o, cert) = finalize_and_download(&raw, &order, &l).await;
    assert_eq!(o["status"], "valid");
    let chain = cert.text();
    let ders = stica::x509::pem_certificates(chain.as_bytes()).unwrap();
    assert_eq!(ders.len(), 3, "delegate, SCA, A's intermediate: {chain}");
    let sca_and_inter = stica::x509::pem_certificates(&std::fs::read(&c.chain).unwrap()).unwrap();
    assert_eq!(&ders[1..], &sca_and_inter[..2]);
    assert_eq!(
        stica::lint::lint_certificate(&ders[0], Profile::Delegate, &ders[1]),
        vec![],
        "lint (delegate)"
    );
    let sa = stica::sa::Storage::connect(&b.database_url).await.unwrap();
    let serial = o["certificate"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(
        sa.certificate(serial).await.unwrap().unwrap().profile,
        "delegate"
    );

    // openssl: root → A's intermediate → SCA → delegate
    let (ok, out) = acme_tests::openssl_verify(&b.root_pem(), &chain);
    assert!(ok, "openssl verify: {out}");
    // stica verify chain (the real binary), against A's root
    let file = c.path("delegate-chain.pem");
    std::fs::write(&file, &chain).unwrap();
    let out = Command::new(BIN)
        .args(["verify", "chain"])
        .arg(&file)
        .arg("--anchor")
        .arg(c.a.root_pem())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Delegation chain: PASS"), "{text}");
    assert!(text.contains("[4] end entity"), "{text}");
    assert_eq!(text.matches("PASS").count(), 5, "{text}");

    // Revocation under the SCA: B's OCSP responder and CRL signer were issued by the SCA. The
    // operator revokes the delegate on B; OCSP (a nonce: signed for the request, never cached)
    // says good before and revoked after, and B's CRL, signed by its CRL signer, lists it.
    let dir = c.path("revocation");
    std::fs::create_dir_all(&dir).unwrap();
    let pem = |d: &[u8]| stica::x509::to_pem("CERTIFICATE", d);
    std::fs::write(dir.join("leaf.pem"), pem(&ders[0])).unwrap();
    std::fs::write(dir.join("issuer.pem"), pem(&ders[1])).unwrap();
    std::fs::write(
        dir.join("other.pem"),
        format!("{}{}", pem(&ders[1]), pem(&ders[2])),
    )
    .unwrap();
    std::fs::copy(b.root_pem(), dir.join("root.pem")).unwrap();
    let ocsp = |dir: PathBuf, url: String| async move {
        tokio::task::spawn_blocking(move || {
            let other = dir.join("other.pem");
            acme_tests::tools::openssl_ocsp(
                &dir,
                &url,
                &["-verify_other", other.to_str().expect("path")],
            )
        })
        .await
        .unwrap()
    };
    let text = ocsp(dir.clone(), format!("{}/ocsp", b.base)).await;
    assert!(
        text.contains("Response verify OK") && text.contains("leaf.pem: good"),
        "{text}"
    );
    let out = b.run(
        BIN,
        &["revoke", "--serial", serial, "--reason", "keyCompromise"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = ocsp(dir.clone(), format!("{}/ocsp", b.base)).await;
    assert!(
        text.contains("Response verify OK") && text.contains("leaf.pem: revoked"),
        "{text}"
    );
    let signer = reqwest::get(format!("{}/crl/signer.pem", b.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (ok, out) = acme_tests::openssl_verify(
        &b.root_pem(),
        &format!("{signer}{}{}", pem(&ders[1]), pem(&ders[2])),
    );
    assert!(ok, "CRL signer under the SCA: {out}");
    let crl = reqwest::get(format!("{}/crl", b.base))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    std::fs::write(dir.join("crl.der"), &crl).unwrap();
    std::fs::write(dir.join("signer.pem"), &signer).unwrap();
    let out = Command::new("openssl")
        .args([
            "crl", "-inform", "DER", "-noout", "-text", "-verify", "-CAfile",
        ])
        .arg(dir.join("signer.pem"))
        .arg("-in")
        .arg(dir.join("crl.der"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("verify OK"), "{text}");
    assert!(text.contains(&serial.to_uppercase()), "{text}");

    // Outside the SCA's scope: one number off each end, a range over the edge, an SPC.
    for outside in [
        "tn:12155551000",
        "tn:12155549999",
        "range:12155550990+20",
        "tn:12155550001,tn:12155551001",
    ] {
        assert_order_refused(
            &b,
            &list(outside),
            "rejectedIdentifier",
            "does not encompass",
        )
        .await;
    }
    assert_order_refused(&b, &list("spc:1234"), "rejectedIdentifier", "").await;

    // A ca: true token under the SCA with pathLen 0: unauthorized at finalize, nothing issued.
    let l = list("range:12155550200+10");
    let (raw, order, order_url) = ready_order(&b, &carrier_ta, &l, true).await;
    for ca_csr in [true, false] {
        let p = assert_finalize_refused(
            &raw,
            &order,
            &order_url,
            &csr_with_ca(&l.to_der(), ca_csr),
            "unauthorized",
        )
        .await;
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("pathLenConstraint is 0"),
            "{p}"
        );
    }
    // An end-entity order asking for a CA in its CSR: badCSR, nothing issued.
    let l = list("tn:12155550300");
    let (raw, order, order_url) = ready_order(&b, &carrier_ta, &l, false).await;
    assert_finalize_refused(
        &raw,
        &order,
        &order_url,
        &csr_with_ca(&l.to_der(), true),
        "badCSR",
    )
    .await;
    // A token from a token authority B does not trust: refused.
    let l = list("tn:12155550400");
    let (raw, _, _, chall) = pending_order(&b, &l).await;
    let foreign = TestTa::start().await;
    let token = foreign.token(&l, &raw.key.public_jwk());
    assert_eq!(raw.answer(&chall, &token).await.json()["status"], "invalid");
}

#[tokio::test]
async fn import_refuses_what_cannot_be_a_subordinate_and_serve_refuses_a_tampered_hierarchy() {
    let c = carrier().await;
    let certs = stica::x509::pem_certificates(&std::fs::read(&c.chain).unwrap()).unwrap();
    let [sca, inter, root] = [&certs[0], &certs[1], &certs[2]];
    let pem = |ders: &[&Vec<u8>]| -> String {
        ders.iter()
            .map(|d| stica::x509::to_pem("CERTIFICATE", d))
            .collect()
    };
    let write = |name: &str, text: &str| {
        let p = c.path(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let a_inter_key = c.a.data_dir.join("ca").join("intermediate.key");

    // A leaf (not a CA) with a TNAuthList: an SPC certificate from A, with its key.
    let l = spc("1234");
    let (raw, order, _, chall) = pending_order(&c.a, &l).await;
    let r = raw
        .answer(&chall, &c.a_ta.token(&l, &raw.key.public_jwk()))
        .await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let r = raw
        .finalize(&order, &csr_with_key(&l.to_der(), &leaf_key))
        .await;
    let leaf_chain = raw
        .post(r.json()["certificate"].as_str().expect("url"), None)
        .await
        .text();
    let a_root = std::fs::read_to_string(c.a.root_pem()).unwrap();
    let leaf_key_file = write("leaf.key", &leaf_key.serialize_pem());

    let cases: Vec<(&str, PathBuf, PathBuf, &str)> = vec![
        (
            "an end-entity certificate",
            write("leaf-chain.pem", &format!("{leaf_chain}{a_root}")),
            leaf_key_file,
            "is not a CA",
        ),
        (
            "a CA without a TNAuthList (A's intermediate)",
            write("inter-chain.pem", &pem(&[inter, root])),
            a_inter_key.clone(),
            "carries no TNAuthList",
        ),
        (
            "a key that is not the SCA's",
            c.chain.clone(),
            a_inter_key.clone(),
            "the key is not the key of the issuing certificate",
        ),
        (
            "a chain missing the intermediate",
            write("broken-chain.pem", &pem(&[sca, root])),
            c.key.clone(),
            "does not verify",
        ),
        (
            "a chain in the wrong order",
            write("unordered-chain.pem", &pem(&[sca, root, inter])),
            c.key.clone(),
            "not a self-signed root",
        ),
    ];
    for (what, chain, key, needle) in cases {
        let data = c.path(&format!("refused-{}", what.len())).join("data");
        let (ok, out) = import(&data, &chain, &key);
        assert!(!ok, "{what}: imported: {out}");
        assert!(out.contains("cannot import"), "{what}: {out}");
        assert!(out.contains(needle), "{what}: {needle:?} in {out}");
        assert!(!data.join("ca").exists(), "{what}: something was written");
    }
    // A data directory that already holds a hierarchy (A's own).
    let before = std::fs::read(c.a.data_dir.join("ca").join("intermediate.pem")).unwrap();
    let (ok, out) = import(&c.a.data_dir, &c.chain, &c.key);
    assert!(!ok && out.contains("already holds"), "{out}");
    assert_eq!(
        std::fs::read(c.a.data_dir.join("ca").join("intermediate.pem")).unwrap(),
        before
    );

    // A good import, then tampered: the issuing certificate swapped for a non-CA one, or for a
    // CA without a TNAuthList. `stica serve` refuses to start and says why.
    let policy = c.path("policy");
    std::fs::create_dir_all(policy.join("token-authorities")).unwrap();
    std::fs::write(policy.join("policy.toml"), SUBORDINATE_POLICY).unwrap();
    std::fs::copy(
        &c.a_ta.root_file,
        policy.join("token-authorities").join("ta.pem"),
    )
    .unwrap();
    let leaf_der = &stica::x509::pem_certificates(leaf_chain.as_bytes()).unwrap()[0];
    for (what, swapped, needle) in [
        ("not a CA", leaf_der, "is not a CA"),
        ("no TNAuthList", inter, "carries no TNAuthList"),
    ] {
        let data = c.path(&format!("tampered-{}", what.len())).join("data");
        let (ok, out) = import(&data, &c.chain, &c.key);
        assert!(ok, "{out}");
        let issuing = data.join("ca").join("intermediate.pem");
        std::fs::write(&issuing, pem(&[swapped])).unwrap();
        let (code, stderr) = {
            let (d, p) = (data.clone(), policy.clone());
            tokio::task::spawn_blocking(move || {
                acme_tests::tools::serve_expecting_exit(BIN, &d, Some(&p), None)
            })
            .await
            .unwrap()
        };
        assert!(
            code.is_some_and(|c| c != 0),
            "{what}: stica started: {stderr}"
        );
        assert!(
            stderr.contains("subordinate CA (imported)"),
            "{what}: {stderr}"
        );
        assert!(stderr.contains(needle), "{what}: {needle:?} in {stderr}");
        assert!(
            !data.join("ca").join("crl-signer.pem").exists(),
            "{what}: nothing issued under the tampered hierarchy"
        );
    }
}
