//! revokeCert (RFC 8555 §7.6) and operator revocation: who may revoke, with which reason, and
//! what follows (the certificates below a revoked `sca`, a new CRL).
//!
//! A request may revoke a certificate when it is signed by
//! 1. the account the certificate was issued to (`kid`);
//! 2. an account holding a valid, unexpired authorization for the certificate's identifier: for
//!    TNAuthList, an authorization for the same DER value as the certificate's TNAuthList
//!    (standards.md §5);
//! 3. the certificate's own key (`jwk` equal to the certificate's subject public key; the JWS gate
//!    has verified the signature with it).
//!
//! A certificate stica did not issue, or issued but will not let this requester revoke, gets the
//! same `unauthorized` answer (RFC 8555 §7.6 / §10: do not reveal which certificates exist).

use der::{Decode, Encode};
use serde::Deserialize;

use crate::acme::now;
use crate::error::{Error, ErrorKind, Result};
use crate::jose::{PublicJwk, b64};
use crate::sa::model::Account;
use crate::sa::{CertificateState, Revocation, RevokeOutcome, Storage};
use crate::status::crl::CrlPublisher;
use crate::status::reason::{self, Reason};

use super::Ra;

/// OID of the TNAuthList extension (RFC 8226 §9).
const TN_AUTH_LIST: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.26");

/// The revokeCert payload (RFC 8555 §7.6).
#[derive(Debug, Deserialize)]
struct RevokePayload {
    /// base64url DER of the certificate.
    certificate: String,
    /// RFC 5280 §5.3.1 reason code.
    #[serde(default)]
    reason: Option<i64>,
}

/// Who signed a revokeCert request.
#[derive(Debug, Clone, Copy)]
pub enum Requester<'a> {
    /// An account (`kid`).
    Account(&'a Account),
    /// A key that is not an account key (`jwk`): it must be the certificate's.
    Key(&'a PublicJwk),
}

/// Why a requester may revoke; recorded as the revocation's cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// The account the certificate was issued to.
    IssuingAccount(String),
    /// An account holding a valid authorization for the certificate's TNAuthList.
    AuthorizationHolder(String),
    /// The certificate's own key.
    CertificateKey,
}

impl Grant {
    /// The cause stored with the revocation.
    pub fn cause(&self) -> String {
        match self {
            Grant::IssuingAccount(id) => format!("account:{id}"),
            Grant::AuthorizationHolder(id) => format!("authorization:{id}"),
            Grant::CertificateKey => "certificate-key".to_string(),
        }
    }
}

/// The grants that need no lookup: the issuing account, or the certificate's key.
pub fn direct_grant(
    requester: Requester<'_>,
    cert_account_id: &str,
    cert_spki_der: &[u8],
) -> Option<Grant> {
    match requester {
        Requester::Account(a) if a.id == cert_account_id => {
            Some(Grant::IssuingAccount(a.id.clone()))
        }
        Requester::Account(_) => None,
        Requester::Key(k) if k.spki_der() == cert_spki_der => Some(Grant::CertificateKey),
        Requester::Key(_) => None,
    }
}

/// The reason a request asks for: none means unspecified (RFC 8555 §7.6); codes stica does not
/// accept are `badRevocationReason`.
pub fn parse_reason(code: Option<i64>) -> Result<Reason> {
    match code {
        None => Ok(Reason::UNSPECIFIED),
        Some(c) => Reason::from_code(c).ok_or_else(|| {
            Error::new(
                ErrorKind::BadRevocationReason,
                format!(
                    "revocation reason {c} ({}) is not accepted; use one of {} (RFC 5280 §5.3.1)",
                    u8::try_from(c).map_or("unknown", reason::name),
                    reason::ACCEPTED
                ),
            )
        }),
    }
}

/// The parts of a submitted certificate revocation needs.
#[derive(Debug)]
struct Submitted {
    serial_hex: String,
    spki_der: Vec<u8>,
    tnauthlist_der: Option<Vec<u8>>,
}

fn parse_submitted(der: &[u8]) -> Result<Submitted> {
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| {
        Error::malformed(format!("certificate is not a DER X.509 certificate: {e}"))
    })?;
    let tbs = cert.tbs_certificate();
    let serial_hex = hex::encode(tbs.serial_number().as_bytes());
    let spki_der = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(|e| Error::malformed(format!("certificate key: {e}")))?;
    let tnauthlist_der = tbs
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id == TN_AUTH_LIST)
        .map(|e| e.extn_value.as_bytes().to_vec());
    Ok(Submitted {
        serial_hex,
        spki_der,
        tnauthlist_der,
    })
}

fn not_permitted() -> Error {
    Error::unauthorized(
        "this request may not revoke the certificate: sign it with the account the certificate \
         was issued to, an account holding a valid authorization for its TNAuthList, or the \
         certificate's own key (RFC 8555 §7.6)",
    )
}

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// The certificate revoked.
    pub serial: String,
    /// The reason recorded.
    pub reason: Reason,
    /// Certificates below it revoked with it.
    pub cascaded: Vec<String>,
    /// The number of the CRL that lists it, if one was published now.
    pub crl_number: Option<i64>,
}

