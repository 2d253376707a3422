//! The CA hierarchy stica runs (profiles.md "CA hierarchy"): a self-signed root and one issuing
//! intermediate, both P-256, written under `<data-dir>/ca/`.
//!
//! Root: cA TRUE (no pathLen), keyUsage keyCertSign + cRLSign, no AKI (RFC 5280 §4.2.1.1 lets a
//! self-signed certificate omit it; the Martini and STI-PA roots do), no CP, no CRL DP, CN with
//! "SHAKEN" and "ROOT". Intermediate: cA TRUE with pathLen 0, or more when policy offers `sca`
//! certificates ([`init_hierarchy_with`]; `Policy::required_issuer_path_len`), keyUsage keyCertSign only (ATIS-1000080 v005 §6.4.1 allows nothing else on STI CA
//! certificates), certificatePolicies anyPolicy (v005 permits it on intermediates), no
//! TNAuthList. Both: SKI = SHA-1 of the key (RFC 5280 §4.2.1.2 method 1), set explicitly because
//! rcgen would use truncated SHA-256; C as PrintableString.
//!
//! A subordinate stica runs on an imported hierarchy instead (`stica ca import`,
//! [`crate::ca::subordinate`]): the same `root.pem`, `intermediate.pem` and `intermediate.key`,
//! plus `chain.pem`, and no `root.key`; nothing here creates or overwrites it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyIdMethod, KeyUsagePurpose};

use super::signer::{KeyFileSigner, RcgenKey, Signer};
use super::{CaError, ext, oid, serial, shaken_spc};

/// Root lifetime.
const ROOT_DAYS: i64 = 25 * 365;
/// Intermediate lifetime (inside the root's).
const INTERMEDIATE_DAYS: i64 = 10 * 365;
/// Back-dating of both, so a verifier with a slow clock accepts them at once.
const BACKDATE_SECS: i64 = 3600;

/// The files of the hierarchy under `<data-dir>/ca/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HierarchyPaths {
    /// `<data-dir>/ca`
    pub dir: PathBuf,
    /// `root.pem`: the trust anchor (interface contract: `<data-dir>/ca/root.pem`).
    pub root_cert: PathBuf,
    /// `root.key` (PKCS#8 PEM, 0600)
    pub root_key: PathBuf,
    /// `intermediate.pem`
    pub intermediate_cert: PathBuf,
    /// `intermediate.key` (PKCS#8 PEM, 0600)
    pub intermediate_key: PathBuf,
    /// `chain.pem`: in an imported (subordinate) hierarchy only, the certificates between the
    /// issuing certificate (`intermediate.pem`) and the root, issuing side first; it may hold
    /// none. Its presence marks the hierarchy as imported ([`crate::ca::subordinate`]).
    pub chain: PathBuf,
}

impl HierarchyPaths {
    /// The paths for `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self::in_dir(data_dir.join("ca"))
    }

    /// The same file names in `dir` itself (a staging directory).
    pub(crate) fn in_dir(dir: PathBuf) -> Self {
        Self {
            root_cert: dir.join("root.pem"),
            root_key: dir.join("root.key"),
            intermediate_cert: dir.join("intermediate.pem"),
            intermediate_key: dir.join("intermediate.key"),
            chain: dir.join("chain.pem"),
            dir,
        }
    }

    /// True when the hierarchy was imported with `stica ca import` (a subordinate stica whose
    /// root key is not here).
    pub fn is_imported(&self) -> bool {
        self.chain.exists()
    }

    /// True when the CA keys live in a PKCS#11 token (`ca/pkcs11.toml`, `stica ca init
    /// --pkcs11-...`).
    pub fn in_token(&self) -> bool {
        self.dir.join(super::pkcs11::CONFIG_FILE).exists()
    }

    /// The signer of the issuing certificate: the PKCS#11 key when `ca/pkcs11.toml` says so,
    /// else `intermediate.key`.
    pub fn issuing_signer(&self) -> Result<Arc<dyn Signer>, CaError> {
        let data_dir = self.dir.parent().unwrap_or(&self.dir);
        match super::pkcs11::Pkcs11Config::load(data_dir)? {
            Some(cfg) => Ok(Arc::new(super::pkcs11::Pkcs11Signer::open(
                &cfg,
                &cfg.key_label,
            )?)),
            None => Ok(Arc::new(KeyFileSigner::load(&self.intermediate_key)?)),
        }
    }

    /// The files an imported hierarchy consists of.
    pub(crate) fn imported(&self) -> [&PathBuf; 4] {
        [
            &self.root_cert,
            &self.intermediate_cert,
            &self.intermediate_key,
            &self.chain,
        ]
    }

    fn all(&self) -> [&PathBuf; 4] {
        [
            &self.root_cert,
            &self.root_key,
            &self.intermediate_cert,
            &self.intermediate_key,
        ]
    }
}

