//! Authorizations remember the JWT claim constraints their Authority Token asked for
//! (RFC 8226 §8 / RFC 9118), so that finalize can put them into a `tn-level` or `delegate`
//! certificate (issue 3, item 6).
//!
//! `claim_constraints` is text: `jwtcc:<base64url DER>` (JWTClaimConstraints) or
//! `ejwtcc:<base64url DER>` (EnhancedJWTClaimConstraints); NULL when the token asked for none.

use sea_orm_migration::prelude::*;

/// Adds `authzs.claim_constraints`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_200001_authz_claim_constraints"
    }
}

#[derive(DeriveIden)]
enum Authzs {
    Table,
    ClaimConstraints,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Authzs::Table)
                    .add_column(ColumnDef::new(Authzs::ClaimConstraints).text().null())
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Authzs::Table)
                    .drop_column(Authzs::ClaimConstraints)
                    .take(),
            )
            .await
    }
}
