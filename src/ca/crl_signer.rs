//! The CRL signer (profiles.md "CA hierarchy"): ATIS-1000080 v005 allows keyCertSign only on STI
//! CA certificates, so the issuing intermediate cannot sign CRLs. It issues a dedicated
//! certificate with keyUsage cRLSign, whose key signs stica's CRLs; those CRLs are indirect (RFC
//! 5280 §5.2.5, §5.3.3) and certificates name the signer in their distribution point's
//! `cRLIssuer`, the model the STI-PA's CRL follows.
//!
//! Files: `<data-dir>/ca/crl-signer.pem` and `crl-signer.key` (PKCS#8, 0600). Created by
//! [`ensure_crl_signer`] when missing (at hierarchy creation and on the first start of an older
//! data directory); valid until the intermediate's notAfter.
//!
//! The signer certificate: cA FALSE, keyUsage critical cRLSign only, SKI (SHA-1, RFC 5280
//! §4.2.1.2 method 1), AKI = the intermediate's SKI, subject `C`, `O` copied from the intermediate
//! and `CN=<O> SHAKEN CRL Signer`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use der::{Decode, Encode};
use rcgen::{CertificateParams, DnType, DnValue, IsCa, KeyIdMethod, KeyUsagePurpose};
use x509_cert::crl::{CertificateList, TbsCertList};
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::signer::{KeyFileSigner, RcgenKey, Signer};
use super::{CaError, CrlDistributionPoint, ext, hierarchy, oid, serial, verify_signed_by};

/// Back-dating of the signer certificate, so a verifier with a slow clock accepts it.
const BACKDATE_SECS: i64 = 3600;
/// X.520 upper bound of a CN.
const UB_COMMON_NAME: usize = 64;

/// Where the CRL signer lives under `<data-dir>/ca/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlSignerPaths {
    /// `crl-signer.pem`
    pub cert: PathBuf,
    /// `crl-signer.key` (PKCS#8 PEM, 0600)
    pub key: PathBuf,
}

impl CrlSignerPaths {
    /// The paths for `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        let dir = data_dir.join("ca");
        Self {
            cert: dir.join("crl-signer.pem"),
            key: dir.join("crl-signer.key"),
        }
    }
}

/// Creates the CRL signer (key and certificate issued by the intermediate) unless both files
/// exist. True when it created them; one file without the other is an error (never overwritten).
/// The hierarchy must exist.
pub fn ensure_crl_signer(data_dir: &Path) -> Result<bool, CaError> {
    let paths = CrlSignerPaths::new(data_dir);
    match (paths.cert.exists(), paths.key.exists()) {
        (true, true) => return Ok(false),
        (false, false) => {}
        (cert, _) => {
            return Err(CaError::PartialHierarchy {
                missing: vec![if cert { paths.key } else { paths.cert }],
            });
        }
    }
    let h = hierarchy::HierarchyPaths::new(data_dir);
    let inter_der = hierarchy::read_cert(&h.intermediate_cert)?;
    let inter_signer: Arc<dyn Signer> = h.issuing_signer()?;
    let inter = x509_cert::Certificate::from_der(&inter_der)
        .map_err(|e| CaError::BadHierarchy(format!("intermediate certificate: {e}")))?;
    let subject = inter.tbs_certificate().subject();
    let country = attribute(subject, &oid::AT_COUNTRY).unwrap_or_else(|| "US".to_string());
    let org = attribute(subject, &oid::AT_ORGANIZATION)
        .ok_or_else(|| CaError::BadHierarchy("intermediate subject has no O".into()))?;
    let not_after = inter
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration()
        .as_secs() as i64;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    let key = Arc::new(KeyFileSigner::generate()?);
    let mut params = CertificateParams::default();
    let serial =
        serial::random_serial().map_err(|_| CaError::Config("system RNG failed".into()))?;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.not_before = unix(now - BACKDATE_SECS)?;
    params.not_after = unix(not_after)?;
    params.distinguished_name = distinguished_name(&country, &org, &common_name(&org))?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::CrlSign];
    params.key_identifier_method = KeyIdMethod::PreSpecified(ext::key_identifier(key.public_key()));
    params.use_authority_key_identifier_extension = true;
    let issuer = rcgen::Issuer::from_ca_cert_der(
        &rustls::pki_types::CertificateDer::from(inter_der.as_slice()),
        RcgenKey(inter_signer.clone()),
    )?;
    let der = params
        .signed_by(&RcgenKey(key.clone()), &issuer)?
        .der()
        .to_vec();
    verify_signed_by(&der, inter_signer.public_key()).map_err(CaError::Integrity)?;

    key.save(&paths.key)?;
    write_public(
        &paths.cert,
        crate::x509::to_pem("CERTIFICATE", &der).as_bytes(),
    )
    .map_err(|source| CaError::Io {
        path: paths.cert.clone(),
        source,
    })?;
    tracing::info!(
        target: "audit",
        event = "crl_signer.created",
        serial = %serial::serial_hex(&serial),
        path = %paths.cert.display(),
        "created the CRL signer certificate"
    );
    Ok(true)
}