/// Creates the root and an intermediate with pathLen 0 unless they exist; see
/// [`init_hierarchy_with`].
pub fn init_hierarchy(data_dir: &Path, org: &str) -> Result<bool, CaError> {
    init_hierarchy_with(data_dir, org, 0)
}

/// Creates the root and intermediate (certificates and keys) under `<data_dir>/ca/` unless they
/// exist, the intermediate with pathLenConstraint `intermediate_path_len` (1 or more lets it
/// issue `sca` certificates). Returns `true` when it created them, `false` when all four files
/// were already there (whatever their pathLen: `Ca::load` checks it against policy); a partial
/// set is an error (never overwritten). An imported hierarchy (`stica ca import`) is left as it
/// is: `false` when its files are all there.
pub fn init_hierarchy_with(
    data_dir: &Path,
    org: &str,
    intermediate_path_len: u8,
) -> Result<bool, CaError> {
    let paths = HierarchyPaths::new(data_dir);
    if paths.in_token() {
        // Keys in a PKCS#11 token (`stica ca init --pkcs11-...`): only the certificates are here.
        let missing = missing_files([&paths.root_cert, &paths.intermediate_cert]);
        if !missing.is_empty() {
            return Err(CaError::PartialHierarchy { missing });
        }
        return Ok(false);
    }
    if paths.is_imported() {
        // A subordinate hierarchy never has the root key: nothing to create, only to check.
        let missing = missing_files(paths.imported());
        if !missing.is_empty() {
            return Err(CaError::PartialHierarchy { missing });
        }
        return Ok(false);
    }
    let missing = missing_files(paths.all());
    if missing.is_empty() {
        return Ok(false);
    }
    if missing.len() != 4 {
        return Err(CaError::PartialHierarchy { missing });
    }
    let org = org.trim();
    if org.is_empty() {
        return Err(CaError::Config("CA organization name is empty".into()));
    }
    create_dir_private(&paths.dir)?;
    let root_key = Arc::new(KeyFileSigner::generate()?);
    let inter_key = Arc::new(KeyFileSigner::generate()?);
    let (root_der, inter_der) = build_hierarchy(
        org,
        intermediate_path_len,
        root_key.clone(),
        inter_key.clone(),
    )?;
    root_key.save(&paths.root_key)?;
    inter_key.save(&paths.intermediate_key)?;
    write_certificates(&paths, &root_der, &inter_der, org)?;
    Ok(true)
}

