//! Reading an OCSPRequest (RFC 6960 §4.1) and the GET form of RFC 5019 §5 / RFC 6960
//! Appendix A.1.
//!
//! Tolerant where clients differ and harmless: the optional signature, `requestorName` and
//! per-request extensions are ignored, an explicit `version v1` and an explicit `critical FALSE`
//! are accepted, unknown request extensions (critical or not) are ignored, the GET path may be
//! percent-encoded or not and may use the base64url alphabet, with or without padding. Strict
//! where it matters: the request must be DER, must name at least one certificate, and a nonce
//! must be 1 to 32 octets (RFC 8954 §2.1: anything else is `malformedRequest`).

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use der::Decode;
use der::asn1::{AnyRef, OctetStringRef};

use super::asn1;
use super::certid::HashAlg;
use super::oid;

/// The longest nonce accepted (RFC 8954 §2.1: `Nonce ::= OCTET STRING(SIZE(1..32))`).
pub const MAX_NONCE_LEN: usize = 32;

/// The most CertIDs answered in one request. RFC 5019 §2.1.1 clients send one; a cap keeps a
/// single request from costing many storage lookups.
pub const MAX_CERT_IDS: usize = 16;

/// Why a request is refused with `malformedRequest`.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The bytes are not a DER OCSPRequest.
    #[error("not a DER OCSPRequest: {0}")]
    Der(#[from] der::Error),
    /// `requestList` is empty: there is nothing to answer.
    #[error("the request names no certificate")]
    Empty,
    /// More CertIDs than [`MAX_CERT_IDS`].
    #[error("{0} CertIDs in one request; at most {MAX_CERT_IDS} are answered")]
    TooMany(usize),
    /// A `version` other than v1 (RFC 6960 §4.1.1 defines only v1).
    #[error("unsupported OCSP request version {0}")]
    Version(u8),
    /// A nonce shorter than 1 or longer than [`MAX_NONCE_LEN`] octets (RFC 8954 §2.1).
    #[error("nonce of {0} octets; 1 to {MAX_NONCE_LEN} are allowed")]
    NonceLength(usize),
    /// Two nonce extensions (RFC 5280 §4.2: an extension appears at most once).
    #[error("more than one nonce extension")]
    DuplicateNonce,
    /// The GET path is not (percent-encoded) base64.
    #[error("GET request is not URL-encoded base64: {0}")]
    Encoding(&'static str),
    /// The request is larger than the configured limit.
    #[error("request larger than {0} octets")]
    TooLarge(usize),
}

/// A parsed request, borrowing from the request bytes.
#[derive(Clone, Debug)]
pub struct ParsedRequest<'a> {
    /// The certificates asked about, in request order (at least one).
    pub cert_ids: Vec<CertRequest<'a>>,
    /// The nonce, if the client sent one.
    pub nonce: Option<Nonce<'a>>,
}

/// One `Request` of the `requestList`.
#[derive(Clone, Debug)]
pub struct CertRequest<'a> {
    /// The CertID TLV as received; the SingleResponse echoes it (clients compare CertIDs
    /// field by field, hash algorithm parameters included).
    pub(crate) cert_id: AnyRef<'a>,
    /// The CertID hash algorithm, `None` when stica does not support it.
    pub hash_alg: Option<HashAlg>,
    /// issuerNameHash
    pub issuer_name_hash: &'a [u8],
    /// issuerKeyHash
    pub issuer_key_hash: &'a [u8],
    /// The serial number as an unsigned big-endian magnitude without the DER sign octet (the
    /// bytes `ca::serial::serial_hex` encodes); `None` for a negative serial, which no
    /// conforming CA issues (RFC 5280 §4.1.2.2).
    pub serial: Option<&'a [u8]>,
    /// Whether the hashAlgorithm parameters are NULL (openssl's form) rather than absent.
    pub(crate) params_null: bool,
}

impl<'a> CertRequest<'a> {
    /// The CertID exactly as received (DER TLV).
    pub fn cert_id_der(&self) -> Result<Vec<u8>, der::Error> {
        der::Encode::to_der(&self.cert_id)
    }
}

