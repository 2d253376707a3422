//! The human syntax of a TNAuthList, used by the CLI and in logs:
//! `spc:709J,tn:12155550123,range:12155550100+100` (docs/tnauthlist.md).
//!
//! Entries are separated by commas and keep their order; whitespace around an entry is ignored;
//! the keywords are case-insensitive. In an SPC, `%XX` (two hex digits) stands for a byte, so that
//! the rare SPC with a comma, a percent sign or a space still round-trips: `Display` writes those
//! three as `%2C`, `%25` and `%20`, and `FromStr` of `Display` gives the same list back.

use std::fmt;
use std::str::FromStr;

use super::{Spc, TelephoneNumber, TnAuthError, TnAuthList, TnEntry, TnRange};

const FORMS: &str = "spc:SPC, tn:NUMBER or range:START+COUNT";

impl FromStr for TnAuthList {
    type Err = TnAuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err(TnAuthError::Syntax(format!(
                "empty TNAuthList; give one or more comma-separated entries: {FORMS}"
            )));
        }
        let entries = s
            .split(',')
            .enumerate()
            .map(|(i, item)| item.parse::<TnEntry>().map_err(|e| e.at(i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        TnAuthList::new(entries)
    }
}

impl fmt::Display for TnAuthList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.entries().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{entry}")?;
        }
        Ok(())
    }
}

impl FromStr for TnEntry {
    type Err = TnAuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let item = s.trim();
        if item.is_empty() {
            return Err(TnAuthError::Syntax(format!(
                "empty entry (a stray comma?); expected {FORMS}"
            )));
        }
        let Some((kind, value)) = item.split_once(':') else {
            return Err(TnAuthError::Syntax(format!(
                "{item:?} has no kind; expected {FORMS}"
            )));
        };
        match kind.to_ascii_lowercase().as_str() {
            "spc" => Spc::new(unescape(value)?).map(TnEntry::Spc),
            "tn" => TelephoneNumber::new(value).map(TnEntry::One),
            "range" => {
                let Some((start, count)) = value.split_once('+') else {
                    return Err(TnAuthError::Syntax(format!(
                        "range {value:?} must be written START+COUNT, e.g. range:12155550100+100"
                    )));
                };
                let start = TelephoneNumber::new(start)?;
                let count = count.parse::<u64>().map_err(|_| {
                    TnAuthError::Syntax(format!(
                        "range count {count:?} is not a whole number (START+COUNT, count >= 2)"
                    ))
                })?;
                TnRange::new(start, count).map(TnEntry::Range)
            }
            _ => Err(TnAuthError::Syntax(format!(
                "unknown entry kind {kind:?} in {item:?}; expected {FORMS}"
            ))),
        }
    }
}

impl fmt::Display for TnEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TnEntry::Spc(spc) => write!(f, "spc:{}", escape(spc.as_str())),
            TnEntry::One(number) => write!(f, "tn:{number}"),
            TnEntry::Range(range) => write!(f, "range:{}+{}", range.start(), range.count()),
        }
    }
}

/// Escapes the characters that the list syntax would otherwise eat.
fn escape(spc: &str) -> String {
    let mut out = String::with_capacity(spc.len());
    for c in spc.chars() {
        match c {
            ',' => out.push_str("%2C"),
            '%' => out.push_str("%25"),
            ' ' => out.push_str("%20"),
            other => out.push(other),
        }
    }
    out
}

/// Reverses [`escape`]: `%XX` is the byte `0xXX`.
fn unescape(text: &str) -> Result<String, TnAuthError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let byte = bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| {
                    TnAuthError::Syntax(format!(
                        "SPC {text:?}: '%' must be followed by two hex digits (%2C is a comma)"
                    ))
                })?;
            out.push(byte);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let byte = e.as_bytes().get(at).copied().unwrap_or(0x80);
        TnAuthError::SpcNotPrintable { byte }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let list: TnAuthList = "spc:709J,tn:12155550123,range:12155550100+100"
            .parse()
            .unwrap();
        assert_eq!(list.entries().len(), 3);
        assert_eq!(
            list.to_string(),
            "spc:709J,tn:12155550123,range:12155550100+100"
        );
        assert_eq!(
            hex::encode(list.to_der()),
            "302ba00616043730394aa20d160b3132313535353530313233a1123010160b3132313535353530313030020164"
        );
    }

    #[test]
    fn whitespace_and_keyword_case_are_forgiven() {
        let list: TnAuthList = " SPC:709J , Tn:0123 ".parse().unwrap();
        assert_eq!(list.to_string(), "spc:709J,tn:0123");
    }

    #[test]
    fn escaped_spc_round_trips() {
        let spc = Spc::new("a,b%c d").unwrap();
        let list = TnAuthList::from_spc(spc.clone());
        assert_eq!(list.to_string(), "spc:a%2Cb%25c%20d");
        assert_eq!(list.to_string().parse::<TnAuthList>(), Ok(list));
    }

    #[test]
    fn errors_are_specific() {
        let err = |s: &str| {
            s.parse::<TnAuthList>()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err("").contains("empty TNAuthList"));
        assert!(err("spc:709J,").contains("entry 2: empty entry"));
        assert!(err("709J").contains("has no kind"));
        assert!(err("ocn:709J").contains("unknown entry kind \"ocn\""));
        assert!(err("tn:+12155550123").contains("no '+'"));
        assert!(err("tn:1215#").contains("'#'"));
        assert!(err("range:12155550100-12155550199").contains("START+COUNT"));
        assert!(err("range:12155550100+1").contains("below 2"));
        assert!(err("range:12155550100+x").contains("not a whole number"));
        assert!(err("range:9998+5").contains("length"));
        assert!(err("spc:").contains("SPC is empty"));
        assert!(err("spc:70%4").contains("two hex digits"));
        assert!(err("spc:70%0A").contains("non-printable byte 0x0a"));
        assert!(err("spc:70%FF").contains("non-printable byte 0xff"));
    }
}
