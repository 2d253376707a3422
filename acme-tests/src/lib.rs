//! Helpers shared by the end-to-end tests: start the real binary on a real port, with a fresh
//! database (SQLite file, or a new PostgreSQL database when `STICA_TEST_DATABASE_URL` is set).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to start a server.
#[derive(Debug, Default, Clone)]
pub struct ServerOptions {
    /// `policy.toml` contents; when set (or when `token_authorities` is non-empty) a policy
    /// directory is created and passed with `--policy-dir`.
    pub policy_toml: Option<String>,
    /// PEM files copied into `<policy-dir>/token-authorities/`.
    pub token_authorities: Vec<PathBuf>,
    /// Reuse this data directory (for restarts) instead of a new one. A restart reuses the
    /// database the first start on this directory used (recorded beside it), as a real restart
    /// does: stica refuses a CA whose database looks empty (docs/operations.md).
    pub data_dir: Option<PathBuf>,
    /// Serve HTTPS with a fresh self-signed certificate for 127.0.0.1.
    pub tls: bool,
    /// Start against this database instead of a new one (or the one recorded for `data_dir`).
    /// The caller keeps it: it is not dropped with the server.
    pub database_url: Option<String>,
    /// More arguments for `stica serve`.
    pub args: Vec<String>,
    /// More environment variables (e.g. `STICA_LOG`, `STICA_LOG_FORMAT`).
    pub env: Vec<(String, String)>,
}

/// A running `stica serve`, killed on drop.
pub struct TestServer {
    /// external base URL, e.g. `http://127.0.0.1:41234`
    pub base: String,
    /// the data directory (`ca/root.pem` lives here)
    pub data_dir: PathBuf,
    /// the database URL the server uses
    pub database_url: String,
    /// with `tls`: the PEM certificate the server presents (trust it in clients)
    pub tls_cert_pem: Option<String>,
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    /// whether this server made (and so drops) its database
    owns_database: bool,
    _tmp: Option<tempfile::TempDir>,
}

/// The file beside a caller's data directory that records the database its first start used.
fn database_record(data_dir: &Path) -> PathBuf {
    data_dir.with_file_name(format!(
        "{}.database-url",
        data_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("data")
    ))
}

/// The path of the real binary under test.
pub fn binary(bin_env: &str) -> PathBuf {
    PathBuf::from(bin_env)
}

