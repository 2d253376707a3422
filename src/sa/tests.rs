//! Storage tests. They run on SQLite by default and on PostgreSQL when `STICA_TEST_DATABASE_URL`
//! names a server (each test gets its own database either way).

use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};

use crate::acme::{AccountStatus, AuthzStatus, ChallengeStatus, OrderStatus};
use crate::error::{Error, ErrorKind};

use super::testing::{drop_database, fresh_database_url};
use super::*;

struct TestDb {
    storage: Storage,
    url: String,
}

impl TestDb {
    async fn new() -> Self {
        let url = fresh_database_url().await.expect("fresh database");
        let storage = Storage::connect(&url).await.expect("connect");
        Self { storage, url }
    }

    async fn done(self) {
        self.storage.close().await.expect("close");
        drop_database(&self.url).await.expect("drop database");
    }
}

fn account(created_at: i64) -> Account {
    Account {
        id: new_id(),
        jwk: r#"{"crv":"P-256","kty":"EC","x":"x","y":"y"}"#.to_string(),
        thumbprint: new_id(),
        status: AccountStatus::Valid,
        contact: vec!["mailto:noc@example.com".to_string()],
        eab_kid: None,
        created_at,
    }
}

fn eab(kid: &str, created_at: i64) -> EabKey {
    EabKey {
        kid: kid.to_string(),
        hmac_key: vec![7; 32],
        name: "Example Telecom LLC".to_string(),
        spcs: vec!["709J".to_string(), "1234".to_string()],
        account_id: None,
        created_at,
    }
}

fn order_set(account_id: &str, created_at: i64) -> (Order, Authz, Challenge) {
    // TNAuthList with SPC "1234" (RFC 8226; standards.md §1.2).
    let der = vec![0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, b'1', b'2', b'3', b'4'];
    let order = Order {
        id: new_id(),
        account_id: account_id.to_string(),
        status: OrderStatus::Pending,
        identifier_der: der.clone(),
        not_before: None,
        not_after: Some(created_at + 86_400),
        expires: created_at + 3600,
        error: None,
        certificate_serial: None,
        created_at,
        processing_since: None,
    };
    let authz = Authz {
        id: new_id(),
        account_id: account_id.to_string(),
        order_id: order.id.clone(),
        identifier_der: der,
        status: AuthzStatus::Pending,
        expires: created_at + 3600,
        ca_grant: None,
        token_jti: None,
        token_exp: None,
        claim_constraints: None,
        parent_serial: None,
    };
    let challenge = Challenge {
        id: new_id(),
        authz_id: authz.id.clone(),
        kind: "tkauth-01".to_string(),
        status: ChallengeStatus::Pending,
        token: new_id(),
        validated_at: None,
        error: None,
    };
    (order, authz, challenge)
}

fn valid() -> ChallengeOutcome {
    ChallengeOutcome::Valid {
        ca_grant: false,
        token_jti: "jti-1".to_string(),
        token_exp: 9_999,
        claim_constraints: None,
        parent_serial: None,
    }
}

fn invalid(problem: &str) -> ChallengeOutcome {
    ChallengeOutcome::Invalid {
        error: problem.to_string(),
    }
}

/// Records `outcome` for the challenge at t=1500.
async fn answer(
    s: &Storage,
    authz: &Authz,
    ch: &Challenge,
    outcome: &ChallengeOutcome,
) -> Result<bool, SaError> {
    let written = s
        .record_challenge_result(&ch.id, &authz.id, &authz.order_id, outcome, 1_500)
        .await?;
    if let Some((c, z)) = &written {
        // What it returns is what a fresh read finds.
        assert_eq!(s.challenge(&ch.id).await?.as_ref(), Some(c));
        assert_eq!(s.authz(&authz.id).await?.as_ref(), Some(z));
    }
    Ok(written.is_some())
}

fn cert(order: &Order, serial: &str) -> CertificateRecord {
    CertificateRecord {
        serial: serial.to_string(),
        account_id: order.account_id.clone(),
        order_id: order.id.clone(),
        profile: "shaken-spc".to_string(),
        der: vec![0x30, 0x82, 0x01, 0x00],
        chain_pem: "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n".to_string(),
        not_before: 1_000,
        not_after: 2_000,
        token_jti: Some("jti-1".to_string()),
        created_at: 1_000,
        parent_serial: None,
    }
}

/// An account with one order whose authorization is valid: the order is `ready`.
async fn ready_order(s: &Storage) -> (Account, Order) {
    let acct = account(1_000);
    s.insert_account(&acct).await.unwrap();
    let (order, authz, ch) = order_set(&acct.id, 1_000);
    s.create_order(&order, &authz, &ch).await.unwrap();
    assert!(answer(s, &authz, &ch, &valid()).await.unwrap());
    let order = s.order(&order.id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Ready);
    (acct, order)
}

