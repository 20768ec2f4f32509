//! Snapshots (§7): compacting the log under the state machine's snapshot, and InstallSnapshot
//! in chunks (Figure 13) — the follower putting the chunks together and installing them, the
//! leader sending them one at a time to a follower that needs compacted entries.

use bytes::Bytes;

use crate::raft::membership::Configuration;
use crate::raft::message::{InstallSnapshotArgs, InstallSnapshotReply, Rpc};
use crate::raft::progress::ProgressState;
use crate::raft::trace::TraceEvent;
use crate::raft::types::{Index, NodeId, Role, Snapshot, SnapshotMeta};

use super::{IncomingSnapshot, RaftNode};

/// A snapshot the core would not take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompactError {
    /// The log is already compacted up to `snapshot_index`, at or beyond the requested index.
    AlreadyCompacted {
        /// The current snapshot's index.
        snapshot_index: Index,
    },
    /// The index is not applied yet (a snapshot captures applied state only).
    NotApplied {
        /// The requested index.
        index: Index,
        /// The highest applied index.
        applied: Index,
    },
}

impl std::fmt::Display for CompactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompactError::AlreadyCompacted { snapshot_index } => {
                write!(f, "the log is already compacted up to {snapshot_index}")
            }
            CompactError::NotApplied { index, applied } => {
                write!(f, "index {index} is not applied yet (applied {applied})")
            }
        }
    }
}

impl std::error::Error for CompactError {}

impl RaftNode {
    // ------------------------------------------------------------------------------------------
    // Compaction (§7)
    // ------------------------------------------------------------------------------------------

    /// The snapshot [`RaftNode::compact`] would record for `index` and `data`, without compacting:
    /// its term and the configuration in force at `index` (both settled once `index` is applied).
    /// A runtime that writes a large snapshot out on another thread asks for it first, and
    /// compacts when the write is done.
    pub fn snapshot_at(
        &self,
        index: Index,
        data: impl Into<Bytes>,
    ) -> Result<Snapshot, CompactError> {
        if index <= self.log.snapshot_index() {
            return Err(CompactError::AlreadyCompacted {
                snapshot_index: self.log.snapshot_index(),
            });
        }
        let applied = self.log.applied();
        let term = match self.log.term(index) {
            Some(term) if index <= applied => term,
            _ => return Err(CompactError::NotApplied { index, applied }),
        };
        Ok(Snapshot {
            meta: SnapshotMeta { index, term },
            data: data.into(),
            conf: self.normalize_conf(self.confs.at(index).clone()),
        })
    }

    /// Compacts the log (§7): the state machine's `data`, captured after applying every entry up
    /// to `index`, replaces the entries up to `index`. The runtime stores the returned snapshot
    /// (it is also what this server sends a follower that needs the compacted entries).
    pub fn compact(
        &mut self,
        index: Index,
        data: impl Into<Bytes>,
    ) -> Result<Snapshot, CompactError> {
        let snapshot = self.snapshot_at(index, data)?;
        self.log.compact(index, snapshot.meta.term);
        self.confs.compact(index);
        self.events.push(TraceEvent::SnapshotTaken {
            index,
            term: snapshot.meta.term,
            bytes: snapshot.data.len() as u64,
        });
        self.snapshot = Some(snapshot.clone());
        Ok(snapshot)
    }

    // ------------------------------------------------------------------------------------------
    // InstallSnapshot, receiver side (§7, Figure 13)
    // ------------------------------------------------------------------------------------------