/// Records a revocation decided elsewhere (ACME after its checks, or an operator), revokes the
/// certificates below it, and publishes a new CRL when a publisher is given. A failed CRL
/// publication is logged and left to the scheduler (docs/revocation.md); the revocation stands.
pub async fn record_revocation(
    sa: &Storage,
    crl: Option<&CrlPublisher>,
    serial: &str,
    reason: Reason,
    cause: String,
) -> Result<Revoked> {
    let at = now();
    let revocation = Revocation {
        revoked_at: at,
        reason: reason.code(),
        cause: cause.clone(),
    };
    let children = Reason::for_children_of(reason);
    match sa
        .revoke_certificate(serial, &revocation, children.code())
        .await?
    {
        RevokeOutcome::Revoked { cascaded } => {
            tracing::info!(target: "audit", event = "revoke", serial, reason = %reason, by = %cause, cascaded = ?cascaded, "certificate revoked");
            crate::metrics::revocation(reason.name());
            let crl_number = match crl {
                None => None,
                Some(p) => match p.publish(now()).await {
                    Ok(stored) => Some(stored.number),
                    Err(e) => {
                        tracing::error!(error = %e, serial, "publishing the CRL after a revocation failed; the scheduler retries");
                        None
                    }
                },
            };
            Ok(Revoked {
                serial: serial.to_string(),
                reason,
                cascaded,
                crl_number,
            })
        }
        RevokeOutcome::AlreadyRevoked(r) => Err(Error::new(
            ErrorKind::AlreadyRevoked,
            format!(
                "the certificate was already revoked at {} ({})",
                crate::acme::rfc3339(r.revoked_at),
                reason::name(r.reason)
            ),
        )),
        RevokeOutcome::NotFound => Err(Error::not_found()),
    }
}

impl Ra {
    /// revokeCert (RFC 8555 §7.6). `payload` is the verified JWS payload; `requester` the
    /// account (`kid`) or the key (`jwk`) that signed it.
    pub async fn revoke(&self, requester: Requester<'_>, payload: &[u8]) -> Result<Revoked> {
        let req: RevokePayload = serde_json::from_slice(payload)
            .map_err(|e| Error::malformed(format!("the revokeCert payload is not valid: {e}")))?;
        let reason = parse_reason(req.reason)?;
        let der = b64::decode_url(&req.certificate)
            .map_err(|_| Error::malformed("certificate must be base64url DER without padding"))?;
        let submitted = parse_submitted(&der)?;
        let state = self
            .sa
            .certificate_state(&submitted.serial_hex)
            .await?
            .filter(|s| s.cert.der == der)
            .ok_or_else(not_permitted)?;
        let grant = self.grant(requester, &state, &submitted).await?;
        if let Requester::Account(a) = requester {
            self.require_current(a).await?;
        }
        record_revocation(
            &self.sa,
            self.crl.as_deref(),
            &state.cert.serial,
            reason,
            grant.cause(),
        )
        .await
    }

    async fn grant(
        &self,
        requester: Requester<'_>,
        state: &CertificateState,
        submitted: &Submitted,
    ) -> Result<Grant> {
        if let Some(g) = direct_grant(requester, &state.cert.account_id, &submitted.spki_der) {
            return Ok(g);
        }
        if let (Requester::Account(a), Some(tnauth)) = (requester, &submitted.tnauthlist_der)
            && self.sa.has_valid_authz_for(&a.id, tnauth, now()).await?
        {
            return Ok(Grant::AuthorizationHolder(a.id.clone()));
        }
        Err(not_permitted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acme::AccountStatus;

    fn account(id: &str) -> Account {
        Account {
            id: id.to_string(),
            jwk: String::new(),
            thumbprint: id.to_string(),
            status: AccountStatus::Valid,
            contact: Vec::new(),
            eab_kid: None,
            created_at: 0,
        }
    }

    #[test]
    fn issuing_account_and_certificate_key_are_direct_grants() {
        let owner = account("owner");
        let other = account("other");
        let cert_key = crate::jose::EcSigner::generate().unwrap().public_jwk();
        let other_key = crate::jose::EcSigner::generate().unwrap().public_jwk();
        let spki = cert_key.spki_der();
        assert_eq!(
            direct_grant(Requester::Account(&owner), "owner", &spki),
            Some(Grant::IssuingAccount("owner".into()))
        );
        assert_eq!(
            direct_grant(Requester::Account(&other), "owner", &spki),
            None
        );
        assert_eq!(
            direct_grant(Requester::Key(&cert_key), "owner", &spki),
            Some(Grant::CertificateKey)
        );
        assert_eq!(
            direct_grant(Requester::Key(&other_key), "owner", &spki),
            None
        );
        assert_eq!(Grant::IssuingAccount("a".into()).cause(), "account:a");
        assert_eq!(
            Grant::AuthorizationHolder("b".into()).cause(),
            "authorization:b"
        );
        assert_eq!(Grant::CertificateKey.cause(), "certificate-key");
    }

    #[test]
    fn reasons() {
        assert_eq!(parse_reason(None).unwrap(), Reason::UNSPECIFIED);
        assert_eq!(parse_reason(Some(1)).unwrap(), Reason::KEY_COMPROMISE);
        for bad in [6, 7, 8, 11, -1] {
            let e = parse_reason(Some(bad)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadRevocationReason, "{bad}");
        }
        assert!(
            parse_reason(Some(8))
                .unwrap_err()
                .detail
                .contains("removeFromCRL")
        );
    }

    #[test]
    fn submitted_certificate_parts() {
        assert_eq!(
            parse_submitted(b"not a certificate").unwrap_err().kind,
            ErrorKind::Malformed
        );
        let pem = include_str!("../lint/testdata/martini_leaf_lowlatency.pem");
        let der = crate::x509::pem_certificates(pem.as_bytes())
            .unwrap()
            .remove(0);
        let s = parse_submitted(&der).unwrap();
        assert!(!s.serial_hex.is_empty());
        assert_eq!(s.spki_der[0], 0x30);
        let tn = s.tnauthlist_der.unwrap();
        assert!(crate::tnauth::TnAuthList::from_der(&tn).is_ok());
    }
}
