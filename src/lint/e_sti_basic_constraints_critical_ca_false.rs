//! `e_sti_basic_constraints_critical_ca_false`: basicConstraints is present, critical, with cA
//! FALSE and no pathLenConstraint, DER-encoded (`30 00`).
//!
//! ATIS-1000080 v005 §6.4.1: STI certificates "shall contain a BasicConstraints extension marked
//! critical with the cA boolean set to FALSE" (standards.md §3.2); RFC 5280 §4.2.1.9.

use der::Decode;
use x509_cert::ext::pkix::BasicConstraints;

use super::{Cert, Level, Rule, end_entity};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_basic_constraints_critical_ca_false",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5280 §4.2.1.9",
    level: Level::Error,
    applies: end_entity,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let ext = c.required(oid::BASIC_CONSTRAINTS, "basicConstraints")?;
    if !ext.critical {
        return Err("basicConstraints is not critical".into());
    }
    let bc = BasicConstraints::from_der(ext.extn_value.as_bytes())
        .map_err(|e| format!("basicConstraints is not DER: {e}"))?;
    if bc.ca {
        return Err("basicConstraints has cA TRUE".into());
    }
    if bc.path_len_constraint.is_some() {
        return Err("basicConstraints of an end entity has a pathLenConstraint".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::oid;

    const RULE: &str = "e_sti_basic_constraints_critical_ca_false";

    #[test]
    fn critical_ca_false_passes() {
        assert!(finding(&build(|_| {}), RULE).is_none());
    }

    #[test]
    fn non_critical_ca_true_missing_fail() {
        let b = build(|p| set_ext(p, oid::BASIC_CONSTRAINTS, false, vec![0x30, 0x00]));
        assert!(finding(&b, RULE).unwrap().detail.contains("not critical"));
        let b = build(|p| {
            set_ext(
                p,
                oid::BASIC_CONSTRAINTS,
                true,
                vec![0x30, 0x03, 0x01, 0x01, 0xff],
            )
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("cA TRUE"));
        let b = build(|p| remove_ext(p, oid::BASIC_CONSTRAINTS));
        assert!(finding(&b, RULE).unwrap().detail.contains("missing"));
    }
}
