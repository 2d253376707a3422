//! The finalize CSR (RFC 8555 §7.4, RFC 2986): a fresh P-256 key, an empty subject, and the
//! TNAuthList in the extensionRequest attribute (RFC 9448 §3: the CSR carries the identifier as a
//! TNAuthList extension, RFC 8226 §9).
//!
//! The subject is left empty on purpose: the CA builds the subject from its own records and
//! ignores the CSR's (interop.md: one production STI-CA refuses CSR subjects outright).

use rcgen::{CertificateParams, CustomExtension, DistinguishedName, KeyPair};

use crate::client::ClientError;
use crate::jose::EcSigner;

/// id-pe-TNAuthList, 1.3.6.1.5.5.7.1.26 (RFC 8226 §9).
pub const TNAUTHLIST_OID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 26];

/// A DER PKCS#10 CSR signed by `key` with the TNAuthList extension (non-critical, as in every
/// production certificate; a critical one breaks `openssl verify`) and an empty subject.
///
/// `key` must be a fresh certificate key, never the account key: the CA refuses a CSR whose key is
/// the account key (RFC 8555 §11.1).
pub fn generate_csr(key: &EcSigner, tnauthlist_der: &[u8]) -> Result<Vec<u8>, ClientError> {
    let key_pair = KeyPair::from_pem(&key.to_pkcs8_pem())
        .map_err(|e| ClientError::Csr(format!("cannot load the certificate key: {e}")))?;
    let mut params = CertificateParams::default();
    // rcgen's default subject is "CN=rcgen self signed cert"; the CA ignores the subject anyway.
    params.distinguished_name = DistinguishedName::new();
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        TNAUTHLIST_OID,
        tnauthlist_der.to_vec(),
    )];
    let csr = params
        .serialize_request(&key_pair)
        .map_err(|e| ClientError::Csr(e.to_string()))?;
    Ok(csr.der().to_vec())
}

#[cfg(test)]
mod tests {
    use der::{Decode, Encode};
    use x509_cert::ext::Extensions;
    use x509_cert::request::CertReq;

    use super::*;

    const EXTENSION_REQUEST: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");
    const TNAUTHLIST: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.26");

    fn csr_for(key: &EcSigner, der: &[u8]) -> CertReq {
        let bytes = generate_csr(key, der).unwrap_or_else(|e| panic!("{e}"));
        CertReq::from_der(&bytes).unwrap_or_else(|e| panic!("parse: {e}"))
    }

    #[test]
    fn csr_carries_the_tnauthlist_and_verifies() {
        let key = crate::client::new_signer().unwrap_or_else(|e| panic!("{e}"));
        let tnauthlist = hex::decode("3008a006160431323334").unwrap_or_default();
        let req = csr_for(&key, &tnauthlist);

        // Empty subject; the key is the one we passed.
        assert!(req.info.subject.is_empty());
        let spki = req
            .info
            .public_key
            .to_der()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spki, key.public_jwk().spki_der());

        // The self-signature verifies (ecdsa-with-SHA256 over the DER CertificationRequestInfo).
        assert_eq!(
            req.algorithm.oid,
            der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2")
        );
        let info = req.info.to_der().unwrap_or_else(|e| panic!("{e}"));
        let point = req.info.public_key.subject_public_key.raw_bytes();
        let verifier = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            point,
        );
        assert!(verifier.verify(&info, req.signature.raw_bytes()).is_ok());

        // Exactly one extensionRequest with exactly the TNAuthList, non-critical, DER-equal.
        let attrs: Vec<_> = req
            .info
            .attributes
            .iter()
            .filter(|a| a.oid == EXTENSION_REQUEST)
            .collect();
        assert_eq!(attrs.len(), 1);
        let values: Vec<_> = attrs[0].values.iter().collect();
        assert_eq!(values.len(), 1);
        let extensions: Extensions = values[0]
            .decode_as()
            .unwrap_or_else(|e| panic!("extensions: {e}"));
        assert_eq!(extensions.len(), 1);
        assert_eq!(extensions[0].extn_id, TNAUTHLIST);
        assert!(!extensions[0].critical);
        assert_eq!(extensions[0].extn_value.as_bytes(), tnauthlist.as_slice());
    }

    #[test]
    fn tampered_csr_does_not_verify() {
        let key = crate::client::new_signer().unwrap_or_else(|e| panic!("{e}"));
        let tnauthlist = hex::decode("3008a00616043730394a").unwrap_or_default();
        let mut bytes = generate_csr(&key, &tnauthlist).unwrap_or_else(|e| panic!("{e}"));
        // Flip the SPC's last character inside the extension ("709J" -> "709K").
        let pos = bytes
            .windows(4)
            .position(|w| w == b"709J")
            .unwrap_or_else(|| panic!("SPC not found"));
        bytes[pos + 3] = b'K';
        let req = CertReq::from_der(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let info = req.info.to_der().unwrap_or_else(|e| panic!("{e}"));
        let verifier = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            req.info.public_key.subject_public_key.raw_bytes(),
        );
        assert!(verifier.verify(&info, req.signature.raw_bytes()).is_err());
    }

    #[test]
    fn csr_carries_a_multi_entry_list_byte_for_byte() {
        let key = crate::client::new_signer().unwrap_or_else(|e| panic!("{e}"));
        let list: crate::tnauth::TnAuthList = "spc:709J,tn:12155550123,range:12155550100+100"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let der = list.to_der();
        let req = csr_for(&key, &der);
        let attr = req
            .info
            .attributes
            .iter()
            .find(|a| a.oid == EXTENSION_REQUEST)
            .unwrap_or_else(|| panic!("no extensionRequest"));
        let extensions: Extensions = attr
            .values
            .iter()
            .next()
            .unwrap_or_else(|| panic!("empty attribute"))
            .decode_as()
            .unwrap_or_else(|e| panic!("{e}"));
        let value = extensions[0].extn_value.as_bytes();
        assert_eq!(value, der.as_slice());
        let back = crate::tnauth::TnAuthList::from_der(value).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, list);
    }
}
