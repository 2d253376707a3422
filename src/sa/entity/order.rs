//! `orders`: ACME orders (RFC 8555 §7.1.3).

use sea_orm::entity::prelude::*;

/// One row of `orders`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    /// Random opaque id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// `pending`, `ready`, `processing`, `valid` or `invalid`.
    pub status: String,
    /// The TNAuthList identifier value, DER.
    pub identifier_der: Vec<u8>,
    /// Requested notBefore, unix seconds.
    pub not_before: Option<i64>,
    /// Requested notAfter, unix seconds.
    pub not_after: Option<i64>,
    /// Unix seconds.
    pub expires: i64,
    /// Problem document JSON when the order failed.
    pub error: Option<String>,
    /// Hex serial of the issued certificate.
    pub certificate_serial: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// When finalize claimed it (`processing`), unix seconds (migration m20261123_300002).
    pub processing_since: Option<i64>,
}

/// No navigations: `sa` joins by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