impl TestServer {
    /// Starts `bin serve --listen 127.0.0.1:0` and waits until it announces its address.
    pub async fn start(bin: &str, opts: ServerOptions) -> TestServer {
        let (tmp, data_dir) = match &opts.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::tempdir().expect("tempdir");
                let d = t.path().join("data");
                (Some(t), d)
            }
        };
        // A caller's data directory keeps its database across restarts; the caller's temporary
        // directory outlives the servers, so such a database is not dropped with any of them.
        let recorded = opts
            .data_dir
            .as_deref()
            .map(database_record)
            .and_then(|p| std::fs::read_to_string(p).ok());
        let (database_url, owns_database) = match (&opts.database_url, recorded) {
            (Some(u), _) => (u.clone(), false),
            (None, Some(u)) => (u.trim().to_string(), false),
            (None, None) => {
                let u = stica::sa::testing::fresh_database_url()
                    .await
                    .expect("fresh test database");
                match &opts.data_dir {
                    Some(d) => {
                        std::fs::create_dir_all(d.parent().expect("data dir parent"))
                            .expect("data dir parent");
                        std::fs::write(database_record(d), &u).expect("database record");
                        (u, false)
                    }
                    None => (u, true),
                }
            }
        };
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--database-url")
            .arg(&database_url)
            .env("STICA_LOG", "warn")
            .args(&opts.args)
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if opts.policy_toml.is_some() || !opts.token_authorities.is_empty() {
            let policy_dir = data_dir.with_file_name("policy");
            write_policy_dir(&policy_dir, &opts);
            cmd.arg("--policy-dir").arg(&policy_dir);
        }
        let tls_cert_pem = opts.tls.then(|| {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
            let mut params =
                rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
            params
                .subject_alt_names
                .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
            let cert = params.self_signed(&key).expect("self-signed");
            let dir = data_dir.with_file_name("tls");
            std::fs::create_dir_all(&dir).expect("tls dir");
            std::fs::write(dir.join("cert.pem"), cert.pem()).expect("cert");
            std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("key");
            let config = format!(
                "tls_cert = {:?}\ntls_key = {:?}\n",
                dir.join("cert.pem").display().to_string(),
                dir.join("key.pem").display().to_string()
            );
            std::fs::write(dir.join("stica.toml"), config).expect("config");
            cmd.arg("--config").arg(dir.join("stica.toml"));
            cert.pem()
        });
        let mut child = cmd.spawn().expect("start stica");
        // stderr is kept for tests that read the logs, and passed on to the test's own stderr.
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let child_err = child.stderr.take().expect("stderr");
        let lines = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(child_err).lines().map_while(Result::ok) {
                eprintln!("{line}");
                if let Ok(mut l) = lines.lock() {
                    l.push(line);
                }
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("stica listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            if let Ok(a) = rx.try_recv() {
                break a;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("stica exited during start: {status}");
            }
            assert!(Instant::now() < deadline, "stica did not start within 60 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let scheme = if opts.tls { "https" } else { "http" };
        TestServer {
            base: format!("{scheme}://{addr}"),
            data_dir,
            database_url,
            tls_cert_pem,
            child,
            stderr,
            owns_database,
            _tmp: tmp,
        }
    }

    /// Stops the server with SIGTERM (a graceful shutdown) and waits for it to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -TERM failed");
        self.child.wait().expect("wait for stica")
    }

    /// The lines the server wrote to stderr so far (its logs).
    pub fn log_lines(&self) -> Vec<String> {
        self.stderr.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The directory URL.
    pub fn directory(&self) -> String {
        format!("{}/directory", self.base)
    }

    /// `<data-dir>/ca/root.pem`
    pub fn root_pem(&self) -> PathBuf {
        self.data_dir.join("ca").join("root.pem")
    }

    /// Runs the same binary with other arguments (e.g. `account add`) against this server's data.
    pub fn run(&self, bin: &str, args: &[&str]) -> std::process::Output {
        Command::new(bin)
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--database-url")
            .arg(&self.database_url)
            .arg("--external-url")
            .arg(&self.base)
            .output()
            .expect("run stica")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.owns_database && self.database_url.starts_with("postgres") {
            // Drop the per-test database on a runtime of its own (Drop cannot await).
            let url = self.database_url.clone();
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    let _ = rt.block_on(stica::sa::testing::drop_database(&url));
                }
            })
            .join();
        }
    }
}

fn write_policy_dir(dir: &Path, opts: &ServerOptions) {
    let tas = dir.join("token-authorities");
    std::fs::create_dir_all(&tas).expect("policy dir");
    if let Some(toml) = &opts.policy_toml {
        std::fs::write(dir.join("policy.toml"), toml).expect("policy.toml");
    }
    for (i, p) in opts.token_authorities.iter().enumerate() {
        std::fs::copy(p, tas.join(format!("ta{i}.pem"))).expect("copy token authority");
    }
}

/// Runs `openssl verify` of a PEM chain (leaf first) against a root; returns (ok, output).
pub fn openssl_verify(root: &Path, chain_pem: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocks: Vec<&str> = chain_pem
        .split_inclusive("-----END CERTIFICATE-----\n")
        .collect();
    let leaf = dir.path().join("leaf.pem");
    let untrusted = dir.path().join("untrusted.pem");
    std::fs::write(&leaf, blocks.first().copied().unwrap_or("")).expect("write");
    std::fs::write(
        &untrusted,
        blocks.get(1..).map(|b| b.concat()).unwrap_or_default(),
    )
    .expect("write");
    let out = Command::new("openssl")
        .args(["verify", "-x509_strict", "-CAfile"])
        .arg(root)
        .arg("-untrusted")
        .arg(&untrusted)
        .arg(&leaf)
        .output()
        .expect("openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub mod balancer;
pub mod raw;
pub mod ta;
pub mod tools;
