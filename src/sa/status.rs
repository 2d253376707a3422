//! Revocation, the change sequence, published CRLs and issuance-state API tokens.
//!
//! Two counters make replicas agree without a sequence object: `change_seq` numbers
//! `status_changes` and `crl_number` numbers CRLs. Each is taken by `UPDATE counters SET value =
//! value + 1` inside the writing transaction; the row lock it takes (PostgreSQL) or the write lock
//! (`BEGIN IMMEDIATE`, SQLite) holds until commit, so numbers commit in order and a reader that has
//! seen change `n` has seen every change below `n`.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};

use crate::acme::AuthzStatus;

use super::conn::Txn;
use super::entity::{api_token, authz, certificate, crl, status_change};
use super::model::{
    ApiToken, CertificateState, Change, ChangeEvent, CrlInput, Revocation, RevokeOutcome,
    RevokedEntry, StoredCrl,
};
use super::{SaError, Storage, finish, inconsistent, is_unique_violation};

/// The counter that numbers `status_changes`.
const CHANGE_SEQ: &str = "change_seq";
/// The counter that numbers CRLs.
const CRL_NUMBER: &str = "crl_number";
/// How many generations of delegation a cascade follows (RFC 9060 chains are short; this only
/// bounds a corrupt loop).
const MAX_CASCADE_DEPTH: usize = 32;

/// The columns of a revoked certificate a CRL lists, read by name (not position: the inline
/// SQLite rows are maps, see `inline.rs`).
#[derive(Debug, sea_orm::FromQueryResult)]
struct RevokedRow {
    serial: String,
    der: Vec<u8>,
    revoked_at: Option<i64>,
    revocation_reason: Option<i32>,
}

/// Takes the next value of a counter. The update holds the row (or database) write lock until
/// the transaction ends, which serializes every writer of this counter.
async fn next_counter(txn: &Txn, name: &str) -> Result<i64, SaError> {
    // One statement (`RETURNING`: SQLite 3.35+, PostgreSQL) instead of an UPDATE and a SELECT.
    // The `counters` table (name TEXT PRIMARY KEY, value BIGINT) is created by the migrations.
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value"
        }
        _ => "UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value",
    };
    txn.query_one_raw(Statement::from_sql_and_values(backend, sql, [name.into()]))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .ok_or_else(|| inconsistent("missing counter row"))
}

