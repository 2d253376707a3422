//! `e_sti_no_unlisted_extensions`: the certificate carries only the extensions its profile
//! lists, each once: the seven of ATIS-1000080 for every profile, plus JWTClaimConstraints
//! (RFC 8226 §8) or EnhancedJWTClaimConstraints (RFC 9118) on `tn-level` and `delegate`
//! certificates only.
//!
//! ATIS-1000080 v005 §6.4.1: STI certificates "shall not include extensions that are not
//! specified" (BC, KU, CP, SKI, AKI, CRLDP, TNAuthList; so no SAN, AIA or EKU; standards.md
//! §3.2); profiles.md ("other extensions: none"; issue 3 item 6 for the claim constraints);
//! RFC 5280 §4.2: an extension MUST NOT appear more than once.

use super::{Cert, Level, Rule, any_profile};
use crate::ca::{Profile, oid};

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_no_unlisted_extensions",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5280 §4.2",
    level: Level::Error,
    applies: any_profile,
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

/// Allowed on `tn-level` and `delegate` certificates only.
const CLAIM_CONSTRAINTS: [const_oid::ObjectIdentifier; 2] = [
    oid::JWT_CLAIM_CONSTRAINTS,
    oid::ENHANCED_JWT_CLAIM_CONSTRAINTS,
];

fn check(c: &Cert<'_>) -> Result<(), String> {
    let claim_constraints_allowed = matches!(c.ctx.profile, Profile::TnLevel | Profile::Delegate);
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for e in c.extensions() {
        if CLAIM_CONSTRAINTS.contains(&e.extn_id) {
            if !claim_constraints_allowed {
                problems.push(format!(
                    "extension {} (JWT claim constraints) is allowed on tn-level and delegate certificates only",
                    e.extn_id
                ));
            }
        } else if !ALLOWED.contains(&e.extn_id) {
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
    use crate::ca::{Profile, ext, oid};

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

    #[test]
    fn claim_constraints_only_on_tn_level_and_delegate() {
        // mustInclude [0] { "orig" } (RFC 8226 §8, EXPLICIT tags)
        let jwtcc = hex::decode("300aa008300616046f726967").unwrap();
        for profile in [Profile::TnLevel, Profile::Delegate] {
            let b = build_as(profile, |p| {
                set_ext(p, oid::JWT_CLAIM_CONSTRAINTS, false, jwtcc.clone())
            });
            assert!(finding(&b, RULE).is_none(), "{profile}");
            let b = build_as(profile, |p| {
                set_ext(p, oid::ENHANCED_JWT_CLAIM_CONSTRAINTS, false, jwtcc.clone())
            });
            assert!(finding(&b, RULE).is_none(), "{profile}");
        }
        for profile in [Profile::ShakenSpc, Profile::Sca] {
            let b = build_as(profile, |p| {
                set_ext(p, oid::JWT_CLAIM_CONSTRAINTS, false, jwtcc.clone())
            });
            assert!(
                finding(&b, RULE)
                    .unwrap()
                    .detail
                    .contains("tn-level and delegate"),
                "{profile}"
            );
        }
        // other extensions stay refused on tn-level and sca too
        for profile in [Profile::TnLevel, Profile::Sca, Profile::Delegate] {
            let b = build_as(profile, |p| {
                p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth]
            });
            assert!(
                finding(&b, RULE).unwrap().detail.contains("2.5.29.37"),
                "{profile}"
            );
        }
    }
}
