//! The `delegate` profile: the end-entity certificate an enterprise (a PBX, a call centre, a
//! RespOrg) gets for numbers a carrier delegated to it (RFC 9060 §4; ATIS-1000092 as far as
//! secondary sources describe it, standards.md §3.4; profiles.md).
//!
//! | field | value |
//! |---|---|
//! | basicConstraints | critical, cA FALSE (`30 00`) |
//! | keyUsage | critical, digitalSignature |
//! | subject CN | `<enterprise name> SHAKEN` (the name cut so the CN fits 64 characters) |
//! | TNAuthList | non-critical, numbers and ranges only (no SPC), encompassed by every ancestor that carries a TNAuthList |
//! | cRLDistributionPoints | the issuing CA's own CRL (`<external-url>/crl`), not the STI-PA's |
//! | JWT claim constraints | optional, one of RFC 8226 §8 or RFC 9118 (never both) |
//!
//! A delegate that may itself delegate is an `sca` certificate issued under an SCA (subordinate
//! stica), not a `delegate` with cA TRUE.

use rcgen::{CertificateParams, CustomExtension, KeyUsagePurpose};

use super::build::{self, ProfileParts, Spec, UB_NAME};
use super::{CaError, ext};

const SUFFIX: &str = " SHAKEN";

/// The subject CN: `<enterprise name> SHAKEN`.
pub(crate) fn common_name(organization: &str) -> String {
    let room = UB_NAME - SUFFIX.len();
    format!(
        "{}{SUFFIX}",
        build::truncate_chars(organization.trim(), room)
    )
}

/// The rcgen parameters. `spec.crl_dp_der` must be the issuing CA's own CRL.
pub(crate) fn params(
    spec: &Spec<'_>,
    extra: Vec<CustomExtension>,
) -> Result<CertificateParams, CaError> {
    let organization = build::organization(spec)?;
    build::params(
        spec,
        ProfileParts {
            common_name: common_name(&organization),
            basic_constraints_der: ext::BASIC_CONSTRAINTS_END_ENTITY.to_vec(),
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            extra,
        },
    )
}
