//! Import and subordinate loading: a root → STI-CA intermediate → SCA hierarchy made here, every
//! refusal checked to leave nothing behind, and a subordinate's issuance verified by openssl.

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, IsCa, KeyUsagePurpose};

use super::*;
use crate::ca::signer::{RcgenKey, Signer};
use crate::ca::{Ca, CrlDistributionPoint, IssuanceRequest, Profile, build, ext, oid};
use crate::policy::Policy;

const SCOPE: &str = "range:12155550000+1000";

/// One certificate of the test hierarchy.
struct Made {
    der: Vec<u8>,
    key: Arc<KeyFileSigner>,
}

/// What a certificate looks like; everything the refusals vary.
struct Shape<'a> {
    cn: &'a str,
    ca: Option<Option<u8>>,
    key_usages: Vec<KeyUsagePurpose>,
    tnauthlist: Option<&'a str>,
    not_after: Option<i64>,
}

impl<'a> Shape<'a> {
    fn ca(cn: &'a str, path_len: Option<u8>) -> Self {
        Shape {
            cn,
            ca: Some(path_len),
            key_usages: vec![KeyUsagePurpose::KeyCertSign],
            tnauthlist: None,
            not_after: None,
        }
    }
}

fn make(shape: Shape<'_>, issuer: Option<&Made>) -> Made {
    let key = Arc::new(KeyFileSigner::generate().unwrap());
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = build::subject("US", "Test Carrier", shape.cn).unwrap();
    p.is_ca = match shape.ca {
        Some(Some(n)) => IsCa::Ca(BasicConstraints::Constrained(n)),
        Some(None) => IsCa::Ca(BasicConstraints::Unconstrained),
        None => IsCa::ExplicitNoCa,
    };
    p.key_usages = shape.key_usages;
    p.key_identifier_method =
        rcgen::KeyIdMethod::PreSpecified(ext::key_identifier(key.public_key()));
    let now = crate::acme::now();
    p.not_before = build::time(now - 3600).unwrap();
    p.not_after = build::time(shape.not_after.unwrap_or(now + 365 * 86400)).unwrap();
    if let Some(scope) = shape.tnauthlist {
        let der = scope.parse::<TnAuthList>().unwrap().to_der();
        p.custom_extensions = vec![ext::custom(&oid::TN_AUTH_LIST, false, der)];
    }
    let der = match issuer {
        None => p.self_signed(&RcgenKey(key.clone())).unwrap(),
        Some(i) => {
            p.use_authority_key_identifier_extension = true;
            let issuer = rcgen::Issuer::from_ca_cert_der(
                &rustls::pki_types::CertificateDer::from(i.der.as_slice()),
                RcgenKey(i.key.clone()),
            )
            .unwrap();
            p.signed_by(&RcgenKey(key.clone()), &issuer).unwrap()
        }
    }
    .der()
    .to_vec();
    Made { der, key }
}

/// root → intermediate (pathLen 1) → SCA (pathLen 0, [`SCOPE`]).
fn hierarchy() -> (Made, Made, Made) {
    let root = make(Shape::ca("Test SHAKEN ROOT", None), None);
    let inter = make(Shape::ca("Test SHAKEN Issuing CA 1", Some(1)), Some(&root));
    let sca = make(
        Shape {
            tnauthlist: Some(SCOPE),
            ..Shape::ca("Test Carrier SHAKEN SCA", Some(0))
        },
        Some(&inter),
    );
    (root, inter, sca)
}

fn pem(ders: &[&[u8]]) -> Vec<u8> {
    ders.iter()
        .map(|d| crate::x509::to_pem("CERTIFICATE", d))
        .collect::<String>()
        .into_bytes()
}

fn key_pem(m: &Made) -> Vec<u8> {
    m.key.to_pkcs8_pem().unwrap().into_bytes()
}

fn delegate_policy() -> Policy {
    let mut p = Policy::default();
    p.file.issuance.profiles = vec!["delegate".into()];
    p
}

fn crl_dp() -> CrlDistributionPoint {
    CrlDistributionPoint {
        url: "http://carrier.example/sti-pa/crl".into(),
        crl_issuer_der: None,
    }
}

fn load(data: &Path, policy: &Policy) -> Result<Ca, CaError> {
    Ca::load(data, policy, crl_dp())
}

