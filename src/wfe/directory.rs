//! directory and newNonce (RFC 8555 §7.1.1, §7.2).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::acme::{Directory, DirectoryMeta};

use super::AppState;

/// GET /directory
pub async fn directory(State(state): State<Arc<AppState>>) -> Json<Directory> {
    let u = &state.urls;
    let file = &state.ra.policy().file;
    // The profiles policy offers (`[issuance] profiles`), as in draft-aaron-acme-profiles; which
    // one an order gets follows from its token and CSR (docs/issuance-cycle.md).
    let profiles = crate::ca::Profile::ALL
        .into_iter()
        .filter(|p| state.ra.policy().offers(p.as_str()))
        .map(|p| (p.as_str().to_string(), p.description().to_string()))
        .collect();
    Json(Directory {
        new_nonce: u.new_nonce(),
        new_account: u.new_account(),
        new_order: u.new_order(),
        revoke_cert: u.revoke_cert(),
        key_change: u.key_change(),
        meta: DirectoryMeta {
            terms_of_service: file.terms_of_service.clone(),
            website: None,
            external_account_required: file.external_account_required,
            profiles,
        },
    })
}

/// HEAD newNonce: 200 (§7.2). The nonce itself is added by the header middleware.
pub async fn new_nonce_head() -> StatusCode {
    StatusCode::OK
}

/// GET newNonce: 204 (§7.2).
pub async fn new_nonce_get() -> StatusCode {
    StatusCode::NO_CONTENT
}
