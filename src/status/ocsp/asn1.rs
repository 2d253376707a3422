//! The RFC 6960 ASN.1 types (Appendix B.1, module `OCSP-2013-88`, `DEFINITIONS EXPLICIT TAGS`),
//! written on der 0.8 with its derive macros.
//!
//! Request types borrow from the input (no copies on the hot path); unknown or ignored parts
//! (`optionalSignature`, `requestorName`, `singleRequestExtensions`) are kept as opaque
//! [`AnyRef`] so that any well-formed content is accepted (RFC 5019 §2.1 clients do not sign).
//! Response types are only encoded. The module's default tagging is EXPLICIT, so every
//! `[n]` below wraps a full TLV; `CertStatus` alone is IMPLICIT, as the RFC writes it.

use der::asn1::{
    AnyRef, BitStringRef, ContextSpecific, GeneralizedTime, ObjectIdentifier, OctetStringRef,
};
use der::{
    Decode, DecodeValue, EncodeValue, Enumerated, Header, Length, Reader, Sequence, SliceReader,
    Tag, TagNumber, Tagged, Writer,
};
use spki::AlgorithmIdentifierRef;

/// `OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature
/// OPTIONAL }` (RFC 6960 §4.1.1). The signature is accepted and ignored: stica answers anyone.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct OcspRequest<'a> {
    pub tbs_request: TbsRequest<'a>,
    #[asn1(context_specific = "0", optional = "true")]
    pub optional_signature: Option<AnyRef<'a>>,
}

/// `TBSRequest` (RFC 6960 §4.1.1). `version` is read as an explicit OPTIONAL (not DEFAULT) so a
/// client that writes the default `v1` is still understood.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct TbsRequest<'a> {
    #[asn1(context_specific = "0", optional = "true")]
    pub version: Option<u8>,
    #[asn1(context_specific = "1", optional = "true")]
    pub requestor_name: Option<AnyRef<'a>>,
    pub request_list: Vec<Request<'a>>,
    #[asn1(context_specific = "2", optional = "true")]
    pub request_extensions: Option<Vec<Extension<'a>>>,
}

/// `Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions
/// OPTIONAL }`. `reqCert` stays an [`AnyRef`] so the response can echo it byte for byte.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct Request<'a> {
    pub req_cert: AnyRef<'a>,
    #[asn1(context_specific = "0", optional = "true")]
    pub single_request_extensions: Option<AnyRef<'a>>,
}

/// `CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
/// issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }` (RFC 6960 §4.1.1).
/// The serial is read as raw INTEGER content octets (see `request::serial_magnitude`).
#[derive(Clone, Debug, Sequence)]
pub(crate) struct CertId<'a> {
    pub hash_algorithm: AlgorithmIdentifierRef<'a>,
    pub issuer_name_hash: &'a OctetStringRef,
    pub issuer_key_hash: &'a OctetStringRef,
    pub serial_number: der::asn1::IntRef<'a>,
}

/// `Extension` (RFC 5280 §4.1). `critical` is read as OPTIONAL rather than DEFAULT FALSE so an
/// explicitly encoded FALSE (BER habit of some clients) is tolerated.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct Extension<'a> {
    pub extn_id: ObjectIdentifier,
    #[asn1(optional = "true")]
    pub critical: Option<bool>,
    pub extn_value: &'a OctetStringRef,
}

/// `OCSPResponseStatus` (RFC 6960 §4.2.1). Value 4 is not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[repr(u8)]
pub enum ResponseStatus {
    /// The response has valid confirmations.
    Successful = 0,
    /// Illegal confirmation request: the request did not parse or broke a rule.
    MalformedRequest = 1,
    /// Internal error in the issuer (signing or storage failed).
    InternalError = 2,
    /// Try again later (storage temporarily unavailable).
    TryLater = 3,
    /// Must sign the request (stica never asks for it).
    SigRequired = 5,
    /// Request unauthorized: a CertID for an issuer stica does not serve (RFC 5019 §2.2.3).
    Unauthorized = 6,
}

