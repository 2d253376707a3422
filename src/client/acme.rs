//! The ACME protocol as a client speaks it (RFC 8555 §6-§7), with the TNAuthList identifier
//! (RFC 9448 §3) and the tkauth-01 challenge response (RFC 9447 §4, RFC 9448 §5).
//!
//! Every POST is a flattened JWS (`application/jose+json`, §6.2) carrying `alg`, `nonce`, `url` and
//! either the account key as `jwk` (newAccount and revocation by the certificate key, §6.2) or the
//! account URL as `kid`. Reads are POST-as-GET (§6.3: an empty payload). Nonces are taken from every
//! response's `Replay-Nonce` (§6.5) and a `badNonce` answer is retried once with the fresh nonce the
//! server sent, as §6.5 asks clients to do.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LINK, LOCATION, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::acme::{
    Account, Authorization, AuthzStatus, Challenge, Directory, DirectoryMeta, Order, OrderStatus,
    TNAUTHLIST, rfc3339,
};
use crate::client::ClientError;
use crate::error::Problem;
use crate::jose::{self, EcSigner, PublicJwk};
use crate::tnauth::TnAuthList;

/// The media type of every ACME POST body (RFC 8555 §6.2).
pub const JOSE_JSON: &str = "application/jose+json";
/// The default certificate download format (RFC 8555 §7.4.2).
pub const PEM_CHAIN: &str = "application/pem-certificate-chain";
/// Where SHAKEN CAs publish the issued chain for PASSporT `x5u` (interop.md: a response header on
/// the certificate download; non-standard but widely read).
pub const SHAKEN_CERTIFICATE_LOCATION: &str = "x-shaken-certificate-location";
/// Responses larger than this are refused: a directory, an order or a chain is a few KiB.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// The `type` prefix of ACME problem documents (RFC 8555 §6.7).
const ACME_ERROR_PREFIX: &str = "urn:ietf:params:acme:error:";

/// How the protected header names the signing key (RFC 8555 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRef<'a> {
    /// The public key itself (`jwk`): newAccount, and revokeCert signed by the certificate key.
    Jwk,
    /// The account URL (`kid`): every other request.
    Kid(&'a str),
}

/// Which member of the tkauth-01 response payload carries the token (RFC 9447 §4).
///
/// Production SHAKEN clients and CAs use `atc` (interop.md); some servers read RFC 9447 as naming
/// it `tkauth`. stica accepts both; the client sends `atc` unless told otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TkauthField {
    /// `{"atc": "<token>"}`
    #[default]
    Atc,
    /// `{"tkauth": "<token>"}`
    Tkauth,
}

impl TkauthField {
    /// The JSON member name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Atc => "atc",
            Self::Tkauth => "tkauth",
        }
    }
}

/// How long and how often to poll a resource that is still being worked on (RFC 8555 §7.5.1,
/// §7.4: clients poll, honouring `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// Wait between polls when the server sends no `Retry-After`.
    pub interval: Duration,
    /// Upper bound on any single wait, whatever `Retry-After` says: a server asking for an hour
    /// should not park an interactive client.
    pub max_interval: Duration,
    /// Give up after this long in total.
    pub timeout: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
        }
    }
}

/// The result of newAccount (RFC 8555 §7.3).
#[derive(Debug, Clone)]
pub struct AccountInfo {
    /// The account URL (the `kid` of every later request).
    pub url: String,
    /// The account object.
    pub account: Account,
    /// True when the server created the account (201), false when it already existed (200).
    pub created: bool,
}

/// A downloaded certificate chain (RFC 8555 §7.4.2).
#[derive(Debug, Clone)]
pub struct CertificateChain {
    /// PEM, leaf first, then the issuers.
    pub pem: String,
    /// The `X-Shaken-Certificate-Location` header, if the CA publishes the chain for `x5u`.
    pub shaken_location: Option<String>,
}

/// A read HTTP response: status, headers and a size-capped body.
struct Reply {
    url: String,
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn header(&self, name: impl reqwest::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Location` header as an absolute URL (RFC 8555 gives absolute URLs; a relative one is
    /// resolved against the request URL rather than refused).
    fn location(&self) -> Result<String, ClientError> {
        let raw = self
            .header(LOCATION)
            .ok_or_else(|| self.protocol("the response has no Location header"))?;
        resolve(&self.url, raw).ok_or_else(|| self.protocol(format!("bad Location header {raw:?}")))
    }

    /// `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
    fn retry_after(&self) -> Option<Duration> {
        parse_retry_after(self.header(RETRY_AFTER)?, crate::acme::now())
    }

    fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| self.protocol(format!("cannot parse the JSON body: {e}")))
    }

    fn protocol(&self, detail: impl Into<String>) -> ClientError {
        ClientError::Protocol {
            url: self.url.clone(),
            detail: detail.into(),
        }
    }

    /// The error for a non-2xx response: the problem document if there is one (RFC 8555 §6.7),
    /// else the status and the start of the body.
    fn into_error(self) -> ClientError {
        match parse_problem(&self.body) {
            Some(problem) => ClientError::Problem {
                status: self.status,
                problem: Box::new(problem),
            },
            None => {
                let text = String::from_utf8_lossy(&self.body);
                let body: String = text.trim().chars().take(300).collect();
                ClientError::Http {
                    url: self.url,
                    status: self.status,
                    body,
                }
            }
        }
    }
}

