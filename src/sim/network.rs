//! The simulator's network: messages in flight with due times, per-link cuts and partitions,
//! random delay, loss, duplication and long reordering, and per-link extra delay and loss — all
//! drawn from the simulator's seed.

use std::collections::{BTreeMap, BTreeSet};

use crate::raft::{Message, NodeId, Rng};

/// How the network misbehaves. Times are in simulated microseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    /// Shortest one-way delay.
    pub min_delay: u64,
    /// Longest ordinary one-way delay.
    pub max_delay: u64,
    /// Probability that a message is lost.
    pub drop_rate: f64,
    /// Probability that a message is delivered twice.
    pub duplicate_rate: f64,
    /// Probability that a message is held back for a long time (reordering it behind later ones).
    pub long_delay_rate: f64,
    /// Longest such hold-back.
    pub long_delay_max: u64,
}

impl NetConfig {
    /// A well-behaved LAN: 1–5 ms, nothing lost.
    pub fn reliable() -> Self {
        NetConfig {
            min_delay: 1_000,
            max_delay: 5_000,
            drop_rate: 0.0,
            duplicate_rate: 0.0,
            long_delay_rate: 0.0,
            long_delay_max: 0,
        }
    }

    /// The "unreliable" network of the classic Raft labs: 10% loss, some duplicates, and long
    /// reordering of a few messages.
    pub fn unreliable() -> Self {
        NetConfig {
            min_delay: 1_000,
            max_delay: 20_000,
            drop_rate: 0.1,
            duplicate_rate: 0.05,
            long_delay_rate: 0.02,
            long_delay_max: 600_000,
        }
    }
}

/// A message on the wire.
#[derive(Clone, Debug)]
pub struct InFlight {
    /// Unique id of this copy.
    pub id: u64,
    /// When it was sent.
    pub sent_at: u64,
    /// When it arrives.
    pub due_at: u64,
    /// The message.
    pub msg: Message,
}

/// What the network did with a message handed to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Scheduled for delivery (once or, when duplicated, twice).
    Scheduled {
        /// Copies scheduled.
        copies: u8,
    },
    /// Lost because the link is cut.
    Cut,
    /// Lost at random.
    Dropped,
}

/// How one directed link misbehaves beyond the network's [`NetConfig`] (as the live cluster's
/// `link FROM TO delay D drop P`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkFault {
    /// Extra one-way delay, in simulated microseconds.
    pub delay: u64,
    /// Probability that a message on the link is lost (on top of the network's own loss).
    pub drop_rate: f64,
}

/// The network between the simulated servers (the live cluster's is `cluster::Network`).
#[derive(Clone, Debug)]
pub struct SimNetwork {
    config: NetConfig,
    /// Group of each node: nodes in different groups cannot talk. All 0 when healed.
    group: BTreeMap<NodeId, u64>,
    /// Directed links cut one way, beyond partitions.
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Directed links with extra delay or loss.
    faults: BTreeMap<(NodeId, NodeId), LinkFault>,
    next_group: u64,
    next_id: u64,
}

impl SimNetwork {
    /// A healed network between `nodes`.
    pub fn new(config: NetConfig, nodes: &[NodeId]) -> Self {
        SimNetwork {
            config,
            group: nodes.iter().map(|n| (*n, 0)).collect(),
            cut: BTreeSet::new(),
            faults: BTreeMap::new(),
            next_group: 1,
            next_id: 1,
        }
    }

    /// Adds a node, connected to the healed group.
    pub fn add_node(&mut self, node: NodeId) {
        self.group.entry(node).or_insert(0);
    }

    /// The current fault model.
    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    /// Replaces the fault model (affects messages sent from now on).
    pub fn set_config(&mut self, config: NetConfig) {
        self.config = config;
    }

    /// Whether `from` can reach `to` right now.
    pub fn connected(&self, from: NodeId, to: NodeId) -> bool {
        self.group.get(&from) == self.group.get(&to) && !self.cut.contains(&(from, to))
    }