/// The CRL signer: signs stica's CRLs. Holds its key; hands out only its certificate and name.
pub struct CrlSigner {
    signer: Arc<dyn Signer>,
    cert_der: Vec<u8>,
    subject_der: Vec<u8>,
    key_id: Vec<u8>,
    intermediate_der: Vec<u8>,
}

impl std::fmt::Debug for CrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlSigner")
            .field("key_id", &hex::encode(&self.key_id))
            .finish_non_exhaustive()
    }
}

impl CrlSigner {
    /// Loads the signer from `<data_dir>/ca/`, checking that the key is the certificate's, that
    /// the intermediate issued it and that it may sign CRLs.
    pub fn load(data_dir: &Path) -> Result<Self, CaError> {
        let paths = CrlSignerPaths::new(data_dir);
        let h = hierarchy::HierarchyPaths::new(data_dir);
        let cert_der = hierarchy::read_cert(&paths.cert)?;
        let intermediate_der = hierarchy::read_cert(&h.intermediate_cert)?;
        let signer: Arc<dyn Signer> = Arc::new(KeyFileSigner::load(&paths.key)?);
        Self::with_signer(cert_der, intermediate_der, signer)
    }

    /// A CRL signer from its certificate, the intermediate that issued it and its key.
    pub fn with_signer(
        cert_der: Vec<u8>,
        intermediate_der: Vec<u8>,
        signer: Arc<dyn Signer>,
    ) -> Result<Self, CaError> {
        let bad = |m: String| CaError::BadHierarchy(format!("CRL signer: {m}"));
        let cert = x509_cert::Certificate::from_der(&cert_der).map_err(|e| bad(e.to_string()))?;
        let inter =
            x509_cert::Certificate::from_der(&intermediate_der).map_err(|e| bad(e.to_string()))?;
        let tbs = cert.tbs_certificate();
        let key = tbs
            .subject_public_key_info()
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| bad("public key is not an octet-aligned BIT STRING".into()))?;
        if key != signer.public_key() {
            return Err(bad("the key file is not the certificate's key".into()));
        }
        let inter_key = inter
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| bad("intermediate key is not an octet-aligned BIT STRING".into()))?;
        verify_signed_by(&cert_der, inter_key)
            .map_err(|e| bad(format!("not issued by the intermediate: {e}")))?;
        let ku = tbs
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == oid::KEY_USAGE)
            .ok_or_else(|| bad("no keyUsage".into()))?;
        let ku = x509_cert::ext::pkix::KeyUsage::from_der(ku.extn_value.as_bytes())
            .map_err(|e| bad(format!("keyUsage: {e}")))?;
        if !ku.crl_sign() {
            return Err(bad("keyUsage lacks cRLSign".into()));
        }
        let subject_der = tbs.subject().to_der().map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            key_id: ext::key_identifier(signer.public_key()),
            signer,
            cert_der,
            subject_der,
            intermediate_der,
        })
    }

    /// The signer's certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The signer certificate then the intermediate, PEM: what a relying party needs to check
    /// an indirect CRL's signature up to stica's root.
    pub fn chain_pem(&self) -> String {
        let mut pem = crate::x509::to_pem("CERTIFICATE", &self.cert_der);
        pem.push_str(&crate::x509::to_pem("CERTIFICATE", &self.intermediate_der));
        pem
    }

    /// The signer's subject `Name`, DER: the CRL issuer, and the `cRLIssuer` of distribution
    /// points that name stica's CRL.
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// The signer's key identifier (SHA-1 of its key): the CRL's authorityKeyIdentifier.
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    /// The distribution point of a certificate whose revocation stica's own CRL at `url`
    /// publishes: the URL and this signer as `cRLIssuer` (the CRL is indirect).
    pub fn distribution_point(&self, url: &str) -> CrlDistributionPoint {
        CrlDistributionPoint {
            url: url.to_string(),
            crl_issuer_der: Some(self.subject_der.clone()),
        }
    }

    /// Signs a CRL. The TBSCertList must name this signer as issuer and ecdsa-with-SHA256 as
    /// signature algorithm; the signature is checked before the CRL is returned (DER
    /// CertificateList). Audit-logged before and after.
    pub fn sign_crl(&self, tbs: &TbsCertList) -> Result<Vec<u8>, CaError> {
        let bad = |m: String| CaError::BadRequest(format!("CRL: {m}"));
        let issuer = tbs.issuer.to_der().map_err(|e| bad(e.to_string()))?;
        if issuer != self.subject_der {
            return Err(bad("the issuer is not the CRL signer".into()));
        }
        if tbs.signature.oid != oid::ECDSA_WITH_SHA256 || tbs.signature.parameters.is_some() {
            return Err(bad(
                "the signature algorithm is not ecdsa-with-SHA256".into()
            ));
        }
        let tbs_der = tbs.to_der().map_err(|e| bad(e.to_string()))?;
        let entries = tbs.revoked_certificates.as_ref().map_or(0, Vec::len);
        tracing::info!(target: "audit", event = "crl.sign.start", entries, "signing CRL");
        let started = std::time::Instant::now();
        let result = (|| {
            let sig = self.signer.sign(&tbs_der)?;
            aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
                self.signer.public_key(),
            )
            .verify(&tbs_der, &sig)
            .map_err(|_| CaError::Integrity("CRL signature does not verify".into()))?;
            let list = CertificateList {
                tbs_cert_list: tbs.clone(),
                signature_algorithm: AlgorithmIdentifierOwned {
                    oid: oid::ECDSA_WITH_SHA256,
                    parameters: None,
                },
                signature: der::asn1::BitString::from_bytes(&sig)
                    .map_err(|e| CaError::Integrity(e.to_string()))?,
            };
            list.to_der()
                .map_err(|e| CaError::Integrity(format!("CRL encoding: {e}")))
        })();
        crate::metrics::signing("crl", started.elapsed().as_secs_f64());
        match &result {
            Ok(der) => {
                tracing::info!(target: "audit", event = "crl.sign.done", entries, bytes = der.len(), "CRL signed")
            }
            Err(e) => {
                tracing::error!(target: "audit", event = "crl.sign.failed", error = %e, "CRL signing failed")
            }
        }
        result
    }
}

