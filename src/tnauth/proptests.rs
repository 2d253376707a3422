//! Property tests: the codec round-trips and is canonical, the hand-written encoder agrees with a
//! `der_derive` model of the RFC 8226 ASN.1, the text forms round-trip, and the set operations
//! agree with a naive model.

use der::Encode;
use der::asn1::Ia5StringRef;
use proptest::prelude::*;

use super::number::POW10;
use super::*;

// ---- generators ----------------------------------------------------------------------------

fn spc() -> impl Strategy<Value = Spc> {
    prop_oneof![
        "[0-9A-Z]{4}",
        "[ -~]{1,12}", // any printable ASCII, commas and percent signs included
    ]
    .prop_map(|s| Spc::new(s).unwrap())
}

fn number_of(digits: std::ops::RangeInclusive<u8>) -> impl Strategy<Value = TelephoneNumber> {
    digits.prop_flat_map(|d| {
        (0..POW10[usize::from(d)]).prop_map(move |v| TelephoneNumber::from_parts(d, v).unwrap())
    })
}

fn number() -> impl Strategy<Value = TelephoneNumber> {
    number_of(1..=15)
}

fn range_in(digits: std::ops::RangeInclusive<u8>) -> impl Strategy<Value = TnRange> {
    number_of(digits)
        .prop_filter("room for two", |n| n.value() + 1 < POW10[n.digit_count()])
        .prop_flat_map(|start| {
            let room = POW10[start.digit_count()] - start.value();
            // Mostly small counts, sometimes up to the end of the length.
            let count = prop_oneof![3 => 2..=room.min(1000), 1 => 2..=room];
            count.prop_map(move |c| TnRange::new(start, c).unwrap())
        })
}

fn entry() -> impl Strategy<Value = TnEntry> {
    prop_oneof![
        spc().prop_map(TnEntry::Spc),
        number().prop_map(TnEntry::One),
        range_in(1..=15).prop_map(TnEntry::Range),
    ]
}

fn tn_list() -> impl Strategy<Value = TnAuthList> {
    prop::collection::vec(entry(), 1..12).prop_map(|e| TnAuthList::new(e).unwrap())
}

/// Entries over a few 10-digit blocks, so that ranges overlap and children hit parents.
fn dense_entry() -> impl Strategy<Value = TnEntry> {
    let start = (0u64..3, 0u64..200).prop_map(|(block, offset)| {
        TelephoneNumber::from_parts(10, 2_015_550_000 + block * 1_000 + offset).unwrap()
    });
    prop_oneof![
        start.clone().prop_map(TnEntry::One),
        (start, 2u64..50).prop_map(|(s, c)| TnEntry::Range(TnRange::new(s, c).unwrap())),
        "[A-C]".prop_map(|s| TnEntry::Spc(Spc::new(s).unwrap())),
    ]
}

// ---- an independent encoder: der_derive with the RFC 8226 module's EXPLICIT tags -----------

#[derive(der::Sequence)]
struct RangeModel<'a> {
    start: Ia5StringRef<'a>,
    count: u64,
}

