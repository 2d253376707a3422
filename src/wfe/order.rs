//! newOrder, order, finalize, authorization and challenge resources (RFC 8555 §7.4-7.5).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::acme::{ChallengeStatus, Finalize, NewOrder, OrderStatus};
use crate::error::Result;
use crate::sa::model::Order;

use super::account::located;
use super::jws::{KeyRef, authenticate};
use super::{AppState, views};

/// Seconds a client should wait before polling a `processing` resource again.
const RETRY_AFTER_SECS: u32 = 1;

async fn order_response(s: &AppState, order: &Order, status: StatusCode) -> Result<Response> {
    let authz_ids = s.ra.authz_ids_for_order(order).await?;
    Ok(order_response_with(s, order, &authz_ids, status))
}

/// [`order_response`] when the authorization ids are known (no read).
fn order_response_with(
    s: &AppState,
    order: &Order,
    authz_ids: &[String],
    status: StatusCode,
) -> Response {
    let mut resp = located(
        status,
        &s.urls.order(&order.id),
        &views::order(&s.urls, order, authz_ids),
    );
    if order.status == OrderStatus::Processing {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    resp
}

/// POST newOrder: 201 + Location.
pub async fn new_order(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let req = authenticate(&s, &headers, body, &s.urls.new_order(), KeyRef::Kid).await?;
    let payload: NewOrder = req.json()?;
    let (order, authz, _) = s.ra.new_order(req.account()?, payload).await?;
    Ok(order_response_with(
        &s,
        &order,
        std::slice::from_ref(&authz.id),
        StatusCode::CREATED,
    ))
}

/// POST-as-GET an order.
pub async fn order(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let req = authenticate(&s, &headers, body, &s.urls.order(&id), KeyRef::Kid).await?;
    let order = s.ra.order(req.account()?, &id).await?;
    order_response(&s, &order, StatusCode::OK).await
}

/// POST finalize with a CSR.
pub async fn finalize(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let req = authenticate(&s, &headers, body, &s.urls.finalize(&id), KeyRef::Kid).await?;
    let payload: Finalize = req.json()?;
    let order = s.ra.finalize(req.account()?, &id, &payload.csr).await?;
    order_response(&s, &order, StatusCode::OK).await
}

/// POST-as-GET an authorization, or deactivate it with `{"status":"deactivated"}` (§7.5.2).
pub async fn authz(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let req = authenticate(&s, &headers, body, &s.urls.authz(&id), KeyRef::Kid).await?;
    let account = req.account()?;
    let (authz, challenges) = if req.is_post_as_get() {
        s.ra.authz(account, &id).await?
    } else {
        #[derive(serde::Deserialize)]
        struct Deactivate {
            status: String,
        }
        let d: Deactivate = req.json()?;
        if d.status != "deactivated" {
            return Err(crate::error::Error::malformed(
                "the only status a client may set is \"deactivated\"",
            ));
        }
        s.ra.deactivate_authz(account, &id).await?
    };
    Ok(Json(views::authz(&s.urls, &authz, &challenges)).into_response())
}

/// POST a challenge response (or POST-as-GET to read it).
pub async fn challenge(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let req = authenticate(&s, &headers, body, &s.urls.challenge(&id), KeyRef::Kid).await?;
    let account = req.account()?;
    let (challenge, authz) = if req.is_post_as_get() {
        s.ra.challenge(account, &id).await?
    } else {
        s.ra.respond_challenge(account, &req.key, &id, &req.payload)
            .await?
    };
    let mut resp = Json(views::challenge(&s.urls, &challenge)).into_response();
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>;rel=\"up\"", s.urls.authz(&authz.id))) {
        headers.append(header::LINK, v);
    }
    if challenge.status == ChallengeStatus::Processing {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    Ok(resp)
}
