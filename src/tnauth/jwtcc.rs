//! JWT Claim Constraints: the certificate extensions that limit which PASSporT claims (RFC 8225)
//! a STIR certificate may sign.
//!
//! - `JWTClaimConstraints` (RFC 8226 §8, OID 1.3.6.1.5.5.7.1.27): `mustInclude` and
//!   `permittedValues`.
//! - `EnhancedJWTClaimConstraints` (RFC 9118 §3, OID 1.3.6.1.5.5.7.1.33): the same two plus
//!   `mustExclude`.
//!
//! ```text
//! -- RFC 8226 Appendix A (DEFINITIONS EXPLICIT TAGS)
//! JWTClaimConstraints ::= SEQUENCE {
//!   mustInclude     [0] JWTClaimNames OPTIONAL,
//!   permittedValues [1] JWTClaimPermittedValuesList OPTIONAL }
//!   -- at least one component present
//! JWTClaimPermittedValuesList ::= SEQUENCE SIZE (1..MAX) OF JWTClaimPermittedValues
//! JWTClaimPermittedValues ::= SEQUENCE { claim JWTClaimName,
//!                                        permitted SEQUENCE SIZE (1..MAX) OF UTF8String }
//! JWTClaimNames ::= SEQUENCE SIZE (1..MAX) OF JWTClaimName
//! JWTClaimName ::= IA5String
//!
//! -- RFC 9118 §3 and its ASN.1 module (DEFINITIONS EXPLICIT TAGS)
//! EnhancedJWTClaimConstraints ::= SEQUENCE {
//!   mustInclude     [0] JWTClaimNames OPTIONAL,
//!   permittedValues [1] JWTClaimValuesList OPTIONAL,
//!   mustExclude     [2] JWTClaimNames OPTIONAL }
//!   -- at least one component present
//! JWTClaimValuesList ::= SEQUENCE SIZE (1..MAX) OF JWTClaimValues
//! JWTClaimValues ::= SEQUENCE { claim JWTClaimName, values SEQUENCE SIZE (1..MAX) OF UTF8String }
//! ```
//!
//! Both modules use EXPLICIT tags, so each present component is a *constructed* context tag
//! (`A0`/`A1`/`A2`) wrapping a complete SEQUENCE; the IMPLICIT form (`80`/`81`/`82`) is refused.
//! The DER framing is done by the `der` crate's derive over private raw structs (sequence fields,
//! where its EXPLICIT handling is constructed, unlike its CHOICE derive: crates.md); the rules
//! ASN.1 cannot express (at least one component, `SIZE (1..MAX)`, sane claim names) are checked on
//! top, so a value of the public types is always encodable and always valid.
//!
//! A certificate carries at most one of the two extensions: [`ClaimConstraints::from_certificate`]
//! refuses a certificate with both, because a verifier that knows only one of them would apply a
//! different policy than one that knows both (issue 3, item 6). RFC 9118's exact wording on carrying
//! both is marked UNSURE in standards.md §1.1; stica takes the strict reading.

use std::fmt;

use der::asn1::{Ia5String, ObjectIdentifier};
use der::{Decode, Encode, Sequence};
use x509_cert::Certificate;
use x509_cert::ext::Extension;

/// `id-pe-JWTClaimConstraints` (RFC 8226 §8): `{ id-pe 27 }`.
pub const ID_PE_JWT_CLAIM_CONSTRAINTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.27");

/// `id-pe-eJWTClaimConstraints` (RFC 9118 §3): `{ id-pe 33 }`.
pub const ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.33");

/// The arcs of [`ID_PE_JWT_CLAIM_CONSTRAINTS`], for builders (rcgen) that take `&[u64]`.
pub const ID_PE_JWT_CLAIM_CONSTRAINTS_ARCS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 27];

/// The arcs of [`ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS`], for builders (rcgen) that take `&[u64]`.
pub const ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS_ARCS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 33];

