//! CA tests: hierarchy on disk, issuance through prepare/issue, lint refusal, and every issued
//! certificate checked by `openssl verify` and `openssl x509 -text`.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use der::{Decode, Encode};

use super::*;
use crate::lint::LintContext;

const TNAUTH_1234: &str = "3008a006160431323334";
const STI_PA_CRL_ISSUER: &str = "3056311430120603550407130B4272696467657761746572310B3009060355040813024E4A311330110603550403130A5354492D50412043524C310B3009060355040613025553310F300D060355040A13065354492D5041";

/// Counts the signatures the real key makes.
#[derive(Debug)]
struct Counting {
    inner: KeyFileSigner,
    count: AtomicUsize,
}

impl Signer for Counting {
    fn public_key(&self) -> &[u8] {
        self.inner.public_key()
    }
    fn sign(&self, m: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.inner.sign(m)
    }
}

/// Claims the intermediate's public key but signs with another key.
#[derive(Debug)]
struct Lying {
    claimed: Vec<u8>,
    actual: KeyFileSigner,
}

impl Signer for Lying {
    fn public_key(&self) -> &[u8] {
        &self.claimed
    }
    fn sign(&self, m: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.actual.sign(m)
    }
}

fn crl_dp(issuer: bool) -> CrlDistributionPoint {
    CrlDistributionPoint {
        url: "https://authenticate-api.iconectiv.com/download/v1/crl".into(),
        crl_issuer_der: issuer.then(|| hex::decode(STI_PA_CRL_ISSUER).unwrap()),
    }
}

fn p256_spki() -> Vec<u8> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    rcgen::PublicKeyData::subject_public_key_info(&key)
}

fn request(spki: Vec<u8>) -> IssuanceRequest {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    IssuanceRequest {
        profile: Profile::ShakenSpc,
        spki_der: spki,
        tnauthlist_der: hex::decode(TNAUTH_1234).unwrap(),
        organization: "Example Telecom, LLC".into(),
        not_before: now - 60,
        not_after: now + 30 * 86400,
        account_id: "acct-1".into(),
        claim_constraints: None,
    }
}

fn setup() -> (tempfile::TempDir, Ca) {
    let dir = tempfile::tempdir().unwrap();
    assert!(init_hierarchy(dir.path(), "stica test").unwrap());
    let ca = Ca::load(dir.path(), &Policy::default(), crl_dp(true)).unwrap();
    (dir, ca)
}

fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `openssl verify` of `leaf` against the hierarchy in `data_dir`, and the `-text` dump.
fn openssl_check(data_dir: &Path, leaf_der: &[u8]) -> String {
    let ca_dir = data_dir.join("ca");
    std::fs::write(
        ca_dir.join("leaf.pem"),
        crate::x509::to_pem("CERTIFICATE", leaf_der),
    )
    .unwrap();
    let (ok, out) = openssl(
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "intermediate.pem",
            "leaf.pem",
        ],
        &ca_dir,
    );
    assert!(ok && out.contains("leaf.pem: OK"), "{out}");
    let (ok, text) = openssl(&["x509", "-noout", "-text", "-in", "leaf.pem"], &ca_dir);
    assert!(ok, "{text}");
    text
}

#[test]
fn hierarchy_files_modes_and_profile() {
    let dir = tempfile::tempdir().unwrap();
    assert!(init_hierarchy(dir.path(), "stica test").unwrap());
    assert!(!init_hierarchy(dir.path(), "stica test").unwrap());
    let paths = HierarchyPaths::new(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in [&paths.root_key, &paths.intermediate_key] {
            let mode = std::fs::metadata(key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", key.display());
        }
    }
    let ca_dir = &paths.dir;
    let (ok, out) = openssl(
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "root.pem",
            "intermediate.pem",
        ],
        ca_dir,
    );
    assert!(ok, "{out}");

    let (_, root) = openssl(&["x509", "-noout", "-text", "-in", "root.pem"], ca_dir);
    assert!(root.contains("CN = stica test SHAKEN ROOT"), "{root}");
    assert!(
        root.contains("CA:TRUE") && !root.contains("pathlen"),
        "{root}"
    );
    assert!(root.contains("Certificate Sign, CRL Sign"), "{root}");
    assert!(!root.contains("Authority Key Identifier"));
    assert!(!root.contains("Certificate Policies"));

    let (_, inter) = openssl(
        &["x509", "-noout", "-text", "-in", "intermediate.pem"],
        ca_dir,
    );
    assert!(inter.contains("SHAKEN"), "{inter}");
    assert!(inter.contains("CA:TRUE, pathlen:0"), "{inter}");
    assert!(
        inter.contains("Key Usage: critical\n                Certificate Sign\n"),
        "{inter}"
    );
    assert!(inter.contains("X509v3 Any Policy"), "{inter}");
    assert!(!inter.contains("1.3.6.1.5.5.7.1.26"));

    // SKI = SHA-1 of the key, AKI = root SKI, C PrintableString
    let root_der = hierarchy::read_cert(&paths.root_cert).unwrap();
    let inter_der = hierarchy::read_cert(&paths.intermediate_cert).unwrap();
    let root_key = KeyFileSigner::load(&paths.root_key).unwrap();
    let root_ski = ext::key_identifier(root_key.public_key());
    let inter_key = KeyFileSigner::load(&paths.intermediate_key).unwrap();
    let inter_ski = ext::key_identifier(inter_key.public_key());
    assert!(contains(&root_der, &root_ski));
    assert!(contains(&inter_der, &inter_ski));
    assert!(contains(
        &inter_der,
        &[&[0x80, 0x14][..], &root_ski].concat()
    ));
    assert!(contains(&root_der, &[0x13, 0x02, b'U', b'S']));
}