/// An ACME client bound to one directory and one account key.
///
/// Methods that only read or act on existing resources take `&self`; the nonce pool is behind a
/// mutex, so a client can be shared between tasks. Methods that change which key or account the
/// client speaks for take `&mut self`.
pub struct AcmeClient {
    http: reqwest::Client,
    directory_url: String,
    directory: Directory,
    key: EcSigner,
    account_url: Option<String>,
    orders_url: Option<String>,
    terms_agreed: bool,
    nonce: Mutex<Option<String>>,
    poll: PollPolicy,
}

impl std::fmt::Debug for AcmeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeClient")
            .field("directory_url", &self.directory_url)
            .field("account_url", &self.account_url)
            .finish_non_exhaustive()
    }
}

impl AcmeClient {
    /// Fetches the directory (RFC 8555 §7.1.1) and returns a client that signs with `account_key`.
    ///
    /// Plain `http://` directories are allowed: the development server listens on plain HTTP.
    pub async fn new(
        directory_url: &str,
        account_key: EcSigner,
        http: reqwest::Client,
    ) -> Result<Self, ClientError> {
        let nonce = Mutex::new(None);
        let response = http
            .get(directory_url)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| ClientError::transport(directory_url, e))?;
        let reply = read_reply(&nonce, directory_url, response).await?;
        if !reply.is_success() {
            return Err(reply.into_error());
        }
        let raw: RawDirectory = reply.json()?;
        let directory = raw.into_directory();
        Ok(Self {
            http,
            directory_url: directory_url.to_string(),
            directory,
            key: account_key,
            account_url: None,
            orders_url: None,
            terms_agreed: false,
            nonce,
            poll: PollPolicy::default(),
        })
    }

    /// The directory as fetched.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The directory URL this client was made with.
    pub fn directory_url(&self) -> &str {
        &self.directory_url
    }

    /// The account key.
    pub fn account_key(&self) -> &EcSigner {
        &self.key
    }

    /// The account URL once [`new_account`](Self::new_account) succeeded (or was set).
    pub fn account_url(&self) -> Option<&str> {
        self.account_url.as_deref()
    }

    /// Speaks for an account whose URL is already known (skips newAccount).
    pub fn set_account_url(&mut self, url: impl Into<String>) {
        self.account_url = Some(url.into());
        self.orders_url = None;
    }

    /// Sends `termsOfServiceAgreed: true` on newAccount (RFC 8555 §7.3). Off by default: agreeing
    /// is the user's decision.
    pub fn set_terms_agreed(&mut self, agreed: bool) {
        self.terms_agreed = agreed;
    }

    /// Replaces the polling policy.
    pub fn set_poll_policy(&mut self, poll: PollPolicy) {
        self.poll = poll;
    }

    /// newAccount (RFC 8555 §7.3): creates the account for this key, or finds the existing one
    /// (200 + Location). With `only_return_existing` the server must not create one (§7.3.1) and
    /// answers `accountDoesNotExist` if there is none. `eab` is `(key id, HMAC key)` for an
    /// External Account Binding (§7.3.4).
    pub async fn new_account(
        &mut self,
        contact: &[String],
        eab: Option<(&str, &[u8])>,
        only_return_existing: bool,
    ) -> Result<AccountInfo, ClientError> {
        let url = self.directory.new_account.clone();
        let mut payload = Map::new();
        if !contact.is_empty() {
            payload.insert("contact".into(), json!(contact));
        }
        if self.terms_agreed {
            payload.insert("termsOfServiceAgreed".into(), Value::Bool(true));
        }
        if only_return_existing {
            payload.insert("onlyReturnExisting".into(), Value::Bool(true));
        }
        if let Some((kid, hmac_key)) = eab {
            let binding = external_account_binding(&self.key.public_jwk(), kid, hmac_key, &url);
            payload.insert("externalAccountBinding".into(), binding);
        }
        let body = to_bytes(&Value::Object(payload));
        let reply = self
            .post_with(&url, &body, &self.key, KeyRef::Jwk, None)
            .await?;
        let account_url = reply.location()?;
        let account: Account = reply.json()?;
        let created = reply.status == 201;
        self.orders_url = account.orders.clone();
        self.account_url = Some(account_url.clone());
        Ok(AccountInfo {
            url: account_url,
            account,
            created,
        })
    }

    /// newOrder for one TNAuthList identifier (RFC 8555 §7.4, RFC 9448 §3). Returns the order URL
    /// and the order. The identifier value is the DER TNAuthList in base64url without padding, the
    /// form RFC 8555 §6.1 prescribes for binary fields.
    pub async fn new_order(
        &self,
        tnauthlist: &TnAuthList,
        not_before: Option<i64>,
        not_after: Option<i64>,
    ) -> Result<(String, Order), ClientError> {
        let payload = new_order_payload(tnauthlist, not_before, not_after);
        let reply = self
            .post(&self.directory.new_order, &to_bytes(&payload))
            .await?;
        let url = reply.location()?;
        let order: Order = reply.json()?;
        Ok((url, order))
    }

    /// Reads an order (POST-as-GET, RFC 8555 §7.1.3).
    pub async fn order(&self, url: &str) -> Result<Order, ClientError> {
        self.post(url, b"").await?.json()
    }

    /// Reads an authorization (POST-as-GET, RFC 8555 §7.5).
    pub async fn authz(&self, url: &str) -> Result<Authorization, ClientError> {
        self.post(url, b"").await?.json()
    }

    /// Answers a tkauth-01 challenge with an Authority Token (RFC 9447 §4; RFC 8555 §7.5.1).
    pub async fn respond_tkauth(
        &self,
        challenge_url: &str,
        token: &str,
        field: TkauthField,
    ) -> Result<Challenge, ClientError> {
        let payload = tkauth_response_payload(token, field);
        self.post(challenge_url, &to_bytes(&payload)).await?.json()
    }

    /// Answers a tkauth-01 challenge with `token` and polls its authorization until it is
    /// decided; an authorization that is not `valid` is [`ClientError::Failed`] with the
    /// challenge's problem document. `what` names the authorization in that error.
    pub async fn answer_tkauth(
        &self,
        authz_url: &str,
        challenge_url: &str,
        token: &str,
        field: TkauthField,
        what: String,
    ) -> Result<Authorization, ClientError> {
        self.respond_tkauth(challenge_url, token, field).await?;
        let authz = self.poll_authz(authz_url).await?;
        if authz.status == AuthzStatus::Valid {
            return Ok(authz);
        }
        let problem = authz.tkauth().and_then(|c| c.error.clone()).map(Box::new);
        Err(ClientError::Failed { what, problem })
    }

    /// Polls an authorization until it leaves `pending` (RFC 8555 §7.5.1), honouring `Retry-After`
    /// within the [`PollPolicy`]. The returned authorization may be `invalid`: the caller decides.
    pub async fn poll_authz(&self, url: &str) -> Result<Authorization, ClientError> {
        self.poll_until(url, "the authorization", |a: &Authorization| {
            a.status != AuthzStatus::Pending
        })
        .await
    }

    /// Polls an order until it is neither `pending` nor `processing` (RFC 8555 §7.4), honouring
    /// `Retry-After` within the [`PollPolicy`].
    pub async fn poll_order(&self, url: &str) -> Result<Order, ClientError> {
        self.poll_until(url, "the order", |o: &Order| {
            !matches!(o.status, OrderStatus::Pending | OrderStatus::Processing)
        })
        .await
    }

    /// Finalizes a `ready` order with a DER CSR (RFC 8555 §7.4). Returns the order as the server
    /// answered (usually `processing` or already `valid`).
    pub async fn finalize(&self, order: &Order, csr_der: &[u8]) -> Result<Order, ClientError> {
        let payload = json!({ "csr": jose::b64::encode_url(csr_der) });
        self.post(&order.finalize, &to_bytes(&payload))
            .await?
            .json()
    }

    /// Downloads the certificate chain (RFC 8555 §7.4.2): POST-as-GET with
    /// `Accept: application/pem-certificate-chain`. The chain must hold at least one certificate.
    pub async fn download_chain(&self, cert_url: &str) -> Result<CertificateChain, ClientError> {
        let account = self.require_account()?;
        let reply = self
            .post_with(
                cert_url,
                b"",
                &self.key,
                KeyRef::Kid(account),
                Some(PEM_CHAIN),
            )
            .await?;
        let pem = String::from_utf8(reply.body.clone())
            .map_err(|_| reply.protocol("the certificate chain is not text"))?;
        match crate::x509::pem_certificates(pem.as_bytes()) {
            Ok(certs) if !certs.is_empty() => {}
            Ok(_) => return Err(reply.protocol("the certificate chain holds no certificate")),
            Err(e) => return Err(reply.protocol(format!("the certificate chain is not PEM: {e}"))),
        }
        let shaken_location = reply
            .header(SHAKEN_CERTIFICATE_LOCATION)
            .map(str::to_string);
        Ok(CertificateChain {
            pem,
            shaken_location,
        })
    }

    /// Deactivates the account (RFC 8555 §7.3.6). Every later request for it is refused.
    pub async fn deactivate_account(&mut self) -> Result<Account, ClientError> {
        let url = self.require_account()?.to_string();
        let payload = json!({ "status": "deactivated" });
        let account = self.post(&url, &to_bytes(&payload)).await?.json()?;
        Ok(account)
    }

    /// Rolls the account key over to `new_key` (RFC 8555 §7.3.5): an outer JWS by the old key
    /// (`kid`) wrapping an inner JWS by the new key (`jwk`, same `url`, no `nonce`) over
    /// `{"account", "oldKey"}`. On success the client signs with the new key. Returns the old key.
    ///
    /// Outstanding Authority Tokens are bound to the old key's fingerprint (RFC 9447 §3.1), so a
    /// key change also means asking the token authority for a new token.
    pub async fn key_change(&mut self, new_key: EcSigner) -> Result<EcSigner, ClientError> {
        let account = self.require_account()?.to_string();
        let url = self.directory.key_change.clone();
        if url.is_empty() {
            return Err(ClientError::Protocol {
                url: self.directory_url.clone(),
                detail: "the directory offers no keyChange resource".into(),
            });
        }
        let inner = key_change_inner(&new_key, &url, &account, &self.key.public_jwk())?;
        self.post(&url, &to_bytes(&inner)).await?;
        Ok(std::mem::replace(&mut self.key, new_key))
    }

    /// Revokes a certificate as its account (RFC 8555 §7.6, `kid`). `reason` is a CRL reason code
    /// (RFC 5280 §5.3.1).
    pub async fn revoke(&self, cert_der: &[u8], reason: Option<u8>) -> Result<(), ClientError> {
        let url = self.revoke_url()?;
        self.post(url, &to_bytes(&revoke_payload(cert_der, reason)))
            .await?;
        Ok(())
    }

    /// Revokes a certificate by proving possession of its key (RFC 8555 §7.6, `jwk` of the
    /// certificate key); needs no account.
    pub async fn revoke_with_certificate_key(
        &self,
        cert_der: &[u8],
        reason: Option<u8>,
        cert_key: &EcSigner,
    ) -> Result<(), ClientError> {
        let url = self.revoke_url()?;
        let body = to_bytes(&revoke_payload(cert_der, reason));
        self.post_with(url, &body, cert_key, KeyRef::Jwk, None)
            .await?;
        Ok(())
    }

    /// The URLs of the account's orders (RFC 8555 §7.1.2.1), following `Link: rel="next"` pages.
    pub async fn orders_list(&self) -> Result<Vec<String>, ClientError> {
        let account = self.require_account()?;
        let mut next = match &self.orders_url {
            Some(url) => Some(url.clone()),
            None => {
                // An empty update returns the account object (RFC 8555 §7.3.2).
                let acct: Account = self.post(account, b"{}").await?.json()?;
                acct.orders
            }
        };
        if next.is_none() {
            return Err(ClientError::Protocol {
                url: account.to_string(),
                detail: "the account object has no orders URL".into(),
            });
        }
        #[derive(Deserialize)]
        struct OrdersPage {
            #[serde(default)]
            orders: Vec<String>,
        }
        let mut all = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > 1000 {
                return Err(ClientError::Protocol {
                    url,
                    detail: "more than 1000 pages of orders".into(),
                });
            }
            let reply = self.post(&url, b"").await?;
            let page: OrdersPage = reply.json()?;
            all.extend(page.orders);
            next = link_rel(&reply.headers, "next").and_then(|u| resolve(&url, &u));
        }
        Ok(all)
    }

    fn require_account(&self) -> Result<&str, ClientError> {
        self.account_url.as_deref().ok_or(ClientError::NoAccount)
    }

    fn revoke_url(&self) -> Result<&str, ClientError> {
        if self.directory.revoke_cert.is_empty() {
            return Err(ClientError::Protocol {
                url: self.directory_url.clone(),
                detail: "the directory offers no revokeCert resource".into(),
            });
        }
        Ok(&self.directory.revoke_cert)
    }

    /// A POST signed by the account key with `kid`.
    async fn post(&self, url: &str, payload: &[u8]) -> Result<Reply, ClientError> {
        let account = self.require_account()?;
        self.post_with(url, payload, &self.key, KeyRef::Kid(account), None)
            .await
    }

    /// A signed POST; retries once on `badNonce` with the nonce that error carried (RFC 8555 §6.5).
    async fn post_with(
        &self,
        url: &str,
        payload: &[u8],
        key: &EcSigner,
        key_ref: KeyRef<'_>,
        accept: Option<&str>,
    ) -> Result<Reply, ClientError> {
        let mut retried = false;
        loop {
            let nonce = self.fresh_nonce().await?;
            let body = sign_request(key, key_ref, &nonce, url, payload)?;
            let mut request = self
                .http
                .post(url)
                .header(CONTENT_TYPE, JOSE_JSON)
                .body(to_bytes(&body));
            if let Some(accept) = accept {
                request = request.header(ACCEPT, accept);
            }
            let response = request
                .send()
                .await
                .map_err(|e| ClientError::transport(url, e))?;
            let reply = read_reply(&self.nonce, url, response).await?;
            if reply.is_success() {
                return Ok(reply);
            }
            let error = reply.into_error();
            if !retried && error.is_problem("badNonce") {
                retried = true;
                continue;
            }
            return Err(error);
        }
    }

    /// A nonce from the pool, or from newNonce (HEAD, RFC 8555 §7.2) when the pool is empty.
    async fn fresh_nonce(&self) -> Result<String, ClientError> {
        if let Some(nonce) = lock(&self.nonce).take() {
            return Ok(nonce);
        }
        let url = &self.directory.new_nonce;
        let response = self
            .http
            .head(url)
            .send()
            .await
            .map_err(|e| ClientError::transport(url, e))?;
        let reply = read_reply(&self.nonce, url, response).await?;
        if !reply.is_success() {
            return Err(reply.into_error());
        }
        // Take it out of the pool so it is used once; if a concurrent request took it first,
        // sharing it costs at most one badNonce retry.
        lock(&self.nonce)
            .take()
            .or_else(|| reply.header("replay-nonce").map(str::to_string))
            .ok_or_else(|| reply.protocol("newNonce answered without a Replay-Nonce header"))
    }

    async fn poll_until<T: DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
        done: impl Fn(&T) -> bool,
    ) -> Result<T, ClientError> {
        let start = Instant::now();
        loop {
            let reply = self.post(url, b"").await?;
            let value: T = reply.json()?;
            if done(&value) {
                return Ok(value);
            }
            let elapsed = start.elapsed();
            if elapsed >= self.poll.timeout {
                return Err(ClientError::Timeout {
                    what: format!("{what} at {url}"),
                    secs: self.poll.timeout.as_secs(),
                });
            }
            let wait = reply
                .retry_after()
                .unwrap_or(self.poll.interval)
                .min(self.poll.max_interval)
                .min(self.poll.timeout - elapsed);
            tokio::time::sleep(wait).await;
        }
    }
}