fn request(list: &str, profile: Profile) -> IssuanceRequest {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let now = crate::acme::now();
    IssuanceRequest {
        profile,
        spki_der: rcgen::PublicKeyData::subject_public_key_info(&key),
        tnauthlist_der: list.parse::<TnAuthList>().unwrap().to_der(),
        organization: "Example Enterprise".into(),
        not_before: now - 60,
        not_after: now + 30 * 86400,
        account_id: "acct-1".into(),
        claim_constraints: None,
    }
}

#[test]
fn import_writes_the_layout_and_the_subordinate_issues_delegates_under_the_sca() {
    let (root, inter, sca) = hierarchy();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let got = import(
        &data,
        &pem(&[&sca.der, &inter.der, &root.der]),
        &key_pem(&sca),
        crate::acme::now(),
    )
    .unwrap();
    assert_eq!(got.issuing.path_len, Some(0));
    assert_eq!(got.issuing.tnauthlist.to_string(), SCOPE);
    assert_eq!(got.intermediates, 1);
    let paths = HierarchyPaths::new(&data);
    assert!(paths.is_imported());
    assert!(!paths.root_key.exists());
    assert_eq!(
        crate::x509::pem_certificates(&std::fs::read(&paths.root_cert).unwrap()).unwrap(),
        vec![root.der.clone()]
    );
    assert_eq!(
        crate::x509::pem_certificates(&std::fs::read(&paths.chain).unwrap()).unwrap(),
        vec![inter.der.clone()]
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&paths.intermediate_key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // no staging directory is left behind
    let names: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("ca")]);
    // starting again finds the hierarchy and creates nothing
    assert!(!crate::ca::init_hierarchy_with(&data, "x", 0).unwrap());

    let ca = load(&data, &delegate_policy())
        .unwrap()
        .with_own_crl(crl_dp())
        .unwrap();
    assert!(ca.is_subordinate());
    assert_eq!(ca.chain_der(), &[sca.der.clone(), inter.der.clone()]);
    assert_eq!(ca.root_der(), root.der.as_slice());
    let issued = ca
        .issue(
            ca.prepare(request("range:12155550100+100", Profile::Delegate))
                .unwrap(),
        )
        .unwrap();
    let chain = crate::x509::pem_certificates(issued.chain_pem.as_bytes()).unwrap();
    assert_eq!(
        chain,
        vec![issued.der.clone(), sca.der.clone(), inter.der.clone()]
    );
    // openssl: root → intermediate → SCA → delegate
    let dir = tmp.path();
    std::fs::write(dir.join("leaf.pem"), pem(&[&issued.der])).unwrap();
    std::fs::write(dir.join("untrusted.pem"), pem(&[&sca.der, &inter.der])).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["verify", "-x509_strict", "-CAfile"])
        .arg(&paths.root_cert)
        .arg("-untrusted")
        .arg(dir.join("untrusted.pem"))
        .arg(dir.join("leaf.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // and stica's own delegation check over the whole chain
    let mut full = chain.clone();
    full.push(root.der.clone());
    let report = verify_delegation_chain(
        &full,
        std::slice::from_ref(&root.der),
        crate::acme::now(),
        None,
    );
    assert!(report.is_pass(), "{report}");

    // outside the SCA's scope: one number off, a range over the edge
    for outside in ["tn:12155551000", "range:12155550990+20"] {
        let err = ca.prepare(request(outside, Profile::Delegate)).unwrap_err();
        assert!(matches!(err, CaError::OutOfScope(_)), "{outside}: {err}");
    }
    // the SCA has pathLen 0: no CA below it
    assert!(matches!(
        ca.check_path_len_allows_ca(),
        Err(CaError::NotPermitted(_))
    ));
    // the CRL signer and the OCSP responder are issued by the SCA
    assert!(crate::ca::crl_signer::ensure_crl_signer(&data).unwrap());
    crate::ca::crl_signer::CrlSigner::load(&data).unwrap();
    ca.ocsp_responder(3600, crate::acme::now()).unwrap();
}

#[test]
fn import_reads_a_sec1_key_and_an_sca_directly_under_the_root() {
    let root = make(Shape::ca("Test SHAKEN ROOT", None), None);
    let sca = make(
        Shape {
            tnauthlist: Some(SCOPE),
            ..Shape::ca("Test Carrier SHAKEN SCA", Some(1))
        },
        Some(&root),
    );
    let tmp = tempfile::tempdir().unwrap();
    let p8 = tmp.path().join("k.pem");
    std::fs::write(&p8, key_pem(&sca)).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["ec", "-in"])
        .arg(&p8)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("EC PRIVATE KEY"));
    let data = tmp.path().join("data");
    let got = import(
        &data,
        &pem(&[&sca.der, &root.der]),
        &out.stdout,
        crate::acme::now(),
    )
    .unwrap();
    assert_eq!(got.intermediates, 0);
    let mut policy = delegate_policy();
    policy.file.issuance.profiles.push("sca".into());
    let ca = load(&data, &policy).unwrap();
    assert_eq!(ca.chain_der(), std::slice::from_ref(&sca.der));
    // pathLen 1 leaves room for an SCA below it: sub-delegation, root → SCA → SCA
    ca.check_path_len_allows_ca().unwrap();
    let sub = ca
        .issue(
            ca.prepare(request("range:12155550100+100", Profile::Sca))
                .unwrap(),
        )
        .unwrap();
    let report = verify_delegation_chain(
        &[sub.der.clone(), sca.der.clone(), root.der.clone()],
        std::slice::from_ref(&root.der),
        crate::acme::now(),
        None,
    );
    assert!(report.is_pass(), "{report}");
    assert_eq!(
        report.leaf().map(|l| (l.ca, l.path_len)),
        Some((true, Some(0)))
    );
    // ... but not outside the SCA's scope
    assert!(matches!(
        ca.prepare(request("range:12155550990+20", Profile::Sca)),
        Err(CaError::OutOfScope(_))
    ));
}

