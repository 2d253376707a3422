//! CA keys in a hardware security module, through PKCS#11 (the `cryptoki` crate): the issuing
//! intermediate's key never leaves the token (issue 5, item 2).
//!
//! Configuration lives in `<data-dir>/ca/pkcs11.toml` ([`Pkcs11Config`], written by
//! `stica ca init --pkcs11-...`): the module path, the token label and the key label. The PIN is
//! never in that file nor on the command line: it comes from a file (`pin_file`) or from an
//! environment variable (`pin_env`, default `STICA_PKCS11_PIN`), so that replicas sharing a copy
//! of the data directory and the same token form one CA.
//!
//! Signing: the token signs the SHA-256 digest with `CKM_ECDSA` (every PKCS#11 token that has
//! P-256 keys offers it; `CKM_ECDSA_SHA256` is not universal) and returns raw `r || s`, which
//! [`raw_to_der`] turns into the DER ECDSA-Sig-Value that X.509 carries (crates.md). Sessions are
//! not `Sync`: a small pool of logged-in sessions, each behind a mutex, serves concurrent
//! requests.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use serde::{Deserialize, Serialize};

use super::signer::{Signer, SignerError};

/// The file under `<data-dir>/ca/` that says the CA keys live in a token.
pub const CONFIG_FILE: &str = "pkcs11.toml";
/// The environment variable the PIN is read from unless `pin_env` or `pin_file` says otherwise.
pub const DEFAULT_PIN_ENV: &str = "STICA_PKCS11_PIN";
/// DER of the prime256v1 (P-256) named curve OID, 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1).
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// Concurrent signing sessions per key.
const POOL_SIZE: usize = 4;

/// Where the CA keys are: `<data-dir>/ca/pkcs11.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (shared library), e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label (`softhsm2-util --init-token --label ...`).
    pub token_label: String,
    /// The label of the issuing intermediate's key pair.
    pub key_label: String,
    /// The label of the root's key pair, when `stica ca init` created the root in the token.
    #[serde(default)]
    pub root_key_label: Option<String>,
    /// A file holding the user PIN (first line). Takes precedence over `pin_env`.
    #[serde(default)]
    pub pin_file: Option<PathBuf>,
    /// The environment variable holding the user PIN (default `STICA_PKCS11_PIN`).
    #[serde(default)]
    pub pin_env: Option<String>,
}

impl Pkcs11Config {
    /// `<data_dir>/ca/pkcs11.toml`, if present.
    pub fn load(data_dir: &Path) -> Result<Option<Self>, SignerError> {
        let path = data_dir.join("ca").join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(SignerError::Io { path, source }),
        };
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| SignerError::BadKey {
                path,
                reason: e.to_string(),
            })
    }

    /// Writes the file (never the PIN), refusing to overwrite one.
    pub fn save(&self, data_dir: &Path) -> Result<(), SignerError> {
        let path = data_dir.join("ca").join(CONFIG_FILE);
        let text = toml::to_string(self).map_err(|e| SignerError::BadKey {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        super::signer::write_private(&path, text.as_bytes())
            .map_err(|source| SignerError::Io { path, source })
    }

    /// The user PIN, from `pin_file` or the environment.
    fn pin(&self) -> Result<AuthPin, SignerError> {
        let text = match &self.pin_file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|source| SignerError::Io {
                    path: path.clone(),
                    source,
                })?
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
            None => {
                let var = self.pin_env.as_deref().unwrap_or(DEFAULT_PIN_ENV);
                std::env::var(var).map_err(|_| {
                    SignerError::Sign(format!(
                        "the PKCS#11 PIN is not set: put it in the environment variable {var} or name a pin_file"
                    ))
                })?
            }
        };
        if text.is_empty() {
            return Err(SignerError::Sign("the PKCS#11 PIN is empty".into()));
        }
        Ok(AuthPin::from(text))
    }
}

/// A logged-in connection to one token.
struct Token {
    ctx: Pkcs11,
    slot: Slot,
    pin: AuthPin,
}