#[test]
fn partial_hierarchy_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    init_hierarchy(dir.path(), "x").unwrap();
    std::fs::remove_file(HierarchyPaths::new(dir.path()).intermediate_key).unwrap();
    assert!(matches!(
        init_hierarchy(dir.path(), "x"),
        Err(CaError::PartialHierarchy { missing }) if missing.len() == 1
    ));
}

#[test]
fn issued_certificate_verifies_lints_clean_and_has_the_profile() {
    let (dir, ca) = setup();
    let prepared = ca.prepare(request(p256_spki())).unwrap();
    let serial = prepared.serial_hex().to_string();
    let issued = ca.issue(prepared).unwrap();
    assert_eq!(issued.serial_hex, serial);
    assert_eq!(serial.len(), 40);

    let findings = crate::lint::lint_with(
        &issued.der,
        &LintContext::new(Profile::ShakenSpc, ca.issuer_der()),
    );
    assert_eq!(findings, vec![]);

    let text = openssl_check(dir.path(), &issued.der);
    for needle in [
        "Version: 3 (0x2)",
        "Signature Algorithm: ecdsa-with-SHA256",
        "Subject: C = US, O = \"Example Telecom, LLC\", CN = SHAKEN 1234",
        "NIST CURVE: P-256",
        "X509v3 Key Usage: critical\n                Digital Signature\n",
        "X509v3 Basic Constraints: critical\n                CA:FALSE",
        "X509v3 Subject Key Identifier",
        "X509v3 Authority Key Identifier",
        "Policy: 2.16.840.1.114569.1.1.4",
        "URI:https://authenticate-api.iconectiv.com/download/v1/crl",
        "DirName:L = Bridgewater, ST = NJ, CN = STI-PA CRL, C = US, O = STI-PA",
        "1.3.6.1.5.5.7.1.26:",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    for absent in [
        "Subject Alternative Name",
        "Authority Information Access",
        "Extended Key Usage",
        "1.3.6.1.5.5.7.1.26: critical",
    ] {
        assert!(!text.contains(absent), "unexpected {absent:?}");
    }

    // exact encodings
    assert!(contains(
        &issued.der,
        &hex::decode("0603551d0f0101ff040403020780").unwrap()
    ));
    assert!(contains(
        &issued.der,
        &hex::decode("0603551d130101ff04023000").unwrap()
    ));
    assert!(contains(
        &issued.der,
        &hex::decode(STI_PA_CRL_ISSUER).unwrap()
    ));
    assert!(contains(
        &issued.der,
        &[&hex::decode("060355040613025553").unwrap()[..]].concat()
    ));
    assert!(contains(
        &issued.der,
        &hex::decode(format!("06082b0601050507011a040a{TNAUTH_1234}")).unwrap()
    ));

    // the issuer name is byte for byte the intermediate's subject
    let leaf = x509_cert::Certificate::from_der(&issued.der).unwrap();
    let inter = x509_cert::Certificate::from_der(ca.issuer_der()).unwrap();
    assert_eq!(
        leaf.tbs_certificate().issuer().to_der().unwrap(),
        inter.tbs_certificate().subject().to_der().unwrap()
    );

    // chain: leaf then intermediate
    let chain = crate::x509::pem_certificates(issued.chain_pem.as_bytes()).unwrap();
    assert_eq!(chain, vec![issued.der.clone(), ca.issuer_der().to_vec()]);
    assert_eq!(ca.chain_der(), &[ca.issuer_der().to_vec()]);
    assert_eq!(
        ca.root_der(),
        hierarchy::read_cert(&HierarchyPaths::new(dir.path()).root_cert).unwrap()
    );
}

#[test]
fn without_crl_issuer_and_with_a_configured_cp() {
    let dir = tempfile::tempdir().unwrap();
    init_hierarchy(dir.path(), "stica test").unwrap();
    let mut policy = Policy::default();
    policy.file.issuance.certificate_policy = "2.16.840.1.114569.1.1.3".into();
    let ca = Ca::load(dir.path(), &policy, crl_dp(false)).unwrap();
    let issued = ca.issue(ca.prepare(request(p256_spki())).unwrap()).unwrap();
    let text = openssl_check(dir.path(), &issued.der);
    assert!(text.contains("Policy: 2.16.840.1.114569.1.1.3"));
    assert!(!text.contains("CRL Issuer"));
}

#[test]
fn csr_to_certificate_uses_only_the_key() {
    let (dir, ca) = setup();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["evil.example".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Evil Corp ROOT");
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 26],
        hex::decode(TNAUTH_1234).unwrap(),
    )];
    let csr = csr::parse_csr(params.serialize_request(&key).unwrap().der()).unwrap();
    let mut req = request(csr.spki_der.clone());
    req.tnauthlist_der = csr.require_tnauthlist().unwrap().to_vec();
    let issued = ca.issue(ca.prepare(req).unwrap()).unwrap();
    let text = openssl_check(dir.path(), &issued.der);
    assert!(!text.contains("evil") && !text.contains("Evil"));
    assert!(contains(&issued.der, key.public_key_raw()));
}

