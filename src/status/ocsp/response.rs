//! Building and signing OCSP responses (RFC 6960 §4.2, RFC 5019 §2.2).
//!
//! A successful response is `OCSPResponse { successful, responseBytes { id-pkix-ocsp-basic,
//! BasicOCSPResponse } }` with `responderID byKey`, `producedAt`, one SingleResponse per
//! CertID (CertID echoed as received, `thisUpdate`, `nextUpdate`), the nonce echoed when the
//! request had one, the responder certificate in `certs`, and an ecdsa-with-SHA256 signature
//! made through [`crate::ca::Signer`] over the DER `ResponseData`. Error responses carry only
//! the status (RFC 6960 §4.2.1: no responseBytes).

use std::sync::Arc;
use std::time::Duration;

use der::asn1::{AnyRef, BitStringRef, ContextSpecific, GeneralizedTime, OctetStringRef};
use der::{Decode, Encode, TagMode, TagNumber};
use spki::AlgorithmIdentifierRef;

use super::OcspError;
use super::asn1::{self, CertStatusAsn1, CrlReason, ResponseStatus, RevokedInfo};
use super::oid;
use crate::ca::Signer;

/// The status of one certificate, as a [`super::StatusSource`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertStatus {
    /// Issued by this issuer and not revoked (RFC 6960 §2.2: "good").
    Good,
    /// Revoked at `time` (unix seconds) with an optional CRLReason code (RFC 5280 §5.3.1:
    /// 0-6, 8-10; a code outside that set is dropped with an error log rather than
    /// answering a revoked certificate with an error).
    Revoked {
        /// revocationTime, unix seconds
        time: i64,
        /// revocationReason
        reason: Option<u8>,
    },
    /// Not a serial this issuer issued (RFC 6960 §2.2: "unknown").
    Unknown,
}

/// `30 03 0A 01 xx`: an OCSPResponse with only a status.
const fn status_only(code: u8) -> [u8; 5] {
    [0x30, 0x03, 0x0a, 0x01, code]
}
const MALFORMED: [u8; 5] = status_only(1);
const INTERNAL: [u8; 5] = status_only(2);
const TRY_LATER: [u8; 5] = status_only(3);
const SIG_REQUIRED: [u8; 5] = status_only(5);
const UNAUTHORIZED: [u8; 5] = status_only(6);

/// The DER of an error response (no responseBytes). `Successful` has no error form and maps to
/// `internalError`.
pub fn error_response(status: ResponseStatus) -> &'static [u8] {
    match status {
        ResponseStatus::MalformedRequest => &MALFORMED,
        ResponseStatus::TryLater => &TRY_LATER,
        ResponseStatus::SigRequired => &SIG_REQUIRED,
        ResponseStatus::Unauthorized => &UNAUTHORIZED,
        ResponseStatus::InternalError | ResponseStatus::Successful => &INTERNAL,
    }
}

/// The key that signs responses for one issuer and its certificate: the issuer itself, or a
/// delegated responder it certified (RFC 6960 §4.2.2.2).
#[derive(Debug)]
pub(crate) struct SigningIdentity {
    pub(crate) signer: Arc<dyn Signer>,
    pub(crate) cert_der: Vec<u8>,
    /// SHA-1 of the responder's subjectPublicKey value: `ResponderID byKey` (RFC 6960 §4.2.1).
    pub(crate) key_hash: [u8; 20],
    /// The responder certificate's notAfter: no response may outlive it.
    pub(crate) not_after: i64,
}

impl SigningIdentity {
    pub(crate) fn new(signer: Arc<dyn Signer>, cert_der: Vec<u8>, not_after: i64) -> Self {
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            signer.public_key(),
        );
        let mut key_hash = [0u8; 20];
        key_hash.copy_from_slice(digest.as_ref());
        Self {
            signer,
            cert_der,
            key_hash,
            not_after,
        }
    }
}

/// One SingleResponse to build.
#[derive(Clone, Debug)]
pub(crate) struct SingleInput<'a> {
    pub(crate) cert_id: AnyRef<'a>,
    pub(crate) status: CertStatus,
    pub(crate) this_update: i64,
    pub(crate) next_update: i64,
}

