//! Revocation and status publication: revocation state on `certificates`, the SHA-256 of each
//! certificate (issuance-state API lookups by hash), the change sequence external OCSP responders
//! mirror, named counters (change sequence, CRL number), the published CRL, and the hashed bearer
//! tokens of issuance-state API consumers.
//!
//! `status_changes.seq` is the one integer key in the schema: it must be a commit-ordered sequence
//! (a reader polling "since N" must never miss a row that commits later with a smaller number), so
//! it is not a database sequence but taken from the `counters` row `change_seq` inside the writing
//! transaction, whose row lock serializes writers until commit.
//!
//! Existing certificates get their hash and an `issued` change, in creation order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};

/// Adds the revocation and publication tables and columns.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_100001_revocation"
    }
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Serial,
    Der,
    CreatedAt,
    DerSha256,
    RevokedAt,
    RevocationReason,
    RevocationCause,
}

#[derive(DeriveIden)]
enum StatusChanges {
    Table,
    Seq,
    Serial,
    Event,
    At,
}

#[derive(DeriveIden)]
enum Counters {
    Table,
    Name,
    Value,
}

#[derive(DeriveIden)]
enum Crls {
    Table,
    Id,
    Number,
    ThisUpdate,
    NextUpdate,
    CoveredSeq,
    Url,
    Der,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    Name,
    TokenSha256,
    CreatedAt,
}

/// The counter that numbers `status_changes`.
const CHANGE_SEQ: &str = "change_seq";
/// The counter that numbers CRLs (RFC 5280 §5.2.3: monotonically increasing).
const CRL_NUMBER: &str = "crl_number";

fn query_err(e: sea_query::error::Error) -> DbErr {
    DbErr::Custom(format!("building a backfill statement: {e}"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for col in [
            ColumnDef::new(Certificates::DerSha256)
                .string()
                .null()
                .take(),
            ColumnDef::new(Certificates::RevokedAt)
                .big_integer()
                .null()
                .take(),
            ColumnDef::new(Certificates::RevocationReason)
                .integer()
                .null()
                .take(),
            ColumnDef::new(Certificates::RevocationCause)
                .text()
                .null()
                .take(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Certificates::Table)
                        .add_column(col)
                        .take(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_certificates_der_sha256")
                    .table(Certificates::Table)
                    .col(Certificates::DerSha256)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_certificates_revoked_at")
                    .table(Certificates::Table)
                    .col(Certificates::RevokedAt)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(StatusChanges::Table)
                    .col(
                        ColumnDef::new(StatusChanges::Seq)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(StatusChanges::Serial).string().not_null())
                    .col(ColumnDef::new(StatusChanges::Event).string().not_null())
                    .col(ColumnDef::new(StatusChanges::At).big_integer().not_null())
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Counters::Table)
                    .col(
                        ColumnDef::new(Counters::Name)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Counters::Value).big_integer().not_null())
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Crls::Table)
                    .col(ColumnDef::new(Crls::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(Crls::Number).big_integer().not_null())
                    .col(ColumnDef::new(Crls::ThisUpdate).big_integer().not_null())
                    .col(ColumnDef::new(Crls::NextUpdate).big_integer().not_null())
                    .col(ColumnDef::new(Crls::CoveredSeq).big_integer().not_null())
                    .col(ColumnDef::new(Crls::Url).text().not_null())
                    .col(ColumnDef::new(Crls::Der).blob().not_null())
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(
                        ColumnDef::new(ApiTokens::Id)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ApiTokens::Name).string().not_null())
                    .col(ColumnDef::new(ApiTokens::TokenSha256).string().not_null())
                    .col(
                        ColumnDef::new(ApiTokens::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .take(),
            )
            .await?;
        for (name, col) in [
            ("ux_api_tokens_name", ApiTokens::Name),
            ("ux_api_tokens_token_sha256", ApiTokens::TokenSha256),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ApiTokens::Table)
                        .col(col)
                        .unique()
                        .take(),
                )
                .await?;
        }

        // Backfill: hashes and `issued` changes for the certificates issued so far.
        let db = manager.get_connection();
        let rows = db
            .query_all(
                &Query::select()
                    .columns([
                        Certificates::Serial,
                        Certificates::Der,
                        Certificates::CreatedAt,
                    ])
                    .from(Certificates::Table)
                    .order_by(Certificates::CreatedAt, Order::Asc)
                    .order_by(Certificates::Serial, Order::Asc)
                    .take(),
            )
            .await?;
        let mut seq: i64 = 0;
        for row in rows {
            let serial: String = row.try_get("", "serial")?;
            let der: Vec<u8> = row.try_get("", "der")?;
            let created_at: i64 = row.try_get("", "created_at")?;
            let hash: String = Sha256::digest(&der)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            db.execute(
                &Query::update()
                    .table(Certificates::Table)
                    .value(Certificates::DerSha256, hash)
                    .and_where(Expr::col(Certificates::Serial).eq(serial.clone()))
                    .take(),
            )
            .await?;
            seq += 1;
            db.execute(
                &Query::insert()
                    .into_table(StatusChanges::Table)
                    .columns([
                        StatusChanges::Seq,
                        StatusChanges::Serial,
                        StatusChanges::Event,
                        StatusChanges::At,
                    ])
                    .values([
                        seq.into(),
                        serial.into(),
                        "issued".into(),
                        created_at.into(),
                    ])
                    .map_err(query_err)?
                    .take(),
            )
            .await?;
        }
        db.execute(
            &Query::insert()
                .into_table(Counters::Table)
                .columns([Counters::Name, Counters::Value])
                .values([CHANGE_SEQ.into(), seq.into()])
                .map_err(query_err)?
                .values([CRL_NUMBER.into(), 0i64.into()])
                .map_err(query_err)?
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ApiTokens::Table.into_iden(),
            Crls::Table.into_iden(),
            Counters::Table.into_iden(),
            StatusChanges::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        for index in ["ix_certificates_der_sha256", "ix_certificates_revoked_at"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(index)
                        .table(Certificates::Table)
                        .to_owned(),
                )
                .await?;
        }
        for col in [
            Certificates::RevocationCause,
            Certificates::RevocationReason,
            Certificates::RevokedAt,
            Certificates::DerSha256,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Certificates::Table)
                        .drop_column(col)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
