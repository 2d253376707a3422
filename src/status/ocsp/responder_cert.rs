//! The delegated OCSP responder certificate (RFC 6960 §4.2.2.2): a short-lived end-entity
//! certificate issued by the CA it answers for, so the CA key signs once a week instead of on
//! every response.
//!
//! | field | value |
//! |---|---|
//! | subject | the issuer's C and O, `CN=<issuer CN> OCSP Responder` |
//! | validity | now - 1 h .. now + lifetime (default 7 days), never past the issuer's notAfter |
//! | keyUsage | critical, digitalSignature |
//! | extKeyUsage | id-kp-OCSPSigning (RFC 6960 §4.2.2.2: what makes it a delegated responder) |
//! | id-pkix-ocsp-nocheck | NULL, non-critical (RFC 6960 §4.2.2.2.1: relying parties do not check its status; the short lifetime bounds the risk) |
//! | basicConstraints | critical, `SEQUENCE {}` (cA FALSE) |
//! | SKI / AKI | SHA-1 key identifiers (RFC 5280 §4.2.1.2 method 1), AKI = the issuer's SKI |
//!
//! The key is a fresh P-256 key held in memory ([`KeyFileSigner`]); the lead decides whether
//! to save it. This is not a SHAKEN STI certificate, so the STI lint does not apply; the
//! result is checked structurally (signature by the issuer key, key match) instead.

use std::sync::Arc;

use der::Decode;
use der::asn1::{PrintableStringRef, Utf8StringRef};
use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, IsCa, KeyUsagePurpose};
use x509_cert::name::Name;

use super::OcspError;
use super::oid;
use crate::ca::signer::RcgenKey;
use crate::ca::{KeyFileSigner, Signer, ext, serial};

/// Default lifetime of a delegated responder certificate: 7 days. It carries ocsp-nocheck, so
/// a compromised responder key stays usable until the certificate expires; short is the
/// mitigation RFC 6960 §4.2.2.2.1 suggests.
pub const DEFAULT_RESPONDER_CERT_LIFETIME_SECS: i64 = 7 * 86400;

/// Back-dating of notBefore, for relying parties with slow clocks.
const BACKDATE_SECS: i64 = 3600;

/// A freshly issued responder certificate and its key.
#[derive(Debug, Clone)]
pub struct ResponderCert {
    /// The responder key (P-256, in memory).
    pub signer: Arc<KeyFileSigner>,
    /// The certificate (DER).
    pub cert_der: Vec<u8>,
    /// notBefore, unix seconds.
    pub not_before: i64,
    /// notAfter, unix seconds.
    pub not_after: i64,
}

impl ResponderCert {
    /// The [`super::IssuerEntry`] for the issuer that certified it.
    pub fn issuer_entry(&self, issuer_cert_der: Vec<u8>) -> super::IssuerEntry {
        super::IssuerEntry {
            cert_der: issuer_cert_der,
            responder: self.signer.clone(),
            responder_cert_der: self.cert_der.clone(),
        }
    }
}

