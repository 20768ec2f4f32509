//! `Ready`: everything a core asks its runtime to do, in the order it must be done.
//!
//! ```text
//!   core.ready() ──► 1. store the snapshot installed from the leader, if any
//!                    2. persist hard_state and entries (one write, one fsync)
//!                    3. send messages          (only now: they promise what was just persisted)
//!                    4. restore the state machine from that snapshot, then
//!                       apply committed_entries (in order)
//!                    5. serve read_states once applied ≥ their index
//!                    6. show events
//!   core.advance(ready) ◄── acknowledges all of the above
//! ```

use super::message::Message;
use super::read_only::ReadState;
use super::trace::TraceEvent;
use super::types::{Entry, HardState, Snapshot};

/// The work a core hands to its runtime. Do it in field order, then call
/// [`RaftNode::advance`](super::RaftNode::advance) with this value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// A snapshot received from the leader: store it first (with
    /// [`Storage::save_snapshot`](super::Storage::save_snapshot)), and restore the state machine
    /// from it before applying `committed_entries`, which follow it.
    pub snapshot: Option<Snapshot>,
    /// Persistent state that changed and must be written before any message is sent.
    pub hard_state: Option<HardState>,
    /// Entries to make durable. If the first one's index is at or below the stored last index,
    /// storage must first remove every stored entry from that index on (a conflicting suffix).
    pub entries: Vec<Entry>,
    /// Messages to send once the above is durable. A vote or an acknowledgement of entries is a
    /// promise about stable storage (Figure 2: "updated on stable storage before responding").
    pub messages: Vec<Message>,
    /// Entries committed and durable, in index order, to apply to the state machine.
    pub committed_entries: Vec<Entry>,
    /// Reads the leader confirmed (ReadIndex, thesis §6.4), in the order they were asked: serve
    /// each from the state machine once it has applied up to `index`. Reads a leader could not
    /// confirm before stepping down never appear here (a `ReadsDropped` event names them).
    pub read_states: Vec<ReadState>,
    /// What happened and why, since the last Ready.
    pub events: Vec<TraceEvent>,
}

impl Ready {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.snapshot.is_none()
            && self.hard_state.is_none()
            && self.entries.is_empty()
            && self.messages.is_empty()
            && self.committed_entries.is_empty()
            && self.read_states.is_empty()
            && self.events.is_empty()
    }
}

/// What a core remembers about the Ready it handed out, to acknowledge it in `advance`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReadyAck {
    /// (index, term) of the last entry given to persist.
    pub last_entry: Option<(u64, u64)>,
    /// Index of the last entry given to apply.
    pub applied: Option<u64>,
}
