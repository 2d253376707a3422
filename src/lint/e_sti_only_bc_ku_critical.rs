//! `e_sti_only_bc_ku_critical`: no extension other than basicConstraints and keyUsage is
//! marked critical.
//!
//! ATIS-1000080 v005 §6.4.1: only BC and KU may be critical (standards.md §3.2). A critical
//! TNAuthList also makes relying parties that do not know it reject the certificate
//! (RFC 5280 §4.2; `openssl verify` fails, crates.md).

use super::{Cert, Level, Rule, any_profile};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_only_bc_ku_critical",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5280 §4.2",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let bad: Vec<String> = c
        .extensions()
        .iter()
        .filter(|e| {
            e.critical && e.extn_id != oid::BASIC_CONSTRAINTS && e.extn_id != oid::KEY_USAGE
        })
        .map(|e| e.extn_id.to_string())
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "critical extensions other than BC and KU: {}",
            bad.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::oid;

    const RULE: &str = "e_sti_only_bc_ku_critical";

    #[test]
    fn bc_ku_critical_pass() {
        assert!(finding(&build(|_| {}), RULE).is_none());
    }

    #[test]
    fn critical_tnauthlist_fails() {
        let b = build(|p| {
            set_ext(
                p,
                oid::TN_AUTH_LIST,
                true,
                hex::decode(TNAUTH_709J).unwrap(),
            )
        });
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("1.3.6.1.5.5.7.1.26")
        );
    }
}
