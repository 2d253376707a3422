//! The `stica` binary (WIP: wired once the role modules land).
fn main() {}