/// One initialized context per module per process: C_Initialize is process-wide, and keys of
/// the same token (root, intermediate) share it.
fn context(module: &Path) -> Result<Pkcs11, SignerError> {
    static CONTEXTS: OnceLock<Mutex<Vec<(PathBuf, Pkcs11)>>> = OnceLock::new();
    let mut contexts = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| SignerError::Sign("PKCS#11 context lock poisoned".into()))?;
    if let Some((_, ctx)) = contexts.iter().find(|(m, _)| m == module) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(module)
        .map_err(|e| SignerError::Sign(format!("PKCS#11 module {}: {e}", module.display())))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => return Err(p11("C_Initialize", e)),
    }
    contexts.push((module.to_path_buf(), ctx.clone()));
    Ok(ctx)
}

impl Token {
    fn open(cfg: &Pkcs11Config) -> Result<Self, SignerError> {
        let ctx = context(&cfg.module)?;
        let slot = ctx
            .get_slots_with_initialized_token()
            .map_err(|e| p11("C_GetSlotList", e))?
            .into_iter()
            .find(|s| {
                ctx.get_token_info(*s)
                    .is_ok_and(|t| t.label().trim_end() == cfg.token_label)
            })
            .ok_or_else(|| {
                SignerError::Sign(format!(
                    "no initialized PKCS#11 token labelled {:?} in {}",
                    cfg.token_label,
                    cfg.module.display()
                ))
            })?;
        Ok(Self {
            ctx,
            slot,
            pin: cfg.pin()?,
        })
    }

    fn session(&self, rw: bool) -> Result<Session, SignerError> {
        let session = if rw {
            self.ctx.open_rw_session(self.slot)
        } else {
            self.ctx.open_ro_session(self.slot)
        }
        .map_err(|e| p11("C_OpenSession", e))?;
        match session.login(UserType::User, Some(&self.pin)) {
            Ok(()) => Ok(session),
            Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::UserAlreadyLoggedIn,
                _,
            )) => Ok(session),
            Err(e) => Err(p11("C_Login (check the PIN)", e)),
        }
    }
}

/// A P-256 key pair in a PKCS#11 token, found by label.
pub struct Pkcs11Signer {
    label: String,
    public_key: Vec<u8>,
    sessions: Vec<Mutex<(Session, ObjectHandle)>>,
    next: AtomicUsize,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("label", &self.label)
            .field("public_key", &hex::encode(&self.public_key))
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Opens the key pair labelled `label` in the configured token.
    pub fn open(cfg: &Pkcs11Config, label: &str) -> Result<Self, SignerError> {
        let token = Token::open(cfg)?;
        let mut sessions = Vec::with_capacity(POOL_SIZE);
        let mut public_key = Vec::new();
        for _ in 0..POOL_SIZE {
            let session = token.session(false)?;
            let private = find_one(&session, ObjectClass::PRIVATE_KEY, label)?;
            if public_key.is_empty() {
                let public = find_one(&session, ObjectClass::PUBLIC_KEY, label)?;
                public_key = ec_point(&session, public)?;
            }
            sessions.push(Mutex::new((session, private)));
        }
        Ok(Self {
            label: label.to_string(),
            public_key,
            sessions,
            next: AtomicUsize::new(0),
        })
    }

