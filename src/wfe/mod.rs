//! Web front end (RFC 8555 §6-7): one route table, one file per resource, a JWS/nonce gate whose
//! rejection is already a problem document, and one place that builds absolute URLs.

mod account;
mod certificate;
mod directory;
pub mod health;
mod jws;
mod order;
mod problem;
pub mod request;
mod urls;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Request, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use crate::nonce::NonceKey;
use crate::ra::Ra;

pub use urls::Urls;

/// Shared state of the front end.
pub struct AppState {
    /// the registration authority (all writes go through it)
    pub ra: Ra,
    /// nonce minting and checking key (shared by replicas)
    pub nonces: NonceKey,
    /// absolute URLs
    pub urls: Urls,
    /// largest request body accepted
    pub max_body_bytes: usize,
}

/// The ACME route table. The dev token authority, status endpoints and probes
/// ([`health::router`]) are merged in by `server::build`.
pub fn router(state: Arc<AppState>) -> Router {
    let acme = Router::new()
        .route(
            "/directory",
            get(directory::directory).post(problem::method_not_allowed),
        )
        .route(
            "/acme/new-nonce",
            get(directory::new_nonce_get)
                .head(directory::new_nonce_head)
                .post(problem::method_not_allowed),
        )
        .route(
            "/acme/new-account",
            post(account::new_account).get(problem::method_not_allowed),
        )
        .route(
            "/acme/account/{id}",
            post(account::account).get(problem::method_not_allowed),
        )
        .route(
            "/acme/account/{id}/orders",
            post(account::orders).get(problem::method_not_allowed),
        )
        .route(
            "/acme/key-change",
            post(account::key_change).get(problem::method_not_allowed),
        )
        .route(
            "/acme/new-order",
            post(order::new_order).get(problem::method_not_allowed),
        )
        .route(
            "/acme/order/{id}",
            post(order::order).get(problem::method_not_allowed),
        )
        .route(
            "/acme/order/{id}/finalize",
            post(order::finalize).get(problem::method_not_allowed),
        )
        .route(
            "/acme/authz/{id}",
            post(order::authz).get(problem::method_not_allowed),
        )
        .route(
            "/acme/chall/{id}",
            post(order::challenge).get(problem::method_not_allowed),
        )
        .route(
            "/acme/cert/{serial}",
            post(certificate::certificate).get(problem::method_not_allowed),
        )
        .route(
            "/acme/revoke-cert",
            post(certificate::revoke).get(problem::method_not_allowed),
        )
        .fallback(problem::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), acme_headers))
        .with_state(state.clone());
    let prefix = state.urls.path_prefix();
    if prefix.is_empty() {
        acme
    } else {
        Router::new().nest(&prefix, acme)
    }
}

/// Adds a fresh `Replay-Nonce` (§6.5) and `Link: <directory>;rel="index"` (§7.1) to every ACME
/// response, including errors, so a client never runs out of nonces.
async fn acme_headers(
    State(state): State<Arc<AppState>>,
    req: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&state.nonces.mint(crate::acme::now())) {
        headers.insert("replay-nonce", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>;rel=\"index\"", state.urls.directory())) {
        headers.append(header::LINK, v);
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}
