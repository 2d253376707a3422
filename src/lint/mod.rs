//! Certificate lint: one rule per file, named like zlint's SHAKEN lints (`e_` error, `w_`
//! warning), each citing the text it enforces (ATIS-1000080 v005 §6.4.1 as quoted in
//! standards.md §3.2, RFC 5280, RFC 8226, RFC 9060, profiles.md). Each rule says which profiles
//! it applies to (`shaken-spc`, `tn-level`, `sca`, `delegate`).
//!
//! The CA runs it over every to-be-signed certificate ([`crate::ca::Ca::prepare`]) and refuses to
//! sign on any [`Level::Error`] finding; the tests run it over every certificate they obtain.

mod e_sti_authority_key_identifier_matches_issuer;
mod e_sti_basic_constraints_critical_ca_false;
mod e_sti_ca_path_len_within_issuer;
mod e_sti_certificate_policies_single_oid;
mod e_sti_crl_distribution_points_single;
mod e_sti_jwt_claim_constraints_valid;
mod e_sti_key_usage_digital_signature_only;
mod e_sti_no_unlisted_extensions;
mod e_sti_only_bc_ku_critical;
mod e_sti_sca_basic_constraints_ca_path_len;
mod e_sti_sca_key_usage_key_cert_sign;
mod e_sti_serial_positive_64_bits;
mod e_sti_signature_algorithm_ecdsa_sha256;
mod e_sti_subject_cn_delegate;
mod e_sti_subject_cn_sca;
mod e_sti_subject_cn_shaken_spc;
mod e_sti_subject_cn_tn_level;
mod e_sti_subject_has_c_o_cn;
mod e_sti_subject_key_identifier_sha1;
mod e_sti_subject_key_p256;
mod e_sti_tnauthlist_delegate_numbers;
mod e_sti_tnauthlist_encompassed_by_issuer;
mod e_sti_tnauthlist_sca_scope;
mod e_sti_tnauthlist_single_spc;
mod e_sti_tnauthlist_tn_level;
mod e_sti_validity_ordered;
mod e_sti_version_3;

use std::fmt;

use const_oid::ObjectIdentifier;
use der::{Decode, Tagged};
use x509_cert::Certificate;
use x509_cert::ext::Extension;

use crate::ca::Profile;
use crate::tnauth::{Spc, TnAuthList};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// A "should" of the profile is not met: logged, does not block.
    Warning,
    /// A "shall" of the profile is broken: the CA refuses to sign.
    Error,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule name, e.g. `e_sti_key_usage_digital_signature_only`.
    pub rule: &'static str,
    /// Error or warning.
    pub level: Level,
    /// The text the rule enforces.
    pub citation: &'static str,
    /// What is wrong in this certificate.
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.rule, self.detail, self.citation)
    }
}

/// What the lint compares the certificate against.
#[derive(Debug, Clone)]
pub struct LintContext<'a> {
    /// The profile the certificate claims.
    pub profile: Profile,
    /// The issuing certificate, DER (for the AKI rule).
    pub issuer_der: &'a [u8],
    /// The one certificatePolicies OID expected (policy `issuance.certificate_policy`).
    pub certificate_policy: ObjectIdentifier,
    /// The pathLenConstraint an `sca` certificate must carry (policy `issuance.sca_path_len`).
    pub sca_path_len: u8,
    /// Whether an `sca` certificate carries cRLSign next to keyCertSign (policy
    /// `issuance.sca_crl_sign`).
    pub sca_crl_sign: bool,
    /// The number inventory, when the CA has one: lets an issuer that lists only an SPC
    /// encompass the numbers that SPC holds (`e_sti_tnauthlist_encompassed_by_issuer`).
    pub inventory: Option<&'a crate::policy::inventory::NumberInventory>,
}

