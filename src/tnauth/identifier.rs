//! The text form of a TNAuthList in an ACME identifier `value` (RFC 9448 §3) and in an Authority
//! Token's `atc.tkvalue` (RFC 9448 §5).
//!
//! RFC 8555 §6.1 wants base64url without padding, but production SHAKEN clients and the STI-PA send
//! standard base64 with padding (interop.md, standards.md §2.1). stica reads both alphabets, padded
//! or not, and always writes base64url without padding. Callers compare the decoded DER, never
//! the text.

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::TnAuthError;

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes base64 or base64url, padded or not, refusing a mix of both alphabets.
pub(super) fn decode(value: &str) -> Result<Vec<u8>, TnAuthError> {
    let fail = |detail: String| Err(TnAuthError::Base64(detail));
    if value.is_empty() {
        return fail("the value is empty".into());
    }
    let (mut standard, mut url) = (false, false);
    for (i, c) in value.char_indices() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '=' => {}
            '+' | '/' => standard = true,
            '-' | '_' => url = true,
            _ => return fail(format!("invalid character {c:?} at position {i}")),
        }
    }
    if let Some(i) = value.trim_end_matches('=').find('=') {
        return fail(format!("padding '=' at position {i} is not at the end"));
    }
    if standard && url {
        return fail("it mixes the base64 ('+', '/') and base64url ('-', '_') alphabets".into());
    }
    let engine = if standard { &STANDARD } else { &URL_SAFE };
    engine.decode(value).or_else(|e| fail(e.to_string()))
}

/// base64url without padding (RFC 8555 §6.1).
pub(super) fn encode(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_alphabets_padded_or_not() {
        // standards.md §1.2: `one` 12155550123 has a '+' in base64 and a '-' in base64url.
        let der = hex::decode("300FA20D160B3132313535353530313233").unwrap();
        for text in [
            "MA+iDRYLMTIxNTU1NTAxMjM=",
            "MA+iDRYLMTIxNTU1NTAxMjM",
            "MA-iDRYLMTIxNTU1NTAxMjM",
            "MA-iDRYLMTIxNTU1NTAxMjM=",
        ] {
            assert_eq!(decode(text), Ok(der.clone()), "{text}");
        }
        assert_eq!(encode(&der), "MA-iDRYLMTIxNTU1NTAxMjM");
    }

    #[test]
    fn errors_say_what_was_wrong() {
        let msg = |v: &str| decode(v).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg("").contains("empty"));
        assert!(msg("MAig BhYE").contains("' ' at position 4"));
        assert!(msg("MA+i-A").contains("mixes"));
        assert!(msg("MAigB").contains("not base64"), "{}", msg("MAigB"));
        assert!(msg("MAig=BhY").contains("padding '=' at position 4"));
    }
}
