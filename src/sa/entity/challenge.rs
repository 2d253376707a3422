//! `challenges`: ACME challenges (RFC 8555 §8, RFC 9447 §3).

use sea_orm::entity::prelude::*;

/// One row of `challenges`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "challenges")]
pub struct Model {
    /// Random opaque id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The authorization this challenge belongs to.
    pub authz_id: String,
    /// Challenge type (`tkauth-01`).
    pub kind: String,
    /// Challenge status.
    pub status: String,
    /// Random token.
    pub token: String,
    /// Unix seconds.
    pub validated_at: Option<i64>,
    /// Problem document JSON when validation failed.
    pub error: Option<String>,
}

/// No navigations: `sa` joins by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
