//! Issuance: the only module that holds CA signing keys.
//!
//! Boulder's split between deciding and signing: the RA decides what to issue, the CA builds the
//! certificate from a profile (never from the CSR), lints it and only then signs it.
//! [`Ca::prepare`] builds the to-be-signed certificate, signs it with a throwaway lint key, runs
//! [`crate::lint`] over the result and refuses on any error-level finding; [`Ca::issue`] consumes
//! the [`Prepared`] token, signs the same parameters with the real key, checks that the signed
//! TBSCertificate is byte for byte the one that was linted and that the signature verifies, and
//! audit-logs before and after (tracing target `audit`).
//!
//! Profiles (`profiles.md` in the design notes), one file each: [`shaken_spc`] (ATIS-1000080 v005
//! §6.4.1), [`tn_level`], [`sca`] and [`delegate`]; what they share is in [`build`].
//!
//! The CA also enforces what its own issuing certificate allows, whatever the RA asked: a CA
//! certificate (`sca`) only when the issuer's pathLenConstraint leaves room for one, and, when
//! the issuer carries a TNAuthList (a subordinate stica running under an SCA), only lists that
//! list encompasses (RFC 9060 §4).

pub(crate) mod build;
pub mod crl_signer;
pub mod csr;
pub mod delegate;
pub mod ext;
pub mod hierarchy;
pub mod oid;
pub mod pkcs11;
pub mod sca;
pub mod serial;
pub mod shaken_spc;
pub mod signer;
pub mod subordinate;
pub mod tn_level;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use const_oid::ObjectIdentifier;
use der::Decode;

use crate::error::{Error, ErrorKind};
use crate::lint::{self, Finding, LintContext};
use crate::policy::Policy;
use crate::policy::inventory::{NumberInventory, encompasses_with_inventory};
use crate::tnauth::TnAuthList;
use crate::tnauth::jwtcc::ClaimConstraints;

pub use hierarchy::{
    HierarchyPaths, init_hierarchy, init_hierarchy_pkcs11, init_hierarchy_with, name_from_file,
};
pub use signer::{KeyFileSigner, Signer, SignerError};

use signer::RcgenKey;

/// Errors from the CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// A file of the CA hierarchy could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// the file
        path: PathBuf,
        /// why
        source: std::io::Error,
    },
    /// Some, but not all, of the hierarchy files exist: stica neither overwrites nor guesses.
    #[error(
        "incomplete CA hierarchy, missing {missing:?}; restore them from backup or move the others away"
    )]
    PartialHierarchy {
        /// the files that are missing
        missing: Vec<PathBuf>,
    },
    /// A stored CA certificate is unusable, or does not match its key or its issuer.
    #[error("CA hierarchy unusable: {0}")]
    BadHierarchy(String),
    /// `stica ca import` refused the chain, the key or the data directory; nothing was written.
    #[error("cannot import: {0}")]
    Import(String),
    /// The CA signing key failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The subject public key is not an uncompressed P-256 key (ATIS-1000080 §6.4.1).
    #[error("unacceptable subject key: {0}")]
    BadKey(String),
    /// The request cannot be issued under the profile (TNAuthList not a single SPC, empty
    /// organization, validity outside the issuer's).
    #[error("cannot issue: {0}")]
    BadRequest(String),
    /// CA configuration (certificate policy, CRL distribution point) is unusable.
    #[error("CA configuration: {0}")]
    Config(String),
    /// Policy offers `sca`, but the issuing certificate's pathLenConstraint leaves no room for a
    /// CA certificate below it (RFC 5280 §4.2.1.9): stica refuses to start.
    #[error(
        "the issuing certificate {issuer} has pathLenConstraint {have}, but policy offers the `sca` profile with sca_path_len = {sca_path_len}, which needs at least {need}. Fix: remove \"sca\" from [issuance] profiles in policy.toml, or give stica an issuing certificate with pathLen >= {need}; for a development hierarchy, stop stica, move <data-dir>/ca away and start again once with --bind-new-database (a new root and an intermediate with pathLen {need} are created; certificates issued before no longer chain to the new root, so clients must fetch the new ca/root.pem)"
    )]
    IssuerPathLenTooSmall {
        /// the issuing certificate (file or subject)
        issuer: String,
        /// its pathLenConstraint
        have: u8,
        /// policy `sca_path_len`
        sca_path_len: u8,
        /// the pathLen needed
        need: u8,
    },
    /// The issuing certificate does not allow this certificate: a CA certificate where its
    /// pathLenConstraint is exhausted, or where it is not a CA.
    #[error("not permitted by the issuing CA: {0}")]
    NotPermitted(String),
    /// The TNAuthList is not encompassed by the issuing certificate's TNAuthList (RFC 9060 §4).
    #[error("outside the issuing CA's scope: {0}")]
    OutOfScope(String),
    /// The to-be-signed certificate failed lint: nothing was signed.
    #[error("certificate failed lint: {}", lint::summary(.0))]
    Lint(Vec<Finding>),
    /// rcgen could not build or sign the certificate.
    #[error("certificate build failed: {0}")]
    Build(#[from] rcgen::Error),
    /// The signed certificate is not what was linted, or its signature does not verify with
    /// the CA key (a faulty signer or HSM): it is discarded.
    #[error("issuance integrity check failed: {0}")]
    Integrity(String),
}

