//! Which database belongs to which CA: a replica must never start a second hierarchy (issue 5
//! interface contract: "a replica that starts against an empty database of an existing CA refuses
//! to start rather than creating a second hierarchy").
//!
//! The database remembers its CA in `ca_identity` (SHA-256 of the root certificate). The data
//! directory remembers that its CA has been bound to a database in the marker file
//! `ca/.db-bound`, which travels with `ca/` when replicas copy the data directory. At start:
//!
//! | database identity | data directory `ca/`          | outcome                                  |
//! |-------------------|-------------------------------|------------------------------------------|
//! | none, empty       | no CA                         | create the CA, bind the database         |
//! | none, certificates| no CA                         | refuse: would be a second hierarchy      |
//! | none              | CA, never bound (no marker)   | bind (a data directory made before this) |
//! | none              | CA, bound before (marker)     | refuse: "this CA's database looks empty" |
//! | root R            | no CA                         | refuse: would be a second hierarchy      |
//! | root R            | CA with root R                | start                                    |
//! | root R            | CA with another root          | refuse: another CA's database            |
//!
//! `stica serve --bind-new-database` turns every refusal into "bind this database to the data
//! directory's CA (creating one if there is none)", for an operator who means it
//! (docs/operations.md).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::sa::{CaIdentity, Storage};

/// The marker file under `<data-dir>/ca/`.
pub const MARKER: &str = ".db-bound";

/// Why a replica refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    /// The data directory's CA was bound to a database before, and this one has no identity.
    #[error(
        "this CA's database looks empty: {marker} says the CA (root sha256 {root}) was bound to a \
         database before, but this database has no CA identity. Start against the CA's database \
         (or restore it from a backup); to bind this empty database to the CA on purpose, start \
         once with --bind-new-database"
    )]
    EmptyDatabase {
        /// the marker file
        marker: PathBuf,
        /// the data directory's root fingerprint
        root: String,
    },
    /// The database belongs to a CA (by its identity, or by the certificates it holds) and the
    /// data directory has none: starting would create a second hierarchy.
    #[error(
        "the database belongs to the CA {db_root}, but {dir} holds no CA: \
         starting would create a second hierarchy. Copy ca/ from a replica of that CA into the \
         data directory; to create a new CA and bind this database to it, start once with \
         --bind-new-database"
    )]
    NoCaForDatabase {
        /// the database's CA: `with root sha256 <hex>`, or a note that it holds certificates
        db_root: String,
        /// `<data-dir>/ca`
        dir: PathBuf,
    },
    /// The database belongs to another CA than the data directory's.
    #[error(
        "the database belongs to the CA with root sha256 {db_root}, but {dir} holds the CA with \
         root sha256 {dir_root}: use that CA's data directory or this CA's database \
         (--bind-new-database rebinds the database to this CA)"
    )]
    OtherCa {
        /// the database's root fingerprint
        db_root: String,
        /// the data directory's root fingerprint
        dir_root: String,
        /// `<data-dir>/ca`
        dir: PathBuf,
    },
    /// Reading the CA certificates or writing the marker failed.
    #[error("{0}")]
    Io(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] crate::sa::SaError),
}

/// What the data directory holds, read before the CA is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirState {
    /// SHA-256 of `ca/root.pem`, when the CA exists.
    pub root_sha256: Option<String>,
    /// Whether `ca/.db-bound` exists.
    pub bound: bool,
}

/// What the database holds, read before the CA is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbState {
    /// The CA it was bound to.
    pub identity: Option<CaIdentity>,
    /// Whether it stores certificates (of some CA, when there is no identity).
    pub has_certificates: bool,
}

/// What to do after the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The database is this CA's already.
    Start,
    /// Bind the database to the data directory's CA (after creating it, if there is none);
    /// `replace` overwrites the identity the database holds.
    Bind {
        /// overwrite an existing identity (only with `--bind-new-database`)
        replace: bool,
    },
}

/// The decision table in the module docs.
pub fn decide(
    dir: &DirState,
    db: &DbState,
    ca_dir: &Path,
    bind_new_database: bool,
) -> Result<Verdict, BindingError> {
    let refusal = match (&db.identity, &dir.root_sha256) {
        (None, None) if db.has_certificates => Some(BindingError::NoCaForDatabase {
            db_root: "whose certificates it holds (issued before databases recorded their CA)"
                .into(),
            dir: ca_dir.to_path_buf(),
        }),
        (None, None) => None,
        (None, Some(root)) if dir.bound => Some(BindingError::EmptyDatabase {
            marker: ca_dir.join(MARKER),
            root: root.clone(),
        }),
        (None, Some(_)) => None,
        (Some(id), None) => Some(BindingError::NoCaForDatabase {
            db_root: format!("with root sha256 {}", id.root_sha256),
            dir: ca_dir.to_path_buf(),
        }),
        (Some(id), Some(root)) if id.root_sha256 == *root => return Ok(Verdict::Start),
        (Some(id), Some(root)) => Some(BindingError::OtherCa {
            db_root: id.root_sha256.clone(),
            dir_root: root.clone(),
            dir: ca_dir.to_path_buf(),
        }),
    };
    match refusal {
        Some(e) if !bind_new_database => Err(e),
        Some(e) => {
            tracing::warn!(overriding = %e, "DANGER: --bind-new-database: binding this database to the data directory's CA");
            Ok(Verdict::Bind { replace: true })
        }
        None => Ok(Verdict::Bind { replace: false }),
    }
}

/// Reads the data directory's side: the root's fingerprint and the marker.
pub fn dir_state(data_dir: &Path) -> Result<DirState, BindingError> {
    let ca_dir = data_dir.join("ca");
    let root = ca_dir.join("root.pem");
    let root_sha256 = if root.exists() {
        Some(cert_sha256(&root)?)
    } else {
        None
    };
    Ok(DirState {
        root_sha256,
        bound: ca_dir.join(MARKER).exists(),
    })
}

