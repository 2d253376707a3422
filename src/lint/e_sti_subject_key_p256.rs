//! `e_sti_subject_key_p256`: the subject key is id-ecPublicKey on prime256v1, an uncompressed
//! point on the curve.
//!
//! ATIS-1000080 v005 §6.4.1: SubjectPublicKeyInfo id-ecPublicKey with namedCurve P-256
//! (standards.md §3.2); RFC 5480 §2.1.1, §2.2.

use der::Encode;

use super::{Cert, Level, Rule, any_profile};

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_subject_key_p256",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5480 §2.1.1, §2.2",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let spki = c
        .cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| e.to_string())?;
    crate::ca::csr::p256_public_key(&spki).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    const RULE: &str = "e_sti_subject_key_p256";

    #[test]
    fn p256_passes_p384_fails() {
        assert!(finding(&build(|_| {}), RULE).is_none());
        let subject = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let issuer = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let b = build_for(&subject, issuer, |_| {});
        assert!(finding(&b, RULE).unwrap().detail.contains("not P-256"));
    }
}
