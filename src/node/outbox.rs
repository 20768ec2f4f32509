//! Where a node's outgoing peer messages go.
//!
//! In a cluster the outbox is the fault-injecting network itself: the driver hands each message
//! to it in the same turn that produced it, and the network decides the message's fate and puts
//! it on its link at once (no extra task to wake on the way). Tests and tools that want the
//! messages instead use [`Outbox::channel`].

use std::fmt;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::raft::Message;

/// The sending side of a node's messages: cheap to clone, never blocks.
#[derive(Clone)]
pub struct Outbox(Arc<dyn Fn(Message) + Send + Sync>);

impl Outbox {
    /// An outbox that calls `send` with each message, on the driver's task. `send` must not
    /// block: the driver waits for it.
    pub fn new(send: impl Fn(Message) + Send + Sync + 'static) -> Self {
        Outbox(Arc::new(send))
    }

    /// An outbox whose messages come out of the returned receiver, in send order.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<Message>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Outbox::from(tx), rx)
    }

    /// Sends `msg`. Messages sent after their receiver went away are lost, as on a network.
    pub fn send(&self, msg: Message) {
        (self.0)(msg)
    }
}

impl From<mpsc::UnboundedSender<Message>> for Outbox {
    fn from(tx: mpsc::UnboundedSender<Message>) -> Self {
        Outbox::new(move |msg| {
            let _ = tx.send(msg);
        })
    }
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Outbox")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::{Message, Rpc, TimeoutNowArgs};

    #[test]
    fn a_channel_outbox_keeps_send_order() {
        let (outbox, mut rx) = Outbox::channel();
        let clone = outbox.clone();
        for term in 1..=3 {
            let msg = Message {
                from: 1,
                to: 2,
                rpc: Rpc::TimeoutNow(TimeoutNowArgs { term, leader_id: 1 }),
            };
            if term == 2 {
                clone.send(msg);
            } else {
                outbox.send(msg);
            }
        }
        let terms: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|m| m.term())
            .collect();
        assert_eq!(terms, vec![1, 2, 3]);
    }
}
