//! OCSP requests as a relying party sends them (RFC 6960 §4.1, RFC 5019 §2.1: one CertID, no
//! signature, optionally a nonce per RFC 8954), their GET form (RFC 6960 Appendix A.1), and the
//! check that an answer is a successful BasicOCSPResponse (RFC 6960 §4.2.1).

use base64::Engine;
use der::asn1::{AnyRef, IntRef, OctetString, OctetStringRef};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierRef;

use crate::status::ocsp::asn1::{CertId, Extension, OcspRequest, Request, TbsRequest};
use crate::status::ocsp::certid::IssuerHashes;
use crate::status::ocsp::oid::{OCSP_BASIC, OCSP_NONCE};
use crate::status::ocsp::{HashAlg, ResponseStatus};

/// Nonce length: RFC 8954 §2.1 asks for 1 to 32 octets and recommends 32.
pub const NONCE_LEN: usize = 32;

/// Why a request could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RequestBuildError {
    /// A certificate does not parse.
    #[error("not an X.509 certificate: {0}")]
    Certificate(der::Error),
    /// Encoding failed (a serial that is not a valid INTEGER, ...).
    #[error("cannot encode the OCSP request: {0}")]
    Encode(der::Error),
}

/// The DER `CertID` of `leaf_der` under `issuer_der` (RFC 6960 §4.1.1), hashed with `alg`.
/// The serial is copied from the leaf as encoded, so the INTEGER is byte-identical to it.
pub fn cert_id(
    issuer_der: &[u8],
    leaf_der: &[u8],
    alg: HashAlg,
) -> Result<Vec<u8>, RequestBuildError> {
    let hashes = IssuerHashes::from_cert(issuer_der).map_err(RequestBuildError::Certificate)?;
    let (name_hash, key_hash) = hashes.pair(alg);
    let leaf =
        x509_cert::Certificate::from_der(leaf_der).map_err(RequestBuildError::Certificate)?;
    let serial = leaf.tbs_certificate().serial_number().as_bytes();
    let oid = alg.oid();
    let id = CertId {
        // RFC 5754 §2 / openssl: the hash AlgorithmIdentifier carries NULL parameters.
        hash_algorithm: AlgorithmIdentifierRef {
            oid,
            parameters: Some(AnyRef::NULL),
        },
        issuer_name_hash: OctetStringRef::new(name_hash).map_err(RequestBuildError::Encode)?,
        issuer_key_hash: OctetStringRef::new(key_hash).map_err(RequestBuildError::Encode)?,
        serial_number: IntRef::new(serial).map_err(RequestBuildError::Encode)?,
    };
    id.to_der().map_err(RequestBuildError::Encode)
}

/// An unsigned `OCSPRequest` for one CertID (DER from [`cert_id`]), with the nonce extension
/// (RFC 8954 §2.1: `extnValue` holds an OCTET STRING of the nonce) when `nonce` is given.
pub fn request(cert_id_der: &[u8], nonce: Option<&[u8]>) -> Result<Vec<u8>, RequestBuildError> {
    let req_cert = AnyRef::from_der(cert_id_der).map_err(RequestBuildError::Encode)?;
    let nonce_value = match nonce {
        Some(n) => Some(
            OctetString::new(n)
                .and_then(|o| o.to_der())
                .map_err(RequestBuildError::Encode)?,
        ),
        None => None,
    };
    let request_extensions = match &nonce_value {
        Some(v) => Some(vec![Extension {
            extn_id: OCSP_NONCE,
            critical: None,
            extn_value: OctetStringRef::new(v).map_err(RequestBuildError::Encode)?,
        }]),
        None => None,
    };
    OcspRequest {
        tbs_request: TbsRequest {
            version: None,
            requestor_name: None,
            request_list: vec![Request {
                req_cert,
                single_request_extensions: None,
            }],
            request_extensions,
        },
        optional_signature: None,
    }
    .to_der()
    .map_err(RequestBuildError::Encode)
}

/// The GET URL for `request_der` under the responder URL `base` (RFC 6960 Appendix A.1: the
/// base64 of the DER, URL-encoded, appended after a `/`).
pub fn get_url(base: &str, request_der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(request_der);
    let mut url = String::with_capacity(base.len() + 1 + b64.len() * 3 / 2);
    url.push_str(base.trim_end_matches('/'));
    url.push('/');
    for c in b64.chars() {
        match c {
            '+' => url.push_str("%2B"),
            '/' => url.push_str("%2F"),
            '=' => url.push_str("%3D"),
            c => url.push(c),
        }
    }
    url
}

