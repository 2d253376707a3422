//! The dev token authority's own PKI: a root, a token-signing certificate and a CRL, kept as
//! files under the authority's directory.
//!
//! Layout (keys are PKCS#8 PEM created with mode 0600):
//! - `root.pem`, `root.key`: self-signed P-256 root, `CN=stica dev STI-PA Root`, basicConstraints
//!   cA, keyUsage keyCertSign + cRLSign. It is the trust anchor a CA configures for these tokens,
//!   like the STI-PA root in SHAKEN (standards.md §2.7 step 2, §4).
//! - `signer.pem`, `signer.key`: the token-signing certificate, issued by the root, keyUsage
//!   digitalSignature only, with a cRLDistributionPoints naming `<base_url>/crl`. Its URL is the
//!   tokens' `x5u` (RFC 9447 §3.1).
//! - `crl.der`, `crl-state.json`: a direct CRL signed by the root itself (RFC 5280 §5; the root
//!   carries cRLSign, so no separate CRL signer is needed), valid 7 days, reissued on revocation and
//!   whenever less than half its lifetime is left.
//!
//! `root.pem` is written last: while it is absent the directory counts as uninitialised, so an
//! interrupted first start is simply redone.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use der::Decode;
use rcgen::string::PrintableString;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    DistinguishedName, DnType, DnValue, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, RevocationReason, RevokedCertParams, SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::PaError;
use crate::jose::EcSigner;
use crate::x509::{pem_blocks, pem_certificates, to_pem};

/// Subject CN of the dev authority's root.
pub const ROOT_CN: &str = "stica dev STI-PA Root";
/// Subject CN of the token-signing certificate.
pub const SIGNER_CN: &str = "stica dev STI-PA Token Signer";
/// Subject O of both certificates.
const ORGANIZATION: &str = "stica dev STI-PA";

const ROOT_CERT: &str = "root.pem";
const ROOT_KEY: &str = "root.key";
const SIGNER_CERT: &str = "signer.pem";
const SIGNER_KEY: &str = "signer.key";
const CRL_FILE: &str = "crl.der";
const CRL_STATE: &str = "crl-state.json";

const DAY: i64 = 86_400;
/// Root lifetime: long enough that a dev data directory never outlives it.
const ROOT_LIFETIME: i64 = 20 * 365 * DAY;
/// Token-signing certificate lifetime; reissued on load when less than [`SIGNER_RENEW_BEFORE`] is left.
const SIGNER_LIFETIME: i64 = 2 * 365 * DAY;
const SIGNER_RENEW_BEFORE: i64 = 30 * DAY;
/// CRL nextUpdate - thisUpdate (RFC 5280 §5.1.2.5 requires nextUpdate).
pub const CRL_LIFETIME: i64 = 7 * DAY;
/// Certificates are back-dated a little so a verifier with a slow clock accepts them at once.
const BACKDATE: i64 = 300;

/// What `crl-state.json` keeps so the CRL can be rebuilt: its number and the revoked serials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CrlState {
    /// The last cRLNumber issued (RFC 5280 §5.2.3: monotonically increasing).
    pub crl_number: u64,
    /// thisUpdate of the current CRL, unix seconds.
    pub this_update: i64,
    /// nextUpdate of the current CRL, unix seconds.
    pub next_update: i64,
    /// Revoked token-signing certificates.
    pub revoked: Vec<RevokedEntry>,
}

/// One revoked certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokedEntry {
    /// The serial number, hex of its DER INTEGER content bytes.
    pub serial: String,
    /// When it was revoked, unix seconds.
    pub revoked_at: i64,
}

/// The loaded PKI.
pub(crate) struct Pki {
    dir: PathBuf,
    crl_url: String,
    root_der: Vec<u8>,
    root_key: KeyPair,
    signer_der: Vec<u8>,
    signer_key: EcSigner,
    crl_state: CrlState,
    crl_der: Vec<u8>,
}

impl Pki {
    /// Loads the PKI from `dir`, creating it first if `root.pem` is absent. Reissues the signer when
    /// it nears expiry and the CRL when it is stale (see [`Pki::crl_is_stale`]).
    pub fn load_or_init(dir: &Path, crl_url: &str, now: i64) -> Result<Self, PaError> {
        std::fs::create_dir_all(dir).map_err(|e| PaError::io(dir, e))?;
        if !is_initialised(dir) {
            Self::init(dir, crl_url, now)?;
        }
        let mut pki = Self::load(dir, crl_url)?;
        if pki.signer_not_after()? - now < SIGNER_RENEW_BEFORE {
            pki.reissue_signer(now)?;
        } else if pki.signer_crl_urls()? != [crl_url] {
            // The authority moved (another port or host): a signer naming the old CRL location
            // would send relying parties to a dead URL.
            tracing::info!(
                crl_url,
                "dev token authority: base URL changed, reissuing the signer"
            );
            pki.reissue_signer(now)?;
        }
        if pki.crl_is_stale(now) {
            pki.write_crl(now)?;
        }
        Ok(pki)
    }

