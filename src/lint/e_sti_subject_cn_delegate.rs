//! `e_sti_subject_cn_delegate`: a `delegate` certificate's CN is `<enterprise name> SHAKEN`,
//! where `<enterprise name>` is the subject `O` or the start of it (cut so the CN fits 64
//! characters).
//!
//! profiles.md `delegate` ("CN=<enterprise name> SHAKEN"); RFC 5280 Appendix A
//! (ub-common-name 64).

use super::{Cert, Level, Rule, delegate_only};
use crate::ca::oid;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_subject_cn_delegate",
    citation: "profiles.md delegate",
    level: Level::Error,
    applies: delegate_only,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let cn = c
        .subject_attr(oid::AT_COMMON_NAME)
        .ok_or("subject has no CN")?;
    let org = c.subject_attr(oid::AT_ORGANIZATION).unwrap_or_default();
    let name = cn
        .strip_suffix(" SHAKEN")
        .ok_or_else(|| format!("CN is {cn:?}, expected \"<enterprise name> SHAKEN\""))?;
    if name.trim().is_empty() || !org.starts_with(name) {
        return Err(format!(
            "CN is {cn:?}: the part before \" SHAKEN\" is not the subject O {org:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::Profile;

    const RULE: &str = "e_sti_subject_cn_delegate";

    #[test]
    fn enterprise_name_shaken_passes() {
        assert!(finding(&build_as(Profile::Delegate, |_| {}), RULE).is_none());
        let b = build_as(Profile::Delegate, |p| set_cn(p, "Example SHAKEN"));
        assert!(finding(&b, RULE).is_none());
    }

    #[test]
    fn other_forms_fail() {
        for bad in [
            "SHAKEN 709J",
            "Example Telecom LLC",
            "Other SHAKEN",
            " SHAKEN",
        ] {
            let b = build_as(Profile::Delegate, |p| set_cn(p, bad));
            assert!(finding(&b, RULE).is_some(), "{bad}");
        }
    }
}
