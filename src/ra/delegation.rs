//! Direct delegation (issue 3; the ATIS TN-level report's "STI end user certificate that is a
//! direct child of the STI CA"): a carrier that holds a stica-issued `sca` or TN-level
//! certificate signs an enterprise's Authority Token with that certificate's key, and the
//! enterprise gets a `delegate` certificate from stica's own issuing CA.
//!
//! The token verifier ([`crate::va::tkauth`]) has checked the token itself, the signer's chain
//! to stica's root and the signature ([`SignerAnchor::ThisCa`]). What only the RA can check,
//! against its own records, is here:
//!
//! 1. stica issued the signer: its serial is in `certificates` with the same DER;
//! 2. the signer is not revoked (directly or through its own parent), now;
//! 3. its profile may delegate: `sca` (a delegating CA) or `tn-level` (numbers it holds); an SPC
//!    certificate or an enterprise's `delegate` certificate may not;
//! 4. its TNAuthList encompasses the token's (RFC 9060 §4, profiles.md "Encompassing"), with the
//!    number inventory for a signer that lists only an SPC;
//! 5. `ca: true` only from an `sca` whose pathLenConstraint leaves room for one more CA below it,
//!    with this CA's `sca_path_len` (RFC 5280 §4.2.1.9).
//!
//! Every refusal is `unauthorized`: the token is well formed and correctly signed, but its signer
//! cannot grant what it says. Finalize re-checks (2) before signing, so a parent revoked between
//! the challenge and finalize yields nothing.

use der::Decode;

use crate::ca::Profile;
use crate::ca::oid;
use crate::error::{Error, Result};
use crate::policy::inventory::encompasses_with_inventory;
use crate::tnauth::TnAuthList;
use crate::va::tkauth::{SignerAnchor, ValidatedToken};

use super::Ra;

impl Ra {
    /// The serial of the stica-issued certificate that signed `token`, after checks 1-5 of the
    /// module docs; `None` for a token from a token authority.
    pub(super) async fn check_delegator(&self, token: &ValidatedToken) -> Result<Option<String>> {
        if token.anchor != SignerAnchor::ThisCa {
            return Ok(None);
        }
        let signer = Signer::parse(&token.signer_der)?;
        let Some(state) = self.sa.certificate_state(&signer.serial).await? else {
            return Err(Error::unauthorized(format!(
                "the Authority Token signer (serial {}) chains to this CA's root but this CA has no record of issuing it",
                signer.serial
            )));
        };
        if state.cert.der != token.signer_der {
            return Err(Error::unauthorized(format!(
                "the Authority Token signer (serial {}) differs from the certificate this CA issued with that serial",
                signer.serial
            )));
        }
        if state.revocation.is_some() {
            return Err(revoked_parent(&signer.serial));
        }
        let profile = Profile::parse(&state.cert.profile)
            .ok_or_else(|| Error::internal(format!("stored profile {:?}", state.cert.profile)))?;
        if !matches!(profile, Profile::Sca | Profile::TnLevel) {
            return Err(Error::unauthorized(format!(
                "the Authority Token is signed by a {profile} certificate (serial {}), which may not delegate numbers: only a delegating CA (sca) or TN-level certificate may sign a delegation token",
                signer.serial
            )));
        }
        let Some(scope) = &signer.tnauthlist else {
            return Err(Error::unauthorized(format!(
                "the Authority Token signer (serial {}) carries no TNAuthList, so it has no numbers to delegate",
                signer.serial
            )));
        };
        encompasses_with_inventory(scope, &token.tnauthlist, self.policy.inventory.as_deref())
            .map_err(|e| {
                Error::unauthorized(format!(
                    "the Authority Token signer's TNAuthList ({scope}) does not encompass the token's: {e}"
                ))
            })?;
        if token.ca {
            self.check_ca_grant(profile, &signer)?;
        }
        Ok(Some(signer.serial))
    }

    /// Refuses when the certificate `serial` (a delegation parent) is revoked.
    pub(super) async fn require_not_revoked(&self, serial: &str) -> Result<()> {
        match self.sa.certificate_state(serial).await? {
            Some(state) if state.revocation.is_none() => Ok(()),
            Some(_) => Err(revoked_parent(serial)),
            None => Err(Error::unauthorized(format!(
                "the certificate that delegated these numbers (serial {serial}) is unknown to this CA"
            ))),
        }
    }

    /// Check 5: a delegated CA certificate needs a CA parent with pathLen to spare.
    fn check_ca_grant(&self, profile: Profile, signer: &Signer) -> Result<()> {
        if profile != Profile::Sca || !signer.is_ca {
            return Err(Error::unauthorized(format!(
                "the Authority Token grants a CA certificate (ca: true), but its signer (serial {}) is a {profile} certificate, not a delegating CA; a TN-level certificate can only delegate end-entity certificates",
                signer.serial
            )));
        }
        let want = self.policy.file.issuance.sca_path_len;
        match signer.path_len {
            Some(0) => Err(Error::unauthorized(format!(
                "the Authority Token grants a CA certificate (ca: true), but its signer's pathLenConstraint is 0 (serial {}): no CA may be delegated below it",
                signer.serial
            ))),
            Some(have) if want >= have => Err(Error::unauthorized(format!(
                "the Authority Token grants a CA certificate (ca: true), but its signer's pathLenConstraint {have} (serial {}) leaves room for pathLen {} at most and this CA issues sca certificates with pathLen {want}",
                signer.serial,
                have - 1
            ))),
            _ => Ok(()),
        }
    }
}

fn revoked_parent(serial: &str) -> Error {
    Error::unauthorized(format!(
        "the certificate that delegated these numbers (serial {serial}) is revoked"
    ))
}

/// What the RA reads from a delegating signer's certificate.
struct Signer {
    serial: String,
    tnauthlist: Option<TnAuthList>,
    is_ca: bool,
    path_len: Option<u8>,
}

impl Signer {
    fn parse(der: &[u8]) -> Result<Self> {
        let cert = x509_cert::Certificate::from_der(der).map_err(|e| {
            Error::unauthorized(format!("the Authority Token signer cannot be read: {e}"))
        })?;
        let tbs = cert.tbs_certificate();
        let serial = crate::ca::serial::serial_hex(tbs.serial_number().as_bytes());
        let mut out = Signer {
            serial,
            tnauthlist: None,
            is_ca: false,
            path_len: None,
        };
        for ext in tbs.extensions().into_iter().flatten() {
            if ext.extn_id == oid::TN_AUTH_LIST {
                out.tnauthlist = Some(TnAuthList::from_der(ext.extn_value.as_bytes()).map_err(
                    |e| {
                        Error::unauthorized(format!(
                            "the Authority Token signer's TNAuthList cannot be read: {e}"
                        ))
                    },
                )?);
            } else if ext.extn_id == oid::BASIC_CONSTRAINTS {
                let bc =
                    x509_cert::ext::pkix::BasicConstraints::from_der(ext.extn_value.as_bytes())
                        .map_err(|e| {
                            Error::unauthorized(format!(
                                "the Authority Token signer's basicConstraints cannot be read: {e}"
                            ))
                        })?;
                out.is_ca = bc.ca;
                out.path_len = bc.path_len_constraint;
            }
        }
        Ok(out)
    }
}
