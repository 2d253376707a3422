//! End to end with an ACME client that was not written in this repository: certbot's Python `acme`
//! library (with the two small extensions every SHAKEN deployment of a generic ACME library needs,
//! see python/tkauth_client.py). The token comes from stica's dev token authority over its STI-PA
//! HTTP API.

mod common;

use acme_tests::{ServerOptions, TestServer};
use common::*;

fn python_acme_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import acme, josepy, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn certbot_acme_library_obtains_an_spc_certificate() {
    if !python_acme_available() {
        // .ci/run installs the library and sets STICA_REQUIRE_PYTHON_ACME, so CI cannot skip this.
        assert!(
            std::env::var_os("STICA_REQUIRE_PYTHON_ACME").is_none(),
            "python3 with the acme library is required (pip install acme)"
        );
        eprintln!("skipped: python3 acme library not installed (pip install acme)");
        return;
    }
    let srv = TestServer::start(BIN, ServerOptions::default()).await;
    let users =
        std::fs::read_to_string(srv.data_dir.join("pa").join("users.toml")).expect("users.toml");
    let field = |key: &str| {
        users
            .lines()
            .find_map(|l| {
                l.trim().strip_prefix(key).map(|r| {
                    r.trim_start_matches([' ', '='])
                        .trim()
                        .trim_matches('"')
                        .to_string()
                })
            })
            .expect("users.toml field")
    };
    let out_dir = tempfile::tempdir().unwrap();
    let chain_path = out_dir.path().join("chain.pem");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/tkauth_client.py");
    let directory = srv.directory();
    let pa_base = format!("{}/sti-pa", srv.base);
    let (user, password) = (field("user_id"), field("password"));
    let chain = chain_path.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args([script, &directory, &pa_base, &user, &password, "709J"])
            .arg(&chain)
            .output()
            .expect("python3")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "python client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let chain_pem = std::fs::read_to_string(&chain_path).expect("chain written");
    check_certificate(&srv, &chain_pem);
}
