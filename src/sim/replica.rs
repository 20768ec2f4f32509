//! One simulated server: its core (absent while crashed), its storage, the prefix-hash chain of
//! its stored log, and its state machine — the commands applied, in order, and their serialized
//! form, which is what a snapshot of it holds.

use bytes::Bytes;

use crate::raft::{Entry, EntryKind, Index, MemStorage, RaftNode, Snapshot, Term};

use super::Chain;

#[derive(Clone, Debug)]
pub(super) struct SimNode {
    pub(super) core: Option<RaftNode>,
    pub(super) storage: MemStorage,
    pub(super) chain: Chain,
    /// The state machine: the commands applied, in index order (index = position + 1).
    pub(super) applied: Vec<(Term, Bytes)>,
    /// The same, serialized (what a snapshot of it holds): appended to as entries apply, so that a
    /// snapshot is one copy.
    pub(super) sm_bytes: Vec<u8>,
    /// Bumped at each restart so that ticks of an old incarnation are ignored.
    pub(super) incarnation: u64,
    pub(super) crash_after_persist: bool,
    /// Simulated microseconds between two of this server's ticks (its clock rate).
    pub(super) tick_us: u64,
}

/// Appends one applied entry to the serialized state: term, kind, data length, data.
pub(super) fn encode_entry(out: &mut Vec<u8>, e: &Entry) {
    out.extend_from_slice(&e.term.to_le_bytes());
    out.push(match e.kind {
        EntryKind::Normal => 1,
        EntryKind::Noop => 2,
        EntryKind::Config => 3,
    });
    out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
    out.extend_from_slice(&e.data);
}

/// The serialized state of a state machine that applied `entries`, in order: what a simulated
/// snapshot holds, and what the invariant checker compares with the committed log.
pub fn encode_applied(entries: &[Entry]) -> Bytes {
    let mut out = Vec::new();
    for e in entries {
        encode_entry(&mut out, e);
    }
    Bytes::from(out)
}

/// The entries a serialized state holds (indexes from 1): the inverse of [`encode_applied`].
pub fn decode_state(mut bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 13 {
            return Err(format!(
                "truncated entry header after {} entries",
                out.len()
            ));
        }
        let (head, rest) = bytes.split_at(13);
        let term = u64::from_le_bytes(head[..8].try_into().map_err(|_| "term")?);
        let kind = match head[8] {
            1 => EntryKind::Normal,
            2 => EntryKind::Noop,
            3 => EntryKind::Config,
            k => return Err(format!("unknown entry kind {k}")),
        };
        let len = u32::from_le_bytes(head[9..13].try_into().map_err(|_| "length")?) as usize;
        if rest.len() < len {
            return Err(format!("truncated entry data after {} entries", out.len()));
        }
        let (data, rest) = rest.split_at(len);
        out.push(Entry {
            index: out.len() as Index + 1,
            term,
            kind,
            data: Bytes::copy_from_slice(data),
        });
        bytes = rest;
    }
    Ok(out)
}

/// Replaces a server's state machine with a snapshot's.
pub(super) fn restore_state(node: &mut SimNode, snapshot: &Snapshot) -> Result<(), String> {
    let entries = decode_state(&snapshot.data)?;
    node.applied = entries.iter().map(|e| (e.term, e.data.clone())).collect();
    node.sm_bytes = snapshot.data.to_vec();
    Ok(())
}
