//! STI-CR, the certificate repository (ATIS-1000080 §5; interop.md "where the cert is
//! published"): every issued certificate's full chain (leaf, then the intermediate) at
//! `<external-url>/cr/<serial>.pem`, the URL a carrier puts in its PASSporTs' `x5u`.
//!
//! Unauthenticated GET, `application/pem-certificate-chain`, 200 without redirects, no query
//! string, cacheable for a day. It reads the same row the issuing transaction wrote, so the URL
//! works the moment the order names it, and the bytes are the ACME download's. Revoked
//! certificates stay published: verifiers need the certificate to learn its status.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::http::{StatusState, http_date, not_modified, text};

/// `Cache-Control` of a published chain (verifiers ask for at least 24 hours: interop.md). A
/// chain never changes once published.
pub const CACHE_CONTROL: &str = "public, max-age=86400";

/// `<serial>.pem` → the serial, if it is lowercase hex of a sane length.
fn serial_of(file: &str) -> Option<&str> {
    let serial = file.strip_suffix(".pem")?;
    let ok = (2..=40).contains(&serial.len())
        && serial
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ok.then_some(serial)
}

/// `GET /cr/<serial>.pem`
pub async fn chain(
    State(s): State<Arc<StatusState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(serial) = serial_of(&file) else {
        return text(StatusCode::NOT_FOUND, "no such certificate\n");
    };
    let cert = match s.sa.certificate(serial).await {
        Ok(Some(c)) => c,
        Ok(None) => return text(StatusCode::NOT_FOUND, "no such certificate\n"),
        Err(e) => {
            tracing::error!(error = %e, "reading a published certificate failed");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
        }
    };
    // The serial names one immutable chain.
    let etag = format!("\"{serial}\"");
    let mut resp = if not_modified(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, cert.chain_pem).into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pem-certificate-chain"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    for (name, value) in [
        (header::ETAG, etag),
        (header::LAST_MODIFIED, http_date(cert.created_at)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(serial_of("01ab.pem"), Some("01ab"));
        for bad in [
            "01AB.pem", "01ab", "01ab.der", ".pem", "../x.pem", "0g.pem", "a.pem",
        ] {
            assert_eq!(serial_of(bad), None, "{bad}");
        }
        assert!(serial_of(&format!("{}.pem", "a".repeat(41))).is_none());
    }
}
