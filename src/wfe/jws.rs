//! The gate every POST passes (RFC 8555 §6.2-6.5): media type, size, flattened JWS, `url`, nonce,
//! exactly one of `jwk`/`kid`, the account, and the signature. Its errors are problem documents.

use axum::body::Body;
use axum::http::{HeaderMap, header};

use crate::acme::now;
use crate::error::{Error, ErrorKind, Result};
use crate::jose::{FlattenedJws, PublicJwk};
use crate::sa::model::Account;

use super::AppState;

/// Which key reference a resource takes (§6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRef {
    /// `jwk` only: newAccount.
    Jwk,
    /// `kid` only: everything else.
    Kid,
    /// either: revokeCert (by account or by the certificate's key).
    Either,
}

/// A request that passed the gate.
pub struct Authenticated {
    /// the decoded payload (empty for POST-as-GET)
    pub payload: Vec<u8>,
    /// the account, for `kid` requests
    pub account: Option<Account>,
    /// the key that signed the request
    pub key: PublicJwk,
}

impl Authenticated {
    /// The account of a `kid` request.
    pub fn account(&self) -> Result<&Account> {
        self.account
            .as_ref()
            .ok_or_else(|| Error::malformed("this request must be signed by an account (kid)"))
    }

    /// True for POST-as-GET (§6.3): the payload is the empty string.
    pub fn is_post_as_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// The payload as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.payload)
            .map_err(|e| Error::malformed(format!("the request payload is not valid: {e}")))
    }
}

/// Runs every §6 check for a POST to `url` and returns the verified request.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    url: &str,
    key_ref: KeyRef,
) -> Result<Authenticated> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/jose+json") {
        return Err(Error::new(
            ErrorKind::UnsupportedMediaType,
            format!("requests must be application/jose+json, not {content_type:?} (RFC 8555 §6.2)"),
        ));
    }
    let limit = state.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!("request bodies are limited to {limit} bytes"),
        ));
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        Error::new(
            ErrorKind::PayloadTooLarge,
            format!("request bodies are limited to {limit} bytes"),
        )
    })?;
    let jws = FlattenedJws::parse(&bytes)?;
    if jws.header.url.as_deref() != Some(url) {
        return Err(Error::unauthorized(format!(
            "the JWS url header {:?} does not match the request URL {url:?} (RFC 8555 §6.4)",
            jws.header.url.as_deref().unwrap_or("")
        )));
    }
    let nonce = jws.header.nonce.as_deref().ok_or_else(|| {
        crate::metrics::nonce_rejected("missing");
        Error::new(ErrorKind::BadNonce, "the JWS has no nonce header")
    })?;
    let nonce_expires = state.nonces.check(nonce, now()).inspect_err(|e| {
        crate::metrics::nonce_rejected(e.name());
    })?;
    let (key, account) = match (&jws.header.jwk, &jws.header.kid, key_ref) {
        (Some(_), Some(_), _) => {
            return Err(Error::malformed(
                "the JWS must have either jwk or kid, not both",
            ));
        }
        (None, None, _) => return Err(Error::malformed("the JWS must have a jwk or a kid")),
        (Some(_), None, KeyRef::Kid) => {
            return Err(Error::malformed(
                "this resource needs a JWS signed by an account (kid), not a jwk",
            ));
        }
        (None, Some(_), KeyRef::Jwk) => {
            return Err(Error::malformed(
                "newAccount needs a JWS with a jwk, not a kid",
            ));
        }
        (Some(jwk), None, _) => (PublicJwk::from_json(jwk)?, None),
        (None, Some(kid), _) => {
            let id = state.urls.account_id_from_kid(kid).ok_or_else(|| {
                Error::new(
                    ErrorKind::AccountDoesNotExist,
                    "kid is not an account URL of this server",
                )
            })?;
            let account = state.ra.sa.account_for_request(id).await?.ok_or_else(|| {
                Error::new(ErrorKind::AccountDoesNotExist, "no account at this kid")
            })?;
            let value: serde_json::Value =
                serde_json::from_str(&account.jwk).map_err(Error::internal)?;
            (PublicJwk::from_json(&value)?, Some(account))
        }
    };
    jws.verify(&key)?;
    if let Some(a) = &account
        && a.status != crate::acme::AccountStatus::Valid
    {
        return Err(Error::unauthorized(format!(
            "account is {}",
            a.status.as_str()
        )));
    }
    // Consumed last, so that a request refused above leaves the client's nonce usable; a replay
    // is caught here whichever replica minted the nonce.
    if !state.ra.sa.consume_nonce(nonce, nonce_expires).await? {
        crate::metrics::nonce_rejected("replayed");
        return Err(Error::new(
            ErrorKind::BadNonce,
            "this nonce was already used",
        ));
    }
    Ok(Authenticated {
        payload: jws.payload.clone(),
        account,
        key,
    })
}
