//! The OCSP responder (RFC 6960, with the RFC 5019 lightweight profile for the shared,
//! pre-signed path).
//!
//! - [`asn1`]: the RFC 6960 types on der 0.8.
//! - [`request`]: reading requests (DER and the GET form), nonce rules (RFC 8954).
//! - [`certid`]: issuer matching by issuerNameHash / issuerKeyHash (SHA-1, SHA-256, ...).
//! - [`response`]: building and signing BasicOCSPResponses; error responses.
//! - [`cache`]: pre-signed responses with their HTTP validators.
//! - [`responder`]: [`Responder`], [`StatusSource`], the two answering modes.
//! - [`responder_cert`]: delegated responder certificates (id-kp-OCSPSigning, ocsp-nocheck).
//! - [`http`]: the axum router (`POST /ocsp`, `GET /ocsp/{request}`).
//!
//! See docs/ocsp.md for the design, the freshness bound and how the server wires it.

pub mod asn1;
pub mod cache;
pub mod certid;
pub mod front;
pub mod http;
pub mod oid;
pub mod request;
pub mod responder;
pub mod responder_cert;
pub mod response;
#[cfg(test)]
mod tests;

pub use asn1::ResponseStatus;
pub use cache::{CacheKey, Presigned, PresignedCache};
pub use certid::HashAlg;
pub use http::{router, router_at};
pub use responder::{
    Answer, IssuerEntry, RefreshReport, Responder, ResponderConfig, StatusError, StatusFuture,
    StatusSource,
};
pub use responder_cert::{
    DEFAULT_RESPONDER_CERT_LIFETIME_SECS, ResponderCert, issue_responder_cert,
};
pub use response::CertStatus;

use crate::ca::SignerError;
use crate::error::Error;

/// Errors of the OCSP responder (configuration, signing, lookups). Request problems are not
/// errors: they become `malformedRequest` / `unauthorized` answers.
#[derive(Debug, thiserror::Error)]
pub enum OcspError {
    /// The issuers, responder certificates or settings are unusable.
    #[error("OCSP configuration: {0}")]
    Config(String),
    /// No issuer with this index.
    #[error("no OCSP issuer number {0}")]
    NoSuchIssuer(usize),
    /// A serial that cannot be a certificate serial (empty or over 20 octets).
    #[error("serial number is empty or longer than 20 octets")]
    BadSerial,
    /// A time that cannot be encoded (before 1970 or past 9999).
    #[error("time {0} cannot be encoded")]
    Time(i64),
    /// The responder certificate expires before a response could be valid: rotate it.
    #[error("OCSP responder certificate expired at {0}; rotate it")]
    ResponderExpired(i64),
    /// DER encoding or decoding failed.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// The responder (or issuer) key failed to sign.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// rcgen could not build the responder certificate.
    #[error("responder certificate build failed: {0}")]
    Build(rcgen::Error),
    /// The status source failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

impl OcspError {
    /// The OCSP status a client gets when answering failed with this error: `tryLater` when
    /// storage is unavailable, `internalError` otherwise (RFC 6960 §4.2.1).
    pub fn response_status(&self) -> ResponseStatus {
        match self {
            OcspError::Status(StatusError::Unavailable(_)) => ResponseStatus::TryLater,
            _ => ResponseStatus::InternalError,
        }
    }
}

impl From<OcspError> for Error {
    fn from(e: OcspError) -> Self {
        Error::internal(e)
    }
}
