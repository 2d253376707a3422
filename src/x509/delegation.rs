//! Delegation chain verification (RFC 9060 §4, ATIS-1000092, profiles.md "Encompassing"): the
//! checks a verifier, and stica before every delegate issuance, runs over a chain of STIR
//! certificates, reported link by link.
//!
//! 1. RFC 5280 path validation through [`crate::x509::chain::verify_chain`]: names, signatures,
//!    validity, issuers are CAs with keyCertSign, pathLenConstraint.
//! 2. For every certificate, from the trust anchor down:
//!    - validity at `now`, and the certificate above it is a CA with keyCertSign that issued it;
//!    - a certificate claiming cA TRUE sits under CAs whose pathLenConstraint still allows one
//!      more CA. This is stricter than RFC 5280, which does not count the last certificate of a
//!      path: stica refuses a CA certificate that could never issue anything valid, as the issue
//!      for delegate CAs (issue 3, item 2) asks of its own issuance;
//!    - its TNAuthList (when it has one) is encompassed by the TNAuthList of the nearest
//!      certificate above it that carries one ([`encompasses_with_inventory`]), using the number
//!      inventory for SPC-only parents when one is given. The first certificate with a TNAuthList
//!      is the top of the delegation: STI roots and intermediates carry none (ATIS-1000080);
//!    - its JWT claim constraints, if any, are well formed and not both forms at once.
//!
//! The result is a [`DelegationReport`] with one [`LinkReport`] per certificate and an overall
//! [`Verdict`]; its `Display` is the output of `stica verify chain`. Even when path validation
//! fails, every link is still checked and reported, so the reader sees every fault at once.

use std::fmt;

use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::KeyUsages;

use crate::policy::inventory::{NumberInventory, encompasses_with_inventory};
use crate::tnauth::jwtcc::ClaimConstraints;
use crate::tnauth::{ID_PE_TNAUTHLIST, TnAuthList};
use crate::x509::chain::{ChainError, ParsedCert, verify_chain};

/// Clock-skew allowance on validity, in seconds. Zero: a verifier reporting on a chain should say
/// exactly whether each certificate is valid at the instant asked about.
pub const SKEW_SECS: i64 = 0;

/// Pass or fail, for one link or the whole chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Every check passed.
    Pass,
    /// At least one check failed; the reason says which.
    Fail,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
        })
    }
}

/// What a certificate is in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkRole {
    /// One of the configured trust anchors (the top of the path).
    TrustAnchor,
    /// A CA certificate below the anchor (basicConstraints cA TRUE): an STI intermediate or a
    /// delegating (SCA) certificate.
    Ca,
    /// An end-entity certificate (cA FALSE or no basicConstraints).
    EndEntity,
}

impl fmt::Display for LinkRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkRole::TrustAnchor => "trust anchor",
            LinkRole::Ca => "CA",
            LinkRole::EndEntity => "end entity",
        })
    }
}

/// A certificate's TNAuthList extension (RFC 8226 §9), as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TnAuthListState {
    /// The certificate has no TNAuthList extension.
    Absent,
    /// The parsed list (its `Display` is the CLI syntax).
    Present(TnAuthList),
    /// The extension is there but does not parse; the reason.
    Invalid(String),
}

impl fmt::Display for TnAuthListState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TnAuthListState::Absent => f.write_str("none"),
            TnAuthListState::Present(list) => write!(f, "{list}"),
            TnAuthListState::Invalid(reason) => write!(f, "invalid ({reason})"),
        }
    }
}

/// The report on one certificate of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkReport {
    /// What the certificate is in the chain.
    pub role: LinkRole,
    /// Its subject (RFC 4514 string), or a placeholder when it cannot be parsed.
    pub subject: String,
    /// Its serial number, lowercase hex.
    pub serial_hex: String,
    /// notBefore, unix seconds.
    pub not_before: i64,
    /// notAfter, unix seconds.
    pub not_after: i64,
    /// basicConstraints cA.
    pub ca: bool,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u8>,
    /// Its TNAuthList.
    pub tnauthlist: TnAuthListState,
    /// Its JWT claim constraints (RFC 8226 §8 or RFC 9118), when it carries one form.
    pub claim_constraints: Option<ClaimConstraints>,
    /// The link's verdict.
    pub verdict: Verdict,
    /// Why: every failed check joined with "; ", or on a pass what was established.
    pub reason: String,
}

/// The report on a whole delegation chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationReport {
    /// One entry per certificate, from the top (the trust anchor, when the path reaches one) down
    /// to the leaf.
    pub links: Vec<LinkReport>,
    /// The RFC 5280 path validation error, if path validation failed.
    pub chain_error: Option<ChainError>,
    /// How many input certificates were not part of the validated path (sent along, unused).
    pub unused_inputs: usize,
    /// Pass only when path validation passed and every link passed.
    pub verdict: Verdict,
    /// One line: what passed, or the first failure.
    pub summary: String,
}

