use rcgen::{CustomExtension, IsCa, KeyUsagePurpose};

use super::*;
use crate::x509::pem_certificates;
use crate::x509::testpki::{
    NOW, ca_params, hierarchy, leaf_params, self_signed, self_signed_p384, signed, validity,
};

/// `openssl verify -attime 1667000000` (2022-10-29), see fixtures/README.md.
const MARTINI_TIME: i64 = 1_667_000_000;

/// Public production certificates copied from ../shared/fixtures (see its README for sources).
fn fixture(name: &str) -> Vec<u8> {
    let pem: &[u8] = match name {
        "martini_leaf_lowlatency.pem" => include_bytes!("testdata/martini_leaf_lowlatency.pem"),
        "martini_ca_shaken_g2.pem" => include_bytes!("testdata/martini_ca_shaken_g2.pem"),
        "martini_root_shaken_r1.pem" => include_bytes!("testdata/martini_root_shaken_r1.pem"),
        "sti-pa_root.pem" => include_bytes!("testdata/sti-pa_root.pem"),
        "metaswitch_leaf_TDS_7804.pem" => include_bytes!("testdata/metaswitch_leaf_TDS_7804.pem"),
        "metaswitch_ca_issuing1.pem" => include_bytes!("testdata/metaswitch_ca_issuing1.pem"),
        other => panic!("no fixture {other}"),
    };
    pem_certificates(pem).unwrap().remove(0)
}

#[test]
fn martini_production_chain_verifies() {
    let leaf = fixture("martini_leaf_lowlatency.pem");
    let g2 = fixture("martini_ca_shaken_g2.pem");
    let root = fixture("martini_root_shaken_r1.pem");
    let chain = verify_chain(
        &leaf,
        std::slice::from_ref(&g2),
        std::slice::from_ref(&root),
        MARTINI_TIME,
        0,
    )
    .unwrap();
    assert_eq!(chain.certs, vec![leaf.clone(), g2.clone(), root.clone()]);
    assert_eq!(chain.leaf(), leaf.as_slice());
    assert_eq!(chain.anchor(), root.as_slice());
    // The intermediate may itself be the anchor (trusted as is).
    let chain = verify_chain(&leaf, &[], std::slice::from_ref(&g2), MARTINI_TIME, 0).unwrap();
    assert_eq!(chain.certs, vec![leaf.clone(), g2.clone()]);
    // The root sent along as an "intermediate" does not hurt.
    let chain = verify_chain(&leaf, &[root.clone(), g2.clone()], &[root], MARTINI_TIME, 0).unwrap();
    assert_eq!(chain.certs.len(), 3);
}

#[test]
fn metaswitch_partial_chain_to_a_ca_anchor_verifies() {
    let leaf = fixture("metaswitch_leaf_TDS_7804.pem");
    let ca = fixture("metaswitch_ca_issuing1.pem");
    let chain = verify_chain(&leaf, &[], std::slice::from_ref(&ca), MARTINI_TIME, 0).unwrap();
    assert_eq!(chain.certs, vec![leaf, ca]);
}

#[test]
fn martini_leaf_is_expired_today() {
    let leaf = fixture("martini_leaf_lowlatency.pem");
    let g2 = fixture("martini_ca_shaken_g2.pem");
    let root = fixture("martini_root_shaken_r1.pem");
    let err = verify_chain(&leaf, &[g2], &[root], NOW, 60).unwrap_err();
    assert!(matches!(err, ChainError::Expired { .. }), "{err}");
    assert!(err.to_string().contains("SHAKEN 709J"), "{err}");
}

#[test]
fn martini_leaf_does_not_chain_to_the_sti_pa_root() {
    let leaf = fixture("martini_leaf_lowlatency.pem");
    let g2 = fixture("martini_ca_shaken_g2.pem");
    let sti_pa = fixture("sti-pa_root.pem");
    let err = verify_chain(&leaf, &[g2], &[sti_pa], MARTINI_TIME, 0).unwrap_err();
    assert!(matches!(err, ChainError::UnknownIssuer { .. }), "{err}");
    assert!(err.to_string().contains("SHAKEN R1"), "{err}");
}

