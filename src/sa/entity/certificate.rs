//! `certificates`: issued certificates and their issuance metadata.

use sea_orm::entity::prelude::*;

/// One row of `certificates`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificates")]
pub struct Model {
    /// Serial number, lowercase hex.
    #[sea_orm(primary_key, auto_increment = false)]
    pub serial: String,
    /// The account it was issued to.
    pub account_id: String,
    /// The order it finalized (unique).
    #[sea_orm(unique)]
    pub order_id: String,
    /// Certificate profile name.
    pub profile: String,
    /// The leaf certificate, DER.
    pub der: Vec<u8>,
    /// Leaf then intermediate, PEM.
    pub chain_pem: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// The `jti` of the Authority Token behind the authorization.
    pub token_jti: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// SHA-256 of `der`, lowercase hex (null only while a backfill is pending).
    pub der_sha256: Option<String>,
    /// When it was revoked (unix seconds); null while not revoked.
    pub revoked_at: Option<i64>,
    /// CRLReason (RFC 5280 §5.3.1) once revoked.
    pub revocation_reason: Option<i32>,
    /// Who or what revoked it (see `sa::model::Revocation::cause`).
    pub revocation_cause: Option<String>,
    /// The certificate whose revocation also revokes this one (a delegate's `sca`).
    pub parent_serial: Option<String>,
}

/// No navigations: `sa` joins by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
