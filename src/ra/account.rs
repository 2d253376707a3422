//! Accounts: newAccount with external account binding, update, deactivation, key rollover
//! (RFC 8555 §7.3).

use crate::acme::{AccountStatus, AccountUpdate, NewAccount, now};
use crate::error::{Error, ErrorKind, Result};
use crate::jose::{FlattenedJws, PublicJwk};
use crate::sa::model::Account;

use super::{Ra, random_id, require_valid};

/// A verified key-change request (RFC 8555 §7.3.5).
pub struct KeyChange {
    /// the new account key
    pub new_key: PublicJwk,
}

impl Ra {
    /// newAccount (§7.3). Returns the account and whether it was created now (201) or found (200).
    pub async fn new_account(
        &self,
        jwk: &PublicJwk,
        req: NewAccount,
        new_account_url: &str,
    ) -> Result<(Account, bool)> {
        let thumbprint = jwk.thumbprint();
        if let Some(existing) = self.sa.account_by_thumbprint(&thumbprint).await? {
            require_valid(&existing)?;
            return Ok((existing, false));
        }
        if req.only_return_existing == Some(true) {
            return Err(Error::new(
                ErrorKind::AccountDoesNotExist,
                "no account exists for this key",
            ));
        }
        let file = &self.policy.file;
        if file.terms_of_service.is_some() && req.terms_of_service_agreed != Some(true) {
            return Err(Error::malformed(
                "the terms of service must be agreed to (termsOfServiceAgreed: true)",
            ));
        }
        let contact = validate_contacts(req.contact.unwrap_or_default())?;
        let eab_kid = match req.external_account_binding {
            Some(eab) => Some(self.verify_eab(&eab, jwk, new_account_url).await?),
            None if file.external_account_required => {
                return Err(Error::new(
                    ErrorKind::ExternalAccountRequired,
                    "this CA requires an external account binding; ask the operator for a key id and HMAC key",
                ));
            }
            None => None,
        };
        let account = Account {
            id: random_id(),
            jwk: jwk.to_json().to_string(),
            thumbprint,
            status: AccountStatus::Valid,
            contact,
            eab_kid: eab_kid.clone(),
            created_at: now(),
        };
        self.sa
            .insert_account_with_eab(&account, eab_kid.as_deref())
            .await?;
        tracing::info!(account = %account.id, eab = ?eab_kid, "account created");
        Ok((account, true))
    }

    /// Checks an external account binding (§7.3.4): an HMAC JWS by a key the operator issued, over
    /// the account's JWK, naming the newAccount URL. Returns the key id.
    async fn verify_eab(
        &self,
        eab: &serde_json::Value,
        jwk: &PublicJwk,
        url: &str,
    ) -> Result<String> {
        let bytes = serde_json::to_vec(eab).map_err(Error::internal)?;
        let jws = FlattenedJws::parse(&bytes).map_err(|e| {
            Error::malformed(format!(
                "externalAccountBinding is not a flattened JWS: {e}"
            ))
        })?;
        if !jws.header.alg.starts_with("HS") {
            return Err(Error::new(
                ErrorKind::BadSignatureAlgorithm,
                "externalAccountBinding must use an HMAC algorithm",
            ));
        }
        if jws.header.nonce.is_some() {
            return Err(Error::malformed(
                "externalAccountBinding must not carry a nonce (RFC 8555 §7.3.4)",
            ));
        }
        if jws.header.url.as_deref() != Some(url) {
            return Err(Error::unauthorized(
                "externalAccountBinding url does not match the newAccount URL",
            ));
        }
        let kid = jws
            .header
            .kid
            .clone()
            .ok_or_else(|| Error::malformed("externalAccountBinding has no kid"))?;
        let key = self
            .sa
            .eab(&kid)
            .await?
            .ok_or_else(|| Error::unauthorized("unknown external account binding key id"))?;
        if key.account_id.is_some() {
            return Err(Error::unauthorized(
                "this external account binding is already used by another account",
            ));
        }
        jws.verify_hmac(&key.hmac_key).map_err(|_| {
            Error::unauthorized(
                "externalAccountBinding signature does not verify with the bound key",
            )
        })?;
        let payload: serde_json::Value = serde_json::from_slice(&jws.payload)
            .map_err(|_| Error::malformed("externalAccountBinding payload is not a JWK"))?;
        let bound = PublicJwk::from_json(&payload).map_err(|e| {
            Error::malformed(format!(
                "externalAccountBinding payload is not a usable JWK: {e}"
            ))
        })?;
        if bound.thumbprint() != jwk.thumbprint() {
            return Err(Error::unauthorized(
                "externalAccountBinding payload is not this account's key",
            ));
        }
        Ok(kid)
    }