impl DelegationReport {
    /// True when the whole chain passed.
    pub fn is_pass(&self) -> bool {
        self.verdict == Verdict::Pass
    }

    /// The leaf's report (the last link), if any.
    pub fn leaf(&self) -> Option<&LinkReport> {
        self.links.last()
    }

    /// The links that failed, top first.
    pub fn failures(&self) -> impl Iterator<Item = &LinkReport> {
        self.links.iter().filter(|l| l.verdict == Verdict::Fail)
    }
}

/// Verifies a delegation chain and reports on every link.
///
/// `chain_der` is the chain as sent (x5u, `stica verify chain <pem>`): the leaf first, then its
/// issuers; it may include the root. `anchors` are the trusted roots (DER). `now` is unix seconds.
/// `inv` is the number inventory used when a parent lists only an SPC (profiles.md
/// "Encompassing"); without it such a parent encompasses no telephone number.
pub fn verify_delegation_chain(
    chain_der: &[Vec<u8>],
    anchors: &[Vec<u8>],
    now: i64,
    inv: Option<&NumberInventory>,
) -> DelegationReport {
    let Some((leaf, rest)) = chain_der.split_first() else {
        return DelegationReport {
            links: Vec::new(),
            chain_error: None,
            unused_inputs: 0,
            verdict: Verdict::Fail,
            summary: "no certificate was given".into(),
        };
    };
    let (path, chain_error) = match verify_chain(leaf, rest, anchors, now, SKEW_SECS) {
        Ok(verified) => (verified.certs, None),
        Err(e) => (fallback_path(chain_der, anchors), Some(e)),
    };
    let unused_inputs = chain_der.iter().filter(|c| !path.contains(c)).count();
    // Top first.
    let top_down: Vec<&Vec<u8>> = path.iter().rev().collect();
    let mut links = check_links(&top_down, anchors, now, inv);
    if let Some(e) = &chain_error {
        attribute(e, &mut links);
    }
    let verdict = if chain_error.is_none() && links.iter().all(|l| l.verdict == Verdict::Pass) {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    let summary = summarize(&links, chain_error.as_ref(), verdict);
    DelegationReport {
        links,
        chain_error,
        unused_inputs,
        verdict,
        summary,
    }
}

/// The path to report on when path validation failed: the input in its order (leaf first), cut
/// after the first certificate that is itself a trust anchor, then the anchor whose subject
/// names the last certificate's issuer, when there is one.
fn fallback_path(chain_der: &[Vec<u8>], anchors: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut path = Vec::new();
    for der in chain_der {
        path.push(der.clone());
        if anchors.contains(der) {
            return path;
        }
    }
    let names = |der: &[u8]| {
        Certificate::from_der(der).ok().map(|c| {
            let t = c.tbs_certificate();
            (t.subject().clone(), t.issuer().clone())
        })
    };
    let last_issuer = path.last().and_then(|d| names(d)).map(|(_, issuer)| issuer);
    if let Some(issuer) = last_issuer
        && let Some(anchor) = anchors
            .iter()
            .find(|a| names(a).is_some_and(|(subject, _)| subject == issuer))
    {
        path.push(anchor.clone());
    }
    path
}

/// What the walk down the chain carries from one link to the next.
struct Above<'a> {
    parsed: Option<ParsedCert<'a>>,
    /// How many more (non-self-issued) CA certificates the CAs above allow, and which
    /// certificate set that limit; `None` when unlimited.
    ca_budget: Option<(u8, String)>,
}

