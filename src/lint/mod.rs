//! (lint: being written; see docs/architecture.md)