    fn init(dir: &Path, crl_url: &str, now: i64) -> Result<(), PaError> {
        let root_key = generate_key()?;
        let root_der = build_root(&root_key, now)?;
        write_atomic(
            &dir.join(ROOT_KEY),
            root_key.serialize_pem().as_bytes(),
            0o600,
        )?;
        let signer_key = generate_key()?;
        let signer_der = build_signer(&root_der, &root_key, &signer_key, crl_url, now)?;
        write_atomic(
            &dir.join(SIGNER_KEY),
            signer_key.serialize_pem().as_bytes(),
            0o600,
        )?;
        write_atomic(
            &dir.join(SIGNER_CERT),
            to_pem("CERTIFICATE", &signer_der).as_bytes(),
            0o644,
        )?;
        let mut state = CrlState::default();
        let crl = build_crl(&root_der, &root_key, &mut state, now)?;
        write_atomic(&dir.join(CRL_FILE), &crl, 0o644)?;
        write_state(dir, &state)?;
        tracing::info!(dir = %dir.display(), "dev token authority: created root, signer and CRL");
        write_atomic(
            &dir.join(ROOT_CERT),
            to_pem("CERTIFICATE", &root_der).as_bytes(),
            0o644,
        )
    }

    fn load(dir: &Path, crl_url: &str) -> Result<Self, PaError> {
        let root_der = read_one_cert(&dir.join(ROOT_CERT))?;
        let root_key = read_key(&dir.join(ROOT_KEY))?;
        let signer_der = read_one_cert(&dir.join(SIGNER_CERT))?;
        let signer_key = ecdsa_key(&read_key(&dir.join(SIGNER_KEY))?)?;
        let state_path = dir.join(CRL_STATE);
        let state_text =
            std::fs::read_to_string(&state_path).map_err(|e| PaError::io(&state_path, e))?;
        let crl_state: CrlState = serde_json::from_str(&state_text)
            .map_err(|e| PaError::Stored(format!("{}: {e}", state_path.display())))?;
        let crl_path = dir.join(CRL_FILE);
        let crl_der = std::fs::read(&crl_path).map_err(|e| PaError::io(&crl_path, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            crl_url: crl_url.to_string(),
            root_der,
            root_key,
            signer_der,
            signer_key,
            crl_state,
            crl_der,
        })
    }

    /// The root certificate, DER.
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The current token-signing certificate, DER.
    pub fn signer_der(&self) -> &[u8] {
        &self.signer_der
    }

    /// The token-signing key.
    pub fn signer_key(&self) -> &EcSigner {
        &self.signer_key
    }

    /// The current CRL, DER.
    pub fn crl_der(&self) -> &[u8] {
        &self.crl_der
    }

    /// The CRL issuer's Name, DER: the root's subject (the root signs the CRL). What a certificate's
    /// cRLDistributionPoints `cRLIssuer` names when it points at this CRL (RFC 5280 §4.2.1.13).
    pub fn crl_issuer_name_der(&self) -> Result<Vec<u8>, PaError> {
        use der::Encode;
        let root = parse_cert(&self.root_der)?;
        root.tbs_certificate()
            .subject()
            .to_der()
            .map_err(|e| PaError::Stored(format!("root subject: {e}")))
    }

    /// The serial number (INTEGER content bytes) of the current token-signing certificate.
    pub fn signer_serial(&self) -> Result<Vec<u8>, PaError> {
        let cert = parse_cert(&self.signer_der)?;
        Ok(cert.tbs_certificate().serial_number().as_bytes().to_vec())
    }

    /// The URIs in the signer's cRLDistributionPoints (RFC 5280 §4.2.1.13).
    fn signer_crl_urls(&self) -> Result<Vec<String>, PaError> {
        use x509_cert::ext::pkix::CrlDistributionPoints;
        use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
        let cert = parse_cert(&self.signer_der)?;
        let dps = cert
            .tbs_certificate()
            .get_extension::<CrlDistributionPoints>()
            .map_err(|e| PaError::Stored(format!("signer cRLDistributionPoints: {e}")))?;
        let mut urls = Vec::new();
        for dp in dps.map(|(_, d)| d.0).unwrap_or_default() {
            if let Some(DistributionPointName::FullName(names)) = dp.distribution_point {
                for name in names {
                    if let GeneralName::UniformResourceIdentifier(uri) = name {
                        urls.push(uri.to_string());
                    }
                }
            }
        }
        Ok(urls)
    }