    /// Account update and deactivation (§7.3.2, §7.3.6).
    pub async fn update_account(
        &self,
        mut account: Account,
        upd: AccountUpdate,
    ) -> Result<Account> {
        require_valid(&account)?;
        if let Some(status) = upd.status.as_deref() {
            if status != "deactivated" {
                return Err(Error::malformed(
                    "the only status a client may set is \"deactivated\"",
                ));
            }
            account.status = AccountStatus::Deactivated;
        }
        if let Some(contact) = upd.contact {
            account.contact = validate_contacts(contact)?;
        }
        self.sa
            .update_account(&account)
            .await
            .map_err(account_changed)?;
        Ok(account)
    }

    /// Key rollover (§7.3.5). `inner` is the outer JWS payload; the outer JWS was already verified
    /// with the account's current key.
    pub async fn key_change(
        &self,
        account: Account,
        inner: &[u8],
        outer_url: &str,
        account_url: &str,
    ) -> Result<Account> {
        require_valid(&account)?;
        let jws =
            FlattenedJws::parse(inner).map_err(|e| Error::malformed(format!("inner JWS: {e}")))?;
        if jws.header.kid.is_some() {
            return Err(Error::malformed("inner JWS must not have a kid"));
        }
        let new_jwk = jws
            .header
            .jwk
            .as_ref()
            .ok_or_else(|| Error::malformed("inner JWS must have a jwk"))?;
        let new_key = PublicJwk::from_json(new_jwk)?;
        if jws.header.url.as_deref() != Some(outer_url) {
            return Err(Error::unauthorized(
                "inner JWS url does not match the outer JWS url",
            ));
        }
        jws.verify(&new_key)?;
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Payload {
            account: String,
            old_key: serde_json::Value,
        }
        let p: Payload = serde_json::from_slice(&jws.payload)
            .map_err(|_| Error::malformed("inner payload must be {\"account\", \"oldKey\"}"))?;
        if p.account != account_url {
            return Err(Error::unauthorized("inner payload names another account"));
        }
        let old = PublicJwk::from_json(&p.old_key)?;
        if old.thumbprint() != account.thumbprint {
            return Err(Error::unauthorized(
                "oldKey is not the account's current key",
            ));
        }
        let thumbprint = new_key.thumbprint();
        if thumbprint == account.thumbprint {
            return Err(Error::malformed("the new key is the current key"));
        }
        self.sa
            .change_account_key(
                &account.id,
                &account.thumbprint,
                &new_key.to_json().to_string(),
                &thumbprint,
            )
            .await
            .map_err(key_conflict)?;
        tracing::info!(account = %account.id, "account key changed");
        Ok(Account {
            jwk: new_key.to_json().to_string(),
            thumbprint,
            ..account
        })
    }
}

/// A guarded account write found the account deactivated or re-keyed since the request was
/// authenticated (on another replica, within the account cache's lifetime): RFC 8555 §7.3.6
/// refuses requests of a deactivated account, and a rolled-over key no longer speaks for it.
fn account_changed(e: crate::sa::SaError) -> Error {
    match e {
        crate::sa::SaError::Conflict { what, .. } if what == crate::sa::ACCOUNT_CHANGED => {
            Error::unauthorized(
                "the account was deactivated or its key changed; sign with its current key",
            )
        }
        other => other.into(),
    }
}

/// §7.3.5: a new key that another account holds is a 409 naming that account (its id here; the
/// front end turns it into a URL).
fn key_conflict(e: crate::sa::SaError) -> Error {
    match e {
        crate::sa::SaError::Conflict { what, .. } if what == crate::sa::ACCOUNT_CHANGED => {
            account_changed(e)
        }
        crate::sa::SaError::Conflict { id, .. } => {
            let mut err = Error::new(
                ErrorKind::Conflict,
                "the new key is already the key of another account",
            );
            err.location = Some(id);
            err
        }
        other => other.into(),
    }
}

/// Contacts must be `mailto:` URIs with one address and no header fields (§7.3).
fn validate_contacts(contacts: Vec<String>) -> Result<Vec<String>> {
    if contacts.len() > 10 {
        return Err(Error::new(ErrorKind::InvalidContact, "at most 10 contacts"));
    }
    for c in &contacts {
        let Some(addr) = c.strip_prefix("mailto:") else {
            return Err(Error::new(
                ErrorKind::UnsupportedContact,
                format!("only mailto: contacts are supported, not {c:?}"),
            ));
        };
        let ok = addr.len() <= 254
            && !addr.contains(['?', ',', ' ', '<', '>'])
            && addr
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
        if !ok {
            return Err(Error::new(
                ErrorKind::InvalidContact,
                format!("{c:?} is not a single e-mail address"),
            ));
        }
    }
    Ok(contacts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts() {
        assert!(validate_contacts(vec!["mailto:noc@carrier.example".into()]).is_ok());
        let e = validate_contacts(vec!["tel:+12155550123".into()]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnsupportedContact);
        let e = validate_contacts(vec!["mailto:a@b.example,c@d.example".into()]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidContact);
        let e = validate_contacts(vec!["mailto:nobody".into()]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidContact);
    }
}