async fn count(s: &Storage, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let backend = s.db.get_database_backend();
    let row =
        s.db.query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn connect_sets_pragmas_and_migrates_idempotently() {
    let t = TestDb::new().await;
    // A second start on the same database finds the schema applied.
    let again = Storage::connect(&t.url).await.unwrap();
    assert_eq!(count(&again, "accounts").await, 0);
    again.close().await.unwrap();
    if t.storage.db.get_database_backend() == DbBackend::Sqlite {
        assert_eq!(t.storage.backend(), "sqlite");
        let q = |sql: &str| Statement::from_string(DbBackend::Sqlite, sql.to_string());
        let mode = t.storage.db.query_one_raw(q("PRAGMA journal_mode")).await;
        let mode: String = mode.unwrap().unwrap().try_get_by_index(0).unwrap();
        assert_eq!(mode, "wal");
        let fk = t.storage.db.query_one_raw(q("PRAGMA foreign_keys")).await;
        let fk: i64 = fk.unwrap().unwrap().try_get_by_index(0).unwrap();
        assert_eq!(fk, 1);
        // Inline connections never sleep in SQLite's busy handler: a writer waits for another
        // process's lock asynchronously (`inline::InlineDb::begin`), and the in-memory
        // database (one sqlx connection) has its busy timeout.
        let busy = t.storage.db.query_one_raw(q("PRAGMA busy_timeout")).await;
        let busy: i64 = busy.unwrap().unwrap().try_get_by_index(0).unwrap();
        if t.url.contains("memory") {
            assert!(busy >= 1_000, "busy_timeout {busy}");
        } else {
            assert_eq!(busy, 0, "busy_timeout {busy}");
        }
    } else {
        assert_eq!(t.storage.backend(), "postgres");
        let sql = "SELECT table_name || '.' || column_name || ':' || data_type AS c \
                   FROM information_schema.columns WHERE table_schema = 'public'";
        let rows = t
            .storage
            .db
            .query_all_raw(Statement::from_string(DbBackend::Postgres, sql.to_string()))
            .await
            .unwrap();
        let cols: Vec<String> = rows.iter().map(|r| r.try_get("", "c").unwrap()).collect();
        for want in [
            "orders.identifier_der:bytea",
            "orders.expires:bigint",
            "certificates.der:bytea",
            "authzs.ca_grant:boolean",
            "tokens.exp:bigint",
            "used_nonces.expires:bigint",
        ] {
            assert!(cols.iter().any(|c| c == want), "{want} in {cols:?}");
        }
    }
    t.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_migrate_once() {
    let url = fresh_database_url().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move { Storage::connect(&url).await }));
    }
    let mut stores = Vec::new();
    for task in tasks {
        stores.push(task.await.unwrap().expect("every replica starts"));
    }
    let s = &stores[0];
    // Each migration recorded once, however many replicas raced.
    assert_eq!(
        count(s, "seaql_migrations").await,
        Migrator::migrations().len() as i64
    );
    for s in stores {
        s.close().await.unwrap();
    }
    drop_database(&url).await.unwrap();
}

#[tokio::test]
async fn connect_rejects_unknown_scheme() {
    let err = Storage::connect("mysql://localhost/x").await.unwrap_err();
    assert!(matches!(err, SaError::Db(_)), "{err}");
}

#[tokio::test]
async fn nonce_is_consumed_once() {
    let t = TestDb::new().await;
    let s = &t.storage;
    assert!(s.consume_nonce("nonce-a", 2_000).await.unwrap());
    assert!(!s.consume_nonce("nonce-a", 2_000).await.unwrap(), "replay");
    assert!(
        !s.consume_nonce("nonce-a", 9_000).await.unwrap(),
        "replay, other expiry"
    );
    assert!(s.consume_nonce("nonce-b", 5_000).await.unwrap());
    t.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_nonce_use_has_one_winner() {
    let t = TestDb::new().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = t.storage.clone();
        tasks.push(tokio::spawn(
            async move { s.consume_nonce("racy", 2_000).await },
        ));
    }
    let mut wins = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    t.done().await;
}

#[tokio::test]
async fn purge_expired_removes_old_records_only() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let acct = account(1_000);
    s.insert_account(&acct).await.unwrap();
    s.consume_nonce("old", 1_000).await.unwrap();
    s.consume_nonce("new", 5_000).await.unwrap();
    s.record_token_use("old-jti", &acct.id, 1_000, 900)
        .await
        .unwrap();
    s.record_token_use("new-jti", &acct.id, 100_000, 900)
        .await
        .unwrap();
    assert_eq!(
        s.purge_expired(2_000).await.unwrap(),
        1,
        "only the expired nonce"
    );
    assert!(
        !s.consume_nonce("new", 5_000).await.unwrap(),
        "live record kept"
    );
    assert_eq!(
        s.record_token_use("old-jti", &acct.id, 1_000, 2_000)
            .await
            .unwrap(),
        TokenUse::SameAccount,
        "token records outlive exp by a grace period"
    );
    let now = 1_000 + TOKEN_RECORD_GRACE + 1;
    assert_eq!(
        s.purge_expired(now).await.unwrap(),
        2,
        "nonce new and token old-jti"
    );
    assert_eq!(
        s.record_token_use("new-jti", &acct.id, 100_000, now)
            .await
            .unwrap(),
        TokenUse::SameAccount,
        "unexpired token record survives"
    );
    t.done().await;
}

