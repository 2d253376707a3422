//! `e_sti_authority_key_identifier_matches_issuer`: authorityKeyIdentifier is present,
//! non-critical, and its keyIdentifier equals the issuer certificate's subjectKeyIdentifier.
//!
//! ATIS-1000080 v005 §6.4.1: AKI with keyIdentifier = the issuer's SKI (standards.md §3.2);
//! RFC 5280 §4.2.1.1 (keyIdentifier MUST be present; it is how verifiers build paths).

use der::Decode;
use der::asn1::OctetString;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;

use super::{Cert, Level, Rule, any_profile};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_authority_key_identifier_matches_issuer",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5280 §4.2.1.1",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let e = c.required(oid::AUTHORITY_KEY_IDENTIFIER, "authorityKeyIdentifier")?;
    if e.critical {
        return Err("authorityKeyIdentifier is critical".into());
    }
    let aki = AuthorityKeyIdentifier::from_der(e.extn_value.as_bytes())
        .map_err(|e| format!("authorityKeyIdentifier is not DER: {e}"))?;
    let key_id = aki
        .key_identifier
        .ok_or("authorityKeyIdentifier has no keyIdentifier")?;
    let issuer = c
        .issuer
        .map_err(|e| format!("issuer certificate unavailable: {e}"))?;
    let issuer_ski = issuer
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|x| x.extn_id == oid::SUBJECT_KEY_IDENTIFIER)
        .ok_or("issuer certificate has no subjectKeyIdentifier")?;
    let issuer_ski = OctetString::from_der(issuer_ski.extn_value.as_bytes())
        .map_err(|e| format!("issuer subjectKeyIdentifier is not DER: {e}"))?;
    if key_id.as_bytes() == issuer_ski.as_bytes() {
        Ok(())
    } else {
        Err(format!(
            "keyIdentifier {} differs from the issuer's SKI {}",
            hex::encode(key_id.as_bytes()),
            hex::encode(issuer_ski.as_bytes())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    const RULE: &str = "e_sti_authority_key_identifier_matches_issuer";

    #[test]
    fn issuer_ski_passes() {
        assert!(finding(&build(|_| {}), RULE).is_none());
    }

    #[test]
    fn other_issuer_missing_aki_and_no_issuer_fail() {
        let mut b = build(|_| {});
        b.issuer = build(|_| {}).issuer;
        assert!(finding(&b, RULE).unwrap().detail.contains("differs"));
        let b = build(|p| p.use_authority_key_identifier_extension = false);
        assert!(finding(&b, RULE).unwrap().detail.contains("missing"));
        let mut b = build(|_| {});
        b.issuer = vec![];
        assert!(finding(&b, RULE).unwrap().detail.contains("unavailable"));
    }
}
