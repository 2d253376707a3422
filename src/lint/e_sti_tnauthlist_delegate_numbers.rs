//! `e_sti_tnauthlist_delegate_numbers`: a `delegate` certificate's TNAuthList is present,
//! non-critical, and lists telephone numbers and ranges only, no SPC.
//!
//! profiles.md `delegate`: "TNs / ranges"; standards.md §3.4 (ATIS-1000092 as secondary sources
//! describe it: delegate end-entity certificates carry TNs and ranges, SPC-only lists are for STI
//! certificates); RFC 8226 §9.

use super::{Cert, Level, Rule, delegate_only, delegate_scope};

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_tnauthlist_delegate_numbers",
    citation: "profiles.md delegate; RFC 9060 §4; RFC 8226 §9",
    level: Level::Error,
    applies: delegate_only,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    delegate_scope(c.tnauthlist_der()?).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::{Profile, oid};

    const RULE: &str = "e_sti_tnauthlist_delegate_numbers";

    #[test]
    fn numbers_and_ranges_pass() {
        assert!(finding(&build_as(Profile::Delegate, |_| {}), RULE).is_none());
        let b = build_as(Profile::Delegate, |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der("tn:12155550123"))
        });
        assert!(finding(&b, RULE).is_none());
    }

    #[test]
    fn an_spc_critical_and_missing_fail() {
        let b = build_as(Profile::Delegate, |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der(TN_LEVEL_LIST))
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("no SPC"));
        let b = build_as(Profile::Delegate, |p| {
            set_ext(p, oid::TN_AUTH_LIST, true, list_der(DELEGATE_LIST))
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("critical"));
        let b = build_as(Profile::Delegate, |p| remove_ext(p, oid::TN_AUTH_LIST));
        assert!(finding(&b, RULE).unwrap().detail.contains("missing"));
    }
}
