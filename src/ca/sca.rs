//! The `sca` profile: a delegating CA certificate (STI-SCA, ATIS-1000092; RFC 9060 §4), issued
//! only on an Authority Token with `"ca": true` (RFC 9448 §5, standards.md §2.6; profiles.md).
//!
//! | field | value |
//! |---|---|
//! | basicConstraints | critical, cA TRUE, pathLenConstraint = policy `sca_path_len` (default 0: delegate end entities only) |
//! | keyUsage | critical, keyCertSign; with policy `sca_crl_sign` also cRLSign |
//! | subject CN | `<legal name> SHAKEN SCA <SPC>` (`<legal name> SHAKEN SCA` when the scope has no SPC); the name is cut so the CN fits 64 characters |
//! | TNAuthList | non-critical, the token's list byte for byte: the scope the SCA may delegate (an SPC and/or numbers and ranges, at most one SPC) |
//! | certificatePolicies, cRLDistributionPoints, SKI, AKI | as `shaken-spc` |
//!
//! keyUsage: keyCertSign only by default. ATIS-1000080 v005 allows nothing else on STI CA
//! certificates, and stica follows the same model for itself (profiles.md "CRL signer"): a CA
//! signs its CRLs with a dedicated CRL-signing certificate it issues, named in `cRLIssuer` of an
//! indirect CRL. An SCA run by a subordinate stica does the same. `sca_crl_sign` is the switch
//! for deployments whose relying parties expect the SCA to sign its CRL itself.
//!
//! No digitalSignature: an SCA signs certificates and CRLs, never PASSporTs.

use rcgen::{CertificateParams, KeyUsagePurpose};

use super::build::{self, ProfileParts, Spec, UB_NAME};
use super::{CaError, ext};

/// The fixed part after the legal name.
fn suffix(spc: Option<&str>) -> String {
    match spc {
        Some(spc) => format!(" SHAKEN SCA {spc}"),
        None => " SHAKEN SCA".to_string(),
    }
}

/// The subject CN: `<legal name> SHAKEN SCA <SPC>`, the name cut to fit [`UB_NAME`].
pub(crate) fn common_name(organization: &str, spc: Option<&str>) -> String {
    let suffix = suffix(spc);
    let room = UB_NAME.saturating_sub(suffix.chars().count());
    format!(
        "{}{suffix}",
        build::truncate_chars(organization.trim(), room)
    )
}

/// The rcgen parameters; `spc` is the scope's SPC (checked by the caller).
pub(crate) fn params(
    spec: &Spec<'_>,
    spc: Option<&str>,
    path_len: u8,
    crl_sign: bool,
) -> Result<CertificateParams, CaError> {
    let organization = build::organization(spec)?;
    if suffix(spc).chars().count() >= UB_NAME {
        return Err(CaError::BadRequest(format!(
            "SPC too long for the CN: {}",
            suffix(spc)
        )));
    }
    let mut key_usages = vec![KeyUsagePurpose::KeyCertSign];
    if crl_sign {
        key_usages.push(KeyUsagePurpose::CrlSign);
    }
    build::params(
        spec,
        ProfileParts {
            common_name: common_name(&organization, spc),
            basic_constraints_der: ext::basic_constraints_ca(path_len)
                .map_err(|e| CaError::Config(format!("encoding basicConstraints: {e}")))?,
            key_usages,
            extra: Vec::new(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cn_fits_and_keeps_the_suffix() {
        assert_eq!(
            common_name("Example Telecom, LLC", Some("1234")),
            "Example Telecom, LLC SHAKEN SCA 1234"
        );
        assert_eq!(common_name("Example", None), "Example SHAKEN SCA");
        let long = "x".repeat(100);
        let cn = common_name(&long, Some("1234"));
        assert_eq!(cn.chars().count(), UB_NAME);
        assert!(cn.ends_with(" SHAKEN SCA 1234"));
    }
}