impl From<CaError> for Error {
    fn from(e: CaError) -> Self {
        match e {
            CaError::BadKey(detail) => Error::new(
                ErrorKind::BadCsr,
                format!("CSR public key not acceptable: {detail}"),
            ),
            CaError::BadRequest(detail) => Error::new(ErrorKind::BadCsr, detail),
            CaError::NotPermitted(detail) => Error::new(
                ErrorKind::Unauthorized,
                format!("the issuing CA does not allow this certificate: {detail}"),
            ),
            CaError::OutOfScope(detail) => Error::new(
                ErrorKind::RejectedIdentifier,
                format!("this CA cannot issue for this TNAuthList: {detail}"),
            ),
            CaError::Lint(findings) => {
                for f in &findings {
                    tracing::error!(rule = f.rule, level = ?f.level, detail = %f.detail, "lint finding blocked issuance");
                }
                Error::internal(format!(
                    "certificate failed lint: {}",
                    lint::summary(&findings)
                ))
            }
            other => Error::internal(other),
        }
    }
}

/// A certificate profile (profiles.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// The STI end-entity certificate for one SPC (ATIS-1000080 v005 §6.4.1).
    ShakenSpc,
    /// An end-entity certificate for the numbers and ranges of a TN-list token.
    TnLevel,
    /// A delegating CA certificate (STI-SCA), on a token with `"ca": true`.
    Sca,
    /// An enterprise's end-entity certificate for numbers delegated to it (RFC 9060).
    Delegate,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 4] = [
        Profile::ShakenSpc,
        Profile::TnLevel,
        Profile::Sca,
        Profile::Delegate,
    ];

    /// The profile name used in storage, logs, policy and the directory `meta`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::ShakenSpc => crate::policy::PROFILE_SHAKEN_SPC,
            Profile::TnLevel => crate::policy::PROFILE_TN_LEVEL,
            Profile::Sca => crate::policy::PROFILE_SCA,
            Profile::Delegate => crate::policy::PROFILE_DELEGATE,
        }
    }

    /// Parses a profile name.
    pub fn parse(name: &str) -> Option<Self> {
        Profile::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// One line for the directory `meta.profiles`.
    pub fn description(self) -> &'static str {
        match self {
            Profile::ShakenSpc => {
                "SHAKEN STI end-entity certificate for one SPC (ATIS-1000080 §6.4.1)"
            }
            Profile::TnLevel => {
                "end-entity certificate for the telephone numbers and ranges of a TN-list Authority Token (optionally with the SPC)"
            }
            Profile::Sca => {
                "delegating CA certificate (STI-SCA) for the token's scope; needs an Authority Token with \"ca\": true (RFC 9448, RFC 9060)"
            }
            Profile::Delegate => {
                "enterprise end-entity certificate for numbers delegated by a carrier's certificate (RFC 9060)"
            }
        }
    }

    /// True for the CA profile (`sca`).
    pub fn is_ca(self) -> bool {
        self == Profile::Sca
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where relying parties find revocation for the certificates stica issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlDistributionPoint {
    /// `fullName` URI of the CRL (http or https).
    pub url: String,
    /// DER `Name` of the CRL issuer when the CRL is indirect (the STI-PA's, or stica's own CRL
    /// signer): copied byte for byte into `cRLIssuer`.
    pub crl_issuer_der: Option<Vec<u8>>,
}

/// What the RA asks the CA to issue. Everything in it has been validated by the RA; the CA
/// checks again what the profile depends on.
#[derive(Debug, Clone)]
pub struct IssuanceRequest {
    /// The profile.
    pub profile: Profile,
    /// The subject's DER SubjectPublicKeyInfo (from the CSR).
    pub spki_der: Vec<u8>,
    /// The DER TNAuthorizationList (the order's identifier, DER-equal to the CSR's and the token's),
    /// copied into the certificate byte for byte; its shape must fit the profile (one SHAKEN SPC
    /// for `shaken-spc`, numbers for `tn-level`, ...).
    pub tnauthlist_der: Vec<u8>,
    /// Subject `O`: the legal name of the service provider (from the account binding).
    pub organization: String,
    /// notBefore, unix seconds.
    pub not_before: i64,
    /// notAfter, unix seconds (capped at the issuing certificate's notAfter).
    pub not_after: i64,
    /// The ACME account, for the audit log; also the account label in the CN of a `tn-level`
    /// certificate without an SPC.
    pub account_id: String,
    /// JWT claim constraints (RFC 8226 §8 or RFC 9118, one kind) for a `tn-level` or `delegate`
    /// certificate; other profiles refuse them.
    pub claim_constraints: Option<ClaimConstraints>,
}

/// A certificate that passed lint and may be signed: the token [`Ca::issue`] consumes. Only the
/// CA can make one.
pub struct Prepared {
    profile: Profile,
    params: rcgen::CertificateParams,
    subject_key: SubjectKey,
    serial_hex: String,
    subject: String,
    scope: String,
    account_id: String,
    not_before: i64,
    not_after: i64,
    linted_tbs: Vec<u8>,
    findings: Vec<Finding>,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared")
            .field("profile", &self.profile)
            .field("serial_hex", &self.serial_hex)
            .field("subject", &self.subject)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// The serial the certificate will carry (lowercase hex).
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }
    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }
    /// The subject DN as text.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// notBefore (unix seconds), after capping.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }
    /// notAfter (unix seconds), after capping at the issuer's notAfter.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }
    /// Non-blocking lint findings (warnings), for the log.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

