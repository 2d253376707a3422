//! Registration authority: the account, order and authorization lifecycle (RFC 8555 §7.3-7.5),
//! and finalize. It decides; `ca` signs, `va` validates tokens, `sa` stores.

mod account;
mod challenge;
mod delegation;
mod finalize;
mod order;
pub mod revoke;

use crate::ca::Ca;
use crate::error::{Error, ErrorKind, Result};
use crate::policy::Policy;
use crate::sa::Storage;
use crate::sa::model::Account;
use crate::va::tkauth::TokenVerifier;

pub use account::KeyChange;

/// The registration authority.
pub struct Ra {
    /// Storage (read by the front end, written only through the RA).
    pub sa: Storage,
    ca: Ca,
    verifier: TokenVerifier,
    policy: Policy,
    crl: Option<std::sync::Arc<crate::status::crl::CrlPublisher>>,
}

impl Ra {
    /// Wires the roles together.
    pub fn new(sa: Storage, ca: Ca, verifier: TokenVerifier, policy: Policy) -> Self {
        Self {
            sa,
            ca,
            verifier,
            policy,
            crl: None,
        }
    }

    /// Publishes a new CRL through `publisher` after every revocation.
    pub fn with_crl_publisher(
        mut self,
        publisher: std::sync::Arc<crate::status::crl::CrlPublisher>,
    ) -> Self {
        self.crl = Some(publisher);
        self
    }

    /// The loaded policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The CA (for its certificates, never its keys).
    pub fn ca(&self) -> &Ca {
        &self.ca
    }
}

/// Refuses requests from accounts that are not `valid` (RFC 8555 §7.3.6).
pub(crate) fn require_valid(account: &Account) -> Result<()> {
    if account.status == crate::acme::AccountStatus::Valid {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Unauthorized,
            format!(
                "account is {}; it can no longer be used",
                account.status.as_str()
            ),
        ))
    }
}

impl Ra {
    /// Re-reads `account` from the database (not the request cache) and requires it still
    /// `valid` with the same key. For the acts that bind (issuance, revocation): the `kid`
    /// lookup may come from a cache that lags another replica's deactivation or key rollover by
    /// up to a second (`sa::account_cache`); these acts must not ride on that lag.
    pub(crate) async fn require_current(&self, account: &Account) -> Result<()> {
        match self.sa.account(&account.id).await? {
            Some(a)
                if a.status == crate::acme::AccountStatus::Valid
                    && a.thumbprint == account.thumbprint =>
            {
                Ok(())
            }
            Some(_) => Err(Error::unauthorized(
                "the account was deactivated or its key changed; sign with its current key",
            )),
            None => Err(Error::new(
                ErrorKind::AccountDoesNotExist,
                "no account at this kid",
            )),
        }
    }
}

/// A random url-safe identifier with 128 bits of entropy.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // aws-lc-rs' system RNG only fails if the OS RNG is broken, in which case nothing is safe.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        tracing::error!("system random number generator failed");
    }
    crate::jose::b64::encode_url(&bytes)
}
