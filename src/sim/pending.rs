//! What happens next if nothing else is done — every message in flight and every server's next
//! timer, in the order they would happen — and the hand that changes it: a message delivered
//! now (out of order), dropped, or duplicated. Faults beside these live in `faults`.
//!
//! ```text
//!   queue: Deliver(#id) ─────────────────────────► Pending::Delivery   (its due time)
//!          Tick(node) + the core's timer counters ─► ElectionTimeout / Heartbeat
//!                                                    (next tick + remaining ticks × tick length)
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crate::raft::{MessageKind, NodeId, Role, Term};

use super::{Event, InFlight, Record, Simulator, Violation};

/// Tie-break rank of a timer that fires on a tick not yet scheduled: after every event already
/// in the queue at the same moment (they were scheduled first), then by node id.
const NOT_YET_SCHEDULED: u64 = 1 << 62;

/// Something that will happen if nothing else is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// When, in simulated microseconds.
    pub at: u64,
    /// What.
    pub what: PendingKind,
}

/// What a [`Pending`] event is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PendingKind {
    /// A message in flight reaches its receiver (or is lost there: a cut link, a receiver down).
    Delivery {
        /// The in-flight id (what `deliver`, `drop`, `duplicate` name).
        id: u64,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Kind.
        kind: MessageKind,
        /// The sender's term.
        term: Term,
        /// When it was sent (simulated microseconds).
        sent_at: u64,
        /// One line: the message's fields.
        summary: String,
    },
    /// A follower's or candidate's election timer fires (with PreVote, a PreVote round begins).
    ElectionTimeout {
        /// The server.
        node: NodeId,
    },
    /// A leader's heartbeat interval ends: it sends heartbeats to every follower.
    Heartbeat {
        /// The leader.
        node: NodeId,
    },
}

/// A message id that is not in flight (already delivered, lost, or never sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoSuchMessage(pub u64);

impl fmt::Display for NoSuchMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no message #{} is in flight (already delivered or lost, or never sent)",
            self.0
        )
    }
}

impl std::error::Error for NoSuchMessage {}

impl Simulator {
    /// Every pending event in the order it would happen if nothing else were done: each message
    /// in flight at its due time, and each live server's next timer — its election timeout
    /// (followers and candidates that vote) or its next heartbeat (leaders). Ties at one moment
    /// keep the simulator's own order; timers on ticks not yet scheduled come after, by node id.
    /// A timer is where it would fire if nothing reset it first: a heartbeat that arrives earlier
    /// puts a follower's election off.
    pub fn pending(&self) -> Vec<Pending> {
        let mut out: Vec<((u64, u64), Pending)> = Vec::new();
        let mut next_tick: BTreeMap<NodeId, (u64, u64)> = BTreeMap::new();
        for (&(at, seq), event) in &self.queue {
            match event {
                Event::Deliver(m) => out.push((
                    (at, seq),
                    Pending {
                        at,
                        what: PendingKind::Delivery {
                            id: m.id,
                            from: m.msg.from,
                            to: m.msg.to,
                            kind: m.msg.kind(),
                            term: m.msg.term(),
                            sent_at: m.sent_at,
                            summary: m.msg.to_string(),
                        },
                    },
                )),
                Event::Tick(id, incarnation) => {
                    let current = self
                        .nodes
                        .get(id)
                        .is_some_and(|n| n.incarnation == *incarnation && n.core.is_some());
                    if current {
                        next_tick.entry(*id).or_insert((at, seq));
                    }
                }
            }
        }
        for (id, (tick_at, seq)) in next_tick {
            let Some(node) = self.nodes.get(&id) else {
                continue;
            };
            let Some(core) = node.core.as_ref() else {
                continue;
            };
            let (ticks, what) = if core.role() == Role::Leader {
                let interval = core.config().heartbeat_interval;
                (
                    interval.saturating_sub(core.heartbeat_elapsed()),
                    PendingKind::Heartbeat { node: id },
                )
            } else if core.configuration().is_voter(id) {
                let (elapsed, timeout) = core.election_timer();
                (
                    timeout.saturating_sub(elapsed),
                    PendingKind::ElectionTimeout { node: id },
                )
            } else {
                // A learner or a server still joining never stands.
                continue;
            };
            let ticks = u64::from(ticks.max(1));
            let at = tick_at + (ticks - 1) * node.tick_us;
            let rank = if ticks == 1 {
                seq
            } else {
                NOT_YET_SCHEDULED + id
            };
            out.push(((at, rank), Pending { at, what }));
        }
        out.sort_by_key(|(key, _)| *key);
        out.into_iter().map(|(_, p)| p).collect()
    }