/// A signed certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// Serial, lowercase hex (20 octets).
    pub serial_hex: String,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// PEM chain for `application/pem-certificate-chain`: leaf, then [`Ca::chain_der`] (the
    /// intermediate; for a subordinate the SCA, then its issuers below the root).
    pub chain_pem: String,
    /// notBefore, unix seconds.
    pub not_before: i64,
    /// notAfter, unix seconds.
    pub not_after: i64,
}

/// A subject public key for rcgen: an uncompressed P-256 point.
#[derive(Debug, Clone)]
struct SubjectKey(Vec<u8>);

impl rcgen::PublicKeyData for SubjectKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// The issuing CA.
pub struct Ca {
    issuer: rcgen::Issuer<'static, RcgenKey>,
    lint_issuer: rcgen::Issuer<'static, RcgenKey>,
    signer: Arc<dyn Signer>,
    root_der: Vec<u8>,
    chain: Vec<Vec<u8>>,
    issuer_not_before: i64,
    issuer_not_after: i64,
    certificate_policy: ObjectIdentifier,
    country: String,
    crl_dp_der: Vec<u8>,
    own_crl_dp_der: Option<Vec<u8>>,
    issuer_is_ca: bool,
    issuer_path_len: Option<u8>,
    issuer_tnauthlist: Option<TnAuthList>,
    subordinate: bool,
    sca_path_len: u8,
    sca_crl_sign: bool,
    inventory: Option<Arc<NumberInventory>>,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("signer", &self.signer)
            .field("certificate_policy", &self.certificate_policy)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// Loads `<data_dir>/ca/{root,intermediate}.pem` and the intermediate's key file; with
    /// `ca/chain.pem` (an imported hierarchy, [`subordinate`]) a subordinate CA whose issuing
    /// certificate is `intermediate.pem`.
    pub fn load(
        data_dir: &Path,
        policy: &Policy,
        crl_dp: CrlDistributionPoint,
    ) -> Result<Ca, CaError> {
        let paths = HierarchyPaths::new(data_dir);
        let root_der = hierarchy::read_cert(&paths.root_cert)?;
        let intermediate_der = hierarchy::read_cert(&paths.intermediate_cert)?;
        let signer = paths.issuing_signer()?;
        if paths.is_imported() {
            let bytes = std::fs::read(&paths.chain).map_err(|source| CaError::Io {
                path: paths.chain.clone(),
                source,
            })?;
            let intermediates = crate::x509::pem_certificates(&bytes)
                .map_err(|e| CaError::BadHierarchy(format!("{}: {e}", paths.chain.display())))?;
            return Ca::subordinate_with_signer(
                root_der,
                intermediate_der,
                intermediates,
                signer,
                policy,
                crl_dp,
            );
        }
        Ca::with_signer(root_der, intermediate_der, signer, policy, crl_dp)
    }

