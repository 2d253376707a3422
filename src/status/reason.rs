//! CRL reason codes (RFC 5280 §5.3.1) and which of them stica accepts.

use std::fmt;

/// A revocation reason stica records: one of the RFC 5280 §5.3.1 CRLReason values it accepts.
///
/// Refused: `certificateHold` (6) — a hold is meant to be lifted with `removeFromCRL`, and stica's
/// revocations are final, so a "hold" would be a permanent revocation under a misleading name;
/// 7 — unassigned; `removeFromCRL` (8) — only meaningful in delta CRLs, which stica does not
/// publish. RFC 8555 §7.6 lets a server disallow reasons; a disallowed one is
/// `badRevocationReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reason(u8);

impl Reason {
    /// unspecified (0): the default when a request names none (RFC 8555 §7.6).
    pub const UNSPECIFIED: Reason = Reason(0);
    /// keyCompromise (1)
    pub const KEY_COMPROMISE: Reason = Reason(1);
    /// cACompromise (2)
    pub const CA_COMPROMISE: Reason = Reason(2);
    /// privilegeWithdrawn (9)
    pub const PRIVILEGE_WITHDRAWN: Reason = Reason(9);

    /// The reason with this code, if stica accepts it.
    pub fn from_code(code: i64) -> Option<Reason> {
        match code {
            0..=5 | 9 | 10 => u8::try_from(code).ok().map(Reason),
            _ => None,
        }
    }

    /// The code.
    pub fn code(self) -> u8 {
        self.0
    }

    /// The RFC 5280 name.
    pub fn name(self) -> &'static str {
        name(self.0)
    }

    /// The reason given to certificates revoked because their parent (the `sca` that delegated
    /// to them, RFC 9060) was revoked for `parent`: cACompromise when the parent's key or
    /// authority was compromised, privilegeWithdrawn otherwise (the delegation they rest on is
    /// gone).
    pub fn for_children_of(parent: Reason) -> Reason {
        match parent {
            Reason::KEY_COMPROMISE | Reason::CA_COMPROMISE => Reason::CA_COMPROMISE,
            _ => Reason::PRIVILEGE_WITHDRAWN,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// The RFC 5280 §5.3.1 name of a stored reason code (`unknown` for codes it does not define).
pub fn name(code: u8) -> &'static str {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => "unknown",
    }
}

/// The codes stica accepts, for messages.
pub const ACCEPTED: &str = "0-5, 9 or 10";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_and_refused_codes() {
        for code in [0, 1, 2, 3, 4, 5, 9, 10] {
            assert_eq!(Reason::from_code(code).unwrap().code() as i64, code);
        }
        for code in [-1, 6, 7, 8, 11, 255, 256, i64::MAX, i64::MIN] {
            assert!(Reason::from_code(code).is_none(), "{code}");
        }
        assert_eq!(Reason::KEY_COMPROMISE.name(), "keyCompromise");
        assert_eq!(name(7), "unknown");
        assert_eq!(
            Reason::from_code(5).unwrap().to_string(),
            "cessationOfOperation (5)"
        );
    }

    #[test]
    fn children_reason() {
        assert_eq!(
            Reason::for_children_of(Reason::KEY_COMPROMISE),
            Reason::CA_COMPROMISE
        );
        assert_eq!(
            Reason::for_children_of(Reason::CA_COMPROMISE),
            Reason::CA_COMPROMISE
        );
        for other in [0, 3, 4, 5, 9, 10] {
            assert_eq!(
                Reason::for_children_of(Reason::from_code(other).unwrap()),
                Reason::PRIVILEGE_WITHDRAWN
            );
        }
    }
}
