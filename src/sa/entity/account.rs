//! `accounts`: ACME accounts (RFC 8555 §7.1.2).

use sea_orm::entity::prelude::*;

/// One row of `accounts`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    /// Random opaque id (the last segment of the account URL).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The account public key as JWK JSON.
    pub jwk: String,
    /// RFC 7638 thumbprint of `jwk` (unique).
    #[sea_orm(unique)]
    pub thumbprint: String,
    /// `valid`, `deactivated` or `revoked`.
    pub status: String,
    /// Contact URLs as a JSON array.
    pub contact: String,
    /// The EAB key id the account was created with.
    pub eab_kid: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// No navigations: `sa` joins by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
