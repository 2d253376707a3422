//! Probes and metrics, unauthenticated on the main listener (operators keep `/metrics` from the
//! public at the reverse proxy, docs/operations.md):
//! - `GET /healthz`: liveness, 200 while the process serves HTTP;
//! - `GET /readyz`: readiness, 200 only when the database answers and the CA is loaded, else 503
//!   with a JSON body naming what is wrong (a load balancer takes the replica out);
//! - `GET /metrics`: Prometheus text format 0.0.4 ([`crate::metrics`]).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::sa::Storage;

/// What the probes look at.
pub struct HealthState {
    /// the database
    pub sa: Storage,
    /// SHA-256 of the CA root this replica loaded (lowercase hex), when it has loaded one
    pub ca_root_sha256: Option<String>,
}

/// `/healthz`, `/readyz` and `/metrics`, at the root of the listener (not under the external
/// URL's path prefix: probes talk to the replica, not to the CA's public URL).
pub fn router(state: Arc<HealthState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(state): State<Arc<HealthState>>) -> Response {
    let database = match state.sa.ping().await {
        Ok(()) => None,
        Err(e) => {
            tracing::warn!(error = %e, "readyz: the database does not answer");
            Some("the database does not answer")
        }
    };
    let ca = match &state.ca_root_sha256 {
        Some(_) => None,
        None => Some("no CA is loaded"),
    };
    let check = |problem: Option<&str>| problem.unwrap_or("ok").to_string();
    let ready = database.is_none() && ca.is_none();
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": { "database": check(database), "ca": check(ca) },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<Arc<HealthState>>) -> Response {
    let pool = state.sa.pool_stats();
    crate::metrics::db_pool(pool.in_use, pool.idle, pool.max);
    match crate::metrics::render() {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sa::testing::{drop_database, fresh_database_url};
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(router: &Router, path: &str) -> (StatusCode, String) {
        let resp = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn readyz_is_200_with_a_database_and_a_ca_and_503_naming_what_is_missing() {
        let url = fresh_database_url().await.unwrap();
        let sa = Storage::connect(&url).await.unwrap();
        let ready = router(Arc::new(HealthState {
            sa: sa.clone(),
            ca_root_sha256: Some("ab".into()),
        }));
        let (status, body) = get(&ready, "/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "ready");
        assert_eq!(get(&ready, "/healthz").await.0, StatusCode::OK);
        let (status, text) = get(&ready, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(text.contains("stica_db_pool_max_connections"), "{text}");

        let no_ca = router(Arc::new(HealthState {
            sa: sa.clone(),
            ca_root_sha256: None,
        }));
        let (status, body) = get(&no_ca, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["checks"]["ca"], "no CA is loaded");
        assert_eq!(v["checks"]["database"], "ok");

        // the database goes away: not ready, while still alive
        sa.close().await.unwrap();
        let (status, body) = get(&ready, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "not ready");
        assert_eq!(v["checks"]["database"], "the database does not answer");
        assert_eq!(v["checks"]["ca"], "ok");
        assert_eq!(get(&ready, "/healthz").await.0, StatusCode::OK);
        drop_database(&url).await.unwrap();
    }
}