#[test]
fn validity_is_capped_at_the_issuer() {
    let (_dir, ca) = setup();
    let mut req = request(p256_spki());
    req.not_after = req.not_before + 100 * 365 * 86400;
    let p = ca.prepare(req).unwrap();
    assert_eq!(p.not_after(), ca.issuer_not_after);
    let issued = ca.issue(p).unwrap();
    assert_eq!(issued.not_after, ca.issuer_not_after);
}

#[test]
fn lint_error_refuses_and_never_touches_the_real_key() {
    let dir = tempfile::tempdir().unwrap();
    init_hierarchy(dir.path(), "stica test").unwrap();
    let paths = HierarchyPaths::new(dir.path());
    let counting = Arc::new(Counting {
        inner: KeyFileSigner::load(&paths.intermediate_key).unwrap(),
        count: AtomicUsize::new(0),
    });
    // "us" passes policy validation (two letters) but not the lint (ISO 3166 alpha-2 capitals)
    let mut policy = Policy::default();
    policy.file.issuance.country = "us".into();
    let ca = Ca::with_signer(
        hierarchy::read_cert(&paths.root_cert).unwrap(),
        hierarchy::read_cert(&paths.intermediate_cert).unwrap(),
        counting.clone(),
        &policy,
        crl_dp(true),
    )
    .unwrap();
    let err = ca.prepare(request(p256_spki())).unwrap_err();
    let CaError::Lint(findings) = &err else {
        panic!("expected a lint refusal, got {err}");
    };
    assert!(
        findings
            .iter()
            .any(|f| f.rule == "e_sti_subject_has_c_o_cn")
    );
    assert_eq!(counting.count.load(Ordering::SeqCst), 0);
    let e: Error = err.into();
    assert_eq!(e.kind, ErrorKind::Internal);

    // the same CA with a good policy signs exactly once per certificate
    let ca = Ca::with_signer(
        hierarchy::read_cert(&paths.root_cert).unwrap(),
        hierarchy::read_cert(&paths.intermediate_cert).unwrap(),
        counting.clone(),
        &Policy::default(),
        crl_dp(true),
    )
    .unwrap();
    let p = ca.prepare(request(p256_spki())).unwrap();
    assert_eq!(counting.count.load(Ordering::SeqCst), 0);
    ca.issue(p).unwrap();
    assert_eq!(counting.count.load(Ordering::SeqCst), 1);
}

#[test]
fn bad_keys_and_requests_are_bad_csr() {
    let (_dir, ca) = setup();
    let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let err = ca
        .prepare(request(rcgen::PublicKeyData::subject_public_key_info(
            &p384,
        )))
        .unwrap_err();
    assert!(matches!(err, CaError::BadKey(_)), "{err}");
    assert_eq!(Error::from(err).kind, ErrorKind::BadCsr);

    let mut req = request(p256_spki());
    req.tnauthlist_der = hex::decode("300FA20D160B3132313535353530313233").unwrap();
    let err = ca.prepare(req).unwrap_err();
    assert!(matches!(err, CaError::BadRequest(_)), "{err}");
    assert_eq!(Error::from(err).kind, ErrorKind::BadCsr);

    let mut req = request(p256_spki());
    req.organization = "  ".into();
    assert!(matches!(ca.prepare(req), Err(CaError::BadRequest(_))));

    let mut req = request(p256_spki());
    req.not_after = req.not_before;
    assert!(matches!(ca.prepare(req), Err(CaError::BadRequest(_))));
}

