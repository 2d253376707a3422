//! (pa: being written; see docs/architecture.md)
