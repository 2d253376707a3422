//! newOrder (RFC 8555 §7.4, RFC 9448 §3) and the account-scoped reads of orders, authorizations,
//! challenges and certificates.

use crate::acme::{
    AuthzStatus, ChallengeStatus, Identifier, NewOrder, OrderStatus, TKAUTH_01, TNAUTHLIST, now,
    parse_rfc3339,
};
use crate::ca::Profile;
use crate::error::{Error, ErrorKind, Result};
use crate::sa::model::{Account, Authz, CertificateRecord, Challenge, Order};
use crate::tnauth::TnAuthList;

use super::{Ra, random_id, require_valid};

/// How long an order may stay `processing` before it counts as abandoned by a replica that died
/// while signing. Signing and storing take milliseconds; this is far beyond any live finalize
/// (RFC 8555 §7.4 lets the CA fail an order it cannot complete).
pub const STALE_PROCESSING_SECS: i64 = 120;

impl Ra {
    /// Creates an order for one TNAuthList identifier with one authorization carrying one
    /// `tkauth-01` challenge (RFC 9448 §4).
    pub async fn new_order(
        &self,
        account: &Account,
        req: NewOrder,
    ) -> Result<(Order, Authz, Challenge)> {
        require_valid(account)?;
        let [identifier] = req.identifiers.as_slice() else {
            return Err(Error::malformed(
                "an order carries exactly one TNAuthList identifier",
            ));
        };
        let tnauthlist = self.check_identifier(account, identifier).await?;
        let not_before = parse_opt_time(req.not_before.as_deref(), "notBefore")?;
        let not_after = parse_opt_time(req.not_after.as_deref(), "notAfter")?;
        if let (Some(nb), Some(na)) = (not_before, not_after)
            && nb >= na
        {
            return Err(Error::malformed("notBefore must be before notAfter"));
        }
        let now = now();
        let expires = now + i64::from(self.policy.file.issuance.order_lifetime_secs);
        let der = tnauthlist.to_der();
        let order = Order {
            id: random_id(),
            account_id: account.id.clone(),
            status: OrderStatus::Pending,
            identifier_der: der.clone(),
            not_before,
            not_after,
            expires,
            error: None,
            certificate_serial: None,
            created_at: now,
            processing_since: None,
        };
        let authz = Authz {
            id: random_id(),
            account_id: account.id.clone(),
            order_id: order.id.clone(),
            identifier_der: der,
            status: AuthzStatus::Pending,
            expires,
            ca_grant: None,
            token_jti: None,
            token_exp: None,
            claim_constraints: None,
            parent_serial: None,
        };
        let challenge = Challenge {
            id: random_id(),
            authz_id: authz.id.clone(),
            kind: TKAUTH_01.to_string(),
            status: ChallengeStatus::Pending,
            token: random_id(),
            validated_at: None,
            error: None,
        };
        self.sa.create_order(&order, &authz, &challenge).await?;
        tracing::info!(account = %account.id, order = %order.id, identifier = %tnauthlist, "order created");
        Ok((order, authz, challenge))
    }

    /// Checks that stica can issue for this identifier and that the account may ask for it.
    async fn check_identifier(
        &self,
        account: &Account,
        identifier: &Identifier,
    ) -> Result<TnAuthList> {
        if identifier.kind != TNAUTHLIST {
            return Err(Error::new(
                ErrorKind::UnsupportedIdentifier,
                format!(
                    "identifier type {:?} is not supported; stica issues for \"TNAuthList\" only",
                    identifier.kind
                ),
            ));
        }
        let list = TnAuthList::from_identifier_value(&identifier.value).map_err(|e| {
            Error::new(
                ErrorKind::RejectedIdentifier,
                format!("the TNAuthList identifier value is not a valid TNAuthorizationList: {e}"),
            )
        })?;
        self.check_shape(&list)?;
        self.ca.check_scope(&list).map_err(Error::from)?;
        if let Some(kid) = &account.eab_kid {
            let binding = self.sa.eab(kid).await?.ok_or_else(|| {
                Error::internal(format!("account {} names missing EAB {kid}", account.id))
            })?;
            // The binding restricts SPCs; numbers are vouched for by the token authority.
            let denied = list.spcs().find(|spc| {
                !(binding.spcs.is_empty()
                    || binding.spcs.iter().any(|s| s == "*" || s == spc.as_str()))
            });
            if let Some(spc) = denied {
                return Err(Error::new(
                    ErrorKind::RejectedIdentifier,
                    format!(
                        "the external account binding of this account does not allow SPC {}",
                        spc.as_str()
                    ),
                ));
            }
        }
        Ok(list)
    }

