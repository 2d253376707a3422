//! `e_sti_subject_cn_shaken_spc`: the subject CN is "SHAKEN", one space, and the SPC of the
//! certificate's TNAuthList.
//!
//! ATIS-1000080 v005 §6.4.1.1 / US SHAKEN CP v1.4 §3.1: the end-entity CN "shall" be `SHAKEN`
//! followed by a single space and the SPC (standards.md §3.2; zlint `e_sti_subject_cn`).

use super::{Cert, Level, Rule, directory_string, shaken_spc, shaken_spc_only};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_subject_cn_shaken_spc",
    citation: "ATIS-1000080 v005 §6.4.1.1; US SHAKEN CP v1.4 §3.1",
    level: Level::Error,
    applies: shaken_spc_only,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let tn = c.required(oid::TN_AUTH_LIST, "TNAuthList")?;
    let spc = shaken_spc(tn.extn_value.as_bytes())
        .map_err(|e| format!("cannot check the CN against the SPC: {e}"))?;
    let cn = c
        .cert
        .tbs_certificate()
        .subject()
        .iter()
        .find(|a| a.oid == oid::AT_COMMON_NAME)
        .and_then(|a| directory_string(&a.value))
        .ok_or("subject has no CN")?;
    let expected = crate::ca::shaken_spc::common_name(spc.as_str());
    if cn == expected {
        Ok(())
    } else {
        Err(format!("CN is {cn:?}, expected {expected:?}"))
    }
}

#[cfg(test)]
mod tests {
    use rcgen::DnType;

    use super::super::testutil::*;

    const RULE: &str = "e_sti_subject_cn_shaken_spc";

    #[test]
    fn shaken_spc_passes_other_forms_fail() {
        assert!(finding(&build(|_| {}), RULE).is_none());
        for bad in [
            "Example SHAKEN 709J",
            "SHAKEN  709J",
            "SHAKEN 709K",
            "shaken 709J",
        ] {
            let b = build(|p| p.distinguished_name.push(DnType::CommonName, bad));
            assert!(finding(&b, RULE).is_some(), "{bad}");
        }
    }
}
