//! `e_sti_ca_path_len_within_issuer`: a CA certificate (`sca`) is issued only by a CA whose
//! pathLenConstraint leaves room for it, and its own pathLen fits in what is left.
//!
//! RFC 5280 §4.2.1.9: pathLenConstraint is the number of non-self-issued intermediate CA
//! certificates that may follow the issuer in a path; the SCA is one, so an issuer with pathLen
//! `n` needs `n >= 1`, and any CA below the SCA counts against the issuer's `n` too, so the SCA's
//! own pathLen must be at most `n - 1` (a larger value would promise sub-delegation that path
//! validation then refuses). The issuer must itself be a CA (cA TRUE).

use super::{Cert, Level, Rule, sca_only};

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_ca_path_len_within_issuer",
    citation: "RFC 5280 §4.2.1.9, §6.1.4 (l)",
    level: Level::Error,
    applies: sca_only,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let issuer = c
        .issuer
        .map_err(|e| format!("issuer certificate unavailable: {e}"))?;
    let issuer_bc = Cert::basic_constraints_of(issuer)
        .map_err(|e| format!("issuer: {e}"))?
        .ok_or("the issuer has no basicConstraints: it is not a CA")?;
    if !issuer_bc.ca {
        return Err("the issuer is not a CA (cA FALSE)".into());
    }
    let Some(room) = issuer_bc.path_len_constraint else {
        return Ok(());
    };
    if room == 0 {
        return Err(
            "the issuer's pathLenConstraint is 0: no CA certificate may be issued below it".into(),
        );
    }
    let own = Cert::basic_constraints_of(c.cert)?.and_then(|bc| bc.path_len_constraint);
    match own {
        Some(n) if n < room => Ok(()),
        Some(n) => Err(format!(
            "pathLenConstraint {n} exceeds what the issuer's pathLenConstraint {room} leaves ({})",
            room - 1
        )),
        None => Err(format!(
            "no pathLenConstraint, but the issuer's pathLenConstraint {room} limits it to {}",
            room - 1
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::{Profile, ext, oid};

    const RULE: &str = "e_sti_ca_path_len_within_issuer";

    fn issuer(path_len: Option<u8>) -> IssuerSpec {
        IssuerSpec {
            path_len,
            ..IssuerSpec::default()
        }
    }

    #[test]
    fn room_left_by_the_issuer_passes() {
        assert!(finding(&build_as(Profile::Sca, |_| {}), RULE).is_none());
        let b = build_under(Profile::Sca, &issuer(None), |_| {});
        assert!(finding(&b, RULE).is_none());
        let b = build_under(Profile::Sca, &issuer(Some(2)), |p| {
            set_ext(
                p,
                oid::BASIC_CONSTRAINTS,
                true,
                ext::basic_constraints_ca(1).unwrap(),
            )
        });
        assert!(finding(&b, RULE).is_none());
    }

    #[test]
    fn exhausted_exceeded_and_non_ca_issuers_fail() {
        let b = build_under(Profile::Sca, &issuer(Some(0)), |_| {});
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("pathLenConstraint is 0")
        );
        let b = build_under(Profile::Sca, &issuer(Some(1)), |p| {
            set_ext(
                p,
                oid::BASIC_CONSTRAINTS,
                true,
                ext::basic_constraints_ca(1).unwrap(),
            )
        });
        assert!(finding(&b, RULE).unwrap().detail.contains("exceeds"));
        let b = build_under(Profile::Sca, &issuer(Some(1)), |p| {
            set_ext(
                p,
                oid::BASIC_CONSTRAINTS,
                true,
                vec![0x30, 0x03, 0x01, 0x01, 0xff],
            )
        });
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("no pathLenConstraint")
        );
        let b = build_under(
            Profile::Sca,
            &IssuerSpec {
                ca: false,
                ..IssuerSpec::default()
            },
            |_| {},
        );
        assert!(finding(&b, RULE).unwrap().detail.contains("not a CA"));
    }
}