/// Why a JWT claim constraints value (or a certificate's set of them) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtCcError {
    /// The bytes are not strict DER of the structure (wrong tag, IMPLICIT tag, bad length,
    /// trailing bytes, unknown component, ...); the detail is the DER decoder's message.
    #[error("{what} is not valid DER: {detail}")]
    Der {
        /// `JWTClaimConstraints` or `EnhancedJWTClaimConstraints`.
        what: &'static str,
        /// The decoder's message.
        detail: String,
    },
    /// No component is present: RFC 8226 §8 and RFC 9118 §3 require at least one.
    #[error("{what} has no component; at least one must be present (RFC 8226 §8, RFC 9118 §3)")]
    NoComponent {
        /// `JWTClaimConstraints` or `EnhancedJWTClaimConstraints`.
        what: &'static str,
    },
    /// A present component, or a claim's list of values, is an empty SEQUENCE; the ASN.1 says
    /// `SIZE (1..MAX)`.
    #[error("{what} is empty; it must hold at least one element (SIZE (1..MAX))")]
    EmptySequence {
        /// Which list (`mustInclude`, `permittedValues`, `mustExclude`, `values of claim X`).
        what: String,
    },
    /// A claim name is empty.
    #[error("a JWT claim name is empty")]
    EmptyClaimName,
    /// A claim name holds a byte outside printable ASCII. JWTClaimName is an IA5String; stica
    /// also refuses control characters, which no registered claim name has and which would end
    /// up in logs.
    #[error("JWT claim name {name:?} contains the non-printable byte 0x{byte:02x}")]
    ClaimNameNotPrintable {
        /// The name, lossy.
        name: String,
        /// The offending byte.
        byte: u8,
    },
    /// The certificate carries both JWTClaimConstraints and EnhancedJWTClaimConstraints.
    #[error(
        "certificate carries both JWTClaimConstraints (1.3.6.1.5.5.7.1.27) and \
         EnhancedJWTClaimConstraints (1.3.6.1.5.5.7.1.33); at most one is allowed"
    )]
    Both,
    /// The same claim-constraints extension appears twice (RFC 5280 §4.2).
    #[error("extension {oid} appears more than once (RFC 5280 §4.2)")]
    Duplicate {
        /// The extension OID.
        oid: String,
    },
    /// The certificate itself cannot be parsed.
    #[error("certificate cannot be parsed: {0}")]
    Certificate(String),
}

/// A `JWTClaimName` (RFC 8226 §8): an IA5String, here non-empty printable ASCII.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClaimName(String);

impl ClaimName {
    /// Parses a claim name: non-empty, printable ASCII (0x20..=0x7e).
    pub fn new(name: impl Into<String>) -> Result<Self, JwtCcError> {
        let name = name.into();
        check_claim_name(name.as_bytes())?;
        Ok(ClaimName(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn from_raw(raw: &Ia5String) -> Result<Self, JwtCcError> {
        let text: &str = raw.as_ref();
        ClaimName::new(text)
    }

    /// `new` admitted printable ASCII only, which is always a valid IA5String, so this does not
    /// fail in practice; the encoders still propagate the error rather than panic.
    fn to_raw(&self) -> der::Result<Ia5String> {
        Ia5String::new(&self.0)
    }
}

fn check_claim_name(bytes: &[u8]) -> Result<(), JwtCcError> {
    if bytes.is_empty() {
        return Err(JwtCcError::EmptyClaimName);
    }
    match bytes.iter().find(|b| !(0x20..=0x7e).contains(*b)) {
        Some(&byte) => Err(JwtCcError::ClaimNameNotPrintable {
            name: String::from_utf8_lossy(bytes).into_owned(),
            byte,
        }),
        None => Ok(()),
    }
}

impl fmt::Display for ClaimName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ClaimName {
    type Err = JwtCcError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClaimName::new(s)
    }
}

/// One claim and the values it may take: RFC 8226's `JWTClaimPermittedValues` and RFC 9118's
/// `JWTClaimValues` (same shape, different field name: `permitted` / `values`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PermittedValues {
    claim: ClaimName,
    values: Vec<String>,
}

impl PermittedValues {
    /// A claim and its permitted values (at least one, `SIZE (1..MAX)`; any UTF-8 text).
    pub fn new(claim: ClaimName, values: Vec<String>) -> Result<Self, JwtCcError> {
        if values.is_empty() {
            return Err(JwtCcError::EmptySequence {
                what: format!("the values of claim {claim}"),
            });
        }
        Ok(PermittedValues { claim, values })
    }

    /// The claim.
    pub fn claim(&self) -> &ClaimName {
        &self.claim
    }

    /// Its permitted values, in order.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    fn from_raw(raw: RawClaimValues) -> Result<Self, JwtCcError> {
        PermittedValues::new(ClaimName::from_raw(&raw.claim)?, raw.values)
    }

    fn to_raw(&self) -> der::Result<RawClaimValues> {
        Ok(RawClaimValues {
            claim: self.claim.to_raw()?,
            values: self.values.clone(),
        })
    }
}

impl fmt::Display for PermittedValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=[{}]", self.claim, self.values.join("|"))
    }
}

/// `JWTClaimConstraints` (RFC 8226 §8). An empty list stands for an absent component; at least
/// one component is non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JwtClaimConstraints {
    must_include: Vec<ClaimName>,
    permitted_values: Vec<PermittedValues>,
}

impl JwtClaimConstraints {
    const WHAT: &'static str = "JWTClaimConstraints";

