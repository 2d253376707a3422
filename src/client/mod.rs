//! The ACME client for service providers and enterprises: the library behind `stica client`.
//!
//! [`obtain`] runs the whole SHAKEN issuance (ATIS-1000080 §6.3; RFC 8555 §7 with the RFC 9448
//! TNAuthList identifier and the RFC 9447 tkauth-01 challenge): account (with External Account
//! Binding when asked), order, Authority Token, challenge response, a fresh P-256 certificate key,
//! CSR, finalize, download. [`AcmeClient`] is the protocol underneath, usable on its own (the
//! end-to-end tests drive the server with it). See docs/client.md.

pub mod acme;
pub mod cli;
pub mod csr;
pub mod token;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use der::{Decode, Encode};

use crate::acme::{AuthzStatus, OrderStatus, TKAUTH_TYPE_ATC};
use crate::error::Problem;
use crate::jose::EcSigner;
use crate::tnauth::TnAuthList;

pub use self::acme::{
    AccountInfo, AcmeClient, CertificateChain, KeyRef, PollPolicy, TkauthField, parse_problem,
    problem_short_type,
};
pub use self::cli::{ClientArgs, ClientCommand};
pub use self::csr::generate_csr;
pub use self::token::{TokenError, TokenSource, account_fingerprint, token_request_body};

/// What can go wrong in the client; every variant reads as a sentence a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a problem document (RFC 8555 §6.7).
    #[error("the CA refused the request: {}", describe_problem(*status, problem))]
    Problem {
        /// the HTTP status
        status: u16,
        /// the problem document (boxed: it is large and errors travel by value)
        problem: Box<Problem>,
    },
    /// The server could not be reached or the exchange broke off.
    #[error("cannot reach {url}: {}", error_chain(source))]
    Transport {
        /// the URL
        url: String,
        /// the HTTP client's error
        source: reqwest::Error,
    },
    /// The server answered an HTTP error without a problem document.
    #[error("{url} answered HTTP {status}: {body}")]
    Http {
        /// the URL
        url: String,
        /// the HTTP status
        status: u16,
        /// the start of the body
        body: String,
    },
    /// The server's answer does not follow the protocol (missing header, unparsable body, ...).
    #[error("unexpected answer from {url}: {detail}")]
    Protocol {
        /// the URL
        url: String,
        /// what was wrong
        detail: String,
    },
    /// An authorization or order ended `invalid` (RFC 8555 §7.1.6).
    #[error("{what} failed: {}", problem.as_ref().map(|p| describe_problem(p.status.unwrap_or(0), p)).unwrap_or_else(|| "the server gave no reason".into()))]
    Failed {
        /// which resource
        what: String,
        /// the problem the server recorded on it, if any
        problem: Option<Box<Problem>>,
    },
    /// Polling gave up before the resource left its transient state.
    #[error("gave up waiting for {what} after {secs} s")]
    Timeout {
        /// which resource
        what: String,
        /// the limit
        secs: u64,
    },
    /// The request needs an account URL (`kid`) and there is none yet.
    #[error("no ACME account yet: register one (newAccount) first")]
    NoAccount,
    /// Getting the Authority Token failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A local file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// the file
        path: PathBuf,
        /// why
        source: std::io::Error,
    },
    /// A key file is unusable.
    #[error("the key in {}: {detail}", path.display())]
    Key {
        /// the file
        path: PathBuf,
        /// what is wrong
        detail: String,
    },
    /// The user's input is unusable (TNAuthList syntax, EAB key, options that go together).
    #[error("{0}")]
    Input(String),
    /// The CSR could not be built.
    #[error("cannot build the CSR: {0}")]
    Csr(String),
    /// Generating a key or signing a request failed in the crypto library (never caused by
    /// input).
    #[error("cannot sign: {0}")]
    Crypto(#[from] crate::jose::JoseError),
}

impl ClientError {
    pub(crate) fn transport(url: &str, source: reqwest::Error) -> Self {
        Self::Transport {
            url: url.to_string(),
            source,
        }
    }

