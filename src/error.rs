//! The one crate error that reaches the wire, and the one place that maps it to an RFC 7807 problem
//! document (RFC 8555 §6.7).
//!
//! Every module has its own small error enum; each converts into [`Error`] by choosing an
//! [`ErrorKind`] and a detail a person can act on. `Internal` details are logged, never sent.

use std::fmt;

use serde::Serialize;

/// The ACME problem types (RFC 8555 §6.7) plus `Internal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request specified an account that does not exist.
    AccountDoesNotExist,
    /// The certificate is already revoked.
    AlreadyRevoked,
    /// The CSR is unacceptable.
    BadCsr,
    /// The nonce was unknown, used, expired or forged.
    BadNonce,
    /// The JWS was signed by a key type the server does not accept.
    BadPublicKey,
    /// The revocation reason is not allowed.
    BadRevocationReason,
    /// The JWS used an unsupported algorithm.
    BadSignatureAlgorithm,
    /// Several problems, see `subproblems`.
    Compound,
    /// External account binding is required and was not given.
    ExternalAccountRequired,
    /// The challenge response did not prove control.
    IncorrectResponse,
    /// The contact URL is invalid.
    InvalidContact,
    /// The request message was malformed.
    Malformed,
    /// The order is not ready to be finalized.
    OrderNotReady,
    /// The request exceeds a rate limit.
    RateLimited,
    /// The server will not issue for this identifier.
    RejectedIdentifier,
    /// The client lacks authorization.
    Unauthorized,
    /// The contact URL scheme is not supported.
    UnsupportedContact,
    /// The identifier type is not supported.
    UnsupportedIdentifier,
    /// The client must visit the terms of service.
    UserActionRequired,
    /// The request body had the wrong media type (HTTP 415, type `malformed`).
    UnsupportedMediaType,
    /// The resource does not exist (or belongs to someone else: HTTP 404, type `malformed`).
    NotFound,
    /// The method is not allowed on this resource (HTTP 405, type `malformed`).
    MethodNotAllowed,
    /// The request conflicts with existing state (HTTP 409, type `malformed`).
    Conflict,
    /// The request body is too large (HTTP 413, type `malformed`).
    PayloadTooLarge,
    /// Something failed inside stica; the client gets a generic detail.
    Internal,
}

impl ErrorKind {
    /// The problem `type` URN suffix and HTTP status for this kind: the only such mapping.
    pub fn wire(self) -> (&'static str, u16) {
        use ErrorKind::*;
        match self {
            AccountDoesNotExist => ("accountDoesNotExist", 400),
            AlreadyRevoked => ("alreadyRevoked", 400),
            BadCsr => ("badCSR", 400),
            BadNonce => ("badNonce", 400),
            BadPublicKey => ("badPublicKey", 400),
            BadRevocationReason => ("badRevocationReason", 400),
            BadSignatureAlgorithm => ("badSignatureAlgorithm", 400),
            Compound => ("compound", 403),
            ExternalAccountRequired => ("externalAccountRequired", 403),
            IncorrectResponse => ("incorrectResponse", 403),
            InvalidContact => ("invalidContact", 400),
            Malformed => ("malformed", 400),
            OrderNotReady => ("orderNotReady", 403),
            RateLimited => ("rateLimited", 429),
            RejectedIdentifier => ("rejectedIdentifier", 400),
            Unauthorized => ("unauthorized", 403),
            UnsupportedContact => ("unsupportedContact", 400),
            UnsupportedIdentifier => ("unsupportedIdentifier", 400),
            UserActionRequired => ("userActionRequired", 403),
            UnsupportedMediaType => ("malformed", 415),
            NotFound => ("malformed", 404),
            MethodNotAllowed => ("malformed", 405),
            Conflict => ("malformed", 409),
            PayloadTooLarge => ("malformed", 413),
            Internal => ("serverInternal", 500),
        }
    }

    /// The full `urn:ietf:params:acme:error:*` type.
    pub fn urn(self) -> String {
        format!("urn:ietf:params:acme:error:{}", self.wire().0)
    }

    /// The HTTP status code.
    pub fn status(self) -> u16 {
        self.wire().1
    }
}

/// An RFC 7807 problem document as RFC 8555 uses it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Problem {
    /// `urn:ietf:params:acme:error:*`
    #[serde(rename = "type")]
    pub kind: String,
    /// What went wrong, for a person.
    pub detail: String,
    /// The HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Per-identifier problems (RFC 8555 §6.7.1).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub subproblems: Vec<Problem>,
    /// The identifier a subproblem concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<crate::acme::Identifier>,
    /// For `badSignatureAlgorithm`: what the server accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<Vec<String>>,
}

/// The crate error: a kind, a detail for the client, and optional extras.
#[derive(Debug, Clone)]
pub struct Error {
    /// Which problem type this is.
    pub kind: ErrorKind,
    /// The detail sent to the client (replaced by a generic text for `Internal`).
    pub detail: String,
    /// Per-identifier problems.
    pub subproblems: Vec<Problem>,
    /// Seconds the client should wait (`Retry-After`).
    pub retry_after: Option<u64>,
    /// For an existing resource (409 on keyChange, 200 on newAccount): its URL.
    pub location: Option<String>,
}

impl Error {
    /// A new error of `kind` with a detail.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            subproblems: Vec::new(),
            retry_after: None,
            location: None,
        }
    }

    /// `malformed`
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Malformed, detail)
    }

    /// `unauthorized`
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, detail)
    }

    /// 404 (never reveals whether a resource of another account exists).
    pub fn not_found() -> Self {
        Self::new(ErrorKind::NotFound, "no such resource")
    }

    /// An internal failure: `cause` goes to the log, the client sees a generic detail.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(cause = %cause, "internal error");
        Self::new(ErrorKind::Internal, cause.to_string())
    }

    /// The problem document sent to the client.
    pub fn problem(&self) -> Problem {
        let detail = if self.kind == ErrorKind::Internal {
            "the server could not complete the request; it has been logged".to_string()
        } else {
            self.detail.clone()
        };
        Problem {
            kind: self.kind.urn(),
            detail,
            status: Some(self.kind.status()),
            subproblems: self.subproblems.clone(),
            identifier: None,
            algorithms: (self.kind == ErrorKind::BadSignatureAlgorithm).then(|| {
                ["ES256", "RS256", "EdDSA"]
                    .iter()
                    .map(|a| a.to_string())
                    .collect()
            }),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.wire().0, self.detail)
    }
}

impl std::error::Error for Error {}

/// The crate result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
