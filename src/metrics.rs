//! Prometheus metrics (`GET /metrics`, text exposition format 0.0.4; names in
//! docs/operations.md).
//!
//! One process-wide registry: the roles that count (front end, RA, CA, CRL signer, jobs) call the
//! small functions below instead of carrying a handle through every constructor. Label values are
//! always from closed sets (route templates, profile names, error variant names, status codes), so
//! a client cannot grow the number of series. Recording never fails a request: should a metric
//! be unusable, the value is dropped.

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The `Content-Type` of `/metrics` (`text/plain; version=0.0.4`).
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Latency buckets in seconds: signing and requests take from tens of microseconds (P-256) to
/// hundreds of milliseconds (a PostgreSQL round trip under load).
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Every metric stica exports.
struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    issued: IntCounterVec,
    token_failures: IntCounterVec,
    signing: HistogramVec,
    nonce_rejections: IntCounterVec,
    revocations: IntCounterVec,
    lease_held: IntGaugeVec,
    db_pool: IntGaugeVec,
    db_pool_max: IntGauge,
    wal_fsync: prometheus::Histogram,
    durable_writes_halted: IntGauge,
}

impl Metrics {
    fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("stica".into()), None)?;
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let h = HistogramVec::new(
                HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()),
                labels,
            )?;
            registry.register(Box::new(h.clone()))?;
            Ok::<_, prometheus::Error>(h)
        };
        let http_requests = counter(
            "http_requests_total",
            "HTTP requests by route template, method and status code",
            &["route", "method", "status"],
        )?;
        let http_duration = histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            &["route"],
        )?;
        let issued = counter(
            "certificates_issued_total",
            "Certificates signed and stored, by profile",
            &["profile"],
        )?;
        let token_failures = counter(
            "token_failures_total",
            "tkauth-01 Authority Tokens refused, by reason (the check that failed)",
            &["reason"],
        )?;
        let signing = histogram(
            "signing_duration_seconds",
            "Time to sign (and self-check) a certificate or CRL",
            &["what"],
        )?;
        let nonce_rejections = counter(
            "nonce_rejections_total",
            "Requests refused with badNonce, by reason",
            &["reason"],
        )?;
        let revocations = counter(
            "revocations_total",
            "Certificates revoked (not counting those revoked with a parent), by reason",
            &["reason"],
        )?;
        let lease_held = IntGaugeVec::new(
            Opts::new(
                "lease_held",
                "1 while this replica holds the lease and runs its periodic jobs",
            ),
            &["name"],
        )?;
        registry.register(Box::new(lease_held.clone()))?;
        let db_pool = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database pool connections by state (in_use, idle), read at scrape time",
            ),
            &["state"],
        )?;
        registry.register(Box::new(db_pool.clone()))?;
        let db_pool_max = IntGauge::new("db_pool_max_connections", "Database pool size limit")?;
        registry.register(Box::new(db_pool_max.clone()))?;
        let wal_fsync = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "sqlite_wal_fsync_duration_seconds",
                "Time of one group fsync of the SQLite WAL (its count: fsyncs; each serves every \
                 durable commit waiting for it)",
            )
            .buckets(BUCKETS.to_vec()),
        )?;
        registry.register(Box::new(wal_fsync.clone()))?;
        let durable_writes_halted = IntGauge::new(
            "durable_writes_halted",
            "1 once a SQLite WAL fsync has failed: durable writes are refused until restart",
        )?;
        registry.register(Box::new(durable_writes_halted.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            issued,
            token_failures,
            signing,
            nonce_rejections,
            revocations,
            lease_held,
            db_pool,
            db_pool_max,
            wal_fsync,
            durable_writes_halted,
        })
    }
}

static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| match Metrics::new() {
    Ok(m) => Some(m),
    Err(e) => {
        tracing::error!(error = %e, "metrics are unavailable");
        None
    }
});

fn inc(vec: impl Fn(&Metrics) -> &IntCounterVec, labels: &[&str]) {
    if let Some(m) = METRICS.as_ref()
        && let Ok(c) = vec(m).get_metric_with_label_values(labels)
    {
        c.inc();
    }
}

fn observe(vec: impl Fn(&Metrics) -> &HistogramVec, labels: &[&str], secs: f64) {
    if let Some(m) = METRICS.as_ref()
        && let Ok(h) = vec(m).get_metric_with_label_values(labels)
    {
        h.observe(secs);
    }
}

/// The request metrics of one route, method and status, resolved once: for a path that answers
/// tens of thousands of requests per second (the pre-signed OCSP GET), the label lookups of
/// [`http_request`] (hashing three labels under a lock, twice) are a visible share of the work.
#[derive(Clone)]
pub struct HttpRouteMetrics {
    count: Option<prometheus::IntCounter>,
    duration: Option<prometheus::Histogram>,
}