    /// Builds the value; an empty list leaves that component out, and at least one must be
    /// non-empty.
    pub fn new(
        must_include: Vec<ClaimName>,
        permitted_values: Vec<PermittedValues>,
    ) -> Result<Self, JwtCcError> {
        if must_include.is_empty() && permitted_values.is_empty() {
            return Err(JwtCcError::NoComponent { what: Self::WHAT });
        }
        Ok(JwtClaimConstraints {
            must_include,
            permitted_values,
        })
    }

    /// Claims that must appear in the PASSporT besides `iat`, `orig` and `dest` (RFC 8226 §8);
    /// empty when the component is absent.
    pub fn must_include(&self) -> &[ClaimName] {
        &self.must_include
    }

    /// Claims whose value, when present, must be one of the listed values; empty when absent.
    pub fn permitted_values(&self) -> &[PermittedValues] {
        &self.permitted_values
    }

    /// Decodes the DER extension value, strictly (see the module docs).
    pub fn from_der(bytes: &[u8]) -> Result<Self, JwtCcError> {
        let raw = RawJwtClaimConstraints::from_der(bytes).map_err(|e| der_error(Self::WHAT, e))?;
        let must_include = names(raw.must_include, "mustInclude")?;
        let permitted_values = values(raw.permitted_values)?;
        Self::new(must_include, permitted_values)
    }

    /// The canonical DER encoding; `from_der(x)?.to_der() == x` for every accepted `x`.
    pub fn to_der(&self) -> Vec<u8> {
        let encode = || {
            RawJwtClaimConstraints {
                must_include: raw_names(&self.must_include)?,
                permitted_values: raw_values(&self.permitted_values)?,
            }
            .to_der()
        };
        // Every value of the public types is encodable (checked by the round-trip tests).
        encode().unwrap_or_default()
    }
}

impl fmt::Display for JwtClaimConstraints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        show(f, &self.must_include, &self.permitted_values, &[])
    }
}

/// `EnhancedJWTClaimConstraints` (RFC 9118 §3). An empty list stands for an absent component; at
/// least one component is non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnhancedJwtClaimConstraints {
    must_include: Vec<ClaimName>,
    permitted_values: Vec<PermittedValues>,
    must_exclude: Vec<ClaimName>,
}

impl EnhancedJwtClaimConstraints {
    const WHAT: &'static str = "EnhancedJWTClaimConstraints";

    /// Builds the value; an empty list leaves that component out, and at least one must be
    /// non-empty.
    pub fn new(
        must_include: Vec<ClaimName>,
        permitted_values: Vec<PermittedValues>,
        must_exclude: Vec<ClaimName>,
    ) -> Result<Self, JwtCcError> {
        if must_include.is_empty() && permitted_values.is_empty() && must_exclude.is_empty() {
            return Err(JwtCcError::NoComponent { what: Self::WHAT });
        }
        Ok(EnhancedJwtClaimConstraints {
            must_include,
            permitted_values,
            must_exclude,
        })
    }

    /// Claims that must appear in the PASSporT; empty when the component is absent.
    pub fn must_include(&self) -> &[ClaimName] {
        &self.must_include
    }

    /// Claims whose value, when present, must be one of the listed values; empty when absent.
    pub fn permitted_values(&self) -> &[PermittedValues] {
        &self.permitted_values
    }

    /// Claims that must not appear in the PASSporT (RFC 9118 §3); empty when absent.
    pub fn must_exclude(&self) -> &[ClaimName] {
        &self.must_exclude
    }

    /// Claims listed both in `mustInclude` and `mustExclude`: such a certificate can validate no
    /// PASSporT at all (RFC 9118, Security Considerations). Valid DER, so decoding accepts it; issuance should refuse it.
    pub fn contradictions(&self) -> Vec<&ClaimName> {
        self.must_include
            .iter()
            .filter(|name| self.must_exclude.contains(name))
            .collect()
    }

    /// Decodes the DER extension value, strictly (see the module docs).
    pub fn from_der(bytes: &[u8]) -> Result<Self, JwtCcError> {
        let raw = RawEnhancedJwtClaimConstraints::from_der(bytes)
            .map_err(|e| der_error(Self::WHAT, e))?;
        let must_include = names(raw.must_include, "mustInclude")?;
        let permitted_values = values(raw.permitted_values)?;
        let must_exclude = names(raw.must_exclude, "mustExclude")?;
        Self::new(must_include, permitted_values, must_exclude)
    }