    /// Generates a new P-256 key pair labelled `label` in the token: private key sensitive and
    /// not extractable. Refuses when a key with that label exists.
    pub fn generate(cfg: &Pkcs11Config, label: &str) -> Result<Self, SignerError> {
        let token = Token::open(cfg)?;
        let session = token.session(true)?;
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let existing = session
                .find_objects(&[Attribute::Class(class), Attribute::Label(label.into())])
                .map_err(|e| p11("C_FindObjects", e))?;
            if !existing.is_empty() {
                return Err(SignerError::Sign(format!(
                    "the token already holds a key labelled {label:?}; choose another label"
                )));
            }
        }
        let id = label.as_bytes().to_vec();
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::KeyType(KeyType::EC),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            Attribute::Verify(true),
            Attribute::Label(label.into()),
            Attribute::Id(id.clone()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label.into()),
            Attribute::Id(id),
        ];
        session
            .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
            .map_err(|e| p11("C_GenerateKeyPair", e))?;
        drop(session);
        Self::open(cfg, label)
    }
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, message);
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        // Take the first free session from a rotating start; wait on one if all are busy.
        let n = self.sessions.len();
        let guard = (0..n)
            .find_map(|i| self.sessions[(start + i) % n].try_lock().ok())
            .map(Ok)
            .unwrap_or_else(|| {
                self.sessions[start % n]
                    .lock()
                    .map_err(|_| SignerError::Sign("PKCS#11 session lock poisoned".into()))
            })?;
        let (session, key) = &*guard;
        let raw = session
            .sign(&Mechanism::Ecdsa, *key, digest.as_ref())
            .map_err(|e| p11("C_Sign", e))?;
        raw_to_der(&raw)
    }
}

/// The one object of `class` labelled `label`.
fn find_one(
    session: &Session,
    class: ObjectClass,
    label: &str,
) -> Result<ObjectHandle, SignerError> {
    let found = session
        .find_objects(&[Attribute::Class(class), Attribute::Label(label.into())])
        .map_err(|e| p11("C_FindObjects", e))?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(SignerError::Sign(format!(
            "no {} labelled {label:?} in the token",
            if class == ObjectClass::PRIVATE_KEY {
                "private key"
            } else {
                "public key"
            }
        ))),
        _ => Err(SignerError::Sign(format!(
            "{} objects labelled {label:?} in the token; labels must be unique",
            found.len()
        ))),
    }
}

/// The uncompressed point of a P-256 public key object (CKA_EC_POINT is a DER OCTET STRING
/// holding it, PKCS#11 v2.40 §2.3.3; some tokens return the bare point).
fn ec_point(session: &Session, public: ObjectHandle) -> Result<Vec<u8>, SignerError> {
    let attrs = session
        .get_attributes(public, &[AttributeType::EcParams, AttributeType::EcPoint])
        .map_err(|e| p11("C_GetAttributeValue", e))?;
    let mut point = None;
    for a in attrs {
        match a {
            Attribute::EcParams(p) if p != P256_PARAMS => {
                return Err(SignerError::Sign(
                    "the token key is not a P-256 key (EC_PARAMS is not prime256v1)".into(),
                ));
            }
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let point = point.ok_or_else(|| SignerError::Sign("the token key has no EC_POINT".into()))?;
    let bare = match point.as_slice() {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest.to_vec(),
        p if p.len() == 65 && p[0] == 0x04 => p.to_vec(),
        _ => {
            return Err(SignerError::Sign(
                "the token key's EC_POINT is not an uncompressed P-256 point".into(),
            ));
        }
    };
    Ok(bare)
}

/// Raw `r || s` (64 bytes for P-256) → DER `SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 §2.2.3).
pub fn raw_to_der(raw: &[u8]) -> Result<Vec<u8>, SignerError> {
    if raw.len() != 64 {
        return Err(SignerError::Sign(format!(
            "the token returned a {}-byte signature; P-256 raw signatures are 64 bytes",
            raw.len()
        )));
    }
    let int = |bytes: &[u8]| -> Vec<u8> {
        let trimmed = match bytes.iter().position(|b| *b != 0) {
            Some(i) => &bytes[i..],
            None => &bytes[bytes.len() - 1..],
        };
        let mut out = vec![0x02];
        if trimmed[0] & 0x80 != 0 {
            out.push((trimmed.len() + 1) as u8);
            out.push(0);
        } else {
            out.push(trimmed.len() as u8);
        }
        out.extend_from_slice(trimmed);
        out
    };
    let (r, s) = raw.split_at(32);
    let body = [int(r), int(s)].concat();
    let mut der = vec![0x30, body.len() as u8];
    der.extend(body);
    Ok(der)
}

fn p11(what: &str, e: cryptoki::error::Error) -> SignerError {
    SignerError::Sign(format!("PKCS#11 {what}: {e}"))
}

#[cfg(test)]
mod tests;
