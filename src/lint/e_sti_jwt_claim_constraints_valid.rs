//! `e_sti_jwt_claim_constraints_valid`: JWT claim constraints on a `tn-level` or `delegate`
//! certificate are one extension of one kind, non-critical, strict DER, and (enhanced) name no
//! claim both in `mustInclude` and `mustExclude`. Absent is fine.
//!
//! RFC 8226 §8 (JWTClaimConstraints, non-critical), RFC 9118 §3 (EnhancedJWTClaimConstraints;
//! a claim both required and excluded makes every PASSporT fail); issue 3 item 6: never both
//! extensions in one certificate (a verifier knowing one of them would apply a different policy
//! than one knowing both). `e_sti_no_unlisted_extensions` keeps them off the other profiles.

use super::{Cert, Level, Rule};
use crate::ca::{Profile, oid};
use crate::tnauth::jwtcc::ClaimConstraints;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_jwt_claim_constraints_valid",
    citation: "RFC 8226 §8; RFC 9118 §3",
    level: Level::Error,
    applies: tn_level_or_delegate,
    check,
};

fn tn_level_or_delegate(profile: Profile) -> bool {
    matches!(profile, Profile::TnLevel | Profile::Delegate)
}

fn check(c: &Cert<'_>) -> Result<(), String> {
    for e in c.extensions() {
        if (e.extn_id == oid::JWT_CLAIM_CONSTRAINTS
            || e.extn_id == oid::ENHANCED_JWT_CLAIM_CONSTRAINTS)
            && e.critical
        {
            return Err(format!(
                "claim constraints extension {} is critical",
                e.extn_id
            ));
        }
    }
    match ClaimConstraints::from_extensions(c.extensions()).map_err(|e| e.to_string())? {
        Some(ClaimConstraints::Enhanced(v)) if !v.contradictions().is_empty() => Err(format!(
            "claims both required and excluded: {}",
            v.contradictions()
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::{Profile, oid};

    const RULE: &str = "e_sti_jwt_claim_constraints_valid";

    /// mustInclude { "orig" }
    const MUST_INCLUDE_ORIG: &str = "300aa008300616046f726967";

    #[test]
    fn absent_or_one_valid_kind_passes() {
        for profile in [Profile::TnLevel, Profile::Delegate] {
            assert!(finding(&build_as(profile, |_| {}), RULE).is_none());
            for ext in [
                oid::JWT_CLAIM_CONSTRAINTS,
                oid::ENHANCED_JWT_CLAIM_CONSTRAINTS,
            ] {
                let b = build_as(profile, |p| {
                    set_ext(p, ext, false, hex::decode(MUST_INCLUDE_ORIG).unwrap())
                });
                assert!(finding(&b, RULE).is_none(), "{profile} {ext}");
            }
        }
    }

    #[test]
    fn both_kinds_critical_malformed_and_contradictory_fail() {
        let v = hex::decode(MUST_INCLUDE_ORIG).unwrap();
        let b = build_as(Profile::TnLevel, |p| {
            set_ext(p, oid::JWT_CLAIM_CONSTRAINTS, false, v.clone());
            set_ext(p, oid::ENHANCED_JWT_CLAIM_CONSTRAINTS, false, v.clone());
        });
        assert!(finding(&b, RULE).is_some());
        let b = build_as(Profile::Delegate, |p| {
            set_ext(p, oid::JWT_CLAIM_CONSTRAINTS, true, v.clone())
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("critical"));
        // IMPLICIT tag [0] instead of EXPLICIT
        let b = build_as(Profile::TnLevel, |p| {
            set_ext(
                p,
                oid::JWT_CLAIM_CONSTRAINTS,
                false,
                hex::decode("3008800616046f726967").unwrap(),
            )
        });
        assert!(finding(&b, RULE).is_some());
        let contradiction = {
            use crate::tnauth::jwtcc::{ClaimName, EnhancedJwtClaimConstraints};
            let rcd = || vec![ClaimName::new("rcd").unwrap()];
            EnhancedJwtClaimConstraints::new(rcd(), vec![], rcd())
                .unwrap()
                .to_der()
        };
        let b = build_as(Profile::TnLevel, |p| {
            set_ext(p, oid::ENHANCED_JWT_CLAIM_CONSTRAINTS, false, contradiction)
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("rcd"));
    }
}
