//! The address book: where each member's Raft and Kv services listen.
//!
//! One book is shared by the cluster supervisor, the network (which delivers peer messages to
//! these addresses) and every node's Kv service (which forwards a client's request to the leader
//! and hints at the leader's address). It grows when a node is added at runtime and shrinks when
//! one is removed, and every holder sees the change at once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use crate::raft::NodeId;

/// A shared, growable map from node id to address.
#[derive(Clone, Debug, Default)]
pub struct AddressBook {
    inner: Arc<RwLock<BTreeMap<NodeId, SocketAddr>>>,
}

impl AddressBook {
    /// A book holding `addresses`.
    pub fn new(addresses: BTreeMap<NodeId, SocketAddr>) -> Self {
        AddressBook {
            inner: Arc::new(RwLock::new(addresses)),
        }
    }

    /// The address of node `id`, if it is in the book.
    pub fn get(&self, id: NodeId) -> Option<SocketAddr> {
        self.read().get(&id).copied()
    }

    /// Adds node `id` at `addr`, or moves it there.
    pub fn insert(&self, id: NodeId, addr: SocketAddr) {
        self.write().insert(id, addr);
    }

    /// Removes node `id`; returns its address.
    pub fn remove(&self, id: NodeId) -> Option<SocketAddr> {
        self.write().remove(&id)
    }

    /// Every entry, in id order.
    pub fn all(&self) -> BTreeMap<NodeId, SocketAddr> {
        self.read().clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<NodeId, SocketAddr>> {
        // Writers only insert or remove one entry: a poisoned map is still consistent.
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<NodeId, SocketAddr>> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clone_sees_a_change() {
        let a: SocketAddr = "127.0.0.1:7001".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:7002".parse().unwrap();
        let book = AddressBook::new(BTreeMap::from([(1, a)]));
        let other = book.clone();
        other.insert(2, b);
        assert_eq!(book.get(2), Some(b));
        assert_eq!(book.remove(1), Some(a));
        assert_eq!(other.get(1), None);
        assert_eq!(other.all(), BTreeMap::from([(2, b)]));
    }
}
