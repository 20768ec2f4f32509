//! The numbers the rest of the core is built on: server ids, terms and log indexes.
//!
//! A leaf: it imports nothing, so every other module of the core (`membership` as much as
//! `types`) can stand on it without importing each other in a circle.

/// A server's id. Ids start at 1; 0 is never a node (it means "nobody" on the wire).
pub type NodeId = u64;
/// A term number (§5.1). Terms start at 0 on a fresh server and only grow.
pub type Term = u64;
/// A log index. The first entry of a log has index 1; index 0 is "before the log".
pub type Index = u64;
