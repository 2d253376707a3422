//! `e_sti_certificate_policies_single_oid`: certificatePolicies is present, non-critical, and
//! holds exactly one policy: the configured SHAKEN CP OID.
//!
//! ATIS-1000080 v005 §6.4.1: "a Certificate Policies extension containing a single SHAKEN
//! Certificate Policy" (standards.md §3.2); the OID is a lint context parameter because CAs moved
//! from CP v1.3 (`2.16.840.1.114569.1.1.3`) to v1.4 (`...1.1.4`).

use der::Decode;
use x509_cert::ext::pkix::CertificatePolicies;

use super::{Cert, Level, Rule, any_profile};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_certificate_policies_single_oid",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5280 §4.2.1.4",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let ext = c.required(oid::CERTIFICATE_POLICIES, "certificatePolicies")?;
    if ext.critical {
        return Err("certificatePolicies is critical".into());
    }
    let cp = CertificatePolicies::from_der(ext.extn_value.as_bytes())
        .map_err(|e| format!("certificatePolicies is not DER: {e}"))?;
    match cp.0.as_slice() {
        [one] if one.policy_identifier == c.ctx.certificate_policy => Ok(()),
        [one] => Err(format!(
            "policy is {}, expected {}",
            one.policy_identifier, c.ctx.certificate_policy
        )),
        many => Err(format!("{} policies, expected exactly one", many.len())),
    }
}

#[cfg(test)]
mod tests {
    use const_oid::ObjectIdentifier;

    use super::super::testutil::*;
    use crate::ca::{ext, oid};

    const RULE: &str = "e_sti_certificate_policies_single_oid";
    const CP13: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.114569.1.1.3");
    const CP14: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.114569.1.1.4");

    #[test]
    fn configured_oid_passes() {
        assert!(finding(&build(|_| {}), RULE).is_none());
    }

    #[test]
    fn other_oid_two_oids_critical_fail() {
        let b = build(|p| {
            set_ext(
                p,
                oid::CERTIFICATE_POLICIES,
                false,
                ext::certificate_policies(&[CP13]).unwrap(),
            )
        });
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("expected 2.16.840.1.114569.1.1.4")
        );
        let b = build(|p| {
            set_ext(
                p,
                oid::CERTIFICATE_POLICIES,
                false,
                ext::certificate_policies(&[CP14, oid::ANY_POLICY]).unwrap(),
            )
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("2 policies"));
        let b = build(|p| {
            set_ext(
                p,
                oid::CERTIFICATE_POLICIES,
                true,
                ext::certificate_policies(&[CP14]).unwrap(),
            )
        });
        assert!(finding(&b, RULE).is_some());
    }
}
