//! The `tn-level` profile: an end-entity certificate for the telephone numbers and ranges an
//! Authority Token lists (ATIS TN-level certificates report; RFC 9448 §5: the token's `tkvalue`
//! is the TNAuthList, pass by value per RFC 8226 §9; profiles.md).
//!
//! Like `shaken-spc` ([`super::shaken_spc`]) except:
//!
//! | field | value |
//! |---|---|
//! | subject CN | `SHAKEN <SPC>` when the list names an SPC, else `SHAKEN <account label>` (the ACME account id) |
//! | TNAuthList | non-critical, the token's list byte for byte: one or more `one`/`range` entries and at most one SPC |
//! | JWT claim constraints | optional, one of RFC 8226 §8 or RFC 9118 (never both) |
//!
//! Pass by value only: a by-reference list needs an AIA extension, which ATIS-1000080 v005 does
//! not list (standards.md §1.1).

use rcgen::{CertificateParams, CustomExtension, KeyUsagePurpose};

use super::build::{self, ProfileParts, Spec};
use super::{CaError, ext};

/// The subject CN: `SHAKEN <SPC>` when the list carries an SPC, else `SHAKEN <label>`.
pub(crate) fn common_name(spc: Option<&str>, label: &str) -> String {
    format!("SHAKEN {}", spc.unwrap_or(label))
}

/// The rcgen parameters; `spc` is the list's SPC (checked by the caller), `label` the account
/// label, `extra` the claim constraints extension when one is asked for.
pub(crate) fn params(
    spec: &Spec<'_>,
    spc: Option<&str>,
    label: &str,
    extra: Vec<CustomExtension>,
) -> Result<CertificateParams, CaError> {
    let label = label.trim();
    if spc.is_none() && label.is_empty() {
        return Err(CaError::BadRequest(
            "a tn-level certificate without an SPC needs an account label for its CN".into(),
        ));
    }
    build::params(
        spec,
        ProfileParts {
            common_name: common_name(spc, label),
            basic_constraints_der: ext::BASIC_CONSTRAINTS_END_ENTITY.to_vec(),
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            extra,
        },
    )
}