/// The flattened JWS body of an ACME request (RFC 8555 §6.2): protected header
/// `{alg: ES256, nonce, url, jwk | kid}`, `payload` (empty for POST-as-GET, §6.3).
pub fn sign_request(
    key: &EcSigner,
    key_ref: KeyRef<'_>,
    nonce: &str,
    url: &str,
    payload: &[u8],
) -> Result<Value, ClientError> {
    let mut protected = Map::new();
    protected.insert("alg".into(), Value::from("ES256"));
    match key_ref {
        KeyRef::Jwk => {
            protected.insert("jwk".into(), key.public_jwk().to_json());
        }
        KeyRef::Kid(kid) => {
            protected.insert("kid".into(), Value::from(kid));
        }
    }
    protected.insert("nonce".into(), Value::from(nonce));
    protected.insert("url".into(), Value::from(url));
    Ok(jose::sign_flattened(key, protected, payload)?)
}

/// The `externalAccountBinding` member of newAccount (RFC 8555 §7.3.4): a flattened JWS MACed
/// with the CA-issued key (HS256), protected `{alg, kid, url}` where `url` is the newAccount URL,
/// no `nonce`, payload the account's public JWK.
pub fn external_account_binding(
    account_jwk: &PublicJwk,
    eab_kid: &str,
    hmac_key: &[u8],
    new_account_url: &str,
) -> Value {
    let mut protected = Map::new();
    protected.insert("alg".into(), Value::from("HS256"));
    protected.insert("kid".into(), Value::from(eab_kid));
    protected.insert("url".into(), Value::from(new_account_url));
    jose::sign_hmac_flattened(hmac_key, protected, &to_bytes(&account_jwk.to_json()))
}

