//! Minimal TNAuthList reading for the CA and the lint until `crate::tnauth` lands (then
//! `TnAuthList::from_der(..)?.single_spc()` replaces [`single_spc`]).
//!
//! RFC 8226 §9 / Appendix A: `TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry`,
//! `TNEntry ::= CHOICE { spc [0] ServiceProviderCode, range [1] ..., one [2] ... }` with
//! EXPLICIT tags, so an SPC entry is `A0 len 16 len <ascii>`.

use der::asn1::{Any, Ia5String};
use der::{Decode, Tag, TagNumber, Tagged};

/// What the TNAuthList holds, as far as the SHAKEN SPC profile cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `spc [0] IA5String`
    Spc(String),
    /// `range [1]` or `one [2]`: telephone numbers (never allowed on an SPC certificate).
    Numbers,
}

/// Decodes the entries of a DER TNAuthorizationList.
pub(crate) fn entries(der_bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let items = Vec::<Any>::from_der(der_bytes)
        .map_err(|e| format!("TNAuthList is not a DER SEQUENCE OF TNEntry: {e}"))?;
    if items.is_empty() {
        return Err("TNAuthList is empty (SIZE (1..MAX))".into());
    }
    items
        .iter()
        .map(|item| match item.tag() {
            Tag::ContextSpecific {
                constructed: true,
                number: TagNumber(0),
            } => {
                let spc = Ia5String::from_der(item.value())
                    .map_err(|e| format!("spc entry is not an EXPLICIT IA5String: {e}"))?;
                Ok(Entry::Spc(spc.to_string()))
            }
            Tag::ContextSpecific {
                constructed: true,
                number: TagNumber(1 | 2),
            } => Ok(Entry::Numbers),
            other => Err(format!("unexpected TNEntry tag {other}")),
        })
        .collect()
}

/// The SPC when the list is exactly one SPC entry of the SHAKEN form `[0-9A-Z]+`
/// (ATIS-1000080 §6.4.1).
pub(crate) fn single_spc(der_bytes: &[u8]) -> Result<String, String> {
    match entries(der_bytes)?.as_slice() {
        [Entry::Spc(spc)] if is_shaken_spc(spc) => Ok(spc.clone()),
        [Entry::Spc(spc)] => Err(format!("SPC {spc:?} is not of the form [0-9A-Z]+")),
        [_] => Err("the only TNAuthList entry is not an SPC".into()),
        more => Err(format!(
            "TNAuthList has {} entries, an SPC certificate needs exactly one SPC",
            more.len()
        )),
    }
}

/// `[0-9A-Z]+`
pub(crate) fn is_shaken_spc(spc: &str) -> bool {
    !spc.is_empty()
        && spc
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors() {
        assert_eq!(
            single_spc(&hex::decode("3008a006160431323334").unwrap()).unwrap(),
            "1234"
        );
        assert_eq!(
            single_spc(&hex::decode("3008A00616043730394A").unwrap()).unwrap(),
            "709J"
        );
        let three = hex::decode("302ba0071605626f677573a1123010160a3537313535353132313202020314a20c160a37303335353531323132").unwrap();
        assert_eq!(entries(&three).unwrap().len(), 3);
        assert!(single_spc(&three).is_err());
        // lowercase SPC
        assert!(single_spc(&hex::decode("3009a0071605626f677573").unwrap()).is_err());
        // implicit tag form 80 04 ..
        assert!(single_spc(&hex::decode("3006800431323334").unwrap()).is_err());
        // bare IA5String, empty list, trailing bytes
        assert!(single_spc(&hex::decode("160131").unwrap()).is_err());
        assert!(single_spc(&hex::decode("3000").unwrap()).is_err());
        assert!(single_spc(&hex::decode("3008a00616043132333400").unwrap()).is_err());
        // one TN
        assert!(single_spc(&hex::decode("300FA20D160B3132313535353530313233").unwrap()).is_err());
    }
}
