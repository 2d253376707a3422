//! The encompassing check (issue 3, item 5): a 1M-block number inventory against a 100k-entry
//! child TNAuthList, as `delegate` issuance and `stica verify chain` run it for a parent that
//! lists only an SPC; and the same child against a parent listing 100k ranges itself.
//!
//! `cargo bench -p acme-tests --bench encompassing`; figures in docs/performance.md.

use criterion::{Criterion, criterion_group, criterion_main};
use stica::policy::inventory::{NumberInventory, encompasses_with_inventory};
use stica::tnauth::{Spc, TelephoneNumber, TnAuthList, TnEntry, TnRange};

fn tn(n: u64) -> TelephoneNumber {
    TelephoneNumber::new(&n.to_string()).expect("number")
}

/// 1M blocks of 5 numbers with gaps of 5 (10-digit numbers from 2000000000); every 1000th block
/// belongs to another SPC.
fn inventory(holder: &Spc) -> NumberInventory {
    let other: Spc = "123A".parse().expect("spc");
    let mut builder = NumberInventory::builder();
    for k in 0..1_000_000u64 {
        let owner = if k % 1000 == 999 { &other } else { holder };
        builder
            .add(owner.clone(), tn(2_000_000_000 + k * 10), 5)
            .expect("block");
    }
    builder.build()
}

/// 100k entries (numbers and 5-number ranges) inside the holder's blocks.
fn child() -> TnAuthList {
    let entries: Vec<TnEntry> = (0..100_000u64)
        .map(|j| {
            let k = j * 10 + (j % 7);
            let k = if k % 1000 == 999 { k - 1 } else { k };
            let start = tn(2_000_000_000 + k * 10);
            if j % 2 == 0 {
                TnEntry::One(start)
            } else {
                TnEntry::Range(TnRange::new(start, 5).expect("range"))
            }
        })
        .collect();
    TnAuthList::new(entries).expect("child")
}

fn encompassing(c: &mut Criterion) {
    let holder: Spc = "709J".parse().expect("spc");
    let inv = inventory(&holder);
    let child = child();
    let spc_parent = TnAuthList::from_spc(holder.clone());
    assert_eq!(
        encompasses_with_inventory(&spc_parent, &child, Some(&inv)),
        Ok(())
    );
    c.bench_function(
        "encompass: SPC parent, 1M-block inventory, 100k-entry child",
        |b| b.iter(|| encompasses_with_inventory(&spc_parent, &child, Some(&inv))),
    );
    // A parent that lists 100k ranges itself (an SCA's scope), the same child.
    let ranges: Vec<TnEntry> = (0..100_000u64)
        .map(|k| TnEntry::Range(TnRange::new(tn(2_000_000_000 + k * 100), 100).expect("range")))
        .collect();
    let range_parent = TnAuthList::new(ranges).expect("parent");
    let small_child = TnAuthList::new(vec![TnEntry::Range(
        TnRange::new(tn(2_000_000_000 + 77 * 100 + 10), 50).expect("range"),
    )])
    .expect("child");
    c.bench_function("encompass: 100k-range parent, 1-range child", |b| {
        b.iter(|| encompasses_with_inventory(&range_parent, &small_child, None))
    });
    c.bench_function("inventory build: 1M blocks", |b| {
        b.iter(|| inventory(&holder).block_count())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(5)).warm_up_time(std::time::Duration::from_secs(1));
    targets = encompassing
}
criterion_main!(benches);
