//! The lint over real SHAKEN certificates (public fixtures harvested by Martini Security's
//! shaken-pki-reports; see /work/shared/fixtures/README.md, copied into `testdata/`).

use const_oid::ObjectIdentifier;

use super::{Finding, LintContext, lint_with};
use crate::ca::Profile;

const CP13: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.114569.1.1.3");

fn der(pem: &[u8]) -> Vec<u8> {
    crate::x509::pem_certificates(pem).unwrap().remove(0)
}

fn lint(leaf: &[u8], issuer: &[u8], cp: ObjectIdentifier) -> Vec<Finding> {
    let mut ctx = LintContext::new(Profile::ShakenSpc, issuer);
    ctx.certificate_policy = cp;
    lint_with(&der(leaf), &ctx)
}

fn rules(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule).collect()
}

const MARTINI_LEAF: &[u8] = include_bytes!("testdata/martini_leaf_lowlatency.pem");
const MARTINI_G2: &[u8] = include_bytes!("testdata/martini_ca_shaken_g2.pem");

#[test]
fn martini_leaf_is_clean_under_cp_1_3() {
    assert_eq!(lint(MARTINI_LEAF, &der(MARTINI_G2), CP13), vec![]);
}

#[test]
fn martini_leaf_under_the_default_cp_1_4_fails_only_the_cp_rule() {
    let findings =
        super::lint_certificate(&der(MARTINI_LEAF), Profile::ShakenSpc, &der(MARTINI_G2));
    assert_eq!(
        rules(&findings),
        vec!["e_sti_certificate_policies_single_oid"]
    );
    assert!(super::has_errors(&findings));
}

#[test]
fn transnexus_leaf_fails_the_key_usage_encoding() {
    let findings = lint(
        include_bytes!("testdata/transnexus_leaf_charter_5606.pem"),
        &der(MARTINI_G2),
        CP13,
    );
    let ku = findings
        .iter()
        .find(|f| f.rule == "e_sti_key_usage_digital_signature_only")
        .expect("KU finding");
    assert!(ku.detail.contains("03020080"), "{ku}");
    // its CN is "Charter Communications Inc SHAKEN 5606" and its CP is v1.1
    assert!(rules(&findings).contains(&"e_sti_subject_cn_shaken_spc"));
    assert!(rules(&findings).contains(&"e_sti_certificate_policies_single_oid"));
}

#[test]
fn metaswitch_leaf_with_its_issuer() {
    let findings = lint(
        include_bytes!("testdata/metaswitch_leaf_TDS_7804.pem"),
        &der(include_bytes!("testdata/metaswitch_ca_issuing1.pem")),
        CP13,
    );
    let r = rules(&findings);
    assert!(!r.contains(&"e_sti_authority_key_identifier_matches_issuer"));
    assert!(!r.contains(&"e_sti_tnauthlist_single_spc"));
    assert!(
        r.contains(&"e_sti_key_usage_digital_signature_only"),
        "{r:?}"
    );
}

#[test]
fn neustar_leaf_is_rsa_signed_and_has_aia() {
    let r = lint(
        include_bytes!("testdata/neustar_leaf_firstcomm.pem"),
        &der(MARTINI_G2),
        CP13,
    );
    let r = rules(&r);
    assert!(r.contains(&"e_sti_signature_algorithm_ecdsa_sha256"));
    assert!(r.contains(&"e_sti_no_unlisted_extensions"));
}

#[test]
fn rfc9118_example_has_unlisted_extensions() {
    let findings = lint(
        include_bytes!("testdata/rfc9118_example.pem"),
        &der(MARTINI_G2),
        CP13,
    );
    let unlisted = findings
        .iter()
        .find(|f| f.rule == "e_sti_no_unlisted_extensions")
        .expect("finding");
    assert!(unlisted.detail.contains("1.3.6.1.5.5.7.1.33"));
    // its TNAuthList (SPC 1234) itself is fine
    assert!(!rules(&findings).contains(&"e_sti_tnauthlist_single_spc"));
}

#[test]
fn every_leaf_fixture_parses_and_has_a_good_tnauthlist() {
    for leaf in [
        MARTINI_LEAF,
        include_bytes!("testdata/transnexus_leaf_charter_5606.pem"),
        include_bytes!("testdata/metaswitch_leaf_TDS_7804.pem"),
        include_bytes!("testdata/neustar_leaf_firstcomm.pem"),
        include_bytes!("testdata/sansay_leaf_bulkvs_644J.pem"),
        include_bytes!("testdata/peeringhub_leaf_voiceterm_240K.pem"),
    ] {
        let r = lint(leaf, &der(MARTINI_G2), CP13);
        let r = rules(&r);
        assert!(!r.contains(&"e_sti_certificate_parses"));
        assert!(!r.contains(&"e_sti_tnauthlist_single_spc"));
        assert!(!r.contains(&"e_sti_subject_key_p256"));
        assert!(!r.contains(&"e_sti_only_bc_ku_critical"));
    }
}

#[test]
fn garbage_is_one_parse_finding() {
    let f = super::lint_certificate(b"\x30\x03\x02\x01\x01", Profile::ShakenSpc, b"");
    assert_eq!(rules(&f), vec!["e_sti_certificate_parses"]);
}

#[test]
fn rule_names_are_unique_and_prefixed() {
    let names = super::rule_names();
    assert_eq!(names.len(), 27);
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
    assert!(names.iter().all(|n| n.starts_with("e_sti_")));
}
