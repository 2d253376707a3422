//! Certificate status: the OCSP responder (RFC 6960, RFC 5019 profile). CRLs and the
//! issuance-state API (issue 4) will live next to it.

pub mod ocsp;
