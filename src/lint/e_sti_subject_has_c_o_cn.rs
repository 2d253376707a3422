//! `e_sti_subject_has_c_o_cn`: the subject has exactly one C, one O and one CN; C is a
//! PrintableString of two capital letters.
//!
//! ATIS-1000080 v005 §6.4.1.1 / US SHAKEN CP v1.4 §3.1: the subject DN "shall contain" C, O and
//! CN (standards.md §3.2); RFC 5280 Appendix A: countryName is a PrintableString of size 2
//! (ISO 3166-1 alpha-2).

use super::{Cert, Level, Rule, any_profile, directory_string};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_subject_has_c_o_cn",
    citation: "ATIS-1000080 v005 §6.4.1.1; US SHAKEN CP v1.4 §3.1; RFC 5280 Appendix A",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let subject = c.cert.tbs_certificate().subject();
    let mut problems = Vec::new();
    for (attr, name) in [
        (oid::AT_COUNTRY, "C"),
        (oid::AT_ORGANIZATION, "O"),
        (oid::AT_COMMON_NAME, "CN"),
    ] {
        let values: Vec<_> = subject.iter().filter(|a| a.oid == attr).collect();
        match values.as_slice() {
            [one] => {
                let text = directory_string(&one.value);
                if text.as_deref().is_none_or(|t| t.trim().is_empty()) {
                    problems.push(format!("{name} is empty or not a string"));
                }
                if attr == oid::AT_COUNTRY {
                    let ok = der::Tagged::tag(&one.value) == der::Tag::PrintableString
                        && text.as_deref().is_some_and(|t| {
                            t.len() == 2 && t.bytes().all(|b| b.is_ascii_uppercase())
                        });
                    if !ok {
                        problems.push("C is not a two-letter PrintableString".into());
                    }
                }
            }
            [] => problems.push(format!("subject has no {name}")),
            _ => problems.push(format!("subject has {} {name} attributes", values.len())),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{DnType, DnValue};

    use super::super::testutil::*;

    const RULE: &str = "e_sti_subject_has_c_o_cn";

    #[test]
    fn c_o_cn_pass() {
        assert!(finding(&build(|_| {}), RULE).is_none());
    }

    #[test]
    fn missing_o_and_utf8_country_fail() {
        let b = build(|p| {
            p.distinguished_name.remove(DnType::OrganizationName);
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("no O"));
        let b = build(|p| {
            p.distinguished_name
                .push(DnType::CountryName, DnValue::Utf8String("US".into()));
        });
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("PrintableString")
        );
    }
}
