//! `ServiceProviderCode` (RFC 8226 §9): the SPC entry of a TNAuthList.

use std::fmt;
use std::str::FromStr;

use super::TnAuthError;

/// A Service Provider Code: `ServiceProviderCode ::= IA5String` (RFC 8226 §9).
///
/// RFC 8226 only says IA5String; SHAKEN SPCs (OCNs) are `[0-9A-Z]+` (ATIS-1000080). Parsing accepts
/// any non-empty printable ASCII (0x20..=0x7e) so that a certificate or token with an unusual SPC
/// can still be read and reported; [`Spc::is_shaken_form`] is what the profile lint checks.
/// Control characters are refused: they have no business in an identifier and would end up in logs
/// and certificate subjects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Spc(String);

impl Spc {
    /// Parses an SPC from text.
    pub fn new(text: impl Into<String>) -> Result<Self, TnAuthError> {
        let text = text.into();
        check(text.as_bytes())?;
        Ok(Spc(text))
    }

    /// Parses an SPC from the content octets of an IA5String.
    pub(super) fn from_bytes(bytes: &[u8]) -> Result<Self, TnAuthError> {
        check(bytes)?;
        // `check` admits printable ASCII only, which is valid UTF-8.
        Ok(Spc(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// The SPC text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the SPC has the SHAKEN form `[0-9A-Z]+` (ATIS-1000080 OCN / SPC), which the
    /// SHAKEN SPC certificate profile requires (profiles.md).
    pub fn is_shaken_form(&self) -> bool {
        self.0
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    }
}

fn check(bytes: &[u8]) -> Result<(), TnAuthError> {
    if bytes.is_empty() {
        return Err(TnAuthError::EmptySpc);
    }
    match bytes.iter().find(|b| !(0x20..=0x7e).contains(*b)) {
        Some(&byte) => Err(TnAuthError::SpcNotPrintable { byte }),
        None => Ok(()),
    }
}

impl fmt::Display for Spc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Spc {
    type Err = TnAuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Spc::new(s)
    }
}

impl AsRef<str> for Spc {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_printable_ascii() {
        assert_eq!(Spc::new("709J").map(|s| s.is_shaken_form()), Ok(true));
        assert_eq!(Spc::new("bogus").map(|s| s.is_shaken_form()), Ok(false));
        assert_eq!(Spc::new("a b,~").map(|s| s.to_string()), Ok("a b,~".into()));
    }

    #[test]
    fn refuses_empty_and_control_characters() {
        assert_eq!(Spc::new(""), Err(TnAuthError::EmptySpc));
        assert_eq!(
            Spc::new("70\n9J"),
            Err(TnAuthError::SpcNotPrintable { byte: b'\n' })
        );
        assert_eq!(
            Spc::from_bytes(&[b'A', 0x7f]),
            Err(TnAuthError::SpcNotPrintable { byte: 0x7f })
        );
        assert!(matches!(
            Spc::new("709É"),
            Err(TnAuthError::SpcNotPrintable { .. })
        ));
    }
}
