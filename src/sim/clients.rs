//! What clients and operators ask of the simulated cluster: commands proposed (one at a time or
//! the classic lab's `one()`), linearizable reads (ReadIndex), leadership transfer and membership
//! changes — and the waits for their outcome.

use bytes::Bytes;

use crate::raft::{ConfChange, ConfChangeError, Index, NodeId, Role, Term, TransferError};

use super::{Record, Simulator, Violation};

/// A read the simulator asked for and a leader confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServedRead {
    /// The server that confirmed it.
    pub node: NodeId,
    /// The read's context.
    pub ctx: u64,
    /// Its read index.
    pub index: Index,
    /// When it was asked (simulated microseconds).
    pub issued_at: u64,
    /// When the leader confirmed it.
    pub served_at: u64,
}

impl Simulator {
    /// Starts a fresh, empty server `id` that is in no configuration: it waits for a leader to
    /// add it ([`ConfChange::AddLearner`]) and contact it. Connected to the healed network. Does
    /// nothing if `id` exists.
    pub fn add_node(&mut self, id: NodeId) {
        if id == 0 || self.nodes.contains_key(&id) {
            return;
        }
        self.timeline
            .push(self.now, Record::Fault(format!("add node {id}")));
        self.joiners.insert(id);
        self.net.add_node(id);
        self.insert_node(id);
        self.boot(id);
    }

    /// Proposes a membership change at server `id`. `Ok(None)` if it is down.
    pub fn propose_config_change(
        &mut self,
        id: NodeId,
        change: ConfChange,
    ) -> Result<Option<Result<Index, ConfChangeError>>, Violation> {
        let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) else {
            return Ok(None);
        };
        let result = core.propose_config_change(change);
        self.timeline.push(
            self.now,
            Record::Note(format!("node {id}: {change}: {result:?}")),
        );
        self.process(id)?;
        Ok(Some(result))
    }

    /// Asks the leadership transfer of `to` at server `id` (thesis §3.10). `Ok(Err(..))` when the
    /// core refuses it (or the server is down: `NotLeader`).
    pub fn transfer_leader(
        &mut self,
        id: NodeId,
        to: NodeId,
    ) -> Result<Result<(), TransferError>, Violation> {
        let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) else {
            return Ok(Err(TransferError::NotLeader { leader_hint: None }));
        };
        let result = core.transfer_leader(to);
        self.timeline.push(
            self.now,
            Record::Note(format!("transfer leadership {id} -> {to}: {result:?}")),
        );
        self.process(id)?;
        Ok(result)
    }

    /// Asks server `id` for a linearizable read (ReadIndex, thesis §6.4). Returns the read's
    /// context if the server took it, or why not. When a leader confirms it (see
    /// [`Simulator::reads_served`]) the simulator checks that its index is at least every index
    /// committed anywhere before now.
    pub fn read_index(&mut self, id: NodeId) -> Result<Result<u64, String>, Violation> {
        let ctx = self.next_ctx;
        let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) else {
            return Ok(Err(format!("node {id} is down")));
        };
        // Known before the core sees the read: a lease read is confirmed within this call.
        let floor = self.checker.max_committed();
        self.next_ctx += 1;
        self.reads_pending.insert(ctx, (id, self.now));
        self.checker.on_read_issued(ctx, floor);
        if let Err(e) = core.read_index(ctx) {
            self.reads_pending.remove(&ctx);
            self.checker.on_read_refused(ctx);
            return Ok(Err(e.to_string()));
        }
        self.timeline.push(
            self.now,
            Record::Note(format!(
                "read {ctx} asked of node {id} (committed anywhere: {floor})"
            )),
        );
        self.process(id)?;
        Ok(Ok(ctx))
    }

    /// Proposes a command at server `id`. Returns (index, term) if it is a live leader.
    pub fn propose(
        &mut self,
        id: NodeId,
        data: impl Into<Bytes>,
    ) -> Result<Option<(Index, Term)>, Violation> {
        let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) else {
            return Ok(None);
        };
        let Ok((index, term)) = core.propose(data) else {
            return Ok(None);
        };
        self.timeline.push(
            self.now,
            Record::Proposed {
                node: id,
                index,
                term,
            },
        );
        self.process(id)?;
        Ok(Some((index, term)))
    }

    /// Proposes at whichever live server accepts, trying the one that believes itself leader of
    /// the highest term first. Returns (leader, index, term).
    pub fn propose_anywhere(
        &mut self,
        data: impl Into<Bytes>,
    ) -> Result<Option<(NodeId, Index, Term)>, Violation> {
        let data = data.into();
        let mut leaders: Vec<(Term, NodeId)> = self
            .statuses()
            .filter(|s| s.role == Role::Leader)
            .map(|s| (s.term, s.id))
            .collect();
        leaders.sort_unstable_by(|a, b| b.cmp(a));
        for (_, id) in leaders {
            if let Some((index, term)) = self.propose(id, data.clone())? {
                return Ok(Some((id, index, term)));
            }
        }
        Ok(None)
    }

    /// The classic lab's `one()`: submits `data` and waits until at least `expected` servers
    /// applied it at the same index, retrying with whichever leader exists (when `retry`) for up
    /// to 10 simulated seconds. Returns the index.
    pub fn one(
        &mut self,
        data: impl Into<Bytes>,
        expected: usize,
        retry: bool,
    ) -> Result<Result<Index, String>, Violation> {
        let data = data.into();
        let deadline = self.now + 10_000_000;
        while self.now < deadline {
            let Some((_, index, _)) = self.propose_anywhere(data.clone())? else {
                self.run_for(20_000)?;
                continue;
            };
            let wait_until = self.now + 2_000_000;
            while self.now < wait_until {
                let (count, cmd) = self.n_applied(index);
                if count >= expected && cmd.as_ref() == Some(&data) {
                    return Ok(Ok(index));
                }
                self.run_for(5_000)?;
            }
            if !retry {
                return Ok(Err(format!(
                    "one({data:?}) was not applied by {expected} servers"
                )));
            }
        }
        Ok(Err(format!(
            "one({data:?}) failed to reach agreement with {expected} servers in 10s"
        )))
    }

    /// How many servers applied index `index`, and the command they applied there. (Conflicting
    /// applies are caught by the State Machine Safety check as they happen.)
    pub fn n_applied(&self, index: Index) -> (usize, Option<Bytes>) {
        let mut count = 0;
        let mut cmd = None;
        for node in self.nodes.values() {
            if let Some((_, data)) = node.applied.get((index as usize).wrapping_sub(1)) {
                count += 1;
                cmd = Some(data.clone());
            }
        }
        (count, cmd)
    }

    /// Waits until at least `n` servers applied `index`; returns the command.
    pub fn wait_applied(
        &mut self,
        index: Index,
        n: usize,
        timeout: u64,
    ) -> Result<Option<Bytes>, Violation> {
        let ok = self.run_until_cond(timeout, |s| s.n_applied(index).0 >= n)?;
        Ok(if ok { self.n_applied(index).1 } else { None })
    }
}
