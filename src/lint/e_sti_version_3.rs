//! `e_sti_version_3`: STI certificates are X.509 v3.
//!
//! ATIS-1000080 v005 §6.4.1: "STI certificates shall ... be X.509 v3" (standards.md §3.2);
//! extensions, which the profile depends on, exist only in v3 (RFC 5280 §4.1.2.1).

use x509_cert::certificate::Version;

use super::{Cert, Level, Rule, any_profile};

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_version_3",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5280 §4.1.2.1",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    match c.cert.tbs_certificate().version() {
        Version::V3 => Ok(()),
        v => Err(format!("version is {v:?}, not V3")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn v3_passes_v2_fails() {
        let mut b = build(|_| {});
        assert!(finding(&b, "e_sti_version_3").is_none());
        b.leaf = patch(
            &b.leaf,
            &[0xa0, 0x03, 0x02, 0x01, 0x02],
            &[0xa0, 0x03, 0x02, 0x01, 0x01],
        );
        assert!(finding(&b, "e_sti_version_3").is_some());
    }
}
