//! `status_changes`: the commit-ordered sequence of issuance and revocation events that the
//! issuance-state API serves to mirrors.

use sea_orm::entity::prelude::*;

/// One row of `status_changes`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "status_changes")]
pub struct Model {
    /// Position in the sequence, from the `change_seq` counter.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// The certificate concerned.
    pub serial: String,
    /// `issued` or `revoked`.
    pub event: String,
    /// Unix seconds.
    pub at: i64,
}

/// No navigations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
