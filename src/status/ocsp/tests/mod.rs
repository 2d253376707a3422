//! OCSP tests against openssl: requests made by `openssl ocsp -reqout`, responses checked by
//! `openssl ocsp -respin ... -resp_text`, and a real HTTP listener queried by `openssl ocsp
//! -url`. The PKI (root -> issuing CA -> leaves, delegated responder) is made in-test.

mod front;
mod http;
mod openssl;
mod perf;
mod responder;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256, SerialNumber};

use super::{
    CertStatus, IssuerEntry, Responder, ResponderConfig, StatusError, StatusFuture, StatusSource,
    issue_responder_cert,
};
use crate::ca::signer::RcgenKey;
use crate::ca::{KeyFileSigner, Signer};
use crate::x509::testpki;

/// The serial of the `good` leaf.
pub(super) const GOOD: &[u8] = &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
/// The serial of the `revoked` leaf: its first octet has the high bit set, so its CertID
/// INTEGER carries a `00` sign octet that the responder must strip for the lookup.
pub(super) const REVOKED: &[u8] = &[0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08];
/// The serial of a leaf that the status source does not know.
pub(super) const UNKNOWN: &[u8] = &[0x42, 0x42];
/// Revocation time used for `REVOKED`.
pub(super) const REVOKED_AT: i64 = 1_767_225_600; // 2026-01-01

/// A status source backed by a map, counting lookups.
#[derive(Default)]
pub(super) struct MapSource {
    pub(super) map: Mutex<HashMap<(usize, Vec<u8>), CertStatus>>,
    pub(super) calls: AtomicUsize,
    pub(super) fail: Mutex<Option<fn() -> StatusError>>,
}

impl MapSource {
    pub(super) fn set(&self, issuer: usize, serial: &[u8], status: CertStatus) {
        self.map
            .lock()
            .unwrap()
            .insert((issuer, serial.to_vec()), status);
    }

    pub(super) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl StatusSource for MapSource {
    fn status<'a>(&'a self, issuer: usize, serial: &'a [u8]) -> StatusFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if let Some(make) = *self.fail.lock().unwrap() {
                return Err(make());
            }
            Ok(self
                .map
                .lock()
                .unwrap()
                .get(&(issuer, serial.to_vec()))
                .copied()
                .unwrap_or(CertStatus::Unknown))
        })
    }
}

/// Root -> issuing CA -> leaves `good`, `revoked`, `unknown`, plus a delegated responder, all
/// written as PEM into a temporary directory for openssl.
pub(super) struct Pki {
    pub(super) dir: tempfile::TempDir,
    pub(super) root_der: Vec<u8>,
    pub(super) issuer_der: Vec<u8>,
    pub(super) issuer_key: Arc<KeyFileSigner>,
    pub(super) responder_key: Arc<KeyFileSigner>,
    pub(super) responder_der: Vec<u8>,
    /// A second CA stica does not serve, with a leaf of its own (`other_leaf.pem`).
    pub(super) other_ca_der: Vec<u8>,
}

fn leaf(cn: &str, serial: &[u8], issuer: &rcgen::Issuer<'_, RcgenKey>) -> Vec<u8> {
    let mut p: CertificateParams = testpki::leaf_params(cn);
    p.serial_number = Some(SerialNumber::from_slice(serial));
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    p.signed_by(&key, issuer).unwrap().der().to_vec()
}

