//! Errors of the TNAuthList codec and syntaxes, and their mapping to an ACME problem.

use crate::error::Error;

/// Why a TNAuthList (RFC 8226 §9), one of its parts, or one of its text forms was refused.
///
/// Every message says what was wrong so that a client reading a `malformed` problem can fix its
/// request without guessing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TnAuthError {
    /// The bytes are not strict DER (bad length, indefinite length, non-minimal encoding, truncated
    /// input, ...); the detail is the DER decoder's own message.
    #[error("TNAuthList is not valid DER: {0}")]
    Der(String),
    /// The value is a bare IA5String: the non-conformant form one open-source stack writes
    /// (interop.md); RFC 8226 §9 requires a SEQUENCE of TNEntry.
    #[error(
        "TNAuthList is a bare IA5String (tag 0x16), not a TNAuthorizationList SEQUENCE \
         (RFC 8226 §9); this non-conformant form is refused"
    )]
    BareIa5String,
    /// The outer value is neither a SEQUENCE nor the bare IA5String form.
    #[error("TNAuthList must be a SEQUENCE (tag 0x30), found tag 0x{tag:02x}")]
    NotSequence {
        /// The first identifier octet found.
        tag: u8,
    },
    /// Bytes follow the TNAuthorizationList (DER allows exactly one value).
    #[error("TNAuthList has {count} trailing byte(s) after the SEQUENCE")]
    TrailingBytes {
        /// How many bytes follow.
        count: usize,
    },
    /// `SEQUENCE SIZE (1..MAX)`: the list must have at least one entry.
    #[error("TNAuthList is empty; RFC 8226 §9 requires at least one entry")]
    Empty,
    /// An entry carries a primitive context tag (`80`/`81`/`82`): an IMPLICIT-tagging encoder.
    /// RFC 8226's module uses EXPLICIT tags, which are constructed (`A0`/`A1`/`A2`).
    #[error(
        "entry uses the IMPLICIT tag 0x{tag:02x}; RFC 8226 uses EXPLICIT tags \
         (expected 0x{expected:02x})"
    )]
    ImplicitTag {
        /// The identifier octet found.
        tag: u8,
        /// The EXPLICIT identifier octet expected for that choice.
        expected: u8,
    },
    /// An entry's tag is not one of `[0] spc`, `[1] range`, `[2] one`.
    #[error(
        "unknown TNEntry tag 0x{tag:02x}; expected [0] spc (0xa0), [1] range (0xa1) or [2] one (0xa2)"
    )]
    UnknownEntry {
        /// The identifier octet found (its first octet for multi-octet tags).
        tag: u8,
    },
    /// Inside an entry's explicit tag, the value has the wrong ASN.1 type.
    #[error("{what} must be an {expected}, found tag 0x{tag:02x}")]
    WrongType {
        /// Which field (`spc`, `range`, `range start`, `one`, ...).
        what: &'static str,
        /// The ASN.1 type expected.
        expected: &'static str,
        /// The identifier octet found.
        tag: u8,
    },
    /// An explicit tag or a range holds more than the value(s) RFC 8226 defines. The range's
    /// extension marker (`...`) names no extension today, so extra fields are refused: stica
    /// cannot say what they would authorize.
    #[error("{what} holds unexpected extra data after its value")]
    ExtraData {
        /// Where the extra data was.
        what: &'static str,
    },
    /// A range's `count` is not a non-negative INTEGER that fits in 64 bits.
    #[error("range count is not a valid INTEGER: {0}")]
    BadCount(String),
    /// A ServiceProviderCode is empty.
    #[error("SPC is empty")]
    EmptySpc,
    /// A ServiceProviderCode has a character outside printable ASCII (0x20..=0x7e).
    #[error("SPC contains the non-printable byte 0x{byte:02x}; only printable ASCII is accepted")]
    SpcNotPrintable {
        /// The offending byte.
        byte: u8,
    },
    /// A TelephoneNumber is empty (`SIZE (1..15)`).
    #[error("telephone number is empty")]
    EmptyNumber,
    /// A TelephoneNumber is longer than 15 digits (`SIZE (1..15)`, the E.164 maximum).
    #[error("telephone number {number:?} has {len} characters; at most 15 are allowed")]
    NumberTooLong {
        /// The offending text (lossy for non-ASCII bytes).
        number: String,
        /// Its length in bytes.
        len: usize,
    },
    /// A TelephoneNumber holds `#` or `*`: RFC 8226 allows them, stica accepts digits only because
    /// such "numbers" cannot be compared or ranged as numbers (see docs/tnauthlist.md).
    #[error(
        "telephone number {number:?} contains {symbol:?}; RFC 8226 allows '#' and '*' but stica \
         accepts digits 0-9 only"
    )]
    NumberSymbol {
        /// The offending text.
        number: String,
        /// `#` or `*`.
        symbol: char,
    },
    /// A TelephoneNumber holds a character that is not a digit (a `+`, a space, a letter, ...).
    #[error(
        "telephone number {number:?} contains {found:?}; only the digits 0-9 are allowed (no '+')"
    )]
    NumberNotDigit {
        /// The offending text (lossy for non-ASCII bytes).
        number: String,
        /// The first character that is not a digit.
        found: char,
    },
    /// `count INTEGER (2..MAX)`: a range covers at least two numbers (a single one is `one`).
    #[error("range count {count} is below 2; a single number is written as `one`")]
    CountTooSmall {
        /// The count found.
        count: u64,
    },
    /// The range's last number `start + count - 1` has more digits than `start`. RFC 8226 does not
    /// say what that means; stica requires ranges to stay within one number length.
    #[error(
        "range {start}+{count} would end beyond the largest {digits}-digit number; a range must \
         not change the number's length"
    )]
    RangeChangesLength {
        /// The range start, as written.
        start: String,
        /// The range count.
        count: u64,
        /// The number of digits of `start`.
        digits: usize,
    },
    /// Problem in the n-th entry (1-based), with the underlying cause.
    #[error("entry {index}: {source}")]
    Entry {
        /// 1-based position in the list.
        index: usize,
        /// What was wrong with it.
        #[source]
        source: Box<TnAuthError>,
    },
    /// An ACME identifier value or `tkvalue` is not base64/base64url (RFC 9448 §3, interop.md).
    #[error("TNAuthList value is not base64 or base64url: {0}")]
    Base64(String),
    /// The CLI text form (`spc:709J,tn:12155550123,range:12155550100+100`) is malformed.
    #[error("{0}")]
    Syntax(String),
}

impl TnAuthError {
    /// The underlying cause, looking through [`TnAuthError::Entry`] wrappers.
    pub fn cause(&self) -> &TnAuthError {
        match self {
            TnAuthError::Entry { source, .. } => source.cause(),
            other => other,
        }
    }

    /// Wraps `self` with the 1-based entry position it occurred at.
    pub(super) fn at(self, index: usize) -> TnAuthError {
        TnAuthError::Entry {
            index,
            source: Box::new(self),
        }
    }
}

impl From<der::Error> for TnAuthError {
    fn from(e: der::Error) -> Self {
        TnAuthError::Der(e.to_string())
    }
}

/// A TNAuthList that cannot be parsed is a client error: RFC 8555 §6.7 `malformed`.
impl From<TnAuthError> for Error {
    fn from(e: TnAuthError) -> Self {
        Error::malformed(e.to_string())
    }
}
