//! Revocation of the Authority Token signer through the CRL its certificate names (RFC 5280
//! §4.2.1.13, §5, §6.3; standards.md §2.7 step 2: "a revoked token-signing certificate is
//! refused").
//!
//! Kept deliberately simple, and strict where it simplifies:
//! * the CRL must come from a cRLDistributionPoints URI (http or https, under the same fetch rules
//!   as x5u) of a distribution point without `reasons`;
//! * it must be issued by the signer's issuer or by the distribution point's `cRLIssuer` (an
//!   indirect CRL, as the STI-PA publishes), and its signature must verify with a certificate
//!   from the verified chain or the trust anchors whose subject is the CRL issuer (with
//!   cRLSign when it has keyUsage);
//! * `nextUpdate` is required and must not be past (a stale cached copy is fetched again once);
//! * delta CRLs, reason-partitioned CRLs, CRLs whose scope excludes the signer and unknown
//!   critical extensions make the CRL unusable;
//! * an entry revokes the signer when its serial matches and its certificate issuer (the
//!   `certificateIssuer` entry extension of an indirect CRL, RFC 5280 §5.3.3) is the signer's
//!   issuer; an entry with no explicit certificate issuer matches on the serial alone, which can
//!   only err on the side of refusing.
//!
//! Whether an unusable CRL refuses the token is the caller's policy (`require_crl`).

use der::{Decode, Encode};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{CrlDistributionPoints, KeyUsages};

use crate::va::x5u::{FetchError, Fetcher};
use crate::x509::chain::{ParsedCert, unix};
use crate::x509::signature::{SignatureError, signed_part, verify_signature};

/// The outcome of a revocation check that could be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlStatus {
    /// The signer certificate names no CRL: nothing to check.
    NoDistributionPoint,
    /// The CRL at `url` does not list the signer.
    Good {
        /// where the CRL came from
        url: String,
    },
    /// The CRL at `url` lists the signer.
    Revoked {
        /// where the CRL came from
        url: String,
        /// the signer's serial, hex
        serial: String,
    },
}

/// Why the signer's revocation status could not be established.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlError {
    /// The signer's cRLDistributionPoints cannot be read or has no usable entry (no http(s) URI,
    /// or only reason-partitioned points).
    #[error("the signer's cRLDistributionPoints has no usable http(s) distribution point: {0}")]
    NoUsableDistributionPoint(String),
    /// The CRL could not be fetched.
    #[error("CRL {url} could not be fetched: {error}")]
    Fetch {
        /// the CRL URL
        url: String,
        /// why
        error: FetchError,
    },
    /// The CRL is not a DER or PEM X.509 CRL.
    #[error("CRL {url} cannot be parsed: {reason}")]
    Parse {
        /// the CRL URL
        url: String,
        /// why
        reason: String,
    },
    /// The CRL's issuer is neither the signer's issuer nor the distribution point's cRLIssuer.
    #[error("CRL {url} is issued by {issuer}, which is not authoritative for the signer")]
    NotAuthoritative {
        /// the CRL URL
        url: String,
        /// the CRL issuer
        issuer: String,
    },
    /// No certificate in the verified chain or the trust anchors is the CRL issuer (with cRLSign).
    #[error("CRL {url}: no trusted certificate for its issuer {issuer}")]
    UnknownIssuer {
        /// the CRL URL
        url: String,
        /// the CRL issuer
        issuer: String,
    },
    /// The CRL signature does not verify with the CRL issuer's key.
    #[error("CRL {url}: signature does not verify ({reason})")]
    BadSignature {
        /// the CRL URL
        url: String,
        /// why
        reason: String,
    },
    /// The CRL is outside its validity: thisUpdate in the future, nextUpdate absent or past.
    #[error("CRL {url} is not current: {reason}")]
    NotCurrent {
        /// the CRL URL
        url: String,
        /// why
        reason: String,
    },
    /// The CRL is of a kind stica does not evaluate (delta, partitioned, out of scope, unknown
    /// critical extension).
    #[error("CRL {url} cannot be used: {reason}")]
    Unsupported {
        /// the CRL URL
        url: String,
        /// why
        reason: String,
    },
}

/// issuingDistributionPoint (RFC 5280 §5.2.5).
const IDP: &str = "2.5.29.28";
/// deltaCRLIndicator (RFC 5280 §5.2.4).
const DELTA: &str = "2.5.29.27";
/// certificateIssuer entry extension (RFC 5280 §5.3.3).
const CERTIFICATE_ISSUER: &str = "2.5.29.29";
/// Entry extensions understood (reasonCode, invalidityDate, certificateIssuer).
const KNOWN_ENTRY: &[&str] = &["2.5.29.21", "2.5.29.24", CERTIFICATE_ISSUER];
/// CRL extensions understood besides IDP and delta (AKI, cRLNumber, freshestCRL, AIA).
const KNOWN_CRL: &[&str] = &["2.5.29.35", "2.5.29.20", "2.5.29.46", "1.3.6.1.5.5.7.1.1"];

