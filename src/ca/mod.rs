//! (ca: being written; see docs/architecture.md)
