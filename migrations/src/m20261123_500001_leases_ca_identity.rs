//! Replica safety (issue 5): `leases`, so that periodic jobs (CRL regeneration, purges) run on one
//! replica at a time and move to another when the holder dies; and `ca_identity`, the fingerprint
//! of the CA hierarchy a database belongs to, so that a replica with another (or a fresh) CA
//! refuses to start instead of making a second hierarchy (docs/operations.md).
//!
//! Times are unix seconds, like the rest of the schema.

use sea_orm_migration::prelude::*;

/// Adds `leases` and `ca_identity`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_500001_leases_ca_identity"
    }
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum CaIdentity {
    Table,
    Name,
    RootSha256,
    IssuerSha256,
    BoundAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Leases::Table)
                    .col(
                        ColumnDef::new(Leases::Name)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Leases::Holder).string().not_null())
                    .col(ColumnDef::new(Leases::ExpiresAt).big_integer().not_null())
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaIdentity::Table)
                    .col(
                        ColumnDef::new(CaIdentity::Name)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CaIdentity::RootSha256).string().not_null())
                    .col(ColumnDef::new(CaIdentity::IssuerSha256).string().not_null())
                    .col(ColumnDef::new(CaIdentity::BoundAt).big_integer().not_null())
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaIdentity::Table).take())
            .await?;
        manager
            .drop_table(Table::drop().table(Leases::Table).take())
            .await
    }
}
