//! The responder: matches CertIDs to the issuers stica operates, asks a [`StatusSource`] for
//! the status, and answers from the pre-signed cache or signs on demand.
//!
//! RFC 5019 §2.2 and §6 split requests in two: without a nonce, any valid response for the
//! certificate will do, so one signed response is shared by everyone until it is refreshed;
//! with a nonce, the response must echo it, so it is signed for that request and never cached.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use der::asn1::{AnyRef, OctetStringRef};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierRef;

use super::OcspError;
use super::asn1::{self, ResponseStatus};
use super::cache::{CacheKey, Presigned, PresignedCache};
use super::certid::{HashAlg, IssuerHashes, subject_and_key};
use super::request::{self, CertRequest, ParsedRequest};
use super::response::{self, CertStatus, SigningIdentity, SingleInput};
use crate::ca::Signer;

/// Why a [`StatusSource`] could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The store is temporarily unreachable or overloaded: the client gets `tryLater`
    /// (RFC 6960 §4.2.1) and may retry.
    #[error("status source unavailable: {0}")]
    Unavailable(String),
    /// Any other failure: the client gets `internalError`.
    #[error("status lookup failed: {0}")]
    Failed(String),
}

/// The future a [`StatusSource`] returns (boxed, so the trait stays object safe without
/// `async_trait`; one allocation per lookup, and lookups only happen on cache misses).
pub type StatusFuture<'a> =
    Pin<Box<dyn Future<Output = Result<CertStatus, StatusError>> + Send + 'a>>;

/// Where certificate status comes from (storage, in the server).
pub trait StatusSource: Send + Sync {
    /// The status of the certificate with serial `serial` (unsigned big-endian magnitude, the
    /// bytes `ca::serial::serial_hex` encodes) issued by issuer number `issuer` (the index in
    /// the list given to [`Responder::new`]). A serial this issuer never issued is
    /// [`CertStatus::Unknown`], not an error.
    fn status<'a>(&'a self, issuer: usize, serial: &'a [u8]) -> StatusFuture<'a>;
}

/// One CA certificate the responder answers for, and who signs for it.
#[derive(Clone, Debug)]
pub struct IssuerEntry {
    /// The issuing CA certificate (DER): CertIDs are matched against its name and key.
    pub cert_der: Vec<u8>,
    /// The key that signs responses: a delegated responder key, or the CA key itself.
    pub responder: Arc<dyn Signer>,
    /// The responder's certificate (DER), sent in `certs`: a delegated responder certificate
    /// issued by `cert_der` with id-kp-OCSPSigning, or `cert_der` itself.
    pub responder_cert_der: Vec<u8>,
}

/// Default validity of a response (nextUpdate - thisUpdate): 4 hours. A revocation reaches
/// HTTP caches and other replicas within this bound (see docs/ocsp.md).
pub const DEFAULT_VALIDITY_SECS: i64 = 4 * 3600;
/// Default back-dating of thisUpdate, for relying parties whose clock runs a little slow.
pub const DEFAULT_BACKDATE_SECS: i64 = 60;
/// Default cap on pre-signed responses kept in memory.
pub const DEFAULT_MAX_CACHE_ENTRIES: usize = 1_000_000;
/// Default cap on a POSTed request (RFC 5019 clients send ~100 octets; signed requests with
/// certificate chains stay well under this).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 8 * 1024;

/// Responder settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponderConfig {
    /// nextUpdate - thisUpdate, seconds (capped by the responder certificate's notAfter).
    pub validity_secs: i64,
    /// thisUpdate = now - backdate_secs.
    pub backdate_secs: i64,
    /// Most pre-signed responses kept in memory.
    pub max_cache_entries: usize,
    /// Largest request body accepted over HTTP (larger: HTTP 413 with `malformedRequest`).
    pub max_request_bytes: usize,
}

impl Default for ResponderConfig {
    fn default() -> Self {
        Self {
            validity_secs: DEFAULT_VALIDITY_SECS,
            backdate_secs: DEFAULT_BACKDATE_SECS,
            max_cache_entries: DEFAULT_MAX_CACHE_ENTRIES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
        }
    }
}