/// The inner JWS of keyChange (RFC 8555 §7.3.5): signed by the new key, `jwk` = new key, `url` =
/// the keyChange URL, no `nonce`; payload `{"account": <account URL>, "oldKey": <old JWK>}`.
pub fn key_change_inner(
    new_key: &EcSigner,
    key_change_url: &str,
    account_url: &str,
    old_jwk: &PublicJwk,
) -> Result<Value, ClientError> {
    let mut protected = Map::new();
    protected.insert("alg".into(), Value::from("ES256"));
    protected.insert("jwk".into(), new_key.public_jwk().to_json());
    protected.insert("url".into(), Value::from(key_change_url));
    let payload = json!({ "account": account_url, "oldKey": old_jwk.to_json() });
    Ok(jose::sign_flattened(
        new_key,
        protected,
        &to_bytes(&payload),
    )?)
}

/// The newOrder payload for one TNAuthList identifier (RFC 8555 §7.4, RFC 9448 §3).
pub fn new_order_payload(
    tnauthlist: &TnAuthList,
    not_before: Option<i64>,
    not_after: Option<i64>,
) -> Value {
    let mut payload = Map::new();
    payload.insert(
        "identifiers".into(),
        json!([{ "type": TNAUTHLIST, "value": tnauthlist.to_identifier_value() }]),
    );
    if let Some(t) = not_before {
        payload.insert("notBefore".into(), Value::from(rfc3339(t)));
    }
    if let Some(t) = not_after {
        payload.insert("notAfter".into(), Value::from(rfc3339(t)));
    }
    Value::Object(payload)
}