    /// Builds a CA from its certificates and any [`Signer`] (key file, PKCS#11). Checks that the
    /// signer's key is the intermediate's and that the root signed the intermediate.
    pub fn with_signer(
        root_der: Vec<u8>,
        intermediate_der: Vec<u8>,
        signer: Arc<dyn Signer>,
        policy: &Policy,
        crl_dp: CrlDistributionPoint,
    ) -> Result<Ca, CaError> {
        let root = x509_cert::Certificate::from_der(&root_der)
            .map_err(|e| CaError::BadHierarchy(format!("root certificate: {e}")))?;
        let root_key = root
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| {
                CaError::BadHierarchy("root public key is not an octet-aligned BIT STRING".into())
            })?;
        let check_path = |issuing: &[u8]| {
            verify_signed_by(issuing, root_key).map_err(|e| {
                CaError::BadHierarchy(format!("intermediate is not signed by the root: {e}"))
            })
        };
        Ca::assemble(
            root_der,
            intermediate_der,
            Vec::new(),
            false,
            check_path,
            signer,
            policy,
            crl_dp,
        )
    }

    /// A subordinate CA (RFC 9060 §4, [`subordinate`]): its issuing certificate is an `sca`
    /// certificate issued under another CA, `intermediates` the certificates between it and
    /// `root_der` (issuing side first). Refuses an issuing certificate that is not a CA, carries
    /// no TNAuthList or is not valid now, a path to the root that does not verify, and a policy
    /// offering profiles a subordinate does not issue (it issues `delegate`, and `sca` when its
    /// pathLen leaves room).
    pub fn subordinate_with_signer(
        root_der: Vec<u8>,
        issuing_der: Vec<u8>,
        intermediates: Vec<Vec<u8>>,
        signer: Arc<dyn Signer>,
        policy: &Policy,
        crl_dp: CrlDistributionPoint,
    ) -> Result<Ca, CaError> {
        let bad = |m: String| CaError::BadHierarchy(format!("subordinate CA (imported): {m}"));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        subordinate::check_issuing_cert(&issuing_der, now).map_err(bad)?;
        let foreign: Vec<&str> = policy
            .file
            .issuance
            .profiles
            .iter()
            .map(String::as_str)
            .filter(|p| ![Profile::Delegate.as_str(), Profile::Sca.as_str()].contains(p))
            .collect();
        if !foreign.is_empty() {
            return Err(bad(format!(
                "policy offers {foreign:?}, but a subordinate CA issues only delegate certificates (and sca when its pathLen leaves room); set [issuance] profiles = [\"delegate\"] in policy.toml"
            )));
        }
        let check_path = |issuing: &[u8]| {
            subordinate::verify_path(issuing, &intermediates, &root_der, now).map_err(bad)
        };
        Ca::assemble(
            root_der.clone(),
            issuing_der,
            intermediates.clone(),
            true,
            check_path,
            signer,
            policy,
            crl_dp,
        )
    }

    /// What [`Ca::with_signer`] and [`Ca::subordinate_with_signer`] share: the signer's key must
    /// be the issuing certificate's, then `check_path` checks the path to the root.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        root_der: Vec<u8>,
        intermediate_der: Vec<u8>,
        intermediates: Vec<Vec<u8>>,
        subordinate: bool,
        check_path: impl FnOnce(&[u8]) -> Result<(), CaError>,
        signer: Arc<dyn Signer>,
        policy: &Policy,
        crl_dp: CrlDistributionPoint,
    ) -> Result<Ca, CaError> {
        let bad = |m: String| CaError::BadHierarchy(m);
        let inter = x509_cert::Certificate::from_der(&intermediate_der)
            .map_err(|e| bad(format!("intermediate certificate: {e}")))?;
        let inter_key = inter
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| {
                bad("intermediate public key is not an octet-aligned BIT STRING".into())
            })?;
        if inter_key != signer.public_key() {
            return Err(bad(
                "the signing key is not the intermediate certificate's key".into(),
            ));
        }
        check_path(&intermediate_der)?;

        let issuance = &policy.file.issuance;
        let certificate_policy: ObjectIdentifier = issuance
            .certificate_policy
            .parse()
            .map_err(|e| CaError::Config(format!("certificate_policy: {e}")))?;
        let crl_dp_der =
            ext::crl_distribution_points(&crl_dp.url, crl_dp.crl_issuer_der.as_deref())
                .map_err(CaError::Config)?;
        if !(crl_dp.url.starts_with("http://") || crl_dp.url.starts_with("https://")) {
            return Err(CaError::Config(format!(
                "CRL distribution point {:?} is not an http(s) URL",
                crl_dp.url
            )));
        }

        let (issuer_is_ca, issuer_path_len) = issuer_basic_constraints(&inter)?;
        let issuer_tnauthlist = issuer_tnauthlist(&inter)?;
        let need = policy.required_issuer_path_len();
        if need > 0 {
            if !issuer_is_ca {
                return Err(bad("the issuing certificate is not a CA".into()));
            }
            if let Some(have) = issuer_path_len
                && have < need
                && subordinate
            {
                return Err(bad(format!(
                    "policy offers the `sca` profile with sca_path_len = {}, which needs pathLenConstraint >= {need} on the issuing certificate, but the imported SCA {} has pathLenConstraint {have}; remove \"sca\" from [issuance] profiles in policy.toml (or lower sca_path_len), or obtain an SCA with a larger pathLen",
                    issuance_sca_path_len(policy),
                    subject_cn(&inter)
                )));
            }
            if let Some(have) = issuer_path_len
                && have < need
            {
                return Err(CaError::IssuerPathLenTooSmall {
                    issuer: subject_cn(&inter),
                    have,
                    sca_path_len: issuance_sca_path_len(policy),
                    need,
                });
            }
        }

        let validity = inter.tbs_certificate().validity();
        let issuer_not_before = validity.not_before.to_unix_duration().as_secs() as i64;
        let issuer_not_after = validity.not_after.to_unix_duration().as_secs() as i64;

        let cert_der = rustls::pki_types::CertificateDer::from(intermediate_der.as_slice());
        let issuer = rcgen::Issuer::from_ca_cert_der(&cert_der, RcgenKey(signer.clone()))?;
        let lint_key: Arc<dyn Signer> = Arc::new(KeyFileSigner::generate()?);
        let lint_issuer = rcgen::Issuer::from_ca_cert_der(&cert_der, RcgenKey(lint_key))?;

        Ok(Ca {
            issuer,
            lint_issuer,
            signer,
            root_der,
            chain: std::iter::once(intermediate_der)
                .chain(intermediates)
                .collect(),
            issuer_not_before,
            issuer_not_after,
            certificate_policy,
            country: issuance.country.clone(),
            crl_dp_der,
            own_crl_dp_der: None,
            issuer_is_ca,
            issuer_path_len,
            issuer_tnauthlist,
            subordinate,
            sca_path_len: issuance.sca_path_len,
            sca_crl_sign: issuance.sca_crl_sign,
            inventory: None,
        })
    }

    /// Sets the number inventory ([`crate::policy::inventory`]) that lets an issuing certificate
    /// listing only an SPC encompass the numbers that SPC holds ([`Ca::check_scope`] and the
    /// lint's encompassing rule).
    pub fn with_inventory(mut self, inventory: Arc<NumberInventory>) -> Ca {
        self.inventory = Some(inventory);
        self
    }

    /// Sets the distribution point of this CA's own CRL (`<external-url>/crl`, with the CRL
    /// signer's name as `cRLIssuer` when the CRL is indirect): what `delegate` certificates name
    /// (profiles.md). Without it, `delegate` certificates are refused.
    pub fn with_own_crl(mut self, dp: CrlDistributionPoint) -> Result<Ca, CaError> {
        if !(dp.url.starts_with("http://") || dp.url.starts_with("https://")) {
            return Err(CaError::Config(format!(
                "own CRL distribution point {:?} is not an http(s) URL",
                dp.url
            )));
        }
        self.own_crl_dp_der = Some(
            ext::crl_distribution_points(&dp.url, dp.crl_issuer_der.as_deref())
                .map_err(CaError::Config)?,
        );
        Ok(self)
    }

    /// The issuing certificate's pathLenConstraint (`None`: unconstrained).
    pub fn issuer_path_len(&self) -> Option<u8> {
        self.issuer_path_len
    }

    /// The issuing certificate's TNAuthList, when it carries one (a subordinate stica under an
    /// SCA); stica's own intermediate carries none (ATIS-1000080 v005).
    pub fn issuer_tnauthlist(&self) -> Option<&TnAuthList> {
        self.issuer_tnauthlist.as_ref()
    }

    /// Refuses `list` when the issuing certificate carries a TNAuthList that does not encompass
    /// it (RFC 9060 §4, profiles.md "Encompassing"), consulting the number inventory when one is
    /// set ([`Ca::with_inventory`]): an issuer listing only an SPC encompasses numbers only where
    /// the inventory says that SPC holds them. The RA asks at newOrder so the client learns early;
    /// [`Ca::prepare`] asks again, and the lint checks the built certificate a third time.
    pub fn check_scope(&self, list: &TnAuthList) -> Result<(), CaError> {
        match &self.issuer_tnauthlist {
            Some(parent) => encompasses_with_inventory(parent, list, self.inventory.as_deref())
                .map_err(|e| {
                    CaError::OutOfScope(format!(
                        "the issuing certificate's TNAuthList does not encompass the request: {e}"
                    ))
                }),
            None => Ok(()),
        }
    }

    /// True for a subordinate CA (an imported hierarchy whose issuing certificate is an SCA,
    /// [`subordinate`]): it issues `delegate` certificates for orders that are not for a CA.
    pub fn is_subordinate(&self) -> bool {
        self.subordinate
    }

    /// Refuses a CA certificate when the issuing certificate's pathLenConstraint is exhausted
    /// (RFC 5280 §4.2.1.9): the new CA is one more CA certificate below the issuer, and its own
    /// pathLen must fit in what is left.
    pub fn check_path_len_allows_ca(&self) -> Result<(), CaError> {
        if !self.issuer_is_ca {
            return Err(CaError::NotPermitted(
                "the issuing certificate is not a CA".into(),
            ));
        }
        match self.issuer_path_len {
            Some(0) => Err(CaError::NotPermitted(
                "the issuing certificate's pathLenConstraint is 0: no CA certificate may be issued below it".into(),
            )),
            Some(have) if self.sca_path_len >= have => Err(CaError::NotPermitted(format!(
                "the issuing certificate's pathLenConstraint {have} leaves room for pathLen {} at most, policy asks for sca_path_len {}",
                have - 1,
                self.sca_path_len
            ))),
            _ => Ok(()),
        }
    }

    /// The root certificate (DER): the trust anchor for what stica issues.
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The certificates between a leaf and the root, leaf side first: the issuing certificate,
    /// then (subordinate) the certificates between it and the root. Issued chains
    /// (`chain_pem`, STI-CR, ACME download) are the leaf followed by these; the root is not sent.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// Issues a delegated OCSP responder certificate (id-kp-OCSPSigning, ocsp-nocheck) under the
    /// issuing CA, valid for `lifetime_secs`. The CA key stays here; the responder key is new.
    pub fn ocsp_responder(
        &self,
        lifetime_secs: i64,
        now: i64,
    ) -> Result<crate::status::ocsp::ResponderCert, crate::status::ocsp::OcspError> {
        crate::status::ocsp::issue_responder_cert(
            self.signer.clone(),
            self.issuer_der(),
            lifetime_secs,
            now,
        )
    }

    /// The issuing (intermediate) certificate, DER.
    pub fn issuer_der(&self) -> &[u8] {
        self.chain.first().map(Vec::as_slice).unwrap_or_default()
    }

    /// The certificatePolicies OID put into leaves.
    pub fn certificate_policy(&self) -> ObjectIdentifier {
        self.certificate_policy
    }

    /// Builds the to-be-signed certificate for `req`, lints it (signed with a throwaway key) and
    /// returns the token for [`Ca::issue`]; any error-level finding is [`CaError::Lint`] and
    /// nothing is signed.
    pub fn prepare(&self, req: IssuanceRequest) -> Result<Prepared, CaError> {
        let subject_key = csr::p256_public_key(&req.spki_der).map_err(CaError::BadKey)?;
        let list = TnAuthList::from_der(&req.tnauthlist_der)
            .map_err(|e| CaError::BadRequest(format!("TNAuthList: {e}")))?;
        let not_before = req.not_before.max(self.issuer_not_before);
        let not_after = req.not_after.min(self.issuer_not_after);
        if not_before >= not_after {
            return Err(CaError::BadRequest(format!(
                "empty validity: notBefore {} is not before notAfter {} (issuer valid {}..{})",
                req.not_before, req.not_after, self.issuer_not_before, self.issuer_not_after
            )));
        }
        if req.profile.is_ca() {
            self.check_path_len_allows_ca()?;
        }
        self.check_scope(&list)?;
        let crl_dp_der = match req.profile {
            Profile::Delegate => self.own_crl_dp_der.as_deref().ok_or_else(|| {
                CaError::Config(
                    "delegate certificates need this CA's own CRL distribution point".into(),
                )
            })?,
            _ => self.crl_dp_der.as_slice(),
        };
        let serial = serial::random_serial()
            .map_err(|_| CaError::Signer(SignerError::Sign("system RNG failed".into())))?;
        let spec = build::Spec {
            serial: &serial,
            organization: &req.organization,
            country: &self.country,
            not_before,
            not_after,
            subject_public_key: &subject_key,
            tnauthlist_der: &req.tnauthlist_der,
            certificate_policy: self.certificate_policy,
            crl_dp_der,
        };
        let claim_constraints: Vec<rcgen::CustomExtension> = match (
            &req.claim_constraints,
            req.profile,
        ) {
            (None, _) => Vec::new(),
            (Some(cc), Profile::TnLevel | Profile::Delegate) => vec![cc.to_rcgen_extension()],
            (Some(_), other) => {
                return Err(CaError::BadRequest(format!(
                    "JWT claim constraints go on tn-level and delegate certificates only, not {other}"
                )));
            }
        };
        let params = match req.profile {
            Profile::ShakenSpc => {
                let spc = lint::shaken_spc(&req.tnauthlist_der).map_err(CaError::BadRequest)?;
                shaken_spc::params(&spec, spc.as_str())?
            }
            Profile::TnLevel => {
                let (_, spc) =
                    lint::tn_level_scope(&req.tnauthlist_der).map_err(CaError::BadRequest)?;
                tn_level::params(
                    &spec,
                    spc.as_ref().map(|s| s.as_str()),
                    &req.account_id,
                    claim_constraints,
                )?
            }
            Profile::Sca => {
                let (_, spc) = lint::sca_scope(&req.tnauthlist_der).map_err(CaError::BadRequest)?;
                sca::params(
                    &spec,
                    spc.as_ref().map(|s| s.as_str()),
                    self.sca_path_len,
                    self.sca_crl_sign,
                )?
            }
            Profile::Delegate => {
                lint::delegate_scope(&req.tnauthlist_der).map_err(CaError::BadRequest)?;
                delegate::params(&spec, claim_constraints)?
            }
        };
        let subject = subject_text(&params, &self.country, &req.organization);
        let subject_key = SubjectKey(subject_key);

        let lint_der = params.signed_by(&subject_key, &self.lint_issuer)?;
        let ctx = LintContext {
            profile: req.profile,
            issuer_der: self.issuer_der(),
            certificate_policy: self.certificate_policy,
            sca_path_len: self.sca_path_len,
            sca_crl_sign: self.sca_crl_sign,
            inventory: self.inventory.as_deref(),
        };
        let findings = lint::lint_with(lint_der.der(), &ctx);
        if lint::has_errors(&findings) {
            for f in &findings {
                tracing::warn!(rule = f.rule, level = ?f.level, detail = %f.detail, serial = %serial::serial_hex(&serial), "lint finding");
            }
            return Err(CaError::Lint(findings));
        }
        let linted_tbs = tbs_bytes(lint_der.der())
            .ok_or_else(|| CaError::Integrity("lint certificate has no TBSCertificate".into()))?
            .to_vec();
        Ok(Prepared {
            profile: req.profile,
            params,
            subject_key,
            serial_hex: serial::serial_hex(&serial),
            subject,
            scope: short(&list.to_string()),
            account_id: req.account_id,
            not_before,
            not_after,
            linted_tbs,
            findings,
        })
    }

    /// Signs a prepared certificate with the CA key. Audit-logged before and after.
    pub fn issue(&self, p: Prepared) -> Result<Issued, CaError> {
        tracing::info!(
            target: "audit",
            event = "sign.start",
            serial = %p.serial_hex,
            profile = %p.profile,
            subject = %p.subject,
            tnauthlist = %p.scope,
            account = %p.account_id,
            not_before = p.not_before,
            not_after = p.not_after,
            "signing certificate"
        );
        let started = std::time::Instant::now();
        let result = self.sign_checked(&p);
        crate::metrics::signing("certificate", started.elapsed().as_secs_f64());
        match &result {
            Ok(issued) => tracing::info!(
                target: "audit",
                event = "sign.done",
                serial = %issued.serial_hex,
                profile = %p.profile,
                subject = %p.subject,
                account = %p.account_id,
                "certificate signed"
            ),
            Err(e) => tracing::error!(
                target: "audit",
                event = "sign.failed",
                serial = %p.serial_hex,
                profile = %p.profile,
                subject = %p.subject,
                account = %p.account_id,
                error = %e,
                "certificate signing failed"
            ),
        }
        result
    }

    fn sign_checked(&self, p: &Prepared) -> Result<Issued, CaError> {
        let cert = p.params.signed_by(&p.subject_key, &self.issuer)?;
        let der = cert.der().to_vec();
        let tbs = tbs_bytes(&der)
            .ok_or_else(|| CaError::Integrity("signed certificate has no TBSCertificate".into()))?;
        if tbs != p.linted_tbs.as_slice() {
            return Err(CaError::Integrity(
                "signed TBSCertificate differs from the linted one".into(),
            ));
        }
        verify_signed_by(&der, self.signer.public_key()).map_err(CaError::Integrity)?;
        let mut chain_pem = crate::x509::to_pem("CERTIFICATE", &der);
        for c in &self.chain {
            chain_pem.push_str(&crate::x509::to_pem("CERTIFICATE", c));
        }
        Ok(Issued {
            serial_hex: p.serial_hex.clone(),
            der,
            chain_pem,
            not_before: p.not_before,
            not_after: p.not_after,
        })
    }
}