/// Runs an import that must fail and checks that it wrote nothing.
fn refused(chain: &[&[u8]], key: &[u8], needle: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let err = import(&data, &pem(chain), key, crate::acme::now()).unwrap_err();
    assert!(matches!(err, CaError::Import(_)), "{err}");
    assert!(err.to_string().contains(needle), "{needle:?} in {err}");
    assert!(!data.join("ca").exists(), "nothing written: {err}");
}

#[test]
fn import_refuses_what_cannot_be_a_subordinate_ca_and_writes_nothing() {
    let (root, inter, sca) = hierarchy();
    let key = key_pem(&sca);
    // an end-entity certificate with a TNAuthList
    let leaf = make(
        Shape {
            ca: None,
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            tnauthlist: Some(SCOPE),
            ..Shape::ca("Enterprise SHAKEN", None)
        },
        Some(&inter),
    );
    refused(
        &[&leaf.der, &inter.der, &root.der],
        &key_pem(&leaf),
        "is not a CA",
    );
    // a CA without a TNAuthList (an STI-CA intermediate)
    refused(
        &[&inter.der, &root.der],
        &key_pem(&inter),
        "carries no TNAuthList",
    );
    // a CA without keyCertSign
    let no_sign = make(
        Shape {
            key_usages: vec![KeyUsagePurpose::CrlSign],
            tnauthlist: Some(SCOPE),
            ..Shape::ca("No Sign SCA", Some(0))
        },
        Some(&inter),
    );
    refused(
        &[&no_sign.der, &inter.der, &root.der],
        &key_pem(&no_sign),
        "keyCertSign",
    );
    // an expired SCA
    let expired = make(
        Shape {
            tnauthlist: Some(SCOPE),
            not_after: Some(crate::acme::now() - 60),
            ..Shape::ca("Old SCA", Some(0))
        },
        Some(&inter),
    );
    refused(
        &[&expired.der, &inter.der, &root.der],
        &key_pem(&expired),
        "expired",
    );
    // a key that is not the SCA's, a garbage key
    refused(
        &[&sca.der, &inter.der, &root.der],
        &key_pem(&inter),
        "not the key",
    );
    refused(&[&sca.der, &inter.der, &root.der], b"no key here", "key:");
    // broken chains: the intermediate missing, the wrong order, another root, no root
    refused(&[&sca.der, &root.der], &key, "does not verify");
    refused(
        &[&sca.der, &root.der, &inter.der],
        &key,
        "not a self-signed root",
    );
    let other_root = make(Shape::ca("Other SHAKEN ROOT", None), None);
    refused(
        &[&sca.der, &inter.der, &other_root.der],
        &key,
        "does not verify",
    );
    refused(&[&sca.der], &key, "holds 1 certificate");
    // an extra certificate that is not on the path
    refused(
        &[&sca.der, &inter.der, &other_root.der, &root.der],
        &key,
        "not on the path",
    );
    // the issuer's pathLen leaves no room for the SCA (intermediate pathLen 0)
    let tight = make(Shape::ca("Tight Issuing CA", Some(0)), Some(&root));
    let sca_under_tight = make(
        Shape {
            tnauthlist: Some(SCOPE),
            ..Shape::ca("Test Carrier SHAKEN SCA", Some(0))
        },
        Some(&tight),
    );
    refused(
        &[&sca_under_tight.der, &tight.der, &root.der],
        &key_pem(&sca_under_tight),
        "does not verify",
    );
}