impl<'a> LintContext<'a> {
    /// A context expecting the current US SHAKEN CP (v1.4).
    pub fn new(profile: Profile, issuer_der: &'a [u8]) -> Self {
        Self {
            profile,
            issuer_der,
            certificate_policy: ObjectIdentifier::new_unwrap(crate::policy::SHAKEN_CP_V1_4),
            sca_path_len: 0,
            sca_crl_sign: false,
            inventory: None,
        }
    }
}

/// Lints `der` against `profile`, expecting CP v1.4. See [`lint_with`].
pub fn lint_certificate(der: &[u8], profile: Profile, issuer_der: &[u8]) -> Vec<Finding> {
    lint_with(der, &LintContext::new(profile, issuer_der))
}

/// Runs every rule of the context's profile; an empty result means the certificate is clean.
pub fn lint_with(der: &[u8], ctx: &LintContext<'_>) -> Vec<Finding> {
    let cert = match Certificate::from_der(der) {
        Ok(c) => c,
        Err(e) => {
            return vec![Finding {
                rule: "e_sti_certificate_parses",
                level: Level::Error,
                citation: "RFC 5280 §4.1 (DER X.509 certificate)",
                detail: format!("not a DER certificate: {e}"),
            }];
        }
    };
    let issuer = Certificate::from_der(ctx.issuer_der).map_err(|e| e.to_string());
    let view = Cert {
        cert: &cert,
        issuer: issuer.as_ref().map_err(|e| e.as_str()),
        ctx,
    };
    RULES
        .iter()
        .filter(|r| (r.applies)(ctx.profile))
        .filter_map(|r| {
            (r.check)(&view).err().map(|detail| Finding {
                rule: r.name,
                level: r.level,
                citation: r.citation,
                detail,
            })
        })
        .collect()
}

/// True when any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.level == Level::Error)
}

/// The rule names of the findings, comma-separated (for error details).
pub fn summary(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{}: {}", f.rule, f.detail))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The names of all rules, for docs and tests.
pub fn rule_names() -> Vec<&'static str> {
    RULES.iter().map(|r| r.name).collect()
}

/// A lint rule.
pub(crate) struct Rule {
    /// `e_...` / `w_...`
    pub name: &'static str,
    /// The enforced text.
    pub citation: &'static str,
    /// Severity.
    pub level: Level,
    /// Which profiles it applies to.
    pub applies: fn(Profile) -> bool,
    /// `Err(detail)` when the certificate breaks the rule.
    pub check: fn(&Cert<'_>) -> Result<(), String>,
}

/// For rules that apply to every profile (the parts profiles.md marks "same").
pub(crate) fn any_profile(_: Profile) -> bool {
    true
}

/// For rules that apply to end-entity certificates (`shaken-spc`, `tn-level`, `delegate`).
pub(crate) fn end_entity(profile: Profile) -> bool {
    !profile.is_ca()
}

/// For rules of the SHAKEN SPC certificate only.
pub(crate) fn shaken_spc_only(profile: Profile) -> bool {
    profile == Profile::ShakenSpc
}

/// For rules of the `tn-level` profile only.
pub(crate) fn tn_level_only(profile: Profile) -> bool {
    profile == Profile::TnLevel
}

/// For rules of the `sca` profile only.
pub(crate) fn sca_only(profile: Profile) -> bool {
    profile == Profile::Sca
}

/// For rules of the `delegate` profile only.
pub(crate) fn delegate_only(profile: Profile) -> bool {
    profile == Profile::Delegate
}

const RULES: &[&Rule] = &[
    &e_sti_version_3::RULE,
    &e_sti_serial_positive_64_bits::RULE,
    &e_sti_signature_algorithm_ecdsa_sha256::RULE,
    &e_sti_subject_key_p256::RULE,
    &e_sti_validity_ordered::RULE,
    &e_sti_subject_has_c_o_cn::RULE,
    &e_sti_subject_cn_shaken_spc::RULE,
    &e_sti_subject_cn_tn_level::RULE,
    &e_sti_subject_cn_sca::RULE,
    &e_sti_subject_cn_delegate::RULE,
    &e_sti_basic_constraints_critical_ca_false::RULE,
    &e_sti_sca_basic_constraints_ca_path_len::RULE,
    &e_sti_ca_path_len_within_issuer::RULE,
    &e_sti_key_usage_digital_signature_only::RULE,
    &e_sti_sca_key_usage_key_cert_sign::RULE,
    &e_sti_certificate_policies_single_oid::RULE,
    &e_sti_subject_key_identifier_sha1::RULE,
    &e_sti_authority_key_identifier_matches_issuer::RULE,
    &e_sti_crl_distribution_points_single::RULE,
    &e_sti_tnauthlist_single_spc::RULE,
    &e_sti_tnauthlist_tn_level::RULE,
    &e_sti_tnauthlist_sca_scope::RULE,
    &e_sti_tnauthlist_delegate_numbers::RULE,
    &e_sti_tnauthlist_encompassed_by_issuer::RULE,
    &e_sti_no_unlisted_extensions::RULE,
    &e_sti_jwt_claim_constraints_valid::RULE,
    &e_sti_only_bc_ku_critical::RULE,
];

/// The certificate under lint, with its issuer.
pub(crate) struct Cert<'a> {
    /// The parsed certificate.
    pub cert: &'a Certificate,
    /// The parsed issuer certificate, or why it did not parse.
    pub issuer: Result<&'a Certificate, &'a str>,
    /// The context.
    pub ctx: &'a LintContext<'a>,
}