    /// The canonical DER encoding; `from_der(x)?.to_der() == x` for every accepted `x`.
    pub fn to_der(&self) -> Vec<u8> {
        let encode = || {
            RawEnhancedJwtClaimConstraints {
                must_include: raw_names(&self.must_include)?,
                permitted_values: raw_values(&self.permitted_values)?,
                must_exclude: raw_names(&self.must_exclude)?,
            }
            .to_der()
        };
        // Every value of the public types is encodable (checked by the round-trip tests).
        encode().unwrap_or_default()
    }
}

impl fmt::Display for EnhancedJwtClaimConstraints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        show(
            f,
            &self.must_include,
            &self.permitted_values,
            &self.must_exclude,
        )
    }
}

/// `mustInclude a,b; permittedValues c=[x|y]; mustExclude d`.
fn show(
    f: &mut fmt::Formatter<'_>,
    include: &[ClaimName],
    permitted: &[PermittedValues],
    exclude: &[ClaimName],
) -> fmt::Result {
    let mut parts = Vec::new();
    let join = |names: &[ClaimName]| {
        names
            .iter()
            .map(ClaimName::as_str)
            .collect::<Vec<_>>()
            .join(",")
    };
    if !include.is_empty() {
        parts.push(format!("mustInclude {}", join(include)));
    }
    if !permitted.is_empty() {
        let list: Vec<String> = permitted.iter().map(ToString::to_string).collect();
        parts.push(format!("permittedValues {}", list.join(",")));
    }
    if !exclude.is_empty() {
        parts.push(format!("mustExclude {}", join(exclude)));
    }
    f.write_str(&parts.join("; "))
}

/// The claim constraints a certificate carries: one of the two extensions, never both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClaimConstraints {
    /// `JWTClaimConstraints` (RFC 8226 §8).
    Legacy(JwtClaimConstraints),
    /// `EnhancedJWTClaimConstraints` (RFC 9118 §3).
    Enhanced(EnhancedJwtClaimConstraints),
}

impl ClaimConstraints {
    /// The OID of the extension that carries this value.
    pub fn extension_oid(&self) -> ObjectIdentifier {
        match self {
            ClaimConstraints::Legacy(_) => ID_PE_JWT_CLAIM_CONSTRAINTS,
            ClaimConstraints::Enhanced(_) => ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS,
        }
    }

    /// The OID arcs of [`Self::extension_oid`], for builders that take `&[u64]`.
    pub fn extension_oid_arcs(&self) -> &'static [u64] {
        match self {
            ClaimConstraints::Legacy(_) => ID_PE_JWT_CLAIM_CONSTRAINTS_ARCS,
            ClaimConstraints::Enhanced(_) => ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS_ARCS,
        }
    }

    /// The DER extension value (the content of the extension's OCTET STRING).
    pub fn to_der(&self) -> Vec<u8> {
        match self {
            ClaimConstraints::Legacy(v) => v.to_der(),
            ClaimConstraints::Enhanced(v) => v.to_der(),
        }
    }

    /// The non-critical certificate extension (both RFCs define it non-critical), ready for
    /// rcgen's `CertificateParams::custom_extensions`.
    pub fn to_rcgen_extension(&self) -> rcgen::CustomExtension {
        rcgen::CustomExtension::from_oid_content(self.extension_oid_arcs(), self.to_der())
    }

    /// Decodes the value of the extension `oid`; `Ok(None)` when `oid` is neither claim
    /// constraints extension.
    pub fn from_extension(
        oid: &ObjectIdentifier,
        value: &[u8],
    ) -> Result<Option<Self>, JwtCcError> {
        if *oid == ID_PE_JWT_CLAIM_CONSTRAINTS {
            JwtClaimConstraints::from_der(value).map(|v| Some(ClaimConstraints::Legacy(v)))
        } else if *oid == ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS {
            EnhancedJwtClaimConstraints::from_der(value)
                .map(|v| Some(ClaimConstraints::Enhanced(v)))
        } else {
            Ok(None)
        }
    }

    /// The claim constraints among `extensions` (a certificate's or a CSR's): `None` when there
    /// are none, an error when either extension is malformed or repeated, or when both are
    /// present.
    pub fn from_extensions(extensions: &[Extension]) -> Result<Option<Self>, JwtCcError> {
        let mut found: Option<ClaimConstraints> = None;
        for ext in extensions {
            let Some(value) = Self::from_extension(&ext.extn_id, ext.extn_value.as_bytes())? else {
                continue;
            };
            match &found {
                None => found = Some(value),
                Some(prev) if prev.extension_oid() == value.extension_oid() => {
                    return Err(JwtCcError::Duplicate {
                        oid: ext.extn_id.to_string(),
                    });
                }
                Some(_) => return Err(JwtCcError::Both),
            }
        }
        Ok(found)
    }

    /// The claim constraints of a DER certificate (see [`Self::from_extensions`]).
    pub fn from_certificate(cert_der: &[u8]) -> Result<Option<Self>, JwtCcError> {
        let cert =
            Certificate::from_der(cert_der).map_err(|e| JwtCcError::Certificate(e.to_string()))?;
        let extensions = cert
            .tbs_certificate()
            .extensions()
            .cloned()
            .unwrap_or_default();
        Self::from_extensions(&extensions)
    }
}

