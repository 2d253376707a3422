//! newAccount, account update/deactivation, the orders list and keyChange (RFC 8555 §7.3).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::acme::{AccountUpdate, NewAccount};
use crate::error::{Error, Result};

use super::jws::{KeyRef, authenticate};
use super::{AppState, views};

/// A JSON body with a status and a `Location` header.
pub(super) fn located<T: serde::Serialize>(
    status: StatusCode,
    location: &str,
    body: &T,
) -> Response {
    let mut resp = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// POST newAccount: 201 + Location for a new account, 200 + Location for an existing key.
pub async fn new_account(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let url = s.urls.new_account();
    let req = authenticate(&s, &headers, body, &url, KeyRef::Jwk).await?;
    let payload: NewAccount = if req.is_post_as_get() {
        NewAccount::default()
    } else {
        req.json()?
    };
    let eab = payload.external_account_binding.clone();
    let (account, created) = s.ra.new_account(&req.key, payload, &url).await?;
    let mut view = views::account(&s.urls, &account);
    if created {
        view.external_account_binding = eab;
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(located(status, &s.urls.account(&account.id), &view))
}

/// POST account URL: POST-as-GET reads; a payload updates contacts or deactivates.
pub async fn account(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let url = s.urls.account(&id);
    let req = authenticate(&s, &headers, body, &url, KeyRef::Kid).await?;
    let account = req.account()?.clone();
    if account.id != id {
        return Err(Error::unauthorized(
            "the kid does not match the account URL",
        ));
    }
    let account = if req.is_post_as_get() {
        account
    } else {
        s.ra.update_account(account, req.json::<AccountUpdate>()?)
            .await?
    };
    Ok(located(
        StatusCode::OK,
        &url,
        &views::account(&s.urls, &account),
    ))
}

/// POST-as-GET the account's orders list (§7.1.2.1).
pub async fn orders(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let url = s.urls.account_orders(&id);
    let req = authenticate(&s, &headers, body, &url, KeyRef::Kid).await?;
    let account = req.account()?;
    if account.id != id {
        return Err(Error::not_found());
    }
    let ids = s.ra.order_ids(account).await?;
    let orders: Vec<String> = ids.iter().map(|o| s.urls.order(o)).collect();
    Ok(Json(serde_json::json!({ "orders": orders })).into_response())
}

/// POST keyChange (§7.3.5).
pub async fn key_change(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let url = s.urls.key_change();
    let req = authenticate(&s, &headers, body, &url, KeyRef::Kid).await?;
    let account = req.account()?.clone();
    let account_url = s.urls.account(&account.id);
    let updated = match s
        .ra
        .key_change(account, &req.payload, &url, &account_url)
        .await
    {
        Ok(a) => a,
        Err(mut e) => {
            if e.kind == crate::error::ErrorKind::Conflict {
                // §7.3.5: 409 with the Location of the account that already has the new key.
                e.location = e.location.take().map(|id| s.urls.account(&id));
            }
            return Err(e);
        }
    };
    Ok(located(
        StatusCode::OK,
        &account_url,
        &views::account(&s.urls, &updated),
    ))
}
