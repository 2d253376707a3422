//! Storage tests for revocation, the cascade below a parent, the change sequence, CRL
//! publication and API tokens (SQLite, or PostgreSQL with `STICA_TEST_DATABASE_URL`).

use sea_orm::{ConnectionTrait, Statement};

use crate::acme::{AccountStatus, AuthzStatus, ChallengeStatus, OrderStatus};
use crate::sa::model::{Account, Authz, CertificateRecord, Challenge, ChallengeOutcome, Order};
use crate::sa::testing::{drop_database, fresh_database_url};
use crate::sa::{ApiToken, ChangeEvent, Revocation, RevokeOutcome, SaError, Storage, new_id};

const TNAUTH_1234: &[u8] = &[0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, b'1', b'2', b'3', b'4'];

struct TestDb {
    s: Storage,
    url: String,
}

impl TestDb {
    async fn new() -> Self {
        let url = fresh_database_url().await.unwrap();
        let s = Storage::connect(&url).await.unwrap();
        Self { s, url }
    }
    async fn done(self) {
        self.s.close().await.unwrap();
        drop_database(&self.url).await.unwrap();
    }
}

async fn account(s: &Storage) -> Account {
    let a = Account {
        id: new_id(),
        jwk: "{}".into(),
        thumbprint: new_id(),
        status: AccountStatus::Valid,
        contact: vec![],
        eab_kid: None,
        created_at: 1_000,
    };
    s.insert_account(&a).await.unwrap();
    a
}

/// A ready order of `account` for SPC 1234 whose authorization expires at `expires`.
async fn ready_order(s: &Storage, account: &Account, expires: i64) -> Order {
    let order = Order {
        id: new_id(),
        account_id: account.id.clone(),
        status: OrderStatus::Pending,
        identifier_der: TNAUTH_1234.to_vec(),
        not_before: None,
        not_after: None,
        expires,
        error: None,
        certificate_serial: None,
        created_at: 1_000,
        processing_since: None,
    };
    let authz = Authz {
        id: new_id(),
        account_id: account.id.clone(),
        order_id: order.id.clone(),
        identifier_der: TNAUTH_1234.to_vec(),
        status: AuthzStatus::Pending,
        expires,
        ca_grant: None,
        token_jti: None,
        token_exp: None,
        claim_constraints: None,
        parent_serial: None,
    };
    let ch = Challenge {
        id: new_id(),
        authz_id: authz.id.clone(),
        kind: "tkauth-01".into(),
        status: ChallengeStatus::Pending,
        token: new_id(),
        validated_at: None,
        error: None,
    };
    s.create_order(&order, &authz, &ch).await.unwrap();
    let valid = ChallengeOutcome::Valid {
        ca_grant: false,
        token_jti: new_id(),
        token_exp: expires,
        claim_constraints: None,
        parent_serial: None,
    };
    assert!(
        s.record_challenge_result(&ch.id, &authz.id, &order.id, &valid, 1_100)
            .await
            .unwrap()
            .is_some()
    );
    s.order(&order.id).await.unwrap().unwrap()
}

/// Issues a certificate with `serial` (and a DER unique to it) for a fresh ready order.
async fn issue(s: &Storage, account: &Account, serial: &str, created_at: i64) -> CertificateRecord {
    let order = ready_order(s, account, 5_000).await;
    assert!(s.begin_finalize(&order.id).await.unwrap());
    let record = CertificateRecord {
        serial: serial.into(),
        account_id: account.id.clone(),
        order_id: order.id.clone(),
        profile: "shaken-spc".into(),
        der: format!("der-{serial}").into_bytes(),
        chain_pem: format!("chain {serial}\n"),
        not_before: 1_000,
        not_after: 10_000,
        token_jti: None,
        created_at,
        parent_serial: None,
    };
    s.complete_issuance(&order.id, &record).await.unwrap();
    record
}

async fn set_parent(s: &Storage, serial: &str, parent: &str) {
    let backend = s.db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "UPDATE certificates SET parent_serial = $1 WHERE serial = $2"
        }
        _ => "UPDATE certificates SET parent_serial = ? WHERE serial = ?",
    };
    s.db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [parent.into(), serial.into()],
    ))
    .await
    .unwrap();
}

