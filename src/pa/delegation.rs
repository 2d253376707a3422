//! Delegation tokens (issue 3, direct delegation): a carrier signs an enterprise's Authority
//! Token with the key of its stica-issued `sca` or TN-level certificate, exactly as the STI-PA
//! signs SPC tokens, so that stica issues the enterprise a `delegate` certificate for the numbers
//! the token lists (what `stica delegate token` runs).
//!
//! The token names its signer by `x5c` (the carrier's certificate, then its issuers as the
//! chain file lists them) or, when the carrier publishes that chain at an https URL (stica's
//! STI-CR URL of the certificate works), by `x5u`. stica checks the numbers against the
//! signer's TNAuthList when the enterprise answers its challenge; this side refuses early what
//! cannot succeed (numbers outside the certificate's scope, a key that is not the certificate's).

use der::{Decode, Encode};

use super::PaError;
use super::mint::{self, SignerContext, SignerRef, TokenRequest};
use crate::ca::oid;
use crate::jose::EcSigner;
use crate::policy::inventory::encompasses_with_inventory;
use crate::tnauth::TnAuthList;

/// A carrier's delegating certificate, its chain and its key.
pub struct Delegator {
    key: EcSigner,
    chain_der: Vec<Vec<u8>>,
    scope: TnAuthList,
}

impl std::fmt::Debug for Delegator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delegator")
            .field("scope", &self.scope.to_string())
            .field("chain_len", &self.chain_der.len())
            .finish_non_exhaustive()
    }
}

impl Delegator {
    /// Reads the certificate chain (PEM, the delegating certificate first, as stica's ACME
    /// download and STI-CR serve it) and the certificate's private key (PKCS#8 or SEC1 PEM).
    /// Refuses a key that is not the certificate's and a certificate without a TNAuthList.
    pub fn from_pem(chain_pem: &[u8], key_pem: &str) -> Result<Self, PaError> {
        let chain_der = crate::x509::pem_certificates(chain_pem)
            .map_err(|e| PaError::InvalidRequest(format!("certificate chain: {e}")))?;
        let first = chain_der.first().ok_or_else(|| {
            PaError::InvalidRequest("certificate chain: no CERTIFICATE block".into())
        })?;
        let cert = x509_cert::Certificate::from_der(first)
            .map_err(|e| PaError::InvalidRequest(format!("delegating certificate: {e}")))?;
        let key = EcSigner::from_pkcs8_pem(key_pem)
            .map_err(|e| PaError::InvalidRequest(format!("delegating key: {e}")))?;
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| PaError::InvalidRequest(format!("delegating certificate key: {e}")))?;
        if key.public_jwk().spki_der() != spki {
            return Err(PaError::InvalidRequest(
                "the key is not the delegating certificate's key".into(),
            ));
        }
        let scope = cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == oid::TN_AUTH_LIST)
            .ok_or_else(|| {
                PaError::InvalidRequest(
                    "the delegating certificate carries no TNAuthList: it has no numbers to delegate"
                        .into(),
                )
            })
            .and_then(|e| {
                TnAuthList::from_der(e.extn_value.as_bytes()).map_err(|e| {
                    PaError::InvalidRequest(format!("delegating certificate TNAuthList: {e}"))
                })
            })?;
        Ok(Self {
            key,
            chain_der,
            scope,
        })
    }

    /// The delegating certificate's TNAuthList: what it may hand down.
    pub fn scope(&self) -> &TnAuthList {
        &self.scope
    }

    /// Mints a delegation token at `now`: `x5u` names `url` when given, else `x5c` carries the
    /// chain. Refuses numbers the certificate does not encompass (stica would refuse them too).
    pub fn mint(&self, req: &TokenRequest, x5u: Option<&str>, now: i64) -> Result<String, PaError> {
        encompasses_with_inventory(&self.scope, &req.tnauthlist, None).map_err(|e| {
            PaError::InvalidRequest(format!(
                "the delegating certificate's TNAuthList ({}) does not encompass the request: {e}",
                self.scope
            ))
        })?;
        let mut req = req.clone();
        req.x5u_or_x5c = if x5u.is_some() {
            SignerRef::X5u
        } else {
            SignerRef::X5c
        };
        let signer = SignerContext {
            key: &self.key,
            x5u: x5u.unwrap_or_default(),
            chain_der: self.chain_der.iter().map(Vec::as_slice).collect(),
        };
        Ok(mint::mint(&signer, &req, now)?.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::CompactJws;

    /// A self-signed certificate with `tnauthlist` and a key, PEM.
    fn delegating_cert(tnauthlist: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        let list: TnAuthList = tnauthlist.parse().unwrap();
        params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 5, 5, 7, 1, 26],
            list.to_der(),
        )];
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn request(list: &str) -> TokenRequest {
        let account = EcSigner::generate().unwrap().public_jwk();
        TokenRequest::new(list.parse().unwrap(), &account, false, 3600)
    }

    #[test]
    fn mints_x5c_and_x5u_tokens_for_numbers_in_scope() {
        let (cert, key) = delegating_cert("range:12155550100+100");
        let d = Delegator::from_pem(cert.as_bytes(), &key).unwrap();
        assert_eq!(d.scope().to_string(), "range:12155550100+100");
        let token = d
            .mint(&request("tn:12155550150,range:12155550190+10"), None, 1_000)
            .unwrap();
        let jws = CompactJws::parse(&token).unwrap();
        assert_eq!(jws.x5c.len(), 1);
        assert!(jws.x5u.is_none());
        let spki = x509_cert::Certificate::from_der(&jws.x5c[0])
            .unwrap()
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap();
        jws.verify_es256_spki(&spki).unwrap();
        assert_eq!(jws.claims["exp"], 4_600);
        let token = d
            .mint(
                &request("tn:12155550100"),
                Some("https://ca.example/cr/01.pem"),
                1_000,
            )
            .unwrap();
        let jws = CompactJws::parse(&token).unwrap();
        assert_eq!(jws.x5u.as_deref(), Some("https://ca.example/cr/01.pem"));
        assert!(jws.x5c.is_empty());
    }

    #[test]
    fn refuses_numbers_outside_scope_wrong_keys_and_certificates_without_numbers() {
        let (cert, key) = delegating_cert("range:12155550100+100");
        let d = Delegator::from_pem(cert.as_bytes(), &key).unwrap();
        for outside in [
            "tn:12155550200",          // one past the end
            "tn:12155550099",          // one before the start
            "range:12155550190+11",    // overlapping the edge
            "spc:1234,tn:12155550150", // an SPC the certificate does not list
        ] {
            let e = d.mint(&request(outside), None, 1_000).unwrap_err();
            assert!(
                e.to_string().contains("does not encompass"),
                "{outside}: {e}"
            );
        }
        let (_, other_key) = delegating_cert("tn:12155550100");
        let e = Delegator::from_pem(cert.as_bytes(), &other_key).unwrap_err();
        assert!(
            e.to_string()
                .contains("not the delegating certificate's key"),
            "{e}"
        );
        // no TNAuthList
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let plain = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&key_pair)
            .unwrap();
        let e = Delegator::from_pem(plain.pem().as_bytes(), &key_pair.serialize_pem()).unwrap_err();
        assert!(e.to_string().contains("no TNAuthList"), "{e}");
        let e = Delegator::from_pem(b"", &key).unwrap_err();
        assert!(e.to_string().contains("no CERTIFICATE"), "{e}");
    }
}