    pub(super) fn handle_install_snapshot(&mut self, from: NodeId, args: InstallSnapshotArgs) {
        // Here args.term == self.term: the sender is this term's leader, as for AppendEntries.
        if !self.accept_leader(from, "InstallSnapshot") {
            return;
        }
        let meta = SnapshotMeta {
            index: args.last_included_index,
            term: args.last_included_term,
        };
        let chunk_end = args.offset.saturating_add(args.data.len() as u64);
        if meta.index <= self.log.committed() {
            // Everything it covers is committed here already, hence the same as the leader's.
            if self
                .incoming
                .as_ref()
                .is_some_and(|i| i.meta.index <= meta.index)
            {
                self.incoming = None;
            }
            self.send_snapshot_reply(from, meta.index, chunk_end, true);
            return;
        }
        // "Create new snapshot file if first chunk (offset is 0)"; otherwise the chunk must go
        // on exactly where the bytes received so far end.
        let same = |i: &IncomingSnapshot| i.meta == meta && i.term == args.term;
        if args.offset == 0 && !self.incoming.as_ref().is_some_and(same) {
            self.incoming = Some(IncomingSnapshot {
                term: args.term,
                meta,
                conf: args.conf.clone(),
                data: Vec::new(),
            });
        }
        let Some(incoming) = self.incoming.as_mut().filter(|i| same(i)) else {
            // A chunk of a snapshot we are not receiving: ask for it from the start.
            self.send_snapshot_reply(from, meta.index, 0, false);
            return;
        };
        let have = incoming.data.len() as u64;
        if args.offset != have {
            // A duplicate, or a chunk after a lost one: say where we are.
            self.send_snapshot_reply(from, meta.index, have, false);
            return;
        }
        incoming.data.extend_from_slice(&args.data);
        if !args.done {
            let have = incoming.data.len() as u64;
            self.send_snapshot_reply(from, meta.index, have, false);
            return;
        }
        // The last chunk: install it. "Save snapshot file, discard any existing or partial
        // snapshot with a smaller index"; keep the log after it if it matches, else discard the
        // entire log; "reset state machine using snapshot contents" (the runtime does, from the
        // Ready).
        let Some(incoming) = self.incoming.take() else {
            return;
        };
        let conf = incoming
            .conf
            .or_else(|| args.conf.clone())
            .unwrap_or_else(|| self.initial_conf());
        let snapshot = Snapshot {
            meta,
            data: Bytes::from(incoming.data),
            conf: self.normalize_conf(conf.clone()),
        };
        let kept_suffix = self.log.install_snapshot(meta);
        let before = self.confs.current().clone();
        if kept_suffix {
            // The kept suffix's configuration entries stay in force; the snapshot's is the base.
            self.confs.entries.retain(|(i, _)| *i > meta.index);
        } else {
            self.confs.entries.clear();
        }
        self.confs.base = conf;
        if *self.confs.current() != before {
            self.events.push(TraceEvent::ConfigurationChanged {
                conf: self.confs.current().clone(),
                index: self.confs.current_index(),
                reverted: false,
            });
        }
        self.events.push(TraceEvent::SnapshotInstalled {
            index: meta.index,
            term: meta.term,
            leader: from,
            bytes: snapshot.data.len() as u64,
            kept_suffix,
        });
        self.snapshot = Some(snapshot.clone());
        self.to_install = Some(snapshot);
        let total = chunk_end;
        self.send_snapshot_reply(from, meta.index, total, true);
    }

    fn send_snapshot_reply(&mut self, to: NodeId, index: Index, next_offset: u64, done: bool) {
        self.send(
            to,
            Rpc::InstallSnapshotReply(InstallSnapshotReply {
                term: self.term,
                last_included_index: index,
                next_offset,
                done,
            }),
        );
    }

    // ------------------------------------------------------------------------------------------
    // InstallSnapshot, leader side
    // ------------------------------------------------------------------------------------------

    pub(super) fn handle_install_snapshot_reply(
        &mut self,
        from: NodeId,
        reply: InstallSnapshotReply,
    ) {
        if self.role != Role::Leader {
            return;
        }
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        let was_snapshot = pr.state == ProgressState::Snapshot;
        if pr.on_snapshot_reply(reply.last_included_index, reply.next_offset, reply.done) {
            self.maybe_commit();
        }
        if reply.done && was_snapshot {
            self.events.push(TraceEvent::SnapshotDelivered {
                to: from,
                index: reply.last_included_index,
            });
        }
        // Next chunk, or the entries after the snapshot.
        while self.send_append(from, false) {}
        self.maybe_send_timeout_now(from);
    }

    /// Sends `to` the next chunk of the snapshot, if none is outstanding. Returns false (one chunk
    /// at a time: the answer brings the next).
    pub(super) fn send_snapshot_chunk(&mut self, to: NodeId) -> bool {
        let chunk = self.config.snapshot_chunk_bytes.max(1) as u64;
        let initial_conf = self.initial_conf();
        let Some(snapshot) = self.snapshot.as_ref() else {
            return false;
        };
        let Some(pr) = self.progress.get_mut(&to) else {
            return false;
        };
        if pr.pending_snapshot != snapshot.meta.index {
            // A newer snapshot was taken meanwhile: send that one instead, from the start.
            pr.become_snapshot(snapshot.meta.index);
        }
        if !pr.can_send(1) {
            return false;
        }
        let len = snapshot.data.len() as u64;
        let offset = pr.snapshot_offset.min(len);
        let end = (offset + chunk).min(len);
        let args = InstallSnapshotArgs {
            term: self.term,
            leader_id: self.config.id,
            last_included_index: snapshot.meta.index,
            last_included_term: snapshot.meta.term,
            offset,
            data: snapshot.data.slice(offset as usize..end as usize),
            done: end == len,
            // Always explicit on the wire: the receiver's initial configuration may differ.
            conf: Some(snapshot.conf.clone().unwrap_or(initial_conf)),
        };
        pr.sent(None);
        self.send(to, Rpc::InstallSnapshot(args));
        false
    }

    // ------------------------------------------------------------------------------------------
    // The configuration a snapshot carries
    // ------------------------------------------------------------------------------------------

    /// The configuration of [`Config::voters`]: in force until a configuration entry or a
    /// snapshot says otherwise.
    fn initial_conf(&self) -> Configuration {
        Configuration::with_voters(self.config.voters.iter().copied())
    }

    /// A snapshot's configuration as stored: `None` when it is the initial one (so snapshots of
    /// a cluster that never changed look as they always did to storage).
    fn normalize_conf(&self, conf: Configuration) -> Option<Configuration> {
        (conf != self.initial_conf()).then_some(conf)
    }
}