#[test]
fn missing_intermediate_is_unknown_issuer() {
    let leaf = fixture("martini_leaf_lowlatency.pem");
    let root = fixture("martini_root_shaken_r1.pem");
    let err = verify_chain(&leaf, &[], &[root], MARTINI_TIME, 0).unwrap_err();
    assert!(matches!(err, ChainError::UnknownIssuer { .. }), "{err}");
}

#[test]
fn generated_hierarchy_verifies() {
    let h = hierarchy(leaf_params("Token Signer"));
    let chain = verify_chain(
        &h.leaf.der,
        std::slice::from_ref(&h.inter.der),
        std::slice::from_ref(&h.root.der),
        NOW,
        0,
    )
    .unwrap();
    assert_eq!(chain.certs, vec![h.leaf.der, h.inter.der, h.root.der]);
}

#[test]
fn p384_sha384_root_verifies() {
    let root = self_signed_p384(ca_params("P384 Root", None));
    let inter = signed(ca_params("P256 Issuing", None), &root);
    let leaf = signed(leaf_params("Signer"), &inter);
    verify_chain(&leaf.der, &[inter.der], &[root.der], NOW, 0).unwrap();
}

#[test]
fn no_anchor_and_garbage_are_refused() {
    let h = hierarchy(leaf_params("Token Signer"));
    assert_eq!(
        verify_chain(&h.leaf.der, std::slice::from_ref(&h.inter.der), &[], NOW, 0),
        Err(ChainError::NoTrustAnchors)
    );
    let err = verify_chain(
        b"\x30\x03junk",
        &[],
        std::slice::from_ref(&h.root.der),
        NOW,
        0,
    )
    .unwrap_err();
    assert!(matches!(err, ChainError::Parse { .. }), "{err}");
    let err = verify_chain(&h.leaf.der, &[b"junk".to_vec()], &[h.root.der], NOW, 0).unwrap_err();
    assert!(err.to_string().contains("intermediate 1"), "{err}");
}

#[test]
fn pinned_leaf_is_a_one_element_path() {
    let h = hierarchy(leaf_params("Token Signer"));
    let chain = verify_chain(&h.leaf.der, &[], std::slice::from_ref(&h.leaf.der), NOW, 0).unwrap();
    assert_eq!(chain.certs, vec![h.leaf.der]);
}

#[test]
fn expired_leaf_and_intermediate_are_refused_skew_tolerated() {
    let h = hierarchy(validity(leaf_params("Old Signer"), NOW - 1000, NOW - 100));
    let err = verify_chain(
        &h.leaf.der,
        std::slice::from_ref(&h.inter.der),
        std::slice::from_ref(&h.root.der),
        NOW,
        60,
    )
    .unwrap_err();
    assert!(matches!(err, ChainError::Expired { .. }), "{err}");
    // Within the skew it passes.
    verify_chain(
        &h.leaf.der,
        std::slice::from_ref(&h.inter.der),
        std::slice::from_ref(&h.root.der),
        NOW,
        120,
    )
    .unwrap();

    let h = hierarchy(validity(
        leaf_params("Future Signer"),
        NOW + 1000,
        NOW + 9000,
    ));
    let err = verify_chain(&h.leaf.der, &[h.inter.der], &[h.root.der], NOW, 60).unwrap_err();
    assert!(matches!(err, ChainError::NotYetValid { .. }), "{err}");

    let root = self_signed(ca_params("Root", None));
    let inter = signed(
        validity(ca_params("Expired Issuing", None), 0, NOW - 3600),
        &root,
    );
    let leaf = signed(leaf_params("Signer"), &inter);
    let err = verify_chain(&leaf.der, &[inter.der], &[root.der], NOW, 60).unwrap_err();
    assert!(
        matches!(&err, ChainError::Expired { subject, .. } if subject.contains("Expired Issuing")),
        "{err}"
    );

    let root = self_signed(validity(ca_params("Expired Root", None), 0, NOW - 3600));
    let leaf = signed(leaf_params("Signer"), &root);
    let err = verify_chain(&leaf.der, &[], &[root.der], NOW, 60).unwrap_err();
    assert!(matches!(err, ChainError::Expired { .. }), "{err}");
}