    /// Splits the nodes into groups that cannot talk to each other. Nodes not listed are each
    /// alone.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        let nodes: Vec<NodeId> = self.group.keys().copied().collect();
        for n in nodes {
            let g = self.fresh_group();
            self.group.insert(n, g);
        }
        for members in groups {
            let g = self.fresh_group();
            for m in members {
                if let Some(slot) = self.group.get_mut(m) {
                    *slot = g;
                }
            }
        }
    }

    /// Cuts `node` off from everyone (both ways).
    pub fn isolate(&mut self, node: NodeId) {
        let g = self.fresh_group();
        if let Some(slot) = self.group.get_mut(&node) {
            *slot = g;
        }
    }

    /// Reconnects `node` to the main group (group of the healed network) and its links.
    pub fn reconnect(&mut self, node: NodeId) {
        if let Some(slot) = self.group.get_mut(&node) {
            *slot = 0;
        }
        self.cut.retain(|(a, b)| *a != node && *b != node);
        self.faults.retain(|(a, b), _| *a != node && *b != node);
    }

    /// Cuts or restores the directed link `from → to`.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, up: bool) {
        if up {
            self.cut.remove(&(from, to));
        } else {
            self.cut.insert((from, to));
        }
    }

    /// Sets the extra delay and loss of the directed link `from → to` (the default clears it).
    pub fn set_link_fault(&mut self, from: NodeId, to: NodeId, fault: LinkFault) {
        if fault == LinkFault::default() {
            self.faults.remove(&(from, to));
        } else {
            self.faults.insert((from, to), fault);
        }
    }

    /// The extra delay and loss of the directed link `from → to`.
    pub fn link_fault(&self, from: NodeId, to: NodeId) -> LinkFault {
        self.faults.get(&(from, to)).copied().unwrap_or_default()
    }

    /// A fresh id for a message copy made outside [`SimNetwork::send`] (a duplicate by hand).
    pub fn next_message_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The partition groups (nodes that can talk), largest first; one group when healed.
    pub fn groups(&self) -> Vec<Vec<NodeId>> {
        let mut by_group: BTreeMap<u64, Vec<NodeId>> = BTreeMap::new();
        for (id, g) in &self.group {
            by_group.entry(*g).or_default().push(*id);
        }
        let mut groups: Vec<Vec<NodeId>> = by_group.into_values().collect();
        groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        groups
    }

    /// Clears every partition, cut, and link delay and loss.
    pub fn heal(&mut self) {
        for g in self.group.values_mut() {
            *g = 0;
        }
        self.cut.clear();
        self.faults.clear();
    }

    fn fresh_group(&mut self) -> u64 {
        self.next_group += 1;
        self.next_group
    }

    /// Takes a message from a sender and decides its fate: the copies to schedule are returned.
    pub fn send(&mut self, msg: Message, now: u64, rng: &mut Rng) -> (SendOutcome, Vec<InFlight>) {
        if !self.connected(msg.from, msg.to) {
            return (SendOutcome::Cut, Vec::new());
        }
        if rng.chance(self.config.drop_rate) {
            return (SendOutcome::Dropped, Vec::new());
        }
        // A link without a fault draws nothing more: runs without link faults stay as they were.
        let link = self.link_fault(msg.from, msg.to);
        if rng.chance(link.drop_rate) {
            return (SendOutcome::Dropped, Vec::new());
        }
        let copies = if rng.chance(self.config.duplicate_rate) {
            2
        } else {
            1
        };
        let mut out = Vec::with_capacity(copies);
        for _ in 0..copies {
            let mut delay =
                link.delay + rng.range(self.config.min_delay, self.config.max_delay + 1);
            if rng.chance(self.config.long_delay_rate) {
                delay += rng.range(0, self.config.long_delay_max + 1);
            }
            self.next_id += 1;
            out.push(InFlight {
                id: self.next_id,
                sent_at: now,
                due_at: now + delay,
                msg: msg.clone(),
            });
        }
        (
            SendOutcome::Scheduled {
                copies: copies as u8,
            },
            out,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::{Rpc, TimeoutNowArgs};

    fn msg(from: NodeId, to: NodeId) -> Message {
        Message {
            from,
            to,
            rpc: Rpc::TimeoutNow(TimeoutNowArgs {
                term: 1,
                leader_id: from,
            }),
        }
    }

    #[test]
    fn partitions_and_cuts() {
        let mut net = SimNetwork::new(NetConfig::reliable(), &[1, 2, 3, 4, 5]);
        assert!(net.connected(1, 5));
        net.partition(&[vec![1, 2], vec![3, 4]]);
        assert!(net.connected(1, 2) && net.connected(4, 3));
        assert!(!net.connected(2, 3));
        assert!(!net.connected(5, 1) && !net.connected(5, 3), "5 is alone");
        net.heal();
        net.set_link(1, 2, false);
        assert!(
            !net.connected(1, 2) && net.connected(2, 1),
            "a cut is one-way"
        );
        net.isolate(3);
        assert!(!net.connected(3, 4));
        net.reconnect(3);
        assert!(net.connected(3, 4));
        let mut rng = Rng::new(1);
        assert_eq!(net.send(msg(1, 2), 0, &mut rng).0, SendOutcome::Cut);
    }

    #[test]
    fn a_link_fault_delays_and_loses_only_its_own_direction() {
        let mut net = SimNetwork::new(NetConfig::reliable(), &[1, 2]);
        net.set_link_fault(
            1,
            2,
            LinkFault {
                delay: 300_000,
                drop_rate: 0.5,
            },
        );
        let mut rng = Rng::new(3);
        let mut dropped = 0;
        for _ in 0..1_000 {
            match net.send(msg(1, 2), 0, &mut rng) {
                (SendOutcome::Dropped, _) => dropped += 1,
                (_, copies) => assert!(copies.iter().all(|c| c.due_at >= 301_000)),
            }
            let (outcome, copies) = net.send(msg(2, 1), 0, &mut rng);
            assert_eq!(outcome, SendOutcome::Scheduled { copies: 1 });
            assert!(copies[0].due_at <= 5_000);
        }
        assert!(
            (400..600).contains(&dropped),
            "{dropped} dropped of 1000 at 50%"
        );
        net.heal();
        assert_eq!(net.link_fault(1, 2), LinkFault::default());
    }

    #[test]
    fn delays_stay_in_range_and_loss_happens_at_the_rate() {
        let mut net = SimNetwork::new(NetConfig::unreliable(), &[1, 2]);
        let mut rng = Rng::new(9);
        let (mut dropped, mut dup) = (0, 0);
        for _ in 0..10_000 {
            let (outcome, copies) = net.send(msg(1, 2), 100, &mut rng);
            match outcome {
                SendOutcome::Dropped => dropped += 1,
                SendOutcome::Scheduled { copies: 2 } => dup += 1,
                _ => {}
            }
            for c in copies {
                assert!(c.due_at >= 100 + 1_000 && c.due_at <= 100 + 20_000 + 600_000);
            }
        }
        assert!(
            (800..1_200).contains(&dropped),
            "{dropped} dropped of 10000 at 10%"
        );
        assert!((300..700).contains(&dup), "{dup} duplicated");
    }
}