impl Cert<'_> {
    /// All extensions (empty when there are none).
    pub fn extensions(&self) -> &[Extension] {
        self.cert
            .tbs_certificate()
            .extensions()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The one extension with `oid`: `Ok(None)` when absent, `Err` when repeated (RFC 5280
    /// §4.2: "MUST NOT include more than one instance of a particular extension").
    pub fn extension(&self, oid: ObjectIdentifier) -> Result<Option<&Extension>, String> {
        let mut found = self.extensions().iter().filter(|e| e.extn_id == oid);
        match (found.next(), found.next()) {
            (first, None) => Ok(first),
            (Some(_), Some(_)) => Err(format!("extension {oid} appears more than once")),
            (None, Some(_)) => Ok(None),
        }
    }

    /// The one extension with `oid`, which must be present.
    pub fn required(&self, oid: ObjectIdentifier, what: &str) -> Result<&Extension, String> {
        self.extension(oid)?
            .ok_or_else(|| format!("{what} extension is missing"))
    }

    /// The text of the first subject attribute `oid` (CN, O, C).
    pub fn subject_attr(&self, oid: ObjectIdentifier) -> Option<String> {
        self.cert
            .tbs_certificate()
            .subject()
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| directory_string(&a.value))
    }

    /// The basicConstraints of a certificate (`None` when absent).
    pub fn basic_constraints_of(
        cert: &Certificate,
    ) -> Result<Option<x509_cert::ext::pkix::BasicConstraints>, String> {
        let mut found = cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .filter(|e| e.extn_id == crate::ca::oid::BASIC_CONSTRAINTS);
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some(_), Some(_)) => Err("basicConstraints appears more than once".into()),
            (Some(e), None) => {
                x509_cert::ext::pkix::BasicConstraints::from_der(e.extn_value.as_bytes())
                    .map(Some)
                    .map_err(|e| format!("basicConstraints is not DER: {e}"))
            }
        }
    }

    /// The non-critical TNAuthList extension value (DER), which must be present.
    pub fn tnauthlist_der(&self) -> Result<&[u8], String> {
        let e = self.required(crate::ca::oid::TN_AUTH_LIST, "TNAuthList")?;
        if e.critical {
            return Err("TNAuthList is critical".into());
        }
        Ok(e.extn_value.as_bytes())
    }

    /// The subject public key point (BIT STRING content).
    pub fn public_key(&self) -> Option<&[u8]> {
        self.cert
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .as_bytes()
    }
}