/// `OCSPResponse ::= SEQUENCE { responseStatus OCSPResponseStatus, responseBytes [0] EXPLICIT
/// ResponseBytes OPTIONAL }` (RFC 6960 §4.2.1).
#[derive(Clone, Debug, Sequence)]
pub(crate) struct OcspResponse<'a> {
    pub response_status: ResponseStatus,
    #[asn1(context_specific = "0", optional = "true")]
    pub response_bytes: Option<ResponseBytes<'a>>,
}

/// `ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING }`.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct ResponseBytes<'a> {
    pub response_type: ObjectIdentifier,
    pub response: &'a OctetStringRef,
}

/// `BasicOCSPResponse` (RFC 6960 §4.2.1). `tbs_response_data` is the already encoded (and
/// signed) `ResponseData`, carried as [`AnyRef`] so the signed bytes are the bytes sent.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct BasicOcspResponse<'a> {
    pub tbs_response_data: AnyRef<'a>,
    pub signature_algorithm: AlgorithmIdentifierRef<'a>,
    pub signature: BitStringRef<'a>,
    #[asn1(context_specific = "0", optional = "true")]
    pub certs: Option<Vec<AnyRef<'a>>>,
}

/// `ResponseData` (RFC 6960 §4.2.1). `version` is DEFAULT v1 and therefore omitted (X.690
/// §11.5). `responderID` is always `byKey [2] KeyHash` (RFC 5019 §2.2.2 recommends it: it is
/// shorter and survives a change of the responder's name).
#[derive(Clone, Debug, Sequence)]
pub(crate) struct ResponseData<'a> {
    pub responder_id: ContextSpecific<&'a OctetStringRef>,
    pub produced_at: GeneralizedTime,
    pub responses: Vec<SingleResponse<'a>>,
    #[asn1(context_specific = "1", optional = "true")]
    pub response_extensions: Option<Vec<Extension<'a>>>,
}

/// `SingleResponse` (RFC 6960 §4.2.1); `certID` is the request's CertID, echoed as is.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct SingleResponse<'a> {
    pub cert_id: AnyRef<'a>,
    pub cert_status: CertStatusAsn1,
    pub this_update: GeneralizedTime,
    #[asn1(context_specific = "0", optional = "true")]
    pub next_update: Option<GeneralizedTime>,
}

/// `CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown
/// [2] IMPLICIT UnknownInfo }` (RFC 6960 §4.2.1): `80 00`, `A1 ..` (constructed, the
/// RevokedInfo contents), `82 00`. Written by hand: der_derive's `Choice` has no IMPLICIT NULL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CertStatusAsn1 {
    Good,
    Revoked(RevokedInfo),
    Unknown,
}

impl Tagged for CertStatusAsn1 {
    fn tag(&self) -> Tag {
        let (number, constructed) = match self {
            Self::Good => (0, false),
            Self::Revoked(_) => (1, true),
            Self::Unknown => (2, false),
        };
        Tag::ContextSpecific {
            constructed,
            number: TagNumber(number),
        }
    }
}

impl EncodeValue for CertStatusAsn1 {
    fn value_len(&self) -> der::Result<Length> {
        match self {
            Self::Good | Self::Unknown => Ok(Length::ZERO),
            Self::Revoked(info) => info.value_len(),
        }
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        match self {
            Self::Good | Self::Unknown => Ok(()),
            Self::Revoked(info) => info.encode_value(writer),
        }
    }
}

impl<'a> Decode<'a> for CertStatusAsn1 {
    type Error = der::Error;

    fn decode<R: Reader<'a>>(reader: &mut R) -> der::Result<Self> {
        let any = AnyRef::decode(reader)?;
        let empty = any.value().is_empty();
        match any.tag() {
            Tag::ContextSpecific {
                constructed: false,
                number: TagNumber(0),
            } if empty => Ok(Self::Good),
            Tag::ContextSpecific {
                constructed: false,
                number: TagNumber(2),
            } if empty => Ok(Self::Unknown),
            Tag::ContextSpecific {
                constructed: true,
                number: TagNumber(1),
            } => {
                // IMPLICIT: the contents are RevokedInfo's, under another tag.
                let header = Header::new(Tag::Sequence, Length::try_from(any.value().len())?);
                let mut r = SliceReader::new(any.value())?;
                let info = RevokedInfo::decode_value(&mut r, header)?;
                r.finish()?;
                Ok(Self::Revoked(info))
            }
            tag => Err(tag.unexpected_error(None).into()),
        }
    }
}

