//! `TelephoneNumber` and `TelephoneNumberRange` (RFC 8226 §9).

use std::fmt;
use std::str::FromStr;

use super::TnAuthError;

/// `10^n` for `n` in `0..=15`: the first value that no longer fits in `n` digits.
pub(super) const POW10: [u64; 16] = {
    let mut table = [1u64; 16];
    let mut i = 1;
    while i < 16 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// Longest telephone number: `TelephoneNumber ::= IA5String (SIZE (1..15))` (RFC 8226 §9; the
/// E.164 maximum).
pub const MAX_DIGITS: usize = 15;

/// A telephone number: 1 to 15 digits `0-9`, written without `+` (RFC 8226 §9).
///
/// RFC 8226 also allows `#` and `*`; stica refuses them because such strings cannot be compared or
/// ranged as numbers, and no SHAKEN deployment is known to use them (docs/tnauthlist.md).
///
/// Stored as (digit count, value) so leading zeros survive: `"0123"` and `"123"` are different
/// numbers. The derived order is by length, then by value: the order [`super::TnSet`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TelephoneNumber {
    digits: u8,
    value: u64,
}

impl TelephoneNumber {
    /// Parses a number written as digits only.
    pub fn new(text: &str) -> Result<Self, TnAuthError> {
        let shown = || shorten(text);
        if text.is_empty() {
            return Err(TnAuthError::EmptyNumber);
        }
        if let Some(found) = text.chars().find(|c| !c.is_ascii_digit()) {
            return Err(match found {
                '#' | '*' => TnAuthError::NumberSymbol {
                    number: shown(),
                    symbol: found,
                },
                _ => TnAuthError::NumberNotDigit {
                    number: shown(),
                    found,
                },
            });
        }
        if text.len() > MAX_DIGITS {
            return Err(TnAuthError::NumberTooLong {
                number: shown(),
                len: text.len(),
            });
        }
        let value = text
            .bytes()
            .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
        // The length was checked above: at most 15, so it fits in a u8.
        let digits = text.len() as u8;
        Ok(TelephoneNumber { digits, value })
    }

    /// Parses the content octets of an IA5String.
    pub(super) fn from_bytes(bytes: &[u8]) -> Result<Self, TnAuthError> {
        TelephoneNumber::new(&String::from_utf8_lossy(bytes))
    }

    /// Builds a number from its digit count and value; `None` if the value does not fit.
    pub(super) fn from_parts(digits: u8, value: u64) -> Option<Self> {
        let limit = POW10.get(usize::from(digits))?;
        (digits >= 1 && value < *limit).then_some(TelephoneNumber { digits, value })
    }

    /// How many digits the number has (1..=15), leading zeros included.
    pub fn digit_count(&self) -> usize {
        usize::from(self.digits)
    }

    /// The number's numeric value (leading zeros dropped; see [`Self::digit_count`]).
    pub fn value(&self) -> u64 {
        self.value
    }
}

/// Error texts quote the offending input, but never more than a line of it.
fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head}...")
    }
}

impl fmt::Display for TelephoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$}", self.value, width = self.digit_count())
    }
}

impl FromStr for TelephoneNumber {
    type Err = TnAuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TelephoneNumber::new(s)
    }
}

/// `TelephoneNumberRange ::= SEQUENCE { start TelephoneNumber, count INTEGER (2..MAX), ... }`
/// (RFC 8226 §9): the `count` consecutive numbers beginning with `start`.
///
/// RFC 8226 does not say what a range that runs past the length of `start` means (standards.md
/// §1.1, "9998" + 5); stica requires `start + count - 1` to have as many digits as `start`, so every
/// range is an interval of equal-length numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TnRange {
    start: TelephoneNumber,
    count: u64,
}

impl TnRange {
    /// A range of `count` (>= 2) numbers from `start`, staying within `start`'s length.
    pub fn new(start: TelephoneNumber, count: u64) -> Result<Self, TnAuthError> {
        if count < 2 {
            return Err(TnAuthError::CountTooSmall { count });
        }
        let fits = start
            .value
            .checked_add(count - 1)
            .and_then(|last| TelephoneNumber::from_parts(start.digits, last))
            .is_some();
        if !fits {
            return Err(TnAuthError::RangeChangesLength {
                start: start.to_string(),
                count,
                digits: start.digit_count(),
            });
        }
        Ok(TnRange { start, count })
    }

    /// The first number.
    pub fn start(&self) -> TelephoneNumber {
        self.start
    }

    /// How many numbers the range covers (>= 2).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The last number, `start + count - 1` (same length as `start`, by construction).
    pub fn last(&self) -> TelephoneNumber {
        TelephoneNumber {
            digits: self.start.digits,
            value: self.start.value + (self.count - 1),
        }
    }

    /// True when `number` is one of the range's numbers (same length, within bounds).
    pub fn contains(&self, number: &TelephoneNumber) -> bool {
        number.digits == self.start.digits
            && number.value >= self.start.value
            && number.value <= self.last().value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::new(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn keeps_leading_zeros() {
        assert_eq!(tn("0123").to_string(), "0123");
        assert_ne!(tn("0123"), tn("123"));
        assert!(tn("99") < tn("000"), "shorter numbers sort first");
        assert_eq!(tn("999999999999999").value(), 999_999_999_999_999);
    }

    #[test]
    fn refuses_bad_numbers() {
        assert_eq!(TelephoneNumber::new(""), Err(TnAuthError::EmptyNumber));
        assert!(matches!(
            TelephoneNumber::new("1234567890123456"),
            Err(TnAuthError::NumberTooLong { len: 16, .. })
        ));
        assert!(matches!(
            TelephoneNumber::new("12#4"),
            Err(TnAuthError::NumberSymbol { symbol: '#', .. })
        ));
        assert!(matches!(
            TelephoneNumber::new("*67"),
            Err(TnAuthError::NumberSymbol { symbol: '*', .. })
        ));
        assert!(matches!(
            TelephoneNumber::new("+12155550123"),
            Err(TnAuthError::NumberNotDigit { found: '+', .. })
        ));
        assert!(matches!(
            TelephoneNumber::new("１２"),
            Err(TnAuthError::NumberNotDigit { found: '１', .. })
        ));
    }

    #[test]
    fn range_bounds() {
        let r = TnRange::new(tn("12155550100"), 100).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.last(), tn("12155550199"));
        assert!(r.contains(&tn("12155550100")) && r.contains(&tn("12155550199")));
        assert!(!r.contains(&tn("12155550200")) && !r.contains(&tn("2155550150")));
        assert_eq!(
            TnRange::new(tn("9990"), 10).map(|r| r.last()),
            Ok(tn("9999"))
        );
    }

    #[test]
    fn range_refusals() {
        assert_eq!(
            TnRange::new(tn("1000"), 1),
            Err(TnAuthError::CountTooSmall { count: 1 })
        );
        assert_eq!(
            TnRange::new(tn("1000"), 0),
            Err(TnAuthError::CountTooSmall { count: 0 })
        );
        assert!(matches!(
            TnRange::new(tn("9998"), 5),
            Err(TnAuthError::RangeChangesLength { digits: 4, .. })
        ));
        assert!(matches!(
            TnRange::new(tn("999999999999999"), u64::MAX),
            Err(TnAuthError::RangeChangesLength { .. })
        ));
    }
}
