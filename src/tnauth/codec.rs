//! The DER codec for `TNAuthorizationList` (RFC 8226 §9, module `TN-Module-2016`, which uses
//! `DEFINITIONS EXPLICIT TAGS`).
//!
//! ```text
//! TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry
//! TNEntry ::= CHOICE { spc [0] ServiceProviderCode, range [1] TelephoneNumberRange,
//!                      one [2] TelephoneNumber }
//! ```
//!
//! Because the tags are EXPLICIT, each choice is a *constructed* context tag wrapping a complete
//! TLV: `A0 len 16 len <spc>`, `A1 len 30 len 16 len <start> 02 len <count>`, `A2 len 16 len <tn>`.
//!
//! Decoding is written by hand over the `der` crate's strict DER reader (definite, minimal lengths;
//! minimal INTEGERs; valid tags) so that each refusal gets a message naming the actual fault, such
//! as the IMPLICIT `80 ..` form or the bare IA5String form seen in the field (interop.md). Encoding
//! is written by hand too: the structure is tiny, the output is canonical DER by construction, and
//! it cannot fail (tests check it against the `der` crate's own encoders).

use der::asn1::AnyRef;
use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};

use super::{Spc, TelephoneNumber, TnAuthError, TnAuthList, TnEntry, TnRange};

/// Universal tags used here.
const SEQUENCE: u8 = 0x30;
const IA5_STRING: u8 = 0x16;
const INTEGER: u8 = 0x02;
/// EXPLICIT context tags `[0]`, `[1]`, `[2]`: class context (0x80) + constructed (0x20).
const SPC: u8 = 0xa0;
const RANGE: u8 = 0xa1;
const ONE: u8 = 0xa2;

/// Decodes a DER `TNAuthorizationList`, strictly (see the module docs and docs/tnauthlist.md).
pub(super) fn decode(bytes: &[u8]) -> Result<TnAuthList, TnAuthError> {
    match bytes.first() {
        None => return Err(TnAuthError::Der("no bytes".into())),
        Some(&IA5_STRING) => return Err(TnAuthError::BareIa5String),
        Some(&SEQUENCE) => {}
        Some(&tag) => return Err(TnAuthError::NotSequence { tag }),
    }
    let outer = AnyRef::from_der(bytes).map_err(|e| match e.kind() {
        der::ErrorKind::TrailingData { remaining, .. } => TnAuthError::TrailingBytes {
            count: usize::try_from(remaining).unwrap_or(usize::MAX),
        },
        _ => TnAuthError::from(e),
    })?;
    let mut reader = SliceReader::new(outer.value())?;
    let mut entries = Vec::new();
    while !reader.is_finished() {
        let index = entries.len() + 1;
        let tlv = AnyRef::decode(&mut reader).map_err(|e| TnAuthError::from(e).at(index))?;
        entries.push(decode_entry(tlv).map_err(|e| e.at(index))?);
    }
    TnAuthList::new(entries)
}

/// Decodes one `TNEntry` from its (already framed) TLV.
fn decode_entry(tlv: AnyRef<'_>) -> Result<TnEntry, TnAuthError> {
    let number = match tlv.tag() {
        Tag::ContextSpecific {
            constructed: true,
            number,
        } if number.value() <= 2 => number.value(),
        Tag::ContextSpecific {
            constructed: false,
            number,
        } if number.value() <= 2 => {
            let tag = 0x80 | number.value() as u8;
            return Err(TnAuthError::ImplicitTag {
                tag,
                expected: tag | 0x20,
            });
        }
        other => {
            return Err(TnAuthError::UnknownEntry {
                tag: first_octet(other),
            });
        }
    };
    // EXPLICIT: the content is exactly one complete TLV.
    let what = ["spc", "range", "one"]
        .get(number as usize)
        .copied()
        .unwrap_or("entry");
    let inner = AnyRef::from_der(tlv.value()).map_err(|e| match e.kind() {
        der::ErrorKind::TrailingData { .. } => TnAuthError::ExtraData { what },
        _ => TnAuthError::from(e),
    })?;
    match number {
        0 => Ok(TnEntry::Spc(Spc::from_bytes(ia5(inner, "spc")?)?)),
        1 => decode_range(inner).map(TnEntry::Range),
        _ => Ok(TnEntry::One(TelephoneNumber::from_bytes(ia5(
            inner, "one",
        )?)?)),
    }
}

