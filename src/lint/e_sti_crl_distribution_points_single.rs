//! `e_sti_crl_distribution_points_single`: cRLDistributionPoints is present, non-critical, with
//! exactly one DistributionPoint whose distributionPoint is a fullName of one http(s) URI, with
//! no reasons, and a cRLIssuer (when present) of exactly one directoryName.
//!
//! ATIS-1000080 v005 §6.4.1: one CRL distribution point naming the (STI-PA) CRL, with cRLIssuer
//! for the indirect CRL (standards.md §3.2); RFC 5280 §4.2.1.13.

use der::Decode;
use x509_cert::ext::pkix::CrlDistributionPoints;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};

use super::{Cert, Level, Rule, any_profile};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_crl_distribution_points_single",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5280 §4.2.1.13",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let e = c.required(oid::CRL_DISTRIBUTION_POINTS, "cRLDistributionPoints")?;
    if e.critical {
        return Err("cRLDistributionPoints is critical".into());
    }
    let dps = CrlDistributionPoints::from_der(e.extn_value.as_bytes())
        .map_err(|e| format!("cRLDistributionPoints is not DER: {e}"))?;
    let [dp] = dps.0.as_slice() else {
        return Err(format!(
            "{} distribution points, expected exactly one",
            dps.0.len()
        ));
    };
    let Some(DistributionPointName::FullName(names)) = &dp.distribution_point else {
        return Err("distribution point has no fullName".into());
    };
    match names.as_slice() {
        [GeneralName::UniformResourceIdentifier(uri)]
            if uri.as_str().starts_with("http://") || uri.as_str().starts_with("https://") => {}
        _ => return Err("fullName is not exactly one http(s) URI".into()),
    }
    if dp.reasons.is_some() {
        return Err("distribution point limits reasons".into());
    }
    match dp.crl_issuer.as_deref() {
        None | Some([GeneralName::DirectoryName(_)]) => Ok(()),
        Some(_) => Err("cRLIssuer is not exactly one directoryName".into()),
    }
}

#[cfg(test)]
mod tests {
    use der::Encode;
    use x509_cert::ext::pkix::CrlDistributionPoints;

    use super::super::testutil::*;
    use crate::ca::{ext, oid};

    const RULE: &str = "e_sti_crl_distribution_points_single";

    #[test]
    fn one_point_passes_with_and_without_crl_issuer() {
        assert!(finding(&build(|_| {}), RULE).is_none());
        let name = hex::decode("3056311430120603550407130B4272696467657761746572310B3009060355040813024E4A311330110603550403130A5354492D50412043524C310B3009060355040613025553310F300D060355040A13065354492D5041").unwrap();
        let b = build(|p| {
            set_ext(
                p,
                oid::CRL_DISTRIBUTION_POINTS,
                false,
                ext::crl_distribution_points("https://crl.example/crl", Some(&name)).unwrap(),
            )
        });
        assert!(finding(&b, RULE).is_none());
    }

    #[test]
    fn two_points_ldap_and_missing_fail() {
        let one = ext::crl_distribution_points("https://a/crl", None).unwrap();
        let mut dps = <CrlDistributionPoints as der::Decode>::from_der(&one).unwrap();
        dps.0.push(dps.0[0].clone());
        let b = build(|p| {
            set_ext(
                p,
                oid::CRL_DISTRIBUTION_POINTS,
                false,
                dps.to_der().unwrap(),
            )
        });
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("2 distribution points")
        );
        let ldap = ext::crl_distribution_points("ldap://a/crl", None).unwrap();
        let b = build(|p| set_ext(p, oid::CRL_DISTRIBUTION_POINTS, false, ldap));
        assert!(finding(&b, RULE).is_some());
        let b = build(|p| remove_ext(p, oid::CRL_DISTRIBUTION_POINTS));
        assert!(finding(&b, RULE).unwrap().detail.contains("missing"));
    }
}
