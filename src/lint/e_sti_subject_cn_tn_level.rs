//! `e_sti_subject_cn_tn_level`: a `tn-level` certificate's CN is `SHAKEN <SPC>` when its
//! TNAuthList names an SPC, else `SHAKEN <account label>` (one space, a non-empty label without
//! surrounding spaces).
//!
//! profiles.md `tn-level` ("CN=SHAKEN <SPC or account label>"), following the STI certificate
//! form of ATIS-1000080 v005 §6.4.1.1 / US SHAKEN CP v1.4 §3.1.

use super::{Cert, Level, Rule, tn_level_only, tn_level_scope};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_subject_cn_tn_level",
    citation: "profiles.md tn-level; ATIS-1000080 v005 §6.4.1.1",
    level: Level::Error,
    applies: tn_level_only,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let tn = c.required(oid::TN_AUTH_LIST, "TNAuthList")?;
    let (_, spc) = tn_level_scope(tn.extn_value.as_bytes())
        .map_err(|e| format!("cannot check the CN against the TNAuthList: {e}"))?;
    let cn = c
        .subject_attr(oid::AT_COMMON_NAME)
        .ok_or("subject has no CN")?;
    match spc {
        Some(spc) => {
            let expected = format!("SHAKEN {}", spc.as_str());
            if cn == expected {
                Ok(())
            } else {
                Err(format!("CN is {cn:?}, expected {expected:?}"))
            }
        }
        None => match cn.strip_prefix("SHAKEN ") {
            Some(label) if !label.is_empty() && label.trim() == label => Ok(()),
            _ => Err(format!("CN is {cn:?}, expected \"SHAKEN <account label>\"")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::{Profile, oid};

    const RULE: &str = "e_sti_subject_cn_tn_level";

    #[test]
    fn spc_or_label_passes() {
        assert!(finding(&build_as(Profile::TnLevel, |_| {}), RULE).is_none());
        let b = build_as(Profile::TnLevel, |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der(DELEGATE_LIST));
            set_cn(p, "SHAKEN acct-1");
        });
        assert!(finding(&b, RULE).is_none());
    }

    #[test]
    fn wrong_spc_label_with_an_spc_and_empty_label_fail() {
        for bad in ["SHAKEN 1234", "SHAKEN acct-1", "Example SHAKEN 709J"] {
            let b = build_as(Profile::TnLevel, |p| set_cn(p, bad));
            assert!(finding(&b, RULE).is_some(), "{bad}");
        }
        for bad in ["SHAKEN ", "SHAKEN  x", "acct-1", "shaken acct-1"] {
            let b = build_as(Profile::TnLevel, |p| {
                set_ext(p, oid::TN_AUTH_LIST, false, list_der(DELEGATE_LIST));
                set_cn(p, bad);
            });
            assert!(finding(&b, RULE).is_some(), "{bad}");
        }
    }
}