    /// True when this is a problem document of the ACME type `short` (e.g. `"badNonce"`).
    pub fn is_problem(&self, short: &str) -> bool {
        matches!(self, Self::Problem { problem, .. } if problem_short_type(problem) == short)
    }

    /// The problem document, for a server refusal or a failed resource.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem { problem, .. } => Some(problem),
            Self::Failed { problem, .. } => problem.as_deref(),
            _ => None,
        }
    }
}

/// `unauthorized (HTTP 403): <detail>; TNAuthList <value>: <type>: <detail>`
fn describe_problem(status: u16, problem: &Problem) -> String {
    let mut text = problem_short_type(problem).to_string();
    if status != 0 {
        text.push_str(&format!(" (HTTP {status})"));
    }
    if !problem.detail.is_empty() {
        text.push_str(": ");
        text.push_str(&problem.detail);
    }
    for sub in &problem.subproblems {
        text.push_str("; ");
        if let Some(id) = &sub.identifier {
            text.push_str(&format!("{} {}: ", id.kind, id.value));
        }
        text.push_str(problem_short_type(sub));
        if !sub.detail.is_empty() {
            text.push_str(": ");
            text.push_str(&sub.detail);
        }
    }
    text
}

/// An error and its causes, joined: reqwest's own message alone ("error sending request") hides
/// the reason (connection refused, certificate unknown, ...).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Everything `stica client obtain` needs.
#[derive(Debug, Clone)]
pub struct ObtainOptions {
    /// The ACME directory URL (plain http allowed: the development server listens on http).
    pub directory: String,
    /// The account key, PKCS#8 PEM; created (mode 0600) if missing.
    pub account_key_path: PathBuf,
    /// Contact URLs; a bare address gets `mailto:` prepended.
    pub contact: Vec<String>,
    /// External Account Binding key id (RFC 8555 §7.3.4), as `stica account add` printed it.
    pub eab_kid: Option<String>,
    /// External Account Binding HMAC key, base64url (padded or standard base64 also accepted).
    pub eab_hmac_key: Option<String>,
    /// Agree to the CA's terms of service (`termsOfServiceAgreed`).
    pub agree_terms: bool,
    /// The TNAuthList in CLI syntax, e.g. `spc:1234`.
    pub tnauthlist: String,
    /// Where the Authority Token comes from.
    pub token: TokenSource,
    /// Which response member carries the token (`atc` by default).
    pub tkauth_field: TkauthField,
    /// Requested validity (unix seconds); the CA may cap or refuse it.
    pub not_before: Option<i64>,
    /// Requested end of validity (unix seconds).
    pub not_after: Option<i64>,
    /// Directory for `key.pem` and `chain.pem`.
    pub out_dir: PathBuf,
    /// Trust only this PEM bundle for https (a private CA's server); None = system roots.
    pub ca_file: Option<PathBuf>,
    /// Polling limits.
    pub poll: PollPolicy,
}

impl ObtainOptions {
    /// Options with the defaults for everything optional.
    pub fn new(
        directory: impl Into<String>,
        account_key_path: impl Into<PathBuf>,
        tnauthlist: impl Into<String>,
        token: TokenSource,
        out_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            directory: directory.into(),
            account_key_path: account_key_path.into(),
            contact: Vec::new(),
            eab_kid: None,
            eab_hmac_key: None,
            agree_terms: false,
            tnauthlist: tnauthlist.into(),
            token,
            tkauth_field: TkauthField::default(),
            not_before: None,
            not_after: None,
            out_dir: out_dir.into(),
            ca_file: None,
            poll: PollPolicy::default(),
        }
    }
}