/// The subject as text for logs, from the built parameters.
fn subject_text(params: &rcgen::CertificateParams, country: &str, organization: &str) -> String {
    let cn = params
        .distinguished_name
        .get(&rcgen::DnType::CommonName)
        .and_then(|v| match v {
            rcgen::DnValue::Utf8String(s) => Some(s.as_str()),
            _ => None,
        })
        .unwrap_or_default();
    build::subject_text(country, organization, cn)
}

/// A long text (a TNAuthList of many entries) cut for logs and problem details.
fn short(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// The issuing certificate's basicConstraints: (cA, pathLenConstraint).
fn issuer_basic_constraints(cert: &x509_cert::Certificate) -> Result<(bool, Option<u8>), CaError> {
    let ext = cert
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id == oid::BASIC_CONSTRAINTS);
    match ext {
        None => Ok((false, None)),
        Some(e) => {
            let bc = x509_cert::ext::pkix::BasicConstraints::from_der(e.extn_value.as_bytes())
                .map_err(|e| {
                    CaError::BadHierarchy(format!("issuing certificate basicConstraints: {e}"))
                })?;
            Ok((bc.ca, bc.path_len_constraint))
        }
    }
}

/// The issuing certificate's TNAuthList, if any.
fn issuer_tnauthlist(cert: &x509_cert::Certificate) -> Result<Option<TnAuthList>, CaError> {
    cert.tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id == oid::TN_AUTH_LIST)
        .map(|e| {
            TnAuthList::from_der(e.extn_value.as_bytes())
                .map_err(|e| CaError::BadHierarchy(format!("issuing certificate TNAuthList: {e}")))
        })
        .transpose()
}

