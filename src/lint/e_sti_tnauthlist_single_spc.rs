//! `e_sti_tnauthlist_single_spc`: the TNAuthList extension is present, non-critical, and holds
//! exactly one entry: an SPC of the form `[0-9A-Z]+`.
//!
//! ATIS-1000080 v005 §6.4.1: the STI certificate TNAuthList "shall contain a single SPC value"
//! (no TNs or ranges; standards.md §3.2); RFC 8226 §9 (EXPLICIT tags); non-critical as in every
//! production certificate (a critical one fails `openssl verify`).

use super::{Cert, Level, Rule, shaken_spc, shaken_spc_only};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_tnauthlist_single_spc",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 8226 §9",
    level: Level::Error,
    applies: shaken_spc_only,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let e = c.required(oid::TN_AUTH_LIST, "TNAuthList")?;
    if e.critical {
        return Err("TNAuthList is critical".into());
    }
    shaken_spc(e.extn_value.as_bytes()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::oid;

    const RULE: &str = "e_sti_tnauthlist_single_spc";

    #[test]
    fn single_spc_passes() {
        assert!(finding(&build(|_| {}), RULE).is_none());
    }

    #[test]
    fn critical_lists_numbers_lowercase_and_missing_fail() {
        let spc = hex::decode(TNAUTH_709J).unwrap();
        let b = build(|p| set_ext(p, oid::TN_AUTH_LIST, true, spc.clone()));
        assert!(finding(&b, RULE).unwrap().detail.contains("critical"));
        let three = hex::decode("302ba0071605626f677573a1123010160a3537313535353132313202020314a20c160a37303335353531323132").unwrap();
        let b = build(|p| set_ext(p, oid::TN_AUTH_LIST, false, three));
        assert!(finding(&b, RULE).unwrap().detail.contains("3 entries"));
        let lower = hex::decode("3008a00616043730396a").unwrap();
        let b = build(|p| set_ext(p, oid::TN_AUTH_LIST, false, lower));
        assert!(finding(&b, RULE).is_some());
        let one_tn = hex::decode("300FA20D160B3132313535353530313233").unwrap();
        let b = build(|p| set_ext(p, oid::TN_AUTH_LIST, false, one_tn));
        assert!(finding(&b, RULE).unwrap().detail.contains("not an SPC"));
        let b = build(|p| remove_ext(p, oid::TN_AUTH_LIST));
        assert!(finding(&b, RULE).unwrap().detail.contains("missing"));
    }
}