    /// Refuses a TNAuthList that no offered profile can carry (profiles.md): one SPC
    /// (`shaken-spc`, or `sca` with a `ca: true` token), or telephone numbers and ranges with at
    /// most one SPC (`tn-level`, `delegate`, or `sca`). Which profile is issued is decided at finalize, from
    /// the validated token and the CSR.
    fn check_shape(&self, list: &TnAuthList) -> Result<()> {
        let offers = |p: Profile| self.policy.offers(p.as_str());
        let reject = |detail: String| Err(Error::new(ErrorKind::RejectedIdentifier, detail));
        let mut spcs = list.spcs();
        let spc = match (spcs.next(), spcs.next()) {
            (Some(_), Some(_)) => {
                return reject(
                    "the TNAuthList names more than one SPC; order one certificate per SPC".into(),
                );
            }
            (spc, _) => spc,
        };
        if let Some(spc) = spc
            && !spc.is_shaken_form()
        {
            return reject(format!(
                "SPC {:?} is not of the form [0-9A-Z]+",
                spc.as_str()
            ));
        }
        if list.has_numbers() {
            if offers(Profile::TnLevel) || offers(Profile::Sca) || offers(Profile::Delegate) {
                return Ok(());
            }
            return reject(format!(
                "this CA does not offer TN-level certificates (offered: {}): the TNAuthList must hold exactly one SPC entry (ATIS-1000080 §6.4.1)",
                self.policy.file.issuance.profiles.join(", ")
            ));
        }
        if offers(Profile::ShakenSpc) || offers(Profile::Sca) {
            return Ok(());
        }
        reject(format!(
            "this CA does not issue SPC certificates (offered: {}): the TNAuthList must list telephone numbers or ranges",
            self.policy.file.issuance.profiles.join(", ")
        ))
    }

    /// The account's order, or 404.
    pub async fn order(&self, account: &Account, id: &str) -> Result<Order> {
        let order = self
            .sa
            .order(id)
            .await?
            .filter(|o| o.account_id == account.id)
            .ok_or_else(Error::not_found)?;
        self.expire_order(order).await
    }

    /// Marks a pending/ready order past `expires` as invalid (RFC 8555 §7.1.6) when it is read.
    async fn expire_order(&self, mut order: Order) -> Result<Order> {
        if matches!(order.status, OrderStatus::Pending | OrderStatus::Ready)
            && order.expires <= now()
        {
            self.sa.expire_order(&order.id).await?;
            order.status = OrderStatus::Invalid;
        }
        let cutoff = now() - STALE_PROCESSING_SECS;
        if order.status == OrderStatus::Processing
            && order.processing_since.is_none_or(|since| since < cutoff)
        {
            // The replica that claimed it died while signing (issue 5): fail it after a bound,
            // so the client learns that nothing was issued and orders again.
            let mut problem = Error::internal("stale processing order").problem();
            problem.detail =
                "the CA stopped while signing this order; nothing was issued: place a new order"
                    .into();
            let error = serde_json::to_string(&problem).map_err(Error::internal)?;
            if self
                .sa
                .fail_stale_processing(&order.id, cutoff, &error)
                .await?
            {
                tracing::warn!(order = %order.id, "order failed: processing for more than {STALE_PROCESSING_SECS} s (its replica stopped while signing)");
                order.status = OrderStatus::Invalid;
                order.error = Some(error);
            }
        }
        Ok(order)
    }

    /// The account's authorization, or 404.
    pub async fn authz(&self, account: &Account, id: &str) -> Result<(Authz, Vec<Challenge>)> {
        let authz = self
            .sa
            .authz(id)
            .await?
            .filter(|a| a.account_id == account.id)
            .ok_or_else(Error::not_found)?;
        let challenges = self.sa.challenges_for_authz(&authz.id).await?;
        Ok((authz, challenges))
    }

    /// The authorization of an order (stica makes exactly one per order).
    pub async fn authz_ids_for_order(&self, order: &Order) -> Result<Vec<String>> {
        Ok(self
            .sa
            .authz_for_order(&order.id)
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect())
    }

    /// Deactivates an authorization (§7.5.2).
    pub async fn deactivate_authz(
        &self,
        account: &Account,
        id: &str,
    ) -> Result<(Authz, Vec<Challenge>)> {
        require_valid(account)?;
        let (authz, _) = self.authz(account, id).await?;
        if !matches!(authz.status, AuthzStatus::Pending | AuthzStatus::Valid) {
            return Err(Error::malformed(format!(
                "an authorization that is {} cannot be deactivated",
                authz.status.as_str()
            )));
        }
        self.sa.deactivate_authz(&authz.id).await?;
        self.authz(account, id).await
    }

    /// The account's challenge and its authorization, or 404.
    pub async fn challenge(&self, account: &Account, id: &str) -> Result<(Challenge, Authz)> {
        let challenge = self.sa.challenge(id).await?.ok_or_else(Error::not_found)?;
        let authz = self
            .sa
            .authz(&challenge.authz_id)
            .await?
            .filter(|a| a.account_id == account.id)
            .ok_or_else(Error::not_found)?;
        Ok((challenge, authz))
    }

    /// The account's certificate, or 404.
    pub async fn certificate(&self, account: &Account, serial: &str) -> Result<CertificateRecord> {
        self.sa
            .certificate(serial)
            .await?
            .filter(|c| c.account_id == account.id)
            .ok_or_else(Error::not_found)
    }

    /// The ids of the account's orders (§7.1.2.1).
    pub async fn order_ids(&self, account: &Account) -> Result<Vec<String>> {
        Ok(self.sa.order_ids_for_account(&account.id).await?)
    }
}

fn parse_opt_time(value: Option<&str>, name: &str) -> Result<Option<i64>> {
    value
        .map(|v| {
            parse_rfc3339(v)
                .ok_or_else(|| Error::malformed(format!("{name} is not an RFC 3339 timestamp")))
        })
        .transpose()
}