#[tokio::test]
async fn account_round_trip_and_update() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let mut acct = account(1_000);
    s.insert_account(&acct).await.unwrap();
    assert_eq!(s.account(&acct.id).await.unwrap(), Some(acct.clone()));
    assert_eq!(
        s.account_by_thumbprint(&acct.thumbprint).await.unwrap(),
        Some(acct.clone())
    );
    assert_eq!(s.account("nope").await.unwrap(), None);
    assert_eq!(s.account_by_thumbprint("nope").await.unwrap(), None);

    acct.contact = vec!["mailto:a@example.com".into(), "mailto:b@example.com".into()];
    acct.status = AccountStatus::Deactivated;
    let mut attempt = acct.clone();
    attempt.jwk = "{}".into(); // ignored: keys change only through change_account_key
    s.update_account(&attempt).await.unwrap();
    assert_eq!(s.account(&acct.id).await.unwrap(), Some(acct.clone()));

    // Deactivated now: a second update (say from a replica's cached copy) changes nothing.
    let mut stale = acct.clone();
    stale.status = AccountStatus::Valid;
    stale.contact = vec![];
    match s.update_account(&stale).await {
        Err(SaError::Conflict { what, id }) => {
            assert_eq!((what, id), (ACCOUNT_CHANGED, acct.id.clone()))
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(s.account(&acct.id).await.unwrap(), Some(acct.clone()));

    let mut missing = acct.clone();
    missing.id = new_id();
    assert!(matches!(
        s.update_account(&missing).await,
        Err(SaError::NotFound("account"))
    ));
    t.done().await;
}

#[tokio::test]
async fn second_account_with_same_key_conflicts() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let first = account(1_000);
    s.insert_account(&first).await.unwrap();
    let mut second = account(1_001);
    second.thumbprint = first.thumbprint.clone();
    match s.insert_account(&second).await {
        Err(SaError::Conflict { id, .. }) => assert_eq!(id, first.id),
        other => panic!("expected conflict, got {other:?}"),
    }
    assert_eq!(s.account(&second.id).await.unwrap(), None);
    t.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_new_accounts_with_one_key_create_one() {
    let t = TestDb::new().await;
    let key = new_id();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = t.storage.clone();
        let mut a = account(1_000);
        a.thumbprint = key.clone();
        tasks.push(tokio::spawn(async move {
            let r = s.insert_account(&a).await;
            (a.id, r)
        }));
    }
    let mut created = Vec::new();
    let mut conflicts = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (id, Ok(())) => created.push(id),
            (_, Err(SaError::Conflict { id, .. })) => conflicts.push(id),
            (_, Err(e)) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(created.len(), 1);
    assert_eq!(conflicts.len(), 7);
    assert!(
        conflicts.iter().all(|id| *id == created[0]),
        "conflicts name the winner"
    );
    assert_eq!(count(&t.storage, "accounts").await, 1);
    t.done().await;
}

#[tokio::test]
async fn change_account_key_and_conflict() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let a = account(1_000);
    let b = account(1_001);
    s.insert_account(&a).await.unwrap();
    s.insert_account(&b).await.unwrap();

    s.change_account_key(&a.id, &a.thumbprint, r#"{"new":true}"#, "tp-new")
        .await
        .unwrap();
    let got = s.account(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.jwk.as_str(), got.thumbprint.as_str()),
        (r#"{"new":true}"#, "tp-new")
    );
    assert_eq!(s.account_by_thumbprint(&a.thumbprint).await.unwrap(), None);

    // b's key is taken: 409 with b's id, a unchanged.
    match s
        .change_account_key(&a.id, "tp-new", "{}", &b.thumbprint)
        .await
    {
        Err(SaError::Conflict { id, .. }) => assert_eq!(id, b.id),
        other => panic!("expected conflict, got {other:?}"),
    }
    assert_eq!(
        s.account(&a.id).await.unwrap().unwrap().thumbprint,
        "tp-new"
    );

    assert!(matches!(
        s.change_account_key("nope", "tp-new", "{}", "tp-x").await,
        Err(SaError::NotFound(_))
    ));

    // A rollover signed with a key rolled over meanwhile (a stale cached copy) changes nothing.
    match s
        .change_account_key(&a.id, &a.thumbprint, "{}", "tp-other")
        .await
    {
        Err(SaError::Conflict { what, id }) => {
            assert_eq!((what, id), (ACCOUNT_CHANGED, a.id.clone()))
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        s.account(&a.id).await.unwrap().unwrap().thumbprint,
        "tp-new"
    );
    t.done().await;
}

#[tokio::test]
async fn eab_keys_insert_bind_list() {
    let t = TestDb::new().await;
    let s = &t.storage;
    s.insert_eab(&eab("kid-2", 20)).await.unwrap();
    s.insert_eab(&eab("kid-1", 10)).await.unwrap();
    assert!(matches!(
        s.insert_eab(&eab("kid-1", 30)).await,
        Err(SaError::Conflict { .. })
    ));
    assert_eq!(s.eab("kid-1").await.unwrap(), Some(eab("kid-1", 10)));
    assert_eq!(s.eab("nope").await.unwrap(), None);
    let kids: Vec<String> = s
        .list_eab()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, ["kid-1", "kid-2"]);
    assert!(
        !format!("{:?}", eab("k", 1)).contains("7, 7"),
        "HMAC key is redacted"
    );

    let a = account(1_000);
    s.insert_account(&a).await.unwrap();
    assert!(s.bind_eab("kid-2", &a.id).await.unwrap());
    assert!(!s.bind_eab("kid-2", &a.id).await.unwrap(), "bound once");
    assert!(!s.bind_eab("nope", &a.id).await.unwrap());
    assert_eq!(
        s.eab("kid-2").await.unwrap().unwrap().account_id,
        Some(a.id)
    );
    t.done().await;
}

#[tokio::test]
async fn insert_account_binds_eab_atomically() {
    let t = TestDb::new().await;
    let s = &t.storage;
    s.insert_eab(&eab("kid-1", 10)).await.unwrap();
    let mut a = account(1_000);
    a.eab_kid = Some("kid-1".into());
    s.insert_account(&a).await.unwrap();
    assert_eq!(
        s.eab("kid-1").await.unwrap().unwrap().account_id,
        Some(a.id.clone())
    );
    // The explicit form must agree with the record.
    let mut d = account(1_003);
    d.eab_kid = Some("kid-2".into());
    assert!(s.insert_account_with_eab(&d, None).await.is_err());
    assert_eq!(s.account(&d.id).await.unwrap(), None);
    assert_eq!(
        s.account(&a.id).await.unwrap().unwrap().eab_kid.as_deref(),
        Some("kid-1")
    );

    // The same binding for a second account: refused, and no account is left behind.
    let mut b = account(1_001);
    b.eab_kid = Some("kid-1".into());
    match s.insert_account(&b).await {
        Err(SaError::Conflict { id, .. }) => assert_eq!(id, "kid-1"),
        other => panic!("expected conflict, got {other:?}"),
    }
    assert_eq!(s.account(&b.id).await.unwrap(), None);

    let mut c = account(1_002);
    c.eab_kid = Some("unknown".into());
    assert!(matches!(
        s.insert_account(&c).await,
        Err(SaError::NotFound(_))
    ));
    assert_eq!(s.account(&c.id).await.unwrap(), None);
    t.done().await;
}