    fn signer_not_after(&self) -> Result<i64, PaError> {
        let cert = parse_cert(&self.signer_der)?;
        let secs = cert
            .tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration()
            .as_secs();
        Ok(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// True when the CRL has less than half its lifetime left (or the state is inconsistent), so
    /// relying parties always see a CRL well before its nextUpdate.
    pub fn crl_is_stale(&self, now: i64) -> bool {
        let half = (self.crl_state.next_update - self.crl_state.this_update) / 2;
        self.crl_der.is_empty() || half <= 0 || now >= self.crl_state.this_update + half
    }

    /// Reissues and stores the CRL.
    pub fn write_crl(&mut self, now: i64) -> Result<(), PaError> {
        let mut state = self.crl_state.clone();
        let crl = build_crl(&self.root_der, &self.root_key, &mut state, now)?;
        write_atomic(&self.dir.join(CRL_FILE), &crl, 0o644)?;
        write_state(&self.dir, &state)?;
        self.crl_state = state;
        self.crl_der = crl;
        Ok(())
    }

    /// Lists the current signer in the CRL (reason superseded), then issues a fresh signer with a
    /// new key. Returns the revoked serial (hex).
    pub fn revoke_signer(&mut self, now: i64) -> Result<String, PaError> {
        let serial = hex::encode(self.signer_serial()?);
        self.crl_state.revoked.push(RevokedEntry {
            serial: serial.clone(),
            revoked_at: now,
        });
        self.reissue_signer(now)?;
        self.write_crl(now)?;
        tracing::warn!(serial = %serial, "dev token authority: token-signing certificate revoked");
        Ok(serial)
    }

    fn reissue_signer(&mut self, now: i64) -> Result<(), PaError> {
        let key = generate_key()?;
        let der = build_signer(&self.root_der, &self.root_key, &key, &self.crl_url, now)?;
        let signer_key = ecdsa_key(&key)?;
        write_atomic(
            &self.dir.join(SIGNER_KEY),
            key.serialize_pem().as_bytes(),
            0o600,
        )?;
        write_atomic(
            &self.dir.join(SIGNER_CERT),
            to_pem("CERTIFICATE", &der).as_bytes(),
            0o644,
        )?;
        self.signer_der = der;
        self.signer_key = signer_key;
        tracing::info!("dev token authority: issued a new token-signing certificate");
        Ok(())
    }
}

/// Whether `dir` holds an initialised authority (`root.pem` is written last).
pub(crate) fn is_initialised(dir: &Path) -> bool {
    dir.join(ROOT_CERT).exists()
}

fn generate_key() -> Result<KeyPair, PaError> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(PaError::crypto)
}

fn ecdsa_key(key: &KeyPair) -> Result<EcSigner, PaError> {
    EcSigner::from_der(key.serialized_der()).map_err(PaError::crypto)
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. rcgen's default is a
/// truncated SHA-256 (crates.md); SHAKEN tooling expects the RFC form.
fn key_id(key: &KeyPair) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, key.public_key_raw())
        .as_ref()
        .to_vec()
}

/// 16 random bytes, high bit clear (a positive INTEGER, RFC 5280 §4.1.2.2) and never a leading
/// zero byte (so the encoding is exactly 16 bytes).
fn random_serial() -> Result<SerialNumber, PaError> {
    let mut bytes = random_bytes(16)?;
    if let Some(first) = bytes.first_mut() {
        *first = (*first & 0x7f) | 0x01;
    }
    Ok(SerialNumber::from_slice(&bytes))
}

/// `n` bytes from the system CSPRNG.
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, PaError> {
    let mut out = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(PaError::crypto)?;
    Ok(out)
}

/// `n` random bytes as base64url without padding.
pub(crate) fn random_b64url(n: usize) -> Result<String, PaError> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(n)?))
}

fn time_of(unix: i64) -> Result<OffsetDateTime, PaError> {
    OffsetDateTime::from_unix_timestamp(unix).map_err(PaError::crypto)
}

fn name(cn: &str) -> Result<DistinguishedName, PaError> {
    let mut dn = DistinguishedName::new();
    let country = PrintableString::try_from("US").map_err(PaError::crypto)?;
    dn.push(DnType::CountryName, DnValue::PrintableString(country));
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, cn);
    Ok(dn)
}

fn build_root(key: &KeyPair, now: i64) -> Result<Vec<u8>, PaError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(ROOT_CN)?;
    params.serial_number = Some(random_serial()?);
    params.not_before = time_of(now - BACKDATE)?;
    params.not_after = time_of(now + ROOT_LIFETIME)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_id(key));
    let cert = params.self_signed(key).map_err(PaError::crypto)?;
    Ok(cert.der().to_vec())
}

