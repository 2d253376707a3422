//! `orders.processing_since`: when finalize claimed the order (`ready -> processing`), so that an
//! order whose replica died while signing does not stay `processing` for ever: after a bound it
//! becomes `invalid`, and a late completion by a stalled replica is refused because the order is
//! no longer `processing` (issue 5: a killed replica loses and duplicates nothing).

use sea_orm_migration::prelude::*;

/// Adds `orders.processing_since` (unix seconds, NULL unless processing).
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_300002_order_processing_since"
    }
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    ProcessingSince,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(ColumnDef::new(Orders::ProcessingSince).big_integer().null())
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::ProcessingSince)
                    .take(),
            )
            .await
    }
}