#[test]
fn wrong_signer_key_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    init_hierarchy(dir.path(), "stica test").unwrap();
    let paths = HierarchyPaths::new(dir.path());
    let root = hierarchy::read_cert(&paths.root_cert).unwrap();
    let inter = hierarchy::read_cert(&paths.intermediate_cert).unwrap();
    let err = Ca::with_signer(
        root.clone(),
        inter.clone(),
        Arc::new(KeyFileSigner::generate().unwrap()),
        &Policy::default(),
        crl_dp(true),
    )
    .unwrap_err();
    assert!(matches!(err, CaError::BadHierarchy(_)), "{err}");
    // an intermediate that the root did not sign
    let other = tempfile::tempdir().unwrap();
    init_hierarchy(other.path(), "other").unwrap();
    let other_root = hierarchy::read_cert(&HierarchyPaths::new(other.path()).root_cert).unwrap();
    let err = Ca::with_signer(
        other_root,
        inter,
        Arc::new(KeyFileSigner::load(&paths.intermediate_key).unwrap()),
        &Policy::default(),
        crl_dp(true),
    )
    .unwrap_err();
    assert!(matches!(err, CaError::BadHierarchy(m) if m.contains("not signed by the root")));
}

#[test]
fn a_signer_that_signs_with_another_key_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    init_hierarchy(dir.path(), "stica test").unwrap();
    let paths = HierarchyPaths::new(dir.path());
    let real = KeyFileSigner::load(&paths.intermediate_key).unwrap();
    let lying = Arc::new(Lying {
        claimed: real.public_key().to_vec(),
        actual: KeyFileSigner::generate().unwrap(),
    });
    let ca = Ca::with_signer(
        hierarchy::read_cert(&paths.root_cert).unwrap(),
        hierarchy::read_cert(&paths.intermediate_cert).unwrap(),
        lying,
        &Policy::default(),
        crl_dp(true),
    )
    .unwrap();
    let err = ca
        .issue(ca.prepare(request(p256_spki())).unwrap())
        .unwrap_err();
    assert!(matches!(err, CaError::Integrity(_)), "{err}");
}