/// Issues a delegated responder certificate for the CA `issuer_cert_der` whose key is
/// `issuer`, valid for `lifetime_secs` from `now` (capped at the issuer's notAfter).
/// Audit-logged before and after signing (tracing target `audit`).
pub fn issue_responder_cert(
    issuer: Arc<dyn Signer>,
    issuer_cert_der: &[u8],
    lifetime_secs: i64,
    now: i64,
) -> Result<ResponderCert, OcspError> {
    if lifetime_secs <= 0 {
        return Err(OcspError::Config(
            "responder lifetime must be positive".into(),
        ));
    }
    let issuer_cert = x509_cert::Certificate::from_der(issuer_cert_der)
        .map_err(|e| OcspError::Config(format!("issuer certificate: {e}")))?;
    let issuer_tbs = issuer_cert.tbs_certificate();
    let issuer_key = issuer_tbs
        .subject_public_key_info()
        .subject_public_key
        .as_bytes()
        .unwrap_or_default();
    if issuer_key != issuer.public_key() {
        return Err(OcspError::Config(
            "issuer key does not match the issuer certificate".into(),
        ));
    }
    let issuer_not_after =
        i64::try_from(issuer_tbs.validity().not_after.to_unix_duration().as_secs())
            .map_err(|_| OcspError::Config("issuer notAfter out of range".into()))?;
    let not_before = now - BACKDATE_SECS;
    let not_after = (now + lifetime_secs).min(issuer_not_after);
    if not_after <= now {
        return Err(OcspError::Config("issuer certificate has expired".into()));
    }

    let key = Arc::new(KeyFileSigner::generate()?);
    let serial =
        serial::random_serial().map_err(|_| OcspError::Config("system RNG failed".into()))?;
    let ski = ext::key_identifier(key.public_key());
    let enc = |e: der::Error| OcspError::Config(format!("encoding an extension: {e}"));

    let mut params = CertificateParams::default();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.not_before = time(not_before)?;
    params.not_after = time(not_after)?;
    params.distinguished_name = subject(issuer_tbs.subject())?;
    // As in the shaken-spc profile: `NoCa` plus our own basicConstraints and SHA-1 SKI
    // (rcgen's `ExplicitNoCa` writes a non-DER cA FALSE and a truncated SHA-256 SKI).
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::OcspSigning];
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(ski.clone());
    params.custom_extensions = vec![
        ext::custom(
            &crate::ca::oid::BASIC_CONSTRAINTS,
            true,
            ext::BASIC_CONSTRAINTS_END_ENTITY.to_vec(),
        ),
        ext::custom(
            &crate::ca::oid::SUBJECT_KEY_IDENTIFIER,
            false,
            ext::subject_key_identifier(&ski).map_err(enc)?,
        ),
        // id-pkix-ocsp-nocheck: extnValue is the DER of NULL.
        ext::custom(&oid::OCSP_NOCHECK, false, vec![0x05, 0x00]),
    ];

    let serial_hex = serial::serial_hex(&serial);
    tracing::info!(
        target: "audit",
        event = "ocsp_responder_cert.sign",
        serial = %serial_hex,
        not_after,
        "signing delegated OCSP responder certificate"
    );
    let rcgen_issuer = rcgen::Issuer::from_ca_cert_der(
        &rustls::pki_types::CertificateDer::from(issuer_cert_der),
        RcgenKey(issuer.clone()),
    )
    .map_err(OcspError::Build)?;
    let cert_der = params
        .signed_by(&RcgenKey(key.clone()), &rcgen_issuer)
        .map_err(OcspError::Build)?
        .der()
        .to_vec();
    crate::ca::verify_signed_by(&cert_der, issuer.public_key())
        .map_err(|e| OcspError::Config(format!("responder certificate does not verify: {e}")))?;
    tracing::info!(
        target: "audit",
        event = "ocsp_responder_cert.signed",
        serial = %serial_hex,
        "signed delegated OCSP responder certificate"
    );
    Ok(ResponderCert {
        signer: key,
        cert_der,
        not_before,
        not_after,
    })
}

fn time(secs: i64) -> Result<time::OffsetDateTime, OcspError> {
    time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| OcspError::Time(secs))
}

/// The issuer's C and O (same string types) and a CN naming the responder.
fn subject(issuer: &Name) -> Result<DistinguishedName, OcspError> {
    let mut country = None;
    let mut organization = None;
    let mut common_name = None;
    for atv in issuer.iter() {
        let text = attribute_text(&atv.value);
        if atv.oid == crate::ca::oid::AT_COUNTRY {
            country = text;
        } else if atv.oid == crate::ca::oid::AT_ORGANIZATION {
            organization = text;
        } else if atv.oid == crate::ca::oid::AT_COMMON_NAME {
            common_name = text;
        }
    }
    let mut dn = DistinguishedName::new();
    if let Some(c) = country {
        let c = rcgen::string::PrintableString::try_from(c.as_str())
            .map_err(|e| OcspError::Config(format!("issuer country: {e}")))?;
        dn.push(DnType::CountryName, DnValue::PrintableString(c));
    }
    if let Some(o) = organization {
        dn.push(DnType::OrganizationName, DnValue::Utf8String(o));
    }
    let cn = match common_name {
        Some(cn) => format!("{cn} OCSP Responder"),
        None => "OCSP Responder".to_string(),
    };
    // ub-common-name is 64 characters (RFC 5280 Appendix A).
    let cn: String = cn.chars().take(64).collect();
    dn.push(DnType::CommonName, DnValue::Utf8String(cn));
    Ok(dn)
}

fn attribute_text(value: &der::asn1::Any) -> Option<String> {
    if let Ok(s) = value.decode_as::<Utf8StringRef<'_>>() {
        return Some(s.as_str().to_string());
    }
    if let Ok(s) = value.decode_as::<PrintableStringRef<'_>>() {
        return Some(s.as_str().to_string());
    }
    None
}
