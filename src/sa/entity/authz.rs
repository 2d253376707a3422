//! `authzs`: ACME authorizations (RFC 8555 §7.1.4).

use sea_orm::entity::prelude::*;

/// One row of `authzs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authzs")]
pub struct Model {
    /// Random opaque id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// The order this authorization belongs to.
    pub order_id: String,
    /// The TNAuthList identifier value, DER.
    pub identifier_der: Vec<u8>,
    /// Authorization status.
    pub status: String,
    /// Unix seconds.
    pub expires: i64,
    /// The token's `ca` claim (RFC 9448 §4), once validated.
    pub ca_grant: Option<bool>,
    /// The `jti` of the token that validated it.
    pub token_jti: Option<String>,
    /// That token's `exp`, unix seconds.
    pub token_exp: Option<i64>,
    /// The JWT claim constraints the token asked for: `jwtcc:<b64url DER>` or
    /// `ejwtcc:<b64url DER>` (migration m20261123_200001).
    pub claim_constraints: Option<String>,
    /// The serial (lowercase hex) of the stica-issued certificate that signed the Authority
    /// Token, when a carrier delegated directly (migration m20261123_300001); NULL otherwise.
    pub parent_serial: Option<String>,
}

/// No navigations: `sa` joins by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
