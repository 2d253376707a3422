//! Number inventory: which Service Provider Code holds which telephone numbers and blocks, and the
//! encompassing check that uses it (RFC 9060 §4, profiles.md "Encompassing").
//!
//! A TNAuthList that lists only an SPC says "everything this provider holds" but not which numbers
//! those are (RFC 8226 §9). When a delegating certificate lists an SPC and its delegate lists
//! numbers, the CA can only show the delegate's numbers lie inside the parent's scope with
//! number-assignment data for that SPC. This module holds that data and answers, per SPC, "are
//! these numbers held?" in `O(log n)` per child interval against millions of blocks. Without it the
//! check fails closed, with a detail that says why.
//!
//! The CSV import format (`spc,start,count`) is described in docs/delegation-verify.md.

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::tnauth::{MAX_DIGITS, Spc, TelephoneNumber, TnAuthList, TnEntry, TnRange, TnSet};

/// Why an inventory could not be loaded or built.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The inventory file cannot be opened.
    #[error("cannot read number inventory {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading the input failed part way (an I/O error, or bytes that are not UTF-8).
    #[error("number inventory line {line}: cannot read: {source}")]
    Read {
        /// 1-based line number where reading failed.
        line: usize,
        /// Why.
        source: std::io::Error,
    },
    /// A CSV line is malformed: wrong field count, bad SPC, start or count.
    #[error("number inventory line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A block handed to [`InventoryBuilder::add`] is invalid (count 0, or it runs past the
    /// largest number of its length).
    #[error("invalid number block: {0}")]
    Block(String),
}

/// Why a parent TNAuthList does not encompass a child's (RFC 9060 §4, profiles.md
/// "Encompassing"). Each variant names the first child entry that is not covered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncompassError {
    /// A child SPC entry whose SPC the parent does not list: an SPC is encompassed only by the
    /// same SPC.
    #[error(
        "child entry {index} ({entry}) is not encompassed: the parent lists no SPC {spc} \
         (parent: {parent})"
    )]
    SpcNotInParent {
        /// 1-based position of the entry in the child list.
        index: usize,
        /// The entry, in CLI syntax.
        entry: String,
        /// The child's SPC.
        spc: String,
        /// The parent list, in CLI syntax (shortened when long).
        parent: String,
    },
    /// The parent lists only SPCs, the child lists numbers, and no inventory is configured: the
    /// CA cannot show those numbers belong to the SPC, so it refuses rather than guesses.
    #[error(
        "child entry {index} ({entry}) is not encompassed: parent lists only SPC {spcs} and no \
         number inventory is configured"
    )]
    SpcOnlyNoInventory {
        /// 1-based position of the entry in the child list.
        index: usize,
        /// The entry, in CLI syntax.
        entry: String,
        /// The parent's SPCs, comma-separated.
        spcs: String,
    },
    /// A child number or range reaches outside what the parent covers: its own numbers and
    /// ranges, plus the inventory's numbers for the parent's SPCs when an inventory is given.
    #[error(
        "child entry {index} ({entry}) is not encompassed: {first_uncovered} is outside {scope}"
    )]
    NumberNotCovered {
        /// 1-based position of the entry in the child list.
        index: usize,
        /// The entry, in CLI syntax.
        entry: String,
        /// The first number of the entry that the parent does not cover.
        first_uncovered: String,
        /// What the parent's scope was made of, for the reader.
        scope: String,
    },
}

impl EncompassError {
    /// 1-based position of the first child entry that is not encompassed.
    pub fn index(&self) -> usize {
        match self {
            EncompassError::SpcNotInParent { index, .. }
            | EncompassError::SpcOnlyNoInventory { index, .. }
            | EncompassError::NumberNotCovered { index, .. } => *index,
        }
    }
}

/// An inclusive interval `lo..=hi` of numbers that all have the same digit count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    lo: u64,
    hi: u64,
}

/// Sorted, disjoint, non-adjacent intervals per number length: `by_len[d - 1]` holds the
/// `d`-digit numbers. Numbers of different lengths never meet (`0123` is not `123`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Spans {
    by_len: [Vec<Span>; MAX_DIGITS],
}

