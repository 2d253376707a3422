//! `certificates.parent_serial`: the serial of the certificate that authorized this one (a
//! delegate's `sca`, RFC 9060), so that revoking a parent revokes everything below it.
//!
//! Added only when missing: the profiles work adds the same column, and whichever migration runs
//! first creates it.

use sea_orm_migration::prelude::*;

/// Adds `certificates.parent_serial` (nullable) and its index, unless present.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_100002_parent_serial"
    }
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    ParentSerial,
}

const INDEX: &str = "ix_certificates_parent_serial";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager.has_column("certificates", "parent_serial").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Certificates::Table)
                        .add_column(ColumnDef::new(Certificates::ParentSerial).string().null())
                        .take(),
                )
                .await?;
        }
        if !manager.has_index("certificates", INDEX).await? {
            manager
                .create_index(
                    Index::create()
                        .name(INDEX)
                        .table(Certificates::Table)
                        .col(Certificates::ParentSerial)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The column may predate this migration (added by another one): leave it.
        Ok(())
    }
}
