//! X.509 helpers shared by token validation, CSR checks, lint and chain verification.

use base64::Engine;

pub mod chain;
pub mod delegation;
pub mod signature;
#[cfg(test)]
pub(crate) mod testpki;

/// Extracts every `CERTIFICATE` block from PEM text, or returns the input itself when it is one DER
/// certificate (starts with a SEQUENCE tag). Tolerant reading: CRLF, blank lines, text around blocks.
pub fn pem_certificates(input: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    pem_blocks(input, "CERTIFICATE")
}

/// Extracts every PEM block labelled `label`; DER input (first byte 0x30) is returned as one block.
pub fn pem_blocks(input: &[u8], label: &str) -> Result<Vec<Vec<u8>>, String> {
    if input.first() == Some(&0x30) {
        return Ok(vec![input.to_vec()]);
    }
    let text = std::str::from_utf8(input).map_err(|_| "neither PEM text nor DER".to_string())?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let stop = after
            .find(&end)
            .ok_or_else(|| format!("unterminated {label} block"))?;
        let b64: String = after[..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| format!("bad base64 in {label} block: {e}"))?;
        out.push(der);
        rest = &after[stop + end.len()..];
    }
    Ok(out)
}

/// Encodes DER as one PEM block with 64-column lines.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_and_der_passthrough() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        let pem = to_pem("CERTIFICATE", &der);
        let two = format!("junk\r\n{pem}\n{pem}");
        assert_eq!(
            pem_certificates(two.as_bytes()).unwrap(),
            vec![der.clone(), der.clone()]
        );
        assert_eq!(pem_certificates(&der).unwrap(), vec![der]);
        assert!(pem_certificates(b"-----BEGIN CERTIFICATE-----\nAAAA").is_err());
    }
}
