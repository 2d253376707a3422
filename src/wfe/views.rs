//! Stored records → ACME wire objects (RFC 8555 §7.1), with absolute URLs.

use crate::acme::{self, Identifier, OrderStatus, TKAUTH_TYPE_ATC, TNAUTHLIST, rfc3339};
use crate::error::Problem;
use crate::jose::b64;
use crate::sa::model::{Account, Authz, Challenge, Order};

use super::Urls;

/// The TNAuthList identifier as stica writes it: base64url DER, no padding.
pub fn identifier(der: &[u8]) -> Identifier {
    Identifier {
        kind: TNAUTHLIST.to_string(),
        value: b64::encode_url(der),
    }
}

fn problem(json: Option<&str>) -> Option<Problem> {
    json.and_then(|j| serde_json::from_str(j).ok())
}

/// account object
pub fn account(urls: &Urls, a: &Account) -> acme::Account {
    acme::Account {
        status: a.status,
        contact: a.contact.clone(),
        orders: Some(urls.account_orders(&a.id)),
        external_account_binding: None,
    }
}

/// order object
pub fn order(urls: &Urls, o: &Order, authz_ids: &[String]) -> acme::Order {
    acme::Order {
        status: o.status,
        expires: rfc3339(o.expires),
        identifiers: vec![identifier(&o.identifier_der)],
        not_before: o.not_before.map(rfc3339),
        not_after: o.not_after.map(rfc3339),
        error: problem(o.error.as_deref()),
        authorizations: authz_ids.iter().map(|id| urls.authz(id)).collect(),
        finalize: urls.finalize(&o.id),
        certificate: o
            .certificate_serial
            .as_deref()
            .filter(|_| o.status == OrderStatus::Valid)
            .map(|s| urls.certificate(s)),
        // STI-CR: the published chain, for PASSporT x5u (interop.md).
        x5u: o
            .certificate_serial
            .as_deref()
            .filter(|_| o.status == OrderStatus::Valid)
            .map(|s| urls.cr(s)),
    }
}

/// challenge object
pub fn challenge(urls: &Urls, c: &Challenge) -> acme::Challenge {
    acme::Challenge {
        kind: c.kind.clone(),
        url: urls.challenge(&c.id),
        status: c.status,
        tkauth_type: Some(TKAUTH_TYPE_ATC.to_string()),
        token: Some(c.token.clone()),
        validated: c.validated_at.map(rfc3339),
        error: problem(c.error.as_deref()),
    }
}

/// authorization object
pub fn authz(urls: &Urls, a: &Authz, challenges: &[Challenge]) -> acme::Authorization {
    acme::Authorization {
        identifier: identifier(&a.identifier_der),
        status: a.status,
        expires: rfc3339(a.expires),
        challenges: challenges.iter().map(|c| challenge(urls, c)).collect(),
    }
}
