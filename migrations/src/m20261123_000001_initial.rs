//! The first schema: accounts, EAB keys, orders, authorizations, challenges, certificates, the nonce
//! replay record and the Authority Token use record.
//!
//! Timestamps are BIGINT unix seconds, binary values blob/bytea, JSON values text. Every table has a
//! text primary key (random opaque ids, serials, nonces, token `jti`s), so replicas never contend on
//! a sequence.

use sea_orm_migration::prelude::*;

/// Creates the initial tables and their indexes.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_initial"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Jwk,
    Thumbprint,
    Status,
    Contact,
    EabKid,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EabKeys {
    Table,
    Kid,
    HmacKey,
    Name,
    Spcs,
    AccountId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    AccountId,
    Status,
    IdentifierDer,
    NotBefore,
    NotAfter,
    Expires,
    Error,
    CertificateSerial,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Authzs {
    Table,
    Id,
    AccountId,
    OrderId,
    IdentifierDer,
    Status,
    Expires,
    CaGrant,
    TokenJti,
    TokenExp,
}

#[derive(DeriveIden)]
enum Challenges {
    Table,
    Id,
    AuthzId,
    Kind,
    Status,
    Token,
    ValidatedAt,
    Error,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Serial,
    AccountId,
    OrderId,
    Profile,
    Der,
    ChainPem,
    NotBefore,
    NotAfter,
    TokenJti,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UsedNonces {
    Table,
    Nonce,
    Expires,
}

#[derive(DeriveIden)]
enum Tokens {
    Table,
    Jti,
    AccountId,
    Exp,
    FirstUsedAt,
}

fn text_pk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().primary_key().take()
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().take()
}

fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().null().take()
}

fn id_ref(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().take()
}

fn bigint(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().take()
}

fn bigint_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().null().take()
}

fn blob(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).blob().not_null().take()
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .on_update(ForeignKeyAction::Restrict)
        .take()
}