/// unix seconds to GeneralizedTime (RFC 6960 §4.2.2.1 / RFC 5280 §4.1.2.5.2: UTC, whole
/// seconds, `YYYYMMDDHHMMSSZ`).
pub(crate) fn generalized_time(t: i64) -> Result<GeneralizedTime, OcspError> {
    let secs = u64::try_from(t).map_err(|_| OcspError::Time(t))?;
    GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).map_err(|_| OcspError::Time(t))
}

fn cert_status(status: CertStatus) -> Result<CertStatusAsn1, OcspError> {
    Ok(match status {
        CertStatus::Good => CertStatusAsn1::Good,
        CertStatus::Unknown => CertStatusAsn1::Unknown,
        CertStatus::Revoked { time, reason } => CertStatusAsn1::Revoked(RevokedInfo {
            revocation_time: generalized_time(time)?,
            revocation_reason: reason.and_then(|code| {
                let r = CrlReason::from_code(code);
                if r.is_none() {
                    tracing::error!(
                        code,
                        "invalid CRLReason code from the status source: omitted"
                    );
                }
                r
            }),
        }),
    })
}

/// Builds and signs a successful response. `nonce_extn_value` is the request's nonce extnValue
/// (echoed as is, RFC 6960 §4.4.1).
pub(crate) fn sign_response(
    identity: &SigningIdentity,
    singles: &[SingleInput<'_>],
    nonce_extn_value: Option<&[u8]>,
    produced_at: i64,
) -> Result<Vec<u8>, OcspError> {
    let mut responses = Vec::with_capacity(singles.len());
    for s in singles {
        responses.push(asn1::SingleResponse {
            cert_id: s.cert_id,
            cert_status: cert_status(s.status)?,
            this_update: generalized_time(s.this_update)?,
            next_update: Some(generalized_time(s.next_update)?),
        });
    }
    let response_extensions = match nonce_extn_value {
        Some(v) => Some(vec![asn1::Extension {
            extn_id: oid::OCSP_NONCE,
            critical: None,
            extn_value: OctetStringRef::new(v)?,
        }]),
        None => None,
    };
    let data = asn1::ResponseData {
        responder_id: ContextSpecific {
            tag_number: TagNumber(2),
            tag_mode: TagMode::Explicit,
            value: OctetStringRef::new(&identity.key_hash)?,
        },
        produced_at: generalized_time(produced_at)?,
        responses,
        response_extensions,
    };
    let tbs = data.to_der()?;
    let signature = identity.signer.sign(&tbs)?;
    let certs = vec![AnyRef::from_der(&identity.cert_der)?];
    let basic = asn1::BasicOcspResponse {
        tbs_response_data: AnyRef::from_der(&tbs)?,
        signature_algorithm: AlgorithmIdentifierRef {
            // RFC 5758 §3.2: ecdsa-with-SHA256 has absent parameters.
            oid: crate::ca::oid::ECDSA_WITH_SHA256,
            parameters: None,
        },
        signature: BitStringRef::from_bytes(&signature)?,
        certs: Some(certs),
    }
    .to_der()?;
    let response = asn1::OcspResponse {
        response_status: ResponseStatus::Successful,
        response_bytes: Some(asn1::ResponseBytes {
            response_type: oid::OCSP_BASIC,
            response: OctetStringRef::new(&basic)?,
        }),
    };
    Ok(response.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses() {
        assert_eq!(
            error_response(ResponseStatus::MalformedRequest),
            &[0x30, 0x03, 0x0a, 0x01, 0x01]
        );
        assert_eq!(error_response(ResponseStatus::Unauthorized)[4], 6);
        assert_eq!(error_response(ResponseStatus::TryLater)[4], 3);
        assert_eq!(error_response(ResponseStatus::Successful)[4], 2);
    }

    #[test]
    fn times() {
        let t = generalized_time(1_735_689_600).unwrap();
        assert_eq!(t.to_der().unwrap()[2..], *b"20250101000000Z");
        assert!(generalized_time(-1).is_err());
    }

    #[test]
    fn bad_reason_is_dropped() {
        let s = cert_status(CertStatus::Revoked {
            time: 0,
            reason: Some(7),
        })
        .unwrap();
        let CertStatusAsn1::Revoked(info) = s else {
            panic!("revoked")
        };
        assert!(info.revocation_reason.is_none());
    }
}
