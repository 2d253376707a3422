//! End to end: what an operator watches and relies on (docs/operations.md): `/metrics`,
//! `/readyz`, request ids in responses and JSON logs, audit lines, the jobs lease, and the refusal
//! to start a second hierarchy against a database.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use acme_tests::ta::TestTa;
use acme_tests::{ServerOptions, TestServer};
use common::*;
use serde_json::Value;

/// GET with an optional `X-Request-Id`: (status, body, echoed request id).
async fn get(url: &str, request_id: Option<&str>) -> (u16, String, Option<String>) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    let r = req.send().await.expect("GET");
    let status = r.status().as_u16();
    let id = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, r.text().await.expect("body"), id)
}

/// The value of one sample in a text exposition (0 when the series is absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().expect("sample value"))
}

/// A server trusting a fresh test token authority, logging JSON at info level.
async fn json_logging_server() -> (TestServer, TestTa) {
    let ta = TestTa::start().await;
    let srv = TestServer::start(
        BIN,
        ServerOptions {
            policy_toml: Some(String::new()),
            token_authorities: vec![ta.root_file.clone()],
            env: vec![
                ("STICA_LOG".into(), "info".into()),
                ("STICA_LOG_FORMAT".into(), "json".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    (srv, ta)
}

/// The server's JSON log lines once one satisfies `want` (the logs arrive through a pipe).
async fn logs_until(srv: &TestServer, want: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines: Vec<Value> = srv
            .log_lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        if lines.iter().any(&want) {
            return lines;
        }
        assert!(Instant::now() < deadline, "no such log line in {lines:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn request_id_of(line: &Value) -> Option<&str> {
    line["span"]["request_id"].as_str()
}

#[tokio::test]
async fn metrics_move_with_an_issuance_a_refused_token_and_a_replayed_nonce() {
    let (srv, ta) = json_logging_server().await;
    let metrics_url = format!("{}/metrics", srv.base);
    let (status, before, _) = get(&metrics_url, None).await;
    assert_eq!(status, 200, "{before}");
    let issued = "stica_certificates_issued_total{profile=\"shaken-spc\"}";
    let expired = "stica_token_failures_total{reason=\"Expired\"}";
    let replayed = "stica_nonce_rejections_total{reason=\"replayed\"}";
    let new_orders =
        "stica_http_requests_total{method=\"POST\",route=\"/acme/new-order\",status=\"201\"}";
    let signed = "stica_signing_duration_seconds_count{what=\"certificate\"}";

    // one issuance
    let list = spc("1234");
    let (raw, order, _, chall) = pending_order(&srv, &list).await;
    let r = raw
        .answer(&chall, &ta.token(&list, &raw.key.public_jwk()))
        .await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let (_, cert) = finalize_and_download(&raw, &order, &list).await;
    check_certificate(&srv, &cert.text());
    // one expired token
    let (raw2, _, _, chall2) = pending_order(&srv, &list).await;
    let r = raw2
        .answer(&chall2, &ta.expired_token(&list, &raw2.key.public_jwk()))
        .await;
    assert_eq!(r.json()["status"], "invalid", "{}", r.text());
    // one replayed nonce: the same signed request twice
    let account_url = raw.kid.clone().expect("kid");
    let body = serde_json::to_vec(&raw.jws(&account_url, None, |_| {}).await).unwrap();
    let first = raw
        .send(&account_url, "application/jose+json", body.clone())
        .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let second = raw.send(&account_url, "application/jose+json", body).await;
    assert_eq!(second.problem_type(), "urn:ietf:params:acme:error:badNonce");

    // one revocation by the issuing account
    let leaf = stica::x509::pem_certificates(cert.text().as_bytes()).expect("chain")[0].clone();
    let payload = serde_json::json!({
        "certificate": stica::jose::b64::encode_url(&leaf),
        "reason": 4,
    });
    let r = raw.post(&raw.url("revokeCert"), Some(&payload)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let revoked = "stica_revocations_total{reason=\"superseded\"}";

    let (_, after, _) = get(&metrics_url, None).await;
    assert_eq!(
        sample(&after, revoked),
        sample(&before, revoked) + 1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, issued),
        sample(&before, issued) + 1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, expired),
        sample(&before, expired) + 1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, replayed),
        sample(&before, replayed) + 1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, new_orders),
        sample(&before, new_orders) + 2.0,
        "{after}"
    );
    assert!(sample(&after, signed) >= 1.0, "{after}");
    // routes are templates: no order, account or certificate id becomes a label
    assert!(
        after.contains("route=\"/acme/order/{id}/finalize\""),
        "{after}"
    );
    let ids: Vec<&str> = after
        .lines()
        .filter(|l| l.contains("route=\"/acme/") && !l.contains('{'))
        .collect();
    assert!(ids.is_empty(), "raw paths as labels: {ids:?}");
    assert!(after.contains("stica_db_pool_max_connections"), "{after}");
    assert!(
        after.contains("stica_lease_held{name=\"jobs\"} 1"),
        "{after}"
    );

    // every signing is audit-logged before and after, inside the finalize request's span
    let lines = logs_until(&srv, |l| l["fields"]["event"] == "issue.stored").await;
    let audit = |event: &str| {
        lines
            .iter()
            .find(|l| l["target"] == "audit" && l["fields"]["event"] == event)
            .unwrap_or_else(|| panic!("no {event} audit line"))
            .clone()
    };
    let start = audit("sign.start");
    let done = audit("sign.done");
    assert_eq!(start["fields"]["serial"], done["fields"]["serial"]);
    assert_eq!(start["fields"]["profile"], "shaken-spc");
    assert!(start["fields"]["account"].is_string(), "{start}");
    assert_eq!(start["span"]["route"], "/acme/order/{id}/finalize");
    assert!(request_id_of(&start).is_some() && request_id_of(&start) == request_id_of(&done));
    // and every revocation: serial, reason, by whom, in the revokeCert request's span
    let lines = logs_until(&srv, |l| l["fields"]["event"] == "revoke").await;
    let revoke = lines
        .iter()
        .find(|l| l["target"] == "audit" && l["fields"]["event"] == "revoke")
        .expect("revoke audit line");
    assert_eq!(revoke["fields"]["serial"], done["fields"]["serial"]);
    assert_eq!(revoke["fields"]["reason"], "superseded (4)");
    let account_id = account_url.rsplit('/').next().expect("account id");
    assert_eq!(revoke["fields"]["by"], format!("account:{account_id}"));
    assert_eq!(revoke["span"]["route"], "/acme/revoke-cert");
    assert!(request_id_of(revoke).is_some());
}

#[tokio::test]
async fn readyz_and_request_ids_in_responses_and_json_logs() {
    let (srv, _ta) = json_logging_server().await;
    let (status, body, _) = get(&format!("{}/readyz", srv.base), None).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("readyz JSON");
    assert_eq!(v["status"], "ready");
    assert_eq!(v["checks"]["database"], "ok");
    assert_eq!(get(&format!("{}/healthz", srv.base), None).await.0, 200);

    // a sane incoming id is kept and echoed
    let (status, _, id) = get(&srv.directory(), Some("lb-7f3a.x_1")).await;
    assert_eq!(status, 200);
    assert_eq!(id.as_deref(), Some("lb-7f3a.x_1"));
    // an unsafe one is replaced, and a missing one generated
    let (_, _, id) = get(&srv.directory(), Some("evil id\"=1")).await;
    let replaced = id.expect("request id");
    assert!(
        replaced.len() == 22 && !replaced.contains(' '),
        "{replaced}"
    );
    let (_, _, id) = get(&format!("{}/nowhere", srv.base), None).await;
    let generated = id.expect("request id on a 404 too");
    assert_ne!(generated, replaced);

    // the request's log lines carry its id, and every line is JSON
    let lines = logs_until(&srv, |l| request_id_of(l) == Some("lb-7f3a.x_1")).await;
    let line = lines
        .iter()
        .find(|l| request_id_of(l) == Some("lb-7f3a.x_1"))
        .expect("line");
    assert_eq!(line["fields"]["status"], 200, "{line}");
    assert_eq!(line["span"]["route"], "/directory");
    assert!(
        !lines
            .iter()
            .any(|l| request_id_of(l) == Some("evil id\"=1")),
        "an unsafe id reached the logs"
    );
    logs_until(&srv, |l| request_id_of(l) == Some(generated.as_str())).await;
}

#[tokio::test]
async fn the_request_id_survives_a_filter_that_keeps_only_some_targets() {
    // Only warnings and the access log: the request's span must not be filtered away with the
    // info level, or lines written during the request would lose their id.
    let srv = TestServer::start(
        BIN,
        ServerOptions {
            env: vec![
                ("STICA_LOG".into(), "warn,stica::http=info".into()),
                ("STICA_LOG_FORMAT".into(), "json".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let (status, _, id) = get(&srv.directory(), Some("filtered-1")).await;
    assert_eq!((status, id.as_deref()), (200, Some("filtered-1")));
    let lines = logs_until(&srv, |l| l["target"] == "stica::http").await;
    let access = lines
        .iter()
        .find(|l| l["target"] == "stica::http")
        .expect("access line");
    assert_eq!(request_id_of(access), Some("filtered-1"), "{access}");
}

#[tokio::test]
async fn one_of_two_replicas_on_one_database_holds_the_jobs_lease() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let opts = ServerOptions {
        data_dir: Some(data.clone()),
        ..Default::default()
    };
    let a = TestServer::start(BIN, opts.clone()).await;
    let b = TestServer::start(BIN, opts).await;
    assert_eq!(a.database_url, b.database_url);
    let held = "stica_lease_held{name=\"jobs\"}";
    let mut holders = 0.0;
    for srv in [&a, &b] {
        let (_, text, _) = get(&format!("{}/metrics", srv.base), None).await;
        holders += sample(&text, held);
    }
    assert_eq!(holders, 1.0);
}

#[tokio::test]
async fn the_jobs_move_to_the_other_replica_when_the_holder_shuts_down() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ServerOptions {
        data_dir: Some(tmp.path().join("data")),
        env: vec![("STICA_LOG".into(), "info".into())],
        ..Default::default()
    };
    // The first replica takes the free lease before it listens; the second finds it taken.
    let mut a = TestServer::start(BIN, opts.clone()).await;
    let b = TestServer::start(BIN, opts).await;
    let held = "stica_lease_held{name=\"jobs\"}";
    let holds = |srv: &TestServer| {
        let url = format!("{}/metrics", srv.base);
        async move { sample(&get(&url, None).await.1, held) }
    };
    assert_eq!((holds(&a).await, holds(&b).await), (1.0, 0.0));
    // SIGTERM: a finishes, releases the lease, and b takes it at its next renewal
    assert!(a.terminate().success());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !a
        .log_lines()
        .iter()
        .any(|l| l.contains("jobs lease released"))
    {
        assert!(
            Instant::now() < deadline,
            "a did not release: {:?}",
            a.log_lines()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while holds(&b).await != 1.0 {
        assert!(Instant::now() < deadline, "b never took the jobs lease");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn refused(data_dir: &Path, database_url: &str) -> String {
    let (d, u) = (data_dir.to_path_buf(), database_url.to_string());
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        acme_tests::tools::serve_expecting_exit(BIN, &d, None, Some(&u))
    })
    .await
    .unwrap();
    assert!(code.is_some_and(|c| c != 0), "stica started: {stderr}");
    stderr
}

#[tokio::test]
async fn an_existing_ca_refuses_an_empty_database_unless_told_to_bind_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let first = TestServer::start(
        BIN,
        ServerOptions {
            data_dir: Some(data.clone()),
            ..Default::default()
        },
    )
    .await;
    drop(first);
    assert!(data.join("ca").join(".db-bound").exists());
    let root_before = std::fs::read(data.join("ca").join("root.pem")).unwrap();
    let empty = stica::sa::testing::fresh_database_url().await.unwrap();
    let stderr = refused(&data, &empty).await;
    assert!(
        stderr.contains("this CA's database looks empty"),
        "{stderr}"
    );
    assert!(stderr.contains("--bind-new-database"), "{stderr}");
    // nothing was written: the database is still unbound, so the refusal repeats
    let stderr = refused(&data, &empty).await;
    assert!(
        stderr.contains("this CA's database looks empty"),
        "{stderr}"
    );

    // the escape hatch binds the empty database to the same CA
    let srv = TestServer::start(
        BIN,
        ServerOptions {
            data_dir: Some(data.clone()),
            database_url: Some(empty.clone()),
            args: vec!["--bind-new-database".into()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(get(&format!("{}/readyz", srv.base), None).await.0, 200);
    drop(srv);
    assert_eq!(
        std::fs::read(data.join("ca").join("root.pem")).unwrap(),
        root_before
    );
    // from now on the new database is the CA's: a plain start works
    let srv = TestServer::start(
        BIN,
        ServerOptions {
            data_dir: Some(data.clone()),
            database_url: Some(empty.clone()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(get(&format!("{}/readyz", srv.base), None).await.0, 200);
    drop(srv);
    stica::sa::testing::drop_database(&empty).await.unwrap();
}

#[tokio::test]
async fn a_bound_database_refuses_a_data_directory_without_its_ca_or_with_another() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let first = TestServer::start(
        BIN,
        ServerOptions {
            data_dir: Some(data.clone()),
            ..Default::default()
        },
    )
    .await;
    let bound = first.database_url.clone();
    drop(first);

    // a fresh data directory would make a second hierarchy: refused before creating anything
    let fresh = tmp.path().join("fresh");
    let stderr = refused(&fresh, &bound).await;
    assert!(stderr.contains("second hierarchy"), "{stderr}");
    assert!(!fresh.join("ca").join("root.pem").exists());

    // another CA's data directory
    let other = tmp.path().join("other");
    drop(
        TestServer::start(
            BIN,
            ServerOptions {
                data_dir: Some(other.clone()),
                ..Default::default()
            },
        )
        .await,
    );
    let stderr = refused(&other, &bound).await;
    assert!(
        stderr.contains("belongs to the CA with root sha256"),
        "{stderr}"
    );

    // the CA's own data directory still starts
    let srv = TestServer::start(
        BIN,
        ServerOptions {
            data_dir: Some(data.clone()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(get(&format!("{}/readyz", srv.base), None).await.0, 200);
}
