//! (nonce: being written)