#[derive(der::Choice)]
#[asn1(tag_mode = "EXPLICIT")]
enum EntryModel<'a> {
    // crates.md: without `constructed = "true"` der_derive writes `80 ..` instead of `A0 ..`.
    #[asn1(context_specific = "0", constructed = "true")]
    Spc(Ia5StringRef<'a>),
    #[asn1(context_specific = "1", constructed = "true")]
    Range(RangeModel<'a>),
    #[asn1(context_specific = "2", constructed = "true")]
    One(Ia5StringRef<'a>),
}

fn model_der(list: &TnAuthList) -> Vec<u8> {
    let texts: Vec<String> = list
        .entries()
        .iter()
        .map(|e| match e {
            TnEntry::Spc(s) => s.to_string(),
            TnEntry::One(n) => n.to_string(),
            TnEntry::Range(r) => r.start().to_string(),
        })
        .collect();
    let model: Vec<EntryModel<'_>> = list
        .entries()
        .iter()
        .zip(&texts)
        .map(|(e, text)| {
            let ia5 = Ia5StringRef::new(text.as_bytes()).unwrap();
            match e {
                TnEntry::Spc(_) => EntryModel::Spc(ia5),
                TnEntry::One(_) => EntryModel::One(ia5),
                TnEntry::Range(r) => EntryModel::Range(RangeModel {
                    start: ia5,
                    count: r.count(),
                }),
            }
        })
        .collect();
    model.to_der().unwrap()
}

/// Naive membership, straight from the entries.
fn naive_contains(entries: &[TnEntry], n: &TelephoneNumber) -> bool {
    entries.iter().any(|e| match e {
        TnEntry::One(one) => one == n,
        TnEntry::Range(r) => r.contains(n),
        TnEntry::Spc(_) => false,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn der_round_trips_and_is_canonical(list in tn_list()) {
        let der = list.to_der();
        let decoded = TnAuthList::from_der(&der).unwrap();
        prop_assert_eq!(&decoded, &list);
        prop_assert_eq!(decoded.to_der(), der);
    }

    #[test]
    fn encoder_agrees_with_der_derive(list in tn_list()) {
        prop_assert_eq!(list.to_der(), model_der(&list));
    }

    #[test]
    fn accepted_bytes_are_exactly_the_canonical_bytes(list in tn_list(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        // Mutate one byte: the result is refused, or it is a list whose encoding is those bytes.
        let mut der = list.to_der();
        let i = at.index(der.len());
        der[i] = byte;
        if let Ok(other) = TnAuthList::from_der(&der) {
            prop_assert_eq!(other.to_der(), der);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(list) = TnAuthList::from_der(&bytes) {
            prop_assert_eq!(list.to_der(), bytes);
        }
    }

    #[test]
    fn text_forms_round_trip(list in tn_list()) {
        prop_assert_eq!(list.to_string().parse::<TnAuthList>().unwrap(), list.clone());
        let url = list.to_identifier_value();
        prop_assert!(!url.contains('=') && !url.contains('+') && !url.contains('/'));
        prop_assert_eq!(TnAuthList::from_identifier_value(&url).unwrap(), list.clone());
        let standard = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, list.to_der());
        prop_assert_eq!(TnAuthList::from_identifier_value(&standard).unwrap(), list);
    }

    #[test]
    fn a_list_encompasses_itself(list in tn_list()) {
        prop_assert!(list.encompasses(&list));
        prop_assert!(list.to_set().encompasses(&list.to_set()));
    }

    #[test]
    fn set_is_order_independent(entries in prop::collection::vec(dense_entry(), 1..20), seed in any::<u64>()) {
        let mut shuffled = entries.clone();
        // A cheap deterministic shuffle from the seed.
        let len = shuffled.len();
        for i in 0..len {
            let j = (seed.wrapping_mul(i as u64 + 1).rotate_left(17) % len as u64) as usize;
            shuffled.swap(i, j);
        }
        let canonical = TnSet::from_entries(&entries);
        prop_assert_eq!(TnSet::from_entries(&shuffled), canonical.clone());
        prop_assert_eq!(TnSet::from_entries(&canonical.to_entries()), canonical);
    }

    #[test]
    fn contains_agrees_with_entries(entries in prop::collection::vec(dense_entry(), 1..20), probe in dense_entry()) {
        let set = TnSet::from_entries(&entries);
        let probes = match probe {
            TnEntry::One(n) => vec![n],
            TnEntry::Range(r) => vec![r.start(), r.last()],
            TnEntry::Spc(_) => vec![],
        };
        for n in probes {
            prop_assert_eq!(set.contains(&n), naive_contains(&entries, &n));
        }
    }

    #[test]
    fn a_subset_is_encompassed(entries in prop::collection::vec(dense_entry(), 1..20), keep in prop::collection::vec(any::<bool>(), 20)) {
        let parent = TnAuthList::new(entries.clone()).unwrap();
        let subset: Vec<TnEntry> = entries.iter().zip(&keep).filter(|(_, k)| **k).map(|(e, _)| e.clone()).collect();
        if let Ok(child) = TnAuthList::new(subset) {
            prop_assert!(parent.encompasses(&child));
        }
    }

    #[test]
    fn a_sub_range_is_encompassed(range in range_in(2..=15), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        let parent = TnAuthList::new(vec![TnEntry::Range(range)]).unwrap();
        // Pick a sub-interval [lo, hi] of the range (indices are reduced modulo count).
        let count = usize::try_from(range.count()).unwrap_or(usize::MAX);
        let (x, y) = (a.index(count) as u64, b.index(count) as u64);
        let (lo, hi) = (x.min(y), x.max(y));
        let start = TelephoneNumber::from_parts(range.start().digit_count() as u8, range.start().value() + lo).unwrap();
        let child = if hi == lo {
            TnEntry::One(start)
        } else {
            TnEntry::Range(TnRange::new(start, hi - lo + 1).unwrap())
        };
        prop_assert!(parent.encompasses(&TnAuthList::new(vec![child]).unwrap()));
    }

    #[test]
    fn a_number_outside_breaks_encompassing(entries in prop::collection::vec(dense_entry(), 1..20), outside in number_of(9..=11)) {
        let parent = TnAuthList::new(entries.clone()).unwrap();
        prop_assume!(!naive_contains(&entries, &outside));
        let mut child = entries;
        child.push(TnEntry::One(outside));
        prop_assert!(!parent.encompasses(&TnAuthList::new(child.clone()).unwrap()));
        // The same number as the edge of a range breaks it too.
        if outside.value() > 0 {
            let before = TelephoneNumber::from_parts(outside.digit_count() as u8, outside.value() - 1).unwrap();
            let range = TnRange::new(before, 2).unwrap();
            child.pop();
            child.push(TnEntry::Range(range));
            prop_assert!(!parent.encompasses(&TnAuthList::new(child).unwrap()));
        }
    }

    #[test]
    fn an_spc_only_parent_covers_no_numbers(spc in spc(), n in number()) {
        let parent = TnAuthList::from_spc(spc.clone());
        let child = TnAuthList::new(vec![TnEntry::Spc(spc), TnEntry::One(n)]).unwrap();
        prop_assert!(!parent.encompasses(&child));
        prop_assert!(!parent.to_set().contains(&n));
    }
}
