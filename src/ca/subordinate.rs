//! Subordinate delegation CA (RFC 9060 §4; issue 3, "Subordinate"): a carrier runs stica with its
//! `sca` certificate as the issuing CA, so that its enterprises get `delegate` certificates whose
//! chain is root → STI-CA intermediate → SCA → delegate.
//!
//! `stica ca import` ([`import`]) takes the SCA certificate followed by its issuers up to and
//! including the root, and the SCA's key; it checks all of it before it writes anything, and lays
//! the files out under `<data-dir>/ca/` where [`crate::ca::Ca::load`] reads them:
//!
//! | file | content |
//! |---|---|
//! | `root.pem` | the last certificate of the chain: the trust anchor |
//! | `intermediate.pem` | the issuing certificate (the SCA) |
//! | `intermediate.key` | its key, PKCS#8 PEM, mode 0600 |
//! | `chain.pem` | the certificates between the SCA and the root, SCA side first (may hold none); its presence marks the hierarchy as imported |
//!
//! There is no `root.key`: the root's key stays with its owner. `Ca::load` runs
//! [`check_issuing_cert`] and [`verify_path`] again at every start, so a data directory changed
//! after the import (an issuing certificate that is not a CA, has no TNAuthList or has expired)
//! is refused with a message that says which.

use std::path::{Path, PathBuf};

use x509_cert::ext::pkix::KeyUsages;

use super::hierarchy::{HierarchyPaths, create_dir_private, write_new};
use super::signer::KeyFileSigner;
use super::{CaError, issuer_tnauthlist};
use crate::tnauth::TnAuthList;
use crate::x509::chain::ParsedCert;
use crate::x509::delegation::verify_delegation_chain;

/// What a subordinate's issuing certificate allows, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuingCert {
    /// Its subject (RFC 4514).
    pub subject: String,
    /// Its TNAuthList: the scope every certificate it issues must lie in.
    pub tnauthlist: TnAuthList,
    /// Its pathLenConstraint (`None`: unconstrained).
    pub path_len: Option<u8>,
    /// notAfter, unix seconds: no certificate it issues outlives it.
    pub not_after: i64,
}

/// Checks that `der` can be a subordinate's issuing certificate at `now` (unix seconds): a CA
/// (basicConstraints cA TRUE) with keyCertSign, carrying a TNAuthList (without one there is no
/// scope to keep delegates inside, RFC 9060 §4), valid now.
pub fn check_issuing_cert(der: &[u8], now: i64) -> Result<IssuingCert, String> {
    let cert = ParsedCert::parse(der, "issuing").map_err(|e| e.to_string())?;
    let subject = cert.label();
    let path_len = match &cert.basic {
        Some(b) if b.ca => b.path_len_constraint,
        _ => {
            return Err(format!(
                "the issuing certificate {subject} is not a CA (basicConstraints cA TRUE is required): a subordinate stica issues with a delegating CA (sca) certificate, not an end-entity certificate"
            ));
        }
    };
    if !cert
        .key_usage
        .as_ref()
        .is_some_and(|ku| ku.0.contains(KeyUsages::KeyCertSign))
    {
        return Err(format!(
            "the issuing certificate {subject} lacks keyUsage keyCertSign, so it cannot sign certificates"
        ));
    }
    let tnauthlist = issuer_tnauthlist(&cert.cert)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "the issuing certificate {subject} carries no TNAuthList: a subordinate stica issues only inside its SCA's scope (RFC 9060 §4), so the SCA must carry one"
            )
        })?;
    cert.check_validity(now, 0)
        .map_err(|e| format!("the issuing certificate is not valid now: {e}"))?;
    Ok(IssuingCert {
        subject,
        tnauthlist,
        path_len,
        not_after: cert.not_after,
    })
}

/// Verifies the path issuing certificate → `intermediates` → `root` at `now`: an RFC 5280 path
/// to `root`, which must be self-signed, using every certificate given, with the delegation
/// checks of [`verify_delegation_chain`] (a CA certificate must leave room in its issuers'
/// pathLenConstraint, TNAuthLists encompassed by their parents').
pub fn verify_path(
    issuing: &[u8],
    intermediates: &[Vec<u8>],
    root: &[u8],
    now: i64,
) -> Result<(), String> {
    let parsed_root = ParsedCert::parse(root, "root").map_err(|e| e.to_string())?;
    if parsed_root.subject_der != parsed_root.issuer_der
        || parsed_root.check_signed_by(&parsed_root).is_err()
    {
        return Err(format!(
            "the last certificate of the chain, {}, is not a self-signed root; the chain must end with the root",
            parsed_root.label()
        ));
    }
    let mut chain = Vec::with_capacity(intermediates.len() + 2);
    chain.push(issuing.to_vec());
    chain.extend(intermediates.iter().cloned());
    chain.push(root.to_vec());
    let report = verify_delegation_chain(&chain, &[root.to_vec()], now, None);
    if !report.is_pass() {
        return Err(format!(
            "the chain from the issuing certificate to the root does not verify: {}",
            report.summary
        ));
    }
    if report.unused_inputs > 0 {
        return Err(format!(
            "{} certificate(s) of the chain are not on the path from the issuing certificate to the root; give exactly the issuers, in order",
            report.unused_inputs
        ));
    }
    Ok(())
}

