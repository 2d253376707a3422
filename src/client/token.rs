//! Where the client gets its Authority Token (RFC 9447 §3.1, RFC 9448 §5): a file, a command, or
//! a token authority that speaks the STI-PA API (ATIS-1000080 practice; standards.md §2.8, §4).
//!
//! The token binds the TNAuthList to the ACME account key by a fingerprint. The client sends the
//! production form, SHA-256 over the DER SubjectPublicKeyInfo of the account key, because that is
//! what the STI-PA and production STI-CAs use (interop.md); stica also accepts the RFC 7638
//! thumbprint form on the server side.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::acme::TNAUTHLIST;
use crate::jose::{self, PublicJwk};
use crate::tnauth::TnAuthList;

/// A token source's output larger than this is not a token.
const MAX_TOKEN_BYTES: usize = 64 * 1024;
/// How long a token command may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the Authority Token comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// A file holding the compact JWS (surrounding whitespace ignored).
    File(PathBuf),
    /// A shell command (`sh -c`) that prints the token on stdout. It sees `STICA_TNAUTHLIST`
    /// (base64url DER), `STICA_SPC` (when the list is one SPC) and `STICA_ACCOUNT_FINGERPRINT`
    /// (the SPKI fingerprint text) in its environment.
    Command(String),
    /// A token authority with the STI-PA HTTP API: log in, then request an SPC token.
    Authority {
        /// The API base: `https://authenticate-api.iconectiv.com`, or
        /// `http://127.0.0.1:8080/sti-pa` for the development token authority.
        base_url: String,
        /// The login user id.
        user: String,
        /// The login password.
        password: String,
        /// Ask for a token that allows a CA certificate (`atc.ca`, RFC 9448 §5).
        ca: bool,
    },
}

impl std::fmt::Debug for TokenSource {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Command(cmd) => f.debug_tuple("Command").field(cmd).finish(),
            Self::Authority {
                base_url, user, ca, ..
            } => f
                .debug_struct("Authority")
                .field("base_url", base_url)
                .field("user", user)
                .field("password", &"<redacted>")
                .field("ca", ca)
                .finish(),
        }
    }
}

/// Why no token could be obtained.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token file could not be read.
    #[error("cannot read the token file {path}: {source}")]
    File {
        /// the file
        path: PathBuf,
        /// why
        source: std::io::Error,
    },
    /// The token command could not be started or its output not read.
    #[error("cannot run the token command `{command}`: {source}")]
    CommandStart {
        /// the command line
        command: String,
        /// why
        source: std::io::Error,
    },
    /// The token command exited unsuccessfully.
    #[error("the token command `{command}` failed ({status}): {stderr}")]
    CommandFailed {
        /// the command line
        command: String,
        /// its exit status
        status: String,
        /// the start of what it wrote to stderr
        stderr: String,
    },
    /// The token command ran longer than allowed.
    #[error("the token command `{command}` did not finish within {secs} s")]
    CommandTimeout {
        /// the command line
        command: String,
        /// the limit
        secs: u64,
    },
    /// What the source produced is not a compact JWS (RFC 7515 §7.1).
    #[error("{origin} did not produce a token (expected a compact JWS: three base64url parts)")]
    NotAToken {
        /// file, command or URL
        origin: String,
    },
    /// The token authority API is called per SPC account: the list must name exactly one SPC
    /// (alone, or with the numbers of a TN-list token).
    #[error(
        "the token authority API issues tokens per SPC account: the TNAuthList must name exactly one SPC (alone, or with telephone numbers and ranges), not {0}"
    )]
    NotSingleSpc(String),
    /// The token authority could not be reached.
    #[error("cannot reach the token authority at {url}: {detail}")]
    Transport {
        /// the URL
        url: String,
        /// the error chain
        detail: String,
    },
    /// The token authority refused or answered something unusable.
    #[error("the token authority at {url} refused: {detail}")]
    Refused {
        /// the URL
        url: String,
        /// HTTP status and message
        detail: String,
    },
}

impl TokenSource {
    /// Fetches a token for `tnauthlist`, bound to the account key `account_jwk`.
    pub async fn fetch(
        &self,
        http: &reqwest::Client,
        tnauthlist: &TnAuthList,
        account_jwk: &PublicJwk,
    ) -> Result<String, TokenError> {
        let (origin, token) = match self {
            Self::File(path) => {
                let text =
                    tokio::fs::read_to_string(path)
                        .await
                        .map_err(|source| TokenError::File {
                            path: path.clone(),
                            source,
                        })?;
                (format!("the token file {}", path.display()), text)
            }
            Self::Command(command) => {
                let token = run_command(command, tnauthlist, account_jwk).await?;
                (format!("the token command `{command}`"), token)
            }
            Self::Authority {
                base_url,
                user,
                password,
                ca,
            } => {
                let token = request_from_authority(
                    http,
                    base_url,
                    user,
                    password,
                    *ca,
                    tnauthlist,
                    account_jwk,
                )
                .await?;
                (format!("the token authority at {base_url}"), token)
            }
        };
        let token = token.trim().to_string();
        if !looks_like_compact_jws(&token) {
            return Err(TokenError::NotAToken { origin });
        }
        Ok(token)
    }
}

