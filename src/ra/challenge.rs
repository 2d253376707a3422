//! tkauth-01 responses (RFC 9447 §3, RFC 9448 §5-6): the client posts its Authority Token; the VA
//! verifies it; the RA records the outcome on the challenge, the authorization and the order.

use crate::acme::{AuthzStatus, ChallengeStatus, now};
use crate::error::{Error, ErrorKind, Result};
use crate::jose::PublicJwk;
use crate::sa::model::{Account, Authz, Challenge, ChallengeOutcome, TokenUse};

use super::{Ra, require_valid};

impl Ra {
    /// Answers a challenge POST. A response object without a token is refused with HTTP 400 and
    /// leaves the challenge pending; a token that fails validation makes the challenge, its
    /// authorization and its order `invalid`, with the reason in the challenge's `error`.
    pub async fn respond_challenge(
        &self,
        account: &Account,
        account_key: &PublicJwk,
        challenge_id: &str,
        payload: &[u8],
    ) -> Result<(Challenge, Authz)> {
        require_valid(account)?;
        let (challenge, authz) = self.challenge(account, challenge_id).await?;
        if challenge.status != ChallengeStatus::Pending {
            // RFC 8555 §7.5.1: a repeated POST returns the current state.
            return Ok((challenge, authz));
        }
        if authz.status != AuthzStatus::Pending || authz.expires <= now() {
            return Err(Error::malformed(format!(
                "the authorization is {}; answer the challenge of a new order",
                if authz.expires <= now() {
                    "expired"
                } else {
                    authz.status.as_str()
                }
            )));
        }
        let token = token_from_payload(payload)?;
        let outcome = match self
            .validate_token(account, account_key, &authz, &token)
            .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::info!(account = %account.id, authz = %authz.id, error = %e, "tkauth-01 failed");
                ChallengeOutcome::Invalid {
                    error: serde_json::to_string(&e.problem()).map_err(Error::internal)?,
                }
            }
        };
        match self
            .sa
            .record_challenge_result(&challenge.id, &authz.id, &authz.order_id, &outcome, now())
            .await?
        {
            Some(written) => Ok(written),
            // Another request or replica answered it first: report what it recorded.
            None => self.challenge(account, challenge_id).await,
        }
    }

    async fn validate_token(
        &self,
        account: &Account,
        account_key: &PublicJwk,
        authz: &Authz,
        token: &str,
    ) -> Result<ChallengeOutcome> {
        let now = now();
        let valid = self
            .verifier
            .verify(token, &authz.identifier_der, account_key, now)
            .await
            .map_err(|e| {
                crate::metrics::token_failure(e.name());
                Error::new(e.kind(), e.to_string())
            })?;
        // Direct delegation: a stica-issued certificate signed it (issue 3); checked before the
        // token is spent, so a refused delegation token can be fixed and sent again.
        let parent_serial = self.check_delegator(&valid).await.inspect_err(|_| {
            crate::metrics::token_failure("DelegationRefused");
        })?;
        match self
            .sa
            .record_token_use(&valid.jti, &account.id, valid.exp, now)
            .await?
        {
            TokenUse::First => {}
            TokenUse::SameAccount if self.policy.file.authority_token.allow_token_reuse => {}
            TokenUse::SameAccount => {
                crate::metrics::token_failure("ReusedByAccount");
                return Err(Error::unauthorized(
                    "this Authority Token was already used; policy allows each token once",
                ));
            }
            TokenUse::OtherAccount => {
                crate::metrics::token_failure("UsedByOtherAccount");
                return Err(Error::unauthorized(
                    "this Authority Token was already used by another account",
                ));
            }
        }
        tracing::info!(account = %account.id, jti = %valid.jti, ca = valid.ca, form = ?valid.fingerprint_form, parent = ?parent_serial, "tkauth-01 valid");
        Ok(ChallengeOutcome::Valid {
            ca_grant: valid.ca,
            token_jti: valid.jti,
            token_exp: valid.exp,
            claim_constraints: valid.claim_constraints,
            parent_serial,
        })
    }
}

/// The token sits under `atc` (ATIS flow, production clients) or `tkauth` (some readings of
/// RFC 9447); both are read (interop.md).
fn token_from_payload(payload: &[u8]) -> Result<String> {
    let value: serde_json::Value = serde_json::from_slice(payload).map_err(|_| {
        Error::malformed(
            "the challenge response must be a JSON object carrying the token under \"atc\"",
        )
    })?;
    let token = value
        .get("atc")
        .or_else(|| value.get("tkauth"))
        .and_then(|v| v.as_str());
    match token {
        Some(t) if !t.is_empty() => Ok(t.to_string()),
        _ => Err(Error::new(
            ErrorKind::Malformed,
            "the challenge response must carry the Authority Token as a string under \"atc\"",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_field_variants() {
        assert_eq!(token_from_payload(br#"{"atc":"a.b.c"}"#).unwrap(), "a.b.c");
        assert_eq!(
            token_from_payload(br#"{"tkauth":"a.b.c"}"#).unwrap(),
            "a.b.c"
        );
        for bad in [&b"{}"[..], b"", b"[]", br#"{"atc":1}"#, br#"{"atc":""}"#] {
            assert_eq!(
                token_from_payload(bad).unwrap_err().kind,
                ErrorKind::Malformed
            );
        }
    }
}
