//! The `shaken-spc` profile: the STI end-entity certificate of ATIS-1000080 v005 §6.4.1 /
//! §6.4.1.1 under the US SHAKEN CP (standards.md §3.2, profiles.md).
//!
//! | field | value |
//! |---|---|
//! | version | v3 |
//! | serial | 20 random octets, positive ([`super::serial`]) |
//! | signature | ecdsa-with-SHA256 (the issuer is P-256) |
//! | subject | `C=<policy country>` (PrintableString), `O=<organization>`, `CN=SHAKEN <SPC>` (UTF8String) |
//! | authorityKeyIdentifier | keyIdentifier = the issuer's SKI (rcgen, from the stored issuer certificate) |
//! | keyUsage | critical, digitalSignature only: `03 02 07 80` |
//! | basicConstraints | critical, `SEQUENCE {}` (cA FALSE, DER omits the default) |
//! | subjectKeyIdentifier | SHA-1 of the subject key (RFC 5280 §4.2.1.2 method 1) |
//! | certificatePolicies | exactly the configured OID, no qualifiers |
//! | cRLDistributionPoints | one point: fullName URI, cRLIssuer when the CRL is indirect |
//! | TNAuthList | non-critical, the authorized DER TNAuthorizationList (one SPC) |
//!
//! Nothing else: no SAN, AIA or EKU (v005 forbids unlisted extensions). The CSR's subject and
//! extensions never reach the certificate; only its public key does.
//!
//! Subject RDN order: C, O, CN (most significant first, as X.501 and the stica CA certificates
//! do). Martini Security writes CN, serialNumber, C, O; verifiers compare attributes, not order.

use const_oid::ObjectIdentifier;
use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, IsCa, KeyUsagePurpose};

use super::{CaError, ext, oid};

/// Everything the profile needs, already validated by [`super::Ca::prepare`].
#[derive(Debug)]
pub(crate) struct Spec<'a> {
    /// Serial octets (positive).
    pub serial: &'a [u8],
    /// The SPC from the TNAuthList.
    pub spc: &'a str,
    /// Subject `O`.
    pub organization: &'a str,
    /// Subject `C`.
    pub country: &'a str,
    /// notBefore, unix seconds.
    pub not_before: i64,
    /// notAfter, unix seconds.
    pub not_after: i64,
    /// The subject's uncompressed P-256 point.
    pub subject_public_key: &'a [u8],
    /// DER TNAuthorizationList.
    pub tnauthlist_der: &'a [u8],
    /// certificatePolicies OID.
    pub certificate_policy: ObjectIdentifier,
    /// Prebuilt cRLDistributionPoints value.
    pub crl_dp_der: &'a [u8],
}

/// `ub-common-name` / `ub-organization-name` (RFC 5280 Appendix A).
const UB_NAME: usize = 64;

/// The subject CN: "SHAKEN" + one space + the SPC (ATIS-1000080 §6.4.1.1, CP v1.4 §3.1).
pub(crate) fn common_name(spc: &str) -> String {
    format!("SHAKEN {spc}")
}

/// The subject as text for logs.
pub(crate) fn subject_text(spec: &Spec<'_>) -> String {
    format!(
        "C={}, O={}, CN={}",
        spec.country,
        spec.organization.trim(),
        common_name(spec.spc)
    )
}

/// The subject DN, C as PrintableString (X.520 countryName; rcgen would write UTF8String).
pub(crate) fn subject(
    country: &str,
    organization: &str,
    common_name: &str,
) -> Result<DistinguishedName, CaError> {
    let country = rcgen::string::PrintableString::try_from(country)
        .map_err(|e| CaError::Config(format!("country {country:?}: {e}")))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, DnValue::PrintableString(country));
    dn.push(
        DnType::OrganizationName,
        DnValue::Utf8String(organization.to_string()),
    );
    dn.push(
        DnType::CommonName,
        DnValue::Utf8String(common_name.to_string()),
    );
    Ok(dn)
}

/// unix seconds to the time type rcgen uses.
pub(crate) fn time(secs: i64) -> Result<time::OffsetDateTime, CaError> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| CaError::BadRequest(format!("time {secs} out of range: {e}")))
}

/// The rcgen parameters of the certificate.
pub(crate) fn params(spec: &Spec<'_>) -> Result<CertificateParams, CaError> {
    let organization = spec.organization.trim();
    if organization.is_empty() {
        return Err(CaError::BadRequest(
            "organization (subject O) is empty".into(),
        ));
    }
    if organization.chars().count() > UB_NAME {
        return Err(CaError::BadRequest(format!(
            "organization longer than {UB_NAME} characters"
        )));
    }
    let cn = common_name(spec.spc);
    if cn.len() > UB_NAME {
        return Err(CaError::BadRequest(format!(
            "SPC too long for the CN: {cn}"
        )));
    }
    let ski = ext::key_identifier(spec.subject_public_key);
    let enc = |e: der::Error| CaError::Config(format!("encoding an extension: {e}"));

    let mut params = CertificateParams::default();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(spec.serial));
    params.not_before = time(spec.not_before)?;
    params.not_after = time(spec.not_after)?;
    params.distinguished_name = subject(spec.country, organization, &cn)?;
    // Not `ExplicitNoCa`: that writes `cA BOOLEAN FALSE` (not DER) and a truncated-SHA-256 SKI;
    // both extensions are written below instead.
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(ski.clone());
    params.custom_extensions = vec![
        ext::custom(
            &oid::BASIC_CONSTRAINTS,
            true,
            ext::BASIC_CONSTRAINTS_END_ENTITY.to_vec(),
        ),
        ext::custom(
            &oid::SUBJECT_KEY_IDENTIFIER,
            false,
            ext::subject_key_identifier(&ski).map_err(enc)?,
        ),
        ext::custom(
            &oid::CERTIFICATE_POLICIES,
            false,
            ext::certificate_policies(&[spec.certificate_policy]).map_err(enc)?,
        ),
        ext::custom(
            &oid::CRL_DISTRIBUTION_POINTS,
            false,
            spec.crl_dp_der.to_vec(),
        ),
        // RFC 8226 §9: non-critical, as in every production certificate; a critical TNAuthList
        // makes `openssl verify` fail (crates.md).
        ext::custom(&oid::TN_AUTH_LIST, false, spec.tnauthlist_der.to_vec()),
    ];
    Ok(params)
}
