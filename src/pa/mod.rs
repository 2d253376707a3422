//! Development token authority: an STI-PA look-alike for tests and local setups.
//!
//! In SHAKEN the STI-PA (ATIS-1000080; iconectiv's API, standards.md §2.8 and §4) issues SPC tokens,
//! the RFC 9447/9448 Authority Tokens a service provider hands to an STI-CA in the tkauth-01
//! challenge. This module plays that part with its own root, token-signing certificate and CRL
//! (see [`pki`]), mints tokens of the same shape (see [`mint`]), and serves the same HTTP API (see
//! [`api`]) so client software written for the real STI-PA can be pointed at it unchanged.
//!
//! It is a development tool: its accounts come from a plain TOML file and its state (sessions,
//! trust list) lives in memory.

mod api;
pub mod cli;
mod config;
pub mod delegation;
mod mint;
mod pki;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use thiserror::Error;

use crate::acme::now;
use crate::error::{Error, ErrorKind};
use crate::x509::to_pem;

pub use config::{ANY_SPC, DevPaConfig, DevPaUser};
pub use mint::{SignerRef, TokenRequest};
pub use pki::{CRL_LIFETIME, ROOT_CN, SIGNER_CN};

/// Name of the accounts file under the authority's directory.
pub const USERS_FILE: &str = "users.toml";

/// File recording the base URL of the last [`DevTokenAuthority::load_or_init`], for
/// [`DevTokenAuthority::open`].
pub const BASE_URL_FILE: &str = "base-url";

/// Lifetime of the signed CA list (`exp` in its payload), seconds.
const CA_LIST_LIFETIME: i64 = 7 * 86_400;

/// Most sessions kept at once; the oldest are dropped beyond this.
const MAX_SESSIONS: usize = 10_000;

/// Errors of the development token authority.
#[derive(Debug, Error)]
pub enum PaError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `users.toml` is not valid.
    #[error("token authority config: {0}")]
    Config(String),
    /// A stored certificate, key or CRL state could not be read back.
    #[error("token authority state: {0}")]
    Stored(String),
    /// Key generation, signing or certificate building failed.
    #[error("token authority crypto: {0}")]
    Crypto(String),
    /// The base URL is not an absolute http(s) URL.
    #[error("token authority base URL: {0}")]
    BaseUrl(String),
    /// The token request is not usable (bad fingerprint, empty TNAuthList, zero lifetime).
    #[error("token request: {0}")]
    InvalidRequest(String),
}

impl PaError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn crypto(e: impl std::fmt::Display) -> Self {
        Self::Crypto(e.to_string())
    }
}

impl From<PaError> for Error {
    fn from(e: PaError) -> Self {
        match e {
            PaError::InvalidRequest(detail) => Error::new(ErrorKind::Malformed, detail),
            other => Error::internal(other),
        }
    }
}

/// A logged-in client of the HTTP API (the `accessToken` of the login response).
#[derive(Debug, Clone)]
struct Session {
    user_id: String,
    expires: i64,
}

/// The signed list of trusted STI-CA certificates served at `/api/v1/ca-list` (standards.md §4).
#[derive(Debug, Clone, Default)]
struct TrustList {
    sequence: u64,
    pems: Vec<String>,
}

struct Inner {
    dir: PathBuf,
    base_url: String,
    config: DevPaConfig,
    pki: RwLock<pki::Pki>,
    sessions: Mutex<HashMap<String, Session>>,
    trust_list: RwLock<TrustList>,
}

