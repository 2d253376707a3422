//! End-to-end test helpers (WIP).