impl fmt::Display for ClaimConstraints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimConstraints::Legacy(v) => write!(f, "JWTClaimConstraints: {v}"),
            ClaimConstraints::Enhanced(v) => write!(f, "EnhancedJWTClaimConstraints: {v}"),
        }
    }
}

fn der_error(what: &'static str, e: der::Error) -> JwtCcError {
    JwtCcError::Der {
        what,
        detail: e.to_string(),
    }
}

/// Checks a decoded `JWTClaimNames`: absent is fine, present must be non-empty.
fn names(raw: Option<Vec<Ia5String>>, what: &str) -> Result<Vec<ClaimName>, JwtCcError> {
    match raw {
        None => Ok(Vec::new()),
        Some(list) if list.is_empty() => Err(JwtCcError::EmptySequence { what: what.into() }),
        Some(list) => list.iter().map(ClaimName::from_raw).collect(),
    }
}

/// Checks a decoded permitted-values list: absent is fine, present must be non-empty.
fn values(raw: Option<Vec<RawClaimValues>>) -> Result<Vec<PermittedValues>, JwtCcError> {
    match raw {
        None => Ok(Vec::new()),
        Some(list) if list.is_empty() => Err(JwtCcError::EmptySequence {
            what: "permittedValues".into(),
        }),
        Some(list) => list.into_iter().map(PermittedValues::from_raw).collect(),
    }
}

/// An absent component for an empty list, otherwise the wire form.
fn raw_names(names: &[ClaimName]) -> der::Result<Option<Vec<Ia5String>>> {
    if names.is_empty() {
        return Ok(None);
    }
    names
        .iter()
        .map(ClaimName::to_raw)
        .collect::<der::Result<_>>()
        .map(Some)
}

/// An absent component for an empty list, otherwise the wire form.
fn raw_values(values: &[PermittedValues]) -> der::Result<Option<Vec<RawClaimValues>>> {
    if values.is_empty() {
        return Ok(None);
    }
    values
        .iter()
        .map(PermittedValues::to_raw)
        .collect::<der::Result<_>>()
        .map(Some)
}

/// `JWTClaimPermittedValues` / `JWTClaimValues`, as framed on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
struct RawClaimValues {
    claim: Ia5String,
    values: Vec<String>,
}

/// `JWTClaimConstraints`, as framed on the wire (EXPLICIT tags: constructed `A0`/`A1`).
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
struct RawJwtClaimConstraints {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    must_include: Option<Vec<Ia5String>>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    permitted_values: Option<Vec<RawClaimValues>>,
}

/// `EnhancedJWTClaimConstraints`, as framed on the wire (EXPLICIT tags: `A0`/`A1`/`A2`).
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
struct RawEnhancedJwtClaimConstraints {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    must_include: Option<Vec<Ia5String>>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    permitted_values: Option<Vec<RawClaimValues>>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    must_exclude: Option<Vec<Ia5String>>,
}

#[cfg(test)]
mod tests {
    use der::asn1::OctetString;
    use proptest::prelude::*;

    use super::*;

    /// RFC 8226 test vector (pyasn1-modules `tests/test_rfc8226.py`, standards.md §7 row 2):
    /// mustInclude [foo]; permittedValues [foo: foo1 foo2 foo3, bar: bar1 bar2].
    const LEGACY_B64: &str =
        "MD2gBzAFFgNmb2+hMjAwMBkWA2ZvbzASDARmb28xDARmb28yDARmb28zMBMWA2JhcjAMDARiYXIxDARiYXIy";

    /// The RFC 9118 example certificate (fixtures/rfc9118_example.pem, copied here so the tests
    /// do not depend on the shared fixtures directory).
    const RFC9118_PEM: &str = include_str!("testdata/rfc9118_example.pem");

    /// Its EnhancedJWTClaimConstraints extension value, as `openssl asn1parse` shows it.
    const RFC9118_EXT_HEX: &str = "3040a00e300c160a636f6e666964656e6365a120301e301c160a636f6e666964656e6365300e0c04686967680c066d656469756da20c300a16087072696f72697479";