impl Pki {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root_key = Arc::new(KeyFileSigner::generate().unwrap());
        let root_der = testpki::ca_params("OCSP Test Root", None)
            .self_signed(&RcgenKey(root_key.clone()))
            .unwrap()
            .der()
            .to_vec();
        let root_issuer = rcgen::Issuer::from_ca_cert_der(
            &rustls::pki_types::CertificateDer::from(root_der.as_slice()),
            RcgenKey(root_key.clone()),
        )
        .unwrap();
        let issuer_key = Arc::new(KeyFileSigner::generate().unwrap());
        let mut issuer_params = testpki::ca_params("OCSP Test Issuing CA", Some(0));
        issuer_params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "US");
        let issuer_der = issuer_params
            .signed_by(&RcgenKey(issuer_key.clone()), &root_issuer)
            .unwrap()
            .der()
            .to_vec();
        let issuer = rcgen::Issuer::from_ca_cert_der(
            &rustls::pki_types::CertificateDer::from(issuer_der.as_slice()),
            RcgenKey(issuer_key.clone()),
        )
        .unwrap();
        let good = leaf("good", GOOD, &issuer);
        let revoked = leaf("revoked", REVOKED, &issuer);
        let unknown = leaf("unknown", UNKNOWN, &issuer);
        // A leaf without id-kp-OCSPSigning, to be refused as a responder.
        let not_responder_key = Arc::new(KeyFileSigner::generate().unwrap());
        let mut p = testpki::leaf_params("not a responder");
        p.serial_number = Some(SerialNumber::from_slice(&[9, 9]));
        let not_responder = p
            .signed_by(&RcgenKey(not_responder_key.clone()), &issuer)
            .unwrap()
            .der()
            .to_vec();
        std::fs::write(
            dir.path().join("not_responder.key"),
            not_responder_key.to_pkcs8_pem().unwrap(),
        )
        .unwrap();

        let responder = issue_responder_cert(
            issuer_key.clone(),
            &issuer_der,
            super::DEFAULT_RESPONDER_CERT_LIFETIME_SECS,
            crate::acme::now(),
        )
        .unwrap();

        let other_key = Arc::new(KeyFileSigner::generate().unwrap());
        let other_ca_der = testpki::ca_params("Some Other CA", None)
            .self_signed(&RcgenKey(other_key.clone()))
            .unwrap()
            .der()
            .to_vec();
        let other = rcgen::Issuer::from_ca_cert_der(
            &rustls::pki_types::CertificateDer::from(other_ca_der.as_slice()),
            RcgenKey(other_key),
        )
        .unwrap();
        let other_leaf = leaf("other", GOOD, &other);

        let pki = Pki {
            dir,
            root_der,
            issuer_der,
            issuer_key,
            responder_key: responder.signer.clone(),
            responder_der: responder.cert_der.clone(),
            other_ca_der,
        };
        for (name, der) in [
            ("root.pem", &pki.root_der),
            ("issuer.pem", &pki.issuer_der),
            ("responder.pem", &pki.responder_der),
            ("good.pem", &good),
            ("revoked.pem", &revoked),
            ("unknown.pem", &unknown),
            ("other_ca.pem", &pki.other_ca_der),
            ("other_leaf.pem", &other_leaf),
            ("not_responder.pem", &not_responder),
        ] {
            std::fs::write(pki.path(name), crate::x509::to_pem("CERTIFICATE", der)).unwrap();
        }
        pki
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The delegated-responder issuer entry.
    pub(super) fn delegated_entry(&self) -> IssuerEntry {
        IssuerEntry {
            cert_der: self.issuer_der.clone(),
            responder: self.responder_key.clone(),
            responder_cert_der: self.responder_der.clone(),
        }
    }

    /// The CA-signed issuer entry (the issuing CA key signs responses itself).
    pub(super) fn ca_signed_entry(&self) -> IssuerEntry {
        IssuerEntry {
            cert_der: self.issuer_der.clone(),
            responder: self.issuer_key.clone() as Arc<dyn Signer>,
            responder_cert_der: self.issuer_der.clone(),
        }
    }

    /// A source that knows `good` and `revoked` (keyCompromise).
    pub(super) fn source(&self) -> Arc<MapSource> {
        let s = MapSource::default();
        s.set(0, GOOD, CertStatus::Good);
        s.set(
            0,
            REVOKED,
            CertStatus::Revoked {
                time: REVOKED_AT,
                reason: Some(1),
            },
        );
        Arc::new(s)
    }

    pub(super) fn responder(&self, entry: IssuerEntry, source: Arc<MapSource>) -> Responder {
        Responder::new(vec![entry], source, ResponderConfig::default()).unwrap()
    }

    /// `openssl ocsp -issuer <issuer> -cert <cert>... -reqout` with extra flags.
    pub(super) fn request(&self, issuer: &str, certs: &[&str], extra: &[&str]) -> Vec<u8> {
        let out = self.path("req.der");
        let mut cmd = Command::new("openssl");
        // openssl wants the digest flag before -cert.
        cmd.arg("ocsp")
            .args(extra)
            .arg("-issuer")
            .arg(self.path(issuer));
        for c in certs {
            cmd.arg("-cert").arg(self.path(c));
        }
        cmd.arg("-reqout").arg(&out);
        run(&mut cmd);
        std::fs::read(&out).unwrap()
    }

    /// `openssl ocsp -respin <resp> -issuer issuer.pem <args> -resp_text`; returns the output
    /// (stdout and stderr) and whether openssl succeeded.
    pub(super) fn check(&self, resp: &[u8], args: &[&str]) -> (bool, String) {
        let path = self.path("resp.der");
        std::fs::write(&path, resp).unwrap();
        let mut cmd = Command::new("openssl");
        cmd.arg("ocsp")
            .arg("-respin")
            .arg(&path)
            .arg("-issuer")
            .arg(self.path("issuer.pem"));
        for a in args {
            cmd.arg(self.arg(a));
        }
        cmd.arg("-resp_text");
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Asserts that `resp` is a shared (nonce-free) answer that `good.pem` is good, signed by the
    /// delegated responder, as `openssl ocsp` verifies it.
    pub(super) fn assert_shared_good(&self, resp: &[u8]) {
        let args = [
            "-cert",
            "@good.pem",
            "-no_nonce",
            "-VAfile",
            "@responder.pem",
        ];
        let (ok, text) = self.check(resp, &args);
        assert_verified(ok, &text, "good.pem: good");
    }

    /// Maps `@name` to a file in the PKI directory; other arguments pass through.
    pub(super) fn arg(&self, a: &str) -> std::ffi::OsString {
        match a.strip_prefix('@') {
            Some(name) => self.path(name).into_os_string(),
            None => a.into(),
        }
    }
}

/// Runs a command and panics with its output if it fails.
pub(super) fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// Asserts that openssl verified the response and printed `status` for `cert`.
#[track_caller]
pub(super) fn assert_verified(ok: bool, text: &str, line: &str) {
    assert!(ok, "openssl failed:\n{text}");
    assert!(text.contains("Response verify OK"), "not verified:\n{text}");
    assert!(text.contains(line), "missing {line:?}:\n{text}");
    assert!(!text.to_lowercase().contains("error"), "error in:\n{text}");
}
