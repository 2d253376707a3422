//! `e_sti_no_unlisted_extensions`: the certificate carries only the seven extensions the
//! profile lists, each once.
//!
//! ATIS-1000080 v005 §6.4.1: STI certificates "shall not include extensions that are not
//! specified" (BC, KU, CP, SKI, AKI, CRLDP, TNAuthList; so no SAN, AIA or EKU; standards.md
//! §3.2); RFC 5280 §4.2: an extension MUST NOT appear more than once.

use super::{Cert, Level, Rule, sti_end_entity};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_no_unlisted_extensions",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5280 §4.2",
    level: Level::Error,
    applies: sti_end_entity,
    check,
};

const ALLOWED: [const_oid::ObjectIdentifier; 7] = [
    oid::BASIC_CONSTRAINTS,
    oid::KEY_USAGE,
    oid::CERTIFICATE_POLICIES,
    oid::SUBJECT_KEY_IDENTIFIER,
    oid::AUTHORITY_KEY_IDENTIFIER,
    oid::CRL_DISTRIBUTION_POINTS,
    oid::TN_AUTH_LIST,
];

fn check(c: &Cert<'_>) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for e in c.extensions() {
        if !ALLOWED.contains(&e.extn_id) {
            problems.push(format!("extension {} is not allowed", e.extn_id));
        }
        if seen.contains(&e.extn_id) {
            problems.push(format!("extension {} appears more than once", e.extn_id));
        }
        seen.push(e.extn_id);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::{ext, oid};

    const RULE: &str = "e_sti_no_unlisted_extensions";

    #[test]
    fn listed_extensions_pass() {
        assert!(finding(&build(|_| {}), RULE).is_none());
    }

    #[test]
    fn san_eku_and_duplicates_fail() {
        let b = build(|p| {
            p.subject_alt_names = vec![rcgen::SanType::DnsName("sp.example".try_into().unwrap())]
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("2.5.29.17"));
        let b = build(|p| p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth]);
        assert!(finding(&b, RULE).unwrap().detail.contains("2.5.29.37"));
        let b = build(|p| {
            p.custom_extensions.push(ext::custom(
                &oid::TN_AUTH_LIST,
                false,
                hex::decode(TNAUTH_709J).unwrap(),
            ))
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("more than once"));
    }
}