    /// The message in flight with this id.
    pub fn message(&self, id: u64) -> Option<&InFlight> {
        self.queue.values().find_map(|e| match e {
            Event::Deliver(m) if m.id == id => Some(m),
            _ => None,
        })
    }

    /// Takes message `id` out of the queue.
    fn take_message(&mut self, id: u64) -> Option<InFlight> {
        let key = self.queue.iter().find_map(|(key, e)| match e {
            Event::Deliver(m) if m.id == id => Some(*key),
            _ => None,
        })?;
        match self.queue.remove(&key) {
            Some(Event::Deliver(m)) => Some(m),
            _ => None,
        }
    }

    /// Delivers message `id` now, before its due time and ahead of everything else pending —
    /// through the same path as any delivery: a cut link or a receiver that is down still loses
    /// it, and the safety checks run. `Ok(Ok(None))`: delivered; `Ok(Ok(Some(why)))`: lost.
    pub fn deliver_now(
        &mut self,
        id: u64,
    ) -> Result<Result<Option<&'static str>, NoSuchMessage>, Violation> {
        let Some(m) = self.take_message(id) else {
            return Ok(Err(NoSuchMessage(id)));
        };
        self.timeline.push(
            self.now,
            Record::Note(format!(
                "message #{id} delivered by hand ({:.3}ms early)",
                (m.due_at - self.now.min(m.due_at)) as f64 / 1000.0
            )),
        );
        self.steps += 1;
        Ok(Ok(self.deliver(m)?))
    }

    /// Loses message `id` now (recorded as lost, "dropped by hand").
    pub fn drop_message(&mut self, id: u64) -> Result<(), NoSuchMessage> {
        let m = self.take_message(id).ok_or(NoSuchMessage(id))?;
        self.lose(m.msg.from, m.msg.to, m.msg.kind(), "dropped by hand");
        Ok(())
    }

    /// Puts a second copy of message `id` in flight, due at the same moment (just after it).
    /// Returns the copy's id.
    pub fn duplicate(&mut self, id: u64) -> Result<u64, NoSuchMessage> {
        let mut copy = self.message(id).cloned().ok_or(NoSuchMessage(id))?;
        copy.id = self.net.next_message_id();
        let new = copy.id;
        self.timeline.push(
            self.now,
            Record::Note(format!("message #{id} duplicated by hand as #{new}")),
        );
        self.schedule(copy.due_at, Event::Deliver(copy));
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimConfig;

    /// Three servers, run until a leader is elected and has sent at least one round.
    fn elected(seed: u64) -> Simulator {
        let mut sim = Simulator::new(SimConfig::new(3, seed));
        let ok = sim
            .run_until_cond(5_000_000, |s| s.stable_leader(&[1, 2, 3]).is_some())
            .unwrap();
        assert!(ok, "seed {seed}: no leader");
        sim
    }

    fn first_delivery(sim: &Simulator) -> (u64, NodeId, NodeId, u64) {
        sim.pending()
            .into_iter()
            .find_map(|p| match p.what {
                PendingKind::Delivery { id, from, to, .. } => Some((id, from, to, p.at)),
                _ => None,
            })
            .expect("a message in flight")
    }

    #[test]
    fn pending_events_come_in_time_order_and_the_same_way_twice() {
        let mut sim = elected(4);
        // Some message in flight: run until there is one.
        sim.run_until_cond(1_000_000, |s| !s.in_flight().is_empty())
            .unwrap();
        let pending = sim.pending();
        assert!(
            pending.windows(2).all(|w| w[0].at <= w[1].at),
            "{pending:?}"
        );
        assert!(pending.iter().all(|p| p.at >= sim.now()));
        assert_eq!(pending, sim.clone().pending(), "deterministic");
        let leader = sim.leader().unwrap();
        let timers: Vec<&PendingKind> = pending
            .iter()
            .map(|p| &p.what)
            .filter(|w| !matches!(w, PendingKind::Delivery { .. }))
            .collect();
        // One timer per live server: the leader's heartbeat, the followers' elections.
        assert_eq!(timers.len(), 3, "{timers:?}");
        for w in timers {
            match w {
                PendingKind::Heartbeat { node } => assert_eq!(*node, leader),
                PendingKind::ElectionTimeout { node } => assert_ne!(*node, leader),
                PendingKind::Delivery { .. } => unreachable!(),
            }
        }
        // Every message in flight is listed once.
        let deliveries = pending
            .iter()
            .filter(|p| matches!(p.what, PendingKind::Delivery { .. }))
            .count();
        assert_eq!(deliveries, sim.in_flight().len());
    }

    #[test]
    fn the_first_pending_event_happens_at_its_moment() {
        use crate::raft::TraceEvent;
        let (mut deliveries, mut elections, mut heartbeats) = (0, 0, 0);
        for seed in 1..20 {
            let mut sim = Simulator::new(SimConfig::new(3, seed));
            for _ in 0..60 {
                let first = sim.pending().remove(0);
                let seen = sim.timeline().total();
                // Ticks before it only count; at its moment it happens.
                sim.run_until(first.at).unwrap();
                let at_its_moment: Vec<&Record> = sim
                    .timeline()
                    .since(seen)
                    .filter(|r| r.time == first.at)
                    .map(|r| &r.record)
                    .collect();
                let happened = match first.what {
                    PendingKind::Delivery { id, from, to, .. } => {
                        deliveries += 1;
                        sim.message(id).is_none()
                            && at_its_moment.iter().any(|r| match r {
                                Record::Delivered(m) => m.from == from && m.to == to,
                                Record::Lost { from: f, to: t, .. } => *f == from && *t == to,
                                _ => false,
                            })
                    }
                    PendingKind::ElectionTimeout { node } => {
                        elections += 1;
                        at_its_moment.iter().any(|r| {
                            matches!(r, Record::Trace { node: n, event: TraceEvent::ElectionTimeout { .. } } if *n == node)
                        })
                    }
                    PendingKind::Heartbeat { node } => {
                        heartbeats += 1;
                        sim.in_flight()
                            .iter()
                            .any(|m| m.msg.from == node && m.sent_at == first.at)
                    }
                };
                assert!(
                    happened,
                    "seed {seed}: {first:?} did not happen at its moment"
                );
            }
        }
        assert!(deliveries > 0 && elections > 0 && heartbeats > 0);
    }

    #[test]
    fn a_timer_is_where_the_core_would_fire_it() {
        let mut sim = Simulator::new(SimConfig::new(3, 7));
        let pending = sim.pending();
        let first_election = pending
            .iter()
            .find(|p| matches!(p.what, PendingKind::ElectionTimeout { .. }))
            .cloned()
            .unwrap();
        let PendingKind::ElectionTimeout { node } = first_election.what else {
            unreachable!()
        };
        // Nothing is in flight at the start: the first timer to fire starts the first election.
        sim.run_until_cond(10_000_000, |s| {
            s.stats().pre_elections + s.stats().elections > 0
        })
        .unwrap();
        assert_eq!(sim.now(), first_election.at);
        assert!(sim.is_pre_candidate(node) || sim.status(node).unwrap().role != Role::Follower);
    }

    #[test]
    fn a_message_delivered_now_arrives_before_its_time_and_only_once() {
        let mut sim = elected(2);
        sim.run_until_cond(1_000_000, |s| !s.in_flight().is_empty())
            .unwrap();
        let (id, _, to, due) = first_delivery(&sim);
        let now = sim.now();
        let delivered = sim.stats().delivered;
        assert_eq!(sim.deliver_now(id).unwrap(), Ok(None));
        assert_eq!(sim.now(), now, "delivered at the current moment");
        assert!(now <= due);
        assert_eq!(sim.stats().delivered, delivered + 1);
        assert!(sim.message(id).is_none());
        assert!(sim
            .timeline_lines()
            .iter()
            .any(|l| l.contains("deliver") && l.contains(&format!("->{to}"))
                || l.contains(&format!("#{id} delivered by hand"))));
        // Gone from the queue: a second time is an error, not a panic.
        assert_eq!(sim.deliver_now(id).unwrap(), Err(NoSuchMessage(id)));
    }

    #[test]
    fn a_message_to_a_crashed_server_is_still_lost_when_delivered_by_hand() {
        let mut sim = elected(3);
        sim.run_until_cond(1_000_000, |s| !s.in_flight().is_empty())
            .unwrap();
        let (id, _, to, _) = first_delivery(&sim);
        sim.crash(to);
        assert_eq!(sim.deliver_now(id).unwrap(), Ok(Some("receiver down")));
    }

    #[test]
    fn a_dropped_message_never_arrives() {
        let mut sim = elected(5);
        sim.run_until_cond(1_000_000, |s| !s.in_flight().is_empty())
            .unwrap();
        let (id, from, to, due) = first_delivery(&sim);
        let lost = sim.stats().lost;
        sim.drop_message(id).unwrap();
        assert_eq!(sim.stats().lost, lost + 1);
        assert!(sim.message(id).is_none());
        assert!(sim
            .timeline_lines()
            .last()
            .unwrap()
            .contains(&format!("lost    {from}->{to}")));
        assert!(sim
            .timeline_lines()
            .last()
            .unwrap()
            .contains("dropped by hand"));
        let seen = sim.timeline().total();
        sim.run_until(due + 1).unwrap();
        // Nothing delivered from `from` to `to` at its due time.
        let arrived = sim.timeline().since(seen).any(|r| {
            r.time == due
                && matches!(&r.record, Record::Delivered(m) if m.from == from && m.to == to)
        });
        assert!(!arrived);
        assert_eq!(sim.drop_message(id), Err(NoSuchMessage(id)));
    }

    #[test]
    fn a_duplicate_is_a_second_copy_due_at_the_same_moment() {
        let mut sim = elected(6);
        sim.run_until_cond(1_000_000, |s| !s.in_flight().is_empty())
            .unwrap();
        let (id, from, to, due) = first_delivery(&sim);
        let copy = sim.duplicate(id).unwrap();
        assert_ne!(copy, id);
        let (a, b) = (sim.message(id).unwrap(), sim.message(copy).unwrap());
        assert_eq!((b.due_at, b.msg.from, b.msg.to), (due, from, to));
        assert_eq!(a.msg, b.msg);
        let pending = sim.pending();
        let at = |x: u64| {
            pending
                .iter()
                .position(|p| matches!(p.what, PendingKind::Delivery { id, .. } if id == x))
                .unwrap()
        };
        assert!(at(id) < at(copy), "the copy comes just after the original");
        let delivered = sim.stats().delivered;
        sim.run_until(due).unwrap();
        assert!(sim.stats().delivered >= delivered + 2);
        assert_eq!(sim.duplicate(999_999), Err(NoSuchMessage(999_999)));
    }

    #[test]
    fn the_same_hand_on_the_same_seed_gives_the_same_run() {
        let play = || {
            let mut sim = elected(8);
            for round in 0..20 {
                sim.run_for(50_000).unwrap();
                let Some(PendingKind::Delivery { id, .. }) = sim
                    .pending()
                    .into_iter()
                    .map(|p| p.what)
                    .find(|w| matches!(w, PendingKind::Delivery { .. }))
                else {
                    continue;
                };
                match round % 3 {
                    0 => {
                        let _ = sim.deliver_now(id).unwrap();
                    }
                    1 => {
                        let _ = sim.drop_message(id);
                    }
                    _ => {
                        let _ = sim.duplicate(id);
                    }
                }
            }
            sim.run_for(1_000_000).unwrap();
            sim.timeline_lines()
        };
        assert_eq!(play(), play());
    }
}
