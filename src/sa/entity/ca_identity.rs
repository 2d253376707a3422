//! `ca_identity`: the CA hierarchy this database belongs to (one row, `name = 'ca'`).

use sea_orm::entity::prelude::*;

/// One row of `ca_identity`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ca_identity")]
pub struct Model {
    /// Always `ca`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// SHA-256 of the root certificate's DER, lowercase hex.
    pub root_sha256: String,
    /// SHA-256 of the issuing certificate's DER when the database was bound, lowercase hex.
    pub issuer_sha256: String,
    /// When the database was bound (unix seconds).
    pub bound_at: i64,
}

/// No navigations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