impl HttpRouteMetrics {
    /// The series [`http_request`] would update for `route`, `method` (already folded: `GET`,
    /// `HEAD`, `POST` or `other`) and `status`.
    pub fn new(route: &str, method: &str, status: u16) -> Self {
        let code = status.to_string();
        let m = METRICS.as_ref();
        Self {
            count: m.and_then(|m| {
                m.http_requests
                    .get_metric_with_label_values(&[route, method, &code])
                    .ok()
            }),
            duration: m.and_then(|m| m.http_duration.get_metric_with_label_values(&[route]).ok()),
        }
    }

    /// One answered request that took `secs`.
    pub fn record(&self, secs: f64) {
        if let Some(c) = &self.count {
            c.inc();
        }
        if let Some(h) = &self.duration {
            h.observe(secs);
        }
    }
}

/// One answered HTTP request. `route` is the route template (`/acme/order/{id}`), never the raw
/// path; `method` is folded to the methods stica serves.
pub fn http_request(route: &str, method: &axum::http::Method, status: u16, secs: f64) {
    use axum::http::Method;
    let method = match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        _ => "other",
    };
    // HTTP status codes have three digits (RFC 9110 §15): no allocation per request.
    let digits = [
        b'0' + (status / 100 % 10) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ];
    let code = std::str::from_utf8(&digits).unwrap_or("000");
    inc(|m| &m.http_requests, &[route, method, code]);
    observe(|m| &m.http_duration, &[route], secs);
}

/// A certificate was signed and stored.
pub fn certificate_issued(profile: &str) {
    inc(|m| &m.issued, &[profile]);
}

/// An Authority Token was refused; `reason` is the check's name (a `TokenError` variant or a
/// replay rule).
pub fn token_failure(reason: &str) {
    inc(|m| &m.token_failures, &[reason]);
}

/// A signature took `secs`; `what` is `certificate` or `crl`.
pub fn signing(what: &str, secs: f64) {
    observe(|m| &m.signing, &[what], secs);
}

/// A request was refused with `badNonce`; `reason` is `missing`, `malformed`, `forged`,
/// `expired` or `replayed`.
pub fn nonce_rejected(reason: &str) {
    inc(|m| &m.nonce_rejections, &[reason]);
}

/// A certificate was revoked with this reason name.
pub fn revocation(reason: &str) {
    inc(|m| &m.revocations, &[reason]);
}

/// Whether this replica holds the lease `name`.
pub fn lease_held(name: &str, held: bool) {
    if let Some(m) = METRICS.as_ref()
        && let Ok(g) = m.lease_held.get_metric_with_label_values(&[name])
    {
        g.set(i64::from(held));
    }
}

/// The database pool's state, set just before a scrape renders.
pub fn db_pool(in_use: u32, idle: u32, max: u32) {
    if let Some(m) = METRICS.as_ref() {
        for (state, v) in [("in_use", in_use), ("idle", idle)] {
            if let Ok(g) = m.db_pool.get_metric_with_label_values(&[state]) {
                g.set(i64::from(v));
            }
        }
        m.db_pool_max.set(i64::from(max));
    }
}

/// One group fsync of a SQLite WAL took `secs`.
pub fn wal_fsync(secs: f64) {
    if let Some(m) = METRICS.as_ref() {
        m.wal_fsync.observe(secs);
    }
}

/// A SQLite WAL fsync failed: durable writes stop until restart.
pub fn durable_writes_halted() {
    if let Some(m) = METRICS.as_ref() {
        m.durable_writes_halted.set(1);
    }
}

/// Renders every metric in the text exposition format 0.0.4.
pub fn render() -> Result<String, String> {
    let m = METRICS
        .as_ref()
        .ok_or_else(|| "metrics are unavailable".to_string())?;
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&m.registry.gather(), &mut out)
        .map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_render_with_their_labels() {
        certificate_issued("shaken-spc");
        token_failure("BadSignature");
        nonce_rejected("replayed");
        signing("certificate", 0.0003);
        http_request("/acme/order/{id}", &axum::http::Method::POST, 201, 0.002);
        http_request("/x", &axum::http::Method::PUT, 405, 0.001);
        db_pool(2, 3, 8);
        wal_fsync(0.0004);
        let text = render().unwrap();
        for needle in [
            "stica_certificates_issued_total{profile=\"shaken-spc\"}",
            "stica_token_failures_total{reason=\"BadSignature\"}",
            "stica_nonce_rejections_total{reason=\"replayed\"}",
            "stica_signing_duration_seconds_bucket{what=\"certificate\",le=\"0.0005\"}",
            "stica_http_requests_total{method=\"POST\",route=\"/acme/order/{id}\",status=\"201\"}",
            "stica_http_requests_total{method=\"other\",route=\"/x\",status=\"405\"}",
            "stica_db_pool_connections{state=\"in_use\"} 2",
            "stica_db_pool_max_connections 8",
            "stica_sqlite_wal_fsync_duration_seconds_bucket{le=\"0.0005\"}",
            // Its value is left alone: a group_sync test makes an fsync fail in this process.
            "# TYPE stica_durable_writes_halted gauge",
            "# TYPE stica_http_request_duration_seconds histogram",
        ] {
            assert!(text.contains(needle), "missing {needle} in:\n{text}");
        }
    }
}