/// What [`obtain`] produced.
#[derive(Debug, Clone)]
pub struct Obtained {
    /// The account URL.
    pub account_url: String,
    /// The order URL.
    pub order_url: String,
    /// The certificate URL.
    pub certificate_url: String,
    /// The chain, PEM, leaf first.
    pub chain_pem: String,
    /// The leaf certificate, DER.
    pub leaf_der: Vec<u8>,
    /// Where the certificate key was written (`<out>/key.pem`, mode 0600).
    pub key_path: PathBuf,
    /// Where the chain was written (`<out>/chain.pem`).
    pub chain_path: PathBuf,
    /// Where the CA publishes the chain for PASSporT `x5u` (`X-Shaken-Certificate-Location` or
    /// the order's `x5u`), if it does.
    pub shaken_location: Option<String>,
}

/// Runs the whole issuance; `progress` receives one line per step (the CLI prints them to stderr).
pub async fn obtain(
    opts: &ObtainOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Obtained, ClientError> {
    let tnauthlist: TnAuthList = opts.tnauthlist.parse().map_err(|e| {
        ClientError::Input(format!(
            "bad TNAuthList {:?} (expected e.g. spc:1234): {e}",
            opts.tnauthlist
        ))
    })?;
    let eab = match (&opts.eab_kid, &opts.eab_hmac_key) {
        (Some(kid), Some(key)) => Some((kid.clone(), decode_hmac_key(key)?)),
        (None, None) => None,
        _ => {
            return Err(ClientError::Input(
                "the EAB key id and HMAC key go together: give both or neither".into(),
            ));
        }
    };
    let contact: Vec<String> = opts.contact.iter().map(|c| contact_url(c)).collect();
    let http = http_client(opts.ca_file.as_deref())?;

    let (account_key, created) = load_or_create_account_key(&opts.account_key_path)?;
    let key_path = opts.account_key_path.display();
    if created {
        progress(&format!("created account key {key_path}"));
    } else {
        progress(&format!("using account key {key_path}"));
        if loose_permissions(&opts.account_key_path) {
            progress(&format!(
                "warning: {key_path} is readable by others; chmod 600 it"
            ));
        }
    }

    progress(&format!("directory {}", opts.directory));
    let mut client = AcmeClient::new(&opts.directory, account_key, http.clone()).await?;
    client.set_terms_agreed(opts.agree_terms);
    client.set_poll_policy(opts.poll);
    if client.directory().meta.external_account_required && eab.is_none() {
        return Err(ClientError::Input(
            "this CA requires External Account Binding: pass the key id and HMAC key it issued \
             (--eab-kid, --eab-hmac-key)"
                .into(),
        ));
    }

    let eab_ref = eab
        .as_ref()
        .map(|(kid, key)| (kid.as_str(), key.as_slice()));
    let account = client.new_account(&contact, eab_ref, false).await?;
    progress(&format!(
        "account {} ({})",
        account.url,
        if account.created {
            "created"
        } else {
            "existing"
        }
    ));

    let (order_url, order) = client
        .new_order(&tnauthlist, opts.not_before, opts.not_after)
        .await?;
    progress(&format!(
        "order {order_url} for {tnauthlist}: {}",
        order.status.as_str()
    ));

    let mut token: Option<String> = None;
    for authz_url in &order.authorizations {
        let authz = client.authz(authz_url).await?;
        match authz.status {
            AuthzStatus::Valid => {
                progress(&format!("authorization {authz_url}: already valid"));
                continue;
            }
            AuthzStatus::Pending => {}
            other => {
                return Err(ClientError::Failed {
                    what: format!("authorization {authz_url} ({})", other.as_str()),
                    problem: None,
                });
            }
        }
        let challenge = acme::tkauth_challenge(&authz, authz_url)?;
        if let Some(kind) = &challenge.tkauth_type {
            if !kind.eq_ignore_ascii_case(TKAUTH_TYPE_ATC) {
                return Err(ClientError::Protocol {
                    url: authz_url.clone(),
                    detail: format!("tkauth-type {kind:?} is not supported (only atc)"),
                });
            }
        }
        let token = match &token {
            Some(token) => token.clone(),
            None => {
                progress(&format!(
                    "getting the Authority Token from {}",
                    describe_source(&opts.token)
                ));
                let fetched = opts
                    .token
                    .fetch(&http, &tnauthlist, &client.account_key().public_jwk())
                    .await?;
                token = Some(fetched.clone());
                fetched
            }
        };
        progress(&format!("answering tkauth-01 challenge {}", challenge.url));
        client
            .answer_tkauth(
                authz_url,
                &challenge.url,
                &token,
                opts.tkauth_field,
                format!("the tkauth-01 challenge for {tnauthlist}"),
            )
            .await?;
        progress("authorization valid");
    }

    let order = client.poll_order(&order_url).await?;
    match order.status {
        OrderStatus::Ready => {}
        OrderStatus::Valid => {
            return Err(ClientError::Protocol {
                url: order_url,
                detail: "the order was already finalized with a key this client does not hold"
                    .into(),
            });
        }
        other => {
            return Err(ClientError::Failed {
                what: format!("order {order_url} ({})", other.as_str()),
                problem: order.error.map(Box::new),
            });
        }
    }

    let cert_key = new_signer()?;
    let csr = generate_csr(&cert_key, &tnauthlist.to_der())?;
    progress("finalizing with a fresh P-256 certificate key");
    let mut order = client.finalize(&order, &csr).await?;
    if matches!(order.status, OrderStatus::Pending | OrderStatus::Processing) {
        order = client.poll_order(&order_url).await?;
    }
    if order.status != OrderStatus::Valid {
        return Err(ClientError::Failed {
            what: format!("finalizing order {order_url} ({})", order.status.as_str()),
            problem: order.error.map(Box::new),
        });
    }
    let certificate_url = order
        .certificate
        .clone()
        .ok_or_else(|| ClientError::Protocol {
            url: order_url.clone(),
            detail: "the order is valid but names no certificate".into(),
        })?;

    let chain = client.download_chain(&certificate_url).await?;
    let leaf_der = check_leaf(&chain.pem, &cert_key, &certificate_url)?;

    create_dir(&opts.out_dir)?;
    let key_path = opts.out_dir.join("key.pem");
    let chain_path = opts.out_dir.join("chain.pem");
    write_file(&key_path, cert_key.to_pkcs8_pem().as_bytes(), 0o600)?;
    write_file(&chain_path, chain.pem.as_bytes(), 0o644)?;
    progress(&format!(
        "saved {} and {}",
        key_path.display(),
        chain_path.display()
    ));

    Ok(Obtained {
        account_url: account.url,
        order_url,
        certificate_url,
        chain_pem: chain.pem,
        leaf_der,
        key_path,
        chain_path,
        shaken_location: chain.shaken_location.or(order.x5u),
    })
}

/// A fresh P-256 key (the one place the client asks jose for a key, so a signature change there is
/// a one-line change here).
pub(crate) fn new_signer() -> Result<EcSigner, ClientError> {
    Ok(EcSigner::generate()?)
}

/// The HTTP client the CLI uses: a user agent, timeouts, no redirects (ACME never redirects a
/// POST), and optionally a private trust anchor for an https directory.
pub fn http_client(ca_file: Option<&Path>) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("stica-client/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = ca_file {
        let pem = fs::read(path).map_err(|source| ClientError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ClientError::Key {
            path: path.to_path_buf(),
            detail: format!("not a PEM certificate bundle: {}", error_chain(&e)),
        })?;
        if roots.is_empty() {
            return Err(ClientError::Key {
                path: path.to_path_buf(),
                detail: "holds no certificate".into(),
            });
        }
        builder = builder.tls_certs_only(roots);
    }
    builder
        .build()
        .map_err(|e| ClientError::Input(format!("cannot set up HTTP: {}", error_chain(&e))))
}