/// `RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT
/// CRLReason OPTIONAL }` (RFC 6960 §4.2.1).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub(crate) struct RevokedInfo {
    pub revocation_time: GeneralizedTime,
    #[asn1(context_specific = "0", optional = "true")]
    pub revocation_reason: Option<CrlReason>,
}

/// `CRLReason` (RFC 5280 §5.3.1). Value 7 is not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[repr(u8)]
pub(crate) enum CrlReason {
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    CertificateHold = 6,
    RemoveFromCrl = 8,
    PrivilegeWithdrawn = 9,
    AaCompromise = 10,
}

impl CrlReason {
    /// The reason for a code, `None` for 7 and anything above 10.
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Unspecified,
            1 => Self::KeyCompromise,
            2 => Self::CaCompromise,
            3 => Self::AffiliationChanged,
            4 => Self::Superseded,
            5 => Self::CessationOfOperation,
            6 => Self::CertificateHold,
            8 => Self::RemoveFromCrl,
            9 => Self::PrivilegeWithdrawn,
            10 => Self::AaCompromise,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use der::Encode;

    use super::*;

    fn time(s: u64) -> GeneralizedTime {
        GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(s)).unwrap()
    }

    #[test]
    fn cert_status_encodings() {
        assert_eq!(
            CertStatusAsn1::Good.to_der().unwrap(),
            [0x80, 0x00],
            "good [0] IMPLICIT NULL"
        );
        assert_eq!(CertStatusAsn1::Unknown.to_der().unwrap(), [0x82, 0x00]);
        let revoked = CertStatusAsn1::Revoked(RevokedInfo {
            revocation_time: time(0),
            revocation_reason: Some(CrlReason::KeyCompromise),
        })
        .to_der()
        .unwrap();
        // A1 len { 18 0F "19700101000000Z" A0 03 { 0A 01 01 } }
        assert_eq!(revoked[0], 0xa1, "revoked [1] IMPLICIT, constructed");
        assert_eq!(revoked[1] as usize, revoked.len() - 2);
        assert_eq!(&revoked[2..4], &[0x18, 0x0f]);
        assert_eq!(&revoked[4..19], b"19700101000000Z");
        assert_eq!(&revoked[19..], &[0xa0, 0x03, 0x0a, 0x01, 0x01]);
        for der in [&[0x80u8, 0x00][..], &[0x82, 0x00], &revoked] {
            let back = CertStatusAsn1::from_der(der).unwrap();
            assert_eq!(back.to_der().unwrap(), der);
        }
        assert!(CertStatusAsn1::from_der(&[0x80, 0x01, 0x00]).is_err());
        assert!(CertStatusAsn1::from_der(&[0x83, 0x00]).is_err());
    }

    #[test]
    fn error_response_encodings() {
        for (status, byte) in [
            (ResponseStatus::MalformedRequest, 1u8),
            (ResponseStatus::InternalError, 2),
            (ResponseStatus::TryLater, 3),
            (ResponseStatus::Unauthorized, 6),
        ] {
            let der = OcspResponse {
                response_status: status,
                response_bytes: None,
            }
            .to_der()
            .unwrap();
            assert_eq!(der, [0x30, 0x03, 0x0a, 0x01, byte]);
        }
    }

    #[test]
    fn responder_id_by_key_is_explicit_constructed() {
        let hash = [7u8; 20];
        let id = ContextSpecific {
            tag_number: der::TagNumber(2),
            tag_mode: der::TagMode::Explicit,
            value: OctetStringRef::new(&hash).unwrap(),
        };
        let der = id.to_der().unwrap();
        assert_eq!(&der[..4], &[0xa2, 0x16, 0x04, 0x14]);
    }

    #[test]
    fn extension_tolerates_explicit_false() {
        // SEQUENCE { OID nonce, BOOLEAN FALSE (BER habit), OCTET STRING { 04 01 2a } }
        let der = hex::decode("301306092b0601050507300102010100040304012a").unwrap();
        let ext = Extension::from_der(&der).unwrap();
        assert_eq!(ext.critical, Some(false));
        assert_eq!(ext.extn_value.as_bytes(), &[0x04, 0x01, 0x2a]);
    }
}