/// The tkauth-01 response payload (RFC 9447 §4): `{"atc": token}` or `{"tkauth": token}`.
pub fn tkauth_response_payload(token: &str, field: TkauthField) -> Value {
    let mut payload = Map::new();
    payload.insert(field.as_str().into(), Value::from(token));
    Value::Object(payload)
}

/// The revokeCert payload (RFC 8555 §7.6).
fn revoke_payload(cert_der: &[u8], reason: Option<u8>) -> Value {
    let mut payload = Map::new();
    payload.insert(
        "certificate".into(),
        Value::from(jose::b64::encode_url(cert_der)),
    );
    if let Some(reason) = reason {
        payload.insert("reason".into(), Value::from(reason));
    }
    Value::Object(payload)
}

/// Parses an RFC 7807 problem document leniently: only `type` is required, so a problem from any
/// server becomes a typed error rather than an opaque body.
pub fn parse_problem(body: &[u8]) -> Option<Problem> {
    let value: Value = serde_json::from_slice(body).ok()?;
    problem_from_value(&value, 0)
}

fn problem_from_value(value: &Value, depth: u8) -> Option<Problem> {
    let kind = value.get("type")?.as_str()?.to_string();
    let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_string);
    let subproblems = if depth < 4 {
        value
            .get("subproblems")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| problem_from_value(p, depth + 1))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Some(Problem {
        kind,
        detail: text("detail").or_else(|| text("title")).unwrap_or_default(),
        status: value
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok()),
        subproblems,
        identifier: value
            .get("identifier")
            .and_then(|i| serde_json::from_value(i.clone()).ok()),
        algorithms: value
            .get("algorithms")
            .and_then(|a| serde_json::from_value(a.clone()).ok()),
    })
}

