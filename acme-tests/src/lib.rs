//! Helpers shared by the end-to-end tests: start the real binary, drive it.
