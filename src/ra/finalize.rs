//! finalize (RFC 8555 §7.4): check the CSR against what the token authorized, choose the profile,
//! lint, sign, and store the certificate in the same transaction that makes the order `valid`.
//!
//! Profile choice ([`select_profile`], profiles.md "granted by"): a token with `"ca": true` gets an
//! `sca` certificate, and only such a token does (RFC 9448 §5, standards.md §2.6); otherwise one SPC
//! gets `shaken-spc` and numbers and ranges get `tn-level`. A CSR that asks for a CA certificate
//! (basicConstraints cA TRUE) without a `ca: true` token is `badCSR`: it asks for more than the
//! order's authorization covers, like a CSR naming other identifiers (RFC 8555 §7.4), and the
//! client can fix it by sending an end-entity CSR. A `ca: true` token where `sca` is not offered is
//! `unauthorized`: the token grants what this CA will not issue, and no CSR can fix that.

use crate::acme::{AuthzStatus, OrderStatus, now};
use crate::ca::csr::parse_csr;
use crate::ca::{IssuanceRequest, Profile};
use crate::error::{Error, ErrorKind, Result};
use crate::jose::b64;
use crate::policy::Policy;
use crate::sa::model::{Account, Authz, CertificateRecord, Order};
use crate::tnauth::TnAuthList;
use crate::tnauth::jwtcc::ClaimConstraints;

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
        let request = self.check_csr(account, &order, &authz, csr_b64).await?;
        let profile = request.profile;
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
            profile: profile.as_str().to_string(),
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
        tracing::info!(target: "audit", event = "issue.stored", account = %account.id, order = %order.id, serial = %record.serial, profile = %record.profile, "certificate stored");
        crate::metrics::certificate_issued(&record.profile);
        self.order(account, order_id).await
    }

    async fn check_csr(
        &self,
        account: &Account,
        order: &Order,
        authz: &Authz,
        csr_b64: &str,
    ) -> Result<IssuanceRequest> {
        let ca_grant = authz.ca_grant.unwrap_or(false);
        let token_exp = authz.token_exp;
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
        let list = TnAuthList::from_der(&order.identifier_der).map_err(Error::internal)?;
        let profile = select_profile(&self.policy, &list, ca_grant, csr.requests_ca)?;
        let claim_constraints = select_claim_constraints(
            profile,
            self.policy.claim_constraints().map_err(Error::internal)?,
            authz.claim_constraints.clone(),
        )?;
        let issuance = &self.policy.file.issuance;
        let validity_days = match profile {
            Profile::ShakenSpc => issuance.validity_days,
            Profile::TnLevel => issuance.tn_level_validity_days,
            Profile::Sca => issuance.sca_validity_days,
            Profile::Delegate => issuance.delegate_validity_days,
        };
        let now = now();
        let not_before =
            order.not_before.map_or(now, |nb| nb.max(now)) - i64::from(issuance.backdate_secs);
        let mut not_after = now + i64::from(validity_days) * 86_400;
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
            profile,
            account_id: account.id.clone(),
            spki_der: csr.spki_der,
            tnauthlist_der: order.identifier_der.clone(),
            organization,
            not_before,
            not_after,
            claim_constraints,
        })
    }
}

/// The profile for an order whose identifier is `list`, authorized by a token whose `ca` member
/// was `ca_grant`, finalized with a CSR that does (`csr_requests_ca`) or does not ask for a CA
/// certificate. See the module docs for the rules and the problem types.
pub(crate) fn select_profile(
    policy: &Policy,
    list: &TnAuthList,
    ca_grant: bool,
    csr_requests_ca: bool,
) -> Result<Profile> {
    let offered = |p: Profile| policy.offers(p.as_str());
    if ca_grant {
        if offered(Profile::Sca) {
            return Ok(Profile::Sca);
        }
        return Err(Error::new(
            ErrorKind::Unauthorized,
            "the Authority Token grants a CA certificate (ca: true), but this CA does not offer delegating CA (sca) certificates; ask the token authority for a token with ca: false",
        ));
    }
    if csr_requests_ca {
        return Err(Error::new(
            ErrorKind::BadCsr,
            "the CSR asks for a CA certificate (basicConstraints cA TRUE), but the Authority Token does not grant one (ca is false or absent); send a CSR without cA TRUE, or order with a ca: true token",
        ));
    }
    let (profile, what) = if list.single_spc().is_some() {
        (Profile::ShakenSpc, "SPC certificates (shaken-spc)")
    } else {
        (Profile::TnLevel, "TN-level certificates (tn-level)")
    };
    if offered(profile) {
        Ok(profile)
    } else {
        Err(Error::new(
            ErrorKind::Unauthorized,
            format!(
                "this CA does not offer {what}; with this TNAuthList it issues only a delegating CA certificate, on a token with ca: true"
            ),
        ))
    }
}