/// SHA-256 of the first certificate of a PEM file, lowercase hex.
fn cert_sha256(path: &Path) -> Result<String, BindingError> {
    let bytes =
        std::fs::read(path).map_err(|e| BindingError::Io(format!("{}: {e}", path.display())))?;
    let der = crate::x509::pem_certificates(&bytes)
        .map_err(|e| BindingError::Io(format!("{}: {e}", path.display())))?
        .into_iter()
        .next()
        .ok_or_else(|| BindingError::Io(format!("{}: no certificate", path.display())))?;
    Ok(hex::encode(Sha256::digest(&der)))
}

/// Checks the database against the data directory before anything is created, as
/// [`decide`] says.
pub async fn check(
    sa: &Storage,
    data_dir: &Path,
    bind_new_database: bool,
) -> Result<Verdict, BindingError> {
    let dir = dir_state(data_dir)?;
    let db = DbState {
        identity: sa.ca_identity().await?,
        has_certificates: sa.has_certificates().await?,
    };
    decide(&dir, &db, &data_dir.join("ca"), bind_new_database)
}

/// Binds the database to the CA now in `<data-dir>/ca` and writes the marker. Another replica
/// may have bound the database a moment earlier: if to another CA, this one refuses.
pub async fn bind(sa: &Storage, data_dir: &Path, verdict: Verdict) -> Result<(), BindingError> {
    let ca_dir = data_dir.join("ca");
    let root_sha256 = cert_sha256(&ca_dir.join("root.pem"))?;
    if let Verdict::Bind { replace } = verdict {
        let mine = CaIdentity {
            root_sha256: root_sha256.clone(),
            issuer_sha256: cert_sha256(&ca_dir.join("intermediate.pem"))?,
            bound_at: crate::acme::now(),
        };
        let stored = sa.bind_ca_identity(&mine, replace).await?;
        if stored.root_sha256 != root_sha256 {
            return Err(BindingError::OtherCa {
                db_root: stored.root_sha256,
                dir_root: root_sha256,
                dir: ca_dir,
            });
        }
        tracing::warn!(root_sha256 = %root_sha256, "database bound to this CA");
    }
    let marker = ca_dir.join(MARKER);
    if !marker.exists() {
        let text = format!(
            "# written by stica: this CA has been bound to a database (ca_identity); see docs/operations.md\nroot_sha256 = \"{root_sha256}\"\n"
        );
        std::fs::write(&marker, text)
            .map_err(|e| BindingError::Io(format!("{}: {e}", marker.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(root: &str) -> DbState {
        DbState {
            identity: Some(CaIdentity {
                root_sha256: root.into(),
                issuer_sha256: "i".into(),
                bound_at: 1,
            }),
            has_certificates: true,
        }
    }

    const EMPTY: DbState = DbState {
        identity: None,
        has_certificates: false,
    };

    /// A database from before `ca_identity`: certificates, no identity.
    const OLD: DbState = DbState {
        identity: None,
        has_certificates: true,
    };

    fn dir(root: Option<&str>, bound: bool) -> DirState {
        DirState {
            root_sha256: root.map(str::to_string),
            bound,
        }
    }

    #[test]
    fn the_decision_table() {
        let ca = Path::new("/d/ca");
        let bind = Ok::<_, ()>(Verdict::Bind { replace: false });
        let ok = |r: Result<Verdict, BindingError>| r.map_err(|_| ());
        // a new CA on a new database, and an old data directory meeting its first database
        assert_eq!(ok(decide(&dir(None, false), &EMPTY, ca, false)), bind);
        assert_eq!(ok(decide(&dir(Some("r"), false), &EMPTY, ca, false)), bind);
        // upgrading: an old database meets its CA's data directory
        assert_eq!(ok(decide(&dir(Some("r"), false), &OLD, ca, false)), bind);
        // the same CA
        assert_eq!(
            ok(decide(&dir(Some("r"), true), &id("r"), ca, false)),
            Ok(Verdict::Start)
        );
        assert_eq!(
            ok(decide(&dir(Some("r"), false), &id("r"), ca, false)),
            Ok(Verdict::Start)
        );
    }

    #[test]
    fn refusals_and_the_escape_hatch() {
        let ca = Path::new("/d/ca");
        let e = decide(&dir(Some("r"), true), &EMPTY, ca, false).unwrap_err();
        assert!(matches!(e, BindingError::EmptyDatabase { .. }));
        assert!(
            e.to_string().contains("this CA's database looks empty"),
            "{e}"
        );
        let e = decide(&dir(None, false), &id("r"), ca, false).unwrap_err();
        assert!(matches!(e, BindingError::NoCaForDatabase { .. }));
        assert!(e.to_string().contains("second hierarchy"), "{e}");
        // an old database without identity still belongs to the CA of its certificates
        let e = decide(&dir(None, false), &OLD, ca, false).unwrap_err();
        assert!(matches!(e, BindingError::NoCaForDatabase { .. }));
        assert!(e.to_string().contains("second hierarchy"), "{e}");
        // a stale marker does not matter when the database knows its CA
        let e = decide(&dir(Some("x"), true), &id("r"), ca, false).unwrap_err();
        assert!(matches!(e, BindingError::OtherCa { .. }));
        for (d, db) in [
            (dir(Some("r"), true), EMPTY),
            (dir(None, false), id("r")),
            (dir(None, false), OLD),
            (dir(Some("x"), false), id("r")),
        ] {
            assert_eq!(
                decide(&d, &db, ca, true).unwrap(),
                Verdict::Bind { replace: true }
            );
        }
    }
}
