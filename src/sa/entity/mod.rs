//! sea-orm entities, one file per table. Only `sa` sees these; the rest of stica gets the plain
//! records in [`super::model`]. The schema itself is owned by the `stica-migrations` crate.

pub mod account;
pub mod api_token;
pub mod authz;
pub mod ca_identity;
pub mod certificate;
pub mod challenge;
pub mod crl;
pub mod eab_key;
pub mod lease;
pub mod order;
pub mod status_change;
pub mod token;
pub mod used_nonce;
