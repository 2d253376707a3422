//! Certification path building and validation (RFC 5280 §6, the parts an STI-CA needs).
//!
//! Used to check that an Authority Token's signing certificate chains to a configured token
//! authority (RFC 9447 §3.1, standards.md §2.7 step 2). The path is built from the leaf through
//! the given intermediates to one of the trust anchors by name (issuer DER equal to subject DER)
//! and, when both sides carry them, by key identifier (AKI keyIdentifier equal to SKI).
//!
//! Every certificate on the path is checked for validity (with a clock-skew allowance), every
//! signature with aws-lc-rs, every issuer for basicConstraints cA TRUE, keyCertSign when keyUsage is
//! present and its pathLenConstraint. A critical extension stica does not know refuses the
//! certificate (RFC 5280 §4.2). Fail closed: anything unexpected is an error.
//!
//! Deliberate simplifications, all in the strict direction:
//! * names are compared as DER bytes (no RFC 5280 §7.1 case folding);
//! * trust anchors are certificates, trusted as they are (their own signature is not checked, a
//!   self-signed root and a CA certificate are treated alike), but their validity period, cA bit,
//!   keyCertSign and pathLenConstraint are enforced like any issuer's (RFC 5937 style);
//! * no policy or name-constraint processing: a critical certificatePolicies is accepted (stica
//!   sets no initial policy), a critical nameConstraints is refused;
//! * a leaf that is itself byte-equal to a trust anchor is accepted as a one-element path (a
//!   pinned certificate).

use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};

use crate::x509::signature::{SignatureError, signed_part, verify_signature};

/// Longest path accepted (leaf and anchor included): far above SHAKEN's three, small enough to
/// bound the search.
pub const MAX_PATH_LEN: usize = 8;

/// Extensions stica understands well enough to accept when they are marked critical.
const KNOWN_CRITICAL: &[&str] = &[
    "2.5.29.19",          // basicConstraints: enforced on issuers
    "2.5.29.15",          // keyUsage: keyCertSign enforced on issuers, callers check the leaf
    "2.5.29.37",          // extKeyUsage: callers check the leaf where it matters
    "2.5.29.32",          // certificatePolicies: no initial policy set (RFC 5280 §6.1.1 any-policy)
    "2.5.29.17",          // subjectAltName: critical when the subject is empty (RFC 5280 §4.2.1.6)
    "2.5.29.35",          // authorityKeyIdentifier: used for path building
    "2.5.29.14",          // subjectKeyIdentifier: used for path building
    "2.5.29.31",          // cRLDistributionPoints: read by revocation checking
    "1.3.6.1.5.5.7.1.26", // TNAuthList (RFC 8226 §9)
];

/// Why a certificate path was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// No trust anchor is configured, so nothing can be trusted.
    #[error("no trust anchor is configured")]
    NoTrustAnchors,
    /// A certificate (leaf, intermediate or anchor) is not valid DER X.509 or breaks a structural
    /// rule (inner and outer signature algorithms differ, duplicate extension, bad extension).
    #[error("{which} certificate cannot be parsed: {reason}")]
    Parse {
        /// which certificate ("leaf", "intermediate 2", "trust anchor 1")
        which: String,
        /// what is wrong
        reason: String,
    },
    /// A certificate on the path has expired (RFC 5280 §6.1.3 (a)(2)).
    #[error("certificate {subject} expired at {not_after}")]
    Expired {
        /// the certificate's subject
        subject: String,
        /// its notAfter (RFC 3339)
        not_after: String,
    },
    /// A certificate on the path is not valid yet.
    #[error("certificate {subject} is not valid before {not_before}")]
    NotYetValid {
        /// the certificate's subject
        subject: String,
        /// its notBefore (RFC 3339)
        not_before: String,
    },
    /// Neither a trust anchor nor a given intermediate has the subject (and key identifier) that
    /// issued this certificate.
    #[error("no trusted issuer found for {subject} (issuer {issuer})")]
    UnknownIssuer {
        /// the certificate whose issuer is missing
        subject: String,
        /// the issuer name it names
        issuer: String,
    },
    /// The certificate's signature does not verify with its issuer's key.
    #[error("the signature on {subject} does not verify with the key of {issuer}")]
    BadSignature {
        /// the signed certificate
        subject: String,
        /// the issuer whose key was tried
        issuer: String,
    },
    /// The signature uses an algorithm or key stica does not accept.
    #[error("the signature on {subject} cannot be checked: {reason}")]
    UnsupportedSignature {
        /// the signed certificate
        subject: String,
        /// which algorithm or key
        reason: String,
    },
    /// An issuer lacks basicConstraints cA TRUE (RFC 5280 §6.1.4 (k)).
    #[error("issuer {subject} is not a CA (basicConstraints cA is not TRUE)")]
    NotCa {
        /// the issuer
        subject: String,
    },
    /// An issuer has keyUsage without keyCertSign (RFC 5280 §6.1.4 (n)).
    #[error("issuer {subject} has keyUsage without keyCertSign")]
    NoKeyCertSign {
        /// the issuer
        subject: String,
    },
    /// More intermediate CAs follow an issuer than its pathLenConstraint allows (RFC 5280
    /// §6.1.4 (l), (m)).
    #[error("issuer {subject} allows {path_len} intermediate CA(s) below it; the path has more")]
    PathLenExceeded {
        /// the issuer
        subject: String,
        /// its pathLenConstraint
        path_len: u8,
    },
    /// A certificate carries a critical extension stica does not process (RFC 5280 §4.2).
    #[error("certificate {subject} has an unknown critical extension {oid}")]
    UnknownCriticalExtension {
        /// the certificate
        subject: String,
        /// the extension OID
        oid: String,
    },
    /// No path of at most [`MAX_PATH_LEN`] certificates reaches a trust anchor.
    #[error("no path of at most {MAX_PATH_LEN} certificates reaches a trust anchor")]
    TooLong,
}

