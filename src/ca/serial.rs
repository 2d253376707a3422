//! Certificate serial numbers: 20 octets from the CSPRNG, positive.
//!
//! RFC 5280 §4.1.2.2: positive, unique per issuer, at most 20 octets. ATIS-1000080 v005 (aligned
//! with CA/B Forum ballot 164) asks for at least 64 bits from a CSPRNG; stica uses 159 bits, so a
//! collision is not a practical concern and uniqueness needs no central counter.

/// Serial length in octets (the RFC 5280 maximum).
pub const SERIAL_LEN: usize = 20;

/// A random serial: 20 octets, the first in `0x01..=0x7f` so the INTEGER is positive (first bit
/// clear) and its DER encoding is exactly 20 octets (no leading zero octet to strip).
pub fn random_serial() -> Result<[u8; SERIAL_LEN], aws_lc_rs::error::Unspecified> {
    let mut serial = [0u8; SERIAL_LEN];
    aws_lc_rs::rand::fill(&mut serial)?;
    serial[0] = (serial[0] & 0x7f).max(1);
    Ok(serial)
}

/// The serial as lowercase hex, the form stored and used in URLs.
pub fn serial_hex(serial: &[u8]) -> String {
    hex::encode(serial)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_positive_full_length_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let s = random_serial().unwrap();
            assert!(s[0] >= 1 && s[0] <= 0x7f);
            assert!(seen.insert(s));
        }
        assert_eq!(serial_hex(&[0x01, 0xab]), "01ab");
    }
}
