//! Running the command-line tools the end-to-end tests check interop with (`openssl`) and the
//! real binary in ways [`crate::TestServer`] does not (a start that must fail).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd`; (success, stdout followed by stderr).
pub fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run a tool");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `openssl ocsp` asking `url` about `dir/leaf.pem` issued by `dir/issuer.pem`, the response
/// verified up to `dir/root.pem`, with `extra` arguments (`-no_nonce`, `-verify_other F`, ...);
/// stdout followed by stderr.
pub fn openssl_ocsp(dir: &Path, url: &str, extra: &[&str]) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args(["ocsp", "-issuer"])
        .arg(dir.join("issuer.pem"))
        .arg("-cert")
        .arg(dir.join("leaf.pem"))
        .args(["-url", url, "-CAfile"])
        .arg(dir.join("root.pem"))
        .args(extra);
    output(&mut cmd).1
}

/// Writes the first two certificates of `chain_pem` to `dir/leaf.pem` and `dir/issuer.pem` and
/// copies `root` to `dir/root.pem`, for [`openssl_ocsp`].
pub fn write_ocsp_files(dir: &Path, chain_pem: &str, root: &Path) {
    let pems: Vec<&str> = chain_pem
        .split_inclusive("-----END CERTIFICATE-----\n")
        .collect();
    std::fs::write(dir.join("leaf.pem"), pems.first().copied().unwrap_or("")).expect("leaf");
    std::fs::write(dir.join("issuer.pem"), pems.get(1).copied().unwrap_or("")).expect("issuer");
    std::fs::copy(root, dir.join("root.pem")).expect("root");
}

/// Runs `bin serve` on `data_dir` with `policy_dir` (if any) and `database_url` (default: a
/// SQLite file inside `data_dir`), and returns its exit code and stderr when it stops within
/// 60 s (`None`: it started, and was killed).
pub fn serve_expecting_exit(
    bin: &str,
    data_dir: &Path,
    policy_dir: Option<&Path>,
    database_url: Option<&str>,
) -> (Option<i32>, String) {
    let database_url = database_url.map(str::to_string).unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("refused.db").display()
        )
    });
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("STICA_LOG", "warn");
    if let Some(policy_dir) = policy_dir {
        cmd.arg("--policy-dir").arg(policy_dir);
    }
    let mut child = cmd
        .arg("--database-url")
        .arg(&database_url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stica");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                std::io::Read::read_to_string(&mut stderr, &mut err).expect("stderr");
            }
            return (status.code(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (None, String::new());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