fn build_signer(
    root_der: &[u8],
    root_key: &KeyPair,
    key: &KeyPair,
    crl_url: &str,
    now: i64,
) -> Result<Vec<u8>, PaError> {
    let issuer =
        Issuer::from_ca_cert_der(&root_der.to_vec().into(), root_key).map_err(PaError::crypto)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(SIGNER_CN)?;
    params.serial_number = Some(random_serial()?);
    params.not_before = time_of(now - BACKDATE)?;
    params.not_after = time_of(now + SIGNER_LIFETIME)?;
    // ExplicitNoCa writes basicConstraints cA FALSE and makes rcgen emit the SKI (crates.md).
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_id(key));
    params.use_authority_key_identifier_extension = true;
    params.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![crl_url.to_string()],
    }];
    let cert = params.signed_by(key, &issuer).map_err(PaError::crypto)?;
    Ok(cert.der().to_vec())
}

/// Signs a CRL listing every revoked serial in `state`, bumping its number and dates.
fn build_crl(
    root_der: &[u8],
    root_key: &KeyPair,
    state: &mut CrlState,
    now: i64,
) -> Result<Vec<u8>, PaError> {
    let issuer =
        Issuer::from_ca_cert_der(&root_der.to_vec().into(), root_key).map_err(PaError::crypto)?;
    let mut revoked_certs = Vec::with_capacity(state.revoked.len());
    for entry in &state.revoked {
        let serial = hex::decode(&entry.serial)
            .map_err(|e| PaError::Stored(format!("revoked serial {}: {e}", entry.serial)))?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&serial),
            revocation_time: time_of(entry.revoked_at)?,
            reason_code: Some(RevocationReason::Superseded),
            invalidity_date: None,
        });
    }
    state.crl_number += 1;
    state.this_update = now;
    state.next_update = now + CRL_LIFETIME;
    let params = CertificateRevocationListParams {
        this_update: time_of(state.this_update)?,
        next_update: time_of(state.next_update)?,
        crl_number: SerialNumber::from(state.crl_number),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::PreSpecified(key_id(root_key)),
    };
    let crl = params.signed_by(&issuer).map_err(PaError::crypto)?;
    Ok(crl.der().to_vec())
}

fn parse_cert(der: &[u8]) -> Result<x509_cert::Certificate, PaError> {
    x509_cert::Certificate::from_der(der)
        .map_err(|e| PaError::Stored(format!("stored certificate: {e}")))
}

fn read_one_cert(path: &Path) -> Result<Vec<u8>, PaError> {
    let bytes = std::fs::read(path).map_err(|e| PaError::io(path, e))?;
    let certs = pem_certificates(&bytes)
        .map_err(|e| PaError::Stored(format!("{}: {e}", path.display())))?;
    match certs.into_iter().next() {
        Some(der) => {
            parse_cert(&der)?;
            Ok(der)
        }
        None => Err(PaError::Stored(format!(
            "{}: no certificate in file",
            path.display()
        ))),
    }
}

fn read_key(path: &Path) -> Result<KeyPair, PaError> {
    let bytes = std::fs::read(path).map_err(|e| PaError::io(path, e))?;
    let der = pem_blocks(&bytes, "PRIVATE KEY")
        .map_err(|e| PaError::Stored(format!("{}: {e}", path.display())))?
        .into_iter()
        .next()
        .ok_or_else(|| PaError::Stored(format!("{}: no PKCS#8 PRIVATE KEY", path.display())))?;
    KeyPair::from_pkcs8_der_and_sign_algo(&der.into(), &PKCS_ECDSA_P256_SHA256)
        .map_err(|e| PaError::Stored(format!("{}: {e}", path.display())))
}

fn write_state(dir: &Path, state: &CrlState) -> Result<(), PaError> {
    let text = serde_json::to_string_pretty(state).map_err(PaError::crypto)?;
    write_atomic(&dir.join(CRL_STATE), text.as_bytes(), 0o644)
}

/// Writes `bytes` to a fresh temporary file created with `mode` (so a key is never readable by
/// others, not even briefly), then renames it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PaError> {
    let suffix = hex::encode(random_bytes(6)?);
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".tmp-{suffix}"));
    let tmp = PathBuf::from(tmp_name);
    let result = write_new_file(&tmp, bytes, mode)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| PaError::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `path` (which must not exist) with `mode` and writes `bytes` to it.
pub(crate) fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PaError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| PaError::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| PaError::io(path, e))
}
