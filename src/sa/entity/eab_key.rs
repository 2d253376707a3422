//! `eab_keys`: external account binding keys (RFC 8555 §7.3.4).

use sea_orm::entity::prelude::*;

/// One row of `eab_keys`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "eab_keys")]
pub struct Model {
    /// Key id the client sends as the EAB JWS `kid`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// The HMAC key (secret).
    pub hmac_key: Vec<u8>,
    /// Legal name that becomes the certificate's `O`.
    pub name: String,
    /// SPCs the bound account may order, as a JSON array (empty: any).
    pub spcs: String,
    /// The account bound to this key, once bound.
    pub account_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("eab_key::Model")
            .field("kid", &self.kid)
            .field("hmac_key", &"<redacted>")
            .field("name", &self.name)
            .field("spcs", &self.spcs)
            .field("account_id", &self.account_id)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// No navigations: `sa` joins by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