/// `<O> SHAKEN CRL Signer`, or `SHAKEN CRL Signer` when that would exceed ub-common-name.
fn common_name(org: &str) -> String {
    let cn = format!("{org} SHAKEN CRL Signer");
    if cn.chars().count() <= UB_COMMON_NAME {
        cn
    } else {
        "SHAKEN CRL Signer".to_string()
    }
}

/// C (PrintableString), O, CN.
fn distinguished_name(
    country: &str,
    org: &str,
    cn: &str,
) -> Result<rcgen::DistinguishedName, CaError> {
    let country = rcgen::string::PrintableString::try_from(country)
        .map_err(|e| CaError::Config(format!("country {country:?}: {e}")))?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(DnType::CountryName, DnValue::PrintableString(country));
    dn.push(
        DnType::OrganizationName,
        DnValue::Utf8String(org.to_string()),
    );
    dn.push(DnType::CommonName, DnValue::Utf8String(cn.to_string()));
    Ok(dn)
}

/// The text of the first attribute `oid` in `name` (PrintableString or UTF8String).
fn attribute(name: &x509_cert::name::Name, oid: &const_oid::ObjectIdentifier) -> Option<String> {
    name.iter()
        .find(|atv| atv.oid == *oid)
        .and_then(|atv| std::str::from_utf8(atv.value.value()).ok())
        .map(str::to_string)
}

/// Creates a public file (0644) that must not exist yet.
fn write_public(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn unix(secs: i64) -> Result<time::OffsetDateTime, CaError> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| CaError::Config(format!("time {secs} out of range: {e}")))
}