fn revocation(at: i64, reason: u8, cause: &str) -> Revocation {
    Revocation {
        revoked_at: at,
        reason,
        cause: cause.into(),
    }
}

#[tokio::test]
async fn issuance_is_a_change_and_revocation_is_recorded_once() {
    let t = TestDb::new().await;
    let s = &t.s;
    let a = account(s).await;
    let c = issue(s, &a, "aa01", 1_200).await;

    let st = s.certificate_state("aa01").await.unwrap().unwrap();
    assert_eq!(st.cert, c);
    assert_eq!(st.sha256, crate::sa::model::sha256_hex(&c.der));
    assert_eq!(st.revocation, None);
    let by_hash = s
        .certificate_state_by_hash(&st.sha256)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_hash.cert.serial, "aa01");
    assert!(
        s.certificate_state_by_hash(&"0".repeat(64))
            .await
            .unwrap()
            .is_none()
    );

    let changes = s.changes_since(0, 10).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].event, ChangeEvent::Issued);
    assert_eq!(changes[0].serial, "aa01");
    assert_eq!(changes[0].at, 1_200);
    let after_issue = changes[0].seq;
    assert_eq!(s.last_revocation_seq().await.unwrap(), 0);

    let r = revocation(1_300, 1, "operator");
    assert_eq!(
        s.revoke_certificate("aa01", &r, 9).await.unwrap(),
        RevokeOutcome::Revoked { cascaded: vec![] }
    );
    let st = s.certificate_state("aa01").await.unwrap().unwrap();
    assert_eq!(st.revocation, Some(r.clone()));
    // A second revocation changes nothing and reports the first.
    assert_eq!(
        s.revoke_certificate("aa01", &revocation(1_400, 4, "x"), 9)
            .await
            .unwrap(),
        RevokeOutcome::AlreadyRevoked(r)
    );
    assert_eq!(
        s.revoke_certificate("ffff", &revocation(1_400, 4, "x"), 9)
            .await
            .unwrap(),
        RevokeOutcome::NotFound
    );
    let later = s.changes_since(after_issue, 10).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].event, ChangeEvent::Revoked);
    assert!(later[0].seq > after_issue);
    assert_eq!(s.last_revocation_seq().await.unwrap(), later[0].seq);
    assert!(s.changes_since(later[0].seq, 10).await.unwrap().is_empty());
    t.done().await;
}

#[tokio::test]
async fn revoking_a_parent_revokes_every_generation_below_it() {
    let t = TestDb::new().await;
    let s = &t.s;
    let a = account(s).await;
    for serial in ["sca1", "del1", "del2", "sub1", "other"] {
        issue(s, &a, serial, 1_000).await;
    }
    set_parent(s, "del1", "sca1").await;
    set_parent(s, "del2", "sca1").await;
    set_parent(s, "sub1", "del1").await;
    // del2 was revoked on its own before: it keeps its own record.
    let own = revocation(1_100, 4, "account:x");
    s.revoke_certificate("del2", &own, 9).await.unwrap();

    let out = s
        .revoke_certificate("sca1", &revocation(1_200, 1, "operator"), 2)
        .await
        .unwrap();
    assert_eq!(
        out,
        RevokeOutcome::Revoked {
            cascaded: vec!["del1".into(), "sub1".into()]
        }
    );
    let del1 = s.certificate_state("del1").await.unwrap().unwrap();
    assert_eq!(del1.parent_serial.as_deref(), Some("sca1"));
    assert_eq!(del1.revocation, Some(revocation(1_200, 2, "parent:sca1")));
    let sub1 = s.certificate_state("sub1").await.unwrap().unwrap();
    assert_eq!(sub1.revocation, Some(revocation(1_200, 2, "parent:del1")));
    let del2 = s.certificate_state("del2").await.unwrap().unwrap();
    assert_eq!(del2.revocation, Some(own));
    assert!(
        s.certificate_state("other")
            .await
            .unwrap()
            .unwrap()
            .revocation
            .is_none()
    );
    // One `revoked` change per certificate.
    let revoked: Vec<String> = s
        .changes_since(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.event == ChangeEvent::Revoked)
        .map(|c| c.serial)
        .collect();
    assert_eq!(revoked, ["del2", "sca1", "del1", "sub1"]);
    t.done().await;
}