/// One distribution point worth fetching.
struct Point {
    url: String,
    crl_issuers: Vec<Vec<u8>>,
}

/// Checks the signer (`signer_der`, already chain-verified) against the CRL it names.
/// `trusted` holds the verified chain and the trust anchors (DER): the CRL must be signed by one
/// of them.
pub async fn check_signer(
    fetcher: &Fetcher,
    signer_der: &[u8],
    trusted: &[Vec<u8>],
    now: i64,
    skew: i64,
) -> Result<CrlStatus, CrlError> {
    let signer = ParsedCert::parse(signer_der, "token signer")
        .map_err(|e| CrlError::NoUsableDistributionPoint(e.to_string()))?;
    let points = distribution_points(&signer)?;
    if points.is_empty() {
        return Ok(CrlStatus::NoDistributionPoint);
    }
    let trusted: Vec<ParsedCert<'_>> = trusted
        .iter()
        .filter_map(|d| ParsedCert::parse(d, "trusted").ok())
        .collect();
    let mut last = None;
    for point in &points {
        match check_point(fetcher, &signer, point, &trusted, now, skew).await {
            Ok(status) => return Ok(status),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| CrlError::NoUsableDistributionPoint("none".into())))
}

/// The usable distribution points, in certificate order; empty when the extension is absent.
fn distribution_points(signer: &ParsedCert<'_>) -> Result<Vec<Point>, CrlError> {
    let unusable = |m: &str| CrlError::NoUsableDistributionPoint(m.to_string());
    let Some((_, dps)) = signer
        .cert
        .tbs_certificate()
        .get_extension::<CrlDistributionPoints>()
        .map_err(|e| unusable(&e.to_string()))?
    else {
        return Ok(Vec::new());
    };
    let mut points = Vec::new();
    for dp in &dps.0 {
        if dp.reasons.is_some() {
            continue;
        }
        let Some(DistributionPointName::FullName(names)) = &dp.distribution_point else {
            continue;
        };
        let crl_issuers: Vec<Vec<u8>> = dp
            .crl_issuer
            .iter()
            .flatten()
            .filter_map(|g| match g {
                GeneralName::DirectoryName(n) => n.to_der().ok(),
                _ => None,
            })
            .collect();
        for name in names {
            if let GeneralName::UniformResourceIdentifier(uri) = name {
                let url = uri.as_str();
                let lower = url.to_ascii_lowercase();
                if lower.starts_with("https://") || lower.starts_with("http://") {
                    points.push(Point {
                        url: url.to_string(),
                        crl_issuers: crl_issuers.clone(),
                    });
                }
            }
        }
    }
    if points.is_empty() {
        return Err(unusable(
            "no full-name http(s) URI in a distribution point without reasons",
        ));
    }
    Ok(points)
}