/// The nonce extension of a request (RFC 6960 §4.4.1, RFC 8954 §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nonce<'a> {
    /// The extension's extnValue octets, echoed unchanged in the response so that a client
    /// comparing values byte for byte (openssl does) always matches.
    pub(crate) extn_value: &'a [u8],
    /// The nonce itself: the content of the inner OCTET STRING, or the whole extnValue for
    /// pre-RFC 8954 clients that put the raw octets there.
    pub value: &'a [u8],
}

/// Parses a DER OCSPRequest.
pub fn parse(der_bytes: &[u8]) -> Result<ParsedRequest<'_>, RequestError> {
    let req = asn1::OcspRequest::from_der(der_bytes)?;
    let tbs = req.tbs_request;
    if let Some(v) = tbs.version
        && v != 0
    {
        return Err(RequestError::Version(v));
    }
    if tbs.request_list.is_empty() {
        return Err(RequestError::Empty);
    }
    if tbs.request_list.len() > MAX_CERT_IDS {
        return Err(RequestError::TooMany(tbs.request_list.len()));
    }
    let mut cert_ids = Vec::with_capacity(tbs.request_list.len());
    for r in tbs.request_list {
        let id: asn1::CertId<'_> = r.req_cert.decode_as()?;
        cert_ids.push(CertRequest {
            cert_id: r.req_cert,
            hash_alg: HashAlg::from_oid(&id.hash_algorithm.oid),
            issuer_name_hash: id.issuer_name_hash.as_bytes(),
            issuer_key_hash: id.issuer_key_hash.as_bytes(),
            serial: serial_magnitude(id.serial_number.as_bytes()),
            params_null: id.hash_algorithm.parameters.is_some_and(|p| p.is_null()),
        });
    }
    let mut nonce = None;
    for ext in tbs.request_extensions.iter().flatten() {
        if ext.extn_id != oid::OCSP_NONCE {
            continue;
        }
        if nonce.is_some() {
            return Err(RequestError::DuplicateNonce);
        }
        nonce = Some(read_nonce(ext.extn_value.as_bytes())?);
    }
    Ok(ParsedRequest { cert_ids, nonce })
}

/// The nonce inside an extnValue: RFC 8954 says `Nonce ::= OCTET STRING`, so extnValue holds
/// the DER of that OCTET STRING; clients written against RFC 2560's looser wording put the raw
/// octets there, which is accepted too (and echoed as received).
fn read_nonce(extn_value: &[u8]) -> Result<Nonce<'_>, RequestError> {
    let value = match <&OctetStringRef>::from_der(extn_value) {
        Ok(inner) => inner.as_bytes(),
        Err(_) => extn_value,
    };
    if value.is_empty() || value.len() > MAX_NONCE_LEN {
        return Err(RequestError::NonceLength(value.len()));
    }
    Ok(Nonce { extn_value, value })
}

/// The unsigned magnitude of a DER INTEGER's content octets: the sign octet `00` that DER adds
/// before a first octet >= 0x80 is dropped. `None` for a negative number.
pub fn serial_magnitude(content: &[u8]) -> Option<&[u8]> {
    match content {
        [first, ..] if *first >= 0x80 => None,
        [0x00, second, ..] if *second >= 0x80 => content.get(1..),
        _ => Some(content),
    }
}

/// A serial without leading zero octets (at least one octet is kept).
pub fn strip_leading_zeros(serial: &[u8]) -> &[u8] {
    let first = serial
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(serial.len().saturating_sub(1));
    serial.get(first..).unwrap_or_default()
}

/// The DER INTEGER content octets of a positive magnitude: a `00` sign octet before a first
/// octet >= 0x80 (X.690 §8.3.2).
pub fn integer_content(magnitude: &[u8]) -> Vec<u8> {
    let magnitude = strip_leading_zeros(magnitude);
    let mut out = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.first().is_none_or(|b| *b >= 0x80) {
        out.push(0);
    }
    out.extend_from_slice(magnitude);
    out
}