#[test]
fn bad_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    init_hierarchy(dir.path(), "stica test").unwrap();
    let bad_url = CrlDistributionPoint {
        url: "ldap://crl".into(),
        crl_issuer_der: None,
    };
    assert!(matches!(
        Ca::load(dir.path(), &Policy::default(), bad_url),
        Err(CaError::Config(_))
    ));
    let bad_issuer = CrlDistributionPoint {
        url: "https://crl".into(),
        crl_issuer_der: Some(vec![0x30, 0x01]),
    };
    assert!(matches!(
        Ca::load(dir.path(), &Policy::default(), bad_issuer),
        Err(CaError::Config(_))
    ));
    assert!(matches!(
        Ca::load(&dir.path().join("none"), &Policy::default(), crl_dp(false)),
        Err(CaError::Io { .. })
    ));
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn signing_is_audit_logged_before_and_after() {
    let (_dir, ca) = setup();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let issued = tracing::subscriber::with_default(subscriber, || {
        // Other tests sign on other threads without a subscriber; a callsite first registered
        // there may have cached "never" before this scoped subscriber existed.
        tracing::callsite::rebuild_interest_cache();
        ca.issue(ca.prepare(request(p256_spki())).unwrap()).unwrap()
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(" audit:")).collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(lines[0].contains("sign.start") && lines[1].contains("sign.done"));
    for line in lines {
        assert!(line.contains(&issued.serial_hex), "{line}");
        assert!(
            line.contains("shaken-spc") && line.contains("acct-1"),
            "{line}"
        );
        assert!(line.contains("CN=SHAKEN 1234"), "{line}");
    }
}

#[test]
fn verify_signed_by_on_the_martini_chain() {
    let pem = |b: &[u8]| crate::x509::pem_certificates(b).unwrap().remove(0);
    let leaf = pem(include_bytes!(
        "../lint/testdata/martini_leaf_lowlatency.pem"
    ));
    let g2 = pem(include_bytes!("../lint/testdata/martini_ca_shaken_g2.pem"));
    let r1 = pem(include_bytes!(
        "../lint/testdata/martini_root_shaken_r1.pem"
    ));
    let key = |d: &[u8]| {
        x509_cert::Certificate::from_der(d)
            .unwrap()
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .as_bytes()
            .unwrap()
            .to_vec()
    };
    verify_signed_by(&leaf, &key(&g2)).unwrap();
    verify_signed_by(&g2, &key(&r1)).unwrap();
    assert!(verify_signed_by(&leaf, &key(&r1)).is_err());
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn crl_issuer_name_from_crl_and_certificate_files() {
    let dir = tempfile::tempdir().unwrap();
    init_hierarchy(dir.path(), "stica test").unwrap();
    let paths = HierarchyPaths::new(dir.path());
    let root_der = hierarchy::read_cert(&paths.root_cert).unwrap();
    let root_subject = x509_cert::Certificate::from_der(&root_der)
        .unwrap()
        .tbs_certificate()
        .subject()
        .to_der()
        .unwrap();
    // certificate, PEM and DER: its subject
    assert_eq!(name_from_file(&paths.root_cert).unwrap(), root_subject);
    let der_path = dir.path().join("root.der");
    std::fs::write(&der_path, &root_der).unwrap();
    assert_eq!(name_from_file(&der_path).unwrap(), root_subject);
    // CRL, PEM and DER: its issuer
    let root_key: Arc<dyn Signer> = Arc::new(KeyFileSigner::load(&paths.root_key).unwrap());
    let issuer = rcgen::Issuer::from_ca_cert_der(
        &rustls::pki_types::CertificateDer::from(root_der.as_slice()),
        signer::RcgenKey(root_key),
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let crl = rcgen::CertificateRevocationListParams {
        this_update: now,
        next_update: now + time::Duration::days(1),
        crl_number: rcgen::SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs: vec![],
        key_identifier_method: rcgen::KeyIdMethod::PreSpecified(vec![1; 20]),
    }
    .signed_by(&issuer)
    .unwrap();
    let crl_pem = dir.path().join("ca.crl.pem");
    std::fs::write(&crl_pem, crate::x509::to_pem("X509 CRL", crl.der())).unwrap();
    assert_eq!(name_from_file(&crl_pem).unwrap(), root_subject);
    let crl_der = dir.path().join("ca.crl");
    std::fs::write(&crl_der, crl.der()).unwrap();
    assert_eq!(name_from_file(&crl_der).unwrap(), root_subject);
    // nothing usable
    let junk = dir.path().join("junk");
    std::fs::write(&junk, "hello").unwrap();
    assert!(matches!(name_from_file(&junk), Err(CaError::Config(_))));
    assert!(matches!(
        name_from_file(&dir.path().join("missing")),
        Err(CaError::Io { .. })
    ));
}

#[test]
fn ca_and_prepared_can_cross_await_points() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Ca>();
    send_sync::<Prepared>();
    send_sync::<CaError>();
}

// ---- tn-level, sca, delegate ----

const TN_LEVEL: &str = "spc:1234,tn:12155550123,range:12155550100+100";
const NUMBERS: &str = "tn:12155550123,range:12155550100+100";

fn list(text: &str) -> Vec<u8> {
    text.parse::<crate::tnauth::TnAuthList>().unwrap().to_der()
}

fn request_as(profile: Profile, tnauthlist: &str) -> IssuanceRequest {
    let mut req = request(p256_spki());
    req.profile = profile;
    req.tnauthlist_der = list(tnauthlist);
    req
}

fn policy_offering(profiles: &[&str]) -> Policy {
    let mut policy = Policy::default();
    policy.file.issuance.profiles = profiles.iter().map(|p| p.to_string()).collect();
    policy
}

/// A hierarchy whose intermediate allows SCA issuance, and a CA offering every profile.
fn setup_sca() -> (tempfile::TempDir, Ca) {
    let dir = tempfile::tempdir().unwrap();
    assert!(init_hierarchy_with(dir.path(), "stica test", 1).unwrap());
    let policy = policy_offering(&["shaken-spc", "tn-level", "sca", "delegate"]);
    let ca = Ca::load(dir.path(), &policy, crl_dp(true))
        .unwrap()
        .with_own_crl(CrlDistributionPoint {
            url: "http://stica.example/crl".into(),
            crl_issuer_der: None,
        })
        .unwrap();
    (dir, ca)
}

fn extension_value(der: &[u8], oid: ObjectIdentifier) -> Option<Vec<u8>> {
    x509_cert::Certificate::from_der(der)
        .unwrap()
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes().to_vec())
}

#[test]
fn tn_level_certificate_carries_the_list_byte_for_byte() {
    let (dir, ca) = setup_sca();
    for (text, cn) in [
        (TN_LEVEL, "CN = SHAKEN 1234"),
        (NUMBERS, "CN = SHAKEN acct-1"),
    ] {
        let issued = ca
            .issue(ca.prepare(request_as(Profile::TnLevel, text)).unwrap())
            .unwrap();
        assert_eq!(
            extension_value(&issued.der, oid::TN_AUTH_LIST).unwrap(),
            list(text)
        );
        let findings = crate::lint::lint_with(
            &issued.der,
            &LintContext::new(Profile::TnLevel, ca.issuer_der()),
        );
        assert_eq!(findings, vec![], "{text}");
        let out = openssl_check(dir.path(), &issued.der);
        assert!(out.contains(cn), "{out}");
        assert!(out.contains("CA:FALSE") && out.contains("Digital Signature"));
        assert!(out.contains("URI:https://authenticate-api.iconectiv.com/download/v1/crl"));
    }
    // an SPC-only list, two SPCs, or lowercase are not TN-level lists
    for bad in ["spc:1234", "spc:1234,spc:5678,tn:12155550123"] {
        let err = ca.prepare(request_as(Profile::TnLevel, bad)).unwrap_err();
        assert!(matches!(err, CaError::BadRequest(_)), "{bad}: {err}");
    }
}

#[test]
fn sca_certificate_is_a_ca_with_path_len_and_key_cert_sign_and_can_sign_a_delegate() {
    let (dir, ca) = setup_sca();
    assert_eq!(ca.issuer_path_len(), Some(1));
    let issued = ca
        .issue(ca.prepare(request_as(Profile::Sca, "spc:1234")).unwrap())
        .unwrap();
    let mut ctx = LintContext::new(Profile::Sca, ca.issuer_der());
    ctx.sca_path_len = 0;
    assert_eq!(crate::lint::lint_with(&issued.der, &ctx), vec![]);
    let text = openssl_check(dir.path(), &issued.der);
    for needle in [
        "Subject: C = US, O = \"Example Telecom, LLC\", CN = \"Example Telecom, LLC SHAKEN SCA 1234\"",
        "X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0",
        "X509v3 Key Usage: critical\n                Certificate Sign\n",
        "Policy: 2.16.840.1.114569.1.1.4",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(contains(
        &issued.der,
        &hex::decode("0603551d130101ff040830060101ff020100").unwrap()
    ));
    assert!(contains(
        &issued.der,
        &hex::decode("0603551d0f0101ff040403020204").unwrap()
    ));

    // The SCA can sign a delegate that openssl verifies: root -> intermediate -> SCA -> leaf.
    let sca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut req = request_as(Profile::Sca, "spc:1234");
    req.spki_der = rcgen::PublicKeyData::subject_public_key_info(&sca_key);
    let sca = ca.issue(ca.prepare(req).unwrap()).unwrap();
    let sca_issuer = rcgen::Issuer::from_ca_cert_der(
        &rustls::pki_types::CertificateDer::from(sca.der.as_slice()),
        sca_key,
    )
    .unwrap();
    let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Enterprise SHAKEN");
    params.use_authority_key_identifier_extension = true;
    let leaf = params.signed_by(&leaf_key, &sca_issuer).unwrap();
    let ca_dir = dir.path().join("ca");
    std::fs::write(
        ca_dir.join("chain.pem"),
        format!(
            "{}{}",
            crate::x509::to_pem("CERTIFICATE", &sca.der),
            std::fs::read_to_string(ca_dir.join("intermediate.pem")).unwrap()
        ),
    )
    .unwrap();
    std::fs::write(ca_dir.join("delegate.pem"), leaf.pem()).unwrap();
    let (ok, out) = openssl(
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "chain.pem",
            "delegate.pem",
        ],
        &ca_dir,
    );
    assert!(ok, "{out}");
    // ... but not a CA below it (the SCA's pathLen 0)
    let sub_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut sub = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    sub.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    sub.distinguished_name
        .push(rcgen::DnType::CommonName, "Sub SHAKEN");
    let sub = sub.signed_by(&sub_key, &sca_issuer).unwrap();
    let sub_issuer = rcgen::Issuer::from_ca_cert_der(sub.der(), sub_key).unwrap();
    let below = params.signed_by(&leaf_key, &sub_issuer).unwrap();
    std::fs::write(
        ca_dir.join("chain2.pem"),
        format!(
            "{}{}",
            sub.pem(),
            std::fs::read_to_string(ca_dir.join("chain.pem")).unwrap()
        ),
    )
    .unwrap();
    std::fs::write(ca_dir.join("below.pem"), below.pem()).unwrap();
    let (ok, out) = openssl(
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "chain2.pem",
            "below.pem",
        ],
        &ca_dir,
    );
    assert!(!ok && out.contains("path length"), "{out}");
}

