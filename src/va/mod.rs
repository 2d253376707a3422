//! (va: being written; see docs/architecture.md)
