//! The one place that builds absolute URLs. A JWS `url` must equal the URL built here for the
//! resource the request reached (RFC 8555 §6.4).

/// Absolute URLs of every ACME resource, from the external base URL.
#[derive(Debug, Clone)]
pub struct Urls {
    base: String,
}

impl Urls {
    /// `base` is the external URL without a trailing slash, e.g. `https://ca.example:8443/x`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// The external base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The path part of the base (`""` when served at the root).
    pub fn path_prefix(&self) -> String {
        url::Url::parse(&self.base)
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default()
    }

    /// directory
    pub fn directory(&self) -> String {
        format!("{}/directory", self.base)
    }
    /// newNonce
    pub fn new_nonce(&self) -> String {
        format!("{}/acme/new-nonce", self.base)
    }
    /// newAccount
    pub fn new_account(&self) -> String {
        format!("{}/acme/new-account", self.base)
    }
    /// newOrder
    pub fn new_order(&self) -> String {
        format!("{}/acme/new-order", self.base)
    }
    /// keyChange
    pub fn key_change(&self) -> String {
        format!("{}/acme/key-change", self.base)
    }
    /// revokeCert
    pub fn revoke_cert(&self) -> String {
        format!("{}/acme/revoke-cert", self.base)
    }
    /// an account
    pub fn account(&self, id: &str) -> String {
        format!("{}/acme/account/{id}", self.base)
    }
    /// an account's orders list
    pub fn account_orders(&self, id: &str) -> String {
        format!("{}/acme/account/{id}/orders", self.base)
    }
    /// an order
    pub fn order(&self, id: &str) -> String {
        format!("{}/acme/order/{id}", self.base)
    }
    /// an order's finalize URL
    pub fn finalize(&self, id: &str) -> String {
        format!("{}/acme/order/{id}/finalize", self.base)
    }
    /// an authorization
    pub fn authz(&self, id: &str) -> String {
        format!("{}/acme/authz/{id}", self.base)
    }
    /// a challenge
    pub fn challenge(&self, id: &str) -> String {
        format!("{}/acme/chall/{id}", self.base)
    }
    /// a certificate
    pub fn certificate(&self, serial: &str) -> String {
        format!("{}/acme/cert/{serial}", self.base)
    }
    /// stica's own CRL (RFC 5280 §5), the distribution point of certificates whose revocation
    /// stica publishes itself (delegate certificates, profiles.md).
    pub fn crl(&self) -> String {
        format!("{}/crl", self.base)
    }
    /// The CRL signer's certificate and the intermediate (PEM), to verify the indirect CRL.
    pub fn crl_signer(&self) -> String {
        format!("{}/crl/signer.pem", self.base)
    }
    /// STI-CR: where a certificate's chain is published for PASSporT `x5u` (a stable URL without
    /// query string).
    pub fn cr(&self, serial: &str) -> String {
        format!("{}/cr/{serial}.pem", self.base)
    }
    /// The account id named by a `kid`, if the kid is one of our account URLs.
    pub fn account_id_from_kid<'a>(&self, kid: &'a str) -> Option<&'a str> {
        let prefix = format!("{}/acme/account/", self.base);
        kid.strip_prefix(prefix.as_str())
            .filter(|id| !id.is_empty() && !id.contains('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_parsing_and_prefix() {
        let u = Urls::new("https://ca.example/sti/");
        assert_eq!(u.path_prefix(), "/sti");
        assert_eq!(
            u.account_id_from_kid("https://ca.example/sti/acme/account/abc"),
            Some("abc")
        );
        assert_eq!(
            u.account_id_from_kid("https://evil.example/sti/acme/account/abc"),
            None
        );
        assert_eq!(
            u.account_id_from_kid("https://ca.example/sti/acme/account/abc/orders"),
            None
        );
        assert_eq!(Urls::new("http://127.0.0.1:8080").path_prefix(), "");
        assert_eq!(u.crl(), "https://ca.example/sti/crl");
        assert_eq!(u.cr("01ab"), "https://ca.example/sti/cr/01ab.pem");
    }
}
