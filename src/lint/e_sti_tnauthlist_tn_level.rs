//! `e_sti_tnauthlist_tn_level`: a `tn-level` certificate's TNAuthList is present, non-critical,
//! lists at least one telephone number or range, and at most one SPC of the form `[0-9A-Z]+`.
//!
//! profiles.md `tn-level`: "the TNs / ranges of the token (pass by value), optional SPC"; RFC 8226
//! §9 (EXPLICIT tags, strict DER as [`crate::tnauth::TnAuthList::from_der`] reads it); non-critical
//! as every production certificate (a critical one fails `openssl verify`).

use super::{Cert, Level, Rule, tn_level_only, tn_level_scope};

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_tnauthlist_tn_level",
    citation: "profiles.md tn-level; RFC 8226 §9",
    level: Level::Error,
    applies: tn_level_only,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    tn_level_scope(c.tnauthlist_der()?).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::{Profile, oid};

    const RULE: &str = "e_sti_tnauthlist_tn_level";

    #[test]
    fn numbers_with_and_without_an_spc_pass() {
        assert!(finding(&build_as(Profile::TnLevel, |_| {}), RULE).is_none());
        for list in ["tn:12155550123", "range:12155550100+100,tn:12155550999"] {
            let b = build_as(Profile::TnLevel, |p| {
                set_ext(p, oid::TN_AUTH_LIST, false, list_der(list));
                set_cn(p, "SHAKEN acct-1");
            });
            assert!(finding(&b, RULE).is_none(), "{list}");
        }
    }

    #[test]
    fn spc_only_two_spcs_critical_and_missing_fail() {
        let b = build_as(Profile::TnLevel, |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der("spc:709J"))
        });
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("telephone numbers")
        );
        let b = build_as(Profile::TnLevel, |p| {
            set_ext(
                p,
                oid::TN_AUTH_LIST,
                false,
                list_der("spc:709J,spc:1234,tn:12155550123"),
            )
        });
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("more than one SPC")
        );
        let b = build_as(Profile::TnLevel, |p| {
            set_ext(p, oid::TN_AUTH_LIST, true, list_der(TN_LEVEL_LIST))
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("critical"));
        let b = build_as(Profile::TnLevel, |p| remove_ext(p, oid::TN_AUTH_LIST));
        assert!(finding(&b, RULE).unwrap().detail.contains("missing"));
    }
}