/// Checks every link, top first.
fn check_links(
    top_down: &[&Vec<u8>],
    anchors: &[Vec<u8>],
    now: i64,
    inv: Option<&NumberInventory>,
) -> Vec<LinkReport> {
    let mut links: Vec<LinkReport> = Vec::with_capacity(top_down.len());
    let mut above: Option<Above<'_>> = None;
    for (i, der) in top_down.iter().enumerate() {
        let position = top_down.len() - i;
        let parsed = ParsedCert::parse(der, &format!("certificate {position} (from the leaf)"));
        let (mut link, parsed) = match parsed {
            Ok(p) => (describe(&p, anchors.contains(der)), Some(p)),
            Err(e) => (unreadable(position, &e), None),
        };
        let mut problems: Vec<String> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        let mut budget = above.as_ref().and_then(|a| a.ca_budget.clone());
        let unlimited_above = above.as_ref().is_none_or(|a| a.ca_budget.is_none());
        match &parsed {
            None => problems.push(link.reason.clone()),
            Some(cert) => {
                if let Err(e) = cert.check_validity(now, SKEW_SECS) {
                    problems.push(e.to_string());
                }
                match above.as_ref().map(|a| a.parsed.as_ref()) {
                    None => {
                        if link.role == LinkRole::TrustAnchor {
                            notes.push("trust anchor".into());
                        } else {
                            problems.push(
                                "the path does not reach a trust anchor above this certificate"
                                    .into(),
                            );
                        }
                        budget = if link.ca {
                            link.path_len.map(|n| (n, link.subject.clone()))
                        } else {
                            None
                        };
                    }
                    Some(None) => problems.push(
                        "cannot be checked against the certificate above, which is unreadable"
                            .into(),
                    ),
                    Some(Some(parent)) => {
                        check_issued_by(cert, parent, &mut problems);
                        budget = check_ca_budget(
                            cert,
                            &link,
                            budget,
                            unlimited_above,
                            &mut problems,
                            &mut notes,
                        );
                    }
                }
                check_tnauthlist(&link, &links, inv, &mut problems, &mut notes);
                if let Err(e) = claim_constraints(cert).map(|c| link.claim_constraints = c) {
                    problems.push(e);
                }
            }
        }
        if problems.is_empty() {
            link.verdict = Verdict::Pass;
            link.reason = notes.join("; ");
        } else {
            link.verdict = Verdict::Fail;
            link.reason = problems.join("; ");
        }
        links.push(link);
        above = Some(Above {
            parsed,
            ca_budget: budget,
        });
    }
    links
}

/// The link's static facts; the verdict is filled in by the checks.
fn describe(cert: &ParsedCert<'_>, is_anchor: bool) -> LinkReport {
    let t = cert.cert.tbs_certificate();
    let ca = cert.basic.as_ref().is_some_and(|b| b.ca);
    let role = if is_anchor {
        LinkRole::TrustAnchor
    } else if ca {
        LinkRole::Ca
    } else {
        LinkRole::EndEntity
    };
    LinkReport {
        role,
        subject: cert.label(),
        serial_hex: hex::encode(t.serial_number().as_bytes()),
        not_before: cert.not_before,
        not_after: cert.not_after,
        ca,
        path_len: cert.basic.as_ref().and_then(|b| b.path_len_constraint),
        tnauthlist: tnauthlist(&cert.cert),
        claim_constraints: None,
        verdict: Verdict::Fail,
        reason: String::new(),
    }
}

/// A link for a certificate that does not parse.
fn unreadable(position: usize, e: &ChainError) -> LinkReport {
    LinkReport {
        role: LinkRole::EndEntity,
        subject: format!("<unreadable certificate {position} from the leaf>"),
        serial_hex: String::new(),
        not_before: 0,
        not_after: 0,
        ca: false,
        path_len: None,
        tnauthlist: TnAuthListState::Absent,
        claim_constraints: None,
        verdict: Verdict::Fail,
        reason: e.to_string(),
    }
}

fn tnauthlist(cert: &Certificate) -> TnAuthListState {
    let extensions = cert.tbs_certificate().extensions();
    let found = extensions
        .into_iter()
        .flatten()
        .find(|e| e.extn_id == ID_PE_TNAUTHLIST);
    match found {
        None => TnAuthListState::Absent,
        Some(ext) => match TnAuthList::from_der(ext.extn_value.as_bytes()) {
            Ok(list) => TnAuthListState::Present(list),
            Err(e) => TnAuthListState::Invalid(e.to_string()),
        },
    }
}

fn claim_constraints(cert: &ParsedCert<'_>) -> Result<Option<ClaimConstraints>, String> {
    let extensions = cert.cert.tbs_certificate().extensions();
    let extensions: Vec<_> = extensions.into_iter().flatten().cloned().collect();
    ClaimConstraints::from_extensions(&extensions).map_err(|e| e.to_string())
}

/// The certificate above issued this one and may issue certificates (RFC 5280 §6.1.4 (k), (n)).
fn check_issued_by(cert: &ParsedCert<'_>, parent: &ParsedCert<'_>, problems: &mut Vec<String>) {
    if cert.issuer_der != parent.subject_der {
        problems.push(format!(
            "its issuer {} is not the certificate above ({})",
            cert.cert.tbs_certificate().issuer(),
            parent.label()
        ));
    }
    if !parent.basic.as_ref().is_some_and(|b| b.ca) {
        problems.push(format!(
            "issued by {}, which is not a CA (basicConstraints cA is not TRUE)",
            parent.label()
        ));
    }
    if let Some(ku) = &parent.key_usage
        && !ku.0.contains(KeyUsages::KeyCertSign)
    {
        problems.push(format!(
            "issued by {}, whose keyUsage lacks keyCertSign",
            parent.label()
        ));
    }
}

