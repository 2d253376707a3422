//! End to end: `stica bench issue` and `stica bench ocsp` against the real binary. They check
//! behaviour (certificates issued, answers counted and classified), never timing.

mod common;

use std::path::Path;

use acme_tests::{ServerOptions, TestServer};
use common::BIN;
use serde_json::Value;

/// Runs `stica bench <args>` and parses its `--json` output.
async fn bench(args: Vec<String>) -> Value {
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .arg("bench")
            .args(&args)
            .arg("--json")
            .env("STICA_LOG", "warn")
            .output()
            .expect("run stica bench")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "stica bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn s(v: &str) -> String {
    v.to_string()
}

fn issue_args(srv: &TestServer, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        s("issue"),
        s("--directory"),
        srv.directory(),
        s("--pa-data-dir"),
        srv.data_dir.join("pa").display().to_string(),
    ];
    args.extend(extra.iter().map(|a| s(a)));
    args
}

fn first_chain(dir: &Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .expect("chains dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "pem"))
        .expect("a saved chain")
}

#[tokio::test]
async fn bench_issue_then_ocsp_get_and_post_without_errors() {
    let srv = TestServer::start(BIN, ServerOptions::default()).await;
    let chains = srv.data_dir.with_file_name("chains");
    let chains_arg = chains.display().to_string();
    let report = bench(issue_args(
        &srv,
        &[
            "--duration",
            "2s",
            "--concurrency",
            "2",
            "--save-chains",
            &chains_arg,
        ],
    ))
    .await;
    assert_eq!(report["bench"], "issue");
    assert!(report["successes"].as_u64().unwrap_or(0) > 0, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    for phase in [
        "account",
        "order",
        "token",
        "challenge",
        "finalize",
        "download",
        "total",
    ] {
        let p = &report["phases"][phase];
        assert!(p["count"].as_u64().unwrap_or(0) > 0, "{phase}: {report}");
        assert!(p["p99_ms"].as_f64().is_some(), "{phase}: {report}");
    }
    // Every issued chain verifies against the CA root.
    let chain_file = first_chain(&chains);
    let chain = std::fs::read_to_string(&chain_file).expect("chain");
    let (ok, text) = acme_tests::openssl_verify(&srv.root_pem(), &chain);
    assert!(ok, "{text}");

    let url = format!("{}/ocsp", srv.base);
    let cert = chain_file.display().to_string();
    for extra in [
        &["--method", "get"][..],
        &["--method", "post", "--nonce"][..],
    ] {
        let mut args = vec![
            s("ocsp"),
            s("--url"),
            url.clone(),
            s("--cert"),
            cert.clone(),
            s("--duration"),
            s("1s"),
            s("--concurrency"),
            s("2"),
        ];
        args.extend(extra.iter().map(|a| s(a)));
        let report = bench(args).await;
        assert_eq!(report["bench"], "ocsp");
        assert!(report["successes"].as_u64().unwrap_or(0) > 0, "{report}");
        assert_eq!(report["errors"], 0, "{report}");
        assert!(report["latency"]["p99_ms"].as_f64().is_some(), "{report}");
    }
}

#[tokio::test]
async fn bench_counts_refusals_by_type() {
    let srv = TestServer::start(BIN, ServerOptions::default()).await;
    // The default policy offers only shaken-spc: a TN-only order is refused at newOrder.
    let report = bench(issue_args(
        &srv,
        &[
            "--duration",
            "30s",
            "--count",
            "2",
            "--concurrency",
            "1",
            "--tnauthlist",
            "tn:12155550123",
        ],
    ))
    .await;
    assert_eq!(report["successes"], 0, "{report}");
    assert_eq!(report["errors"], 2, "{report}");
    assert_eq!(
        report["errors_by_type"]["order: rejectedIdentifier"], 2,
        "{report}"
    );
    assert!(report["phases"].get("total").is_none(), "{report}");

    // A CertID that names the root as the issuer: stica does not answer for it (RFC 5019
    // §2.2.3 unauthorized), and the tool counts that as a failure, not a success.
    let chains = srv.data_dir.with_file_name("chains");
    let chains_arg = chains.display().to_string();
    let report = bench(issue_args(
        &srv,
        &[
            "--count",
            "1",
            "--concurrency",
            "1",
            "--save-chains",
            &chains_arg,
        ],
    ))
    .await;
    assert_eq!(report["successes"], 1, "{report}");
    let report = bench(vec![
        s("ocsp"),
        s("--url"),
        format!("{}/ocsp", srv.base),
        s("--cert"),
        first_chain(&chains).display().to_string(),
        s("--issuer"),
        srv.root_pem().display().to_string(),
        s("--count"),
        s("3"),
        s("--concurrency"),
        s("1"),
    ])
    .await;
    assert_eq!(report["successes"], 0, "{report}");
    assert_eq!(report["errors_by_type"]["unauthorized"], 3, "{report}");
}
