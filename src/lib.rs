//! stica: an STI Certificate Authority.
//!
//! ACME (RFC 8555) with tkauth-01 Authority Tokens (RFC 9447, RFC 9448) issuing SHAKEN certificates
//! that carry a TNAuthList (RFC 8226). See docs/architecture.md for the roles and how they talk.
#![forbid(unsafe_code)]

pub mod acme;
pub mod bench;
pub mod binding;
pub mod ca;
pub mod cli;
pub mod client;
pub mod config;
pub mod error;
pub mod jobs;
pub mod jose;
pub mod lint;
pub mod metrics;
pub mod nonce;
pub mod pa;
pub mod policy;
pub mod ra;
pub mod sa;
pub mod server;
pub mod status;
pub mod tls;
pub mod tnauth;
pub mod va;
pub mod wfe;
pub mod x509;
