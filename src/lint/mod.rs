//! Certificate lint: one rule per file, named like zlint's SHAKEN lints (`e_` error, `w_`
//! warning), each citing the text it enforces (ATIS-1000080 v005 §6.4.1 as quoted in
//! standards.md §3.2, RFC 5280, RFC 8226).
//!
//! The CA runs it over every to-be-signed certificate ([`crate::ca::Ca::prepare`]) and refuses to
//! sign on any [`Level::Error`] finding; the tests run it over every certificate they obtain.

mod e_sti_authority_key_identifier_matches_issuer;
mod e_sti_basic_constraints_critical_ca_false;
mod e_sti_certificate_policies_single_oid;
mod e_sti_crl_distribution_points_single;
mod e_sti_key_usage_digital_signature_only;
mod e_sti_no_unlisted_extensions;
mod e_sti_only_bc_ku_critical;
mod e_sti_serial_positive_64_bits;
mod e_sti_signature_algorithm_ecdsa_sha256;
mod e_sti_subject_cn_shaken_spc;
mod e_sti_subject_has_c_o_cn;
mod e_sti_subject_key_identifier_sha1;
mod e_sti_subject_key_p256;
mod e_sti_tnauthlist_single_spc;
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
}

impl<'a> LintContext<'a> {
    /// A context expecting the current US SHAKEN CP (v1.4).
    pub fn new(profile: Profile, issuer_der: &'a [u8]) -> Self {
        Self {
            profile,
            issuer_der,
            certificate_policy: ObjectIdentifier::new_unwrap(crate::policy::SHAKEN_CP_V1_4),
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

/// For rules that apply to STI end-entity certificates.
pub(crate) fn sti_end_entity(profile: Profile) -> bool {
    matches!(profile, Profile::ShakenSpc)
}

const RULES: &[&Rule] = &[
    &e_sti_version_3::RULE,
    &e_sti_serial_positive_64_bits::RULE,
    &e_sti_signature_algorithm_ecdsa_sha256::RULE,
    &e_sti_subject_key_p256::RULE,
    &e_sti_validity_ordered::RULE,
    &e_sti_subject_has_c_o_cn::RULE,
    &e_sti_subject_cn_shaken_spc::RULE,
    &e_sti_basic_constraints_critical_ca_false::RULE,
    &e_sti_key_usage_digital_signature_only::RULE,
    &e_sti_certificate_policies_single_oid::RULE,
    &e_sti_subject_key_identifier_sha1::RULE,
    &e_sti_authority_key_identifier_matches_issuer::RULE,
    &e_sti_crl_distribution_points_single::RULE,
    &e_sti_tnauthlist_single_spc::RULE,
    &e_sti_no_unlisted_extensions::RULE,
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