#[tokio::test]
async fn create_order_round_trip() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let a = account(1_000);
    s.insert_account(&a).await.unwrap();
    let (order, authz, ch) = order_set(&a.id, 1_000);
    s.create_order(&order, &authz, &ch).await.unwrap();
    assert_eq!(s.order(&order.id).await.unwrap(), Some(order.clone()));
    assert_eq!(s.authz(&authz.id).await.unwrap(), Some(authz.clone()));
    assert_eq!(
        s.authz_for_order(&order.id).await.unwrap(),
        vec![authz.clone()]
    );
    assert_eq!(s.challenge(&ch.id).await.unwrap(), Some(ch.clone()));
    assert_eq!(
        s.challenges_for_authz(&authz.id).await.unwrap(),
        vec![ch.clone()]
    );
    assert_eq!(s.order("nope").await.unwrap(), None);
    assert_eq!(s.authz("nope").await.unwrap(), None);
    assert_eq!(s.challenge("nope").await.unwrap(), None);
    assert!(s.authz_for_order("nope").await.unwrap().is_empty());
    assert!(s.challenges_for_authz("nope").await.unwrap().is_empty());
    t.done().await;
}

#[tokio::test]
async fn create_order_is_atomic_and_checked() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let a = account(1_000);
    s.insert_account(&a).await.unwrap();

    // Records that disagree are refused before touching the database.
    let (order, mut authz, ch) = order_set(&a.id, 1_000);
    authz.order_id = new_id();
    assert!(s.create_order(&order, &authz, &ch).await.is_err());

    // A failing last insert (duplicate challenge id) leaves no order or authz behind.
    let (o1, z1, c1) = order_set(&a.id, 1_000);
    s.create_order(&o1, &z1, &c1).await.unwrap();
    let (o2, z2, mut c2) = order_set(&a.id, 1_001);
    c2.id = c1.id.clone();
    assert!(matches!(
        s.create_order(&o2, &z2, &c2).await,
        Err(SaError::Db(_))
    ));
    assert_eq!(s.order(&o2.id).await.unwrap(), None);
    assert_eq!(s.authz(&z2.id).await.unwrap(), None);

    // Foreign keys are enforced: no order for an unknown account.
    let (o3, z3, c3) = order_set("no-such-account", 1_000);
    assert!(matches!(
        s.create_order(&o3, &z3, &c3).await,
        Err(SaError::Db(_))
    ));
    assert_eq!(s.order(&o3.id).await.unwrap(), None);
    t.done().await;
}

#[tokio::test]
async fn account_isolation_in_queries() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let a = account(1_000);
    let b = account(1_000);
    s.insert_account(&a).await.unwrap();
    s.insert_account(&b).await.unwrap();
    let mut a_ids = Vec::new();
    for i in 0..3 {
        let (o, z, c) = order_set(&a.id, 2_000 + i);
        s.create_order(&o, &z, &c).await.unwrap();
        a_ids.push(o.id);
    }
    let (ob, zb, cb) = order_set(&b.id, 1_500);
    s.create_order(&ob, &zb, &cb).await.unwrap();

    assert_eq!(
        s.order_ids_for_account(&a.id).await.unwrap(),
        a_ids,
        "own, oldest first"
    );
    assert_eq!(
        s.order_ids_for_account(&b.id).await.unwrap(),
        vec![ob.id.clone()]
    );
    assert!(s.order_ids_for_account("nobody").await.unwrap().is_empty());
    // Every record a handler would serve names its owner, so the RA can answer 404 to others.
    assert_eq!(s.order(&ob.id).await.unwrap().unwrap().account_id, b.id);
    assert_eq!(s.authz(&zb.id).await.unwrap().unwrap().account_id, b.id);
    let ch = s.challenge(&cb.id).await.unwrap().unwrap();
    assert_eq!(
        s.authz(&ch.authz_id).await.unwrap().unwrap().account_id,
        b.id
    );
    t.done().await;
}

