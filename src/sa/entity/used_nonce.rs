//! `used_nonces`: the replay record for ACME nonces (RFC 8555 §6.5).

use sea_orm::entity::prelude::*;

/// One row of `used_nonces`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "used_nonces")]
pub struct Model {
    /// The nonce as the client sent it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub nonce: String,
    /// When the nonce expires anyway (unix seconds); the row may be purged after.
    pub expires: i64,
}

/// No navigations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
