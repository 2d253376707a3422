//! TNAuthList (RFC 8226 §9): the list of Service Provider Codes, telephone numbers and number
//! ranges a STIR/SHAKEN certificate, an ACME `TNAuthList` identifier (RFC 9448 §3) or an Authority
//! Token's `atc.tkvalue` (RFC 9448 §5) speaks for.
//!
//! - Parsed newtypes ([`Spc`], [`TelephoneNumber`], [`TnRange`], [`TnEntry`], [`TnAuthList`]): a
//!   value of these types is always valid, so the rest of stica never re-checks.
//! - The DER codec ([`TnAuthList::from_der`], [`TnAuthList::to_der`]): strict on decode, canonical
//!   on encode. Identity of two lists is the identity of their DER bytes (interop.md: compare DER,
//!   never the text forms).
//! - The ACME identifier text ([`TnAuthList::from_identifier_value`],
//!   [`TnAuthList::to_identifier_value`]).
//! - The human syntax of the CLI, `spc:709J,tn:12155550123,range:12155550100+100`, through
//!   [`std::str::FromStr`] and [`std::fmt::Display`].
//! - A canonical set form, [`TnSet`], with `contains` and `encompasses` (RFC 9060 §4 and
//!   profiles.md "Encompassing").
//!
//! docs/tnauthlist.md describes the text forms and the encompassing rule for users.

mod cli;
mod codec;
mod error;
mod identifier;
pub mod jwtcc;
mod number;
mod set;
mod spc;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use der::asn1::ObjectIdentifier;

pub use error::TnAuthError;
pub use number::{MAX_DIGITS, TelephoneNumber, TnRange};
pub use set::TnSet;
pub use spc::Spc;

/// `id-pe-TNAuthList` (RFC 8226 §9): the certificate extension, and the CSR extension request,
/// that carries a DER `TNAuthorizationList`.
pub const ID_PE_TNAUTHLIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.26");

/// One `TNEntry` (RFC 8226 §9): `spc [0]`, `range [1]` or `one [2]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TnEntry {
    /// `spc [0] ServiceProviderCode`: everything the service provider holds.
    Spc(Spc),
    /// `range [1] TelephoneNumberRange`: `count` consecutive numbers.
    Range(TnRange),
    /// `one [2] TelephoneNumber`: a single number.
    One(TelephoneNumber),
}

/// `TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry` (RFC 8226 §9).
///
/// Never empty; entries keep their order (and duplicates), because the DER of a list is what a
/// certificate, an order identifier and a token must agree on byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TnAuthList(Vec<TnEntry>);

impl TnAuthList {
    /// A list of `entries`, in this order; refuses an empty list (`SIZE (1..MAX)`).
    pub fn new(entries: Vec<TnEntry>) -> Result<Self, TnAuthError> {
        if entries.is_empty() {
            return Err(TnAuthError::Empty);
        }
        Ok(TnAuthList(entries))
    }

    /// The list holding exactly one SPC: the SHAKEN SPC certificate's TNAuthList (ATIS-1000080).
    pub fn from_spc(spc: Spc) -> Self {
        TnAuthList(vec![TnEntry::Spc(spc)])
    }

    /// Decodes a DER `TNAuthorizationList`, strictly: EXPLICIT tags only (`A0`/`A1`/`A2`; the
    /// IMPLICIT `80 ..` form and the bare IA5String form are refused), no trailing bytes, at least
    /// one entry, non-empty printable SPCs, numbers of 1 to 15 digits `0-9`, range counts of at
    /// least 2 that keep the number's length, no extra fields, and strict DER throughout.
    pub fn from_der(bytes: &[u8]) -> Result<Self, TnAuthError> {
        codec::decode(bytes)
    }

    /// The canonical DER encoding. `from_der(x)?.to_der() == x` for every accepted `x`.
    pub fn to_der(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Parses an ACME identifier `value` or an `atc.tkvalue`: base64url (RFC 9448 §3) or standard
    /// base64 (as production SHAKEN clients and the STI-PA send it), padded or not (interop.md),
    /// then the DER as [`Self::from_der`].
    pub fn from_identifier_value(value: &str) -> Result<Self, TnAuthError> {
        Self::from_der(&identifier::decode(value)?)
    }

    /// The identifier value stica writes: base64url without padding (RFC 8555 §6.1, RFC 9448 §3).
    pub fn to_identifier_value(&self) -> String {
        identifier::encode(&self.to_der())
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[TnEntry] {
        &self.0
    }

    /// The entries, in order, by value.
    pub fn into_entries(self) -> Vec<TnEntry> {
        self.0
    }

    /// The SPCs of the list, in order.
    pub fn spcs(&self) -> impl Iterator<Item = &Spc> {
        self.0.iter().filter_map(|e| match e {
            TnEntry::Spc(spc) => Some(spc),
            _ => None,
        })
    }

    /// `Some` only when the list is exactly one SPC entry: the SHAKEN SPC certificate profile and
    /// the STI-PA's SPC tokens (ATIS-1000080, profiles.md).
    pub fn single_spc(&self) -> Option<&Spc> {
        match self.0.as_slice() {
            [TnEntry::Spc(spc)] => Some(spc),
            _ => None,
        }
    }

    /// True when the list names any telephone number or range.
    pub fn has_numbers(&self) -> bool {
        self.0.iter().any(|e| !matches!(e, TnEntry::Spc(_)))
    }

    /// The canonical set of what the list covers. Build it once and reuse it when the same parent
    /// is checked against many children.
    pub fn to_set(&self) -> TnSet {
        TnSet::from_entries(&self.0)
    }

    /// True when `self` (a parent: an issuing certificate's or a token's list) covers everything
    /// `child` names (RFC 9060 §4, profiles.md "Encompassing"): every child number and range lies
    /// in the union of the parent's numbers and ranges, and every child SPC is one of the parent's
    /// SPCs. See [`TnSet::encompasses`] for the rule on SPC-only parents.
    pub fn encompasses(&self, child: &TnAuthList) -> bool {
        self.to_set().encompasses(&child.to_set())
    }
}