#[tokio::test]
async fn valid_challenge_makes_authz_valid_and_order_ready() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let a = account(1_000);
    s.insert_account(&a).await.unwrap();
    let (order, authz, ch) = order_set(&a.id, 1_000);
    s.create_order(&order, &authz, &ch).await.unwrap();
    let cc = crate::tnauth::jwtcc::ClaimConstraints::Enhanced(
        crate::tnauth::jwtcc::EnhancedJwtClaimConstraints::new(
            vec![],
            vec![],
            vec![crate::tnauth::jwtcc::ClaimName::new("rcd").unwrap()],
        )
        .unwrap(),
    );
    let grant = ChallengeOutcome::Valid {
        ca_grant: true,
        token_jti: "jti-1".to_string(),
        token_exp: 9_999,
        claim_constraints: Some(cc.clone()),
        parent_serial: Some("0a1b".to_string()),
    };
    assert!(answer(s, &authz, &ch, &grant).await.unwrap());

    let ch2 = s.challenge(&ch.id).await.unwrap().unwrap();
    assert_eq!(ch2.status, ChallengeStatus::Valid);
    assert_eq!(ch2.validated_at, Some(1_500));
    let z = s.authz(&authz.id).await.unwrap().unwrap();
    assert_eq!(z.status, AuthzStatus::Valid);
    assert_eq!(z.ca_grant, Some(true));
    assert_eq!(z.token_jti.as_deref(), Some("jti-1"));
    assert_eq!(z.token_exp, Some(9_999));
    assert_eq!(z.claim_constraints, Some(cc));
    assert_eq!(z.parent_serial.as_deref(), Some("0a1b"));
    assert_eq!(
        s.order(&order.id).await.unwrap().unwrap().status,
        OrderStatus::Ready
    );

    // Final states stay final: a second answer changes nothing.
    assert!(!answer(s, &authz, &ch, &invalid("{}")).await.unwrap());
    assert!(!answer(s, &authz, &ch, &valid()).await.unwrap());
    assert_eq!(
        s.challenge(&ch.id).await.unwrap().unwrap().status,
        ChallengeStatus::Valid
    );
    assert_eq!(
        s.order(&order.id).await.unwrap().unwrap().status,
        OrderStatus::Ready
    );

    let mut ghost = ch.clone();
    ghost.id = "nope".into();
    assert!(matches!(
        answer(s, &authz, &ghost, &valid()).await,
        Err(SaError::NotFound(_))
    ));
    // Ids that do not belong together are refused.
    let (o2, z2, c2) = order_set(&a.id, 1_000);
    s.create_order(&o2, &z2, &c2).await.unwrap();
    assert!(answer(s, &authz, &c2, &valid()).await.is_err());
    assert!(
        s.record_challenge_result(&c2.id, &z2.id, &order.id, &valid(), 1_500)
            .await
            .is_err()
    );
    assert_eq!(
        s.challenge(&c2.id).await.unwrap().unwrap().status,
        ChallengeStatus::Pending
    );
    t.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_challenge_results_apply_once() {
    let t = TestDb::new().await;
    let a = account(1_000);
    t.storage.insert_account(&a).await.unwrap();
    let (order, authz, ch) = order_set(&a.id, 1_000);
    t.storage.create_order(&order, &authz, &ch).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = t.storage.clone();
        let (authz, ch) = (authz.clone(), ch.clone());
        // Replicas disagree: the first one applied wins, the rest change nothing.
        let is_valid = i % 2 == 0;
        let outcome = if is_valid { valid() } else { invalid("{}") };
        tasks.push(tokio::spawn(async move {
            let applied = answer(&s, &authz, &ch, &outcome).await.unwrap();
            (applied, is_valid)
        }));
    }
    let mut applied = Vec::new();
    for task in tasks {
        let (ok, valid) = task.await.unwrap();
        if ok {
            applied.push(valid);
        }
    }
    assert_eq!(applied.len(), 1);
    let (want_ch, want_az, want_order) = if applied[0] {
        (
            ChallengeStatus::Valid,
            AuthzStatus::Valid,
            OrderStatus::Ready,
        )
    } else {
        (
            ChallengeStatus::Invalid,
            AuthzStatus::Invalid,
            OrderStatus::Invalid,
        )
    };
    let s = &t.storage;
    assert_eq!(s.challenge(&ch.id).await.unwrap().unwrap().status, want_ch);
    assert_eq!(s.authz(&authz.id).await.unwrap().unwrap().status, want_az);
    assert_eq!(
        s.order(&order.id).await.unwrap().unwrap().status,
        want_order
    );
    t.done().await;
}

#[tokio::test]
async fn failed_challenge_makes_authz_and_order_invalid() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let a = account(1_000);
    s.insert_account(&a).await.unwrap();
    let (order, authz, ch) = order_set(&a.id, 1_000);
    s.create_order(&order, &authz, &ch).await.unwrap();
    let problem = r#"{"type":"urn:ietf:params:acme:error:unauthorized","detail":"expired"}"#;
    assert!(answer(s, &authz, &ch, &invalid(problem)).await.unwrap());
    let ch2 = s.challenge(&ch.id).await.unwrap().unwrap();
    assert_eq!(ch2.status, ChallengeStatus::Invalid);
    assert_eq!(ch2.validated_at, None);
    assert_eq!(ch2.error.as_deref(), Some(problem));
    assert_eq!(
        s.authz(&authz.id).await.unwrap().unwrap().status,
        AuthzStatus::Invalid
    );
    let o = s.order(&order.id).await.unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Invalid);
    assert_eq!(o.error.as_deref(), Some(problem));
    assert!(!s.begin_finalize(&order.id).await.unwrap());
    t.done().await;
}

#[tokio::test]
async fn deactivate_authz_invalidates_order() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let (_, order) = ready_order(s).await;
    let authz = s.authz_for_order(&order.id).await.unwrap().remove(0);
    assert!(s.deactivate_authz(&authz.id).await.unwrap());
    assert_eq!(
        s.authz(&authz.id).await.unwrap().unwrap().status,
        AuthzStatus::Deactivated
    );
    assert_eq!(
        s.order(&order.id).await.unwrap().unwrap().status,
        OrderStatus::Invalid
    );
    assert!(
        !s.deactivate_authz(&authz.id).await.unwrap(),
        "already deactivated"
    );
    assert!(matches!(
        s.deactivate_authz("nope").await,
        Err(SaError::NotFound(_))
    ));
    t.done().await;
}

#[tokio::test]
async fn token_use_first_same_other() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let a = account(1_000);
    let b = account(1_000);
    s.insert_account(&a).await.unwrap();
    s.insert_account(&b).await.unwrap();
    assert_eq!(
        s.record_token_use("jti-x", &a.id, 5_000, 1_000)
            .await
            .unwrap(),
        TokenUse::First
    );
    assert_eq!(
        s.record_token_use("jti-x", &a.id, 5_000, 1_001)
            .await
            .unwrap(),
        TokenUse::SameAccount
    );
    assert_eq!(
        s.record_token_use("jti-x", &b.id, 5_000, 1_002)
            .await
            .unwrap(),
        TokenUse::OtherAccount
    );
    // The first account stays the owner after another account tried.
    assert_eq!(
        s.record_token_use("jti-x", &a.id, 5_000, 1_003)
            .await
            .unwrap(),
        TokenUse::SameAccount
    );
    assert_eq!(
        s.record_token_use("jti-y", &b.id, 5_000, 1_000)
            .await
            .unwrap(),
        TokenUse::First
    );
    t.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_token_use_has_one_first() {
    let t = TestDb::new().await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        let a = account(1_000);
        t.storage.insert_account(&a).await.unwrap();
        ids.push(a.id);
    }
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = t.storage.clone();
        let id = ids[i % ids.len()].clone();
        tasks.push(tokio::spawn(async move {
            s.record_token_use("shared", &id, 5_000, 1_000).await
        }));
    }
    let mut firsts = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() == TokenUse::First {
            firsts += 1;
        }
    }
    assert_eq!(firsts, 1);
    t.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_begin_finalize_has_one_winner() {
    let t = TestDb::new().await;
    let (_, order) = ready_order(&t.storage).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = t.storage.clone();
        let id = order.id.clone();
        tasks.push(tokio::spawn(async move { s.begin_finalize(&id).await }));
    }
    let mut wins = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(
        t.storage.order(&order.id).await.unwrap().unwrap().status,
        OrderStatus::Processing
    );
    t.done().await;
}

