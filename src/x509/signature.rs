//! Signature checks on X.509 structures (certificates, CRLs) with aws-lc-rs.
//!
//! Only the algorithms SHAKEN PKIs use are accepted (ATIS-1000080 §6.4.1, US SHAKEN CP v1.4 §6.1.5:
//! ECDSA P-256/SHA-256 and P-384/SHA-384), plus RSA PKCS#1 v1.5 with SHA-256 so that a token
//! authority with an RSA hierarchy can still be configured. Everything else is refused: an
//! algorithm we do not know is never "probably fine".

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use der::{Reader, SliceReader, Tagged};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// id-ecPublicKey (RFC 5480 §2.1.1).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1 (RFC 5480 §2.1.1.1).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1 (RFC 5480 §2.1.1.1).
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// ecdsa-with-SHA256 (RFC 5758 §3.2).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384 (RFC 5758 §3.2).
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// rsaEncryption (RFC 3279 §2.3.1).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// sha256WithRSAEncryption (RFC 4055 §5).
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// Why a signature on a certificate or CRL was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature algorithm, the key type or the curve is not one stica accepts (or the
    /// algorithm does not fit the key).
    #[error("unsupported signature algorithm or key: {0}")]
    Unsupported(String),
    /// The signature does not verify with the issuer's key.
    #[error("signature does not verify")]
    Invalid,
}

/// The curve named in an `id-ecPublicKey` SPKI, if it is one we accept.
fn ec_curve(spki: &SubjectPublicKeyInfoOwned) -> Result<ObjectIdentifier, SignatureError> {
    let params = spki
        .algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| SignatureError::Unsupported("EC key without a named curve".into()))?;
    let curve: ObjectIdentifier = params.decode_as().map_err(|_| {
        SignatureError::Unsupported("EC key parameters are not a named curve".into())
    })?;
    if curve == SECP256R1 || curve == SECP384R1 {
        Ok(curve)
    } else {
        Err(SignatureError::Unsupported(format!("EC curve {curve}")))
    }
}

/// Verifies `signature` (the BIT STRING contents of a certificate or CRL) over `message` (the DER
/// of the to-be-signed part) with the key in `spki`, using `algorithm` (the outer
/// signatureAlgorithm).
///
/// ECDSA signatures are DER `Ecdsa-Sig-Value` (RFC 5758 §3.2); the algorithm identifier must have
/// absent parameters there. RSA (RFC 4055 §5) accepts NULL or absent parameters.
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let key_bytes = spki.subject_public_key.as_bytes().ok_or_else(|| {
        SignatureError::Unsupported("public key BIT STRING has unused bits".into())
    })?;
    let verifier: &'static dyn VerificationAlgorithm =
        if algorithm.oid == ECDSA_WITH_SHA256 || algorithm.oid == ECDSA_WITH_SHA384 {
            if algorithm.parameters.is_some() {
                return Err(SignatureError::Unsupported(
                    "ECDSA algorithm identifier with parameters".into(),
                ));
            }
            if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
                return Err(SignatureError::Unsupported(format!(
                    "ECDSA signature with a {} key",
                    spki.algorithm.oid
                )));
            }
            let curve = ec_curve(spki)?;
            match (curve == SECP256R1, algorithm.oid == ECDSA_WITH_SHA256) {
                (true, true) => &signature::ECDSA_P256_SHA256_ASN1,
                (true, false) => &signature::ECDSA_P256_SHA384_ASN1,
                (false, true) => &signature::ECDSA_P384_SHA256_ASN1,
                (false, false) => &signature::ECDSA_P384_SHA384_ASN1,
            }
        } else if algorithm.oid == SHA256_WITH_RSA {
            let null_or_absent = algorithm
                .parameters
                .as_ref()
                .is_none_or(|p| p.tag() == der::Tag::Null && p.value().is_empty());
            if !null_or_absent {
                return Err(SignatureError::Unsupported(
                    "sha256WithRSAEncryption with parameters other than NULL".into(),
                ));
            }
            if spki.algorithm.oid != RSA_ENCRYPTION {
                return Err(SignatureError::Unsupported(format!(
                    "RSA signature with a {} key",
                    spki.algorithm.oid
                )));
            }
            &signature::RSA_PKCS1_2048_8192_SHA256
        } else {
            return Err(SignatureError::Unsupported(format!(
                "signature algorithm {}",
                algorithm.oid
            )));
        };
    UnparsedPublicKey::new(verifier, key_bytes)
        .verify(message, signature)
        .map_err(|_| SignatureError::Invalid)
}

/// The exact DER bytes of the first element (the to-be-signed part) of a signed SEQUENCE
/// (`Certificate`, `CertificateList`).
///
/// Taken from the input rather than re-encoded from the parsed value, because a signature covers
/// the bytes as sent and a re-encoding may differ (time adjustments, SET OF order).
pub fn signed_part(der: &[u8]) -> Result<&[u8], der::Error> {
    let mut reader = SliceReader::new(der)?;
    let tbs = reader.sequence(|r| {
        let tbs = r.tlv_bytes()?;
        r.tlv_bytes()?;
        r.tlv_bytes()?;
        Ok::<_, der::Error>(tbs)
    })?;
    reader.finish()?;
    Ok(tbs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_part_rejects_trailing_bytes_and_non_sequences() {
        assert!(signed_part(&[0x30, 0x00]).is_err());
        assert!(signed_part(&[0x02, 0x01, 0x00]).is_err());
        let ok = [
            0x30, 0x09, 0x30, 0x01, 0x00, 0x30, 0x00, 0x03, 0x02, 0x00, 0x00,
        ];
        assert_eq!(signed_part(&ok).unwrap(), &[0x30, 0x01, 0x00]);
        let mut trailing = ok.to_vec();
        trailing.push(0);
        assert!(signed_part(&trailing).is_err());
    }
}
