//! `e_sti_subject_cn_sca`: an `sca` certificate's CN is `<legal name> SHAKEN SCA <SPC>`
//! (`<legal name> SHAKEN SCA` when its scope has no SPC), where `<legal name>` is the subject
//! `O` or the start of it (cut so the CN fits 64 characters).
//!
//! profiles.md `sca` ("CN=<legal name> SHAKEN SCA <SPC>"); ATIS-1000080 v005 §6.4.1 (CA
//! certificate CNs contain "SHAKEN"); RFC 5280 Appendix A (ub-common-name 64).

use super::{Cert, Level, Rule, sca_only, sca_scope};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_subject_cn_sca",
    citation: "profiles.md sca; ATIS-1000080 v005 §6.4.1",
    level: Level::Error,
    applies: sca_only,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let tn = c.required(oid::TN_AUTH_LIST, "TNAuthList")?;
    let (_, spc) = sca_scope(tn.extn_value.as_bytes())
        .map_err(|e| format!("cannot check the CN against the TNAuthList: {e}"))?;
    let cn = c
        .subject_attr(oid::AT_COMMON_NAME)
        .ok_or("subject has no CN")?;
    let org = c.subject_attr(oid::AT_ORGANIZATION).unwrap_or_default();
    let suffix = match &spc {
        Some(spc) => format!(" SHAKEN SCA {}", spc.as_str()),
        None => " SHAKEN SCA".to_string(),
    };
    let expected = format!("<legal name>{suffix}");
    let name = cn
        .strip_suffix(&suffix)
        .ok_or_else(|| format!("CN is {cn:?}, expected {expected:?}"))?;
    if name.trim().is_empty() || !org.starts_with(name) {
        return Err(format!(
            "CN is {cn:?}: the part before {suffix:?} is not the subject O {org:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::{Profile, oid};

    const RULE: &str = "e_sti_subject_cn_sca";

    #[test]
    fn legal_name_shaken_sca_spc_passes() {
        assert!(finding(&build_as(Profile::Sca, |_| {}), RULE).is_none());
        // a cut legal name, and a scope without an SPC
        let b = build_as(Profile::Sca, |p| set_cn(p, "Example Tele SHAKEN SCA 709J"));
        assert!(finding(&b, RULE).is_none());
        let b = build_as(Profile::Sca, |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der(DELEGATE_LIST));
            set_cn(p, "Example Telecom LLC SHAKEN SCA");
        });
        assert!(finding(&b, RULE).is_none());
    }

    #[test]
    fn other_forms_fail() {
        for bad in [
            "SHAKEN 709J",
            "Example Telecom LLC SHAKEN SCA 1234",
            "Other Corp SHAKEN SCA 709J",
            " SHAKEN SCA 709J",
            "Example Telecom LLC SHAKEN SCA",
        ] {
            let b = build_as(Profile::Sca, |p| set_cn(p, bad));
            assert!(finding(&b, RULE).is_some(), "{bad}");
        }
    }
}
