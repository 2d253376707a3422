//! `counters`: named integers that several replicas increment under a row lock (the change
//! sequence, the CRL number).

use sea_orm::entity::prelude::*;

/// One row of `counters`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "counters")]
pub struct Model {
    /// `change_seq` or `crl_number`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The last value handed out.
    pub value: i64,
}

/// No navigations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