#[test]
fn wrong_issuer_is_refused() {
    let h = hierarchy(leaf_params("Token Signer"));
    let other = hierarchy(leaf_params("Other Signer"));
    // Same names, other keys: the key identifiers differ, so no candidate issuer.
    let err = verify_chain(
        &h.leaf.der,
        std::slice::from_ref(&other.inter.der),
        std::slice::from_ref(&h.root.der),
        NOW,
        0,
    )
    .unwrap_err();
    assert!(matches!(err, ChainError::UnknownIssuer { .. }), "{err}");
    let err = verify_chain(
        &h.leaf.der,
        std::slice::from_ref(&h.inter.der),
        std::slice::from_ref(&other.root.der),
        NOW,
        0,
    )
    .unwrap_err();
    assert!(matches!(err, ChainError::UnknownIssuer { .. }), "{err}");
    // Without an AKI on the leaf, a same-name CA with another key is tried and fails on the
    // signature.
    let lookalike = signed(ca_params("Test Token Authority Issuing", None), &other.root);
    let mut leaf = leaf_params("Token Signer");
    leaf.use_authority_key_identifier_extension = false;
    let leaf = signed(leaf, &h.inter);
    let err = verify_chain(&leaf.der, &[], &[lookalike.der], NOW, 0).unwrap_err();
    assert!(matches!(err, ChainError::BadSignature { .. }), "{err}");
}

#[test]
fn bad_signature_is_refused() {
    let h = hierarchy(leaf_params("Token Signer"));
    let mut leaf = h.leaf.der.clone();
    let last = leaf.len() - 1;
    leaf[last] ^= 0x01;
    let err = verify_chain(
        &leaf,
        std::slice::from_ref(&h.inter.der),
        std::slice::from_ref(&h.root.der),
        NOW,
        0,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ChainError::BadSignature { .. } | ChainError::Parse { .. }
        ),
        "{err}"
    );
    // Tamper inside the signed part (the CN), keeping the DER valid.
    let mut leaf = h.leaf.der.clone();
    let pos = leaf.windows(6).position(|w| w == b"Signer").unwrap();
    leaf[pos] = b'X';
    let err = verify_chain(&leaf, &[h.inter.der], &[h.root.der], NOW, 0).unwrap_err();
    assert!(matches!(err, ChainError::BadSignature { .. }), "{err}");
}

#[test]
fn non_ca_issuer_is_refused() {
    let root = self_signed(ca_params("Root", None));
    let mut p = ca_params("Not A CA", None);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![];
    let not_ca = signed(p, &root);
    let leaf = signed(leaf_params("Signer"), &not_ca);
    let err = verify_chain(
        &leaf.der,
        std::slice::from_ref(&not_ca.der),
        std::slice::from_ref(&root.der),
        NOW,
        0,
    )
    .unwrap_err();
    assert!(matches!(err, ChainError::NotCa { .. }), "{err}");

    // No basicConstraints at all.
    let mut p = ca_params("No BC", None);
    p.is_ca = IsCa::NoCa;
    let no_bc = signed(p, &root);
    let leaf = signed(leaf_params("Signer"), &no_bc);
    let err = verify_chain(&leaf.der, &[no_bc.der], &[root.der], NOW, 0).unwrap_err();
    assert!(matches!(err, ChainError::NotCa { .. }), "{err}");
}

#[test]
fn issuer_without_key_cert_sign_is_refused() {
    let root = self_signed(ca_params("Root", None));
    let mut p = ca_params("Signing Only", None);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
    let inter = signed(p, &root);
    // rcgen refuses nothing here: it signs whatever we ask.
    let leaf = signed(leaf_params("Signer"), &inter);
    let err = verify_chain(&leaf.der, &[inter.der], &[root.der], NOW, 0).unwrap_err();
    assert!(matches!(err, ChainError::NoKeyCertSign { .. }), "{err}");
}