/// Creates the hierarchy with both keys generated inside a PKCS#11 token (`stica ca init
/// --pkcs11-...`, issue 5): the root key labelled `cfg.root_key_label` (default
/// `<key_label>-root`), the intermediate's `cfg.key_label`; writes the two certificates and
/// `ca/pkcs11.toml` (no key files, no PIN). Refuses a data directory that already holds a
/// hierarchy and labels the token already uses.
pub fn init_hierarchy_pkcs11(
    data_dir: &Path,
    org: &str,
    intermediate_path_len: u8,
    mut cfg: super::pkcs11::Pkcs11Config,
) -> Result<(), CaError> {
    use super::pkcs11::Pkcs11Signer;
    let paths = HierarchyPaths::new(data_dir);
    let present: Vec<&PathBuf> = [
        &paths.root_cert,
        &paths.root_key,
        &paths.intermediate_cert,
        &paths.intermediate_key,
        &paths.chain,
    ]
    .into_iter()
    .filter(|p| p.exists())
    .collect();
    if !present.is_empty() || paths.in_token() {
        return Err(CaError::Config(format!(
            "{} already holds a CA hierarchy; use a fresh data directory",
            paths.dir.display()
        )));
    }
    let org = org.trim();
    if org.is_empty() {
        return Err(CaError::Config("CA organization name is empty".into()));
    }
    let root_label = cfg
        .root_key_label
        .clone()
        .unwrap_or_else(|| format!("{}-root", cfg.key_label));
    cfg.root_key_label = Some(root_label.clone());
    let root_key = Arc::new(Pkcs11Signer::generate(&cfg, &root_label)?);
    let inter_key = Arc::new(Pkcs11Signer::generate(&cfg, &cfg.key_label)?);
    let (root_der, inter_der) = build_hierarchy(org, intermediate_path_len, root_key, inter_key)?;
    create_dir_private(&paths.dir)?;
    cfg.save(data_dir)?;
    write_certificates(&paths, &root_der, &inter_der, org)
}

/// The root (self-signed) and the intermediate (signed by the root), DER, for these keys.
fn build_hierarchy(
    org: &str,
    intermediate_path_len: u8,
    root_key: Arc<dyn Signer>,
    inter_key: Arc<dyn Signer>,
) -> Result<(Vec<u8>, Vec<u8>), CaError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    let root_params = ca_params(
        org,
        &format!("{org} SHAKEN ROOT"),
        root_key.public_key(),
        now - BACKDATE_SECS,
        now + ROOT_DAYS * 86400,
        IsCa::Ca(BasicConstraints::Unconstrained),
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
    )?;
    let root_signing = RcgenKey(root_key.clone());
    let root_cert = root_params.self_signed(&root_signing)?;
    let root_der = root_cert.der().to_vec();

    let mut inter_params = ca_params(
        org,
        &format!("{org} SHAKEN Issuing CA 1"),
        inter_key.public_key(),
        now - BACKDATE_SECS,
        now + INTERMEDIATE_DAYS * 86400,
        IsCa::Ca(BasicConstraints::Constrained(intermediate_path_len)),
        vec![KeyUsagePurpose::KeyCertSign],
    )?;
    inter_params.use_authority_key_identifier_extension = true;
    inter_params.custom_extensions = vec![ext::custom(
        &oid::CERTIFICATE_POLICIES,
        false,
        ext::certificate_policies(&[oid::ANY_POLICY])
            .map_err(|e| CaError::Config(e.to_string()))?,
    )];
    let root_issuer = rcgen::Issuer::from_ca_cert_der(
        &rustls::pki_types::CertificateDer::from(root_der.as_slice()),
        root_signing,
    )?;
    let inter_der = inter_params
        .signed_by(&RcgenKey(inter_key.clone()), &root_issuer)?
        .der()
        .to_vec();

    Ok((root_der, inter_der))
}

/// Writes `root.pem` and `intermediate.pem` (never overwriting) and audit-logs the creation.
fn write_certificates(
    paths: &HierarchyPaths,
    root_der: &[u8],
    inter_der: &[u8],
    org: &str,
) -> Result<(), CaError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CaError::Io { path, source }
    };
    write_new(
        &paths.root_cert,
        &crate::x509::to_pem("CERTIFICATE", root_der),
    )
    .map_err(io(&paths.root_cert))?;
    write_new(
        &paths.intermediate_cert,
        &crate::x509::to_pem("CERTIFICATE", inter_der),
    )
    .map_err(io(&paths.intermediate_cert))?;
    tracing::info!(
        target: "audit",
        event = "hierarchy.created",
        dir = %paths.dir.display(),
        organization = org,
        "created CA root and intermediate"
    );
    Ok(())
}