#[tokio::test]
async fn change_sequence_is_dense_and_ordered_under_concurrency() {
    let t = TestDb::new().await;
    let s = &t.s;
    let a = account(s).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            let serial = format!("c{i:02}");
            issue(&s, &a, &serial, 1_000).await;
            s.revoke_certificate(&serial, &revocation(1_100, 0, "operator"), 9)
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let all = s.changes_since(0, 1000).await.unwrap();
    assert_eq!(all.len(), 16);
    let seqs: Vec<i64> = all.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=16).collect::<Vec<_>>());
    // Paging by cursor sees each change once.
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = s.changes_since(after, 3).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        seen.extend(page);
    }
    assert_eq!(seen, all);
    t.done().await;
}

#[tokio::test]
async fn valid_unexpired_authorization_for_the_same_tnauthlist() {
    let t = TestDb::new().await;
    let s = &t.s;
    let holder = account(s).await;
    let stranger = account(s).await;
    ready_order(s, &holder, 5_000).await;
    assert!(
        s.has_valid_authz_for(&holder.id, TNAUTH_1234, 4_000)
            .await
            .unwrap()
    );
    // expired
    assert!(
        !s.has_valid_authz_for(&holder.id, TNAUTH_1234, 5_000)
            .await
            .unwrap()
    );
    // another TNAuthList (SPC 1235)
    let mut other = TNAUTH_1234.to_vec();
    *other.last_mut().unwrap() = b'5';
    assert!(
        !s.has_valid_authz_for(&holder.id, &other, 4_000)
            .await
            .unwrap()
    );
    // another account
    assert!(
        !s.has_valid_authz_for(&stranger.id, TNAUTH_1234, 4_000)
            .await
            .unwrap()
    );
    // a deactivated authorization gives no claim (RFC 8555 §7.5.2)
    let order = ready_order(s, &stranger, 5_000).await;
    assert!(
        s.has_valid_authz_for(&stranger.id, TNAUTH_1234, 4_000)
            .await
            .unwrap()
    );
    let authz = s.authz_for_order(&order.id).await.unwrap().remove(0);
    assert_eq!(authz.status, AuthzStatus::Valid);
    assert!(s.deactivate_authz(&authz.id).await.unwrap());
    assert!(
        !s.has_valid_authz_for(&stranger.id, TNAUTH_1234, 4_000)
            .await
            .unwrap()
    );
    t.done().await;
}

