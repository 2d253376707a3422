//! `tokens`: Authority Token use record by `jti` (RFC 9447 §5).

use sea_orm::entity::prelude::*;

/// One row of `tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tokens")]
pub struct Model {
    /// The token's `jti`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: String,
    /// The account that used it first.
    pub account_id: String,
    /// The token's `exp` (unix seconds); the row may be purged after.
    pub exp: i64,
    /// Unix seconds.
    pub first_used_at: i64,
}

/// No navigations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
