//! PKCS#10 CSRs (RFC 2986) as SHAKEN clients send them at finalize (RFC 8555 §7.4).
//!
//! rcgen's CSR parser refuses unknown extensions, so stica parses with x509-cert's `CertReq`,
//! verifies the self-signature itself (aws-lc-rs, over the exact CertificationRequestInfo bytes),
//! accepts only P-256 keys (ATIS-1000080 §6.4.1) and picks the TNAuthList (1.3.6.1.5.5.7.1.26)
//! out of the PKCS#9 extensionRequest attribute (1.2.840.113549.1.9.14), as standards.md §3.1
//! says the identifier travels. A requested basicConstraints with cA TRUE is noted
//! ([`ParsedCsr::requests_ca`]): the RA refuses it unless the token grants a CA certificate. The
//! subject and any other requested extension are ignored: the certificate is built from the
//! profile, never from the CSR.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use const_oid::ObjectIdentifier;
use der::asn1::ObjectIdentifier as Oid;
use der::{Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::request::CertReq;

use super::oid;
use crate::error::{Error, ErrorKind};

/// Why a CSR was refused. Every variant becomes `badCSR` (RFC 8555 §7.4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    /// The bytes are not a DER PKCS#10 CertificationRequest.
    #[error("CSR is not a DER PKCS#10 request: {0}")]
    Malformed(String),
    /// The public key is not an uncompressed P-256 EC key.
    #[error("CSR key not accepted: {0}; SHAKEN certificates need a P-256 (prime256v1) EC key")]
    UnsupportedKey(String),
    /// The CSR is signed with something other than ecdsa-with-SHA256.
    #[error("CSR signature algorithm {0} not accepted; use ecdsa-with-SHA256")]
    UnsupportedSignatureAlgorithm(String),
    /// The self-signature does not verify with the CSR's key.
    #[error("CSR signature does not verify with the CSR's public key")]
    BadSignature,
    /// The extensionRequest attribute is not a single well-formed Extensions value, or it
    /// repeats an extension.
    #[error("CSR extensionRequest attribute is malformed: {0}")]
    BadExtensionRequest(String),
    /// The CSR requests no TNAuthList extension.
    #[error("CSR has no TNAuthList (1.3.6.1.5.5.7.1.26) in its extensionRequest")]
    MissingTnAuthList,
}

impl From<CsrError> for Error {
    fn from(e: CsrError) -> Self {
        Error::new(ErrorKind::BadCsr, e.to_string())
    }
}

/// What stica takes from a CSR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCsr {
    /// The DER SubjectPublicKeyInfo (a P-256 key).
    pub spki_der: Vec<u8>,
    /// The uncompressed P-256 point.
    pub public_key: Vec<u8>,
    /// The requested TNAuthList extension value (DER TNAuthorizationList), if any.
    pub tnauthlist_der: Option<Vec<u8>>,
    /// The CSR asks for a CA certificate: its extensionRequest holds basicConstraints with cA
    /// TRUE (RFC 5280 §4.2.1.9). cA FALSE (which `openssl req` adds by default) asks for nothing.
    pub requests_ca: bool,
}

impl ParsedCsr {
    /// The TNAuthList, or [`CsrError::MissingTnAuthList`].
    pub fn require_tnauthlist(&self) -> Result<&[u8], CsrError> {
        self.tnauthlist_der
            .as_deref()
            .ok_or(CsrError::MissingTnAuthList)
    }
}

