//! `e_sti_serial_positive_64_bits`: the serial is positive, at most 20 octets and carries at
//! least 64 bits (8 octets after stripping leading zeros).
//!
//! RFC 5280 §4.1.2.2 (positive, at most 20 octets); ATIS-1000080 v005 §6.4.1 aligned with CA/B
//! Forum ballot 164: at least 64 bits of CSPRNG output (standards.md §3.2). Entropy cannot be
//! measured; length is the checkable part (zlint does the same).

use super::{Cert, Level, Rule, any_profile};

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_serial_positive_64_bits",
    citation: "RFC 5280 §4.1.2.2; ATIS-1000080 v005 §6.4.1 (CA/B Forum ballot 164)",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let encoded = c.cert.tbs_certificate().serial_number().as_bytes();
    if encoded.first().is_some_and(|b| b & 0x80 != 0) {
        return Err("serial is negative".into());
    }
    if encoded.len() > 20 {
        return Err(format!("serial is {} octets, more than 20", encoded.len()));
    }
    let value: Vec<u8> = encoded.iter().copied().skip_while(|b| *b == 0).collect();
    if value.is_empty() {
        return Err("serial is zero".into());
    }
    if value.len() < 8 {
        return Err(format!(
            "serial has {} significant octets, fewer than 64 bits",
            value.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    const RULE: &str = "e_sti_serial_positive_64_bits";

    #[test]
    fn random_20_octets_pass() {
        assert!(finding(&build(|_| {}), RULE).is_none());
    }

    #[test]
    fn negative_short_and_zero_fail() {
        let mut b = build(|_| {});
        b.leaf = patch(&b.leaf, &[0x02, 0x14, 0x42], &[0x02, 0x14, 0x82]);
        assert!(finding(&b, RULE).unwrap().detail.contains("negative"));
        let b = build(|p| p.serial_number = Some(rcgen::SerialNumber::from_slice(&[1, 2, 3, 4])));
        assert!(finding(&b, RULE).unwrap().detail.contains("fewer than 64"));
        let b = build(|p| p.serial_number = Some(rcgen::SerialNumber::from_slice(&[0])));
        assert!(finding(&b, RULE).is_some());
    }
}