async fn check_point(
    fetcher: &Fetcher,
    signer: &ParsedCert<'_>,
    point: &Point,
    trusted: &[ParsedCert<'_>],
    now: i64,
    skew: i64,
) -> Result<CrlStatus, CrlError> {
    let fetch_err = |error| CrlError::Fetch {
        url: point.url.clone(),
        error,
    };
    let body = fetcher.fetch(&point.url, now).await.map_err(fetch_err)?;
    let revoked = match evaluate(&body, signer, point, trusted, now, skew) {
        // A cached copy may have gone stale while a newer one is published: fetch once more.
        Err(CrlError::NotCurrent { .. }) => {
            let body = fetcher
                .fetch_fresh(&point.url, now)
                .await
                .map_err(fetch_err)?;
            evaluate(&body, signer, point, trusted, now, skew)?
        }
        other => other?,
    };
    Ok(if revoked {
        CrlStatus::Revoked {
            url: point.url.clone(),
            serial: hex::encode(signer.cert.tbs_certificate().serial_number().as_bytes()),
        }
    } else {
        CrlStatus::Good {
            url: point.url.clone(),
        }
    })
}

/// Parses and checks one CRL body; returns whether it lists the signer.
fn evaluate(
    body: &[u8],
    signer: &ParsedCert<'_>,
    point: &Point,
    trusted: &[ParsedCert<'_>],
    now: i64,
    skew: i64,
) -> Result<bool, CrlError> {
    let url = || point.url.clone();
    let parse = |reason: String| CrlError::Parse { url: url(), reason };
    let unsupported = |reason: String| CrlError::Unsupported { url: url(), reason };
    let der = crate::x509::pem_blocks(body, "X509 CRL")
        .map_err(parse)?
        .into_iter()
        .next()
        .ok_or_else(|| parse("no X509 CRL block".into()))?;
    let crl = <CertificateList>::from_der(&der).map_err(|e| parse(e.to_string()))?;
    let tbs_bytes = signed_part(&der).map_err(|e| parse(e.to_string()))?;
    let tbs = &crl.tbs_cert_list;
    if tbs.signature != crl.signature_algorithm {
        return Err(parse(
            "tbsCertList signature algorithm differs from signatureAlgorithm (RFC 5280 §5.1.1.2)"
                .into(),
        ));
    }

    // Authority and signature.
    let issuer_der = tbs.issuer.to_der().map_err(|e| parse(e.to_string()))?;
    let issuer_text = tbs.issuer.to_string();
    if issuer_der != signer.issuer_der && !point.crl_issuers.contains(&issuer_der) {
        return Err(CrlError::NotAuthoritative {
            url: url(),
            issuer: issuer_text,
        });
    }
    let sig = crl
        .signature
        .as_bytes()
        .ok_or_else(|| parse("signature BIT STRING has unused bits".into()))?;
    let candidates: Vec<&ParsedCert<'_>> = trusted
        .iter()
        .filter(|c| c.subject_der == issuer_der)
        .filter(|c| {
            c.key_usage
                .as_ref()
                .is_none_or(|ku| ku.0.contains(KeyUsages::CRLSign))
        })
        .filter(|c| c.check_validity(now, skew).is_ok())
        .collect();
    if candidates.is_empty() {
        return Err(CrlError::UnknownIssuer {
            url: url(),
            issuer: issuer_text,
        });
    }
    let mut why = String::new();
    let verified = candidates.iter().any(|c| {
        match verify_signature(
            c.cert.tbs_certificate().subject_public_key_info(),
            &crl.signature_algorithm,
            tbs_bytes,
            sig,
        ) {
            Ok(()) => true,
            Err(SignatureError::Invalid) => {
                why = "invalid signature".into();
                false
            }
            Err(SignatureError::Unsupported(m)) => {
                why = m;
                false
            }
        }
    });
    if !verified {
        return Err(CrlError::BadSignature {
            url: url(),
            reason: why,
        });
    }

    // Currency (RFC 5280 §6.3.3 (a)).
    let this_update = unix(&tbs.this_update);
    if this_update > now.saturating_add(skew) {
        return Err(CrlError::NotCurrent {
            url: url(),
            reason: format!(
                "thisUpdate {} is in the future",
                crate::acme::rfc3339(this_update)
            ),
        });
    }
    let Some(next_update) = tbs.next_update.as_ref().map(unix) else {
        return Err(CrlError::NotCurrent {
            url: url(),
            reason: "no nextUpdate".into(),
        });
    };
    if next_update < now.saturating_sub(skew) {
        return Err(CrlError::NotCurrent {
            url: url(),
            reason: format!(
                "nextUpdate {} has passed",
                crate::acme::rfc3339(next_update)
            ),
        });
    }

    // Scope (RFC 5280 §5.2).
    let signer_is_ca = signer.basic.as_ref().is_some_and(|b| b.ca);
    for ext in tbs.crl_extensions.iter().flatten() {
        let oid = ext.extn_id.to_string();
        match oid.as_str() {
            DELTA => return Err(unsupported("delta CRLs are not evaluated".into())),
            IDP => {
                let idp = IssuingDistributionPoint::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| parse(format!("issuingDistributionPoint: {e}")))?;
                if idp.only_some_reasons.is_some() {
                    return Err(unsupported("reason-partitioned CRL".into()));
                }
                if idp.only_contains_attribute_certs
                    || (idp.only_contains_ca_certs && !signer_is_ca)
                    || (idp.only_contains_user_certs && signer_is_ca)
                {
                    return Err(unsupported("the CRL's scope excludes the signer".into()));
                }
            }
            known if KNOWN_CRL.contains(&known) => {}
            _ if ext.critical => {
                return Err(unsupported(format!("unknown critical CRL extension {oid}")));
            }
            _ => {}
        }
    }

    // Entries (RFC 5280 §5.3.3: certificateIssuer applies to this and the following entries).
    let serial = signer.cert.tbs_certificate().serial_number().as_bytes();
    let mut entry_issuer: Option<Vec<u8>> = None;
    let mut listed = false;
    for entry in tbs.revoked_certificates.iter().flatten() {
        for ext in entry.crl_entry_extensions.iter().flatten() {
            let oid = ext.extn_id.to_string();
            if oid == CERTIFICATE_ISSUER {
                let names = Vec::<GeneralName>::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| parse(format!("certificateIssuer: {e}")))?;
                entry_issuer = names.iter().find_map(|g| match g {
                    GeneralName::DirectoryName(n) => n.to_der().ok(),
                    _ => None,
                });
            } else if ext.critical && !KNOWN_ENTRY.contains(&oid.as_str()) {
                return Err(unsupported(format!(
                    "unknown critical CRL entry extension {oid}"
                )));
            }
        }
        if entry.serial_number.as_bytes() == serial
            && entry_issuer
                .as_ref()
                .is_none_or(|i| *i == signer.issuer_der)
        {
            listed = true;
        }
    }
    Ok(listed)
}
