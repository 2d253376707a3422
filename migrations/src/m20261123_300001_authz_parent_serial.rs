//! Authorizations remember which stica-issued certificate signed their Authority Token, when a
//! carrier delegated numbers directly (issue 3, "Direct" delegation): finalize copies it to
//! `certificates.parent_serial`, so that revoking the carrier's certificate reaches the
//! enterprise's delegate certificate too (RFC 9060 §7).
//!
//! `parent_serial` is the signer certificate's serial, lowercase hex; NULL when a token authority
//! (the STI-PA) signed the token.

use sea_orm_migration::prelude::*;

/// Adds `authzs.parent_serial`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_300001_authz_parent_serial"
    }
}

#[derive(DeriveIden)]
enum Authzs {
    Table,
    ParentSerial,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Authzs::Table)
                    .add_column(ColumnDef::new(Authzs::ParentSerial).string().null())
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Authzs::Table)
                    .drop_column(Authzs::ParentSerial)
                    .take(),
            )
            .await
    }
}