/// Parses and verifies a DER CSR.
pub fn parse_csr(der_bytes: &[u8]) -> Result<ParsedCsr, CsrError> {
    let req = CertReq::from_der(der_bytes).map_err(|e| CsrError::Malformed(e.to_string()))?;
    let spki_der = req
        .info
        .public_key
        .to_der()
        .map_err(|e| CsrError::Malformed(e.to_string()))?;
    let public_key = p256_public_key(&spki_der).map_err(CsrError::UnsupportedKey)?;

    if req.algorithm.oid != oid::ECDSA_WITH_SHA256 || req.algorithm.parameters.is_some() {
        return Err(CsrError::UnsupportedSignatureAlgorithm(
            req.algorithm.oid.to_string(),
        ));
    }
    // The signed bytes exactly as received (RFC 2986 §4.2), not a re-encoding.
    let info_bytes = super::tbs_bytes(der_bytes)
        .ok_or_else(|| CsrError::Malformed("no CertificationRequestInfo".into()))?;
    let sig = req
        .signature
        .as_bytes()
        .ok_or_else(|| CsrError::Malformed("signature BIT STRING has unused bits".into()))?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &public_key)
        .verify(info_bytes, sig)
        .map_err(|_| CsrError::BadSignature)?;

    let mut tnauthlist_der = None;
    let mut requests_ca = false;
    let mut seen_request = false;
    for attr in req.info.attributes.iter() {
        if attr.oid != oid::EXTENSION_REQUEST {
            continue;
        }
        if seen_request {
            return Err(CsrError::BadExtensionRequest(
                "more than one extensionRequest attribute".into(),
            ));
        }
        seen_request = true;
        let mut values = attr.values.iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(CsrError::BadExtensionRequest(
                "extensionRequest must hold exactly one value".into(),
            ));
        };
        let exts: Vec<Extension> = value
            .decode_as()
            .map_err(|e: der::Error| CsrError::BadExtensionRequest(e.to_string()))?;
        let mut seen: Vec<ObjectIdentifier> = Vec::new();
        for ext in exts {
            if seen.contains(&ext.extn_id) {
                return Err(CsrError::BadExtensionRequest(format!(
                    "extension {} requested twice",
                    ext.extn_id
                )));
            }
            seen.push(ext.extn_id);
            if ext.extn_id == oid::TN_AUTH_LIST {
                tnauthlist_der = Some(ext.extn_value.as_bytes().to_vec());
            }
            if ext.extn_id == oid::BASIC_CONSTRAINTS {
                let bc =
                    x509_cert::ext::pkix::BasicConstraints::from_der(ext.extn_value.as_bytes())
                        .map_err(|e| {
                            CsrError::BadExtensionRequest(format!(
                                "basicConstraints is not DER: {e}"
                            ))
                        })?;
                requests_ca = bc.ca;
            }
        }
    }
    Ok(ParsedCsr {
        spki_der,
        public_key,
        tnauthlist_der,
        requests_ca,
    })
}