#[test]
fn import_refuses_a_data_directory_that_already_holds_a_hierarchy() {
    let (root, inter, sca) = hierarchy();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    crate::ca::init_hierarchy(&data, "stica test").unwrap();
    let before = std::fs::read(data.join("ca").join("intermediate.pem")).unwrap();
    let err = import(
        &data,
        &pem(&[&sca.der, &inter.der, &root.der]),
        &key_pem(&sca),
        crate::acme::now(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("already holds"), "{err}");
    assert_eq!(
        std::fs::read(data.join("ca").join("intermediate.pem")).unwrap(),
        before
    );
    assert!(!data.join("ca").join("chain.pem").exists());
}

#[test]
fn a_tampered_or_misconfigured_subordinate_refuses_to_load() {
    let (root, inter, sca) = hierarchy();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import(
        &data,
        &pem(&[&sca.der, &inter.der, &root.der]),
        &key_pem(&sca),
        crate::acme::now(),
    )
    .unwrap();
    let paths = HierarchyPaths::new(&data);
    // policy offering profiles a subordinate does not issue
    let err = load(&data, &Policy::default()).unwrap_err();
    assert!(
        err.to_string().contains("profiles = [\"delegate\"]"),
        "{err}"
    );
    // offering sca under an SCA with pathLen 0
    let mut with_sca = delegate_policy();
    with_sca.file.issuance.profiles.push("sca".into());
    let err = load(&data, &with_sca).unwrap_err();
    assert!(err.to_string().contains("pathLenConstraint 0"), "{err}");

    // the issuing certificate replaced by an end entity with the same key, signed by the intermediate
    let swap = |der: &[u8]| {
        std::fs::remove_file(&paths.intermediate_cert).unwrap();
        std::fs::write(&paths.intermediate_cert, pem(&[der])).unwrap();
    };
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = build::subject("US", "Test Carrier", "Not A CA").unwrap();
    p.is_ca = IsCa::ExplicitNoCa;
    let issuer = rcgen::Issuer::from_ca_cert_der(
        &rustls::pki_types::CertificateDer::from(inter.der.as_slice()),
        RcgenKey(inter.key.clone()),
    )
    .unwrap();
    let not_ca = p.signed_by(&RcgenKey(sca.key.clone()), &issuer).unwrap();
    swap(not_ca.der());
    let err = load(&data, &delegate_policy()).unwrap_err();
    assert!(err.to_string().contains("is not a CA"), "{err}");
    // a CA with the same key but no TNAuthList
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let no_list = p.signed_by(&RcgenKey(sca.key.clone()), &issuer).unwrap();
    swap(no_list.der());
    let err = load(&data, &delegate_policy()).unwrap_err();
    assert!(err.to_string().contains("carries no TNAuthList"), "{err}");
    // the SCA back, but chain.pem emptied: the path no longer reaches the root
    swap(&sca.der);
    load(&data, &delegate_policy()).unwrap();
    std::fs::write(&paths.chain, "").unwrap();
    let err = load(&data, &delegate_policy()).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");
    // a missing key file is a partial hierarchy at start
    std::fs::remove_file(&paths.intermediate_key).unwrap();
    assert!(matches!(
        crate::ca::init_hierarchy_with(&data, "x", 0),
        Err(CaError::PartialHierarchy { .. })
    ));
}
