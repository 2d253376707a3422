//! A throwaway PKI built with rcgen for tests (chain validation, Authority Token signers, CRLs).

use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, SerialNumber,
};
use time::OffsetDateTime;

/// Default validity used by the helpers: 2020-01-01 .. 2040-01-01.
pub(crate) const NOT_BEFORE: i64 = 1_577_836_800;
/// See [`NOT_BEFORE`].
pub(crate) const NOT_AFTER: i64 = 2_208_988_800;
/// A "now" inside the default validity (2025-01-01).
pub(crate) const NOW: i64 = 1_735_689_600;

/// A certificate with its key and the params it was made from (so it can sign others).
pub(crate) struct TestCert {
    pub(crate) der: Vec<u8>,
    pub(crate) key: KeyPair,
    pub(crate) params: CertificateParams,
}

impl TestCert {
    /// An rcgen issuer for this certificate.
    pub(crate) fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    /// PKCS#8 DER of the key.
    pub(crate) fn pkcs8(&self) -> Vec<u8> {
        self.key.serialize_der()
    }
}

fn ts(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

/// Params for a CA named `cn` (keyCertSign + cRLSign, optional pathLen).
pub(crate) fn ca_params(cn: &str, path_len: Option<u8>) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "stica tests");
    p.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = ts(NOT_BEFORE);
    p.not_after = ts(NOT_AFTER);
    p.use_authority_key_identifier_extension = true;
    p
}

/// Params for an end-entity (token signer) named `cn`: digitalSignature, CA:FALSE.
pub(crate) fn leaf_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.not_before = ts(NOT_BEFORE);
    p.not_after = ts(NOT_AFTER);
    p.use_authority_key_identifier_extension = true;
    p.serial_number = Some(SerialNumber::from_slice(LEAF_SERIAL));
    p
}

/// Sets validity on params.
pub(crate) fn validity(
    mut p: CertificateParams,
    not_before: i64,
    not_after: i64,
) -> CertificateParams {
    p.not_before = ts(not_before);
    p.not_after = ts(not_after);
    p
}

/// Adds a CRL distribution point URL.
pub(crate) fn with_crl_dp(mut p: CertificateParams, url: &str) -> CertificateParams {
    p.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![url.to_string()],
    }];
    p
}

/// A self-signed P-256 certificate.
pub(crate) fn self_signed(params: CertificateParams) -> TestCert {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let der = params.self_signed(&key).unwrap().der().to_vec();
    TestCert { der, key, params }
}

/// A self-signed P-384 certificate (signed with ecdsa-with-SHA384).
pub(crate) fn self_signed_p384(params: CertificateParams) -> TestCert {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let der = params.self_signed(&key).unwrap().der().to_vec();
    TestCert { der, key, params }
}

/// A P-256 certificate signed by `by`.
pub(crate) fn signed(params: CertificateParams, by: &TestCert) -> TestCert {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let der = params.signed_by(&key, &by.issuer()).unwrap().der().to_vec();
    TestCert { der, key, params }
}

/// A root, an intermediate and a token-signing leaf.
pub(crate) struct Hierarchy {
    pub(crate) root: TestCert,
    pub(crate) inter: TestCert,
    pub(crate) leaf: TestCert,
}

/// Root -> intermediate -> leaf with default validity; `leaf` params may be customised.
pub(crate) fn hierarchy(leaf: CertificateParams) -> Hierarchy {
    let root = self_signed(ca_params("Test Token Authority Root", None));
    let inter = signed(ca_params("Test Token Authority Issuing", Some(0)), &root);
    let leaf = signed(leaf, &inter);
    Hierarchy { root, inter, leaf }
}

/// A CRL signed by `issuer` listing `serials`, valid `this_update..next_update`.
pub(crate) fn crl(
    issuer: &TestCert,
    serials: &[&[u8]],
    this_update: i64,
    next_update: i64,
) -> Vec<u8> {
    use rcgen::{
        CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams,
    };
    let params = CertificateRevocationListParams {
        this_update: ts(this_update),
        next_update: ts(next_update),
        crl_number: SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from_slice(s),
                revocation_time: ts(this_update),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params.signed_by(&issuer.issuer()).unwrap().der().to_vec()
}

/// The serial `leaf_params` gives every leaf.
pub(crate) const LEAF_SERIAL: &[u8] = &[0x01, 0x23, 0x45, 0x67];
