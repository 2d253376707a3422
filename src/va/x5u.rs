//! Fetching what an Authority Token points at: the `x5u` certificate chain (RFC 7515 §4.1.5,
//! RFC 9447 §3.1) and the CRL named by the signer's cRLDistributionPoints.
//!
//! The URL comes from the token, which anyone can write, so the fetch is a server-side request on
//! behalf of a stranger and is guarded (standards.md §2.7 step 2, policy `authority_token`):
//! * `https` only; `http` only with the `danger_allow_http_x5u` switch;
//! * no credentials in the URL, no proxies, no redirects (a 3xx is refused, not followed);
//! * every address the host resolves to must be public (not loopback, private, link-local,
//!   unspecified, multicast, ...) unless `allow_private_x5u`; the check happens inside the HTTP
//!   client's resolver, so the address that was checked is the address that is connected to (no
//!   DNS rebinding between check and use); IP-literal hosts are checked before the request;
//! * connect and total time capped by `x5u_timeout_ms`;
//! * the body is read in chunks and the fetch stops as soon as it exceeds `x5u_max_bytes`;
//! * successful bodies are cached by URL for `x5u_cache_ttl_secs` in a bounded map.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::policy::AuthorityTokenPolicy;

/// Most URLs kept in the cache; beyond it the expired, then the oldest, entries go.
const CACHE_CAPACITY: usize = 256;

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL does not parse or has no host.
    #[error("invalid URL: {0}")]
    BadUrl(String),
    /// The scheme is not allowed (https only unless `danger_allow_http_x5u`).
    #[error("scheme {0:?} is not allowed (https only)")]
    Scheme(String),
    /// The URL carries a user name or password.
    #[error("URLs with credentials are not allowed")]
    Credentials,
    /// The host is or resolves to an address that is not public, and `allow_private_x5u` is off.
    #[error("host {host} resolves to the non-public address {addr}")]
    PrivateAddress {
        /// the URL host
        host: String,
        /// the refused address
        addr: IpAddr,
    },
    /// The server answered with a redirect, which is never followed.
    #[error("redirect ({status}) refused")]
    Redirect {
        /// the HTTP status
        status: u16,
    },
    /// The body is larger than `x5u_max_bytes`.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// The server answered with a status other than 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The fetch took longer than `x5u_timeout_ms`.
    #[error("timed out")]
    Timeout,
    /// Name resolution, connection, TLS or HTTP failed.
    #[error("{0}")]
    Transport(String),
}

impl FetchError {
    /// True when the URL itself was refused by policy (as opposed to a fetch that failed).
    pub fn is_policy_refusal(&self) -> bool {
        matches!(
            self,
            Self::BadUrl(_)
                | Self::Scheme(_)
                | Self::Credentials
                | Self::PrivateAddress { .. }
                | Self::Redirect { .. }
                | Self::TooLarge(_)
        )
    }
}

/// Whether `ip` is an address a fetch may go to without `allow_private_x5u`: globally routable
/// unicast. Refused: loopback, RFC 1918 private, RFC 6598 shared, link-local, unspecified,
/// "this network", broadcast, multicast, documentation, benchmarking, reserved, IETF protocol
/// assignments, IPv6 unique-local and site-local, and IPv4 addresses embedded in IPv6 (mapped,
/// compatible, NAT64 well-known prefix) are judged as the IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let seg = ip.segments();
    // ::a.b.c.d (deprecated IPv4-compatible) and 64:ff9b::a.b.c.d (NAT64).
    if seg[..6] == [0, 0, 0, 0, 0, 0] || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = seg[6].to_be_bytes();
        let [c, d] = seg[7].to_be_bytes();
        return !ip.is_unspecified()
            && !ip.is_loopback()
            && is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
        || (seg[0] == 0x2001 && seg[1] == 0x0db8)) // documentation
}

/// The resolver error that carries a refused address through reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("host {host} resolves to the non-public address {addr}")]
struct RefusedAddress {
    host: String,
    addr: IpAddr,
}