/// The development token authority. Cheap to clone (shared state).
#[derive(Clone)]
pub struct DevTokenAuthority {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DevTokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevTokenAuthority")
            .field("dir", &self.inner.dir)
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

impl DevTokenAuthority {
    /// Loads the authority from `dir`, creating its root, token-signing certificate, CRL and
    /// `users.toml` on first use. `base_url` is where [`DevTokenAuthority::router`] is mounted (for
    /// example `http://127.0.0.1:8080/sti-pa`); the tokens' `x5u` is `<base_url>/cert.pem` and the
    /// signer's CRL distribution point `<base_url>/crl`.
    ///
    /// When `base_url` differs from the one the signer was issued for, a new signer is issued (its
    /// CRL distribution point names `<base_url>/crl`). The URL is recorded in `<dir>/base-url`.
    pub fn load_or_init(dir: &Path, base_url: &str) -> Result<Self, PaError> {
        let base_url = normalize_base_url(base_url)?;
        let pki = pki::Pki::load_or_init(dir, &format!("{base_url}/crl"), now())?;
        let url_path = dir.join(BASE_URL_FILE);
        if std::fs::read_to_string(&url_path).ok().as_deref() != Some(base_url.as_str()) {
            pki::write_atomic(&url_path, base_url.as_bytes(), 0o644)?;
        }
        let config = DevPaConfig::load_or_create(&dir.join(USERS_FILE))?;
        Ok(Self {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                base_url,
                config,
                pki: RwLock::new(pki),
                sessions: Mutex::new(HashMap::new()),
                trust_list: RwLock::new(TrustList::default()),
            }),
        })
    }

    /// Opens an authority that [`DevTokenAuthority::load_or_init`] created, with the base URL it
    /// recorded: for a second process (such as `stica pa token`) that mints tokens a running server
    /// serves the certificate for. Never creates or reissues a signer for another URL.
    pub fn open(dir: &Path) -> Result<Self, PaError> {
        let url_path = dir.join(BASE_URL_FILE);
        let base_url = std::fs::read_to_string(&url_path).map_err(|e| PaError::io(&url_path, e))?;
        if !pki::is_initialised(dir) {
            return Err(PaError::Stored(format!(
                "{}: no token authority here",
                dir.display()
            )));
        }
        Self::load_or_init(dir, base_url.trim())
    }

    /// Where the router is mounted, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// How tokens name their signer by default: `x5u` when the authority is served over https
    /// (as the STI-PA does), `x5c` over plain http, so that a verifier with safe defaults (https-only
    /// x5u, no loopback fetches) accepts dev tokens without a `danger_` switch.
    pub fn default_signer_ref(&self) -> SignerRef {
        if self.inner.base_url.starts_with("https://") {
            SignerRef::X5u
        } else {
            SignerRef::X5c
        }
    }

    /// The tokens' `x5u`: `<base_url>/cert.pem`.
    pub fn x5u(&self) -> String {
        format!("{}/cert.pem", self.inner.base_url)
    }

    /// The CRL URL: `<base_url>/crl`.
    pub fn crl_url(&self) -> String {
        format!("{}/crl", self.inner.base_url)
    }

    /// The directory holding the authority's files.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The accounts (from `users.toml`).
    pub fn config(&self) -> &DevPaConfig {
        &self.inner.config
    }

    /// The first user's id in `users.toml` (the `dev` user on a fresh setup; empty if none), for
    /// the start-up banner.
    pub fn dev_user(&self) -> &str {
        self.inner
            .config
            .users
            .first()
            .map_or("", |u| u.user_id.as_str())
    }

    /// The first user's password in `users.toml` (empty if none), for the start-up banner.
    pub fn dev_password(&self) -> &str {
        self.inner
            .config
            .users
            .first()
            .map_or("", |u| u.password.as_str())
    }

    /// The root certificate (the trust anchor a CA configures for these tokens), DER.
    pub fn root_der(&self) -> Vec<u8> {
        self.pki().root_der().to_vec()
    }

    /// The root certificate as PEM.
    pub fn root_pem(&self) -> String {
        to_pem("CERTIFICATE", self.pki().root_der())
    }

    /// The CRL issuer's Name, DER (the root's subject: the root signs the CRL), for a
    /// cRLDistributionPoints `cRLIssuer` naming this CRL (RFC 5280 §4.2.1.13).
    pub fn crl_issuer_name_der(&self) -> Result<Vec<u8>, PaError> {
        self.pki().crl_issuer_name_der()
    }

    /// The current token-signing certificate, DER.
    pub fn signer_der(&self) -> Vec<u8> {
        self.pki().signer_der().to_vec()
    }

    /// The serial number of the current token-signing certificate, lowercase hex of its INTEGER
    /// content bytes.
    pub fn signer_serial_hex(&self) -> Result<String, PaError> {
        Ok(hex::encode(self.pki().signer_serial()?))
    }

    /// What `GET <base_url>/cert.pem` serves: the signer then the root, PEM.
    pub fn chain_pem(&self) -> String {
        let pki = self.pki();
        format!(
            "{}{}",
            to_pem("CERTIFICATE", pki.signer_der()),
            to_pem("CERTIFICATE", pki.root_der())
        )
    }

    /// The current CRL, DER; reissued first when it is past half its lifetime.
    pub fn crl_der(&self) -> Result<Vec<u8>, PaError> {
        let now = now();
        {
            let pki = self.pki();
            if !pki.crl_is_stale(now) {
                return Ok(pki.crl_der().to_vec());
            }
        }
        let mut pki = self
            .inner
            .pki
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if pki.crl_is_stale(now) {
            pki.write_crl(now)?;
        }
        Ok(pki.crl_der().to_vec())
    }

    /// Mints a token valid from now for `req.ttl_secs` (RFC 9447 §3.1; see [`mint`]).
    pub fn mint(&self, req: &TokenRequest) -> Result<String, PaError> {
        self.mint_at(req, now())
    }

    /// Mints a token as if the time were `now` (tests use a past time for expired tokens).
    pub fn mint_at(&self, req: &TokenRequest, now: i64) -> Result<String, PaError> {
        let x5u = self.x5u();
        let pki = self.pki();
        let signer = mint::SignerContext {
            key: pki.signer_key(),
            x5u: &x5u,
            chain_der: vec![pki.signer_der(), pki.root_der()],
        };
        let minted = mint::mint(&signer, req, now)?;
        tracing::info!(
            jti = %minted.jti,
            exp = minted.exp,
            ca = req.ca,
            tnauthlist = %req.tnauthlist,
            "dev token authority: minted an authority token"
        );
        Ok(minted.token)
    }

    /// Sets the STI-CA trust list served (signed) at `/api/v1/ca-list`: PEM certificates. Each call
    /// bumps the list's `sequence`.
    pub fn set_trust_list(&self, pems: Vec<String>) {
        let mut list = self
            .inner
            .trust_list
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        list.sequence += 1;
        list.pems = pems;
    }

    /// The signed CA list: a compact JWS (ES256, `x5u` of the signer) over
    /// `{"version":1,"sequence":..,"exp":..,"trustList":[PEM..]}` (standards.md §4).
    pub fn ca_list_jws(&self) -> Result<String, PaError> {
        let list = self
            .inner
            .trust_list
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let payload = serde_json::json!({
            "version": 1,
            "sequence": list.sequence.max(1),
            "exp": now() + CA_LIST_LIFETIME,
            "trustList": list.pems,
        });
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), serde_json::json!("JWT"));
        header.insert("x5u".into(), serde_json::json!(self.x5u()));
        let pki = self.pki();
        mint::sign_compact(pki.signer_key(), header, &payload)
    }

    /// Revokes the current token-signing certificate (listed in the reissued CRL) and switches to a
    /// freshly issued one. Returns the revoked serial (hex). Tokens minted before stay signed by
    /// the revoked certificate, which is what tests of a CA's revocation check need.
    pub fn revoke_signer(&self) -> Result<String, PaError> {
        let mut pki = self
            .inner
            .pki
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        pki.revoke_signer(now())
    }

    /// The HTTP API (axum 0.8), to be mounted at `base_url`'s path (for example with
    /// `Router::nest("/sti-pa", pa.router())`): `POST /api/v1/auth/login`,
    /// `POST /api/v1/account/{spc}/token`, `GET /api/v1/ca-list`, `GET /cert.pem`, `GET /crl`.
    pub fn router(&self) -> axum::Router {
        api::router(self.clone())
    }

    fn pki(&self) -> std::sync::RwLockReadGuard<'_, pki::Pki> {
        self.inner
            .pki
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks a user's password and opens a session; returns the access token.
    fn login(&self, user_id: &str, password: &str) -> Result<Option<String>, PaError> {
        let Some(user) = self.inner.config.authenticate(user_id, password) else {
            return Ok(None);
        };
        let token = pki::random_b64url(32)?;
        let now = now();
        let ttl = i64::try_from(self.inner.config.session_ttl_secs).unwrap_or(i64::MAX);
        let mut sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(
            token.clone(),
            Session {
                user_id: user.user_id.clone(),
                expires: now.saturating_add(ttl),
            },
        );
        Ok(Some(token))
    }

    /// The user behind a live access token.
    fn session_user(&self, access_token: &str) -> Option<&DevPaUser> {
        let now = now();
        let user_id = {
            let sessions = self
                .inner
                .sessions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let session = sessions.get(access_token)?;
            if session.expires <= now {
                return None;
            }
            session.user_id.clone()
        };
        self.inner
            .config
            .users
            .iter()
            .find(|u| u.user_id == user_id)
    }
}

/// Accepts an absolute http(s) URL without query or fragment; drops a trailing slash.
fn normalize_base_url(base_url: &str) -> Result<String, PaError> {
    let parsed = url::Url::parse(base_url).map_err(|e| PaError::BaseUrl(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.host_str().is_none()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(PaError::BaseUrl(format!(
            "{base_url}: expected an http(s) URL without query or fragment"
        )));
    }
    Ok(base_url.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests;
