//! `api_tokens`: bearer tokens of issuance-state API consumers, stored as SHA-256 only.

use sea_orm::entity::prelude::*;

/// One row of `api_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    /// Random opaque id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The consumer's name (unique).
    pub name: String,
    /// SHA-256 of the token, lowercase hex (unique).
    pub token_sha256: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// No navigations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
