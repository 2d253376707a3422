//! `e_sti_validity_ordered`: notBefore is before notAfter.
//!
//! RFC 5280 §4.1.2.5: the validity period is the interval from notBefore through notAfter; an
//! empty or inverted interval is a certificate no relying party can use.

use super::{Cert, Level, Rule, any_profile};

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_validity_ordered",
    citation: "RFC 5280 §4.1.2.5",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let v = c.cert.tbs_certificate().validity();
    let nb = v.not_before.to_unix_duration();
    let na = v.not_after.to_unix_duration();
    if nb < na {
        Ok(())
    } else {
        Err(format!(
            "notBefore {} is not before notAfter {}",
            v.not_before, v.not_after
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    const RULE: &str = "e_sti_validity_ordered";

    #[test]
    fn ordered_passes_equal_and_inverted_fail() {
        assert!(finding(&build(|_| {}), RULE).is_none());
        assert!(finding(&build(|p| p.not_after = p.not_before), RULE).is_some());
        assert!(
            finding(
                &build(|p| std::mem::swap(&mut p.not_before, &mut p.not_after)),
                RULE
            )
            .is_some()
        );
    }
}
