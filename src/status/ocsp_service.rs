//! Wires the OCSP responder (`status::ocsp`) to stica: certificate status from storage, a
//! delegated responder certificate issued at start and rotated before it expires, pre-signed
//! responses refreshed ahead of `nextUpdate`, and revocations pushed out of every replica's cache
//! by following the change sequence (docs/ocsp.md states the resulting bound).

use std::sync::Arc;
use std::time::Duration;

use crate::acme::now;
use crate::ca::Ca;
use crate::sa::{ChangeEvent, Storage};
use crate::status::ocsp::{
    CertStatus, DEFAULT_RESPONDER_CERT_LIFETIME_SECS, OcspError, Responder, ResponderCert,
    ResponderConfig, StatusError, StatusFuture, StatusSource,
};

/// How often each replica reads the change sequence for revocations (the bound on how long a
/// revoked certificate can still be answered `good` from a pre-signed response).
pub const CHANGE_POLL: Duration = Duration::from_secs(5);
/// How often pre-signed responses past half their validity are re-signed.
pub const REFRESH_EVERY: Duration = Duration::from_secs(300);
/// Rotate the responder certificate when it has less than this left.
pub const ROTATE_BEFORE_SECS: i64 = 24 * 3600;

/// Certificate status from storage: stica's only issuer today is its intermediate (index 0).
pub struct SaStatusSource {
    sa: Storage,
}

impl StatusSource for SaStatusSource {
    fn status<'a>(&'a self, issuer: usize, serial: &'a [u8]) -> StatusFuture<'a> {
        Box::pin(async move {
            if issuer != 0 {
                return Ok(CertStatus::Unknown);
            }
            let serial = crate::ca::serial::serial_hex(serial);
            let state = self
                .sa
                .certificate_state(&serial)
                .await
                .map_err(|e| StatusError::Unavailable(e.to_string()))?;
            Ok(match state {
                None => CertStatus::Unknown,
                Some(s) => match s.revocation {
                    Some(r) => CertStatus::Revoked {
                        time: r.revoked_at,
                        reason: Some(r.reason),
                    },
                    None => CertStatus::Good,
                },
            })
        })
    }
}

/// Builds the responder for the CA's issuing intermediate with a fresh responder certificate.
pub fn build(ca: &Ca, sa: Storage) -> Result<Arc<Responder>, String> {
    let rc = ca
        .ocsp_responder(DEFAULT_RESPONDER_CERT_LIFETIME_SECS, now())
        .map_err(|e| format!("OCSP responder certificate: {e}"))?;
    let entry = rc.issuer_entry(ca.issuer_der().to_vec());
    let responder = Responder::new(
        vec![entry],
        Arc::new(SaStatusSource { sa }),
        ResponderConfig::default(),
    )
    .map_err(|e| format!("OCSP responder: {e}"))?;
    Ok(Arc::new(responder))
}

/// Runs the responder's upkeep until the process ends: revocations from the change sequence,
/// refreshes of pre-signed responses, and rotation of the responder certificate.
pub fn spawn_maintenance(
    responder: Arc<Responder>,
    sa: Storage,
    issue_responder: impl Fn(i64) -> Result<ResponderCert, OcspError> + Send + 'static,
) {
    tokio::spawn(async move {
        let mut cursor = match sa.last_revocation_seq().await {
            Ok(seq) => seq,
            Err(e) => {
                tracing::warn!(error = %e, "OCSP: cannot read the change sequence; starting from 0");
                0
            }
        };
        let mut poll = tokio::time::interval(CHANGE_POLL);
        let mut last_refresh = tokio::time::Instant::now();
        loop {
            poll.tick().await;
            match sa.changes_since(cursor, 1000).await {
                Ok(changes) => {
                    for c in changes {
                        cursor = cursor.max(c.seq);
                        if c.event == ChangeEvent::Revoked
                            && let Ok(serial) = hex::decode(&c.serial)
                        {
                            let dropped = responder.forget(0, &serial);
                            tracing::debug!(serial = %c.serial, dropped, "OCSP: revoked certificate dropped from the cache");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "OCSP: reading the change sequence failed"),
            }
            if last_refresh.elapsed() >= REFRESH_EVERY {
                last_refresh = tokio::time::Instant::now();
                let report = responder.refresh_due_now(now()).await;
                tracing::debug!(?report, "OCSP: pre-signed responses refreshed");
                if responder
                    .responder_not_after(0)
                    .is_some_and(|na| na - now() < ROTATE_BEFORE_SECS)
                {
                    match issue_responder(now()) {
                        Ok(rc) => match responder.rotate(0, rc.signer.clone(), rc.cert_der.clone())
                        {
                            Ok(()) => {
                                tracing::info!(target: "audit", event = "ocsp_responder_cert.rotated", not_after = rc.not_after, "OCSP responder certificate rotated")
                            }
                            Err(e) => tracing::error!(error = %e, "OCSP responder rotation failed"),
                        },
                        Err(e) => {
                            tracing::error!(error = %e, "issuing a new OCSP responder certificate failed")
                        }
                    }
                }
            }
        }
    });
}

/// The stapling aid (issue 4 item 5): `GET <prefix>/ocsp-staple/<serial hex>` answers the
/// certificate's current shared OCSP response (SHA-1 CertID, as RFC 5019 clients ask), so a
/// carrier can staple status next to its PASSporTs without building OCSP requests. Unknown serials
/// get 404.
pub fn staple_router(prefix: &str, responder: Arc<Responder>) -> axum::Router {
    axum::Router::new()
        .route(
            &format!("{prefix}/ocsp-staple/{{serial}}"),
            axum::routing::get(staple),
        )
        .with_state(responder)
}

async fn staple(
    axum::extract::State(responder): axum::extract::State<Arc<Responder>>,
    axum::extract::Path(serial): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    use crate::status::ocsp::{Answer, CacheKey, HashAlg};

    let serial = serial.trim_end_matches(".der").to_ascii_lowercase();
    let Ok(bytes) = hex::decode(&serial) else {
        return (StatusCode::BAD_REQUEST, "the serial must be hexadecimal").into_response();
    };
    let bytes: Vec<u8> = bytes.into_iter().skip_while(|b| *b == 0).collect();
    let now = now();
    let cached =
        CacheKey::new(0, HashAlg::Sha1, &bytes).and_then(|k| responder.cache().get(&k, now));
    let presigned = match cached {
        Some(p) => Some(p),
        None => match responder.presign(0, HashAlg::Sha1, &bytes, now).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "stapling: signing the OCSP response failed");
                return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
            }
        },
    };
    match presigned {
        Some(p) => crate::status::ocsp::http::answer_response(&Answer::Shared(p), now),
        None => (StatusCode::NOT_FOUND, "no certificate with this serial").into_response(),
    }
}