/// The short name of a problem type: `unauthorized` for `urn:ietf:params:acme:error:unauthorized`.
pub fn problem_short_type(problem: &Problem) -> &str {
    problem
        .kind
        .strip_prefix(ACME_ERROR_PREFIX)
        .unwrap_or(&problem.kind)
}

/// `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, relative to `now`.
fn parse_retry_after(value: &str, now: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822)
        .ok()?
        .unix_timestamp();
    Some(Duration::from_secs(u64::try_from(at - now).unwrap_or(0)))
}

/// The target of `Link: <url>;rel="name"` (RFC 8288), for order-list paging (RFC 8555 §7.1.2.1).
fn link_rel(headers: &HeaderMap, rel: &str) -> Option<String> {
    for value in headers.get_all(LINK) {
        let Ok(value) = value.to_str() else { continue };
        for link in value.split(',') {
            let mut parts = link.split(';');
            let Some(target) = parts.next() else { continue };
            let target = target.trim();
            let Some(target) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
                continue;
            };
            let matches = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=")
                    .map(|r| r.trim_matches('"').split_whitespace().any(|r| r == rel))
                    .unwrap_or(false)
            });
            if matches {
                return Some(target.to_string());
            }
        }
    }
    None
}

/// Resolves a possibly relative URL against the URL of the request that returned it.
fn resolve(base: &str, target: &str) -> Option<String> {
    let base = url::Url::parse(base).ok()?;
    base.join(target).ok().map(String::from)
}

/// Reads a response: takes its `Replay-Nonce` into the pool (RFC 8555 §6.5: every response may
/// carry one, errors included) and reads at most [`MAX_RESPONSE_BYTES`] of the body.
async fn read_reply(
    pool: &Mutex<Option<String>>,
    url: &str,
    mut response: reqwest::Response,
) -> Result<Reply, ClientError> {
    if let Some(nonce) = response
        .headers()
        .get("replay-nonce")
        .and_then(|v| v.to_str().ok())
        .filter(|n| !n.is_empty())
    {
        *lock(pool) = Some(nonce.to_string());
    }
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ClientError::transport(url, e))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ClientError::Protocol {
                url: url.to_string(),
                detail: format!("the response is larger than {MAX_RESPONSE_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Reply {
        url: url.to_string(),
        status,
        headers,
        body,
    })
}

/// The nonce pool holds plain data, so a panic elsewhere cannot leave it inconsistent.
fn lock(pool: &Mutex<Option<String>>) -> std::sync::MutexGuard<'_, Option<String>> {
    pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn to_bytes(value: &Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail: its map keys are strings.
    serde_json::to_vec(value).unwrap_or_default()
}

/// The directory as any RFC 8555 server may send it: `keyChange`, `revokeCert` and `meta` are
/// optional there (§7.1.1), and `meta` members may be missing.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDirectory {
    new_nonce: String,
    new_account: String,
    new_order: String,
    #[serde(default)]
    revoke_cert: Option<String>,
    #[serde(default)]
    key_change: Option<String>,
    #[serde(default)]
    meta: Option<RawMeta>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMeta {
    #[serde(default)]
    terms_of_service: Option<String>,
    #[serde(default)]
    website: Option<String>,
    #[serde(default)]
    external_account_required: Option<bool>,
    #[serde(default)]
    profiles: Option<BTreeMap<String, Value>>,
}