/// The account key fingerprint as the STI-PA expects it (RFC 9447 §3.1 `fingerprint`; the
/// production form is SHA-256 over the SPKI DER, standards.md §2.5): `SHA256 AB:CD:...`.
pub fn account_fingerprint(account_jwk: &PublicJwk) -> String {
    jose::fingerprint_text(&Sha256::digest(account_jwk.spki_der()))
}

/// The STI-PA token request body (standards.md §2.8): `tkvalue` is the DER TNAuthList in standard
/// padded base64, the form the STI-PA itself uses.
pub fn token_request_body(tnauthlist: &TnAuthList, fingerprint: &str, ca: bool) -> Value {
    let tkvalue = base64::engine::general_purpose::STANDARD.encode(tnauthlist.to_der());
    json!({
        "atc": {
            "tktype": TNAUTHLIST,
            "tkvalue": tkvalue,
            "ca": ca,
            "fingerprint": fingerprint,
        }
    })
}

/// Login then token request against the STI-PA API (standards.md §4).
async fn request_from_authority(
    http: &reqwest::Client,
    base_url: &str,
    user: &str,
    password: &str,
    ca: bool,
    tnauthlist: &TnAuthList,
    account_jwk: &PublicJwk,
) -> Result<String, TokenError> {
    let mut spcs = tnauthlist.spcs();
    let spc = match (spcs.next(), spcs.next()) {
        (Some(spc), None) => spc,
        _ => return Err(TokenError::NotSingleSpc(tnauthlist.to_string())),
    };
    let base = base_url.trim_end_matches('/');

    let login_url = format!("{base}/api/v1/auth/login");
    let login = post_json(
        http,
        &login_url,
        None,
        &json!({ "userId": user, "password": password }),
    )
    .await?;
    let access_token = login
        .get("accessToken")
        .and_then(Value::as_str)
        .ok_or_else(|| TokenError::Refused {
            url: login_url.clone(),
            detail: "the login answer has no accessToken".into(),
        })?;

    let mut token_url =
        url::Url::parse(&format!("{base}/")).map_err(|e| TokenError::Transport {
            url: base.to_string(),
            detail: e.to_string(),
        })?;
    token_url
        .path_segments_mut()
        .map_err(|_| TokenError::Transport {
            url: base.to_string(),
            detail: "the base URL cannot take a path".into(),
        })?
        .pop_if_empty()
        .extend(["api", "v1", "account", spc.as_str(), "token"]);
    let body = token_request_body(tnauthlist, &account_fingerprint(account_jwk), ca);
    let answer = post_json(http, token_url.as_str(), Some(access_token), &body).await?;
    answer
        .get("token")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| TokenError::Refused {
            url: token_url.to_string(),
            detail: "the answer has no token".into(),
        })
}

/// POSTs JSON, expects 2xx JSON with `"status": "success"` (the STI-PA's envelope).
async fn post_json(
    http: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
    body: &Value,
) -> Result<Value, TokenError> {
    let mut request = http.post(url).json(body);
    if let Some(token) = authorization {
        // The STI-PA wants the raw access token, no "Bearer " (standards.md §2.8).
        let value = HeaderValue::from_str(token).map_err(|_| TokenError::Refused {
            url: url.to_string(),
            detail: "the access token is not a valid header value".into(),
        })?;
        request = request.header(AUTHORIZATION, value);
    }
    let response = request.send().await.map_err(|e| TokenError::Transport {
        url: url.to_string(),
        detail: crate::client::error_chain(&e),
    })?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| TokenError::Transport {
        url: url.to_string(),
        detail: crate::client::error_chain(&e),
    })?;
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    let message = json
        .as_ref()
        .and_then(|j| j.get("message").or_else(|| j.get("detail")))
        .and_then(Value::as_str)
        .map(str::to_string);
    let envelope_ok = json
        .as_ref()
        .and_then(|j| j.get("status"))
        .and_then(Value::as_str)
        .is_none_or(|s| s.eq_ignore_ascii_case("success"));
    match json {
        Some(json) if status.is_success() && envelope_ok => Ok(json),
        _ => {
            let detail = message.unwrap_or_else(|| {
                String::from_utf8_lossy(&bytes)
                    .trim()
                    .chars()
                    .take(300)
                    .collect()
            });
            Err(TokenError::Refused {
                url: url.to_string(),
                detail: format!("HTTP {}: {detail}", status.as_u16()),
            })
        }
    }
}