impl Spans {
    fn push(&mut self, digits: usize, lo: u64, hi: u64) {
        if let Some(spans) = self.by_len.get_mut(digits.wrapping_sub(1)) {
            spans.push(Span { lo, hi });
        }
    }

    /// Sorts and merges; `O(n log n)`.
    fn normalize(&mut self) {
        for spans in &mut self.by_len {
            spans.sort_unstable();
            let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
            for span in spans.drain(..) {
                match merged.last_mut() {
                    // Values are below 10^15, so `hi + 1` cannot overflow.
                    Some(last) if span.lo <= last.hi + 1 => last.hi = last.hi.max(span.hi),
                    _ => merged.push(span),
                }
            }
            merged.shrink_to_fit();
            *spans = merged;
        }
    }

    /// The numbers and ranges of `entries` (SPC entries are not numbers and are skipped).
    fn from_entries<'a>(entries: impl IntoIterator<Item = &'a TnEntry>) -> Spans {
        let mut spans = Spans::default();
        for entry in entries {
            if let Some((digits, lo, hi)) = interval(entry) {
                spans.push(digits, lo, hi);
            }
        }
        spans.normalize();
        spans
    }

    /// The end of the interval holding `value` among `digits`-digit numbers, if any; `O(log n)`.
    fn reach(&self, digits: usize, value: u64) -> Option<u64> {
        let spans = self.by_len.get(digits.wrapping_sub(1))?;
        let i = spans.partition_point(|s| s.hi < value);
        spans.get(i).filter(|s| s.lo <= value).map(|s| s.hi)
    }

    fn interval_count(&self) -> usize {
        self.by_len.iter().map(Vec::len).sum()
    }

    fn number_count(&self) -> u64 {
        self.by_len.iter().flatten().map(|s| s.hi - s.lo + 1).sum()
    }

    fn is_empty(&self) -> bool {
        self.by_len.iter().all(Vec::is_empty)
    }

    /// The canonical TNAuthList entries: a one-number interval as `one`, longer ones as ranges.
    fn to_entries(&self) -> Vec<TnEntry> {
        let mut out = Vec::with_capacity(self.interval_count());
        for (i, spans) in self.by_len.iter().enumerate() {
            let digits = i + 1;
            for span in spans {
                let Ok(start) = TelephoneNumber::new(&format!("{:0digits$}", span.lo)) else {
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

/// `(digits, first, last)` of a number or range entry; `None` for an SPC.
fn interval(entry: &TnEntry) -> Option<(usize, u64, u64)> {
    match entry {
        TnEntry::Spc(_) => None,
        TnEntry::One(n) => Some((n.digit_count(), n.value(), n.value())),
        TnEntry::Range(r) => Some((r.start().digit_count(), r.start().value(), r.last().value())),
    }
}

/// True when `lo..=hi` (`digits`-digit numbers) lies in the union of `sources`; otherwise the
/// first number that does not. Each step jumps to the end of the interval (in any source) that
/// holds the current number, so a child interval costs `O(k log n)` for `k` source intervals it
/// crosses, and no union is ever materialised (an inventory of millions stays untouched).
fn walk(sources: &[&Spans], digits: usize, lo: u64, hi: u64) -> Result<(), u64> {
    let mut cur = lo;
    loop {
        let reached = sources
            .iter()
            .filter_map(|s| s.reach(digits, cur))
            .max()
            .ok_or(cur)?;
        if reached >= hi {
            return Ok(());
        }
        cur = reached + 1;
    }
}

/// Which SPC holds which numbers: per SPC, sorted merged intervals.
///
/// Build cost `O(n log n)` for `n` blocks; [`Self::covers`] and [`encompasses_with_inventory`] cost
/// `O(log n)` per child interval. About 16 bytes per merged block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberInventory {
    by_spc: HashMap<Spc, Spans>,
}

/// Collects blocks, then sorts and merges them once in [`Self::build`].
#[derive(Debug, Default)]
pub struct InventoryBuilder {
    by_spc: HashMap<Spc, Spans>,
}

impl InventoryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        InventoryBuilder::default()
    }

    /// Records that `spc` holds the `count` numbers starting at `start` (`count >= 1`; the block
    /// must not run past the largest number of `start`'s length, the same rule as
    /// [`TnRange`]). Overlapping and adjacent blocks are merged at build time.
    pub fn add(
        &mut self,
        spc: Spc,
        start: TelephoneNumber,
        count: u64,
    ) -> Result<(), InventoryError> {
        let last = block_last(&start, count).map_err(InventoryError::Block)?;
        self.by_spc
            .entry(spc)
            .or_default()
            .push(start.digit_count(), start.value(), last);
        Ok(())
    }

    /// Sorts and merges every SPC's blocks: `O(n log n)`.
    pub fn build(mut self) -> NumberInventory {
        for spans in self.by_spc.values_mut() {
            spans.normalize();
        }
        NumberInventory {
            by_spc: self.by_spc,
        }
    }
}

/// The last number of a block, or why the block is invalid.
fn block_last(start: &TelephoneNumber, count: u64) -> Result<u64, String> {
    if count == 0 {
        return Err("count is 0; a block holds at least one number".into());
    }
    if count == 1 {
        return Ok(start.value());
    }
    TnRange::new(*start, count)
        .map(|r| r.last().value())
        .map_err(|e| e.to_string())
}

impl NumberInventory {
    /// An empty inventory (holds no number for any SPC).
    pub fn new() -> Self {
        NumberInventory::default()
    }

    /// A builder, for inventories assembled in code.
    pub fn builder() -> InventoryBuilder {
        InventoryBuilder::new()
    }

    /// Reads CSV lines `spc,start,count`: an optional header line `spc,start,count`, comment lines
    /// starting with `#`, blank lines ignored, whitespace around fields ignored. `start` is 1 to 15
    /// digits 0-9 (leading zeros count, as in a TNAuthList), `count >= 1`, and the block stays
    /// within `start`'s length. Errors name the line.
    pub fn from_csv<R: Read>(reader: R) -> Result<Self, InventoryError> {
        let mut builder = InventoryBuilder::new();
        let mut seen_data = false;
        for (i, line) in BufReader::new(reader).lines().enumerate() {
            let number = i + 1;
            let line = line.map_err(|source| InventoryError::Read {
                line: number,
                source,
            })?;
            let text = line.trim_start_matches('\u{feff}').trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            if !seen_data && is_header(text) {
                seen_data = true;
                continue;
            }
            seen_data = true;
            let bad = |message: String| InventoryError::Line {
                line: number,
                message,
            };
            let fields: Vec<&str> = text.split(',').map(str::trim).collect();
            let [spc, start, count] = fields.as_slice() else {
                return Err(bad(format!(
                    "expected 3 fields spc,start,count, found {}",
                    fields.len()
                )));
            };
            let spc = Spc::new(*spc).map_err(|e| bad(format!("spc: {e}")))?;
            let start = TelephoneNumber::new(start).map_err(|e| bad(format!("start: {e}")))?;
            let count = count.parse::<u64>().map_err(|_| {
                bad(format!(
                    "count {count:?} is not a whole number (count >= 1)"
                ))
            })?;
            builder
                .add(spc, start, count)
                .map_err(|e| bad(format!("block {start}+{count}: {}", block_reason(e))))?;
        }
        Ok(builder.build())
    }

    /// Loads a CSV inventory file (see [`Self::from_csv`]).
    pub fn load(path: &Path) -> Result<Self, InventoryError> {
        let file = std::fs::File::open(path).map_err(|source| InventoryError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_csv(file)
    }

    /// The SPCs the inventory knows, in no particular order.
    pub fn spcs(&self) -> impl Iterator<Item = &Spc> {
        self.by_spc.keys()
    }

    /// True when no SPC holds any number.
    pub fn is_empty(&self) -> bool {
        self.by_spc.values().all(Spans::is_empty)
    }

    /// How many merged blocks the inventory holds, over all SPCs.
    pub fn block_count(&self) -> usize {
        self.by_spc.values().map(Spans::interval_count).sum()
    }

    /// How many numbers `spc` holds.
    pub fn number_count(&self, spc: &Spc) -> u64 {
        self.by_spc.get(spc).map_or(0, Spans::number_count)
    }

    /// True when `spc` holds every number of `list`'s numbers and ranges, and every SPC entry of
    /// `list` is `spc` itself. `O(log n)` per entry.
    pub fn covers(&self, spc: &Spc, list: &TnAuthList) -> bool {
        let held = self.by_spc.get(spc);
        list.entries().iter().all(|entry| match entry {
            TnEntry::Spc(other) => other == spc,
            _ => match (interval(entry), held) {
                (Some((digits, lo, hi)), Some(spans)) => walk(&[spans], digits, lo, hi).is_ok(),
                _ => false,
            },
        })
    }

    /// The SPCs that hold `number` (usually one; more when blocks overlap across SPCs, e.g. during
    /// a port). `O(s log n)` for `s` SPCs.
    pub fn holders(&self, number: &TelephoneNumber) -> Vec<&Spc> {
        let mut out: Vec<&Spc> = self
            .by_spc
            .iter()
            .filter(|(_, spans)| spans.reach(number.digit_count(), number.value()).is_some())
            .map(|(spc, _)| spc)
            .collect();
        out.sort();
        out
    }

    /// Everything `spc` holds, as a [`TnSet`] of numbers (no SPC in it); empty for an unknown
    /// SPC. `O(n)` to build: for reports and for merging with a parent's set, not per check.
    pub fn covered_set(&self, spc: &Spc) -> TnSet {
        match self.by_spc.get(spc) {
            Some(spans) => TnSet::from_entries(&spans.to_entries()),
            None => TnSet::new(),
        }
    }
}

fn block_reason(e: InventoryError) -> String {
    match e {
        InventoryError::Block(reason) => reason,
        other => other.to_string(),
    }
}

fn is_header(text: &str) -> bool {
    let fields: Vec<String> = text
        .split(',')
        .map(|f| f.trim().to_ascii_lowercase())
        .collect();
    fields == ["spc", "start", "count"]
}

/// Checks that `parent` encompasses `child` (RFC 9060 §4, profiles.md "Encompassing"), taking
/// the parent's SPCs to stand for the numbers `inv` says they hold.
///
/// - A child SPC entry is encompassed only by the same SPC in the parent.
/// - A child number or range is encompassed when every one of its numbers lies in the union of
///   the parent's numbers and ranges and, when `inv` is given, the inventory's numbers for each
///   SPC the parent lists. Numbers compare as equal-length digit strings.
/// - Without an inventory, a parent SPC stands for no number: a parent that lists only SPCs
///   encompasses no number, and the error says so rather than guessing.
///
/// Checks the child's entries in order and names the first one that is not encompassed (and,
/// for numbers, the first number outside the parent's scope). Cost: building the parent's own
/// intervals, then `O(log n)` per child entry.
pub fn encompasses_with_inventory(
    parent: &TnAuthList,
    child: &TnAuthList,
    inv: Option<&NumberInventory>,
) -> Result<(), EncompassError> {
    let own = Spans::from_entries(parent.entries());
    let parent_spcs: Vec<&Spc> = parent.spcs().collect();
    let mut sources: Vec<&Spans> = vec![&own];
    if let Some(inv) = inv {
        sources.extend(parent_spcs.iter().filter_map(|spc| inv.by_spc.get(*spc)));
    }
    for (i, entry) in child.entries().iter().enumerate() {
        let index = i + 1;
        match entry {
            TnEntry::Spc(spc) => {
                if !parent_spcs.contains(&spc) {
                    return Err(EncompassError::SpcNotInParent {
                        index,
                        entry: entry.to_string(),
                        spc: spc.to_string(),
                        parent: shorten(&parent.to_string()),
                    });
                }
            }
            _ => {
                let Some((digits, lo, hi)) = interval(entry) else {
                    continue;
                };
                if let Err(first) = walk(&sources, digits, lo, hi) {
                    if inv.is_none() && !parent.has_numbers() && !parent_spcs.is_empty() {
                        return Err(EncompassError::SpcOnlyNoInventory {
                            index,
                            entry: entry.to_string(),
                            spcs: join_spcs(&parent_spcs),
                        });
                    }
                    return Err(EncompassError::NumberNotCovered {
                        index,
                        entry: entry.to_string(),
                        first_uncovered: format!("{first:0digits$}"),
                        scope: scope(parent, &parent_spcs, inv),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Describes the parent's scope for an error message.
fn scope(parent: &TnAuthList, spcs: &[&Spc], inv: Option<&NumberInventory>) -> String {
    let mut parts = Vec::new();
    if parent.has_numbers() {
        let numbers: Vec<String> = parent
            .entries()
            .iter()
            .filter(|e| !matches!(e, TnEntry::Spc(_)))
            .map(ToString::to_string)
            .collect();
        parts.push(format!(
            "the parent's numbers ({})",
            shorten(&numbers.join(","))
        ));
    }
    if !spcs.is_empty() {
        match inv {
            Some(inv) => {
                let held: Vec<String> = spcs
                    .iter()
                    .map(|spc| format!("{spc}: {} numbers", inv.number_count(spc)))
                    .collect();
                parts.push(format!(
                    "the inventory's numbers for SPC {}",
                    held.join(", ")
                ));
            }
            None => parts.push(format!(
                "(SPC {} not expanded: no number inventory is configured)",
                join_spcs(spcs)
            )),
        }
    }
    if parts.is_empty() {
        "the parent's scope".into()
    } else {
        parts.join(" plus ")
    }
}

fn join_spcs(spcs: &[&Spc]) -> String {
    spcs.iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Error texts quote lists, but never more than a line of them.
fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head}...")
    }
}

impl fmt::Display for NumberInventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut spcs: Vec<&Spc> = self.by_spc.keys().collect();
        spcs.sort();
        writeln!(
            f,
            "number inventory: {} SPC(s), {} block(s)",
            spcs.len(),
            self.block_count()
        )?;
        for spc in spcs {
            let spans = self.by_spc.get(spc).map(Spans::interval_count).unwrap_or(0);
            writeln!(
                f,
                "  {spc}: {} number(s) in {spans} block(s)",
                self.number_count(spc)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> TnAuthList {
        text.parse().unwrap()
    }

    fn spc(text: &str) -> Spc {
        Spc::new(text).unwrap()
    }

    fn tn(text: &str) -> TelephoneNumber {
        TelephoneNumber::new(text).unwrap()
    }

    fn inv(csv: &str) -> NumberInventory {
        NumberInventory::from_csv(csv.as_bytes()).unwrap()
    }

    fn line_error(csv: &str) -> (usize, String) {
        match NumberInventory::from_csv(csv.as_bytes()) {
            Err(InventoryError::Line { line, message }) => (line, message),
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn csv_with_header_comments_and_blank_lines() {
        let inv = inv(
            "\u{feff}SPC, Start, Count\r\n# carrier A\n\n709J,12155550100,100\n\
                       709J,12155550200,1\n 123A , 0123 , 2 \n709J,12155550150,51\n",
        );
        assert_eq!(inv.number_count(&spc("709J")), 101);
        assert_eq!(inv.number_count(&spc("123A")), 2);
        assert_eq!(inv.block_count(), 2, "709J's blocks merge into one");
        assert!(inv.covers(&spc("709J"), &list("range:12155550100+101")));
        assert!(!inv.covers(&spc("709J"), &list("range:12155550100+102")));
        assert!(inv.covers(&spc("123A"), &list("tn:0124")));
        assert!(!inv.covers(&spc("123A"), &list("tn:124")), "length counts");
        assert!(inv.covers(&spc("709J"), &list("spc:709J,tn:12155550200")));
        assert!(!inv.covers(&spc("709J"), &list("spc:123A")));
        assert!(!inv.covers(&spc("999X"), &list("tn:12155550100")));
        assert_eq!(inv.holders(&tn("12155550150")), vec![&spc("709J")]);
        assert!(inv.holders(&tn("12155550250")).is_empty());
        assert_eq!(
            inv.covered_set(&spc("709J")),
            list("range:12155550100+101").to_set()
        );
        assert_eq!(inv.covered_set(&spc("nope")), TnSet::new());
        assert!(
            inv.to_string()
                .contains("709J: 101 number(s) in 1 block(s)")
        );
        assert!(NumberInventory::new().is_empty());
        assert!(NumberInventory::from_csv("".as_bytes()).unwrap().is_empty());
    }

    #[test]
    fn csv_errors_name_the_line() {
        assert_eq!(line_error("spc,start,count\n709J,1215555\n").0, 2);
        let (line, message) = line_error("# x\n709J,12155550100,0\n");
        assert_eq!(line, 2);
        assert!(message.contains("count is 0"), "{message}");
        let (line, message) = line_error("709J,+12155550100,5\n");
        assert_eq!(line, 1);
        assert!(message.starts_with("start:"), "{message}");
        let (_, message) = line_error("709J,9998,5\n");
        assert!(message.contains("length"), "{message}");
        let (_, message) = line_error("709J,1215,-1\n");
        assert!(message.contains("count"), "{message}");
        let (_, message) = line_error(",1215,2\n");
        assert!(message.starts_with("spc:"), "{message}");
        let (_, message) = line_error("709J,1215,2,extra\n");
        assert!(message.contains("found 4"), "{message}");
        // A header after data is just a bad line.
        assert_eq!(line_error("709J,1215,2\nspc,start,count\n").0, 2);
        assert!(matches!(
            NumberInventory::from_csv(&[0x37, 0xff, 0x0a][..]),
            Err(InventoryError::Read { line: 1, .. })
        ));
        assert!(
            line_error("709J,1,16\n").1.contains("length"),
            "a 1-digit block cannot hold 16 numbers"
        );
    }

    #[test]
    fn load_reads_a_file_and_reports_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inventory.csv");
        std::fs::write(&path, "spc,start,count\n709J,2015550100,10\n").unwrap();
        let inv = NumberInventory::load(&path).unwrap();
        assert_eq!(inv.number_count(&spc("709J")), 10);
        let missing = NumberInventory::load(&dir.path().join("nope.csv")).unwrap_err();
        assert!(matches!(missing, InventoryError::Io { .. }));
        assert!(missing.to_string().contains("nope.csv"));
    }

    #[test]
    fn encompassing_without_inventory() {
        let parent = list("spc:709J,range:2015550100+100,tn:2015550300");
        assert_eq!(
            encompasses_with_inventory(&parent, &list("tn:2015550150,spc:709J"), None),
            Ok(())
        );
        assert_eq!(
            encompasses_with_inventory(&parent, &list("range:2015550100+100,tn:2015550300"), None),
            Ok(())
        );
        // One number off.
        let err = encompasses_with_inventory(&parent, &list("tn:2015550150,tn:2015550200"), None)
            .unwrap_err();
        assert_eq!(err.index(), 2);
        let text = err.to_string();
        assert!(text.contains("child entry 2 (tn:2015550200)"), "{text}");
        assert!(text.contains("2015550200 is outside"), "{text}");
        assert!(text.contains("no number inventory"), "{text}");
        // A range overlapping the edge: first uncovered number is one past the parent's range.
        let err =
            encompasses_with_inventory(&parent, &list("range:2015550190+20"), None).unwrap_err();
        assert!(
            matches!(&err, EncompassError::NumberNotCovered { first_uncovered, .. } if first_uncovered == "2015550200"),
            "{err}"
        );
        // SPC mismatch.
        let err = encompasses_with_inventory(&parent, &list("spc:123A"), None).unwrap_err();
        assert!(
            matches!(err, EncompassError::SpcNotInParent { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("no SPC 123A"));
        // An SPC-only parent encompasses the same SPC, and no number.
        let spc_only = list("spc:709J");
        assert_eq!(
            encompasses_with_inventory(&spc_only, &list("spc:709J"), None),
            Ok(())
        );
        let err = encompasses_with_inventory(&spc_only, &list("tn:2015550150"), None).unwrap_err();
        assert!(matches!(err, EncompassError::SpcOnlyNoInventory { .. }));
        assert!(
            err.to_string()
                .contains("parent lists only SPC 709J and no number inventory is configured"),
            "{err}"
        );
        // A child number of a different length is a different number.
        assert!(encompasses_with_inventory(&parent, &list("tn:201555015"), None).is_err());
    }

    #[test]
    fn encompassing_with_inventory() {
        let inv = inv("709J,2015550000,1000\n123A,3035550000,100\n");
        let spc_only = list("spc:709J");
        assert_eq!(
            encompasses_with_inventory(&spc_only, &list("range:2015550000+1000"), Some(&inv)),
            Ok(())
        );
        let err = encompasses_with_inventory(&spc_only, &list("range:2015550999+2"), Some(&inv))
            .unwrap_err();
        assert!(
            matches!(&err, EncompassError::NumberNotCovered { first_uncovered, .. } if first_uncovered == "2015551000"),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("inventory's numbers for SPC 709J: 1000 numbers")
        );
        // Numbers held by another SPC do not count.
        assert!(encompasses_with_inventory(&spc_only, &list("tn:3035550001"), Some(&inv)).is_err());
        // An SPC the inventory does not know covers nothing.
        assert!(
            encompasses_with_inventory(&list("spc:555Z"), &list("tn:2015550001"), Some(&inv))
                .is_err()
        );
        // The union of the parent's own numbers and two SPCs' inventory, crossed by one range.
        let mixed = list("spc:709J,spc:123A,range:2015551000+10");
        assert_eq!(
            encompasses_with_inventory(
                &mixed,
                &list("range:2015550990+20,tn:3035550099"),
                Some(&inv)
            ),
            Ok(())
        );
        assert!(
            encompasses_with_inventory(&mixed, &list("range:2015550990+21"), Some(&inv)).is_err()
        );
    }

    #[test]
    fn walk_crosses_alternating_sources() {
        // Source A holds even blocks, source B odd ones; a child spanning all needs both.
        let mut a = Spans::default();
        let mut b = Spans::default();
        for k in 0..100u64 {
            let target = if k % 2 == 0 { &mut a } else { &mut b };
            target.push(4, 1000 + k * 10, 1000 + k * 10 + 9);
        }
        a.normalize();
        b.normalize();
        assert_eq!(walk(&[&a, &b], 4, 1000, 1999), Ok(()));
        assert_eq!(walk(&[&a], 4, 1000, 1999), Err(1010));
        assert_eq!(walk(&[&a, &b], 4, 1000, 2000), Err(2000));
        assert_eq!(walk(&[&a, &b], 5, 1000, 1000), Err(1000));
    }

    /// A 1M-block inventory against a 100k-entry child: built in memory, checked for correctness
    /// (timing belongs to the criterion benchmark, not to a test assertion).
    #[test]
    fn million_block_inventory() {
        let holder = spc("709J");
        let other = spc("123A");
        let mut builder = NumberInventory::builder();
        // 1M blocks of 5 numbers with gaps of 5: 10-digit numbers 2000000000 + 10k .. +4.
        for k in 0..1_000_000u64 {
            let start = TelephoneNumber::new(&format!("{}", 2_000_000_000 + k * 10)).unwrap();
            let owner = if k % 1000 == 999 { &other } else { &holder };
            builder.add(owner.clone(), start, 5).unwrap();
        }
        let inv = builder.build();
        assert_eq!(inv.block_count(), 1_000_000);
        assert_eq!(inv.number_count(&holder), 999_000 * 5);

        // 100k child entries inside 709J's blocks (skipping the 123A ones).
        let entries: Vec<TnEntry> = (0..100_000u64)
            .map(|j| {
                let k = j * 10 + (j % 7);
                let k = if k % 1000 == 999 { k - 1 } else { k };
                let start = TelephoneNumber::new(&format!("{}", 2_000_000_000 + k * 10)).unwrap();
                if j % 2 == 0 {
                    TnEntry::One(start)
                } else {
                    TnEntry::Range(TnRange::new(start, 5).unwrap())
                }
            })
            .collect();
        let child = TnAuthList::new(entries.clone()).unwrap();
        let parent = TnAuthList::from_spc(holder.clone());
        let started = std::time::Instant::now();
        assert_eq!(
            encompasses_with_inventory(&parent, &child, Some(&inv)),
            Ok(())
        );
        // Printed for `cargo test --release -- --nocapture`; never asserted (machines vary).
        eprintln!(
            "1M-block inventory, 100k-entry child: {:?}",
            started.elapsed()
        );
        assert!(inv.covers(&holder, &child));

        // One entry that steps into a gap fails, and is named.
        let mut bad = entries;
        let gap = TelephoneNumber::new("2000000005").unwrap();
        bad.push(TnEntry::One(gap));
        let bad = TnAuthList::new(bad).unwrap();
        let err = encompasses_with_inventory(&parent, &bad, Some(&inv)).unwrap_err();
        assert_eq!(err.index(), 100_001);
        assert!(!inv.covers(&holder, &bad));
    }
}
