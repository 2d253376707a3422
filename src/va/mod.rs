//! Validation authority: checks challenge responses. For STI there is one challenge type,
//! tkauth-01 (RFC 9447, RFC 9448), whose response is an Authority Token.
//!
//! * [`tkauth`]: the Authority Token verifier;
//! * [`x5u`]: the guarded, cached fetcher for x5u chains and CRLs;
//! * [`crl`]: revocation of the token-signing certificate.

pub mod crl;
pub mod tkauth;
pub mod x5u;

#[cfg(test)]
pub(crate) mod testserver;