/// Appends an event to the change sequence, in the caller's transaction.
pub(super) async fn record_change(
    txn: &Txn,
    serial: &str,
    event: ChangeEvent,
    at: i64,
) -> Result<i64, SaError> {
    let seq = next_counter(txn, CHANGE_SEQ).await?;
    status_change::Entity::insert(status_change::ActiveModel {
        seq: Set(seq),
        serial: Set(serial.to_string()),
        event: Set(event.as_str().to_string()),
        at: Set(at),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(seq)
}

/// Revokes one certificate if it is not revoked yet; true if this call revoked it.
async fn revoke_one(txn: &Txn, serial: &str, revocation: &Revocation) -> Result<bool, SaError> {
    let res = certificate::Entity::update_many()
        .col_expr(
            certificate::Column::RevokedAt,
            Expr::value(revocation.revoked_at),
        )
        .col_expr(
            certificate::Column::RevocationReason,
            Expr::value(i32::from(revocation.reason)),
        )
        .col_expr(
            certificate::Column::RevocationCause,
            Expr::value(revocation.cause.clone()),
        )
        .filter(certificate::Column::Serial.eq(serial))
        .filter(certificate::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    record_change(txn, serial, ChangeEvent::Revoked, revocation.revoked_at).await?;
    Ok(true)
}

impl Storage {
    /// A certificate with its revocation state.
    pub async fn certificate_state(
        &self,
        serial: &str,
    ) -> Result<Option<CertificateState>, SaError> {
        let m = certificate::Entity::find_by_id(serial)
            .one(&self.db)
            .await?;
        self.told_durably().await?;
        Ok(m.map(CertificateState::try_from).transpose()?)
    }

    /// The certificates with these serials, by serial (missing ones are absent).
    pub async fn certificate_states(
        &self,
        serials: &[String],
    ) -> Result<std::collections::HashMap<String, CertificateState>, SaError> {
        if serials.is_empty() {
            return Ok(Default::default());
        }
        let rows = certificate::Entity::find()
            .filter(certificate::Column::Serial.is_in(serials.to_vec()))
            .all(&self.db)
            .await?;
        self.told_durably().await?;
        rows.into_iter()
            .map(|m| {
                let st = CertificateState::try_from(m)?;
                Ok((st.cert.serial.clone(), st))
            })
            .collect()
    }

    /// The certificate whose DER has this SHA-256 (lowercase hex).
    pub async fn certificate_state_by_hash(
        &self,
        sha256_hex: &str,
    ) -> Result<Option<CertificateState>, SaError> {
        let m = certificate::Entity::find()
            .filter(certificate::Column::DerSha256.eq(sha256_hex))
            .one(&self.db)
            .await?;
        self.told_durably().await?;
        Ok(m.map(CertificateState::try_from).transpose()?)
    }

    /// Whether `account_id` holds a valid authorization, unexpired at `now`, for exactly this
    /// TNAuthList DER value (RFC 8555 §7.6 as standards.md §5 reads it for TNAuthList).
    pub async fn has_valid_authz_for(
        &self,
        account_id: &str,
        identifier_der: &[u8],
        now: i64,
    ) -> Result<bool, SaError> {
        let found = authz::Entity::find()
            .filter(authz::Column::AccountId.eq(account_id))
            .filter(authz::Column::IdentifierDer.eq(identifier_der.to_vec()))
            .filter(authz::Column::Status.eq(AuthzStatus::Valid.as_str()))
            .filter(authz::Column::Expires.gt(now))
            .one(&self.db)
            .await?;
        Ok(found.is_some())
    }

    /// Revokes `serial` with `revocation` and, in the same transaction, every certificate below
    /// it (`parent_serial`, followed down), each with `child_reason` and the cause
    /// `parent:<serial of its parent>`. Each revocation appends a `revoked` change.
    pub async fn revoke_certificate(
        &self,
        serial: &str,
        revocation: &Revocation,
        child_reason: u8,
    ) -> Result<RevokeOutcome, SaError> {
        let gate = self.gate().await;
        let txn = self.begin_durable(gate).await?;
        let r = async {
            let Some(current) = certificate::Entity::find_by_id(serial).one(&txn).await? else {
                return Ok(RevokeOutcome::NotFound);
            };
            if !revoke_one(&txn, serial, revocation).await? {
                let state = CertificateState::try_from(current)?;
                return Ok(match state.revocation {
                    Some(r) => RevokeOutcome::AlreadyRevoked(r),
                    None => RevokeOutcome::NotFound,
                });
            }
            let mut cascaded = Vec::new();
            let mut frontier = vec![serial.to_string()];
            for _ in 0..MAX_CASCADE_DEPTH {
                if frontier.is_empty() {
                    break;
                }
                let children = certificate::Entity::find()
                    .filter(certificate::Column::ParentSerial.is_in(frontier.clone()))
                    .filter(certificate::Column::RevokedAt.is_null())
                    .order_by_asc(certificate::Column::Serial)
                    .all(&txn)
                    .await?;
                let mut next = Vec::new();
                for child in children {
                    let parent = child.parent_serial.clone().unwrap_or_default();
                    let r = Revocation {
                        revoked_at: revocation.revoked_at,
                        reason: child_reason,
                        cause: format!("parent:{parent}"),
                    };
                    if revoke_one(&txn, &child.serial, &r).await? {
                        cascaded.push(child.serial.clone());
                        next.push(child.serial);
                    }
                }
                frontier = next;
            }
            Ok(RevokeOutcome::Revoked { cascaded })
        }
        .await;
        finish(txn, r).await
    }

    /// Up to `limit` changes after `after` (0: from the start), in sequence order.
    pub async fn changes_since(&self, after: i64, limit: u64) -> Result<Vec<Change>, SaError> {
        let rows = status_change::Entity::find()
            .filter(status_change::Column::Seq.gt(after))
            .order_by_asc(status_change::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?;
        self.told_durably().await?;
        Ok(rows
            .into_iter()
            .map(Change::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// The sequence number of the latest revocation (0 if none).
    pub async fn last_revocation_seq(&self) -> Result<i64, SaError> {
        let m = status_change::Entity::find()
            .filter(status_change::Column::Event.eq(ChangeEvent::Revoked.as_str()))
            .order_by_desc(status_change::Column::Seq)
            .one(&self.db)
            .await?;
        Ok(m.map_or(0, |m| m.seq))
    }

    // ---- CRLs (RFC 5280 §5) ----

    /// The CRL currently published as `id`.
    pub async fn current_crl(&self, id: &str) -> Result<Option<StoredCrl>, SaError> {
        let m = crl::Entity::find_by_id(id).one(&self.db).await?;
        self.told_durably().await?;
        Ok(m.map(StoredCrl::from))
    }

    /// Builds and stores the next CRL `id` in one transaction: takes the next CRL number (which
    /// serializes CRL writers across replicas), reads the revoked certificates whose notAfter is
    /// not before `listed_after`, calls `build` (which signs) and stores its result as the
    /// current CRL. `build` returns `(der, this_update, next_update)`; if it fails nothing is
    /// stored and the number is not used.
    pub async fn publish_crl<E>(
        &self,
        id: &str,
        url: &str,
        listed_after: i64,
        build: impl FnOnce(&CrlInput) -> Result<(Vec<u8>, i64, i64), E>,
    ) -> Result<Result<StoredCrl, E>, SaError> {
        let gate = self.gate().await;
        let txn = self.begin_durable(gate).await?;
        let number = match next_counter(&txn, CRL_NUMBER).await {
            Ok(n) => n,
            Err(e) => return finish(txn, Err(e)).await,
        };
        let r = async {
            // The sequence first: a revocation committing between the two reads is listed
            // without being counted as covered, which costs one extra CRL, never a missed one.
            let covered_seq = status_change::Entity::find()
                .filter(status_change::Column::Event.eq(ChangeEvent::Revoked.as_str()))
                .order_by_desc(status_change::Column::Seq)
                .one(&txn)
                .await?
                .map_or(0, |m| m.seq);
            let rows = certificate::Entity::find()
                .select_only()
                .column(certificate::Column::Serial)
                .column(certificate::Column::Der)
                .column(certificate::Column::RevokedAt)
                .column(certificate::Column::RevocationReason)
                .filter(certificate::Column::RevokedAt.is_not_null())
                .filter(certificate::Column::NotAfter.gte(listed_after))
                .order_by_asc(certificate::Column::Serial)
                .into_model::<RevokedRow>()
                .all(&txn)
                .await?;
            let entries = rows
                .into_iter()
                .map(
                    |RevokedRow {
                         serial,
                         der,
                         revoked_at,
                         revocation_reason: reason,
                     }| {
                        Ok(RevokedEntry {
                            serial,
                            der,
                            revoked_at: revoked_at.unwrap_or_default(),
                            reason: u8::try_from(reason.unwrap_or(0))
                                .map_err(|_| inconsistent("revocation reason out of range"))?,
                        })
                    },
                )
                .collect::<Result<Vec<_>, SaError>>()?;
            Ok(CrlInput {
                number,
                covered_seq,
                entries,
            })
        }
        .await;
        let input = match r {
            Ok(input) => input,
            Err(e) => return finish(txn, Err(e)).await,
        };
        let (der, this_update, next_update) = match build(&input) {
            Ok(built) => built,
            Err(e) => {
                if let Err(rollback) = txn.rollback().await {
                    tracing::warn!(error = %rollback, "rollback failed");
                }
                return Ok(Err(e));
            }
        };
        let stored = StoredCrl {
            number,
            this_update,
            next_update,
            covered_seq: input.covered_seq,
            url: url.to_string(),
            der,
        };
        let r = async {
            let row = crl::ActiveModel {
                id: Set(id.to_string()),
                number: Set(stored.number),
                this_update: Set(stored.this_update),
                next_update: Set(stored.next_update),
                covered_seq: Set(stored.covered_seq),
                url: Set(stored.url.clone()),
                der: Set(stored.der.clone()),
            };
            crl::Entity::delete_by_id(id).exec(&txn).await?;
            crl::Entity::insert(row)
                .exec_without_returning(&txn)
                .await?;
            Ok(())
        }
        .await;
        finish(txn, r).await?;
        Ok(Ok(stored))
    }

    // ---- issuance-state API consumers ----

    /// Stores a consumer's token hash. A taken name is a `Conflict`.
    pub async fn insert_api_token(
        &self,
        token: &ApiToken,
        token_sha256: &str,
    ) -> Result<(), SaError> {
        let _gate = self.gate().await;
        let row = api_token::ActiveModel {
            id: Set(token.id.clone()),
            name: Set(token.name.clone()),
            token_sha256: Set(token_sha256.to_string()),
            created_at: Set(token.created_at),
        };
        match api_token::Entity::insert(row)
            .exec_without_returning(&self.durable)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(SaError::Conflict {
                what: "an API token with this name exists",
                id: token.name.clone(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The consumer whose token hashes to `token_sha256`.
    pub async fn api_token_by_hash(&self, token_sha256: &str) -> Result<Option<ApiToken>, SaError> {
        Ok(api_token::Entity::find()
            .filter(api_token::Column::TokenSha256.eq(token_sha256))
            .one(&self.db)
            .await?
            .map(ApiToken::from))
    }

    /// Every consumer, by name.
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiToken>, SaError> {
        Ok(api_token::Entity::find()
            .order_by_asc(api_token::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(ApiToken::from)
            .collect())
    }

    /// Removes the consumer `name`; false if there was none.
    pub async fn delete_api_token(&self, name: &str) -> Result<bool, SaError> {
        let _gate = self.gate().await;
        let res = api_token::Entity::delete_many()
            .filter(api_token::Column::Name.eq(name))
            .exec(&self.durable)
            .await?;
        Ok(res.rows_affected == 1)
    }
}

#[cfg(test)]
mod tests;
