//! stica's own CRL (RFC 5280 §5): an indirect CRL signed by the CRL signer
//! ([`crate::ca::crl_signer`]), listing every revoked certificate of the issuing CA, regenerated
//! on every revocation and before it grows old, stored in the database (so every replica serves
//! the same bytes) and served at `<external-url>/crl`.
//!
//! Encoded with x509-cert rather than rcgen: rcgen's CRL writer has no `indirectCRL` flag and no
//! `certificateIssuer` entry extension, both of which an indirect CRL needs (RFC 5280 §5.2.5,
//! §5.3.3).
//!
//! Entries: serial, revocationDate (when stica processed the revocation), reasonCode unless
//! unspecified (§5.3.1: absent rather than 0), and certificateIssuer (critical, §5.3.3) on the
//! first entry of each issuer. CRL extensions: authorityKeyIdentifier (the signer's key id),
//! cRLNumber (from the database counter, so replicas never reuse one), issuingDistributionPoint
//! (critical: the URL and indirectCRL TRUE). A revoked certificate stays listed until one CRL
//! validity period after its notAfter, so it appears on at least one scheduled CRL issued after
//! it expired (§3.3).

use std::sync::Arc;
use std::time::Duration;

use const_oid::ObjectIdentifier;
use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode};
use x509_cert::crl::{RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::name::Name;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::Time;

use crate::ca::CaError;
use crate::ca::crl_signer::CrlSigner;
use crate::config::CrlConfig;
use crate::sa::{CrlInput, SaError, Storage, StoredCrl};

/// The id of the issuing CA's CRL in storage.
pub const CRL_ID: &str = "stica";

/// id-ce-cRLReasons (RFC 5280 §5.3.1)
const REASON_CODE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
/// id-ce-cRLNumber (RFC 5280 §5.2.3)
const CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
/// id-ce-issuingDistributionPoint (RFC 5280 §5.2.5)
const ISSUING_DISTRIBUTION_POINT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
/// id-ce-certificateIssuer (RFC 5280 §5.3.3)
const CERTIFICATE_ISSUER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.29");
/// id-ce-authorityKeyIdentifier (RFC 5280 §5.2.1)
const AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
/// ecdsa-with-SHA256
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// Errors building or publishing a CRL.
#[derive(Debug, thiserror::Error)]
pub enum CrlError {
    /// A value could not be encoded, or a stored certificate could not be read.
    #[error("CRL encoding: {0}")]
    Encode(String),
    /// The CRL signer refused or failed.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] SaError),
}

impl From<der::Error> for CrlError {
    fn from(e: der::Error) -> Self {
        CrlError::Encode(e.to_string())
    }
}

/// What goes into a CRL besides its entries.
#[derive(Debug, Clone)]
pub struct CrlHeader<'a> {
    /// The CRL issuer (the CRL signer's subject), DER.
    pub issuer_der: &'a [u8],
    /// The CRL signer's key identifier.
    pub key_id: &'a [u8],
    /// Where the CRL is published (issuingDistributionPoint fullName).
    pub url: &'a str,
    /// thisUpdate, unix seconds.
    pub this_update: i64,
    /// nextUpdate, unix seconds.
    pub next_update: i64,
}

fn time(secs: i64) -> Result<Time, CrlError> {
    let secs = u64::try_from(secs).map_err(|_| CrlError::Encode("time before 1970".into()))?;
    let dt = der::DateTime::from_unix_duration(Duration::from_secs(secs))?;
    // UTCTime through 2049, GeneralizedTime after (RFC 5280 §5.1.2.4).
    Ok(Time::from(dt))
}

fn extension(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Result<Extension, CrlError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value)?,
    })
}

/// Builds the TBSCertList for `input` (entries in the order given after grouping by issuer).
pub fn build_tbs(header: &CrlHeader<'_>, input: &CrlInput) -> Result<TbsCertList, CrlError> {
    let crl_issuer = Name::from_der(header.issuer_der)?;
    // Parse every entry first: a certificate stica cannot read is an error, never a silent omission.
    let mut parsed = Vec::with_capacity(input.entries.len());
    for e in &input.entries {
        let cert = x509_cert::Certificate::from_der(&e.der)
            .map_err(|err| CrlError::Encode(format!("stored certificate {}: {err}", e.serial)))?;
        let issuer = cert.tbs_certificate().issuer().to_der()?;
        parsed.push((issuer, cert.tbs_certificate().serial_number().clone(), e));
    }
    // Group by issuer so certificateIssuer appears once per issuer (§5.3.3: it carries over to
    // the following entries).
    parsed.sort_by(|a, b| (&a.0, a.1.as_bytes()).cmp(&(&b.0, b.1.as_bytes())));
    let mut revoked = Vec::with_capacity(parsed.len());
    let mut current_issuer = header.issuer_der.to_vec();
    for (issuer, serial, e) in parsed {
        let mut exts = Vec::new();
        if e.reason != 0 {
            // CRLReason ::= ENUMERATED
            exts.push(extension(REASON_CODE, false, vec![0x0a, 0x01, e.reason])?);
        }
        if issuer != current_issuer {
            let names = vec![GeneralName::DirectoryName(Name::from_der(&issuer)?)];
            exts.push(extension(CERTIFICATE_ISSUER, true, names.to_der()?)?);
            current_issuer = issuer;
        }
        revoked.push(RevokedCert {
            serial_number: serial,
            revocation_date: time(e.revoked_at)?,
            crl_entry_extensions: (!exts.is_empty()).then_some(exts),
        });
    }
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(header.key_id)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let number =
        u64::try_from(input.number).map_err(|_| CrlError::Encode("negative CRL number".into()))?;
    let number = CrlNumber(der::asn1::Uint::new(&number.to_be_bytes())?);
    let idp = IssuingDistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![
            GeneralName::UniformResourceIdentifier(Ia5String::new(header.url)?),
        ])),
        only_contains_user_certs: false,
        only_contains_ca_certs: false,
        only_some_reasons: None,
        indirect_crl: true,
        only_contains_attribute_certs: false,
    };
    Ok(TbsCertList {
        version: x509_cert::Version::V2,
        signature: AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA256,
            parameters: None,
        },
        issuer: crl_issuer,
        this_update: time(header.this_update)?,
        next_update: Some(time(header.next_update)?),
        revoked_certificates: (!revoked.is_empty()).then_some(revoked),
        crl_extensions: Some(vec![
            extension(AUTHORITY_KEY_IDENTIFIER, false, aki.to_der()?)?,
            extension(CRL_NUMBER, false, number.to_der()?)?,
            extension(ISSUING_DISTRIBUTION_POINT, true, idp.to_der()?)?,
        ]),
    })
}