/// The pathLenConstraint rule, stica's strict form: a CA certificate (not self-issued) needs
/// every CA above it to allow one more CA below. Returns the budget for the links below.
fn check_ca_budget(
    cert: &ParsedCert<'_>,
    link: &LinkReport,
    budget: Option<(u8, String)>,
    unlimited_above: bool,
    problems: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Option<(u8, String)> {
    let self_issued = cert.subject_der == cert.issuer_der;
    let mut budget = budget;
    if link.ca && !self_issued {
        match &budget {
            Some((0, from)) => problems.push(format!(
                "pathLen exhausted: it is a CA certificate (cA TRUE), but {from} allows no \
                 further CA certificate below it"
            )),
            Some((n, from)) => {
                notes.push(format!(
                    "CA allowed: {from} permits {n} more CA level(s) at this point"
                ));
                budget = Some((n - 1, from.clone()));
            }
            None if unlimited_above => notes.push("CA allowed (no pathLen limit above)".into()),
            None => {}
        }
    }
    if link.ca
        && let Some(own) = link.path_len
        && budget.as_ref().is_none_or(|(n, _)| own <= *n)
    {
        budget = Some((own, link.subject.clone()));
    }
    budget
}

/// The TNAuthList rule: encompassed by the nearest certificate above that carries one.
fn check_tnauthlist(
    link: &LinkReport,
    above: &[LinkReport],
    inv: Option<&NumberInventory>,
    problems: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let nearest = above
        .iter()
        .rev()
        .find(|l| l.tnauthlist != TnAuthListState::Absent);
    match (&link.tnauthlist, nearest) {
        (TnAuthListState::Invalid(reason), _) => {
            problems.push(format!("its TNAuthList cannot be parsed: {reason}"));
        }
        (TnAuthListState::Absent, Some(_)) => {
            notes.push("carries no TNAuthList, so there is nothing to encompass".into());
        }
        (TnAuthListState::Absent, None) => {}
        (TnAuthListState::Present(_), None) => notes.push(
            "TNAuthList is the top of the delegation (no certificate above carries one)".into(),
        ),
        (TnAuthListState::Present(_), Some(parent)) => match &parent.tnauthlist {
            TnAuthListState::Present(parent_list) => {
                if let TnAuthListState::Present(child) = &link.tnauthlist {
                    match encompasses_with_inventory(parent_list, child, inv) {
                        Ok(()) => notes.push(format!(
                            "TNAuthList encompassed by that of {}{}",
                            parent.subject,
                            if inv.is_some() && parent_list.spcs().next().is_some() {
                                " (with the number inventory)"
                            } else {
                                ""
                            }
                        )),
                        Err(e) => problems.push(format!(
                            "TNAuthList not encompassed by that of {}: {e}",
                            parent.subject
                        )),
                    }
                }
            }
            _ => problems.push(format!(
                "TNAuthList cannot be checked: the TNAuthList of {} above cannot be parsed",
                parent.subject
            )),
        },
    }
}

/// Puts the path-validation error on the link it names, unless the link checks already reported
/// that kind of fault. Either way the report keeps the error in `chain_error`.
fn attribute(e: &ChainError, links: &mut [LinkReport]) {
    let covered = matches!(
        e,
        ChainError::Expired { .. }
            | ChainError::NotYetValid { .. }
            | ChainError::NotCa { .. }
            | ChainError::NoKeyCertSign { .. }
            | ChainError::PathLenExceeded { .. }
    ) && links.iter().any(|l| l.verdict == Verdict::Fail);
    if covered {
        return;
    }
    let subject = match e {
        ChainError::Expired { subject, .. }
        | ChainError::NotYetValid { subject, .. }
        | ChainError::UnknownIssuer { subject, .. }
        | ChainError::BadSignature { subject, .. }
        | ChainError::UnsupportedSignature { subject, .. }
        | ChainError::NotCa { subject }
        | ChainError::NoKeyCertSign { subject }
        | ChainError::PathLenExceeded { subject, .. }
        | ChainError::UnknownCriticalExtension { subject, .. } => subject,
        _ => return,
    };
    let Some(link) = links.iter_mut().rev().find(|l| &l.subject == subject) else {
        return;
    };
    let message = e.to_string();
    if link.verdict == Verdict::Fail {
        if !link.reason.contains(&message) {
            link.reason = format!("{}; {message}", link.reason);
        }
    } else {
        link.verdict = Verdict::Fail;
        link.reason = message;
    }
}

fn summarize(links: &[LinkReport], chain_error: Option<&ChainError>, verdict: Verdict) -> String {
    if verdict == Verdict::Pass {
        let scope = links
            .iter()
            .rev()
            .find_map(|l| match &l.tnauthlist {
                TnAuthListState::Present(list) => Some(format!("; leaf scope {list}")),
                _ => None,
            })
            .unwrap_or_default();
        return format!("{} certificate(s) verified{scope}", links.len());
    }
    if let Some(first) = links.iter().find(|l| l.verdict == Verdict::Fail) {
        return format!("{}: {}", first.subject, first.reason);
    }
    match chain_error {
        Some(e) => format!("path validation failed: {e}"),
        None => "verification failed".into(),
    }
}

impl fmt::Display for DelegationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Delegation chain: {} ({})", self.verdict, self.summary)?;
        for (i, link) in self.links.iter().enumerate() {
            writeln!(f)?;
            writeln!(f, "[{}] {} {}", i + 1, link.role, link.subject)?;
            if !link.serial_hex.is_empty() {
                writeln!(
                    f,
                    "    serial {}, valid {} to {}",
                    link.serial_hex,
                    crate::acme::rfc3339(link.not_before),
                    crate::acme::rfc3339(link.not_after)
                )?;
                let path_len = match (link.ca, link.path_len) {
                    (false, _) => "cA FALSE".to_string(),
                    (true, Some(n)) => format!("cA TRUE, pathLen {n}"),
                    (true, None) => "cA TRUE, no pathLen limit".to_string(),
                };
                writeln!(f, "    {path_len}; TNAuthList: {}", link.tnauthlist)?;
                if let Some(cc) = &link.claim_constraints {
                    writeln!(f, "    {cc}")?;
                }
            }
            writeln!(f, "    {}: {}", link.verdict, link.reason)?;
        }
        if let Some(e) = &self.chain_error {
            writeln!(f)?;
            writeln!(f, "Path validation (RFC 5280): {e}")?;
        }
        if self.unused_inputs > 0 {
            writeln!(
                f,
                "Note: {} input certificate(s) were not part of the path.",
                self.unused_inputs
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, CustomExtension, IsCa, KeyUsagePurpose};

    use super::*;
    use crate::tnauth::jwtcc::{ClaimName, EnhancedJwtClaimConstraints, JwtClaimConstraints};
    use crate::x509::testpki::{
        NOT_BEFORE, NOW, TestCert, ca_params, leaf_params, self_signed, signed, validity,
    };

    const TNAUTHLIST_ARCS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 26];
    const SCA_SCOPE: &str = "spc:709J,range:2015550100+100,tn:2015550300";

    fn with_tnauthlist(mut p: CertificateParams, list: &str) -> CertificateParams {
        let list: TnAuthList = list.parse().unwrap();
        p.custom_extensions.push(CustomExtension::from_oid_content(
            TNAUTHLIST_ARCS,
            list.to_der(),
        ));
        p
    }

    fn sca_params(path_len: Option<u8>, list: &str) -> CertificateParams {
        with_tnauthlist(ca_params("Carrier SHAKEN SCA 709J", path_len), list)
    }

    fn delegate_params(list: &str) -> CertificateParams {
        with_tnauthlist(leaf_params("Enterprise SHAKEN"), list)
    }

    /// root -> intermediate (pathLen 1, no TNAuthList).
    fn sti_ca(inter_path_len: Option<u8>) -> (TestCert, TestCert) {
        let root = self_signed(ca_params("Test SHAKEN ROOT", None));
        let inter = signed(ca_params("Test STI-CA Intermediate", inter_path_len), &root);
        (root, inter)
    }

    fn verify(
        chain: &[&TestCert],
        root: &TestCert,
        inv: Option<&NumberInventory>,
    ) -> DelegationReport {
        let ders: Vec<Vec<u8>> = chain.iter().map(|c| c.der.clone()).collect();
        verify_delegation_chain(&ders, std::slice::from_ref(&root.der), NOW, inv)
    }

    /// root -> intermediate -> SCA (`sca_list`) -> delegate (`delegate_list`).
    fn four_link(
        sca_list: &str,
        delegate_list: &str,
        inv: Option<&NumberInventory>,
    ) -> DelegationReport {
        let (root, inter) = sti_ca(Some(1));
        let sca = signed(sca_params(Some(0), sca_list), &inter);
        let delegate = signed(delegate_params(delegate_list), &sca);
        verify(&[&delegate, &sca, &inter], &root, inv)
    }

    fn assert_only_leaf_fails(report: &DelegationReport, needle: &str) {
        assert_eq!(report.verdict, Verdict::Fail, "{report}");
        let verdicts: Vec<Verdict> = report.links.iter().map(|l| l.verdict).collect();
        assert_eq!(
            verdicts,
            [Verdict::Pass, Verdict::Pass, Verdict::Pass, Verdict::Fail],
            "{report}"
        );
        let leaf = report.leaf().unwrap();
        assert!(leaf.reason.contains(needle), "{}", leaf.reason);
        assert!(report.chain_error.is_none(), "RFC 5280 path is fine");
        assert!(report.summary.contains(needle), "{}", report.summary);
    }

    #[test]
    fn good_chain_passes_every_link() {
        let report = four_link(SCA_SCOPE, "range:2015550110+10,tn:2015550300", None);
        assert!(report.is_pass(), "{report}");
        let roles: Vec<LinkRole> = report.links.iter().map(|l| l.role).collect();
        assert_eq!(
            roles,
            [
                LinkRole::TrustAnchor,
                LinkRole::Ca,
                LinkRole::Ca,
                LinkRole::EndEntity
            ]
        );
        assert_eq!(report.links[1].tnauthlist, TnAuthListState::Absent);
        assert_eq!(
            report.links[2].tnauthlist,
            TnAuthListState::Present(SCA_SCOPE.parse().unwrap())
        );
        assert!(
            report.links[2].reason.contains("top of the delegation"),
            "{report}"
        );
        assert!(
            report.links[3]
                .reason
                .contains("encompassed by that of O=stica tests,CN=Carrier SHAKEN SCA 709J"),
            "{report}"
        );
        assert_eq!(report.links[2].path_len, Some(0));
        assert_eq!(report.unused_inputs, 0);
        let text = report.to_string();
        assert!(text.starts_with("Delegation chain: PASS"), "{text}");
        assert!(
            text.contains("[4] end entity CN=Enterprise SHAKEN"),
            "{text}"
        );
        assert!(
            text.contains("TNAuthList: range:2015550110+10,tn:2015550300"),
            "{text}"
        );
        assert!(text.contains("cA TRUE, pathLen 0"), "{text}");
    }

    #[test]
    fn chain_file_with_the_root_and_extra_certificates() {
        let (root, inter) = sti_ca(Some(1));
        let sca = signed(sca_params(Some(0), SCA_SCOPE), &inter);
        let delegate = signed(delegate_params("tn:2015550150"), &sca);
        let stray = self_signed(ca_params("Unrelated", None));
        let report = verify(&[&delegate, &sca, &inter, &root, &stray], &root, None);
        assert!(report.is_pass(), "{report}");
        assert_eq!(report.links.len(), 4);
        assert_eq!(report.unused_inputs, 1);
        assert!(
            report
                .to_string()
                .contains("1 input certificate(s) were not part")
        );
    }

    #[test]
    fn one_number_off_fails_the_delegate() {
        let report = four_link(SCA_SCOPE, "tn:2015550150,tn:2015550200", None);
        assert_only_leaf_fails(&report, "child entry 2 (tn:2015550200)");
        assert!(
            report
                .to_string()
                .contains("FAIL: TNAuthList not encompassed")
        );
    }

    #[test]
    fn range_overlapping_the_edge_fails_the_delegate() {
        let report = four_link(SCA_SCOPE, "range:2015550190+11", None);
        assert_only_leaf_fails(&report, "2015550200 is outside");
        // A range ending exactly at the edge is fine.
        assert!(four_link(SCA_SCOPE, "range:2015550190+10", None).is_pass());
    }

    #[test]
    fn spc_mismatch_fails_the_delegate() {
        let report = four_link(SCA_SCOPE, "spc:123A", None);
        assert_only_leaf_fails(&report, "no SPC 123A");
        assert!(four_link(SCA_SCOPE, "spc:709J,tn:2015550101", None).is_pass());
    }

    #[test]
    fn spc_only_parent_needs_an_inventory() {
        let report = four_link("spc:709J", "range:2015550110+10", None);
        assert_only_leaf_fails(
            &report,
            "parent lists only SPC 709J and no number inventory is configured",
        );
        let inv = NumberInventory::from_csv("spc,start,count\n709J,2015550000,1000\n".as_bytes())
            .unwrap();
        let report = four_link("spc:709J", "range:2015550110+10", Some(&inv));
        assert!(report.is_pass(), "{report}");
        assert!(
            report.links[3].reason.contains("with the number inventory"),
            "{report}"
        );
        let report = four_link("spc:709J", "range:2015550995+10", Some(&inv));
        assert_only_leaf_fails(&report, "2015551000 is outside");
        // The inventory's numbers for another SPC do not help.
        let other = NumberInventory::from_csv("123A,2015550000,1000\n".as_bytes()).unwrap();
        assert_only_leaf_fails(
            &four_link("spc:709J", "tn:2015550150", Some(&other)),
            "not encompassed",
        );
    }

    #[test]
    fn nearest_ancestor_with_a_tnauthlist_is_the_parent() {
        // root -> inter (pathLen 2) -> SCA (pathLen 1, 100 numbers) -> sub-SCA (pathLen 0, 50)
        // -> delegate: the delegate is checked against the sub-SCA, not the SCA.
        let (root, inter) = sti_ca(Some(2));
        let sca = signed(sca_params(Some(1), "range:2015550100+100"), &inter);
        let sub = signed(
            with_tnauthlist(
                ca_params("Reseller SHAKEN SCA", Some(0)),
                "range:2015550100+50",
            ),
            &sca,
        );
        let inside = signed(delegate_params("tn:2015550120"), &sub);
        let report = verify(&[&inside, &sub, &sca, &inter], &root, None);
        assert!(report.is_pass(), "{report}");
        assert!(report.links[4].reason.contains("Reseller"), "{report}");
        let outside_sub = signed(delegate_params("tn:2015550170"), &sub);
        let report = verify(&[&outside_sub, &sub, &sca, &inter], &root, None);
        assert_eq!(report.verdict, Verdict::Fail);
        assert!(
            report.leaf().unwrap().reason.contains("Reseller"),
            "{report}"
        );
        // A CA without a TNAuthList between two that have one does not break the rule.
        let plain = signed(ca_params("Plain CA", Some(0)), &sca);
        let under_plain = signed(delegate_params("tn:2015550199"), &plain);
        let report = verify(&[&under_plain, &plain, &sca, &inter], &root, None);
        assert!(report.is_pass(), "{report}");
        let too_far = signed(delegate_params("tn:2015550200"), &plain);
        assert!(!verify(&[&too_far, &plain, &sca, &inter], &root, None).is_pass());
    }

    #[test]
    fn path_len_exhausted_by_a_ca_under_a_path_len_0_sca() {
        // RFC 5280 accepts a CA certificate at the end of a path; stica does not when the parent
        // allows no further CA (the sub-SCA could never issue anything valid).
        let (root, inter) = sti_ca(Some(1));
        let sca = signed(sca_params(Some(0), SCA_SCOPE), &inter);
        let sub = signed(
            with_tnauthlist(ca_params("Sub SCA", None), "range:2015550100+10"),
            &sca,
        );
        let report = verify(&[&sub, &sca, &inter], &root, None);
        assert!(
            report.chain_error.is_none(),
            "RFC 5280 accepts it: {report}"
        );
        assert_eq!(report.verdict, Verdict::Fail);
        let leaf = report.leaf().unwrap();
        assert_eq!(leaf.role, LinkRole::Ca);
        assert!(leaf.reason.contains("pathLen exhausted"), "{report}");
        assert!(leaf.reason.contains("Carrier SHAKEN SCA 709J"), "{report}");
    }

    #[test]
    fn path_len_exhausted_by_an_sca_under_a_path_len_0_intermediate() {
        let (root, inter) = sti_ca(Some(0));
        let sca = signed(sca_params(Some(0), SCA_SCOPE), &inter);
        let delegate = signed(delegate_params("tn:2015550150"), &sca);
        let report = verify(&[&delegate, &sca, &inter], &root, None);
        assert!(
            matches!(report.chain_error, Some(ChainError::PathLenExceeded { .. })),
            "{report}"
        );
        assert_eq!(report.verdict, Verdict::Fail);
        assert_eq!(
            report.links.len(),
            4,
            "every link is still reported: {report}"
        );
        let sca_link = &report.links[2];
        assert_eq!(sca_link.verdict, Verdict::Fail);
        assert!(sca_link.reason.contains("pathLen exhausted"), "{report}");
        assert!(
            sca_link.reason.contains("Test STI-CA Intermediate"),
            "{report}"
        );
        assert_eq!(report.links[3].verdict, Verdict::Pass, "{report}");
    }

    #[test]
    fn expired_link_fails() {
        let (root, inter) = sti_ca(Some(1));
        let expired = validity(sca_params(Some(0), SCA_SCOPE), NOT_BEFORE, NOW - 86_400);
        let sca = signed(expired, &inter);
        let delegate = signed(delegate_params("tn:2015550150"), &sca);
        let report = verify(&[&delegate, &sca, &inter], &root, None);
        assert!(
            matches!(report.chain_error, Some(ChainError::Expired { .. })),
            "{report}"
        );
        assert_eq!(report.verdict, Verdict::Fail);
        let verdicts: Vec<Verdict> = report.links.iter().map(|l| l.verdict).collect();
        assert_eq!(
            verdicts,
            [Verdict::Pass, Verdict::Pass, Verdict::Fail, Verdict::Pass],
            "{report}"
        );
        assert!(report.links[2].reason.contains("expired"), "{report}");
        assert!(report.summary.contains("expired"), "{}", report.summary);
    }

    #[test]
    fn delegate_issued_by_a_non_ca_fails() {
        let (root, inter) = sti_ca(Some(1));
        let tn_level = signed(delegate_params(SCA_SCOPE), &inter);
        let mut params = delegate_params("tn:2015550150");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "x");
        let delegate = signed(params, &tn_level);
        let report = verify(&[&delegate, &tn_level, &inter], &root, None);
        assert_eq!(report.verdict, Verdict::Fail);
        assert!(report.chain_error.is_some());
        let leaf = report.leaf().unwrap();
        assert!(leaf.reason.contains("which is not a CA"), "{report}");
    }

    #[test]
    fn untrusted_root_is_reported() {
        let (root, inter) = sti_ca(Some(1));
        let sca = signed(sca_params(Some(0), SCA_SCOPE), &inter);
        let delegate = signed(delegate_params("tn:2015550150"), &sca);
        let other = self_signed(ca_params("Other ROOT", None));
        let report = verify(&[&delegate, &sca, &inter], &other, None);
        assert_eq!(report.verdict, Verdict::Fail);
        assert!(
            matches!(report.chain_error, Some(ChainError::UnknownIssuer { .. })),
            "{report}"
        );
        assert_eq!(report.links.len(), 3);
        assert!(
            report.links[0]
                .reason
                .contains("does not reach a trust anchor"),
            "{report}"
        );
        assert!(
            report.to_string().contains("no trusted issuer found"),
            "{report}"
        );
        // The encompassing checks below still ran.
        assert_eq!(report.links[2].verdict, Verdict::Pass, "{report}");
        let _ = root;
    }

    #[test]
    fn empty_and_unreadable_inputs() {
        let report = verify_delegation_chain(&[], &[], NOW, None);
        assert_eq!(report.verdict, Verdict::Fail);
        assert!(report.links.is_empty());
        let (root, _) = sti_ca(None);
        let report = verify_delegation_chain(
            &[vec![0x30, 0x00]],
            std::slice::from_ref(&root.der),
            NOW,
            None,
        );
        assert_eq!(report.verdict, Verdict::Fail);
        assert!(report.links[0].subject.contains("unreadable"), "{report}");
    }

    #[test]
    fn claim_constraints_are_reported_and_both_forms_refused() {
        let (root, inter) = sti_ca(Some(1));
        let sca = signed(sca_params(Some(0), SCA_SCOPE), &inter);
        let legacy = ClaimConstraints::Legacy(
            JwtClaimConstraints::new(vec![ClaimName::new("rcd").unwrap()], vec![]).unwrap(),
        );
        let enhanced = ClaimConstraints::Enhanced(
            EnhancedJwtClaimConstraints::new(vec![], vec![], vec![ClaimName::new("rcdi").unwrap()])
                .unwrap(),
        );
        let mut one = delegate_params("tn:2015550150");
        one.custom_extensions.push(legacy.to_rcgen_extension());
        let delegate = signed(one, &sca);
        let report = verify(&[&delegate, &sca, &inter], &root, None);
        assert!(report.is_pass(), "{report}");
        assert_eq!(
            report.leaf().unwrap().claim_constraints,
            Some(legacy.clone())
        );
        assert!(
            report
                .to_string()
                .contains("JWTClaimConstraints: mustInclude rcd")
        );

        let mut both = delegate_params("tn:2015550150");
        both.custom_extensions.push(legacy.to_rcgen_extension());
        both.custom_extensions.push(enhanced.to_rcgen_extension());
        let delegate = signed(both, &sca);
        let report = verify(&[&delegate, &sca, &inter], &root, None);
        assert_eq!(report.verdict, Verdict::Fail);
        assert!(report.leaf().unwrap().reason.contains("both"), "{report}");
    }

    #[test]
    fn unparsable_tnauthlist_fails_the_link() {
        let (root, inter) = sti_ca(Some(1));
        let mut params = ca_params("Broken SCA", Some(0));
        // The bare IA5String form (interop.md): not a TNAuthorizationList.
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                TNAUTHLIST_ARCS,
                vec![0x16, 0x01, b'1'],
            ));
        let sca = signed(params, &inter);
        let delegate = signed(delegate_params("tn:2015550150"), &sca);
        let report = verify(&[&delegate, &sca, &inter], &root, None);
        assert_eq!(report.verdict, Verdict::Fail);
        assert!(
            report.links[2].reason.contains("cannot be parsed"),
            "{report}"
        );
        assert!(
            report.links[3].reason.contains("cannot be checked"),
            "{report}"
        );
    }

    #[test]
    fn ca_bit_without_key_cert_sign_on_the_parent() {
        let (root, inter) = sti_ca(Some(1));
        let mut params = sca_params(Some(0), SCA_SCOPE);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        let sca = signed(params, &inter);
        let delegate = signed(delegate_params("tn:2015550150"), &sca);
        let report = verify(&[&delegate, &sca, &inter], &root, None);
        assert_eq!(report.verdict, Verdict::Fail);
        assert!(
            report.leaf().unwrap().reason.contains("keyCertSign"),
            "{report}"
        );
    }
}
