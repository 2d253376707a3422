//! End to end: two `stica serve` replicas on one database behind a load balancer (issue 5,
//! item 1). They share the database and a copy of the data directory, nothing else: a nonce from
//! one is accepted by the other exactly once, an order made on one is answered and finalized on
//! the other, two finalizes racing on both sign once, a revocation through one is visible in the
//! other's OCSP answers; and when one replica is killed in the middle of a load, every issuance a
//! client was told about is stored and served by the survivor, and none is duplicated.
//!
//! On PostgreSQL when `STICA_TEST_DATABASE_URL` is set (the deployment the issue describes), on
//! one SQLite file otherwise.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use acme_tests::balancer::{Balancer, Route};
use acme_tests::raw::{Raw, csr};
use acme_tests::ta::TestTa;
use acme_tests::{ServerOptions, TestServer};
use common::*;
use serde_json::json;
use stica::acme::OrderStatus;
use stica::client::{AcmeClient, TkauthField};
use stica::jose::EcSigner;
use stica::tnauth::TnAuthList;

/// Copies a directory tree (the replica's copy of the data directory).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn addr(srv: &TestServer) -> SocketAddr {
    srv.base
        .trim_start_matches("http://")
        .parse()
        .expect("replica address")
}

/// Two replicas on one fresh database behind a balancer; (balancer, [A, B], token authority,
/// database URL, tempdir).
async fn two_replicas() -> (Balancer, Vec<TestServer>, TestTa, String, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let db = stica::sa::testing::fresh_database_url().await.unwrap();
    let lb = Balancer::start(2).await;
    let ta = TestTa::start().await;
    let opts = |dir: &Path| ServerOptions {
        policy_toml: Some("[issuance]\nprofiles = [\"shaken-spc\", \"tn-level\"]\n".into()),
        token_authorities: vec![ta.root_file.clone()],
        data_dir: Some(dir.to_path_buf()),
        database_url: Some(db.clone()),
        args: vec!["--external-url".into(), lb.base()],
        ..Default::default()
    };
    let a_dir = tmp.path().join("a").join("data");
    let a = TestServer::start(BIN, opts(&a_dir)).await;
    // The second replica: a copy of the first one's data directory (CA, nonce key).
    let b_dir = tmp.path().join("b").join("data");
    copy_dir(&a_dir, &b_dir);
    let b = TestServer::start(BIN, opts(&b_dir)).await;
    lb.set_backends(vec![addr(&a), addr(&b)]);
    (lb, vec![a, b], ta, db, tmp)
}

/// A client that opens a new connection per request, so the balancer spreads its requests.
async fn client(lb: &Balancer) -> Raw {
    let mut raw = Raw::new(&format!("{}/directory", lb.base())).await;
    raw.http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    raw
}

fn list(n: u32) -> TnAuthList {
    format!("tn:1215555{n:04}").parse().unwrap()
}

