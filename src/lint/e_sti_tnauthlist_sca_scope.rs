//! `e_sti_tnauthlist_sca_scope`: an `sca` certificate's TNAuthList is present, non-critical, and
//! names the scope the SCA may delegate: an SPC and/or telephone numbers and ranges, at most one
//! SPC, of the form `[0-9A-Z]+`.
//!
//! profiles.md `sca`: "the SP's SPC and/or TNs: the scope it may delegate"; RFC 9060 §4 (a
//! delegating certificate carries the TNAuthList its delegates must lie in); RFC 8226 §9.

use super::{Cert, Level, Rule, sca_only, sca_scope};

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_tnauthlist_sca_scope",
    citation: "profiles.md sca; RFC 9060 §4; RFC 8226 §9",
    level: Level::Error,
    applies: sca_only,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    sca_scope(c.tnauthlist_der()?).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::{Profile, oid};

    const RULE: &str = "e_sti_tnauthlist_sca_scope";

    #[test]
    fn spc_numbers_or_both_pass() {
        assert!(finding(&build_as(Profile::Sca, |_| {}), RULE).is_none());
        let b = build_as(Profile::Sca, |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der(TN_LEVEL_LIST))
        });
        assert!(finding(&b, RULE).is_none());
        let b = build_as(Profile::Sca, |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der(DELEGATE_LIST));
            set_cn(p, "Example Telecom LLC SHAKEN SCA");
        });
        assert!(finding(&b, RULE).is_none());
    }

    #[test]
    fn two_spcs_lowercase_critical_and_missing_fail() {
        let b = build_as(Profile::Sca, |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der("spc:709J,spc:1234"))
        });
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("more than one SPC")
        );
        let b = build_as(Profile::Sca, |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der("spc:709j"))
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("[0-9A-Z]+"));
        let b = build_as(Profile::Sca, |p| {
            set_ext(
                p,
                oid::TN_AUTH_LIST,
                true,
                hex::decode(TNAUTH_709J).unwrap(),
            )
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("critical"));
        let b = build_as(Profile::Sca, |p| remove_ext(p, oid::TN_AUTH_LIST));
        assert!(finding(&b, RULE).unwrap().detail.contains("missing"));
    }
}
