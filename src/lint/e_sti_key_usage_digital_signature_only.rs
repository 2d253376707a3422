//! `e_sti_key_usage_digital_signature_only`: keyUsage is present, critical, and is exactly
//! digitalSignature, DER-encoded as `03 02 07 80`.
//!
//! ATIS-1000080 v005 §6.4.1: "a Key Usage extension marked as critical ... with the
//! digitalSignature bit set" and no other (standards.md §3.2). X.690 §11.2.2: a named bit list
//! drops trailing zero bits, so the one DER form is `03 02 07 80`; `03 02 00 80` (seen in a
//! TransNexus-issued leaf, zlint `e_incorrect_ku_encoding`) is BER.

use super::{Cert, Level, Rule, end_entity};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_key_usage_digital_signature_only",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5280 §4.2.1.3; X.690 §11.2.2",
    level: Level::Error,
    applies: end_entity,
    check,
};

/// keyUsage { digitalSignature } in DER.
const DIGITAL_SIGNATURE_ONLY: &[u8] = &[0x03, 0x02, 0x07, 0x80];

fn check(c: &Cert<'_>) -> Result<(), String> {
    let ext = c.required(oid::KEY_USAGE, "keyUsage")?;
    if !ext.critical {
        return Err("keyUsage is not critical".into());
    }
    let value = ext.extn_value.as_bytes();
    if value != DIGITAL_SIGNATURE_ONLY {
        return Err(format!(
            "keyUsage is {}, expected 03020780 (digitalSignature only, DER)",
            hex::encode(value)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rcgen::KeyUsagePurpose;

    use super::super::testutil::*;
    use crate::ca::oid;

    const RULE: &str = "e_sti_key_usage_digital_signature_only";

    #[test]
    fn digital_signature_only_passes() {
        assert!(finding(&build(|_| {}), RULE).is_none());
    }

    #[test]
    fn ber_encoding_extra_bits_and_non_critical_fail() {
        let b = build(|p| {
            p.key_usages.clear();
            set_ext(p, oid::KEY_USAGE, true, vec![0x03, 0x02, 0x00, 0x80]);
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("03020080"));
        let b = build(|p| p.key_usages.push(KeyUsagePurpose::KeyAgreement));
        assert!(finding(&b, RULE).is_some());
        let b = build(|p| {
            p.key_usages.clear();
            set_ext(p, oid::KEY_USAGE, false, vec![0x03, 0x02, 0x07, 0x80]);
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("not critical"));
    }
}