/// Lenient base64: standard alphabet (base64url characters are mapped to it beforehand),
/// padding optional.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes the GET form: `encoded` is the path after `/ocsp/`, "url-encoding of base64
/// encoding of the DER encoding of the OCSPRequest" (RFC 6960 Appendix A.1). Percent escapes
/// are decoded into `text` (which must be at least as long as `encoded`), base64url characters
/// are mapped to the standard alphabet, and the DER goes into `out`. Returns the DER length.
/// Fixed buffers keep the hot GET path free of heap allocations.
pub fn decode_get(encoded: &str, text: &mut [u8], out: &mut [u8]) -> Result<usize, RequestError> {
    let input = encoded.as_bytes();
    if input.is_empty() {
        return Err(RequestError::Encoding("empty"));
    }
    if input.len() > text.len() {
        return Err(RequestError::TooLarge(text.len() / 4 * 3));
    }
    let mut n = 0;
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        let byte = if c == b'%' {
            let hi = input.get(i + 1).and_then(|h| hex_value(*h));
            let lo = input.get(i + 2).and_then(|h| hex_value(*h));
            match (hi, lo) {
                (Some(hi), Some(lo)) => {
                    i += 3;
                    hi << 4 | lo
                }
                _ => return Err(RequestError::Encoding("bad percent escape")),
            }
        } else {
            i += 1;
            c
        };
        let byte = match byte {
            b'-' => b'+',
            b'_' => b'/',
            other => other,
        };
        if let Some(slot) = text.get_mut(n) {
            *slot = byte;
            n += 1;
        }
    }
    let text = text.get(..n).unwrap_or_default();
    if text.len().div_ceil(4) * 3 > out.len() {
        return Err(RequestError::TooLarge(out.len()));
    }
    B64.decode_slice(text, out)
        .map_err(|_| RequestError::Encoding("bad base64"))
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl ocsp -issuer ... -serial 0x0102 -reqout` (SHA-1 CertID, with nonce), built
    /// by hand: OCSPRequest { TBSRequest { requestList { Request { CertID } },
    /// requestExtensions [2] { nonce } } }.
    fn request(serial: &[u8], nonce: Option<&[u8]>) -> Vec<u8> {
        use der::Encode;
        let alg = spki::AlgorithmIdentifierRef {
            oid: oid::SHA1,
            parameters: Some(AnyRef::NULL),
        };
        let id = asn1::CertId {
            hash_algorithm: alg,
            issuer_name_hash: OctetStringRef::new(&[1; 20]).unwrap(),
            issuer_key_hash: OctetStringRef::new(&[2; 20]).unwrap(),
            serial_number: der::asn1::IntRef::new(serial).unwrap(),
        };
        let id_der = id.to_der().unwrap();
        let wrapped = nonce.map(|n| OctetStringRef::new(n).unwrap().to_der().unwrap());
        let req = asn1::OcspRequest {
            tbs_request: asn1::TbsRequest {
                version: None,
                requestor_name: None,
                request_list: vec![asn1::Request {
                    req_cert: AnyRef::from_der(&id_der).unwrap(),
                    single_request_extensions: None,
                }],
                request_extensions: wrapped.as_ref().map(|w| {
                    vec![asn1::Extension {
                        extn_id: oid::OCSP_NONCE,
                        critical: None,
                        extn_value: OctetStringRef::new(w).unwrap(),
                    }]
                }),
            },
            optional_signature: None,
        };
        req.to_der().unwrap()
    }

    #[test]
    fn parses_cert_id_and_nonce() {
        let der = request(&[0x01, 0x02], Some(&[9; 16]));
        let p = parse(&der).unwrap();
        assert_eq!(p.cert_ids.len(), 1);
        let c = &p.cert_ids[0];
        assert_eq!(c.hash_alg, Some(HashAlg::Sha1));
        assert_eq!(c.issuer_name_hash, &[1; 20]);
        assert_eq!(c.issuer_key_hash, &[2; 20]);
        assert_eq!(c.serial, Some(&[0x01, 0x02][..]));
        let n = p.nonce.unwrap();
        assert_eq!(n.value, &[9; 16]);
        assert_eq!(n.extn_value[..2], [0x04, 16]);
        assert!(c.cert_id_der().unwrap().starts_with(&[0x30]));
    }

    #[test]
    fn nonce_bounds() {
        assert!(parse(&request(&[1], Some(&[7; 32]))).is_ok());
        assert!(parse(&request(&[1], Some(&[7; 1]))).is_ok());
        assert!(matches!(
            parse(&request(&[1], Some(&[7; 33]))),
            Err(RequestError::NonceLength(33))
        ));
        assert!(matches!(
            parse(&request(&[1], Some(&[]))),
            Err(RequestError::NonceLength(0))
        ));
        assert!(parse(&request(&[1], None)).unwrap().nonce.is_none());
    }

    #[test]
    fn raw_nonce_of_old_clients_is_accepted() {
        let n = read_nonce(&[0xde, 0xad]).unwrap();
        assert_eq!(n.value, &[0xde, 0xad]);
        assert_eq!(n.extn_value, &[0xde, 0xad]);
    }

    #[test]
    fn serial_magnitudes() {
        assert_eq!(
            serial_magnitude(&[0x00, 0x80, 0x01]),
            Some(&[0x80, 0x01][..])
        );
        assert_eq!(serial_magnitude(&[0x7f]), Some(&[0x7f][..]));
        assert_eq!(serial_magnitude(&[0x00]), Some(&[0x00][..]));
        assert_eq!(serial_magnitude(&[0x80]), None);
        let der = request(&[0x00, 0xff], None);
        assert_eq!(parse(&der).unwrap().cert_ids[0].serial, Some(&[0xff][..]));
        let der = request(&[0xff], None);
        assert_eq!(parse(&der).unwrap().cert_ids[0].serial, None);
    }

    #[test]
    fn too_many_cert_ids_and_bad_version() {
        use der::Encode;
        let one = request(&[1], None);
        let parsed = asn1::OcspRequest::from_der(&one).unwrap();
        let mut many = parsed.clone();
        let first = many.tbs_request.request_list[0].clone();
        many.tbs_request.request_list = vec![first; MAX_CERT_IDS + 1];
        let der = many.to_der().unwrap();
        assert!(matches!(parse(&der), Err(RequestError::TooMany(17))));
        let mut v2 = parsed.clone();
        v2.tbs_request.version = Some(1);
        assert!(matches!(
            parse(&v2.to_der().unwrap()),
            Err(RequestError::Version(1))
        ));
        let mut v1 = parsed;
        v1.tbs_request.version = Some(0);
        assert!(
            parse(&v1.to_der().unwrap()).is_ok(),
            "explicit v1 tolerated"
        );
    }

    #[test]
    fn integer_helpers() {
        assert_eq!(strip_leading_zeros(&[0, 0, 1]), &[1]);
        assert_eq!(strip_leading_zeros(&[0, 0]), &[0]);
        assert_eq!(strip_leading_zeros(&[]), &[] as &[u8]);
        assert_eq!(integer_content(&[0x80]), vec![0, 0x80]);
        assert_eq!(integer_content(&[0, 0x7f]), vec![0x7f]);
        assert_eq!(integer_content(&[]), vec![0]);
    }

    #[test]
    fn garbage_truncated_and_empty_are_errors() {
        assert!(parse(b"hello").is_err());
        assert!(parse(&[]).is_err());
        let der = request(&[1], Some(&[3; 16]));
        for cut in [1, 10, der.len() - 1] {
            assert!(parse(&der[..cut]).is_err(), "truncated at {cut}");
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(parse(&trailing).is_err(), "trailing data");
        // OCSPRequest { TBSRequest { requestList {} } }
        assert!(matches!(
            parse(&[0x30, 0x04, 0x30, 0x02, 0x30, 0x00]),
            Err(RequestError::Empty)
        ));
    }

    #[test]
    fn get_decoding() {
        let der = request(&[0x01, 0x02], Some(&[0xfb; 16]));
        let std = base64::engine::general_purpose::STANDARD.encode(&der);
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&der);
        let pct = std
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        let (mut t, mut o) = ([0u8; 512], [0u8; 512]);
        for enc in [&std, &url, &pct] {
            let n = decode_get(enc, &mut t, &mut o).unwrap();
            assert_eq!(&o[..n], &der[..], "{enc}");
        }
        assert!(decode_get("", &mut t, &mut o).is_err());
        assert!(decode_get("%zz", &mut t, &mut o).is_err());
        assert!(decode_get("%2", &mut t, &mut o).is_err());
        assert!(decode_get("!!!!", &mut t, &mut o).is_err());
        let long = "A".repeat(600);
        assert!(matches!(
            decode_get(&long, &mut t, &mut o),
            Err(RequestError::TooLarge(_))
        ));
    }
}
