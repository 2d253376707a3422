//! (sa: being written; see docs/architecture.md)