/// Runs `sh -c command` with the order's details in the environment; stdout is the token.
async fn run_command(
    command: &str,
    tnauthlist: &TnAuthList,
    account_jwk: &PublicJwk,
) -> Result<String, TokenError> {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .env("STICA_TNAUTHLIST", tnauthlist.to_identifier_value())
        .env(
            "STICA_ACCOUNT_FINGERPRINT",
            account_fingerprint(account_jwk),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    match tnauthlist.single_spc() {
        Some(spc) => cmd.env("STICA_SPC", spc.as_str()),
        None => cmd.env_remove("STICA_SPC"),
    };
    let start_error = |source| TokenError::CommandStart {
        command: command.to_string(),
        source,
    };
    let child = cmd.spawn().map_err(start_error)?;
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| TokenError::CommandTimeout {
            command: command.to_string(),
            secs: COMMAND_TIMEOUT.as_secs(),
        })?
        .map_err(start_error)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(TokenError::CommandFailed {
            command: command.to_string(),
            status: output.status.to_string(),
            stderr: stderr.trim().chars().take(500).collect(),
        });
    }
    if output.stdout.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::NotAToken {
            origin: format!("the token command `{command}`"),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A compact JWS is three base64url parts separated by dots (RFC 7515 §7.1); a quick check so a
/// wrong file or a chatty command gives a clear error before the CA sees it.
fn looks_like_compact_jws(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    token.len() <= MAX_TOKEN_BYTES
        && parts.len() == 3
        && parts.iter().take(2).all(|p| !p.is_empty())
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spc_1234() -> TnAuthList {
        "spc:1234".parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn token_request_body_shape() {
        let body = token_request_body(&spc_1234(), "SHA256 AB:CD", false);
        assert_eq!(
            body,
            json!({"atc": {
                "tktype": "TNAuthList",
                "tkvalue": "MAigBhYEMTIzNA==",
                "ca": false,
                "fingerprint": "SHA256 AB:CD",
            }})
        );
        assert_eq!(
            token_request_body(&spc_1234(), "f", true)["atc"]["ca"],
            true
        );
    }

    #[test]
    fn fingerprint_is_over_the_spki_der() {
        let key = crate::client::new_signer().unwrap_or_else(|e| panic!("{e}"));
        let jwk = key.public_jwk();
        let fp = account_fingerprint(&jwk);
        let expected = jose::fingerprint_text(&Sha256::digest(jwk.spki_der()));
        assert_eq!(fp, expected);
        assert!(fp.starts_with("SHA256 "));
        // 32 bytes as colon-separated uppercase pairs.
        let hex = fp.trim_start_matches("SHA256 ");
        assert_eq!(hex.split(':').count(), 32);
        assert_eq!(hex, hex.to_uppercase());
    }

    #[test]
    fn compact_jws_check() {
        assert!(looks_like_compact_jws("eyJh.eyJl.c2ln"));
        assert!(!looks_like_compact_jws("eyJh.eyJl"));
        assert!(!looks_like_compact_jws("hello world"));
        assert!(!looks_like_compact_jws("a.b.c.d.e"));
        assert!(!looks_like_compact_jws(".eyJl.c2ln"));
    }

    fn jwk() -> PublicJwk {
        crate::client::new_signer()
            .unwrap_or_else(|e| panic!("{e}"))
            .public_jwk()
    }

    #[tokio::test]
    async fn file_source_trims_and_checks() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("token");
        std::fs::write(&path, "  eyJh.eyJl.c2ln\n").unwrap_or_else(|e| panic!("{e}"));
        let http = reqwest::Client::new();
        let token = TokenSource::File(path.clone())
            .fetch(&http, &spc_1234(), &jwk())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(token, "eyJh.eyJl.c2ln");

        std::fs::write(&path, "not a token").unwrap_or_else(|e| panic!("{e}"));
        let err = TokenSource::File(path)
            .fetch(&http, &spc_1234(), &jwk())
            .await;
        assert!(matches!(err, Err(TokenError::NotAToken { .. })));

        let missing = TokenSource::File(dir.path().join("missing"))
            .fetch(&http, &spc_1234(), &jwk())
            .await;
        assert!(matches!(missing, Err(TokenError::File { .. })));
    }

    #[tokio::test]
    async fn command_source_sees_the_order_and_reports_failure() {
        let http = reqwest::Client::new();
        let key = jwk();
        let token = TokenSource::Command("printf 'eyJh.%s.c2ln\\n' \"$STICA_SPC\"".into())
            .fetch(&http, &spc_1234(), &key)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(token, "eyJh.1234.c2ln");

        let fp = TokenSource::Command(
            "fp=\"${STICA_ACCOUNT_FINGERPRINT#SHA256 }\"; printf 'a.%s.b' \"$(printf %s \"$fp\" | tr -d :)\"".into(),
        )
        .fetch(&http, &spc_1234(), &key)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let expected: String = account_fingerprint(&key)
            .trim_start_matches("SHA256 ")
            .replace(':', "");
        assert_eq!(fp, format!("a.{expected}.b"));

        let err = TokenSource::Command("echo boom >&2; exit 3".into())
            .fetch(&http, &spc_1234(), &key)
            .await;
        match err {
            Err(TokenError::CommandFailed { stderr, .. }) => assert_eq!(stderr, "boom"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let source = TokenSource::Authority {
            base_url: "https://ta.example".into(),
            user: "u".into(),
            password: "hunter2".into(),
            ca: false,
        };
        assert!(!format!("{source:?}").contains("hunter2"));
    }

    /// The real development token authority (`pa`), served on a loopback port under `/sti-pa`
    /// as `stica serve` mounts it: the client's STI-PA API calls must work against it unchanged.
    async fn dev_authority() -> (
        crate::pa::DevTokenAuthority,
        String,
        tempfile::TempDir,
        tokio::task::JoinHandle<()>,
    ) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let base = format!("http://{addr}/sti-pa");
        let pa = crate::pa::DevTokenAuthority::load_or_init(dir.path(), &base)
            .unwrap_or_else(|e| panic!("{e}"));
        let app = axum::Router::new().nest("/sti-pa", pa.router());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (pa, base, dir, server)
    }

    #[tokio::test]
    async fn token_from_the_dev_token_authority() {
        let (pa, base, _dir, server) = dev_authority().await;
        let key = jwk();
        let source = TokenSource::Authority {
            base_url: format!("{base}/"),
            user: pa.dev_user().to_string(),
            password: pa.dev_password().to_string(),
            ca: false,
        };
        let http = crate::client::http_client(None).unwrap_or_else(|e| panic!("{e}"));
        let token = source
            .fetch(&http, &spc_1234(), &key)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let jws = jose::CompactJws::parse(&token).unwrap_or_else(|e| panic!("{e}"));
        let atc = &jws.claims["atc"];
        assert_eq!(atc["fingerprint"], account_fingerprint(&key));
        let tkvalue = atc["tkvalue"].as_str().unwrap_or_default();
        let der = jose::b64::decode_lenient(tkvalue).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(der, spc_1234().to_der());
        assert_ne!(atc["ca"], true);
        server.abort();
    }

    #[tokio::test]
    async fn dev_token_authority_refuses_a_wrong_password_and_non_spc_lists() {
        let (pa, base, _dir, server) = dev_authority().await;
        let http = crate::client::http_client(None).unwrap_or_else(|e| panic!("{e}"));
        let wrong = TokenSource::Authority {
            base_url: base.clone(),
            user: pa.dev_user().to_string(),
            password: format!("{}-wrong", pa.dev_password()),
            ca: false,
        };
        let err = wrong.fetch(&http, &spc_1234(), &jwk()).await;
        match err {
            Err(TokenError::Refused { url, .. }) => assert!(url.ends_with("/api/v1/auth/login")),
            other => panic!("unexpected {other:?}"),
        }

        let numbers: TnAuthList = "tn:12155550123".parse().unwrap_or_else(|e| panic!("{e}"));
        let right = TokenSource::Authority {
            base_url: base,
            user: pa.dev_user().to_string(),
            password: pa.dev_password().to_string(),
            ca: false,
        };
        let err = right.fetch(&http, &numbers, &jwk()).await;
        assert!(matches!(err, Err(TokenError::NotSingleSpc(_))), "{err:?}");
        // A TN-list token for the SPC's account (the dev user may ask for TN lists).
        let with_spc: TnAuthList = "spc:1234,tn:12155550123"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let token = right
            .fetch(&http, &with_spc, &jwk())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(token.split('.').count(), 3);
        server.abort();
    }

    #[tokio::test]
    async fn unreachable_token_authority_is_a_transport_error() {
        let source = TokenSource::Authority {
            base_url: "http://127.0.0.1:1/sti-pa".into(),
            user: "u".into(),
            password: "p".into(),
            ca: false,
        };
        let http = crate::client::http_client(None).unwrap_or_else(|e| panic!("{e}"));
        let err = source.fetch(&http, &spc_1234(), &jwk()).await;
        assert!(matches!(err, Err(TokenError::Transport { .. })), "{err:?}");
    }
}
