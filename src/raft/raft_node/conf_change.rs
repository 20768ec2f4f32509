//! Membership change as a server carries it out (thesis §4.1; the rules and their reasons are in
//! [`crate::raft::membership`]): the leader proposing a single-server change, any server
//! recording a configuration entry that reaches its log, and the leader's progress map following
//! the configuration.

use crate::raft::membership::{ConfChange, ConfChangeError, Configuration, Membership};
use crate::raft::progress::Progress;
use crate::raft::trace::TraceEvent;
use crate::raft::types::{Entry, Index, NodeId, Role};

use super::RaftNode;

impl RaftNode {
    /// Proposes a single-server membership change (thesis §4.1; see [`super::membership`]).
    /// The leader appends a configuration entry and uses the new configuration at once. Returns
    /// the entry's index; the change is done when that entry commits.
    ///
    /// Refused on a follower, during a leadership transfer, before the leader has committed an
    /// entry of its own term, while another configuration entry is uncommitted, for a malformed
    /// change, and for promoting a learner whose matchIndex is more than one batch
    /// (`max_entries_per_append`) behind the leader's last index.
    pub fn propose_config_change(&mut self, change: ConfChange) -> Result<Index, ConfChangeError> {
        if self.role != Role::Leader {
            return Err(ConfChangeError::NotLeader {
                leader_hint: self.leader_id,
            });
        }
        if let Some(t) = self.transfer {
            return Err(ConfChangeError::TransferInProgress { to: t.to });
        }
        let commit = self.log.committed();
        if self.log.term(commit) != Some(self.term) {
            return Err(ConfChangeError::NoCommitInTerm {
                term: self.term,
                commit,
            });
        }
        let pending = self.confs.current_index();
        if pending > commit {
            return Err(ConfChangeError::ChangePending { index: pending });
        }
        let next = self.confs.current().apply(change)?;
        let last_index = self.log.last_index();
        if let ConfChange::PromoteLearner(id) = change {
            let matched = self.progress.get(&id).map_or(0, |p| p.matched);
            let slack = self.config.max_entries_per_append as Index;
            if matched.saturating_add(slack) < last_index {
                return Err(ConfChangeError::LearnerBehind {
                    id,
                    matched,
                    last_index,
                });
            }
        }
        let index = last_index + 1;
        let entry = Entry::config(index, self.term, &next);
        self.confs.push(index, next.clone());
        self.sync_progress();
        self.log.append(entry);
        self.events
            .push(TraceEvent::ConfChangeProposed { change, index });
        self.events.push(TraceEvent::ConfigurationChanged {
            conf: next,
            index,
            reverted: false,
        });
        self.broadcast_append();
        // A single-voter configuration commits with the leader's own durable copy.
        self.maybe_commit();
        Ok(index)
    }

    /// The configuration in force (the latest in the log, committed or not), the index of the
    /// entry that set it, and whether that entry is still uncommitted.
    pub fn membership(&self) -> Membership {
        let index = self.confs.current_index();
        Membership {
            conf: self.confs.current().clone(),
            index,
            pending: index > self.log.committed(),
        }
    }

    /// The configuration in force: its voters and learners.
    pub fn configuration(&self) -> &Configuration {
        self.confs.current()
    }

    /// A configuration entry reached the log (from the leader): it is in force at once.
    pub(super) fn record_config_entry(&mut self, from: NodeId, e: &Entry) {
        if e.index <= self.confs.current_index()
            || e.index <= self.log.snapshot_index()
            || self.log.term(e.index) != Some(e.term)
        {
            return;
        }
        match Configuration::decode(&e.data) {
            Ok(conf) => {
                self.confs.push(e.index, conf.clone());
                self.events.push(TraceEvent::ConfigurationChanged {
                    conf,
                    index: e.index,
                    reverted: false,
                });
            }
            Err(err) => self.events.push(TraceEvent::ProtocolViolation {
                from,
                what: format!("configuration entry {}: {err}", e.index),
            }),
        }
    }

    /// The leader's progress map follows the configuration: new members get a fresh entry,
    /// removed ones are dropped.
    fn sync_progress(&mut self) {
        let next = self.log.last_index() + 1;
        let peers = self.peers();
        self.progress.retain(|id, _| peers.contains(id));
        for p in peers {
            self.progress
                .entry(p)
                .or_insert_with(|| Progress::new(next));
        }
        self.recent_active
            .retain(|id| self.progress.contains_key(id));
    }
}