/// What to send back.
#[derive(Clone, Debug)]
pub enum Answer {
    /// A response valid for anyone who asks about this certificate (no nonce): sent with HTTP
    /// cache headers. It came from the pre-signed cache or was just signed (and stored, unless
    /// the status is `unknown`).
    Shared(Arc<Presigned>),
    /// A response signed for this request only (it echoes a nonce or answers several
    /// CertIDs): `Cache-Control: no-store`.
    Private(Bytes),
    /// An error status without responseBytes.
    Error(ResponseStatus),
}

impl Answer {
    /// The OCSPResponse DER.
    pub fn der(&self) -> Bytes {
        match self {
            Answer::Shared(p) => p.der.clone(),
            Answer::Private(b) => b.clone(),
            Answer::Error(s) => Bytes::from_static(response::error_response(*s)),
        }
    }

    /// The responseStatus.
    pub fn status(&self) -> ResponseStatus {
        match self {
            Answer::Shared(_) | Answer::Private(_) => ResponseStatus::Successful,
            Answer::Error(s) => *s,
        }
    }
}

/// What [`Responder::refresh_due_now`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefreshReport {
    /// Responses re-signed.
    pub refreshed: usize,
    /// Entries dropped because the certificate is no longer known.
    pub removed: usize,
    /// Entries that could not be refreshed (kept until they expire; retried next run).
    pub failed: usize,
}

#[derive(Debug)]
struct IssuerSlot {
    cert_der: Vec<u8>,
    issuer_key: Vec<u8>,
    hashes: IssuerHashes,
    identity: RwLock<Arc<SigningIdentity>>,
}