/// What [`import`] wrote.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The issuing certificate.
    pub issuing: IssuingCert,
    /// The root's subject.
    pub root_subject: String,
    /// How many certificates sit between the issuing certificate and the root.
    pub intermediates: usize,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// `stica ca import`: checks `chain_pem` (the issuing certificate first, then its issuers up to
/// and including the root) and `key_pem` (PKCS#8 or SEC1 PEM), then writes the hierarchy into
/// `<data_dir>/ca/` in one step (a staging directory renamed into place), so a refusal or a
/// failure leaves nothing behind. Refuses when `<data_dir>/ca/` already holds files.
pub fn import(
    data_dir: &Path,
    chain_pem: &[u8],
    key_pem: &[u8],
    now: i64,
) -> Result<Imported, CaError> {
    let bad = |m: String| CaError::Import(m);
    let certs = crate::x509::pem_certificates(chain_pem).map_err(|e| bad(format!("chain: {e}")))?;
    let (Some((issuing, rest)), true) = (certs.split_first(), certs.len() >= 2) else {
        return Err(bad(format!(
            "the chain holds {} certificate(s); it must hold the issuing certificate, then its issuers up to and including the root",
            certs.len()
        )));
    };
    let Some((root, intermediates)) = rest.split_last() else {
        return Err(bad("the chain has no root".into()));
    };
    let issuing_info = check_issuing_cert(issuing, now).map_err(bad)?;
    let key = KeyFileSigner::from_pem(key_pem).map_err(|e| bad(format!("key: {e}")))?;
    let cert_key = ParsedCert::parse(issuing, "issuing")
        .map_err(|e| bad(e.to_string()))?
        .cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .as_bytes()
        .map(<[u8]>::to_vec);
    if cert_key.as_deref() != Some(super::Signer::public_key(&key)) {
        return Err(bad(format!(
            "the key is not the key of the issuing certificate {}",
            issuing_info.subject
        )));
    }
    verify_path(issuing, intermediates, root, now).map_err(bad)?;
    let root_subject = ParsedCert::parse(root, "root")
        .map_err(|e| bad(e.to_string()))?
        .label();

    let paths = HierarchyPaths::new(data_dir);
    let occupied = std::fs::read_dir(&paths.dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if occupied {
        return Err(bad(format!(
            "{} already holds a CA hierarchy (or other files); import into a fresh data directory",
            paths.dir.display()
        )));
    }
    create_dir_private(data_dir)?;
    let staging = data_dir.join(format!(".ca-import-{}", std::process::id()));
    let written = write_staged(&staging, &key, issuing, intermediates, root).and_then(|()| {
        std::fs::rename(&staging, &paths.dir).map_err(|source| CaError::Io {
            path: paths.dir.clone(),
            source,
        })
    });
    if let Err(e) = written {
        // Best effort: the staging directory is ours and holds nothing anyone else uses.
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    tracing::info!(
        target: "audit",
        event = "hierarchy.imported",
        dir = %paths.dir.display(),
        subject = %issuing_info.subject,
        tnauthlist = %issuing_info.tnauthlist,
        "imported a subordinate CA hierarchy"
    );
    Ok(Imported {
        issuing: issuing_info,
        root_subject,
        intermediates: intermediates.len(),
        files: paths.imported().into_iter().cloned().collect(),
    })
}

/// Writes the imported hierarchy into `dir` (created, 0700), with the names of
/// [`HierarchyPaths`].
fn write_staged(
    dir: &Path,
    key: &KeyFileSigner,
    issuing: &[u8],
    intermediates: &[Vec<u8>],
    root: &[u8],
) -> Result<(), CaError> {
    create_dir_private(dir)?;
    let paths = HierarchyPaths::in_dir(dir.to_path_buf());
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CaError::Io { path, source }
    };
    let pem = |der: &[u8]| crate::x509::to_pem("CERTIFICATE", der);
    key.save(&paths.intermediate_key)?;
    write_new(&paths.intermediate_cert, &pem(issuing)).map_err(io(&paths.intermediate_cert))?;
    write_new(&paths.root_cert, &pem(root)).map_err(io(&paths.root_cert))?;
    let chain: String = intermediates.iter().map(|c| pem(c)).collect();
    write_new(&paths.chain, &chain).map_err(io(&paths.chain))?;
    Ok(())
}

#[cfg(test)]
mod tests;
