//! [`TnSet`]: the canonical set form of a TNAuthList, for `contains` and `encompasses`
//! (RFC 9060 §4, profiles.md "Encompassing").

use std::collections::BTreeSet;

use super::{MAX_DIGITS, Spc, TelephoneNumber, TnEntry, TnRange};

/// An inclusive interval `lo..=hi` of numbers that all have the same digit count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Span {
    lo: u64,
    hi: u64,
}

/// What a TNAuthList covers, in canonical form: the set of SPCs, and for each number length
/// (1..=15 digits) a sorted list of disjoint, non-adjacent intervals.
///
/// Numbers of different lengths never meet: `0123` and `123` are different numbers (standards.md
/// §1.1). Two lists that cover the same SPCs and numbers give equal sets, whatever their entry
/// order, overlaps or duplicates.
///
/// Costs, with `n` parent entries and `m` child entries: building is `O(n log n)`; [`Self::contains`]
/// is `O(log n)`; [`Self::encompasses`] is `O(m log n)` over canonical sets, so a parent of a
/// million ranges against a child of a hundred thousand entries takes milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TnSet {
    spcs: BTreeSet<Spc>,
    /// `by_len[d - 1]` holds the intervals of `d`-digit numbers.
    by_len: [Vec<Span>; MAX_DIGITS],
}

impl TnSet {
    /// The empty set.
    pub fn new() -> Self {
        TnSet::default()
    }

    /// The set covered by `entries` (any order, overlaps and duplicates allowed).
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a TnEntry>) -> Self {
        let mut set = TnSet::new();
        for entry in entries {
            match entry {
                TnEntry::Spc(spc) => {
                    set.spcs.insert(spc.clone());
                }
                TnEntry::One(number) => set.push(number, number.value()),
                TnEntry::Range(range) => set.push(&range.start(), range.last().value()),
            }
        }
        for spans in &mut set.by_len {
            normalize(spans);
        }
        set
    }

    fn push(&mut self, start: &TelephoneNumber, last: u64) {
        if let Some(spans) = self.by_len.get_mut(start.digit_count().wrapping_sub(1)) {
            spans.push(Span {
                lo: start.value(),
                hi: last,
            });
        }
    }

    /// True when the set has no SPC and no number.
    pub fn is_empty(&self) -> bool {
        self.spcs.is_empty() && !self.has_numbers()
    }

    /// True when the set covers at least one telephone number.
    pub fn has_numbers(&self) -> bool {
        self.by_len.iter().any(|spans| !spans.is_empty())
    }

    /// The SPCs, sorted.
    pub fn spcs(&self) -> impl Iterator<Item = &Spc> {
        self.spcs.iter()
    }

    /// True when `spc` is one of the set's SPCs.
    pub fn contains_spc(&self, spc: &Spc) -> bool {
        self.spcs.contains(spc)
    }

    /// How many telephone numbers the set covers (at most about 1.1 × 10^15, so it fits).
    pub fn number_count(&self) -> u64 {
        self.by_len
            .iter()
            .flatten()
            .map(|span| span.hi - span.lo + 1)
            .sum()
    }

    /// True when `number` lies in one of the set's numbers or ranges (same length, in bounds).
    ///
    /// SPCs are not expanded into numbers: see [`Self::encompasses`].
    pub fn contains(&self, number: &TelephoneNumber) -> bool {
        self.covers(number.digit_count(), number.value(), number.value())
    }

    /// True when every number of `range` lies in the set.
    pub fn contains_range(&self, range: &TnRange) -> bool {
        let start = range.start();
        self.covers(start.digit_count(), start.value(), range.last().value())
    }

    fn covers(&self, digits: usize, lo: u64, hi: u64) -> bool {
        let Some(spans) = self.by_len.get(digits.wrapping_sub(1)) else {
            return false;
        };
        let i = spans.partition_point(|s| s.hi < lo);
        spans.get(i).is_some_and(|s| s.lo <= lo && hi <= s.hi)
    }

    /// True when `self`, a parent, covers everything `child` names (RFC 9060 §4, profiles.md
    /// "Encompassing"):
    ///
    /// - every child number and range lies in the union of the parent's numbers and ranges, of the
    ///   same length;
    /// - every child SPC is one of the parent's SPCs (an SPC is matched by the same SPC only).
    ///
    /// A parent SPC does **not** cover telephone numbers: whether a number belongs to an SPC needs
    /// number-assignment data, which stica does not hold yet. Without it the answer is `false`
    /// (fail closed, as profiles.md asks). Hook for the number-inventory issue: expand the parent's
    /// SPCs into their assigned numbers (a `TnSet` built from the inventory, merged with `self`)
    /// before calling this, rather than changing this rule.
    pub fn encompasses(&self, child: &TnSet) -> bool {
        child.spcs.is_subset(&self.spcs)
            && self
                .by_len
                .iter()
                .zip(&child.by_len)
                .all(|(parent, child)| spans_cover(parent, child))
    }

    /// The canonical entries of the set: SPCs in order, then numbers by length and value, an
    /// interval of one number as `one` and longer intervals as ranges.
    pub fn to_entries(&self) -> Vec<TnEntry> {
        let mut out: Vec<TnEntry> = self.spcs.iter().cloned().map(TnEntry::Spc).collect();
        for (i, spans) in self.by_len.iter().enumerate() {
            // `i + 1` is at most MAX_DIGITS (15): it fits in a u8.
            let digits = (i + 1) as u8;
            for span in spans {
                let Some(start) = TelephoneNumber::from_parts(digits, span.lo) else {
                    continue;
                };
                let entry = match TnRange::new(start, span.hi - span.lo + 1) {
                    Ok(range) => TnEntry::Range(range),
                    Err(_) => TnEntry::One(start),
                };
                out.push(entry);
            }
        }
        out
    }
}

