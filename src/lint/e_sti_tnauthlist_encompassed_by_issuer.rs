//! `e_sti_tnauthlist_encompassed_by_issuer`: when the issuing certificate carries a TNAuthList
//! (an SCA, or any delegating certificate), the certificate's TNAuthList is encompassed by it:
//! every number and range lies in the issuer's numbers and ranges, every SPC is one of the
//! issuer's SPCs.
//!
//! RFC 9060 §4 (a delegate certificate's TNAuthList is a subset of its issuer's); profiles.md
//! "Encompassing". An issuer that lists only an SPC encompasses telephone numbers only where the
//! number inventory in the lint context says that SPC holds them; without one it refuses rather
//! than guesses ([`crate::policy::inventory::encompasses_with_inventory`]). Issuers without a
//! TNAuthList (stica's own intermediate, ATIS-1000080 v005) set no bound; nothing to check.

use super::{Cert, Level, Rule, any_profile};
use crate::ca::oid;
use crate::policy::inventory::encompasses_with_inventory;
use crate::tnauth::TnAuthList;

pub(crate) const RULE: Rule = Rule {
    name: "e_sti_tnauthlist_encompassed_by_issuer",
    citation: "RFC 9060 §4; profiles.md Encompassing",
    level: Level::Error,
    applies: any_profile,
    check,
};

fn check(c: &Cert<'_>) -> Result<(), String> {
    let issuer = c
        .issuer
        .map_err(|e| format!("issuer certificate unavailable: {e}"))?;
    let mut parents = issuer
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .filter(|e| e.extn_id == oid::TN_AUTH_LIST);
    let parent = match (parents.next(), parents.next()) {
        (None, _) => return Ok(()),
        (Some(_), Some(_)) => return Err("the issuer has more than one TNAuthList".into()),
        (Some(p), None) => TnAuthList::from_der(p.extn_value.as_bytes())
            .map_err(|e| format!("the issuer's TNAuthList is invalid: {e}"))?,
    };
    let Some(child) = c.extension(oid::TN_AUTH_LIST)? else {
        // Missing TNAuthList: the profile's own TNAuthList rule reports it.
        return Ok(());
    };
    let child = TnAuthList::from_der(child.extn_value.as_bytes())
        .map_err(|e| format!("TNAuthList is invalid: {e}"))?;
    encompasses_with_inventory(&parent, &child, c.ctx.inventory)
        .map_err(|e| format!("TNAuthList is not encompassed by the issuer's: {e}"))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::ca::{Profile, oid};

    const RULE: &str = "e_sti_tnauthlist_encompassed_by_issuer";

    fn under(parent: &str) -> IssuerSpec {
        IssuerSpec {
            tnauthlist: Some(list_der(parent)),
            ..IssuerSpec::default()
        }
    }

    #[test]
    fn inside_the_issuer_or_no_issuer_list_passes() {
        for profile in crate::ca::Profile::ALL {
            assert!(
                finding(&build_as(profile, |_| {}), RULE).is_none(),
                "{profile}"
            );
        }
        let parent = under("range:12155550000+1000");
        let b = build_under(Profile::Delegate, &parent, |_| {});
        assert!(finding(&b, RULE).is_none());
        // the same numbers given as one range and one number in the parent
        let parent = under("range:12155550100+100,tn:12155550123");
        let b = build_under(Profile::Delegate, &parent, |_| {});
        assert!(finding(&b, RULE).is_none());
        // an SCA under an SCA with the same SPC
        let b = build_under(Profile::Sca, &under("spc:709J"), |_| {});
        assert!(finding(&b, RULE).is_none());
    }

    #[test]
    fn one_off_edge_overlap_spc_mismatch_and_spc_only_parent_fail() {
        // one number off: 12155550200 right after the parent's 100..199
        let b = build_under(Profile::Delegate, &under("range:12155550100+100"), |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der("tn:12155550200"))
        });
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("not encompassed")
        );
        // the child's range 100..199 overlaps the parent's 101..200 at the lower edge
        let b = build_under(Profile::Delegate, &under("range:12155550101+100"), |p| {
            set_ext(
                p,
                oid::TN_AUTH_LIST,
                false,
                list_der("range:12155550100+100"),
            )
        });
        assert!(finding(&b, RULE).is_some());
        // SPC mismatch
        let b = build_under(Profile::Sca, &under("spc:1234"), |_| {});
        assert!(finding(&b, RULE).is_some());
        // a parent with only an SPC does not cover numbers (no inventory)
        let b = build_under(Profile::TnLevel, &under("spc:709J"), |_| {});
        assert!(finding(&b, RULE).is_some());
        let b = build_under(Profile::Delegate, &under("spc:709J"), |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der("tn:12155550123"))
        });
        assert!(
            finding(&b, RULE)
                .unwrap()
                .detail
                .contains("no number inventory")
        );
    }

    #[test]
    fn an_spc_only_issuer_encompasses_what_the_inventory_says_it_holds() {
        let inv = crate::policy::inventory::NumberInventory::from_csv(
            "spc,start,count\n709J,12155550000,1000\n1234,12155551000,10\n".as_bytes(),
        )
        .unwrap();
        let b = build_under(Profile::Delegate, &under("spc:709J"), |_| {});
        assert!(finding_with(&b, RULE, |c| c.inventory = Some(&inv)).is_none());
        // a number the inventory gives to another SPC
        let b = build_under(Profile::Delegate, &under("spc:709J"), |p| {
            set_ext(p, oid::TN_AUTH_LIST, false, list_der("tn:12155551000"))
        });
        assert!(
            finding_with(&b, RULE, |c| c.inventory = Some(&inv))
                .unwrap()
                .detail
                .contains("12155551000")
        );
    }
}