#[tokio::test]
async fn finalize_transitions() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let a = account(1_000);
    s.insert_account(&a).await.unwrap();
    let (pending, z, c) = order_set(&a.id, 1_000);
    s.create_order(&pending, &z, &c).await.unwrap();
    assert!(
        !s.begin_finalize(&pending.id).await.unwrap(),
        "pending is not ready"
    );
    assert!(!s.begin_finalize("nope").await.unwrap());

    let (_, order) = ready_order(s).await;
    assert!(
        !s.abort_finalize(&order.id).await.unwrap(),
        "not processing"
    );
    assert!(s.begin_finalize(&order.id).await.unwrap());
    assert!(s.abort_finalize(&order.id).await.unwrap());
    assert_eq!(
        s.order(&order.id).await.unwrap().unwrap().status,
        OrderStatus::Ready
    );
    assert!(s.begin_finalize(&order.id).await.unwrap(), "ready again");

    assert!(s.fail_order(&order.id, r#"{"type":"x"}"#).await.unwrap());
    let failed = s.order(&order.id).await.unwrap().unwrap();
    assert_eq!(failed.status, OrderStatus::Invalid);
    assert_eq!(failed.error.as_deref(), Some(r#"{"type":"x"}"#));
    assert!(
        !s.fail_order(&order.id, "{}").await.unwrap(),
        "invalid is final"
    );
    t.done().await;
}

#[tokio::test]
async fn complete_issuance_stores_certificate_and_validates_order() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let (_, order) = ready_order(s).await;
    assert!(s.begin_finalize(&order.id).await.unwrap());
    let mut record = cert(&order, "0a1b2c3d4e5f6071");
    // The parent (a direct delegation's signer) is stored with it, for the revocation cascade.
    record.parent_serial = Some("5ca5ca5ca5ca5ca5".to_string());
    s.complete_issuance(&order.id, &record).await.unwrap();
    let state = s
        .certificate_state("0a1b2c3d4e5f6071")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.parent_serial.as_deref(), Some("5ca5ca5ca5ca5ca5"));

    let done = s.order(&order.id).await.unwrap().unwrap();
    assert_eq!(done.status, OrderStatus::Valid);
    assert_eq!(done.certificate_serial.as_deref(), Some("0a1b2c3d4e5f6071"));
    assert_eq!(
        s.certificate("0a1b2c3d4e5f6071").await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        s.certificate_for_order(&order.id).await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(s.certificate("ffff").await.unwrap(), None);
    assert_eq!(s.certificate_for_order("nope").await.unwrap(), None);

    // A second issuance for the same order is refused and stores nothing.
    let again = cert(&order, "1111111111111111");
    assert!(matches!(
        s.complete_issuance(&order.id, &again).await,
        Err(SaError::Conflict { .. })
    ));
    assert_eq!(s.certificate("1111111111111111").await.unwrap(), None);
    // The unique index backs the status guard: one certificate per order.
    let direct =
        entity::certificate::Entity::insert(entity::certificate::ActiveModel::from(&again))
            .exec_without_returning(&s.db)
            .await;
    assert!(direct.is_err_and(|e| is_unique_violation(&e)));
    assert_eq!(count(s, "certificates").await, 1);
    t.done().await;
}

#[tokio::test]
async fn complete_issuance_is_atomic() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let (acct, order) = ready_order(s).await;

    // Not processing (still ready): refused, nothing inserted, order unchanged.
    let record = cert(&order, "aa");
    match s.complete_issuance(&order.id, &record).await {
        Err(SaError::Conflict { id, .. }) => assert_eq!(id, order.id),
        other => panic!("expected conflict, got {other:?}"),
    }
    assert_eq!(s.certificate("aa").await.unwrap(), None);
    assert_eq!(s.order(&order.id).await.unwrap().unwrap(), order);

    // Processing, but the certificate names another account: refused.
    assert!(s.begin_finalize(&order.id).await.unwrap());
    let other = account(1_000);
    s.insert_account(&other).await.unwrap();
    let mut foreign = cert(&order, "bb");
    foreign.account_id = other.id.clone();
    assert!(matches!(
        s.complete_issuance(&order.id, &foreign).await,
        Err(SaError::Conflict { .. })
    ));

    // The certificate insert fails (its serial exists): the order update is rolled back too.
    let (_, order2) = ready_order(s).await;
    assert!(s.begin_finalize(&order2.id).await.unwrap());
    s.complete_issuance(&order2.id, &cert(&order2, "cc"))
        .await
        .unwrap();
    let dup = cert(&order, "cc");
    assert!(matches!(
        s.complete_issuance(&order.id, &dup).await,
        Err(SaError::Db(_))
    ));
    let still = s.order(&order.id).await.unwrap().unwrap();
    assert_eq!(still.status, OrderStatus::Processing);
    assert_eq!(still.certificate_serial, None);
    assert_eq!(s.certificate_for_order(&order.id).await.unwrap(), None);

    // Mismatched order id and missing orders.
    assert!(
        s.complete_issuance("other", &cert(&order, "dd"))
            .await
            .is_err()
    );
    let mut ghost = cert(&order, "ee");
    ghost.order_id = "ghost".into();
    assert!(matches!(
        s.complete_issuance("ghost", &ghost).await,
        Err(SaError::NotFound(_))
    ));
    assert_eq!(count(s, "certificates").await, 1);
    let _ = acct;
    t.done().await;
}

#[test]
fn errors_map_to_problem_kinds() {
    let e: Error = SaError::NotFound("order").into();
    assert_eq!(e.kind, ErrorKind::NotFound);
    let e: Error = SaError::Conflict {
        what: "account key already in use",
        id: "abc".into(),
    }
    .into();
    assert_eq!(e.kind, ErrorKind::Conflict);
    let e: Error = SaError::Db(sea_orm::DbErr::Custom("boom".into())).into();
    assert_eq!(e.kind, ErrorKind::Internal);
    assert!(
        !e.problem().detail.contains("boom"),
        "causes are not sent to clients"
    );
}

#[test]
fn ids_are_random_and_url_safe() {
    let a = new_id();
    let b = new_id();
    assert_ne!(a, b);
    assert_eq!(a.len(), 22);
    assert!(
        a.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
}

#[tokio::test]
async fn a_stale_processing_order_fails_and_a_late_completion_stores_nothing() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let (_, order) = ready_order(s).await;
    // not processing: nothing to fail
    assert!(
        !s.fail_stale_processing(&order.id, i64::MAX, "{}")
            .await
            .unwrap()
    );
    assert!(s.begin_finalize(&order.id).await.unwrap());
    let claimed = crate::acme::now();
    // claimed after the cutoff: a live finalize is left alone
    assert!(
        !s.fail_stale_processing(&order.id, claimed - 60, "{}")
            .await
            .unwrap()
    );
    assert_eq!(
        s.order(&order.id).await.unwrap().unwrap().status,
        OrderStatus::Processing
    );
    // claimed before the cutoff: abandoned, failed with the error
    assert!(
        s.fail_stale_processing(&order.id, claimed + 1, r#"{"type":"x"}"#)
            .await
            .unwrap()
    );
    let failed = s.order(&order.id).await.unwrap().unwrap();
    assert_eq!(failed.status, OrderStatus::Invalid);
    assert_eq!(failed.error.as_deref(), Some(r#"{"type":"x"}"#));
    // the stalled replica finishing late cannot store its certificate, nor claim again
    let record = cert(&order, "5a5a5a5a5a5a5a5a");
    assert!(s.complete_issuance(&order.id, &record).await.is_err());
    assert_eq!(s.certificate("5a5a5a5a5a5a5a5a").await.unwrap(), None);
    assert!(!s.begin_finalize(&order.id).await.unwrap());
    assert!(!s.abort_finalize(&order.id).await.unwrap());
    t.done().await;
}

/// The two pools differ in exactly the durability the `Storage` docs promise: commits of the
/// durable pool wait for the disk (PostgreSQL's setting; on a SQLite file both pools commit
/// with `synchronous=NORMAL` and the durable one waits for a group fsync), the others do not
/// (and both see each other's rows).
#[tokio::test]
async fn the_durable_pool_waits_for_the_disk_and_the_other_does_not() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let setting = |db: &super::conn::Db| {
        let db = db.clone();
        async move {
            let sql = match db.get_database_backend() {
                DbBackend::Sqlite => "PRAGMA synchronous",
                _ => "SHOW synchronous_commit",
            };
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .expect("query")
                .expect("row");
            match db.get_database_backend() {
                // 1 = NORMAL, 2 = FULL
                DbBackend::Sqlite => row.try_get_by_index::<i64>(0).expect("int").to_string(),
                _ => row.try_get_by_index::<String>(0).expect("text"),
            }
        }
    };
    let (fast, durable) = (setting(&s.db).await, setting(&s.durable).await);
    match s.db.get_database_backend() {
        DbBackend::Sqlite if t.url.contains("memory") => {
            assert_eq!((fast, durable), ("2".into(), "2".into()))
        }
        DbBackend::Sqlite => assert_eq!((fast.as_str(), durable.as_str()), ("1", "1")),
        _ => assert_eq!((fast.as_str(), durable.as_str()), ("off", "on")),
    }
    let fsyncs = || s.group_sync.as_ref().map(|g| g.rounds());
    let before = fsyncs();
    // A row written durably is read through the other pool at once, and the other way round.
    let a = account(1);
    s.insert_account(&a).await.unwrap();
    if s.db.get_database_backend() == DbBackend::Sqlite && !t.url.contains("memory") {
        assert_eq!(before, Some(0));
        assert_eq!(fsyncs(), Some(1), "the durable commit waited for one fsync");
    } else {
        assert_eq!(fsyncs(), None);
    }
    assert!(s.consume_nonce("n-durable-test", 10).await.unwrap());
    assert_eq!(fsyncs(), before.map(|_| 1), "a nonce waits for no fsync");
    assert_eq!(s.account(&a.id).await.unwrap().unwrap().id, a.id);
    let n = s
        .durable
        .query_one_raw(Statement::from_string(
            s.durable.get_database_backend(),
            "SELECT COUNT(*) FROM used_nonces WHERE nonce = 'n-durable-test'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(n, 1);
    t.done().await;
}

/// Group commit on a SQLite file (whatever `STICA_TEST_DATABASE_URL` says): a durable commit
/// gives the write queue back before it waits for the disk, and neither it nor a read of what it
/// wrote (the certificate, the `valid` order) returns before an fsync that follows the commit.
#[tokio::test]
async fn durable_commit_frees_the_write_queue_and_tells_nothing_before_its_fsync() {
    async fn pending<F: std::future::Future>(f: &mut std::pin::Pin<Box<F>>) -> bool {
        tokio::time::timeout(std::time::Duration::from_millis(100), f.as_mut())
            .await
            .is_err()
    }
    let url = super::testing::fresh_sqlite_url();
    // Each fsync round waits while `held` says so: the test holds the disk back.
    let held = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let hold = |on: bool| {
        *held.0.lock().unwrap() = on;
        held.1.notify_all();
    };
    let s = {
        let held = held.clone();
        Storage::connect_file(&url, move |_| {
            group_sync::GroupSync::start(Box::new(move || {
                let mut on = held.0.lock().unwrap_or_else(|p| p.into_inner());
                while *on {
                    on = held.1.wait(on).unwrap_or_else(|p| p.into_inner());
                }
                Ok(())
            }))
        })
        .await
        .unwrap()
    };
    let (_, order) = ready_order(&s).await;
    assert!(s.begin_finalize(&order.id).await.unwrap());
    let record = cert(&order, "0a1b2c3d4e5f6071");

    hold(true);
    let mut complete = Box::pin(s.complete_issuance(&order.id, &record));
    assert!(
        pending(&mut complete).await,
        "the issuance must not be reported before its fsync"
    );
    // The write queue is free meanwhile: another write goes through.
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        s.consume_nonce("nonce-during-fsync", i64::MAX),
    )
    .await
    .expect("a write must not wait for another request's fsync")
    .unwrap();
    // The commit is visible to readers, but they may not tell it yet.
    let mut read_cert = Box::pin(s.certificate("0a1b2c3d4e5f6071"));
    assert!(
        pending(&mut read_cert).await,
        "certificate told before its fsync"
    );
    let mut read_order = Box::pin(s.order(&order.id));
    assert!(
        pending(&mut read_order).await,
        "valid order told before its fsync"
    );
    // Each on its own: a read that did not wait would be ready at once.
    let serials = vec!["0a1b2c3d4e5f6071".to_string()];
    let mut by_order = Box::pin(s.certificate_for_order(&order.id));
    let mut state = Box::pin(s.certificate_state("0a1b2c3d4e5f6071"));
    let mut states = Box::pin(s.certificate_states(&serials));
    let mut changes = Box::pin(s.changes_since(0, 10));
    let hash = model::sha256_hex(&record.der);
    let mut by_hash = Box::pin(s.certificate_state_by_hash(&hash));
    assert!(pending(&mut by_order).await, "certificate by order told");
    assert!(pending(&mut state).await, "certificate state told");
    assert!(pending(&mut states).await, "certificate states told");
    assert!(pending(&mut changes).await, "change feed told");
    assert!(
        pending(&mut by_hash).await,
        "certificate state by hash told"
    );

    hold(false);
    complete.await.unwrap();
    assert_eq!(read_cert.await.unwrap(), Some(record));
    let valid = read_order.await.unwrap().unwrap();
    assert_eq!(valid.status, OrderStatus::Valid);
    assert_eq!(
        by_order.await.unwrap().map(|c| c.serial).as_deref(),
        valid.certificate_serial.as_deref()
    );
    assert!(state.await.unwrap().is_some());
    assert!(by_hash.await.unwrap().is_some());
    assert_eq!(states.await.unwrap().len(), 1);
    assert!(
        !changes.await.unwrap().is_empty(),
        "the issuance is in the change feed"
    );
    s.close().await.unwrap();
    drop_database(&url).await.unwrap();
}

/// A new account is cached by its own insert, so its first signed request needs no read; an
/// insert that fails caches nothing.
#[tokio::test]
async fn a_new_account_is_cached_by_its_insert_and_a_failed_one_is_not() {
    let t = TestDb::new().await;
    let s = &t.storage;
    let a = account(1_000);
    s.insert_account(&a).await.unwrap();
    // Gone behind the storage's back: only the cache can still answer.
    s.db.execute_unprepared(&format!("DELETE FROM accounts WHERE id = '{}'", a.id))
        .await
        .unwrap();
    let cached = s.account_for_request(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (cached.id, cached.jwk, cached.thumbprint, cached.contact),
        (
            a.id.clone(),
            a.jwk.clone(),
            a.thumbprint.clone(),
            a.contact.clone()
        )
    );
    assert!(
        s.account(&a.id).await.unwrap().is_none(),
        "a fresh read sees it gone"
    );

    let first = account(1_000);
    s.insert_account(&first).await.unwrap();
    let mut same_key = account(1_001);
    same_key.thumbprint = first.thumbprint.clone();
    assert!(matches!(
        s.insert_account(&same_key).await,
        Err(SaError::Conflict { .. })
    ));
    assert!(s.account_for_request(&same_key.id).await.unwrap().is_none());
    t.done().await;
}

/// Fail closed on a SQLite file: a durable write whose fsync fails is reported as failed, and
/// from then on durable writes are refused before they write anything and the readiness ping
/// fails.
#[tokio::test]
async fn a_failed_fsync_fails_the_write_then_refuses_durable_writes_and_readiness() {
    let url = super::testing::fresh_sqlite_url();
    let s = Storage::connect_file(&url, |_| {
        group_sync::GroupSync::start(Box::new(|| Err(std::io::Error::other("EIO"))))
    })
    .await
    .unwrap();
    s.ping().await.unwrap();
    let e = s.insert_account(&account(1)).await.unwrap_err().to_string();
    assert!(e.contains("fsync failed"), "{e}");
    assert!(
        s.ping().await.is_err(),
        "not ready once durable writes stopped"
    );
    let later = account(2);
    assert!(s.insert_account(&later).await.is_err());
    assert!(
        s.account(&later.id).await.unwrap().is_none(),
        "refused before anything was written"
    );
    s.close().await.unwrap();
    drop_database(&url).await.unwrap();
}