#[test]
fn path_len_is_enforced() {
    // Root pathLen 0 may only issue end entities directly.
    let root = self_signed(ca_params("Root", Some(0)));
    let inter = signed(ca_params("Issuing", None), &root);
    let leaf = signed(leaf_params("Signer"), &inter);
    let err = verify_chain(
        &leaf.der,
        std::slice::from_ref(&inter.der),
        std::slice::from_ref(&root.der),
        NOW,
        0,
    )
    .unwrap_err();
    assert!(
        matches!(err, ChainError::PathLenExceeded { path_len: 0, .. }),
        "{err}"
    );
    let direct = signed(leaf_params("Direct"), &root);
    verify_chain(&direct.der, &[], &[root.der], NOW, 0).unwrap();

    // Root pathLen 1 with two intermediates below it.
    let root = self_signed(ca_params("Root", Some(1)));
    let a = signed(ca_params("Issuing A", None), &root);
    let b = signed(ca_params("Issuing B", None), &a);
    let leaf = signed(leaf_params("Signer"), &b);
    let err = verify_chain(
        &leaf.der,
        &[b.der.clone(), a.der.clone()],
        std::slice::from_ref(&root.der),
        NOW,
        0,
    )
    .unwrap_err();
    assert!(
        matches!(err, ChainError::PathLenExceeded { path_len: 1, .. }),
        "{err}"
    );
    // With the middle CA as the anchor the path is short enough.
    verify_chain(&leaf.der, &[b.der], &[a.der], NOW, 0).unwrap();
}

#[test]
fn unknown_critical_extension_is_refused() {
    let h = hierarchy(leaf_params("Token Signer"));
    let mut p = leaf_params("Critical Signer");
    let mut ext =
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
    ext.set_criticality(true);
    p.custom_extensions.push(ext);
    let leaf = signed(p, &h.inter);
    let err = verify_chain(
        &leaf.der,
        std::slice::from_ref(&h.inter.der),
        std::slice::from_ref(&h.root.der),
        NOW,
        0,
    )
    .unwrap_err();
    assert!(
        matches!(&err, ChainError::UnknownCriticalExtension { oid, .. } if oid == "1.3.6.1.4.1.99999.1"),
        "{err}"
    );
    // The same extension non-critical is fine.
    let mut p = leaf_params("Lenient Signer");
    p.custom_extensions.push(CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 99999, 1],
        vec![0x05, 0x00],
    ));
    let leaf = signed(p, &h.inter);
    verify_chain(&leaf.der, &[h.inter.der], &[h.root.der], NOW, 0).unwrap();
}

#[test]
fn same_name_intermediates_are_told_apart_by_key() {
    let root = self_signed(ca_params("Root", None));
    let good = signed(ca_params("Issuing", None), &root);
    let other_root = self_signed(ca_params("Root", None));
    let decoy = signed(ca_params("Issuing", None), &other_root);
    let leaf = signed(leaf_params("Signer"), &good);
    let chain = verify_chain(
        &leaf.der,
        &[decoy.der.clone(), good.der.clone()],
        &[other_root.der.clone(), root.der.clone()],
        NOW,
        0,
    )
    .unwrap();
    assert_eq!(chain.certs, vec![leaf.der, good.der, root.der]);
}

#[test]
fn loops_terminate() {
    // Two CAs that cross-certify each other, neither trusted.
    let a = self_signed(ca_params("Loop A", None));
    let b = signed(ca_params("Loop B", None), &a);
    let a2 = signed(ca_params("Loop A", None), &b);
    let leaf = signed(leaf_params("Signer"), &b);
    let anchor = self_signed(ca_params("Unrelated", None));
    let err = verify_chain(&leaf.der, &[a.der, b.der, a2.der], &[anchor.der], NOW, 0).unwrap_err();
    assert!(matches!(err, ChainError::UnknownIssuer { .. }), "{err}");
}