#[test]
fn sca_with_crl_sign_and_deeper_path_len_by_policy() {
    let dir = tempfile::tempdir().unwrap();
    init_hierarchy_with(dir.path(), "stica test", 3).unwrap();
    let mut policy = policy_offering(&["sca"]);
    policy.file.issuance.sca_path_len = 2;
    policy.file.issuance.sca_crl_sign = true;
    let ca = Ca::load(dir.path(), &policy, crl_dp(false)).unwrap();
    let issued = ca
        .issue(ca.prepare(request_as(Profile::Sca, NUMBERS)).unwrap())
        .unwrap();
    let text = openssl_check(dir.path(), &issued.der);
    assert!(text.contains("CA:TRUE, pathlen:2"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(
        text.contains("SHAKEN SCA\n") || text.contains("SHAKEN SCA\""),
        "{text}"
    );
}

#[test]
fn sca_needs_room_in_the_issuer_path_len() {
    // pathLen 0 hierarchy: a policy offering sca refuses to load, saying how to fix it
    let dir = tempfile::tempdir().unwrap();
    init_hierarchy(dir.path(), "stica test").unwrap();
    let err = Ca::load(
        dir.path(),
        &policy_offering(&["shaken-spc", "sca"]),
        crl_dp(true),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            CaError::IssuerPathLenTooSmall {
                have: 0,
                need: 1,
                ..
            }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("pathLenConstraint 0") && text.contains("move <data-dir>/ca away"),
        "{text}"
    );
    // sca_path_len 1 needs pathLen 2
    let dir1 = tempfile::tempdir().unwrap();
    init_hierarchy_with(dir1.path(), "stica test", 1).unwrap();
    let mut policy = policy_offering(&["sca"]);
    policy.file.issuance.sca_path_len = 1;
    assert!(matches!(
        Ca::load(dir1.path(), &policy, crl_dp(true)),
        Err(CaError::IssuerPathLenTooSmall {
            have: 1,
            need: 2,
            ..
        })
    ));

    // without sca in policy the CA loads, and still refuses a CA certificate: nothing is signed
    let paths = HierarchyPaths::new(dir.path());
    let counting = Arc::new(Counting {
        inner: KeyFileSigner::load(&paths.intermediate_key).unwrap(),
        count: AtomicUsize::new(0),
    });
    let ca = Ca::with_signer(
        hierarchy::read_cert(&paths.root_cert).unwrap(),
        hierarchy::read_cert(&paths.intermediate_cert).unwrap(),
        counting.clone(),
        &Policy::default(),
        crl_dp(true),
    )
    .unwrap();
    let err = ca
        .prepare(request_as(Profile::Sca, "spc:1234"))
        .unwrap_err();
    assert!(matches!(err, CaError::NotPermitted(_)), "{err}");
    assert_eq!(Error::from(err).kind, ErrorKind::Unauthorized);
    assert_eq!(counting.count.load(Ordering::SeqCst), 0);
}

#[test]
fn delegate_names_the_own_crl_and_numbers_only() {
    let (dir, ca) = setup_sca();
    let issued = ca
        .issue(ca.prepare(request_as(Profile::Delegate, NUMBERS)).unwrap())
        .unwrap();
    assert_eq!(
        crate::lint::lint_with(
            &issued.der,
            &LintContext::new(Profile::Delegate, ca.issuer_der())
        ),
        vec![]
    );
    let text = openssl_check(dir.path(), &issued.der);
    assert!(text.contains("URI:http://stica.example/crl"), "{text}");
    assert!(!text.contains("iconectiv"), "{text}");
    assert!(
        text.contains("CN = \"Example Telecom, LLC SHAKEN\""),
        "{text}"
    );
    let err = ca
        .prepare(request_as(Profile::Delegate, TN_LEVEL))
        .unwrap_err();
    assert!(matches!(err, CaError::BadRequest(_)), "{err}");
    // without the own CRL configured, delegates are refused
    let (_dir, plain) = setup();
    assert!(matches!(
        plain.prepare(request_as(Profile::Delegate, NUMBERS)),
        Err(CaError::Config(_))
    ));
    assert!(
        plain
            .with_own_crl(CrlDistributionPoint {
                url: "ftp://x/crl".into(),
                crl_issuer_der: None
            })
            .is_err()
    );
}

/// A CA whose issuing certificate is an SCA-like CA carrying `scope` (a subordinate stica).
fn subordinate(scope: &str, path_len: Option<u8>) -> Ca {
    let root_key = Arc::new(KeyFileSigner::generate().unwrap());
    let sca_key = Arc::new(KeyFileSigner::generate().unwrap());
    let mut rp = rcgen::CertificateParams::default();
    rp.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    rp.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    rp.distinguished_name = shaken_spc::subject("US", "Root", "Test SHAKEN ROOT").unwrap();
    rp.key_identifier_method =
        rcgen::KeyIdMethod::PreSpecified(ext::key_identifier(root_key.public_key()));
    let root = rp.self_signed(&signer::RcgenKey(root_key.clone())).unwrap();
    let mut sp = rcgen::CertificateParams::default();
    sp.is_ca = rcgen::IsCa::Ca(match path_len {
        Some(n) => rcgen::BasicConstraints::Constrained(n),
        None => rcgen::BasicConstraints::Unconstrained,
    });
    sp.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    sp.distinguished_name =
        shaken_spc::subject("US", "Carrier", "Carrier SHAKEN SCA 1234").unwrap();
    sp.key_identifier_method =
        rcgen::KeyIdMethod::PreSpecified(ext::key_identifier(sca_key.public_key()));
    sp.use_authority_key_identifier_extension = true;
    sp.custom_extensions = vec![ext::custom(&oid::TN_AUTH_LIST, false, list(scope))];
    let root_issuer =
        rcgen::Issuer::from_ca_cert_der(root.der(), signer::RcgenKey(root_key)).unwrap();
    let sca = sp
        .signed_by(&signer::RcgenKey(sca_key.clone()), &root_issuer)
        .unwrap();
    Ca::with_signer(
        root.der().to_vec(),
        sca.der().to_vec(),
        sca_key,
        &Policy::default(),
        crl_dp(false),
    )
    .unwrap()
    .with_own_crl(CrlDistributionPoint {
        url: "http://carrier.example/crl".into(),
        crl_issuer_der: None,
    })
    .unwrap()
}

#[test]
fn an_issuer_with_a_tnauthlist_bounds_what_is_issued() {
    let ca = subordinate("range:12155550000+1000", Some(0));
    assert_eq!(ca.issuer_path_len(), Some(0));
    assert!(ca.issuer_tnauthlist().is_some());
    // inside: issued, and the lint's encompassing rule agrees
    let inside = ca
        .issue(ca.prepare(request_as(Profile::Delegate, NUMBERS)).unwrap())
        .unwrap();
    assert_eq!(
        crate::lint::lint_with(
            &inside.der,
            &LintContext::new(Profile::Delegate, ca.issuer_der())
        ),
        vec![]
    );
    // one number outside, a range over the edge, an SPC the issuer does not name: refused
    for outside in [
        "tn:12155551000",
        "range:12155550990+20",
        "spc:1234,tn:12155550123",
    ] {
        let l: crate::tnauth::TnAuthList = outside.parse().unwrap();
        let err = ca.check_scope(&l).unwrap_err();
        assert!(matches!(err, CaError::OutOfScope(_)), "{outside}");
        let profile = if outside.starts_with("spc") {
            Profile::TnLevel
        } else {
            Profile::Delegate
        };
        let err = ca.prepare(request_as(profile, outside)).unwrap_err();
        assert!(matches!(err, CaError::OutOfScope(_)), "{outside}: {err}");
        assert_eq!(Error::from(err).kind, ErrorKind::RejectedIdentifier);
    }
    // pathLen 0 on the issuing SCA: no CA below it
    let err = ca.prepare(request_as(Profile::Sca, NUMBERS)).unwrap_err();
    assert!(matches!(err, CaError::NotPermitted(_)), "{err}");
    // an SPC-only issuer does not cover numbers (no inventory)
    let spc_only = subordinate("spc:1234", None);
    assert!(matches!(
        spc_only.prepare(request_as(Profile::Delegate, NUMBERS)),
        Err(CaError::OutOfScope(_))
    ));
    spc_only
        .issue(
            spc_only
                .prepare(request_as(Profile::Sca, "spc:1234"))
                .unwrap(),
        )
        .unwrap();
    // ... unless the number inventory says the SPC holds them
    let inv =
        crate::policy::inventory::NumberInventory::from_csv("1234,12155550000,1000\n".as_bytes())
            .unwrap();
    let with_inv = subordinate("spc:1234", None).with_inventory(Arc::new(inv));
    let issued = with_inv
        .issue(
            with_inv
                .prepare(request_as(Profile::Delegate, NUMBERS))
                .unwrap(),
        )
        .unwrap();
    assert!(contains(&issued.der, &list(NUMBERS)));
    let err = with_inv
        .prepare(request_as(Profile::Delegate, "tn:12155551000"))
        .unwrap_err();
    assert!(err.to_string().contains("12155551000"), "{err}");
}

#[test]
fn claim_constraints_go_on_tn_level_and_delegate_only() {
    use crate::tnauth::jwtcc::{ClaimConstraints, ClaimName, EnhancedJwtClaimConstraints};
    let (dir, ca) = setup_sca();
    let cc = ClaimConstraints::Enhanced(
        EnhancedJwtClaimConstraints::new(vec![], vec![], vec![ClaimName::new("rcd").unwrap()])
            .unwrap(),
    );
    for (profile, text) in [(Profile::TnLevel, TN_LEVEL), (Profile::Delegate, NUMBERS)] {
        let mut req = request_as(profile, text);
        req.claim_constraints = Some(cc.clone());
        let issued = ca.issue(ca.prepare(req).unwrap()).unwrap();
        assert_eq!(
            extension_value(&issued.der, oid::ENHANCED_JWT_CLAIM_CONSTRAINTS).unwrap(),
            cc.to_der()
        );
        assert_eq!(
            extension_value(&issued.der, oid::JWT_CLAIM_CONSTRAINTS),
            None
        );
        let dump = openssl_check(dir.path(), &issued.der);
        assert!(dump.contains("1.3.6.1.5.5.7.1.33:"), "{dump}");
        assert!(!dump.contains("1.3.6.1.5.5.7.1.33: critical"), "{dump}");
    }
    for (profile, text) in [(Profile::ShakenSpc, "spc:1234"), (Profile::Sca, "spc:1234")] {
        let mut req = request_as(profile, text);
        req.claim_constraints = Some(cc.clone());
        assert!(
            matches!(ca.prepare(req), Err(CaError::BadRequest(_))),
            "{profile}"
        );
    }
}