#[tokio::test]
async fn crl_numbers_grow_and_failed_builds_store_nothing() {
    let t = TestDb::new().await;
    let s = &t.s;
    let a = account(s).await;
    issue(s, &a, "aa01", 1_000).await;
    issue(s, &a, "aa02", 1_000).await;
    s.revoke_certificate("aa02", &revocation(1_100, 1, "operator"), 9)
        .await
        .unwrap();
    assert!(s.current_crl("stica").await.unwrap().is_none());

    let first = s
        .publish_crl("stica", "http://x/crl", 0, |input| {
            assert_eq!(input.number, 1);
            assert_eq!(input.entries.len(), 1);
            assert_eq!(input.entries[0].serial, "aa02");
            assert_eq!(input.entries[0].reason, 1);
            assert_eq!(input.entries[0].revoked_at, 1_100);
            assert_eq!(input.entries[0].der, b"der-aa02");
            Ok::<_, String>((b"crl-1".to_vec(), 2_000, 3_000))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.number, 1);
    assert_eq!(first.covered_seq, s.last_revocation_seq().await.unwrap());
    assert_eq!(s.current_crl("stica").await.unwrap(), Some(first.clone()));

    // A failing build leaves the current CRL and does not use up a number.
    let err = s
        .publish_crl("stica", "http://x/crl", 0, |_| {
            Err::<(Vec<u8>, i64, i64), _>("no")
        })
        .await
        .unwrap();
    assert_eq!(err, Err("no"));
    assert_eq!(s.current_crl("stica").await.unwrap(), Some(first));

    // Expired certificates drop off once past `listed_after`.
    let second = s
        .publish_crl("stica", "http://x/crl", 10_001, |input| {
            assert_eq!(input.number, 2);
            assert!(input.entries.is_empty());
            Ok::<_, String>((b"crl-2".to_vec(), 4_000, 5_000))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.number, 2);
    assert_eq!(s.current_crl("stica").await.unwrap().unwrap().der, b"crl-2");
    t.done().await;
}

#[tokio::test]
async fn api_tokens_are_found_by_hash_only_and_names_are_unique() {
    let t = TestDb::new().await;
    let s = &t.s;
    let tok = ApiToken {
        id: new_id(),
        name: "ocsp-east".into(),
        created_at: 1_000,
    };
    s.insert_api_token(&tok, &"ab".repeat(32)).await.unwrap();
    assert_eq!(
        s.api_token_by_hash(&"ab".repeat(32)).await.unwrap(),
        Some(tok.clone())
    );
    assert_eq!(s.api_token_by_hash(&"cd".repeat(32)).await.unwrap(), None);
    let dup = ApiToken {
        id: new_id(),
        ..tok.clone()
    };
    assert!(matches!(
        s.insert_api_token(&dup, &"ef".repeat(32)).await,
        Err(SaError::Conflict { .. })
    ));
    assert_eq!(s.list_api_tokens().await.unwrap(), vec![tok]);
    assert!(s.delete_api_token("ocsp-east").await.unwrap());
    assert!(!s.delete_api_token("ocsp-east").await.unwrap());
    assert_eq!(s.api_token_by_hash(&"ab".repeat(32)).await.unwrap(), None);
    t.done().await;
}

/// `?` placeholders for SQLite, `$n` for PostgreSQL.
fn sql(backend: sea_orm::DbBackend, text: &str) -> String {
    if backend != sea_orm::DbBackend::Postgres {
        return text.to_string();
    }
    let mut out = String::new();
    let mut n = 0;
    for c in text.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn upgrade_backfills_hashes_and_issued_changes_in_creation_order() {
    use stica_migrations::{Migrator, MigratorTrait};
    let url = fresh_database_url().await.unwrap();
    {
        // A database as the first release left it, with two certificates.
        let db = sea_orm::Database::connect(&url).await.unwrap();
        Migrator::up(&db, Some(1)).await.unwrap();
        let b = db.get_database_backend();
        let run = |text: &str, values: Vec<sea_orm::Value>| {
            Statement::from_sql_and_values(b, sql(b, text), values)
        };
        db.execute_raw(run(
            "INSERT INTO accounts (id, jwk, thumbprint, status, contact, created_at) VALUES (?, '{}', 't', 'valid', '[]', 1)",
            vec!["acct".into()],
        ))
        .await
        .unwrap();
        for (serial, order, created) in [("bb", "o2", 20i64), ("aa", "o1", 10)] {
            db.execute_raw(run(
                "INSERT INTO orders (id, account_id, status, identifier_der, expires, created_at) VALUES (?, 'acct', 'valid', ?, 100, 1)",
                vec![order.into(), TNAUTH_1234.to_vec().into()],
            ))
            .await
            .unwrap();
            db.execute_raw(run(
                "INSERT INTO certificates (serial, account_id, order_id, profile, der, chain_pem, not_before, not_after, created_at) VALUES (?, 'acct', ?, 'shaken-spc', ?, 'pem', 1, 100, ?)",
                vec![
                    serial.into(),
                    order.into(),
                    format!("der-{serial}").into_bytes().into(),
                    created.into(),
                ],
            ))
            .await
            .unwrap();
        }
        db.close().await.unwrap();
    }
    let s = Storage::connect(&url).await.unwrap();
    let changes = s.changes_since(0, 10).await.unwrap();
    let got: Vec<(i64, &str, ChangeEvent, i64)> = changes
        .iter()
        .map(|c| (c.seq, c.serial.as_str(), c.event, c.at))
        .collect();
    assert_eq!(
        got,
        [
            (1, "aa", ChangeEvent::Issued, 10),
            (2, "bb", ChangeEvent::Issued, 20)
        ]
    );
    let hash = crate::sa::model::sha256_hex(b"der-bb");
    let st = s.certificate_state_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(st.cert.serial, "bb");
    assert_eq!(st.parent_serial, None);
    // The counter continues after the backfill.
    let a = account(&s).await;
    issue(&s, &a, "cc", 30).await;
    assert_eq!(s.changes_since(2, 10).await.unwrap()[0].seq, 3);
    s.close().await.unwrap();
    drop_database(&url).await.unwrap();
}
