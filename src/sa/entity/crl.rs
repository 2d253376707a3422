//! `crls`: the CRL currently published by each CRL issuer stica runs.

use sea_orm::entity::prelude::*;

/// One row of `crls`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "crls")]
pub struct Model {
    /// Which CRL (`stica` for the issuing CA's).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// cRLNumber.
    pub number: i64,
    /// thisUpdate, unix seconds.
    pub this_update: i64,
    /// nextUpdate, unix seconds.
    pub next_update: i64,
    /// The last `status_changes.seq` of a revocation it includes.
    pub covered_seq: i64,
    /// The URL it is published at (its issuingDistributionPoint).
    pub url: String,
    /// The CRL, DER.
    pub der: Vec<u8>,
}

/// No navigations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
