//! `leases`: which replica runs the periodic jobs, until when.

use sea_orm::entity::prelude::*;

/// One row of `leases`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leases")]
pub struct Model {
    /// The lease (`jobs`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The replica holding it (its random holder id).
    pub holder: String,
    /// Unix seconds after which another replica may take it.
    pub expires_at: i64,
}

/// No navigations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