/// A validated path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain {
    /// DER certificates from the leaf (first) to the trust anchor (last). One element when the
    /// leaf is itself an anchor.
    pub certs: Vec<Vec<u8>>,
}

impl VerifiedChain {
    /// The leaf (end-entity) certificate.
    pub fn leaf(&self) -> &[u8] {
        self.certs.first().map(Vec::as_slice).unwrap_or_default()
    }

    /// The trust anchor the path ends at.
    pub fn anchor(&self) -> &[u8] {
        self.certs.last().map(Vec::as_slice).unwrap_or_default()
    }
}

/// One parsed certificate with what path building needs.
pub(crate) struct ParsedCert<'a> {
    pub(crate) der: &'a [u8],
    pub(crate) cert: Certificate,
    pub(crate) tbs: &'a [u8],
    pub(crate) subject_der: Vec<u8>,
    pub(crate) issuer_der: Vec<u8>,
    pub(crate) ski: Option<Vec<u8>>,
    pub(crate) aki: Option<Vec<u8>>,
    pub(crate) basic: Option<BasicConstraints>,
    pub(crate) key_usage: Option<KeyUsage>,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
}

impl<'a> ParsedCert<'a> {
    /// The subject as text, for messages. Formatted only when asked: it looks every attribute
    /// OID up by name, which cost about 1% of an issuance's CPU when done for every parsed
    /// certificate.
    pub(crate) fn label(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    /// Parses and applies the structural rules; `which` names the certificate in errors.
    pub(crate) fn parse(der: &'a [u8], which: &str) -> Result<Self, ChainError> {
        let bad = |reason: String| ChainError::Parse {
            which: which.to_string(),
            reason,
        };
        let cert = Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
        let tbs = signed_part(der).map_err(|e| bad(e.to_string()))?;
        let t = cert.tbs_certificate();
        if t.signature() != cert.signature_algorithm() {
            return Err(bad(
                "tbsCertificate signature algorithm differs from signatureAlgorithm (RFC 5280 §4.1.1.2)"
                    .into(),
            ));
        }
        let subject_der = t.subject().to_der().map_err(|e| bad(e.to_string()))?;
        let issuer_der = t.issuer().to_der().map_err(|e| bad(e.to_string()))?;
        let not_before = unix(&t.validity().not_before);
        let not_after = unix(&t.validity().not_after);
        let extensions = t.extensions().cloned().unwrap_or_default();
        let mut out = Self {
            der,
            tbs,
            subject_der,
            issuer_der,
            ski: None,
            aki: None,
            basic: None,
            key_usage: None,
            not_before,
            not_after,
            cert,
        };
        let mut seen = Vec::new();
        for ext in &extensions {
            let oid = ext.extn_id.to_string();
            if seen.contains(&oid) {
                return Err(bad(format!(
                    "extension {oid} appears twice (RFC 5280 §4.2)"
                )));
            }
            let value = ext.extn_value.as_bytes();
            match oid.as_str() {
                "2.5.29.19" => {
                    out.basic = Some(
                        BasicConstraints::from_der(value)
                            .map_err(|e| bad(format!("basicConstraints: {e}")))?,
                    );
                }
                "2.5.29.15" => {
                    out.key_usage =
                        Some(KeyUsage::from_der(value).map_err(|e| bad(format!("keyUsage: {e}")))?);
                }
                "2.5.29.14" => {
                    let ski = SubjectKeyIdentifier::from_der(value)
                        .map_err(|e| bad(format!("subjectKeyIdentifier: {e}")))?;
                    out.ski = Some(ski.0.as_bytes().to_vec());
                }
                "2.5.29.35" => {
                    let aki = AuthorityKeyIdentifier::from_der(value)
                        .map_err(|e| bad(format!("authorityKeyIdentifier: {e}")))?;
                    out.aki = aki.key_identifier.map(|k| k.as_bytes().to_vec());
                }
                _ => {}
            }
            if ext.critical && !KNOWN_CRITICAL.contains(&oid.as_str()) {
                return Err(ChainError::UnknownCriticalExtension {
                    subject: out.label(),
                    oid,
                });
            }
            seen.push(oid);
        }
        Ok(out)
    }

    /// Whether this certificate could have issued `child`: names match and, when both carry key
    /// identifiers, the identifiers match (RFC 5280 §4.2.1.1).
    fn could_issue(&self, child: &ParsedCert<'_>) -> bool {
        if self.subject_der != child.issuer_der {
            return false;
        }
        match (&child.aki, &self.ski) {
            (Some(aki), Some(ski)) => aki == ski,
            _ => true,
        }
    }

    /// Self-issued: subject and issuer are the same name (RFC 5280 §6.1, "self-issued").
    fn self_issued(&self) -> bool {
        self.subject_der == self.issuer_der
    }

    /// Validity with a skew allowance on both ends.
    pub(crate) fn check_validity(&self, now: i64, skew: i64) -> Result<(), ChainError> {
        if now.saturating_add(skew) < self.not_before {
            return Err(ChainError::NotYetValid {
                subject: self.label(),
                not_before: crate::acme::rfc3339(self.not_before),
            });
        }
        if now.saturating_sub(skew) > self.not_after {
            return Err(ChainError::Expired {
                subject: self.label(),
                not_after: crate::acme::rfc3339(self.not_after),
            });
        }
        Ok(())
    }

    /// Checks this certificate's signature with `issuer`'s key.
    pub(crate) fn check_signed_by(&self, issuer: &ParsedCert<'_>) -> Result<(), ChainError> {
        let sig =
            self.cert
                .signature()
                .as_bytes()
                .ok_or_else(|| ChainError::UnsupportedSignature {
                    subject: self.label(),
                    reason: "signature BIT STRING has unused bits".into(),
                })?;
        verify_signature(
            issuer.cert.tbs_certificate().subject_public_key_info(),
            self.cert.signature_algorithm(),
            self.tbs,
            sig,
        )
        .map_err(|e| match e {
            SignatureError::Invalid => ChainError::BadSignature {
                subject: self.label(),
                issuer: issuer.label(),
            },
            SignatureError::Unsupported(reason) => ChainError::UnsupportedSignature {
                subject: self.label(),
                reason,
            },
        })
    }

    /// The CA rules for a certificate that issued something (RFC 5280 §6.1.4 (k), (l), (m), (n)).
    /// `below` is the number of non-self-issued intermediate CAs between it and the leaf.
    fn check_issuer(&self, below: usize) -> Result<(), ChainError> {
        let basic = match &self.basic {
            Some(b) if b.ca => b,
            _ => {
                return Err(ChainError::NotCa {
                    subject: self.label(),
                });
            }
        };
        if let Some(ku) = &self.key_usage
            && !ku.0.contains(KeyUsages::KeyCertSign)
        {
            return Err(ChainError::NoKeyCertSign {
                subject: self.label(),
            });
        }
        if let Some(path_len) = basic.path_len_constraint
            && below > usize::from(path_len)
        {
            return Err(ChainError::PathLenExceeded {
                subject: self.label(),
                path_len,
            });
        }
        Ok(())
    }
}

/// Seconds since the epoch of an X.509 time (they are never before 1950).
pub(crate) fn unix(t: &x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// Builds and validates a path from `leaf_der` through some of `intermediates` to one of
/// `anchors` (all DER), at `now` (unix seconds) with `skew` seconds of tolerance on validity.
///
/// Candidate issuers are tried anchors first, then intermediates, depth first; the first path
/// that passes every check wins. When none does, the error comes from the longest attempt,
/// which is the most useful one to report.
pub fn verify_chain(
    leaf_der: &[u8],
    intermediates: &[Vec<u8>],
    anchors: &[Vec<u8>],
    now: i64,
    skew: i64,
) -> Result<VerifiedChain, ChainError> {
    if anchors.is_empty() {
        return Err(ChainError::NoTrustAnchors);
    }
    let leaf = ParsedCert::parse(leaf_der, "leaf")?;
    leaf.check_validity(now, skew)?;
    if anchors.iter().any(|a| a.as_slice() == leaf_der) {
        return Ok(VerifiedChain {
            certs: vec![leaf_der.to_vec()],
        });
    }
    let inters = intermediates
        .iter()
        .enumerate()
        .map(|(i, d)| ParsedCert::parse(d, &format!("intermediate {}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let anchors = anchors
        .iter()
        .enumerate()
        .map(|(i, d)| ParsedCert::parse(d, &format!("trust anchor {}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let search = Search {
        inters: &inters,
        anchors: &anchors,
        now,
        skew,
    };
    let mut path = vec![&leaf];
    let mut used = vec![false; inters.len()];
    let mut best: Option<(usize, ChainError)> = None;
    match search.extend(&mut path, &mut used, &mut best) {
        Some(certs) => Ok(VerifiedChain { certs }),
        None => Err(best.map(|(_, e)| e).unwrap_or(ChainError::TooLong)),
    }
}

/// Depth-first path search state.
struct Search<'s, 'a> {
    inters: &'s [ParsedCert<'a>],
    anchors: &'s [ParsedCert<'a>],
    now: i64,
    skew: i64,
}

impl<'s, 'a> Search<'s, 'a> {
    /// Tries to finish `path` (leaf first; its last element still needs an issuer). Returns the
    /// DER path on success; records the deepest failure in `best`.
    fn extend(
        &self,
        path: &mut Vec<&'s ParsedCert<'a>>,
        used: &mut [bool],
        best: &mut Option<(usize, ChainError)>,
    ) -> Option<Vec<Vec<u8>>> {
        let depth = path.len();
        let child = path.last().copied()?;
        // Non-self-issued intermediates already on the path (the leaf does not count).
        let below = path.iter().skip(1).filter(|c| !c.self_issued()).count();
        let mut any_candidate = false;
        for anchor in self.anchors.iter().filter(|a| a.could_issue(child)) {
            any_candidate = true;
            let checked = child
                .check_signed_by(anchor)
                .and_then(|()| anchor.check_issuer(below))
                .and_then(|()| anchor.check_validity(self.now, self.skew));
            match checked {
                Ok(()) => {
                    let mut certs: Vec<Vec<u8>> = path.iter().map(|c| c.der.to_vec()).collect();
                    certs.push(anchor.der.to_vec());
                    return Some(certs);
                }
                Err(e) => record(best, depth, e),
            }
        }
        for (i, inter) in self.inters.iter().enumerate() {
            if used.get(i).copied().unwrap_or(true) || !inter.could_issue(child) {
                continue;
            }
            any_candidate = true;
            let checked = child
                .check_signed_by(inter)
                .and_then(|()| inter.check_issuer(below))
                .and_then(|()| inter.check_validity(self.now, self.skew));
            if let Err(e) = checked {
                record(best, depth, e);
                continue;
            }
            if depth + 1 >= MAX_PATH_LEN {
                record(best, depth, ChainError::TooLong);
                continue;
            }
            if let Some(slot) = used.get_mut(i) {
                *slot = true;
            }
            path.push(inter);
            let found = self.extend(path, used, best);
            path.pop();
            if let Some(slot) = used.get_mut(i) {
                *slot = false;
            }
            if found.is_some() {
                return found;
            }
        }
        if !any_candidate {
            let issuer = child.cert.tbs_certificate().issuer().to_string();
            record(
                best,
                depth,
                ChainError::UnknownIssuer {
                    subject: child.label(),
                    issuer,
                },
            );
        }
        None
    }
}

/// Keeps the failure of the deepest attempt (the first one at that depth).
fn record(best: &mut Option<(usize, ChainError)>, depth: usize, e: ChainError) {
    if best.as_ref().is_none_or(|(d, _)| depth > *d) {
        *best = Some((depth, e));
    }
}

#[cfg(test)]
mod tests;
