//! What every profile shares (profiles.md, first paragraph and table rows that say "same"):
//! serial, validity, subject `C`/`O`/`CN`, SKI (SHA-1, RFC 5280 §4.2.1.2 method 1), AKI = the
//! issuer's SKI, certificatePolicies with one OID, one cRLDistributionPoint, a non-critical
//! TNAuthList copied byte for byte. Each profile file adds its basicConstraints, keyUsage and CN.
//!
//! Subject RDN order: C, O, CN (most significant first, as X.501 and the stica CA certificates
//! do). Martini Security writes CN, serialNumber, C, O; verifiers compare attributes, not order.

use const_oid::ObjectIdentifier;
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, DnValue, IsCa};

use super::{CaError, ext, oid};

/// Everything the profiles have in common, already validated by [`super::Ca::prepare`].
#[derive(Debug)]
pub(crate) struct Spec<'a> {
    /// Serial octets (positive).
    pub serial: &'a [u8],
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

/// What a profile sets on top of [`Spec`].
#[derive(Debug)]
pub(crate) struct ProfileParts {
    /// The subject CN (at most [`UB_NAME`] characters).
    pub common_name: String,
    /// The DER basicConstraints value (always critical).
    pub basic_constraints_der: Vec<u8>,
    /// keyUsage bits (rcgen writes the extension critical, DER-minimal).
    pub key_usages: Vec<rcgen::KeyUsagePurpose>,
    /// Extensions only this profile carries (JWT claim constraints).
    pub extra: Vec<CustomExtension>,
}

/// `ub-common-name` / `ub-organization-name` (RFC 5280 Appendix A).
pub(crate) const UB_NAME: usize = 64;

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

/// The subject as text for logs.
pub(crate) fn subject_text(country: &str, organization: &str, common_name: &str) -> String {
    format!("C={country}, O={}, CN={common_name}", organization.trim())
}

/// unix seconds to the time type rcgen uses.
pub(crate) fn time(secs: i64) -> Result<time::OffsetDateTime, CaError> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| CaError::BadRequest(format!("time {secs} out of range: {e}")))
}

/// The trimmed organization, refused when empty or longer than [`UB_NAME`].
pub(crate) fn organization(spec: &Spec<'_>) -> Result<String, CaError> {
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
    Ok(organization.to_string())
}

/// `name` cut to at most `max` characters (at a character boundary), trailing spaces removed:
/// for CNs that embed a legal name next to fixed text.
pub(crate) fn truncate_chars(name: &str, max: usize) -> String {
    name.chars()
        .take(max)
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// The rcgen parameters of a certificate of any profile.
pub(crate) fn params(spec: &Spec<'_>, parts: ProfileParts) -> Result<CertificateParams, CaError> {
    let organization = organization(spec)?;
    if parts.common_name.chars().count() > UB_NAME {
        return Err(CaError::BadRequest(format!(
            "subject CN longer than {UB_NAME} characters: {}",
            parts.common_name
        )));
    }
    let ski = ext::key_identifier(spec.subject_public_key);
    let enc = |e: der::Error| CaError::Config(format!("encoding an extension: {e}"));

    let mut params = CertificateParams::default();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(spec.serial));
    params.not_before = time(spec.not_before)?;
    params.not_after = time(spec.not_after)?;
    params.distinguished_name = subject(spec.country, &organization, &parts.common_name)?;
    // Not rcgen's own basicConstraints: `ExplicitNoCa` writes `cA BOOLEAN FALSE` (not DER) and a
    // truncated-SHA-256 SKI; both extensions are written below instead, for every profile.
    params.is_ca = IsCa::NoCa;
    params.key_usages = parts.key_usages;
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(ski.clone());
    params.custom_extensions = vec![
        ext::custom(&oid::BASIC_CONSTRAINTS, true, parts.basic_constraints_der),
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
    params.custom_extensions.extend(parts.extra);
    Ok(params)
}
