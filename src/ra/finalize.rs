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
//!
//! A token that a carrier signed with its stica-issued certificate (direct delegation,
//! [`super::delegation`]) yields a `delegate` certificate (or an `sca` when it says `ca: true`),
//! whose record names that certificate as its parent; the parent must still be unrevoked when
//! finalize signs.
//!
//! A subordinate stica (its issuing certificate an imported SCA, `stica ca import`) issues
//! `delegate` certificates for numbers and ranges (RFC 9060 §4), and refuses a `ca: true` token
//! with `unauthorized` when the SCA's pathLenConstraint leaves no room for a CA below it.

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
        if let Some(parent) = &authz.parent_serial {
            // Fail closed: a parent revoked since the challenge delegates nothing.
            self.require_not_revoked(parent).await?;
        }
        let request = self.check_csr(account, &order, &authz, csr_b64).await?;
        self.require_current(account).await?;
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
            parent_serial: authz.parent_serial.clone(),
        };
        if let Err(e) = self.sa.complete_issuance(&order.id, &record).await {
            // Never disclosed, so never valid: the order may be finalized again.
            self.sa.abort_finalize(&order.id).await?;
            return Err(e.into());
        }
        tracing::info!(target: "audit", event = "issue.stored", account = %account.id, order = %order.id, serial = %record.serial, profile = %record.profile, "certificate stored");
        crate::metrics::certificate_issued(&record.profile);
        // What complete_issuance wrote (processing -> valid, with the certificate): no re-read.
        Ok(Order {
            status: OrderStatus::Valid,
            certificate_serial: Some(record.serial),
            ..order
        })
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
        let delegate = authz.parent_serial.is_some() || self.ca.is_subordinate();
        if ca_grant && self.ca.is_subordinate() {
            // The imported SCA's pathLen bounds CA certificates (RFC 5280 §4.2.1.9): say so first.
            self.ca.check_path_len_allows_ca()?;
        }
        let profile = select_profile(&self.policy, &list, ca_grant, csr.requests_ca, delegate)?;
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
/// certificate. `delegate` says the order yields a `delegate` certificate where stica's own
/// hierarchy would issue `tn-level`: its token was signed by a stica-issued certificate (direct
/// delegation), or this CA is a subordinate under an imported SCA (RFC 9060 §4). See the module
/// docs for the rules and the problem types.
pub(crate) fn select_profile(
    policy: &Policy,
    list: &TnAuthList,
    ca_grant: bool,
    csr_requests_ca: bool,
    delegate: bool,
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
    if delegate && !list.has_numbers() {
        return Err(Error::new(
            ErrorKind::Unauthorized,
            "a delegate certificate carries telephone numbers or ranges, not only an SPC (profiles.md): order the numbers to delegate",
        ));
    }
    let (profile, what) = if delegate {
        (Profile::Delegate, "delegate certificates (delegate)")
    } else if list.single_spc().is_some() {
        (Profile::ShakenSpc, "SPC certificates (shaken-spc)")
    } else {
        (Profile::TnLevel, "TN-level certificates (tn-level)")
    };
    if offered(profile) {
        Ok(profile)
    } else if delegate {
        Err(Error::new(
            ErrorKind::Unauthorized,
            "this CA does not offer delegate certificates, so it cannot honour a delegation token signed by a carrier's certificate",
        ))
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
            select_profile(&all, &spc, false, false, false).unwrap(),
            Profile::ShakenSpc
        );
        assert_eq!(
            select_profile(&all, &tns, false, false, false).unwrap(),
            Profile::TnLevel
        );
        assert_eq!(
            select_profile(&all, &spc, true, false, false).unwrap(),
            Profile::Sca
        );
        assert_eq!(
            select_profile(&all, &tns, true, true, false).unwrap(),
            Profile::Sca
        );
        // ca: true gets an SCA even when the CSR does not ask (the token then requires it)
        assert_eq!(
            select_profile(&all, &tns, true, false, false).unwrap(),
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
    fn delegation_tokens_yield_delegate_certificates() {
        let all = policy(&["shaken-spc", "tn-level", "sca", "delegate"]);
        let tns = list("tn:12155550123,range:12155550200+10");
        assert_eq!(
            select_profile(&all, &tns, false, false, true).unwrap(),
            Profile::Delegate
        );
        // ca: true (already checked against the signer's pathLen) still yields an sca
        assert_eq!(
            select_profile(&all, &tns, true, true, true).unwrap(),
            Profile::Sca
        );
        // a CA CSR without ca: true is refused as for any token
        assert_eq!(
            select_profile(&all, &tns, false, true, true)
                .unwrap_err()
                .kind,
            ErrorKind::BadCsr
        );
        // an SPC alone is no delegate scope
        let e = select_profile(&all, &list("spc:1234"), false, false, true).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert!(
            e.detail.contains("carries telephone numbers or ranges"),
            "{}",
            e.detail
        );
        // a CA that does not offer delegate certificates refuses
        let no_delegate = policy(&["shaken-spc", "tn-level", "sca"]);
        let e = select_profile(&no_delegate, &tns, false, false, true).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert!(e.detail.contains("delegate"), "{}", e.detail);
    }

    #[test]
    fn a_subordinate_issues_delegates_and_sca_only() {
        let sub = policy(&["delegate", "sca"]);
        let tns = list("tn:12155550123");
        assert_eq!(
            select_profile(&sub, &tns, false, false, true).unwrap(),
            Profile::Delegate
        );
        assert_eq!(
            select_profile(&sub, &tns, true, true, true).unwrap(),
            Profile::Sca
        );
        // the CSR still may not ask for more than the token grants
        let e = select_profile(&sub, &tns, false, true, true).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadCsr);
        // and delegate must be offered
        let e = select_profile(&policy(&["sca"]), &tns, false, false, true).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert!(e.detail.contains("delegate"), "{}", e.detail);
        // stica's own hierarchy never picks delegate for a TN list
        assert_eq!(
            select_profile(
                &policy(&["tn-level", "delegate"]),
                &tns,
                false,
                false,
                false
            )
            .unwrap(),
            Profile::TnLevel
        );
    }

    #[test]
    fn mismatches_and_unoffered_profiles_are_refused() {
        let all = policy(&["shaken-spc", "tn-level", "sca"]);
        let spc = list("spc:1234");
        let tns = list("tn:12155550123");
        let e = select_profile(&all, &spc, false, true, false).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadCsr);
        assert!(e.detail.contains("does not grant"), "{}", e.detail);
        let only_spc = policy(&["shaken-spc"]);
        let e = select_profile(&only_spc, &spc, true, false, false).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert!(e.detail.contains("ca: true"), "{}", e.detail);
        let only_sca = policy(&["sca"]);
        assert_eq!(
            select_profile(&only_sca, &tns, false, false, false)
                .unwrap_err()
                .kind,
            ErrorKind::Unauthorized
        );
        assert_eq!(
            select_profile(&only_sca, &spc, false, false, false)
                .unwrap_err()
                .kind,
            ErrorKind::Unauthorized
        );
    }
}
