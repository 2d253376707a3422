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
//! extensions never reach the certificate; only its public key does. The shared parts are in
//! [`super::build`].

use rcgen::{CertificateParams, KeyUsagePurpose};

use super::build::{self, ProfileParts, Spec};
use super::{CaError, ext};

pub(crate) use super::build::{subject, time};

/// The subject CN: "SHAKEN" + one space + the SPC (ATIS-1000080 §6.4.1.1, CP v1.4 §3.1).
pub(crate) fn common_name(spc: &str) -> String {
    format!("SHAKEN {spc}")
}

/// The rcgen parameters of the certificate for the SPC `spc` (the only entry of the TNAuthList).
pub(crate) fn params(spec: &Spec<'_>, spc: &str) -> Result<CertificateParams, CaError> {
    let cn = common_name(spc);
    if cn.len() > build::UB_NAME {
        return Err(CaError::BadRequest(format!(
            "SPC too long for the CN: {cn}"
        )));
    }
    build::params(
        spec,
        ProfileParts {
            common_name: cn,
            basic_constraints_der: ext::BASIC_CONSTRAINTS_END_ENTITY.to_vec(),
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            extra: Vec::new(),
        },
    )
}