/// How an answer failed, for the error tally; `Ok` for a successful BasicOCSPResponse.
pub fn check_response(body: &[u8]) -> Result<(), &'static str> {
    let response =
        crate::status::ocsp::asn1::OcspResponse::from_der(body).map_err(|_| "unparsable")?;
    match response.response_status {
        ResponseStatus::Successful => {}
        ResponseStatus::MalformedRequest => return Err("malformedRequest"),
        ResponseStatus::InternalError => return Err("internalError"),
        ResponseStatus::TryLater => return Err("tryLater"),
        ResponseStatus::SigRequired => return Err("sigRequired"),
        ResponseStatus::Unauthorized => return Err("unauthorized"),
    }
    match response.response_bytes {
        Some(bytes) if bytes.response_type == OCSP_BASIC => Ok(()),
        Some(_) => Err("notBasic"),
        None => Err("noResponseBytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::ocsp::request::parse;

    /// A throwaway CA and a leaf whose serial has the high bit set (an INTEGER with a `00`).
    fn pki() -> (Vec<u8>, Vec<u8>) {
        use rcgen::{CertificateParams, IsCa, KeyPair, SerialNumber};
        let ca_key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
        ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap_or_else(|e| panic!("{e}"));
        let issuer = rcgen::Issuer::new(ca, &ca_key);
        let leaf_key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let mut leaf =
            CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
        leaf.serial_number = Some(SerialNumber::from_slice(&[0x80, 1, 2, 3]));
        let leaf_cert = leaf
            .signed_by(&leaf_key, &issuer)
            .unwrap_or_else(|e| panic!("{e}"));
        (ca_cert.der().to_vec(), leaf_cert.der().to_vec())
    }

    #[test]
    fn requests_parse_as_the_responder_reads_them() {
        let (issuer, leaf) = pki();
        let id = cert_id(&issuer, &leaf, HashAlg::Sha1).unwrap_or_else(|e| panic!("{e}"));
        let der = request(&id, None).unwrap_or_else(|e| panic!("{e}"));
        let parsed = parse(&der).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(parsed.cert_ids.len(), 1);
        assert!(parsed.nonce.is_none());
        let hashes = IssuerHashes::from_cert(&issuer).unwrap_or_else(|e| panic!("{e}"));
        let cert = parsed.cert_ids.first().unwrap_or_else(|| panic!());
        assert_eq!(cert.hash_alg, Some(HashAlg::Sha1));
        assert!(hashes.matches(HashAlg::Sha1, cert.issuer_name_hash, cert.issuer_key_hash));
        assert_eq!(cert.serial, Some(&[0x80, 1, 2, 3][..]));

        let with_nonce = request(&id, Some(&[7u8; NONCE_LEN])).unwrap_or_else(|e| panic!("{e}"));
        let parsed = parse(&with_nonce).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(parsed.nonce.map(|n| n.value), Some(&[7u8; NONCE_LEN][..]));

        let sha256 = cert_id(&issuer, &leaf, HashAlg::Sha256).unwrap_or_else(|e| panic!("{e}"));
        let parsed_der = request(&sha256, None).unwrap_or_else(|e| panic!("{e}"));
        let parsed = parse(&parsed_der).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            parsed.cert_ids.first().and_then(|c| c.hash_alg),
            Some(HashAlg::Sha256)
        );
    }

    #[test]
    fn garbage_certificates_are_refused() {
        let (issuer, _) = pki();
        assert!(matches!(
            cert_id(&issuer, b"not a cert", HashAlg::Sha1),
            Err(RequestBuildError::Certificate(_))
        ));
        assert!(cert_id(b"junk", &issuer, HashAlg::Sha1).is_err());
    }

    #[test]
    fn get_urls_percent_encode_base64() {
        // 0xfb 0xff 0xfe encodes as "+//+": every special character appears.
        let url = get_url("http://h/ocsp/", &[0xfb, 0xff, 0xfe, 0x01]);
        assert_eq!(url, "http://h/ocsp/%2B%2F%2F%2BAQ%3D%3D");
        let mut text = [0u8; 64];
        let mut out = [0u8; 64];
        let encoded = url.trim_start_matches("http://h/ocsp/");
        let n = crate::status::ocsp::request::decode_get(encoded, &mut text, &mut out)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(out.get(..n), Some(&[0xfb, 0xff, 0xfe, 0x01][..]));
    }

    #[test]
    fn responses_are_checked() {
        use crate::status::ocsp::response::error_response;
        assert_eq!(
            check_response(error_response(ResponseStatus::Unauthorized)),
            Err("unauthorized")
        );
        assert_eq!(
            check_response(error_response(ResponseStatus::MalformedRequest)),
            Err("malformedRequest")
        );
        assert_eq!(check_response(b"\x30\x00"), Err("unparsable"));
        assert_eq!(check_response(b""), Err("unparsable"));
    }
}
