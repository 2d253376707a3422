//! `e_sti_subject_key_identifier_sha1`: subjectKeyIdentifier is present, non-critical, and is
//! the 160-bit SHA-1 hash of the subjectPublicKey BIT STRING value.
//!
//! ATIS-1000080 v005 §6.4.1: SKI "shall" be the 160-bit SHA-1 of the public key, RFC 5280
//! §4.2.1.2 method (1) (standards.md §3.2). rcgen's default (truncated SHA-256) fails this rule.

use der::Decode;
use der::asn1::OctetString;

use super::{Cert, Level, Rule, any_profile};
use crate::ca::{ext, oid};

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_subject_key_identifier_sha1",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5280 §4.2.1.2 method (1)",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let e = c.required(oid::SUBJECT_KEY_IDENTIFIER, "subjectKeyIdentifier")?;
    if e.critical {
        return Err("subjectKeyIdentifier is critical".into());
    }
    let ski = OctetString::from_der(e.extn_value.as_bytes())
        .map_err(|e| format!("subjectKeyIdentifier is not a DER OCTET STRING: {e}"))?;
    let key = c
        .public_key()
        .ok_or("public key BIT STRING has unused bits")?;
    let expected = ext::key_identifier(key);
    if ski.as_bytes() == expected.as_slice() {
        Ok(())
    } else {
        Err(format!(
            "subjectKeyIdentifier {} is not the SHA-1 of the key ({})",
            hex::encode(ski.as_bytes()),
            hex::encode(expected)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::{ext, oid};

    const RULE: &str = "e_sti_subject_key_identifier_sha1";

    #[test]
    fn sha1_passes() {
        assert!(finding(&build(|_| {}), RULE).is_none());
    }

    #[test]
    fn wrong_hash_and_missing_fail() {
        let b = build(|p| {
            set_ext(
                p,
                oid::SUBJECT_KEY_IDENTIFIER,
                false,
                ext::subject_key_identifier(&[7u8; 20]).unwrap(),
            )
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("not the SHA-1"));
        let b = build(|p| remove_ext(p, oid::SUBJECT_KEY_IDENTIFIER));
        assert!(finding(&b, RULE).unwrap().detail.contains("missing"));
    }
}