/// Loads the PKCS#8 PEM account key at `path`, or creates one there (mode 0600). Returns the key
/// and whether it was created.
pub fn load_or_create_account_key(path: &Path) -> Result<(EcSigner, bool), ClientError> {
    match fs::read_to_string(path) {
        Ok(pem) => {
            let key = EcSigner::from_pkcs8_pem(&pem).map_err(|e| ClientError::Key {
                path: path.to_path_buf(),
                detail: format!("not a P-256 PKCS#8 PEM key: {e}"),
            })?;
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = new_signer()?;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                create_dir(parent)?;
            }
            // create_new: never overwrite a key another process just wrote.
            let mut file = private_options()
                .create_new(true)
                .open(path)
                .map_err(|source| ClientError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
            file.write_all(key.to_pkcs8_pem().as_bytes())
                .and_then(|_| file.sync_all())
                .map_err(|source| ClientError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
            Ok((key, true))
        }
        Err(source) => Err(ClientError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes `path` through a temporary sibling and a rename, so a reader never sees half a file and
/// a private key is never, even briefly, readable by others.
pub fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), ClientError> {
    let io_error = |source| ClientError::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(e)),
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp).map_err(io_error)?;
    file.write_all(contents)
        .and_then(|_| file.sync_all())
        .map_err(io_error)?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_error)
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

fn create_dir(dir: &Path) -> Result<(), ClientError> {
    fs::create_dir_all(dir).map_err(|source| ClientError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

#[cfg(unix)]
fn loose_permissions(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o077 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn loose_permissions(_path: &Path) -> bool {
    false
}

/// The EAB MAC key as CAs print it: base64url without padding (RFC 8555 §7.3.4 leaves the
/// encoding to the CA); standard base64 and padding are tolerated because users paste.
pub fn decode_hmac_key(text: &str) -> Result<Vec<u8>, ClientError> {
    let normalized: String = text
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(normalized)
        .map_err(|e| ClientError::Input(format!("the EAB HMAC key is not base64url: {e}")))?;
    if key.is_empty() {
        return Err(ClientError::Input("the EAB HMAC key is empty".into()));
    }
    Ok(key)
}

/// RFC 8555 §7.3 contacts are URLs; a bare e-mail address becomes a `mailto:` URL.
fn contact_url(contact: &str) -> String {
    let contact = contact.trim();
    if contact.contains(':') {
        contact.to_string()
    } else {
        format!("mailto:{contact}")
    }
}

fn describe_source(source: &TokenSource) -> String {
    match source {
        TokenSource::File(path) => format!("file {}", path.display()),
        TokenSource::Command(command) => format!("command `{command}`"),
        TokenSource::Authority { base_url, .. } => format!("token authority {base_url}"),
    }
}

/// Checks that the chain's leaf carries the key we generated: a CA bug or a mix-up must not leave
/// a key file that does not match its certificate. Returns the leaf DER.
fn check_leaf(pem: &str, cert_key: &EcSigner, url: &str) -> Result<Vec<u8>, ClientError> {
    let protocol = |detail: String| ClientError::Protocol {
        url: url.to_string(),
        detail,
    };
    let certs = crate::x509::pem_certificates(pem.as_bytes())
        .map_err(|e| protocol(format!("the chain is not PEM: {e}")))?;
    let leaf = certs
        .into_iter()
        .next()
        .ok_or_else(|| protocol("the chain holds no certificate".into()))?;
    let cert = x509_cert::Certificate::from_der(&leaf)
        .map_err(|e| protocol(format!("the leaf certificate does not parse: {e}")))?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| protocol(format!("the leaf key does not encode: {e}")))?;
    if spki != cert_key.public_jwk().spki_der() {
        return Err(protocol(
            "the leaf certificate is not for the key this client sent in its CSR".into(),
        ));
    }
    Ok(leaf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_key_forms() {
        let raw = b"\xfb\xff\xfe0123456789";
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let std = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(decode_hmac_key(&url).ok().as_deref(), Some(&raw[..]));
        assert_eq!(decode_hmac_key(&std).ok().as_deref(), Some(&raw[..]));
        assert!(decode_hmac_key("not base64!").is_err());
        assert!(decode_hmac_key("").is_err());
    }

    #[test]
    fn contacts_become_urls() {
        assert_eq!(contact_url("ops@example.com"), "mailto:ops@example.com");
        assert_eq!(contact_url("mailto:a@b.c"), "mailto:a@b.c");
    }

    #[cfg(unix)]
    #[test]
    fn account_key_is_created_private_and_reloaded() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("sub").join("account.pem");
        let (key, created) = load_or_create_account_key(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(created);
        let mode = fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (again, created) = load_or_create_account_key(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!created);
        assert_eq!(again.public_jwk(), key.public_jwk());

        fs::write(&path, "garbage").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            load_or_create_account_key(&path),
            Err(ClientError::Key { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn write_file_sets_the_mode_and_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("key.pem");
        fs::write(&path, "old").unwrap_or_else(|e| panic!("{e}"));
        write_file(&path, b"new", 0o600).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fs::read(&path).unwrap_or_default(), b"new");
        let mode = fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!dir.path().join(".key.pem.tmp").exists());
    }

    #[test]
    fn leaf_must_match_the_certificate_key() {
        // A self-signed certificate for one key, checked against another.
        let key = new_signer().unwrap_or_else(|e| panic!("{e}"));
        let other = new_signer().unwrap_or_else(|e| panic!("{e}"));
        let kp = rcgen::KeyPair::from_pem(&key.to_pkcs8_pem()).unwrap_or_else(|e| panic!("{e}"));
        let cert = rcgen::CertificateParams::default()
            .self_signed(&kp)
            .unwrap_or_else(|e| panic!("{e}"));
        let pem = cert.pem();
        assert!(check_leaf(&pem, &key, "u").is_ok());
        assert!(matches!(
            check_leaf(&pem, &other, "u"),
            Err(ClientError::Protocol { .. })
        ));
        assert!(check_leaf("", &key, "u").is_err());
    }

    #[test]
    fn failed_without_problem_reads_well() {
        let err = ClientError::Failed {
            what: "order x".into(),
            problem: None,
        };
        assert_eq!(err.to_string(), "order x failed: the server gave no reason");
    }

    #[tokio::test]
    async fn unreachable_directory_is_a_readable_transport_error() {
        // Port 1 on loopback: nothing listens there.
        let key = new_signer().unwrap_or_else(|e| panic!("{e}"));
        let http = http_client(None).unwrap_or_else(|e| panic!("{e}"));
        let err = AcmeClient::new("http://127.0.0.1:1/directory", key, http)
            .await
            .err()
            .unwrap_or_else(|| panic!("connected to port 1?"));
        assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("cannot reach http://127.0.0.1:1/directory"),
            "{text}"
        );
        // The cause is spelled out, not just "error sending request".
        assert!(text.matches(": ").count() >= 2, "{text}");
    }

    #[test]
    fn ca_file_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("roots.pem");
        fs::write(&path, "nothing here").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            http_client(Some(&path)),
            Err(ClientError::Key { .. })
        ));
        assert!(matches!(
            http_client(Some(&dir.path().join("missing.pem"))),
            Err(ClientError::Io { .. })
        ));
    }

    #[tokio::test]
    async fn obtain_refuses_bad_input_before_any_network() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut opts = ObtainOptions::new(
            "http://127.0.0.1:1/directory",
            dir.path().join("account.pem"),
            "spc:",
            TokenSource::File(dir.path().join("token")),
            dir.path().join("out"),
        );
        let quiet = |_: &str| {};
        assert!(matches!(
            obtain(&opts, &quiet).await,
            Err(ClientError::Input(_))
        ));
        opts.tnauthlist = "spc:1234".into();
        opts.eab_kid = Some("kid".into());
        assert!(matches!(
            obtain(&opts, &quiet).await,
            Err(ClientError::Input(_))
        ));
        // Nothing was written for refused input.
        assert!(!dir.path().join("account.pem").exists());
    }
}
