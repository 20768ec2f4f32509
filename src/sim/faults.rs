//! Faults the simulator injects on purpose: crashes and restarts, partitions and cut links, a
//! lossier network, clocks that drift — and the nudges a script gives a server's election timer.
//! Each one is written to the timeline, so that a failure report shows what was done to the
//! cluster beside what the cores did.

use crate::raft::NodeId;

use super::{LinkFault, NetConfig, Record, Simulator, Violation};

impl Simulator {
    /// Crashes a server: it loses everything but its storage; messages to it are lost.
    pub fn crash(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.get_mut(&id) {
            if node.core.take().is_some() {
                self.timeline
                    .push(self.now, Record::Fault(format!("crash node {id}")));
            }
        }
    }

    /// Arranges for a server to crash in the middle of its next Ready: after persisting, before
    /// sending or applying.
    pub fn crash_after_next_persist(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.crash_after_persist = true;
        }
    }

    /// Restarts a crashed server from its storage (does nothing to a live one).
    pub fn restart(&mut self, id: NodeId) {
        if self.nodes.get(&id).is_some_and(|n| n.core.is_none()) {
            self.timeline
                .push(self.now, Record::Fault(format!("restart node {id}")));
            self.boot(id);
        }
    }

    /// Splits the servers into groups that cannot talk; unlisted servers are alone.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        self.timeline
            .push(self.now, Record::Fault(format!("partition {groups:?}")));
        self.net.partition(groups);
    }

    /// Cuts a server off from all others.
    pub fn disconnect(&mut self, id: NodeId) {
        self.timeline
            .push(self.now, Record::Fault(format!("disconnect node {id}")));
        self.net.isolate(id);
    }

    /// Reconnects a server cut off by [`Simulator::disconnect`].
    pub fn connect(&mut self, id: NodeId) {
        self.timeline
            .push(self.now, Record::Fault(format!("connect node {id}")));
        self.net.reconnect(id);
    }

    /// Cuts or restores one direction of one link.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, up: bool) {
        self.timeline.push(
            self.now,
            Record::Fault(format!(
                "link {from}->{to} {}",
                if up { "up" } else { "cut" }
            )),
        );
        self.net.set_link(from, to, up);
    }

    /// Sets one direction of one link's extra delay and loss (the default clears them).
    pub fn set_link_fault(&mut self, from: NodeId, to: NodeId, fault: LinkFault) {
        self.timeline.push(
            self.now,
            Record::Fault(format!(
                "link {from}->{to} delay {}ms drop {}",
                fault.delay / 1_000,
                fault.drop_rate
            )),
        );
        self.net.set_link_fault(from, to, fault);
    }

    /// Clears every partition, cut link, and link delay and loss.
    pub fn heal(&mut self) {
        self.timeline.push(self.now, Record::Fault("heal".into()));
        self.net.heal();
    }

    /// Changes the network's loss, duplication and delays from now on.
    pub fn set_net(&mut self, net: NetConfig) {
        self.timeline
            .push(self.now, Record::Fault(format!("network {net:?}")));
        self.net.set_config(net);
    }

    /// Makes a server time out now.
    pub fn campaign(&mut self, id: NodeId) -> Result<(), Violation> {
        if let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) {
            core.campaign();
        }
        self.process(id)
    }

    /// Sets a server's running election timeout, in ticks.
    pub fn set_election_timeout(&mut self, id: NodeId, ticks: u32) {
        if let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) {
            core.set_election_timeout(ticks);
        }
    }

    /// Sets a server's clock rate from now on: 2.0 ticks twice as often as the others (its
    /// timeouts fire in half the real time), 0.5 half as often. Clock drift, for lease reads.
    pub fn set_clock_rate(&mut self, id: NodeId, rate: f64) {
        let tick_us = self.config.tick_us;
        if let Some(node) = self.nodes.get_mut(&id) {
            let us = (tick_us as f64 / rate.max(1e-3)).round();
            node.tick_us = (us as u64).max(1);
            self.timeline.push(
                self.now,
                Record::Fault(format!("clock of node {id} at rate {rate}")),
            );
        }
    }
}
