//! `e_sti_sca_basic_constraints_ca_path_len`: an `sca` certificate's basicConstraints is present,
//! critical, with cA TRUE and a pathLenConstraint equal to policy `sca_path_len`.
//!
//! RFC 5280 §4.2.1.9 (CA certificates: basicConstraints critical, cA TRUE); RFC 9448 §5 / RFC
//! 9060 §4 (a delegating certificate, issued on a token with `"ca": true`); profiles.md `sca`
//! ("pathLen per policy, 0 unless sub-delegation is allowed"): an explicit pathLen, so that an
//! SCA cannot grow a deeper chain than policy meant.

use super::{Cert, Level, Rule, sca_only};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_sca_basic_constraints_ca_path_len",
    citation: "RFC 5280 §4.2.1.9; RFC 9060 §4; profiles.md sca",
    level: Level::Error,
    applies: sca_only,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let ext = c.required(oid::BASIC_CONSTRAINTS, "basicConstraints")?;
    if !ext.critical {
        return Err("basicConstraints is not critical".into());
    }
    let bc = Cert::basic_constraints_of(c.cert)?.ok_or("basicConstraints is missing")?;
    if !bc.ca {
        return Err("basicConstraints has cA FALSE on a CA (sca) certificate".into());
    }
    match bc.path_len_constraint {
        None => Err(format!(
            "basicConstraints has no pathLenConstraint, policy asks for {}",
            c.ctx.sca_path_len
        )),
        Some(n) if n != c.ctx.sca_path_len => Err(format!(
            "pathLenConstraint is {n}, policy asks for {}",
            c.ctx.sca_path_len
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::{Profile, ext, oid};

    const RULE: &str = "e_sti_sca_basic_constraints_ca_path_len";

    #[test]
    fn critical_ca_true_with_the_policy_path_len_passes() {
        assert!(finding(&build_as(Profile::Sca, |_| {}), RULE).is_none());
        let b = build_under(
            Profile::Sca,
            &IssuerSpec {
                path_len: Some(3),
                ..IssuerSpec::default()
            },
            |p| {
                set_ext(
                    p,
                    oid::BASIC_CONSTRAINTS,
                    true,
                    ext::basic_constraints_ca(2).unwrap(),
                )
            },
        );
        assert!(finding_with(&b, RULE, |c| c.sca_path_len = 2).is_none());
    }

    #[test]
    fn ca_false_no_or_other_path_len_non_critical_and_missing_fail() {
        let b = build_as(Profile::Sca, |p| {
            set_ext(p, oid::BASIC_CONSTRAINTS, true, vec![0x30, 0x00])
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("cA FALSE"));
        let b = build_as(Profile::Sca, |p| {
            set_ext(
                p,
                oid::BASIC_CONSTRAINTS,
                true,
                vec![0x30, 0x03, 0x01, 0x01, 0xff],
            )
        });
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("no pathLenConstraint")
        );
        let b = build_as(Profile::Sca, |_| {});
        assert!(
            finding_with(&b, RULE, |c| c.sca_path_len = 1)
                .unwrap()
                .detail
                .contains("pathLenConstraint is 0")
        );
        let b = build_as(Profile::Sca, |p| {
            set_ext(
                p,
                oid::BASIC_CONSTRAINTS,
                false,
                ext::basic_constraints_ca(0).unwrap(),
            )
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("not critical"));
        let b = build_as(Profile::Sca, |p| remove_ext(p, oid::BASIC_CONSTRAINTS));
        assert!(finding(&b, RULE).unwrap().detail.contains("missing"));
    }
}