impl RawDirectory {
    fn into_directory(self) -> Directory {
        let meta = self.meta.unwrap_or_default();
        Directory {
            new_nonce: self.new_nonce,
            new_account: self.new_account,
            new_order: self.new_order,
            revoke_cert: self.revoke_cert.unwrap_or_default(),
            key_change: self.key_change.unwrap_or_default(),
            meta: DirectoryMeta {
                terms_of_service: meta.terms_of_service,
                website: meta.website,
                external_account_required: meta.external_account_required.unwrap_or(false),
                profiles: meta
                    .profiles
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| {
                        let text = v.as_str().map(str::to_string).unwrap_or(v.to_string());
                        (k, text)
                    })
                    .collect(),
            },
        }
    }
}

/// The tkauth-01 challenge of the authorization read from `authz_url`, or a protocol error
/// naming the authorization (for the client and the load tool).
pub fn tkauth_challenge<'a>(
    authz: &'a Authorization,
    authz_url: &str,
) -> Result<&'a Challenge, ClientError> {
    authz.tkauth().ok_or_else(|| ClientError::Protocol {
        url: authz_url.to_string(),
        detail: "the authorization offers no tkauth-01 challenge".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::FlattenedJws;

    fn signer() -> EcSigner {
        crate::client::new_signer().unwrap_or_else(|e| panic!("key generation: {e}"))
    }

    fn parse(body: &Value) -> FlattenedJws {
        FlattenedJws::parse(&to_bytes(body)).unwrap_or_else(|e| panic!("parse: {e}"))
    }

    #[test]
    fn request_with_kid_parses_and_verifies() {
        let key = signer();
        let body = sign_request(
            &key,
            KeyRef::Kid("https://ca.example/acme/acct/1"),
            "nonce-1",
            "https://ca.example/acme/new-order",
            br#"{"identifiers":[]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let object = body.as_object().unwrap_or_else(|| panic!("not an object"));
        let mut members: Vec<&str> = object.keys().map(String::as_str).collect();
        members.sort_unstable();
        assert_eq!(members, ["payload", "protected", "signature"]);
        let jws = parse(&body);
        assert_eq!(jws.header.alg, "ES256");
        assert_eq!(jws.header.nonce.as_deref(), Some("nonce-1"));
        assert_eq!(
            jws.header.url.as_deref(),
            Some("https://ca.example/acme/new-order")
        );
        assert_eq!(
            jws.header.kid.as_deref(),
            Some("https://ca.example/acme/acct/1")
        );
        assert!(jws.header.jwk.is_none());
        assert_eq!(jws.payload, br#"{"identifiers":[]}"#);
        assert!(jws.verify(&key.public_jwk()).is_ok());
        // Another key must not verify it.
        assert!(jws.verify(&signer().public_jwk()).is_err());
    }

    #[test]
    fn request_with_jwk_carries_the_public_key() {
        let key = signer();
        let body = sign_request(&key, KeyRef::Jwk, "n", "https://ca.example/new-acct", b"{}")
            .unwrap_or_else(|e| panic!("{e}"));
        let jws = parse(&body);
        assert!(jws.header.kid.is_none());
        let jwk = jws.header.jwk.clone().unwrap_or_else(|| panic!("no jwk"));
        let public = PublicJwk::from_json(&jwk).unwrap_or_else(|e| panic!("jwk: {e}"));
        assert_eq!(public, key.public_jwk());
        assert!(jws.verify(&public).is_ok());
    }

    #[test]
    fn post_as_get_has_an_empty_payload() {
        let key = signer();
        let body = sign_request(&key, KeyRef::Kid("k"), "n", "https://ca.example/o/1", b"")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body["payload"], "");
        let jws = parse(&body);
        assert!(jws.payload.is_empty());
        assert!(jws.verify(&key.public_jwk()).is_ok());
    }

    #[test]
    fn eab_is_an_hs256_jws_over_the_account_key() {
        let key = signer();
        let hmac_key = b"0123456789abcdef0123456789abcdef";
        let eab = external_account_binding(
            &key.public_jwk(),
            "kid-1",
            hmac_key,
            "https://ca.example/new-acct",
        );
        let jws = parse(&eab);
        assert_eq!(jws.header.alg, "HS256");
        assert_eq!(jws.header.kid.as_deref(), Some("kid-1"));
        assert_eq!(
            jws.header.url.as_deref(),
            Some("https://ca.example/new-acct")
        );
        assert!(jws.header.nonce.is_none(), "EAB must not carry a nonce");
        assert!(jws.header.jwk.is_none());
        let payload: Value =
            serde_json::from_slice(&jws.payload).unwrap_or_else(|e| panic!("payload: {e}"));
        assert_eq!(payload, key.public_jwk().to_json());
        assert!(jws.verify_hmac(hmac_key).is_ok());
        assert!(
            jws.verify_hmac(b"another key entirely, 32 bytes!!")
                .is_err()
        );
    }

    #[test]
    fn key_change_inner_is_signed_by_the_new_key_without_nonce() {
        let old = signer();
        let new = signer();
        let inner = key_change_inner(
            &new,
            "https://ca.example/key-change",
            "https://ca.example/acct/1",
            &old.public_jwk(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let jws = parse(&inner);
        assert!(jws.header.nonce.is_none());
        assert_eq!(
            jws.header.url.as_deref(),
            Some("https://ca.example/key-change")
        );
        assert_eq!(jws.header.jwk, Some(new.public_jwk().to_json()));
        assert!(jws.verify(&new.public_jwk()).is_ok());
        assert!(jws.verify(&old.public_jwk()).is_err());
        let payload: Value =
            serde_json::from_slice(&jws.payload).unwrap_or_else(|e| panic!("payload: {e}"));
        assert_eq!(payload["account"], "https://ca.example/acct/1");
        assert_eq!(payload["oldKey"], old.public_jwk().to_json());
    }

    #[test]
    fn new_order_payload_shape() {
        let list: TnAuthList = "spc:1234".parse().unwrap_or_else(|e| panic!("{e}"));
        let payload = new_order_payload(&list, None, Some(0));
        assert_eq!(
            payload,
            json!({
                "identifiers": [{"type": "TNAuthList", "value": "MAigBhYEMTIzNA"}],
                "notAfter": "1970-01-01T00:00:00Z",
            })
        );
    }

    #[test]
    fn tkauth_response_field() {
        assert_eq!(
            tkauth_response_payload("a.b.c", TkauthField::default()),
            json!({"atc": "a.b.c"})
        );
        assert_eq!(
            tkauth_response_payload("a.b.c", TkauthField::Tkauth),
            json!({"tkauth": "a.b.c"})
        );
    }

    #[test]
    fn problem_documents_parse_leniently() {
        let body =
            br#"{"type":"urn:ietf:params:acme:error:unauthorized","detail":"no","status":403,
            "subproblems":[{"type":"urn:ietf:params:acme:error:malformed","detail":"x",
            "identifier":{"type":"TNAuthList","value":"MAigBhYEMTIzNA"}}]}"#;
        let p = parse_problem(body).unwrap_or_else(|| panic!("no problem"));
        assert_eq!(problem_short_type(&p), "unauthorized");
        assert_eq!(p.status, Some(403));
        assert_eq!(p.subproblems.len(), 1);
        assert!(p.subproblems[0].identifier.is_some());
        // No detail is fine; no type is not a problem document.
        assert!(parse_problem(br#"{"type":"about:blank"}"#).is_some());
        assert!(parse_problem(br#"{"detail":"x"}"#).is_none());
        assert!(parse_problem(b"<html>").is_none());
    }

    #[test]
    fn problem_error_display_is_readable() {
        let body = br#"{"type":"urn:ietf:params:acme:error:unauthorized","detail":"fingerprint mismatch"}"#;
        let err = ClientError::Problem {
            status: 403,
            problem: Box::new(parse_problem(body).unwrap_or_else(|| panic!("no problem"))),
        };
        let text = err.to_string();
        assert!(text.contains("unauthorized"), "{text}");
        assert!(text.contains("fingerprint mismatch"), "{text}");
        assert!(text.contains("403"), "{text}");
        assert!(err.is_problem("unauthorized"));
        assert!(!err.is_problem("badNonce"));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7", 0), Some(Duration::from_secs(7)));
        let now = 784111777; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("-3", 0), None);
    }

    #[test]
    fn link_next_is_found() {
        let mut headers = HeaderMap::new();
        headers.append(
            LINK,
            reqwest::header::HeaderValue::from_static(
                r#"<https://ca.example/dir>;rel="index", </orders/1?cursor=2>; rel="next""#,
            ),
        );
        assert_eq!(
            link_rel(&headers, "next").as_deref(),
            Some("/orders/1?cursor=2")
        );
        assert_eq!(
            resolve("https://ca.example/acct/1/orders", "/orders/1?cursor=2").as_deref(),
            Some("https://ca.example/orders/1?cursor=2")
        );
        assert_eq!(link_rel(&headers, "up"), None);
    }

    #[test]
    fn lenient_directory() {
        let raw: RawDirectory = serde_json::from_value(json!({
            "newNonce": "n", "newAccount": "a", "newOrder": "o",
            "meta": {"profiles": {"shaken-spc": "SPC", "other": {"x": 1}}}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let dir = raw.into_directory();
        assert!(dir.key_change.is_empty());
        assert!(!dir.meta.external_account_required);
        assert_eq!(
            dir.meta.profiles.get("shaken-spc").map(String::as_str),
            Some("SPC")
        );
    }
}
