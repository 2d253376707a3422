//! (client: being written; see docs/architecture.md)