/// The uncompressed point of a DER SubjectPublicKeyInfo that must be id-ecPublicKey on
/// prime256v1 (RFC 5480 §2.1.1) with a valid curve point. Uncompressed only: RFC 5480 §2.2 makes
/// it the one form every implementation supports (Go's verifiers parse nothing else).
pub fn p256_public_key(spki_der: &[u8]) -> Result<Vec<u8>, String> {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| format!("not a SubjectPublicKeyInfo: {e}"))?;
    if spki.algorithm.oid != oid::EC_PUBLIC_KEY {
        return Err(format!(
            "key algorithm {} is not id-ecPublicKey",
            spki.algorithm.oid
        ));
    }
    let curve: Oid = spki
        .algorithm
        .parameters
        .ok_or("EC key without a named curve")?
        .decode_as()
        .map_err(|e: der::Error| format!("EC parameters are not a named curve: {e}"))?;
    if curve != oid::SECP256R1 {
        return Err(format!("curve {curve} is not P-256"));
    }
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or("public key BIT STRING has unused bits")?;
    if point.len() != 65 || point.first() != Some(&0x04) {
        return Err("P-256 point is not in uncompressed form".into());
    }
    p256::PublicKey::from_sec1_bytes(point).map_err(|_| "P-256 point is not on the curve")?;
    Ok(point.to_vec())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use base64::Engine;

    use super::*;

    /// Martini Security's expected CSR form: empty subject, TNAuthList SPC 709J only
    /// (fixtures/README.md).
    const MARTINI_CSR: &str = "MIHkMIGLAgEAMAAwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASYC4z23gzhlt9SHiiAimnkFUQeU0JJyBo7a8s+s1xEwNXjTaFbDzKYaBrvW24IEaheFThkTNhP1qLD/anUCSvIoCkwJwYJKoZIhvcNAQkOMRowGDAWBggrBgEFBQcBGgQKMAigBhYENzA5SjAKBggqhkjOPQQDAgNIADBFAiBvFYdsjcu3TFwufUIoTyt9zVXpG3AX7h9FkKFrYhksHgIhAKxGcynSlwcr4YT1FroBznU3No4/D0BScAppZmvP0euK";

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    fn rcgen_csr(key: &rcgen::KeyPair, tnauth: Option<&[u8]>) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::default();
        if let Some(t) = tnauth {
            params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 5, 5, 7, 1, 26],
                t.to_vec(),
            )];
        }
        params.serialize_request(key).unwrap().der().to_vec()
    }

    fn openssl_csr(dir: &std::path::Path, keyopts: &[&str]) -> Vec<u8> {
        let key = dir.join("k.pem");
        let cnf = dir.join("req.cnf");
        let out = dir.join("req.der");
        std::fs::write(
            &cnf,
            "[req]\ndistinguished_name=dn\nreq_extensions=ext\nprompt=no\n[dn]\nCN=ignored\n[ext]\n1.3.6.1.5.5.7.1.26=DER:3008a006160431323334\n",
        )
        .unwrap();
        let st = Command::new("openssl")
            .arg("genpkey")
            .args(keyopts)
            .arg("-out")
            .arg(&key)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        let st = Command::new("openssl")
            .args(["req", "-new", "-sha256", "-outform", "DER", "-key"])
            .arg(&key)
            .arg("-config")
            .arg(&cnf)
            .arg("-out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        std::fs::read(out).unwrap()
    }

    #[test]
    fn martini_csr_with_empty_subject() {
        let csr = parse_csr(&b64(MARTINI_CSR)).unwrap();
        assert_eq!(
            hex::encode(csr.require_tnauthlist().unwrap()),
            "3008a00616043730394a"
        );
        assert_eq!(csr.public_key.len(), 65);
        assert_eq!(p256_public_key(&csr.spki_der).unwrap(), csr.public_key);
    }

    #[test]
    fn rcgen_csr_round_trip() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let der = rcgen_csr(&key, Some(&hex::decode("3008a006160431323334").unwrap()));
        let csr = parse_csr(&der).unwrap();
        assert_eq!(csr.public_key, key.public_key_raw());
        assert_eq!(
            csr.tnauthlist_der.unwrap(),
            hex::decode("3008a006160431323334").unwrap()
        );
    }

    #[test]
    fn openssl_csr_p256() {
        let dir = tempfile::tempdir().unwrap();
        let der = openssl_csr(
            dir.path(),
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        );
        let csr = parse_csr(&der).unwrap();
        assert_eq!(
            csr.tnauthlist_der.unwrap(),
            hex::decode("3008a006160431323334").unwrap()
        );
    }

    #[test]
    fn openssl_csr_p384_and_rsa_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p384 = openssl_csr(
            dir.path(),
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        );
        assert!(
            matches!(parse_csr(&p384), Err(CsrError::UnsupportedKey(m)) if m.contains("not P-256"))
        );
        let dir = tempfile::tempdir().unwrap();
        let rsa = openssl_csr(
            dir.path(),
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        );
        assert!(
            matches!(parse_csr(&rsa), Err(CsrError::UnsupportedKey(m)) if m.contains("id-ecPublicKey"))
        );
    }

    #[test]
    fn rcgen_p384_is_refused() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let der = rcgen_csr(&key, Some(&hex::decode("3008a006160431323334").unwrap()));
        assert!(matches!(parse_csr(&der), Err(CsrError::UnsupportedKey(_))));
    }

    #[test]
    fn bad_signature_is_refused() {
        let mut der = b64(MARTINI_CSR);
        // flip a bit inside the signed CertificationRequestInfo (in the TNAuthList SPC)
        let pos = der.windows(4).position(|w| w == b"709J").unwrap();
        der[pos] = b'8';
        assert_eq!(parse_csr(&der), Err(CsrError::BadSignature));
        // and a bit of the signature's r
        let mut der = b64(MARTINI_CSR);
        let n = der.len();
        der[n - 40] ^= 0x01;
        assert_eq!(parse_csr(&der), Err(CsrError::BadSignature));
    }

    #[test]
    fn no_extension_request_gives_no_tnauthlist() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let csr = parse_csr(&rcgen_csr(&key, None)).unwrap();
        assert_eq!(csr.tnauthlist_der, None);
        assert_eq!(csr.require_tnauthlist(), Err(CsrError::MissingTnAuthList));
        let e: Error = CsrError::MissingTnAuthList.into();
        assert_eq!(e.kind, ErrorKind::BadCsr);
    }

    #[test]
    fn a_requested_ca_is_noted_and_ca_false_is_not() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let t = hex::decode("3008a006160431323334").unwrap();
        let with_bc = |bc: &[u8]| {
            let mut params = rcgen::CertificateParams::default();
            params.custom_extensions = vec![
                rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 26], t.clone()),
                rcgen::CustomExtension::from_oid_content(&[2, 5, 29, 19], bc.to_vec()),
            ];
            parse_csr(params.serialize_request(&key).unwrap().der())
        };
        assert!(
            with_bc(&[0x30, 0x03, 0x01, 0x01, 0xff])
                .unwrap()
                .requests_ca
        );
        assert!(
            with_bc(&hex::decode("30060101ff020100").unwrap())
                .unwrap()
                .requests_ca
        );
        assert!(!with_bc(&[0x30, 0x00]).unwrap().requests_ca);
        assert!(!parse_csr(&b64(MARTINI_CSR)).unwrap().requests_ca);
        assert!(matches!(
            with_bc(&[0x04, 0x00]),
            Err(CsrError::BadExtensionRequest(_))
        ));
    }

    #[test]
    fn duplicate_tnauthlist_is_refused() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let t = hex::decode("3008a006160431323334").unwrap();
        let mut params = rcgen::CertificateParams::default();
        let ext = rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 26], t);
        params.custom_extensions = vec![ext.clone(), ext];
        let der = params.serialize_request(&key).unwrap().der().to_vec();
        assert!(matches!(
            parse_csr(&der),
            Err(CsrError::BadExtensionRequest(_))
        ));
    }

    #[test]
    fn garbage_and_trailing_bytes_are_malformed() {
        assert!(matches!(parse_csr(b""), Err(CsrError::Malformed(_))));
        assert!(matches!(
            parse_csr(b"not a csr at all"),
            Err(CsrError::Malformed(_))
        ));
        let mut der = b64(MARTINI_CSR);
        der.push(0);
        assert!(matches!(parse_csr(&der), Err(CsrError::Malformed(_))));
        assert!(matches!(
            parse_csr(&der[..der.len() - 10]),
            Err(CsrError::Malformed(_))
        ));
    }

    #[test]
    fn spki_checks() {
        assert!(p256_public_key(b"\x30\x00").is_err());
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut spki = rcgen::PublicKeyData::subject_public_key_info(&key);
        assert!(p256_public_key(&spki).is_ok());
        // compressed point (02 || X)
        let alg = &spki[2..23]; // 30 13 <id-ecPublicKey> <prime256v1>
        let x = &spki[spki.len() - 64..spki.len() - 32];
        let mut compressed = vec![0x30, 0x39];
        compressed.extend_from_slice(alg);
        compressed.extend_from_slice(&[0x03, 0x22, 0x00, 0x02]);
        compressed.extend_from_slice(x);
        let e = p256_public_key(&compressed).unwrap_err();
        assert!(e.contains("uncompressed"), "{e}");
        // point not on the curve
        let n = spki.len();
        spki[n - 1] ^= 0x01;
        assert!(p256_public_key(&spki).is_err());
    }
}
