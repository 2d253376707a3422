//! `e_sti_sca_key_usage_key_cert_sign`: an `sca` certificate's keyUsage is present, critical, and
//! exactly keyCertSign (`03 02 02 04`), or keyCertSign + cRLSign (`03 02 01 06`) when policy
//! `sca_crl_sign` is on. Never digitalSignature: an SCA signs certificates, not PASSporTs.
//!
//! RFC 5280 §4.2.1.3 (keyCertSign for a key that verifies certificate signatures) and §4.2.1.9;
//! ATIS-1000080 v005 §6.4.1 (CA certificates: keyCertSign only, standards.md §3.2); profiles.md
//! `sca` and "CRL signer". X.690 §11.2.2: named bit lists drop trailing zero bits, so each set has
//! one DER form.

use super::{Cert, Level, Rule, sca_only};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_sca_key_usage_key_cert_sign",
    citation: "RFC 5280 §4.2.1.3; ATIS-1000080 v005 §6.4.1; profiles.md sca",
    level: Level::Error,
    applies: sca_only,
    check,
};

/// keyUsage { keyCertSign } in DER.
const KEY_CERT_SIGN: &[u8] = &[0x03, 0x02, 0x02, 0x04];
/// keyUsage { keyCertSign, cRLSign } in DER.
const KEY_CERT_SIGN_CRL_SIGN: &[u8] = &[0x03, 0x02, 0x01, 0x06];

fn check(c: &Cert<'_>) -> Result<(), String> {
    let ext = c.required(oid::KEY_USAGE, "keyUsage")?;
    if !ext.critical {
        return Err("keyUsage is not critical".into());
    }
    let (expected, what) = if c.ctx.sca_crl_sign {
        (KEY_CERT_SIGN_CRL_SIGN, "03020106 (keyCertSign, cRLSign)")
    } else {
        (KEY_CERT_SIGN, "03020204 (keyCertSign only)")
    };
    let value = ext.extn_value.as_bytes();
    if value == expected {
        Ok(())
    } else {
        Err(format!(
            "keyUsage is {}, expected {what}",
            hex::encode(value)
        ))
    }
}

#[cfg(test)]
mod tests {
    use rcgen::KeyUsagePurpose;

    use super::super::testutil::*;
    use crate::ca::{Profile, oid};

    const RULE: &str = "e_sti_sca_key_usage_key_cert_sign";

    #[test]
    fn key_cert_sign_and_with_crl_sign_when_policy_says_so_pass() {
        assert!(finding(&build_as(Profile::Sca, |_| {}), RULE).is_none());
        let b = build_as(Profile::Sca, |p| {
            p.key_usages.push(KeyUsagePurpose::CrlSign)
        });
        assert!(finding_with(&b, RULE, |c| c.sca_crl_sign = true).is_none());
    }

    #[test]
    fn digital_signature_crl_sign_unasked_non_critical_and_missing_fail() {
        let b = build_as(Profile::Sca, |p| {
            p.key_usages.push(KeyUsagePurpose::DigitalSignature)
        });
        assert!(finding(&b, RULE).is_some());
        let b = build_as(Profile::Sca, |p| {
            p.key_usages.push(KeyUsagePurpose::CrlSign)
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("03020106"));
        // policy wants cRLSign, the certificate lacks it
        let b = build_as(Profile::Sca, |_| {});
        assert!(finding_with(&b, RULE, |c| c.sca_crl_sign = true).is_some());
        let b = build_as(Profile::Sca, |p| {
            p.key_usages.clear();
            set_ext(p, oid::KEY_USAGE, false, vec![0x03, 0x02, 0x02, 0x04]);
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("not critical"));
        let b = build_as(Profile::Sca, |p| p.key_usages.clear());
        assert!(finding(&b, RULE).unwrap().detail.contains("missing"));
    }
}