#[cfg(test)]
pub(crate) mod testutil;

/// The text of a DirectoryString attribute value (UTF8String, PrintableString or IA5String).
pub(crate) fn directory_string(value: &der::asn1::Any) -> Option<String> {
    match value.tag() {
        der::Tag::Utf8String | der::Tag::PrintableString | der::Tag::Ia5String => {
            std::str::from_utf8(value.value()).ok().map(str::to_string)
        }
        _ => None,
    }
}
#[cfg(test)]
mod fixtures_tests;

/// The at most one SPC of `list`, which must be of the SHAKEN form `[0-9A-Z]+`.
fn at_most_one_shaken_spc(list: &TnAuthList) -> Result<Option<Spc>, String> {
    let mut spcs = list.spcs();
    let spc = match (spcs.next(), spcs.next()) {
        (None, _) => return Ok(None),
        (Some(spc), None) => spc,
        (Some(_), Some(_)) => return Err("TNAuthList names more than one SPC".into()),
    };
    if spc.is_shaken_form() {
        Ok(Some(spc.clone()))
    } else {
        Err(format!(
            "SPC {:?} is not of the form [0-9A-Z]+",
            spc.as_str()
        ))
    }
}

/// A TN-level certificate's TNAuthList (profiles.md `tn-level`): at least one telephone number
/// or range, and at most one SPC of the SHAKEN form. Returns the list and its SPC.
pub(crate) fn tn_level_scope(der_bytes: &[u8]) -> Result<(TnAuthList, Option<Spc>), String> {
    let list = TnAuthList::from_der(der_bytes).map_err(|e| e.to_string())?;
    if !list.has_numbers() {
        return Err("a TN-level TNAuthList must list telephone numbers or ranges".into());
    }
    let spc = at_most_one_shaken_spc(&list)?;
    Ok((list, spc))
}

/// An SCA certificate's TNAuthList (profiles.md `sca`): the SP's SPC and/or numbers and ranges,
/// at most one SPC of the SHAKEN form. Returns the list and its SPC.
pub(crate) fn sca_scope(der_bytes: &[u8]) -> Result<(TnAuthList, Option<Spc>), String> {
    let list = TnAuthList::from_der(der_bytes).map_err(|e| e.to_string())?;
    let spc = at_most_one_shaken_spc(&list)?;
    Ok((list, spc))
}

/// A delegate certificate's TNAuthList (profiles.md `delegate`, standards.md §3.4): telephone
/// numbers and ranges only; SPC entries are for STI and SCA certificates.
pub(crate) fn delegate_scope(der_bytes: &[u8]) -> Result<TnAuthList, String> {
    let list = TnAuthList::from_der(der_bytes).map_err(|e| e.to_string())?;
    if list.spcs().next().is_some() {
        return Err("a delegate TNAuthList lists numbers and ranges only, no SPC".into());
    }
    Ok(list)
}

/// The SPC of a DER TNAuthList that is exactly one SPC entry of the SHAKEN form `[0-9A-Z]+`
/// (ATIS-1000080 v005 §6.4.1): what an SPC certificate's TNAuthList must be.
pub(crate) fn shaken_spc(der_bytes: &[u8]) -> Result<Spc, String> {
    let list = TnAuthList::from_der(der_bytes).map_err(|e| e.to_string())?;
    let Some(spc) = list.single_spc() else {
        return Err(match list.entries() {
            [_] => "the only TNAuthList entry is not an SPC".to_string(),
            entries => format!(
                "TNAuthList has {} entries, an SPC certificate needs exactly one SPC",
                entries.len()
            ),
        });
    };
    if spc.is_shaken_form() {
        Ok(spc.clone())
    } else {
        Err(format!(
            "SPC {:?} is not of the form [0-9A-Z]+",
            spc.as_str()
        ))
    }
}