/// The JWT claim constraints of a certificate of `profile` (issue 3, item 6): policy's or the
/// token's, on `tn-level` and `delegate` certificates only. When both ask they must agree: a
/// token's constraints are the number holder's words and policy's are the CA's, and dropping
/// either would issue a less constrained certificate than one of them meant (`unauthorized`). A
/// token asking for them on another profile is refused the same way.
pub(crate) fn select_claim_constraints(
    profile: Profile,
    policy: Option<ClaimConstraints>,
    token: Option<ClaimConstraints>,
) -> Result<Option<ClaimConstraints>> {
    match profile {
        Profile::TnLevel | Profile::Delegate => match (policy, token) {
            (Some(p), Some(t)) if p != t => Err(Error::new(
                ErrorKind::Unauthorized,
                format!(
                    "the Authority Token asks for JWT claim constraints ({t}) that differ from this CA's policy ({p})"
                ),
            )),
            (p, t) => Ok(t.or(p)),
        },
        other => match token {
            Some(t) => Err(Error::new(
                ErrorKind::Unauthorized,
                format!(
                    "the Authority Token asks for JWT claim constraints ({t}), which only tn-level and delegate certificates carry, not {other}"
                ),
            )),
            None => Ok(None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(profiles: &[&str]) -> Policy {
        let mut p = Policy::default();
        p.file.issuance.profiles = profiles.iter().map(|s| s.to_string()).collect();
        p
    }

    fn list(text: &str) -> TnAuthList {
        text.parse().unwrap()
    }

    #[test]
    fn token_and_list_choose_the_profile() {
        let all = policy(&["shaken-spc", "tn-level", "sca"]);
        let spc = list("spc:1234");
        let tns = list("spc:1234,tn:12155550123");
        assert_eq!(
            select_profile(&all, &spc, false, false).unwrap(),
            Profile::ShakenSpc
        );
        assert_eq!(
            select_profile(&all, &tns, false, false).unwrap(),
            Profile::TnLevel
        );
        assert_eq!(
            select_profile(&all, &spc, true, false).unwrap(),
            Profile::Sca
        );
        assert_eq!(
            select_profile(&all, &tns, true, true).unwrap(),
            Profile::Sca
        );
        // ca: true gets an SCA even when the CSR does not ask (the token then requires it)
        assert_eq!(
            select_profile(&all, &tns, true, false).unwrap(),
            Profile::Sca
        );
    }

    #[test]
    fn claim_constraints_come_from_policy_or_token_never_conflicting() {
        use crate::tnauth::jwtcc::{ClaimName, JwtClaimConstraints};
        let cc = |name: &str| {
            ClaimConstraints::Legacy(
                JwtClaimConstraints::new(vec![ClaimName::new(name).unwrap()], vec![]).unwrap(),
            )
        };
        let (a, b) = (cc("rcd"), cc("div"));
        for profile in [Profile::TnLevel, Profile::Delegate] {
            assert_eq!(select_claim_constraints(profile, None, None).unwrap(), None);
            assert_eq!(
                select_claim_constraints(profile, Some(a.clone()), None).unwrap(),
                Some(a.clone())
            );
            assert_eq!(
                select_claim_constraints(profile, None, Some(b.clone())).unwrap(),
                Some(b.clone())
            );
            assert_eq!(
                select_claim_constraints(profile, Some(a.clone()), Some(a.clone())).unwrap(),
                Some(a.clone())
            );
            let e =
                select_claim_constraints(profile, Some(a.clone()), Some(b.clone())).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Unauthorized);
        }
        for profile in [Profile::ShakenSpc, Profile::Sca] {
            // policy's constraints are for tn-level and delegate; they do not touch others
            assert_eq!(
                select_claim_constraints(profile, Some(a.clone()), None).unwrap(),
                None
            );
            let e = select_claim_constraints(profile, None, Some(b.clone())).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Unauthorized);
            assert!(
                e.detail.contains("only tn-level and delegate"),
                "{}",
                e.detail
            );
        }
    }

    #[test]
    fn mismatches_and_unoffered_profiles_are_refused() {
        let all = policy(&["shaken-spc", "tn-level", "sca"]);
        let spc = list("spc:1234");
        let tns = list("tn:12155550123");
        let e = select_profile(&all, &spc, false, true).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadCsr);
        assert!(e.detail.contains("does not grant"), "{}", e.detail);
        let only_spc = policy(&["shaken-spc"]);
        let e = select_profile(&only_spc, &spc, true, false).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert!(e.detail.contains("ca: true"), "{}", e.detail);
        let only_sca = policy(&["sca"]);
        assert_eq!(
            select_profile(&only_sca, &tns, false, false)
                .unwrap_err()
                .kind,
            ErrorKind::Unauthorized
        );
        assert_eq!(
            select_profile(&only_sca, &spc, false, false)
                .unwrap_err()
                .kind,
            ErrorKind::Unauthorized
        );
    }
}