/// The files of `files` that do not exist.
fn missing_files<'a>(files: impl IntoIterator<Item = &'a PathBuf>) -> Vec<PathBuf> {
    files.into_iter().filter(|p| !p.exists()).cloned().collect()
}

/// Parameters shared by the root and the intermediate.
fn ca_params(
    org: &str,
    cn: &str,
    public_key: &[u8],
    not_before: i64,
    not_after: i64,
    is_ca: IsCa,
    key_usages: Vec<KeyUsagePurpose>,
) -> Result<CertificateParams, CaError> {
    let serial =
        serial::random_serial().map_err(|_| CaError::Config("system RNG failed".into()))?;
    let mut params = CertificateParams::default();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.not_before = shaken_spc::time(not_before)?;
    params.not_after = shaken_spc::time(not_after)?;
    params.distinguished_name = shaken_spc::subject("US", org, cn)?;
    params.is_ca = is_ca;
    params.key_usages = key_usages;
    params.key_identifier_method = KeyIdMethod::PreSpecified(ext::key_identifier(public_key));
    Ok(params)
}

/// Reads one certificate (PEM or DER) from `path`.
pub(crate) fn read_cert(path: &Path) -> Result<Vec<u8>, CaError> {
    let bytes = std::fs::read(path).map_err(|source| CaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    crate::x509::pem_certificates(&bytes)
        .map_err(|e| CaError::BadHierarchy(format!("{}: {e}", path.display())))?
        .into_iter()
        .next()
        .ok_or_else(|| CaError::BadHierarchy(format!("{}: no certificate", path.display())))
}

/// The DER `Name` for a distribution point's `cRLIssuer` (policy `issuance.crl_issuer`): the
/// issuer of a CRL (`X509 CRL` PEM block or DER CertificateList) or the subject of a certificate
/// (`CERTIFICATE` PEM block or DER), copied byte for byte (ATIS-1000080 §6.4.1: the STI-PA CRL's
/// issuer as encoded).
pub fn name_from_file(path: &Path) -> Result<Vec<u8>, CaError> {
    use der::{Decode, Encode};

    let bytes = std::fs::read(path).map_err(|source| CaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |m: String| CaError::Config(format!("{}: {m}", path.display()));
    let from_crl = |der: &[u8]| {
        <x509_cert::crl::CertificateList>::from_der(der)
            .and_then(|crl| crl.tbs_cert_list.issuer.to_der())
    };
    let from_cert = |der: &[u8]| {
        x509_cert::Certificate::from_der(der).and_then(|c| c.tbs_certificate().subject().to_der())
    };
    if bytes.first() == Some(&0x30) {
        return from_crl(&bytes)
            .or_else(|_| from_cert(&bytes))
            .map_err(|e| bad(format!("neither a DER CRL nor a DER certificate: {e}")));
    }
    if let Some(der) = crate::x509::pem_blocks(&bytes, "X509 CRL")
        .map_err(bad)?
        .first()
    {
        return from_crl(der).map_err(|e| bad(format!("bad CRL: {e}")));
    }
    if let Some(der) = crate::x509::pem_certificates(&bytes).map_err(bad)?.first() {
        return from_cert(der).map_err(|e| bad(format!("bad certificate: {e}")));
    }
    Err(bad("no X509 CRL or CERTIFICATE block".into()))
}

/// Creates a public file that must not exist yet.
pub(crate) fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Creates the key directory (and parents) with mode 0700 for the new directories.
pub(crate) fn create_dir_private(dir: &Path) -> Result<(), CaError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| CaError::Io {
        path: dir.to_path_buf(),
        source,
    })
}