/// The subject CN of a certificate (for messages), or its whole subject.
fn subject_cn(cert: &x509_cert::Certificate) -> String {
    cert.tbs_certificate()
        .subject()
        .iter()
        .find(|a| a.oid == oid::AT_COMMON_NAME)
        .and_then(|a| lint::directory_string(&a.value))
        .map(|cn| format!("\"{cn}\""))
        .unwrap_or_else(|| cert.tbs_certificate().subject().to_string())
}

fn issuance_sca_path_len(policy: &Policy) -> u8 {
    policy.file.issuance.sca_path_len
}

/// Length of the DER header (tag + length octets) at the start of `b`, and the content length.
fn der_header(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.get(1)?;
    if first < 0x80 {
        return Some((2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let len = b
        .get(2..2 + n)?
        .iter()
        .fold(0usize, |acc, x| (acc << 8) | usize::from(*x));
    Some((2 + n, len))
}

/// The raw TBSCertificate TLV of a certificate (the signed bytes, RFC 5280 §4.1.1.3).
pub(crate) fn tbs_bytes(cert_der: &[u8]) -> Option<&[u8]> {
    let (outer_hdr, _) = der_header(cert_der)?;
    let inner = cert_der.get(outer_hdr..)?;
    let (hdr, len) = der_header(inner)?;
    inner.get(..hdr.checked_add(len)?)
}

/// Verifies that `cert_der` is signed (ecdsa-with-SHA256) by the P-256 point `issuer_key`.
pub(crate) fn verify_signed_by(cert_der: &[u8], issuer_key: &[u8]) -> Result<(), String> {
    let cert = x509_cert::Certificate::from_der(cert_der).map_err(|e| e.to_string())?;
    if cert.signature_algorithm().oid != oid::ECDSA_WITH_SHA256 {
        return Err("signature algorithm is not ecdsa-with-SHA256".into());
    }
    let tbs = tbs_bytes(cert_der).ok_or("no TBSCertificate")?;
    let sig = cert
        .signature()
        .as_bytes()
        .ok_or("signature BIT STRING has unused bits")?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, issuer_key)
        .verify(tbs, sig)
        .map_err(|_| "signature does not verify".to_string())
}

#[cfg(test)]
mod tests;