/// Sorts and merges overlapping or adjacent intervals in place.
fn normalize(spans: &mut Vec<Span>) {
    spans.sort_unstable();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans.drain(..) {
        match merged.last_mut() {
            // Values are below 10^15, so `hi + 1` cannot overflow.
            Some(last) if span.lo <= last.hi + 1 => last.hi = last.hi.max(span.hi),
            _ => merged.push(span),
        }
    }
    *spans = merged;
}

/// True when every child interval lies inside one parent interval. Both are canonical, so a child
/// interval inside the parent's union lies inside a single parent interval. The parent slice
/// shrinks as the sorted child advances; each step is a binary search.
fn spans_cover(parent: &[Span], child: &[Span]) -> bool {
    let mut rest = parent;
    for c in child {
        let i = rest.partition_point(|p| p.hi < c.lo);
        rest = rest.get(i..).unwrap_or_default();
        match rest.first() {
            Some(p) if p.lo <= c.lo && c.hi <= p.hi => {}
            _ => return false,
        }
    }
    true
}

/// The largest value of a `digits`-digit number (used by tests and generators).
#[cfg(test)]
pub(super) fn max_value(digits: usize) -> u64 {
    super::number::POW10.get(digits).map_or(0, |p| p - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tnauth::TnAuthList;

    fn set(text: &str) -> TnSet {
        text.parse::<TnAuthList>().unwrap().to_set()
    }

    fn tn(text: &str) -> TelephoneNumber {
        text.parse().unwrap()
    }

    #[test]
    fn canonical_form_merges_and_sorts() {
        let a = set("tn:2015550101,range:2015550100+2,range:2015550102+8,spc:B,spc:A,spc:B");
        let b = set("spc:A,range:2015550100+10,spc:B");
        assert_eq!(a, b);
        assert_eq!(
            TnAuthList::new(a.to_entries()).unwrap().to_string(),
            "spc:A,spc:B,range:2015550100+10"
        );
        assert_eq!(a.number_count(), 10);
        assert_eq!(set("tn:5,tn:7").to_entries().len(), 2);
    }

    #[test]
    fn contains_respects_length_and_bounds() {
        let s = set("range:12155550100+100,tn:0123");
        assert!(s.contains(&tn("12155550100")));
        assert!(s.contains(&tn("12155550199")));
        assert!(!s.contains(&tn("12155550200")));
        assert!(!s.contains(&tn("12155550099")));
        assert!(s.contains(&tn("0123")));
        assert!(!s.contains(&tn("123")), "different length");
        assert!(!s.contains(&tn("00123")), "different length");
    }

    #[test]
    fn encompasses_union_of_parent_ranges() {
        let parent = set("range:2015550100+50,range:2015550150+50,tn:2015550200");
        assert!(
            parent.encompasses(&set("range:2015550140+61")),
            "spans two ranges and a one"
        );
        assert!(!parent.encompasses(&set("range:2015550140+62")));
        assert!(!parent.encompasses(&set("tn:201555010")), "shorter number");
        assert!(parent.encompasses(&TnSet::new()));
    }

    #[test]
    fn spc_rules() {
        assert!(set("spc:709J").encompasses(&set("spc:709J")));
        assert!(!set("spc:709J").encompasses(&set("spc:123A")));
        assert!(
            !set("spc:709J").encompasses(&set("tn:12155550123")),
            "SPC-only parent does not cover numbers without an inventory"
        );
        assert!(!set("tn:12155550123").encompasses(&set("spc:709J,tn:12155550123")));
        assert!(set("spc:709J,tn:12155550123").encompasses(&set("tn:12155550123")));
    }

    #[test]
    fn scales_to_a_million_parent_ranges() {
        let entries: Vec<TnEntry> = (0..1_000_000u64)
            .map(|i| {
                let start = TelephoneNumber::from_parts(10, 2_000_000_000 + i * 10).unwrap();
                TnEntry::Range(TnRange::new(start, 5).unwrap())
            })
            .collect();
        let parent = TnSet::from_entries(&entries);
        let child = TnSet::from_entries(entries.iter().step_by(10));
        let started = std::time::Instant::now();
        assert!(parent.encompasses(&child));
        let mut outside = entries.iter().step_by(10).cloned().collect::<Vec<_>>();
        outside.push(TnEntry::One(
            TelephoneNumber::from_parts(10, 2_000_000_005).unwrap(),
        ));
        assert!(!parent.encompasses(&TnSet::from_entries(&outside)));
        assert!(started.elapsed().as_secs() < 5);
        assert_eq!(max_value(4), 9999);
    }
}