fn index(name: &str, table: impl IntoIden, col: impl IntoIden) -> IndexCreateStatement {
    Index::create().name(name).table(table).col(col).take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(text_pk(Accounts::Id))
                    .col(text(Accounts::Jwk))
                    .col(id_ref(Accounts::Thumbprint))
                    .col(id_ref(Accounts::Status))
                    .col(text(Accounts::Contact))
                    .col(ColumnDef::new(Accounts::EabKid).string().null())
                    .col(bigint(Accounts::CreatedAt))
                    .take(),
            )
            .await?;
        // RFC 8555 §7.3.1 and §7.3.5: one account per key, looked up by the key on newAccount.
        manager
            .create_index(
                index(
                    "ux_accounts_thumbprint",
                    Accounts::Table,
                    Accounts::Thumbprint,
                )
                .unique()
                .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EabKeys::Table)
                    .col(text_pk(EabKeys::Kid))
                    .col(blob(EabKeys::HmacKey))
                    .col(text(EabKeys::Name))
                    .col(text(EabKeys::Spcs))
                    .col(ColumnDef::new(EabKeys::AccountId).string().null())
                    .col(bigint(EabKeys::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_eab_keys_account",
                        (EabKeys::Table, EabKeys::AccountId),
                        (Accounts::Table, Accounts::Id),
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(text_pk(Orders::Id))
                    .col(id_ref(Orders::AccountId))
                    .col(id_ref(Orders::Status))
                    .col(blob(Orders::IdentifierDer))
                    .col(bigint_null(Orders::NotBefore))
                    .col(bigint_null(Orders::NotAfter))
                    .col(bigint(Orders::Expires))
                    .col(text_null(Orders::Error))
                    .col(ColumnDef::new(Orders::CertificateSerial).string().null())
                    .col(bigint(Orders::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_orders_account",
                        (Orders::Table, Orders::AccountId),
                        (Accounts::Table, Accounts::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_orders_account_id",
                Orders::Table,
                Orders::AccountId,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Authzs::Table)
                    .col(text_pk(Authzs::Id))
                    .col(id_ref(Authzs::AccountId))
                    .col(id_ref(Authzs::OrderId))
                    .col(blob(Authzs::IdentifierDer))
                    .col(id_ref(Authzs::Status))
                    .col(bigint(Authzs::Expires))
                    .col(ColumnDef::new(Authzs::CaGrant).boolean().null())
                    .col(text_null(Authzs::TokenJti))
                    .col(bigint_null(Authzs::TokenExp))
                    .foreign_key(&mut fk(
                        "fk_authzs_account",
                        (Authzs::Table, Authzs::AccountId),
                        (Accounts::Table, Accounts::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_authzs_order",
                        (Authzs::Table, Authzs::OrderId),
                        (Orders::Table, Orders::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("ix_authzs_order_id", Authzs::Table, Authzs::OrderId))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Challenges::Table)
                    .col(text_pk(Challenges::Id))
                    .col(id_ref(Challenges::AuthzId))
                    .col(id_ref(Challenges::Kind))
                    .col(id_ref(Challenges::Status))
                    .col(text(Challenges::Token))
                    .col(bigint_null(Challenges::ValidatedAt))
                    .col(text_null(Challenges::Error))
                    .foreign_key(&mut fk(
                        "fk_challenges_authz",
                        (Challenges::Table, Challenges::AuthzId),
                        (Authzs::Table, Authzs::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_challenges_authz_id",
                Challenges::Table,
                Challenges::AuthzId,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Certificates::Table)
                    .col(text_pk(Certificates::Serial))
                    .col(id_ref(Certificates::AccountId))
                    .col(id_ref(Certificates::OrderId))
                    .col(id_ref(Certificates::Profile))
                    .col(blob(Certificates::Der))
                    .col(text(Certificates::ChainPem))
                    .col(bigint(Certificates::NotBefore))
                    .col(bigint(Certificates::NotAfter))
                    .col(text_null(Certificates::TokenJti))
                    .col(bigint(Certificates::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_certificates_account",
                        (Certificates::Table, Certificates::AccountId),
                        (Accounts::Table, Accounts::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_certificates_order",
                        (Certificates::Table, Certificates::OrderId),
                        (Orders::Table, Orders::Id),
                    ))
                    .take(),
            )
            .await?;
        // One certificate per order: a second issuance for the same order fails in the database
        // even if the status guard were bypassed.
        manager
            .create_index(
                index(
                    "ux_certificates_order_id",
                    Certificates::Table,
                    Certificates::OrderId,
                )
                .unique()
                .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_certificates_account_id",
                Certificates::Table,
                Certificates::AccountId,
            ))
            .await?;

        // RFC 8555 §6.5: the replay record that makes nonces single-use across replicas.
        manager
            .create_table(
                Table::create()
                    .table(UsedNonces::Table)
                    .col(text_pk(UsedNonces::Nonce))
                    .col(bigint(UsedNonces::Expires))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_used_nonces_expires",
                UsedNonces::Table,
                UsedNonces::Expires,
            ))
            .await?;

        // RFC 9447 §5: token reuse bookkeeping by `jti`.
        manager
            .create_table(
                Table::create()
                    .table(Tokens::Table)
                    .col(text_pk(Tokens::Jti))
                    .col(id_ref(Tokens::AccountId))
                    .col(bigint(Tokens::Exp))
                    .col(bigint(Tokens::FirstUsedAt))
                    .foreign_key(&mut fk(
                        "fk_tokens_account",
                        (Tokens::Table, Tokens::AccountId),
                        (Accounts::Table, Accounts::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("ix_tokens_exp", Tokens::Table, Tokens::Exp))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Tokens::Table.into_iden(),
            UsedNonces::Table.into_iden(),
            Certificates::Table.into_iden(),
            Challenges::Table.into_iden(),
            Authzs::Table.into_iden(),
            Orders::Table.into_iden(),
            EabKeys::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