/// A resolver that refuses a host when any of its addresses is not public: the addresses it
/// returns are the ones the connection uses, so check and use cannot diverge.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(Box::new(RefusedAddress {
                    host,
                    addr: bad.ip(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// One cached body.
struct CacheEntry {
    fetched_at: i64,
    body: Arc<[u8]>,
}

/// Guarded, cached HTTP GETs for x5u chains and CRLs.
pub struct Fetcher {
    /// `None` when the HTTP client could not be built: every fetch then fails (fail closed).
    client: Option<reqwest::Client>,
    allow_http: bool,
    allow_private: bool,
    max_bytes: usize,
    ttl_secs: i64,
    cache: Mutex<HashMap<String, CacheEntry>>,
}

impl Fetcher {
    /// A fetcher following the `authority_token` policy.
    pub fn new(policy: &AuthorityTokenPolicy) -> Self {
        let timeout = Duration::from_millis(policy.x5u_timeout_ms.max(1));
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .referer(false)
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("stica/", env!("CARGO_PKG_VERSION")));
        if !policy.allow_private_x5u {
            builder = builder.dns_resolver(GuardedResolver);
        }
        let client = match builder.build() {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %e, "cannot build the x5u HTTP client; every x5u/CRL fetch will fail");
                None
            }
        };
        if policy.danger_allow_http_x5u {
            tracing::warn!(
                "DANGER: authority_token.danger_allow_http_x5u is on: x5u and CRL URLs over plain http are accepted"
            );
        }
        if policy.allow_private_x5u {
            tracing::warn!(
                "authority_token.allow_private_x5u is on: x5u and CRL URLs may point at loopback or private addresses"
            );
        }
        Self {
            client,
            allow_http: policy.danger_allow_http_x5u,
            allow_private: policy.allow_private_x5u,
            max_bytes: policy.x5u_max_bytes,
            ttl_secs: i64::try_from(policy.x5u_cache_ttl_secs).unwrap_or(i64::MAX),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the URL against the policy without touching the network.
    pub fn check_url(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::BadUrl(e.to_string()))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => return Err(FetchError::Scheme(other.to_string())),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(FetchError::Credentials);
        }
        let ip = match parsed.host() {
            None => return Err(FetchError::BadUrl("no host".into())),
            Some(Host::Domain(_)) => None,
            Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        };
        if let Some(ip) = ip
            && !self.allow_private
            && !is_public(ip)
        {
            return Err(FetchError::PrivateAddress {
                host: ip.to_string(),
                addr: ip,
            });
        }
        Ok(parsed)
    }

    /// GETs `url`, from the cache when a copy younger than the TTL exists.
    pub async fn fetch(&self, url: &str, now: i64) -> Result<Arc<[u8]>, FetchError> {
        self.check_url(url)?;
        if let Some(body) = self.cached(url, now) {
            return Ok(body);
        }
        self.fetch_fresh(url, now).await
    }

    /// GETs `url` from the network (never from the cache) and caches the result.
    pub async fn fetch_fresh(&self, url: &str, now: i64) -> Result<Arc<[u8]>, FetchError> {
        let parsed = self.check_url(url)?;
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| FetchError::Transport("HTTP client unavailable".into()))?;
        let mut response = client
            .get(parsed)
            .header(
                reqwest::header::ACCEPT,
                "application/pem-certificate-chain, application/pkix-cert, application/pkix-crl, */*",
            )
            .send()
            .await
            .map_err(map_reqwest)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect {
                status: status.as_u16(),
            });
        }
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(FetchError::TooLarge(self.max_bytes));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(map_reqwest)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(FetchError::TooLarge(self.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        let body: Arc<[u8]> = body.into();
        self.store(url, now, body.clone());
        Ok(body)
    }

    fn cached(&self, url: &str, now: i64) -> Option<Arc<[u8]>> {
        let cache = self.cache.lock().ok()?;
        let entry = cache.get(url)?;
        let age = now.saturating_sub(entry.fetched_at);
        (age >= 0 && age < self.ttl_secs).then(|| entry.body.clone())
    }

    fn store(&self, url: &str, now: i64, body: Arc<[u8]>) {
        if self.ttl_secs <= 0 {
            return;
        }
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(url) {
            let ttl = self.ttl_secs;
            cache.retain(|_, e| now.saturating_sub(e.fetched_at) < ttl);
            if cache.len() >= CACHE_CAPACITY
                && let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, e)| e.fetched_at)
                    .map(|(k, _)| k.clone())
            {
                cache.remove(&oldest);
            }
        }
        cache.insert(
            url.to_string(),
            CacheEntry {
                fetched_at: now,
                body,
            },
        );
    }

    /// Number of cached URLs (tests).
    #[cfg(test)]
    pub(crate) fn cache_len(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }
}

/// Turns a reqwest error into a [`FetchError`], recovering a refused address from the chain.
fn map_reqwest(e: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut detail = Vec::new();
    while let Some(err) = source {
        if let Some(refused) = err.downcast_ref::<RefusedAddress>() {
            return FetchError::PrivateAddress {
                host: refused.host.clone(),
                addr: refused.addr,
            };
        }
        detail.push(err.to_string());
        source = err.source();
    }
    if e.is_timeout() {
        return FetchError::Timeout;
    }
    FetchError::Transport(detail.join(": "))
}

#[cfg(test)]
mod tests;