#[tokio::test]
async fn replicas_share_nonces_orders_finalize_and_revocation() {
    let (lb, replicas, ta, db, _tmp) = two_replicas().await;
    let mut raw = client(&lb).await;

    // A nonce from A is accepted by B, once; replayed on A it is refused.
    lb.set_route(Route::Pinned(0));
    let nonce = raw.nonce().await;
    lb.set_route(Route::Pinned(1));
    let url = raw.url("newAccount");
    let body = {
        let mut protected = serde_json::Map::new();
        protected.insert("nonce".into(), json!(nonce));
        protected.insert("url".into(), json!(url));
        protected.insert("jwk".into(), raw.key.public_jwk().to_json());
        stica::jose::sign_flattened(
            &raw.key,
            protected,
            &serde_json::to_vec(&json!({"termsOfServiceAgreed": true})).unwrap(),
        )
        .unwrap()
    };
    let r = raw
        .send(
            &url,
            "application/jose+json",
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    raw.kid = r.header("location");
    lb.set_route(Route::Pinned(0));
    let again = raw
        .send(
            &url,
            "application/jose+json",
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    assert_eq!(
        again.problem_type(),
        "urn:ietf:params:acme:error:badNonce",
        "{}",
        again.text()
    );

    // The order is made on A, answered on B.
    let l = list(1);
    let r = raw.new_order(&l.to_der()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let order = r.json();
    let order_url = r.header("location").unwrap();
    let chall = raw.challenge_url(&order).await;
    lb.set_route(Route::Pinned(1));
    let r = raw
        .answer(&chall, &ta.token(&l, &raw.key.public_jwk()))
        .await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());

    // Two finalizes race, one on each replica: one certificate.
    lb.set_route(Route::RoundRobin);
    let csr_der = csr(&l.to_der());
    let (x, y) = tokio::join!(
        raw.finalize(&order, &csr_der),
        raw.finalize(&order, &csr_der)
    );
    for r in [&x, &y] {
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let done = raw.post(&order_url, None).await.json();
    assert_eq!(done["status"], "valid", "{done}");
    let cert_url = done["certificate"].as_str().unwrap().to_string();
    let serial = cert_url.rsplit('/').next().unwrap().to_string();
    let sa = stica::sa::Storage::connect(&db).await.unwrap();
    let issued: Vec<_> = sa
        .changes_since(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.event == stica::sa::model::ChangeEvent::Issued)
        .collect();
    assert_eq!(issued.len(), 1, "one issuance for two racing finalizes");
    assert_eq!(issued[0].serial, serial);
    // both replicas served requests
    assert!(lb.connections(0) > 0 && lb.connections(1) > 0);

    // Revoked through B; A's OCSP (on demand, with a nonce) says revoked.
    lb.set_route(Route::Pinned(1));
    let chain = raw.post(&cert_url, None).await.text();
    let der = stica::x509::pem_certificates(chain.as_bytes()).unwrap()[0].clone();
    let r = raw
        .post(
            &raw.url("revokeCert"),
            Some(&json!({"certificate": stica::jose::b64::encode_url(&der), "reason": 1})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let dir = tempfile::tempdir().unwrap();
    acme_tests::tools::write_ocsp_files(dir.path(), &chain, &replicas[0].root_pem());
    let url = format!("{}/ocsp", replicas[0].base);
    let text =
        tokio::task::spawn_blocking(move || acme_tests::tools::openssl_ocsp(dir.path(), &url, &[]))
            .await
            .unwrap();
    assert!(text.contains("leaf.pem: revoked"), "{text}");
    drop(replicas);
    stica::sa::testing::drop_database(&db).await.ok();
}

/// Each replica caches accounts for a second (the `kid` lookup); issuance and revocation
/// re-read the account, so an account deactivated through A can neither finalize nor revoke
/// through B while B's copy is still warm, and nothing changes.
#[tokio::test]
async fn an_account_deactivated_on_one_replica_cannot_finalize_or_revoke_on_the_other() {
    let (lb, replicas, ta, db, _tmp) = two_replicas().await;
    let mut raw = client(&lb).await;
    lb.set_route(Route::Pinned(0));
    assert_eq!(raw.register().await.status, 201);
    // A ready order on A, answered ...
    let ready = |n: u32| {
        let raw = &raw;
        let ta = &ta;
        async move {
            let l = list(n);
            let r = raw.new_order(&l.to_der()).await;
            assert_eq!(r.status, 201, "{}", r.text());
            let order = r.json();
            let url = r.header("location").unwrap();
            let chall = raw.challenge_url(&order).await;
            let r = raw
                .answer(&chall, &ta.token(&l, &raw.key.public_jwk()))
                .await;
            assert_eq!(r.json()["status"], "valid", "{}", r.text());
            (l, order, url)
        }
    };
    // ... one of them issued, to have a certificate to revoke.
    let (l1, order1, url1) = ready(7).await;
    assert_eq!(raw.finalize(&order1, &csr(&l1.to_der())).await.status, 200);
    let cert_url = raw.post(&url1, None).await.json()["certificate"]
        .as_str()
        .unwrap()
        .to_string();
    let chain = raw.post(&cert_url, None).await.text();
    let der = stica::x509::pem_certificates(chain.as_bytes()).unwrap()[0].clone();
    let (l2, order2, url2) = ready(8).await;
    // B reads the account (and caches it) ...
    lb.set_route(Route::Pinned(1));
    assert_eq!(raw.post(&url2, None).await.json()["status"], "ready");
    // ... A deactivates it ...
    lb.set_route(Route::Pinned(0));
    let kid = raw.kid.clone().unwrap();
    let r = raw
        .post(&kid, Some(&json!({"status": "deactivated"})))
        .await;
    assert_eq!(r.json()["status"], "deactivated", "{}", r.text());
    // ... and B refuses at once to issue and to revoke.
    lb.set_route(Route::Pinned(1));
    let r = raw.finalize(&order2, &csr(&l2.to_der())).await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:unauthorized",
        "{}",
        r.text()
    );
    let r = raw
        .post(
            &raw.url("revokeCert"),
            Some(&json!({"certificate": stica::jose::b64::encode_url(&der), "reason": 1})),
        )
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:unauthorized",
        "{}",
        r.text()
    );
    let sa = stica::sa::Storage::connect(&db).await.unwrap();
    let issued: Vec<_> = sa
        .changes_since(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.event)
        .collect();
    assert_eq!(
        issued,
        [stica::sa::model::ChangeEvent::Issued],
        "one issuance, no second one and no revocation"
    );
    let id = kid.rsplit('/').next().unwrap();
    let stored = sa.account(id).await.unwrap().unwrap();
    assert_eq!(stored.status, stica::acme::AccountStatus::Deactivated);
    sa.close().await.ok();
    drop(replicas);
    stica::sa::testing::drop_database(&db).await.ok();
}

/// What one worker saw.
#[derive(Default)]
struct Seen {
    /// order URL -> the certificate URL the client was given
    valid: HashMap<String, String>,
    /// orders whose flow broke part way (the replica died under it)
    interrupted: HashSet<String>,
}

/// Issues certificates in a loop until `stop`, tolerating a replica dying under it.
async fn worker(base: String, ta: Arc<TestTa>, n: u32, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let key = EcSigner::generate().unwrap();
    let jwk = key.public_jwk();
    let directory = format!("{base}/directory");
    let mut acme = loop {
        // The account is made before the kill; retry only a refused connection.
        match AcmeClient::new(
            &directory,
            EcSigner::from_der(key.pkcs8_der()).unwrap(),
            http.clone(),
        )
        .await
        {
            Ok(mut c) => {
                c.set_terms_agreed(true);
                if c.new_account(&[], None, false).await.is_ok() {
                    break c;
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let l = list(n * 1000 + i);
        let Ok((order_url, order)) = acme.new_order(&l, None, None).await else {
            continue;
        };
        let step = async {
            let authz = acme.authz(&order.authorizations[0]).await?;
            acme.respond_tkauth(
                &authz.challenges[0].url,
                &ta.token(&l, &jwk),
                TkauthField::Atc,
            )
            .await?;
            let order = acme.order(&order_url).await?;
            let done = acme.finalize(&order, &csr(&l.to_der())).await?;
            Ok::<_, stica::client::ClientError>(done)
        }
        .await;
        match step {
            Ok(done) if done.status == OrderStatus::Valid => {
                seen.valid
                    .insert(order_url, done.certificate.expect("certificate url"));
            }
            _ => {
                seen.interrupted.insert(order_url);
            }
        }
    }
    let _ = &mut acme;
    seen
}

#[tokio::test]
async fn killing_a_replica_mid_load_loses_and_duplicates_nothing() {
    let (lb, mut replicas, ta, db, _tmp) = two_replicas().await;
    let ta = Arc::new(ta);
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|n| tokio::spawn(worker(lb.base(), ta.clone(), n, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // SIGKILL replica A in the middle of the load: no graceful shutdown.
    let a = replicas.remove(0);
    drop(a);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut valid = HashMap::new();
    let mut interrupted = HashSet::new();
    for w in workers {
        let seen = w.await.unwrap();
        valid.extend(seen.valid);
        interrupted.extend(seen.interrupted);
    }
    assert!(valid.len() >= 4, "issuances completed: {}", valid.len());
    eprintln!(
        "issued {}, interrupted {} (A had {} connections, B {})",
        valid.len(),
        interrupted.len(),
        lb.connections(0),
        lb.connections(1)
    );

    // Every certificate a client was told about is stored and served by the survivor.
    let sa = stica::sa::Storage::connect(&db).await.unwrap();
    let http = reqwest::Client::new();
    for cert_url in valid.values() {
        let serial = cert_url.rsplit('/').next().unwrap();
        assert!(
            sa.certificate(serial).await.unwrap().is_some(),
            "{serial} stored"
        );
        let published = http
            .get(format!("{}/cr/{serial}.pem", lb.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(published.status(), 200, "{serial} served by the survivor");
    }
    // Each order has at most one certificate; every stored certificate belongs to an order that
    // is valid and names it.
    let issued: Vec<String> = sa
        .changes_since(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.event == stica::sa::model::ChangeEvent::Issued)
        .map(|c| c.serial)
        .collect();
    let mut orders_with_certs = HashSet::new();
    for serial in &issued {
        let rec = sa.certificate(serial).await.unwrap().expect("record");
        let order = sa.order(&rec.order_id).await.unwrap().expect("order");
        assert_eq!(order.status, OrderStatus::Valid, "{serial}");
        assert_eq!(order.certificate_serial.as_deref(), Some(serial.as_str()));
        assert!(
            orders_with_certs.insert(rec.order_id),
            "two certificates for one order"
        );
    }
    // No order the clients saw valid is missing, and interrupted orders are in a state a client
    // can act on (none is valid without its certificate).
    assert!(issued.len() >= valid.len());
    for order_url in &interrupted {
        let id = order_url.rsplit('/').next().unwrap();
        if let Some(order) = sa.order(id).await.unwrap() {
            if order.status == OrderStatus::Valid {
                let serial = order.certificate_serial.expect("serial");
                assert!(sa.certificate(&serial).await.unwrap().is_some());
            }
        }
    }
    drop(replicas);
    stica::sa::testing::drop_database(&db).await.ok();
}