/// Decodes `TelephoneNumberRange ::= SEQUENCE { start TelephoneNumber, count INTEGER (2..MAX), ... }`.
fn decode_range(inner: AnyRef<'_>) -> Result<TnRange, TnAuthError> {
    if inner.tag() != Tag::Sequence {
        return Err(wrong_type("range", "SEQUENCE", inner.tag()));
    }
    let mut reader = SliceReader::new(inner.value())?;
    let start = AnyRef::decode(&mut reader)?;
    let start = TelephoneNumber::from_bytes(ia5(start, "range start")?)?;
    let count = AnyRef::decode(&mut reader)?;
    if count.tag() != Tag::Integer {
        return Err(wrong_type("range count", "INTEGER", count.tag()));
    }
    let count = count
        .decode_as::<u64>()
        .map_err(|e| TnAuthError::BadCount(e.to_string()))?;
    if !reader.is_finished() {
        return Err(TnAuthError::ExtraData { what: "range" });
    }
    TnRange::new(start, count)
}

/// The content octets of an IA5String, after checking the tag.
fn ia5<'a>(tlv: AnyRef<'a>, what: &'static str) -> Result<&'a [u8], TnAuthError> {
    if tlv.tag() == Tag::Ia5String {
        Ok(tlv.value())
    } else {
        Err(wrong_type(what, "IA5String", tlv.tag()))
    }
}

fn wrong_type(what: &'static str, expected: &'static str, tag: Tag) -> TnAuthError {
    TnAuthError::WrongType {
        what,
        expected,
        tag: first_octet(tag),
    }
}

/// The first identifier octet of `tag`, for error messages.
fn first_octet(tag: Tag) -> u8 {
    let mut buf = [0u8; 8];
    tag.encode_to_slice(&mut buf)
        .ok()
        .and_then(|encoded| encoded.first().copied())
        .unwrap_or(0)
}

/// Encodes canonical DER. Infallible: every value of the types is encodable.
pub(super) fn encode(list: &TnAuthList) -> Vec<u8> {
    let mut content = Vec::new();
    for entry in list.entries() {
        match entry {
            TnEntry::Spc(spc) => {
                let mut inner = Vec::new();
                tlv(IA5_STRING, spc.as_str().as_bytes(), &mut inner);
                tlv(SPC, &inner, &mut content);
            }
            TnEntry::Range(range) => {
                let mut fields = Vec::new();
                tlv(
                    IA5_STRING,
                    range.start().to_string().as_bytes(),
                    &mut fields,
                );
                tlv(INTEGER, &integer(range.count()), &mut fields);
                let mut inner = Vec::new();
                tlv(SEQUENCE, &fields, &mut inner);
                tlv(RANGE, &inner, &mut content);
            }
            TnEntry::One(number) => {
                let mut inner = Vec::new();
                tlv(IA5_STRING, number.to_string().as_bytes(), &mut inner);
                tlv(ONE, &inner, &mut content);
            }
        }
    }
    let mut out = Vec::with_capacity(content.len() + 6);
    tlv(SEQUENCE, &content, &mut out);
    out
}

/// Appends `tag`, the minimal DER length of `value` (X.690 §10.1), and `value`.
fn tlv(tag: u8, value: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = &bytes[skip..];
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(value);
}

/// The minimal two's-complement content octets of a non-negative INTEGER (X.690 §8.3.2).
fn integer(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(bytes.len() - 1);
    let mut out = Vec::with_capacity(9);
    if bytes[skip] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&bytes[skip..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_matches_der_crate() {
        for v in [
            0u64,
            1,
            2,
            100,
            127,
            128,
            255,
            256,
            788,
            65535,
            1 << 63,
            u64::MAX,
        ] {
            let mut ours = Vec::new();
            tlv(INTEGER, &integer(v), &mut ours);
            assert_eq!(ours, v.to_der().unwrap(), "{v}");
        }
    }

    #[test]
    fn long_lengths_match_der_crate() {
        for n in [0usize, 1, 127, 128, 255, 256, 65535, 65536] {
            let value = vec![b'1'; n];
            let mut ours = Vec::new();
            tlv(IA5_STRING, &value, &mut ours);
            let theirs = der::asn1::Ia5StringRef::new(&value)
                .unwrap()
                .to_der()
                .unwrap();
            assert_eq!(ours, theirs, "{n}");
        }
    }
}
