//! `e_sti_signature_algorithm_ecdsa_sha256`: the certificate is signed with ecdsa-with-SHA256
//! (parameters absent), in both the TBSCertificate and the outer signatureAlgorithm.
//!
//! ATIS-1000080 v005 §6.4.1: "ecdsa-with-SHA256" (standards.md §3.2); RFC 5758 §3.2 (parameters
//! MUST be absent); RFC 5280 §4.1.1.2 (the two fields MUST match).

use super::{Cert, Level, Rule, any_profile};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_signature_algorithm_ecdsa_sha256",
    citation: "ATIS-1000080 v005 §6.4.1; RFC 5758 §3.2; RFC 5280 §4.1.1.2",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    for (which, alg) in [
        (
            "tbsCertificate.signature",
            c.cert.tbs_certificate().signature(),
        ),
        ("signatureAlgorithm", c.cert.signature_algorithm()),
    ] {
        if alg.oid != oid::ECDSA_WITH_SHA256 {
            return Err(format!("{which} is {}, not ecdsa-with-SHA256", alg.oid));
        }
        if alg.parameters.is_some() {
            return Err(format!("{which} has parameters; they must be absent"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    const RULE: &str = "e_sti_signature_algorithm_ecdsa_sha256";

    #[test]
    fn p256_issuer_passes_p384_issuer_fails() {
        assert!(finding(&build(|_| {}), RULE).is_none());
        let subject = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let issuer = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let b = build_for(&subject, issuer, |_| {});
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("1.2.840.10045.4.3.3")
        );
    }
}
