//! Certificate status and publication: stica's CRL (`crl`), the revocation reasons it accepts
//! (`reason`), the certificate repository for PASSporT `x5u` (`cr`, STI-CR), the issuance-state
//! API for external OCSP responders and verification services (`api`), and the OCSP responder
//! library (`ocsp`, RFC 6960 / RFC 5019). All read `sa`; the CRL is signed by the CRL signer that
//! `ca` holds.

pub mod api;
pub mod cli;
pub mod cr;
pub mod crl;
mod http;
pub mod ocsp;
pub mod reason;

pub use http::{StatusState, router};