impl IssuerSlot {
    fn identity(&self) -> Arc<SigningIdentity> {
        self.identity
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The OCSP responder for every CA certificate stica operates.
pub struct Responder {
    issuers: Vec<IssuerSlot>,
    source: Arc<dyn StatusSource>,
    cache: PresignedCache,
    config: ResponderConfig,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("issuers", &self.issuers.len())
            .field("cached", &self.cache.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A request checked against the issuers: everything needed to answer it.
struct Plan<'a> {
    issuer: usize,
    parsed: ParsedRequest<'a>,
    /// The cache key when the request can share a pre-signed response (one CertID, no nonce).
    key: Option<CacheKey>,
}

impl Responder {
    /// A responder for `issuers` (index = position, the `issuer` a [`StatusSource`] is asked
    /// about). Checks that each responder certificate holds the responder key and is either
    /// the issuer itself or a delegated responder it signed with id-kp-OCSPSigning (RFC 6960
    /// §4.2.2.2).
    pub fn new(
        issuers: Vec<IssuerEntry>,
        source: Arc<dyn StatusSource>,
        config: ResponderConfig,
    ) -> Result<Self, OcspError> {
        if issuers.is_empty() {
            return Err(OcspError::Config("no issuer to answer for".into()));
        }
        if issuers.len() > usize::from(u16::MAX) {
            return Err(OcspError::Config("too many issuers".into()));
        }
        if config.validity_secs <= 0 || config.backdate_secs < 0 {
            return Err(OcspError::Config(
                "validity must be positive and backdate not negative".into(),
            ));
        }
        let mut slots = Vec::with_capacity(issuers.len());
        for (i, e) in issuers.into_iter().enumerate() {
            let hashes = IssuerHashes::from_cert(&e.cert_der).map_err(|err| {
                OcspError::Config(format!("issuer {i}: not a certificate: {err}"))
            })?;
            let issuer_key = subject_and_key(&e.cert_der)?.1.to_vec();
            let identity =
                checked_identity(&e.cert_der, &issuer_key, e.responder, e.responder_cert_der)
                    .map_err(|err| OcspError::Config(format!("issuer {i}: {err}")))?;
            slots.push(IssuerSlot {
                cert_der: e.cert_der,
                issuer_key,
                hashes,
                identity: RwLock::new(Arc::new(identity)),
            });
        }
        Ok(Self {
            issuers: slots,
            source,
            cache: PresignedCache::new(config.max_cache_entries),
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &ResponderConfig {
        &self.config
    }

    /// The pre-signed responses.
    pub fn cache(&self) -> &PresignedCache {
        &self.cache
    }

    /// Number of issuers.
    pub fn issuer_count(&self) -> usize {
        self.issuers.len()
    }

    /// The index of the issuer whose certificate is `cert_der`.
    pub fn issuer_index(&self, cert_der: &[u8]) -> Option<usize> {
        self.issuers.iter().position(|s| s.cert_der == cert_der)
    }

    /// The current responder certificate's notAfter for `issuer` (to schedule rotation).
    pub fn responder_not_after(&self, issuer: usize) -> Option<i64> {
        self.issuers.get(issuer).map(|s| s.identity().not_after)
    }

    /// Replaces the responder key and certificate of `issuer` (rotation of a delegated
    /// responder) after the same checks as [`Responder::new`], and drops that issuer's
    /// pre-signed responses so that none outlives the old certificate.
    pub fn rotate(
        &self,
        issuer: usize,
        responder: Arc<dyn Signer>,
        responder_cert_der: Vec<u8>,
    ) -> Result<(), OcspError> {
        let slot = self
            .issuers
            .get(issuer)
            .ok_or(OcspError::NoSuchIssuer(issuer))?;
        let identity = checked_identity(
            &slot.cert_der,
            &slot.issuer_key,
            responder,
            responder_cert_der,
        )?;
        *slot.identity.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(identity);
        let dropped = self.cache.remove_issuer(issuer);
        tracing::info!(issuer, dropped, "OCSP responder certificate rotated");
        Ok(())
    }

    /// Answers from the pre-signed cache without waiting: `Some` for a cache hit or an error
    /// that needs no lookup (malformed, unauthorized), `None` when the request needs a status
    /// lookup or a signature ([`Responder::respond`]). The hot GET path calls this first.
    pub fn cached(&self, der_bytes: &[u8], now: i64) -> Option<Answer> {
        match self.plan(der_bytes) {
            Err(status) => Some(Answer::Error(status)),
            Ok(plan) => plan
                .key
                .and_then(|k| self.cache.get(&k, now))
                .map(Answer::Shared),
        }
    }

    /// The pre-signed cache key a request would be answered from, `None` when it cannot be (a
    /// nonce, several CertIDs, an issuer this responder does not serve, a malformed request).
    /// Depends on the request and the responder's issuers only, never on time or status.
    pub fn shared_key(&self, der_bytes: &[u8]) -> Option<CacheKey> {
        self.plan(der_bytes).ok()?.key
    }

    /// Answers a DER OCSPRequest at time `now` (unix seconds).
    pub async fn respond(&self, der_bytes: &[u8], now: i64) -> Answer {
        let plan = match self.plan(der_bytes) {
            Ok(p) => p,
            Err(status) => return Answer::Error(status),
        };
        if let Some(hit) = plan.key.and_then(|k| self.cache.get(&k, now)) {
            return Answer::Shared(hit);
        }
        match self.sign_plan(&plan, now).await {
            Ok(answer) => answer,
            Err(e) => {
                let status = e.response_status();
                tracing::error!(error = %e, ?status, "OCSP response failed");
                Answer::Error(status)
            }
        }
    }

    /// Parses the request and finds its issuer (RFC 5019 §2.2.3: `unauthorized` for a CertID
    /// the responder has no authority for, which includes unsupported hash algorithms).
    fn plan<'a>(&self, der_bytes: &'a [u8]) -> Result<Plan<'a>, ResponseStatus> {
        let parsed = request::parse(der_bytes).map_err(|e| {
            tracing::debug!(error = %e, "malformed OCSP request");
            ResponseStatus::MalformedRequest
        })?;
        let mut issuer = None;
        for c in &parsed.cert_ids {
            let i = self.match_issuer(c).ok_or(ResponseStatus::Unauthorized)?;
            // One response has one signer: CertIDs of different issuers cannot be answered
            // together.
            if *issuer.get_or_insert(i) != i {
                return Err(ResponseStatus::Unauthorized);
            }
        }
        let issuer = issuer.ok_or(ResponseStatus::MalformedRequest)?;
        let key = match (parsed.cert_ids.as_slice(), parsed.nonce) {
            ([only], None) => only
                .hash_alg
                .zip(only.serial)
                .and_then(|(alg, serial)| CacheKey::new(issuer, alg, serial))
                // The cached response echoes the CertID form presign() writes (parameters
                // NULL, as openssl sends). Clients that compare CertIDs as whole structures
                // (not openssl, which compares the OID) would reject it for a request without
                // parameters, so such requests are signed for themselves.
                .filter(|_| only.params_null),
            _ => None,
        };
        Ok(Plan {
            issuer,
            parsed,
            key,
        })
    }

    fn match_issuer(&self, c: &CertRequest<'_>) -> Option<usize> {
        let alg = c.hash_alg?;
        self.issuers
            .iter()
            .position(|s| s.hashes.matches(alg, c.issuer_name_hash, c.issuer_key_hash))
    }

    /// thisUpdate and nextUpdate for a response signed now by `identity`.
    fn validity(&self, identity: &SigningIdentity, now: i64) -> Result<(i64, i64), OcspError> {
        let this_update = now - self.config.backdate_secs;
        let next_update = (this_update + self.config.validity_secs).min(identity.not_after);
        if next_update <= now {
            return Err(OcspError::ResponderExpired(identity.not_after));
        }
        Ok((this_update, next_update))
    }

    async fn lookup(&self, issuer: usize, serial: Option<&[u8]>) -> Result<CertStatus, OcspError> {
        match serial {
            Some(s) if s.len() <= super::cache::MAX_SERIAL_LEN => {
                Ok(self.source.status(issuer, s).await?)
            }
            // Negative or over-long serials: no conforming CA issues them (RFC 5280 §4.1.2.2).
            _ => Ok(CertStatus::Unknown),
        }
    }

    async fn sign_plan(&self, plan: &Plan<'_>, now: i64) -> Result<Answer, OcspError> {
        let slot = self
            .issuers
            .get(plan.issuer)
            .ok_or(OcspError::NoSuchIssuer(plan.issuer))?;
        let identity = slot.identity();
        let (this_update, next_update) = self.validity(&identity, now)?;
        let mut singles = Vec::with_capacity(plan.parsed.cert_ids.len());
        for c in &plan.parsed.cert_ids {
            singles.push(SingleInput {
                cert_id: c.cert_id,
                status: self.lookup(plan.issuer, c.serial).await?,
                this_update,
                next_update,
            });
        }
        let nonce = plan.parsed.nonce.map(|n| n.extn_value);
        let der_bytes = response::sign_response(&identity, &singles, nonce, now)?;
        let shared = match (singles.as_slice(), nonce) {
            ([only], None) => only.status,
            _ => return Ok(Answer::Private(Bytes::from(der_bytes))),
        };
        let presigned = Arc::new(Presigned::new(
            der_bytes,
            shared,
            now,
            this_update,
            next_update,
        )?);
        if let Some(key) = plan.key
            && shared != CertStatus::Unknown
        {
            self.cache.insert(key, presigned.clone());
        }
        Ok(Answer::Shared(presigned))
    }

    /// Signs (or re-signs) the shared response for one certificate and stores it, as if a
    /// client had asked with a CertID of algorithm `alg` (hashAlgorithm parameters NULL, as
    /// openssl writes them). Use it to warm the cache at issuance, after a revocation, and to
    /// fetch a response for stapling. Returns `None` (and drops any stored entry) when the
    /// source says the certificate is unknown.
    pub async fn presign(
        &self,
        issuer: usize,
        alg: HashAlg,
        serial: &[u8],
        now: i64,
    ) -> Result<Option<Arc<Presigned>>, OcspError> {
        let slot = self
            .issuers
            .get(issuer)
            .ok_or(OcspError::NoSuchIssuer(issuer))?;
        let serial = request::strip_leading_zeros(serial);
        let key = CacheKey::new(issuer, alg, serial).ok_or(OcspError::BadSerial)?;
        let serial_content = request::integer_content(serial);
        let status = self.lookup(issuer, Some(serial)).await?;
        if status == CertStatus::Unknown {
            self.cache.remove(&key);
            return Ok(None);
        }
        let (name_hash, key_hash) = slot.hashes.pair(alg);
        let cert_id = asn1::CertId {
            hash_algorithm: AlgorithmIdentifierRef {
                oid: alg.oid(),
                parameters: Some(AnyRef::NULL),
            },
            issuer_name_hash: OctetStringRef::new(name_hash)?,
            issuer_key_hash: OctetStringRef::new(key_hash)?,
            serial_number: der::asn1::IntRef::new(&serial_content)?,
        }
        .to_der()?;
        let identity = slot.identity();
        let (this_update, next_update) = self.validity(&identity, now)?;
        let single = SingleInput {
            cert_id: AnyRef::from_der(&cert_id)?,
            status,
            this_update,
            next_update,
        };
        let der_bytes = response::sign_response(&identity, &[single], None, now)?;
        let presigned = Arc::new(Presigned::new(
            der_bytes,
            status,
            now,
            this_update,
            next_update,
        )?);
        self.cache.insert(key, presigned.clone());
        Ok(Some(presigned))
    }

    /// Drops the stored responses of one certificate (every hash algorithm). Call it when the
    /// certificate is revoked, then [`Responder::presign`] to store the `revoked` answer.
    pub fn forget(&self, issuer: usize, serial: &[u8]) -> usize {
        self.cache.remove_serial(issuer, serial)
    }

    /// Re-signs every stored response past half its validity ([`PresignedCache::refresh_due`])
    /// and drops expired ones that could not be refreshed. Run it periodically (every few
    /// minutes; more often than half the validity).
    pub async fn refresh_due_now(&self, now: i64) -> RefreshReport {
        let mut report = RefreshReport::default();
        for key in self.cache.refresh_due(now) {
            match self
                .presign(key.issuer(), key.alg(), key.serial(), now)
                .await
            {
                Ok(Some(_)) => report.refreshed += 1,
                Ok(None) => report.removed += 1,
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(error = %e, serial = %hex::encode(key.serial()), "OCSP refresh failed");
                }
            }
        }
        let purged = self.cache.purge_expired(now);
        if purged > 0 {
            tracing::warn!(purged, "expired OCSP responses dropped (refresh failing?)");
        }
        report
    }
}

/// Checks a responder key and certificate against the issuer and builds the identity.
fn checked_identity(
    issuer_der: &[u8],
    issuer_key: &[u8],
    signer: Arc<dyn Signer>,
    responder_cert_der: Vec<u8>,
) -> Result<SigningIdentity, OcspError> {
    let cert = x509_cert::Certificate::from_der(&responder_cert_der)
        .map_err(|e| OcspError::Config(format!("responder certificate: {e}")))?;
    let tbs = cert.tbs_certificate();
    let key = tbs
        .subject_public_key_info()
        .subject_public_key
        .as_bytes()
        .unwrap_or_default();
    if key != signer.public_key() {
        return Err(OcspError::Config(
            "responder certificate does not hold the responder key".into(),
        ));
    }
    if responder_cert_der != issuer_der {
        crate::ca::verify_signed_by(&responder_cert_der, issuer_key).map_err(|e| {
            OcspError::Config(format!(
                "responder certificate not signed by the issuer: {e}"
            ))
        })?;
        let eku = tbs
            .get_extension::<x509_cert::ext::pkix::ExtendedKeyUsage>()
            .map_err(|e| OcspError::Config(format!("responder extKeyUsage: {e}")))?;
        let has_ocsp_signing =
            eku.is_some_and(|(_, eku)| eku.0.contains(&super::oid::KP_OCSP_SIGNING));
        if !has_ocsp_signing {
            return Err(OcspError::Config(
                "delegated responder certificate lacks id-kp-OCSPSigning (RFC 6960 §4.2.2.2)"
                    .into(),
            ));
        }
    }
    let not_after = i64::try_from(tbs.validity().not_after.to_unix_duration().as_secs())
        .map_err(|_| OcspError::Config("responder notAfter out of range".into()))?;
    Ok(SigningIdentity::new(signer, responder_cert_der, not_after))
}
