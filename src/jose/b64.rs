//! Base64 helpers for JOSE and ACME.
//!
//! RFC 7515 §2 and RFC 8555 §6.1 want every binary field as base64url without padding, and
//! RFC 8555 §6.1 says padded values MUST be rejected, so [`decode_url`] is strict: url alphabet
//! only, no `=`, no whitespace, no non-zero trailing bits (one value has exactly one encoding,
//! which keeps signing inputs and thumbprints canonical). [`decode_lenient`] exists for the
//! values the SHAKEN ecosystem sends in other forms (standards.md §2.1: TNAuthList identifier
//! values and `tkvalue` in padded standard base64), and [`decode_std`] for `x5c` entries, which
//! RFC 7515 §4.1.6 defines as standard base64 DER.

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};

/// Standard alphabet, padding optional on decode (for `x5c` and the lenient path).
const STD_INDIFFERENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Base64url without padding (RFC 7515 §2 "Base64url Encoding").
pub fn encode_url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Strict base64url decoding: url alphabet, no padding, canonical trailing bits (RFC 8555 §6.1).
pub fn decode_url(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text.as_bytes())
}

/// Standard base64 (RFC 4648 §4), padding optional: the `x5c` form (RFC 7515 §4.1.6).
pub fn decode_std(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STD_INDIFFERENT.decode(text.as_bytes())
}

/// Either alphabet, padded or not (standards.md §2.1 interop: identifier values and `tkvalue`).
///
/// The url characters are mapped onto the standard alphabet first, so `-`/`_` and `+`/`/` are
/// both understood; whitespace and non-canonical trailing bits are still refused.
pub fn decode_lenient(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    STD_INDIFFERENT.decode(mapped.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_round_trip_has_no_padding() {
        let data = [0xfb, 0xff, 0x00, 0x01];
        let text = encode_url(&data);
        assert_eq!(text, "-_8AAQ");
        assert_eq!(decode_url(&text).unwrap(), data);
        assert_eq!(encode_url(b""), "");
        assert_eq!(decode_url("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn strict_url_rejects_padding_std_alphabet_whitespace_and_trailing_bits() {
        assert!(decode_url("MAigBhYEMTIzNA==").is_err());
        assert!(decode_url("MAigBhYEMTIzNA=").is_err());
        assert!(decode_url("+/8AAQ").is_err());
        assert!(decode_url("MAig BhYE").is_err());
        assert!(decode_url("MAigBhYEMTIzNA\n").is_err());
        // "MB" has non-zero trailing bits (canonical form of 0x30 is "MA").
        assert!(decode_url("MB").is_err());
        assert_eq!(decode_url("MA").unwrap(), vec![0x30]);
    }

    #[test]
    fn lenient_accepts_all_four_forms_of_the_same_value() {
        // standards.md §1.2: one "12155550123" has a '+' / '-' in its encodings.
        let der = hex::decode("300FA20D160B3132313535353530313233").unwrap();
        for text in [
            "MA+iDRYLMTIxNTU1NTAxMjM=",
            "MA+iDRYLMTIxNTU1NTAxMjM",
            "MA-iDRYLMTIxNTU1NTAxMjM",
            "MA-iDRYLMTIxNTU1NTAxMjM=",
        ] {
            assert_eq!(decode_lenient(text).unwrap(), der, "{text}");
        }
        assert!(decode_lenient("MA+i DRYL").is_err());
        assert!(decode_lenient("!!").is_err());
    }

    #[test]
    fn std_accepts_padded_and_unpadded() {
        assert_eq!(
            decode_std("MAigBhYEMTIzNA==").unwrap(),
            decode_std("MAigBhYEMTIzNA").unwrap()
        );
        assert!(decode_std("MA-i").is_err());
    }
}
