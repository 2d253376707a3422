//! finalize (RFC 8555 §7.4): check the CSR against what the token authorized, lint, sign, and store
//! the certificate in the same transaction that makes the order `valid`.

use crate::acme::{AuthzStatus, OrderStatus, now};
use crate::ca::csr::parse_csr;
use crate::ca::{IssuanceRequest, Profile};
use crate::error::{Error, ErrorKind, Result};
use crate::jose::b64;
use crate::sa::model::{Account, CertificateRecord, Order};

use super::{Ra, require_valid};

impl Ra {
    /// Finalizes an order. Exactly one of several concurrent requests signs (the order moves
    /// `ready` → `processing` atomically first); the certificate is durable before any response
    /// names it.
    pub async fn finalize(
        &self,
        account: &Account,
        order_id: &str,
        csr_b64: &str,
    ) -> Result<Order> {
        require_valid(account)?;
        let order = self.order(account, order_id).await?;
        match order.status {
            OrderStatus::Ready => {}
            OrderStatus::Processing | OrderStatus::Valid => return Ok(order),
            other => {
                return Err(Error::new(
                    ErrorKind::OrderNotReady,
                    format!(
                        "the order is {}; finalize needs a ready order (answer its challenge first)",
                        other.as_str()
                    ),
                ));
            }
        }
        let authz = self
            .sa
            .authz_for_order(&order.id)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal(format!("order {} has no authorization", order.id)))?;
        if authz.status != AuthzStatus::Valid {
            return Err(Error::new(
                ErrorKind::OrderNotReady,
                "the order's authorization is not valid",
            ));
        }
        let request = self
            .check_csr(account, &order, csr_b64, authz.ca_grant, authz.token_exp)
            .await?;
        // Lint before taking the order: a CSR or policy problem leaves the order `ready`.
        let prepared = self.ca.prepare(request)?;
        if !self.sa.begin_finalize(&order.id).await? {
            // Another request is finalizing (or finished): report the current state.
            return self.order(account, order_id).await;
        }
        let issued = match self.ca.issue(prepared) {
            Ok(issued) => issued,
            Err(e) => {
                self.sa.abort_finalize(&order.id).await?;
                return Err(e.into());
            }
        };
        let record = CertificateRecord {
            serial: issued.serial_hex.clone(),
            account_id: account.id.clone(),
            order_id: order.id.clone(),
            profile: Profile::ShakenSpc.as_str().to_string(),
            der: issued.der.clone(),
            chain_pem: issued.chain_pem.clone(),
            not_before: issued.not_before,
            not_after: issued.not_after,
            token_jti: authz.token_jti.clone(),
            created_at: now(),
        };
        if let Err(e) = self.sa.complete_issuance(&order.id, &record).await {
            // Never disclosed, so never valid: the order may be finalized again.
            self.sa.abort_finalize(&order.id).await?;
            return Err(e.into());
        }
        tracing::info!(target: "audit", account = %account.id, order = %order.id, serial = %record.serial, profile = %record.profile, "certificate stored");
        self.order(account, order_id).await
    }

    async fn check_csr(
        &self,
        account: &Account,
        order: &Order,
        csr_b64: &str,
        ca_grant: Option<bool>,
        token_exp: Option<i64>,
    ) -> Result<IssuanceRequest> {
        let der = b64::decode_url(csr_b64).map_err(|_| {
            Error::new(
                ErrorKind::BadCsr,
                "csr must be base64url DER without padding",
            )
        })?;
        let csr = parse_csr(&der)?;
        let Some(tnauth) = csr.tnauthlist_der.as_deref() else {
            return Err(Error::new(
                ErrorKind::BadCsr,
                "the CSR carries no TNAuthList extension (1.3.6.1.5.5.7.1.26) in its extensionRequest",
            ));
        };
        if tnauth != order.identifier_der.as_slice() {
            return Err(Error::new(
                ErrorKind::BadCsr,
                "the CSR's TNAuthList differs from the order's identifier; it must be the same DER value",
            ));
        }
        let account_key = crate::jose::PublicJwk::from_json(
            &serde_json::from_str(&account.jwk).map_err(Error::internal)?,
        )?;
        if account_key.spki_der() == csr.spki_der {
            return Err(Error::new(
                ErrorKind::BadCsr,
                "the certificate key must not be the ACME account key",
            ));
        }
        if ca_grant == Some(true) {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                "the Authority Token grants a CA certificate (ca: true), which this CA does not issue on SPC orders",
            ));
        }
        let issuance = &self.policy.file.issuance;
        let now = now();
        let not_before =
            order.not_before.map_or(now, |nb| nb.max(now)) - i64::from(issuance.backdate_secs);
        let mut not_after = now + i64::from(issuance.validity_days) * 86_400;
        if let Some(requested) = order.not_after {
            not_after = not_after.min(requested);
        }
        if issuance.cap_validity_at_token_exp
            && let Some(exp) = token_exp
        {
            not_after = not_after.min(exp);
        }
        if not_after <= now {
            return Err(Error::new(
                ErrorKind::BadCsr,
                "the requested validity ends before now",
            ));
        }
        let organization = match &account.eab_kid {
            Some(kid) => self
                .sa
                .eab(kid)
                .await?
                .map(|b| b.name)
                .ok_or_else(|| Error::internal("missing EAB"))?,
            None => issuance.default_organization.clone(),
        };
        Ok(IssuanceRequest {
            profile: Profile::ShakenSpc,
            account_id: account.id.clone(),
            spki_der: csr.spki_der,
            tnauthlist_der: order.identifier_der.clone(),
            organization,
            not_before,
            not_after,
        })
    }
}