    fn b64(text: &str) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    }

    fn name(text: &str) -> ClaimName {
        ClaimName::new(text).unwrap()
    }

    fn pv(claim: &str, values: &[&str]) -> PermittedValues {
        PermittedValues::new(name(claim), values.iter().map(|v| v.to_string()).collect()).unwrap()
    }

    fn rfc9118_cert() -> Vec<u8> {
        crate::x509::pem_certificates(RFC9118_PEM.as_bytes())
            .unwrap()
            .remove(0)
    }

    fn ext(oid: ObjectIdentifier, value: &[u8]) -> Extension {
        Extension {
            extn_id: oid,
            critical: false,
            extn_value: OctetString::new(value).unwrap(),
        }
    }

    #[test]
    fn legacy_vector_decodes_and_round_trips() {
        let der = b64(LEGACY_B64);
        let v = JwtClaimConstraints::from_der(&der).unwrap();
        assert_eq!(v.must_include(), &[name("foo")]);
        assert_eq!(
            v.permitted_values(),
            &[
                pv("foo", &["foo1", "foo2", "foo3"]),
                pv("bar", &["bar1", "bar2"])
            ]
        );
        assert_eq!(v.to_der(), der, "canonical re-encoding");
        let built = JwtClaimConstraints::new(
            vec![name("foo")],
            vec![
                pv("foo", &["foo1", "foo2", "foo3"]),
                pv("bar", &["bar1", "bar2"]),
            ],
        )
        .unwrap();
        assert_eq!(built.to_der(), der, "encoder matches the published vector");
        assert_eq!(
            built.to_string(),
            "mustInclude foo; permittedValues foo=[foo1|foo2|foo3],bar=[bar1|bar2]"
        );
    }

    #[test]
    fn enhanced_vector_from_the_rfc9118_certificate() {
        let cert = rfc9118_cert();
        let found = ClaimConstraints::from_certificate(&cert).unwrap().unwrap();
        assert_eq!(found.extension_oid(), ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS);
        let ClaimConstraints::Enhanced(v) = &found else {
            panic!("expected the enhanced form, got {found:?}");
        };
        assert_eq!(v.must_include(), &[name("confidence")]);
        assert_eq!(
            v.permitted_values(),
            &[pv("confidence", &["high", "medium"])]
        );
        assert_eq!(v.must_exclude(), &[name("priority")]);
        assert!(v.contradictions().is_empty());
        let expected = hex::decode(RFC9118_EXT_HEX).unwrap();
        assert_eq!(found.to_der(), expected, "byte-exact re-encoding");
        assert_eq!(
            EnhancedJwtClaimConstraints::from_der(&expected).unwrap(),
            *v
        );
        assert_eq!(
            found.to_string(),
            "EnhancedJWTClaimConstraints: mustInclude confidence; \
             permittedValues confidence=[high|medium]; mustExclude priority"
        );
    }

    #[test]
    fn the_two_forms_are_not_interchangeable() {
        // The legacy decoder does not know [2]; the enhanced one reads a legacy value fine (its
        // components are a subset), but its OID differs, so `from_extension` keeps them apart.
        let enhanced = hex::decode(RFC9118_EXT_HEX).unwrap();
        assert!(matches!(
            JwtClaimConstraints::from_der(&enhanced),
            Err(JwtCcError::Der { .. })
        ));
        let legacy = b64(LEGACY_B64);
        let as_legacy = ClaimConstraints::from_extension(&ID_PE_JWT_CLAIM_CONSTRAINTS, &legacy)
            .unwrap()
            .unwrap();
        assert!(matches!(as_legacy, ClaimConstraints::Legacy(_)));
        assert_eq!(
            ClaimConstraints::from_extension(&crate::tnauth::ID_PE_TNAUTHLIST, &legacy),
            Ok(None)
        );
    }

    #[test]
    fn refuses_implicit_tags() {
        // `A0` -> `80`: an IMPLICIT-tagging encoder (the trap crates.md warns about).
        let mut der = b64(LEGACY_B64);
        assert_eq!(der[2], 0xa0);
        der[2] = 0x80;
        assert!(matches!(
            JwtClaimConstraints::from_der(&der),
            Err(JwtCcError::Der { .. })
        ));
        let mut enhanced = hex::decode(RFC9118_EXT_HEX).unwrap();
        let at = enhanced.iter().rposition(|b| *b == 0xa2).unwrap();
        enhanced[at] = 0x82;
        assert!(matches!(
            EnhancedJwtClaimConstraints::from_der(&enhanced),
            Err(JwtCcError::Der { .. })
        ));
    }

    #[test]
    fn refuses_missing_components_and_empty_sequences() {
        let no_component = [0x30, 0x00];
        assert_eq!(
            JwtClaimConstraints::from_der(&no_component),
            Err(JwtCcError::NoComponent {
                what: "JWTClaimConstraints"
            })
        );
        assert_eq!(
            EnhancedJwtClaimConstraints::from_der(&no_component),
            Err(JwtCcError::NoComponent {
                what: "EnhancedJWTClaimConstraints"
            })
        );
        assert!(JwtClaimConstraints::new(vec![], vec![]).is_err());
        assert!(EnhancedJwtClaimConstraints::new(vec![], vec![], vec![]).is_err());

        let empty_include = [0x30, 0x04, 0xa0, 0x02, 0x30, 0x00];
        assert_eq!(
            JwtClaimConstraints::from_der(&empty_include),
            Err(JwtCcError::EmptySequence {
                what: "mustInclude".into()
            })
        );
        let empty_exclude = [0x30, 0x04, 0xa2, 0x02, 0x30, 0x00];
        assert_eq!(
            EnhancedJwtClaimConstraints::from_der(&empty_exclude),
            Err(JwtCcError::EmptySequence {
                what: "mustExclude".into()
            })
        );
        let empty_permitted = [0x30, 0x04, 0xa1, 0x02, 0x30, 0x00];
        assert_eq!(
            EnhancedJwtClaimConstraints::from_der(&empty_permitted),
            Err(JwtCcError::EmptySequence {
                what: "permittedValues".into()
            })
        );
        let no_values = RawEnhancedJwtClaimConstraints {
            must_include: None,
            permitted_values: Some(vec![RawClaimValues {
                claim: Ia5String::new("foo").unwrap(),
                values: vec![],
            }]),
            must_exclude: None,
        }
        .to_der()
        .unwrap();
        assert_eq!(
            EnhancedJwtClaimConstraints::from_der(&no_values),
            Err(JwtCcError::EmptySequence {
                what: "the values of claim foo".into()
            })
        );
        assert!(PermittedValues::new(name("foo"), vec![]).is_err());
    }

    #[test]
    fn refuses_bad_framing() {
        let good = b64(LEGACY_B64);
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(
            JwtClaimConstraints::from_der(&trailing).is_err(),
            "trailing byte"
        );
        assert!(
            JwtClaimConstraints::from_der(&good[..good.len() - 1]).is_err(),
            "truncated"
        );
        // [1] before [0]: out of order.
        let swapped = RawJwtClaimConstraints {
            must_include: None,
            permitted_values: Some(vec![pv("a", &["b"]).to_raw().unwrap()]),
        }
        .to_der()
        .unwrap();
        let include = [0xa0, 0x05, 0x30, 0x03, 0x16, 0x01, b'x'];
        let mut out_of_order = swapped.clone();
        out_of_order.extend_from_slice(&include);
        out_of_order[1] += include.len() as u8;
        assert!(JwtClaimConstraints::from_der(&out_of_order).is_err());
        // An unknown component [3].
        let unknown = [0x30, 0x07, 0xa3, 0x05, 0x30, 0x03, 0x16, 0x01, b'x'];
        assert!(EnhancedJwtClaimConstraints::from_der(&unknown).is_err());
        // A claim name that is a UTF8String instead of an IA5String.
        let utf8_name = [0x30, 0x07, 0xa0, 0x05, 0x30, 0x03, 0x0c, 0x01, b'x'];
        assert!(JwtClaimConstraints::from_der(&utf8_name).is_err());
        // Not a SEQUENCE at all.
        assert!(JwtClaimConstraints::from_der(&[0x16, 0x01, b'x']).is_err());
        assert!(JwtClaimConstraints::from_der(&[]).is_err());
    }

    #[test]
    fn refuses_bad_claim_names() {
        assert_eq!(ClaimName::new(""), Err(JwtCcError::EmptyClaimName));
        assert!(matches!(
            ClaimName::new("a\tb"),
            Err(JwtCcError::ClaimNameNotPrintable { byte: 0x09, .. })
        ));
        assert!(ClaimName::new("naïve").is_err());
        let empty_name = [0x30, 0x06, 0xa0, 0x04, 0x30, 0x02, 0x16, 0x00];
        assert_eq!(
            JwtClaimConstraints::from_der(&empty_name),
            Err(JwtCcError::EmptyClaimName)
        );
        let control = [0x30, 0x07, 0xa0, 0x05, 0x30, 0x03, 0x16, 0x01, 0x07];
        assert!(matches!(
            JwtClaimConstraints::from_der(&control),
            Err(JwtCcError::ClaimNameNotPrintable { byte: 0x07, .. })
        ));
    }

    #[test]
    fn a_certificate_carries_at_most_one_form() {
        let legacy = b64(LEGACY_B64);
        let enhanced = hex::decode(RFC9118_EXT_HEX).unwrap();
        let both = [
            ext(ID_PE_JWT_CLAIM_CONSTRAINTS, &legacy),
            ext(ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS, &enhanced),
        ];
        assert_eq!(
            ClaimConstraints::from_extensions(&both),
            Err(JwtCcError::Both)
        );
        let twice = [
            ext(ID_PE_JWT_CLAIM_CONSTRAINTS, &legacy),
            ext(ID_PE_JWT_CLAIM_CONSTRAINTS, &legacy),
        ];
        assert!(matches!(
            ClaimConstraints::from_extensions(&twice),
            Err(JwtCcError::Duplicate { .. })
        ));
        let none = [ext(crate::tnauth::ID_PE_TNAUTHLIST, &[0x30, 0x00])];
        assert_eq!(ClaimConstraints::from_extensions(&none), Ok(None));
        let malformed = [ext(ID_PE_ENHANCED_JWT_CLAIM_CONSTRAINTS, &[0x30, 0x00])];
        assert!(ClaimConstraints::from_extensions(&malformed).is_err());
        assert!(matches!(
            ClaimConstraints::from_certificate(&[0x30, 0x00]),
            Err(JwtCcError::Certificate(_))
        ));
    }

    #[test]
    fn rcgen_extension_round_trips_through_a_certificate() {
        use crate::x509::testpki;
        let value = ClaimConstraints::Legacy(
            JwtClaimConstraints::new(vec![name("rcd")], vec![pv("attest", &["A", "B"])]).unwrap(),
        );
        let mut params = testpki::leaf_params("SHAKEN test");
        params.custom_extensions = vec![value.to_rcgen_extension()];
        let cert = testpki::self_signed(params);
        assert_eq!(
            ClaimConstraints::from_certificate(&cert.der),
            Ok(Some(value.clone()))
        );

        let mut params = testpki::leaf_params("SHAKEN both");
        let enhanced = ClaimConstraints::Enhanced(
            EnhancedJwtClaimConstraints::new(vec![], vec![], vec![name("rcdi")]).unwrap(),
        );
        params.custom_extensions = vec![value.to_rcgen_extension(), enhanced.to_rcgen_extension()];
        let cert = testpki::self_signed(params);
        assert_eq!(
            ClaimConstraints::from_certificate(&cert.der),
            Err(JwtCcError::Both)
        );
    }

    #[test]
    fn contradictions_are_reported() {
        let v = EnhancedJwtClaimConstraints::new(
            vec![name("rcd"), name("crn")],
            vec![],
            vec![name("crn")],
        )
        .unwrap();
        assert_eq!(v.contradictions(), vec![&name("crn")]);
    }

    fn claim_name() -> impl Strategy<Value = ClaimName> {
        "[ -~]{1,12}".prop_map(|s| ClaimName::new(s).unwrap())
    }

    fn names(max: usize) -> impl Strategy<Value = Vec<ClaimName>> {
        proptest::collection::vec(claim_name(), 0..max)
    }

    fn permitted(max: usize) -> impl Strategy<Value = Vec<PermittedValues>> {
        proptest::collection::vec(
            (claim_name(), proptest::collection::vec("\\PC{0,20}", 1..4))
                .prop_map(|(c, v)| PermittedValues::new(c, v).unwrap()),
            0..max,
        )
    }

    proptest! {
        #[test]
        fn legacy_round_trips(include in names(4), values in permitted(4)) {
            prop_assume!(!include.is_empty() || !values.is_empty());
            let v = JwtClaimConstraints::new(include, values).unwrap();
            let der = v.to_der();
            prop_assert!(!der.is_empty());
            let back = JwtClaimConstraints::from_der(&der).unwrap();
            prop_assert_eq!(&back, &v);
            prop_assert_eq!(back.to_der(), der);
        }

        #[test]
        fn enhanced_round_trips(include in names(4), values in permitted(4), exclude in names(4)) {
            prop_assume!(!include.is_empty() || !values.is_empty() || !exclude.is_empty());
            let v = EnhancedJwtClaimConstraints::new(include, values, exclude).unwrap();
            let der = v.to_der();
            prop_assert!(!der.is_empty());
            let back = EnhancedJwtClaimConstraints::from_der(&der).unwrap();
            prop_assert_eq!(&back, &v);
            prop_assert_eq!(back.to_der(), der);
            let wrapped = ClaimConstraints::Enhanced(v);
            let again = ClaimConstraints::from_extension(&wrapped.extension_oid(), &wrapped.to_der());
            prop_assert_eq!(again, Ok(Some(wrapped)));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = JwtClaimConstraints::from_der(&bytes);
            let _ = EnhancedJwtClaimConstraints::from_der(&bytes);
        }
    }
}