/// Publishes stica's CRL: builds, signs and stores it, and decides when a new one is due.
pub struct CrlPublisher {
    sa: Storage,
    signer: Arc<CrlSigner>,
    url: String,
    settings: CrlConfig,
}

impl std::fmt::Debug for CrlPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlPublisher")
            .field("url", &self.url)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CrlPublisher {
    /// A publisher for the CRL at `url` signed by `signer`.
    pub fn new(sa: Storage, signer: Arc<CrlSigner>, url: &str, settings: CrlConfig) -> Self {
        Self {
            sa,
            signer,
            url: url.to_string(),
            settings,
        }
    }

    /// The CRL signer (its certificate is published next to the CRL).
    pub fn signer(&self) -> &CrlSigner {
        &self.signer
    }

    /// The URL the CRL is published at.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The settings.
    pub fn settings(&self) -> &CrlConfig {
        &self.settings
    }

    /// Signs and stores a new CRL now, whatever the current one is.
    pub async fn publish(&self, now: i64) -> Result<StoredCrl, CrlError> {
        let validity = i64::from(self.settings.validity_secs);
        let header = CrlHeader {
            issuer_der: self.signer.subject_der(),
            key_id: self.signer.key_id(),
            url: &self.url,
            this_update: now,
            next_update: now + validity,
        };
        let stored = self
            .sa
            .publish_crl(CRL_ID, &self.url, now - validity, |input| {
                let tbs = build_tbs(&header, input)?;
                let der = self.signer.sign_crl(&tbs)?;
                Ok::<_, CrlError>((der, header.this_update, header.next_update))
            })
            .await??;
        tracing::info!(
            target: "audit",
            event = "crl.published",
            number = stored.number,
            covered_seq = stored.covered_seq,
            bytes = stored.der.len(),
            "CRL published"
        );
        Ok(stored)
    }

    /// Whether a new CRL is due at `now`: none yet, the current one is `refresh_secs` old, it
    /// names another URL, or a revocation happened after it was built.
    pub async fn due(&self, now: i64) -> Result<bool, CrlError> {
        let Some(current) = self.sa.current_crl(CRL_ID).await? else {
            return Ok(true);
        };
        if now >= current.this_update + i64::from(self.settings.refresh_secs)
            || now >= current.next_update
            || current.url != self.url
        {
            return Ok(true);
        }
        Ok(self.sa.last_revocation_seq().await? > current.covered_seq)
    }

    /// Publishes a new CRL if one is due; returns it if it did.
    pub async fn refresh(&self, now: i64) -> Result<Option<StoredCrl>, CrlError> {
        if self.due(now).await? {
            Ok(Some(self.publish(now).await?))
        } else {
            Ok(None)
        }
    }

    /// The CRL to serve.
    pub async fn current(&self) -> Result<Option<StoredCrl>, CrlError> {
        Ok(self.sa.current_crl(CRL_ID).await?)
    }
}

/// Checks every `check_interval_secs` whether a new CRL is due and publishes it, on the replica
/// that holds the jobs lease. Were two replicas to run it at once, the CRL number counter would
/// still serialize them and each CRL would be complete: the lease saves work, not correctness.
pub fn spawn_scheduler(publisher: Arc<CrlPublisher>, jobs: crate::jobs::Leadership) {
    let every = Duration::from_secs(u64::from(publisher.settings.check_interval_secs).max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // One replica signs scheduled CRLs (src/jobs.rs); the others serve what it stored.
            let now = crate::acme::now();
            if !jobs.leads(now) {
                continue;
            }
            if let Err(e) = publisher.refresh(now).await {
                tracing::error!(error = %e, "CRL refresh failed; retrying at the next check");
            }
        }
    });
}

#[cfg(test)]
mod tests;
