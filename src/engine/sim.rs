//! The sim engine's lab: a [`Run`] (seed, settings, timed actions) played on the deterministic
//! simulator, seen from outside as the live cluster is — [`ClusterView`] captures and the event
//! bus's [`Event`]s — so that the dashboard's panels draw it unchanged.
//!
//! ```text
//!   Run ─► Lab::new ─► Simulator (same core, seeded network and timers, simulated time)
//!            advance(to): actions due ─► sim faults / proposals; sim.run_until(to)
//!                         timeline records ─► Events (feed);  safety checks ─► SafetyBreak
//!            view(): statuses, stored logs, in-flight queue, KV applied per node ─► ClusterView
//!   play(run, until) ─► Session { frames every 100 ms, events, notes, break }
//! ```
//!
//! Everything is drawn from the run's seed: the same run gives the same frames, event for event,
//! on any machine. The simulator checks the paper's safety properties after every step; with an
//! unsafe rule a run can break one, and the lab stops at that step and names the property.
//!
//! Paused, the lab lists what happens next ([`Lab::next_events`]): each message in flight and
//! each node's next timer, with the [`Action`] that makes it happen now.
//!
//! What the lab does not have yet (see docs/lab.md): membership changes, snapshots by hand,
//! link jitter, slow nodes, and a leader's heartbeat fired early.

pub mod run;
pub mod travel;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::cluster::{ClusterStatus, InFlightInfo, NodeState, Preset};
use crate::node::{Event, EventKind};
use crate::observe::cluster_view::{ClusterView, LogWant, LogWindow};
use crate::raft::{Index, NodeId, Status};
use crate::sim::{LinkFault, NetConfig, PendingKind, Record, SimConfig, Simulator};
use crate::state_machine::kv::{encode_command, KvStore};
use crate::state_machine::StateMachine;

pub use run::{Action, Run, RunError, Settings, Timed, RUN_FORMAT};

/// How often [`play`] captures a frame (as the live recorder does).
pub const FRAME_EVERY: Duration = Duration::from_millis(100);

/// The longest run the lab plays: an hour of simulated time.
pub const MAX_LENGTH: Duration = Duration::from_secs(3_600);

/// Timeline records the simulator keeps between two reads of the lab (many more than one
/// frame's worth at any speed).
const TIMELINE_KEEP: usize = 100_000;

/// A safety property broken by the run, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct SafetyBreak {
    /// Simulated time of the step that broke it.
    pub at: Duration,
    /// The property, in the paper's words: Election Safety, Log Matching, Leader
    /// Completeness, State Machine Safety (or "Safety" for another check).
    pub property: &'static str,
    /// What the check saw, starting with the property's name.
    pub what: String,
}

/// A pending event in the dashboard's terms, with the action that makes it happen now.
#[derive(Clone, Debug, PartialEq)]
pub struct NextEvent {
    /// When it happens if nothing else is done (simulated time since the start).
    pub at: Duration,
    /// What happens, as "deliver #412 AppendEntries 1→3 t4" or "node 2's election timer fires".
    pub text: String,
    /// The action that makes it happen now (`deliver ID`, `campaign N`); none for a leader's
    /// heartbeat, which the core cannot send early.
    pub action: Option<Action>,
}

/// One node's key-value store, as applied so far.
#[derive(Clone, Default)]
struct NodeKv {
    /// Entries of the simulator's applied list already applied here.
    applied: usize,
    store: KvStore,
}

/// A run being played.
#[derive(Clone)]
pub struct Lab {
    run: Run,
    sim: Simulator,
    /// The next action of `run.actions` to apply.
    next: usize,
    preset: Preset,
    /// Each node's last status while it was up (a node that is down shows its last).
    last_status: BTreeMap<NodeId, Status>,
    kv: BTreeMap<NodeId, NodeKv>,
    /// Timeline records already turned into events.
    seen: u64,
    events: Vec<Event>,
    notes: Vec<(Duration, String)>,
    broken: Option<SafetyBreak>,
    /// `get` actions asked and not yet answered: read context → key.
    gets: BTreeMap<u64, String>,
    /// Reads the simulator served that were already looked at.
    reads_seen: usize,
}

impl Lab {
    /// Starts the run's cluster at moment 0, no action applied yet.
    pub fn new(run: Run) -> Result<Lab, RunError> {
        run.validate()?;
        let s = &run.settings;
        let preset = s.preset;
        let core = preset.raft_config(1, vec![1], s.seed);
        let mut config = SimConfig::new(s.nodes, s.seed);
        config.tick_us = preset.tick().as_micros() as u64;
        config.election_timeout = (core.election_timeout_min, core.election_timeout_max);
        config.heartbeat_interval = core.heartbeat_interval;
        config.snapshot_chunk_bytes = core.snapshot_chunk_bytes;
        config.timeline = TIMELINE_KEEP;
        if let Some(n) = s.max_append {
            config.max_entries_per_append = n;
        }
        let policy = preset.snapshot_policy();
        config.snapshot_every = policy.entries;
        let (delay, jitter) = preset.link_delay();
        config.net = NetConfig {
            min_delay: delay.saturating_sub(jitter).as_micros() as u64,
            max_delay: (delay + jitter).as_micros() as u64,
            ..NetConfig::reliable()
        };
        if s.paper {
            config.pre_vote = false;
            config.check_quorum = false;
        }
        for rule in s.unsafe_rules()? {
            let mut rules = crate::node::Rules::default();
            rules.enable(rule);
            let u = rules.unsafe_rules;
            config.unsafe_rules.vote_without_log_check |= u.vote_without_log_check;
            config.unsafe_rules.commit_by_counting |= u.commit_by_counting;
            config.unsafe_rules.forget_vote |= u.forget_vote;
        }
        let sim = Simulator::new(config);
        let mut lab = Lab {
            run,
            sim,
            next: 0,
            preset,
            last_status: BTreeMap::new(),
            kv: BTreeMap::new(),
            seen: 0,
            events: Vec::new(),
            notes: Vec::new(),
            broken: None,
            gets: BTreeMap::new(),
            reads_seen: 0,
        };
        lab.observe();
        Ok(lab)
    }

    /// The run being played (all its actions, applied or not).
    pub fn run(&self) -> &Run {
        &self.run
    }

    /// Simulated time now.
    pub fn now(&self) -> Duration {
        Duration::from_micros(self.sim.now())
    }

    /// The safety property the run broke, if it did (the lab stops there).
    pub fn broken(&self) -> Option<&SafetyBreak> {
        self.broken.as_ref()
    }

    /// Steps the simulation to moment `to`, applying each action when its moment comes.
    /// Stops early, for good, at a broken safety property.
    pub fn advance(&mut self, to: Duration) {
        let to_us = to.as_micros() as u64;
        while self.broken.is_none() {
            let Some(t) = self.run.actions.get(self.next).cloned() else {
                break;
            };
            let at = t.at().as_micros() as u64;
            if at > to_us {
                break;
            }
            let ran = self.sim.run_until(at);
            self.settle(ran);
            if self.broken.is_some() {
                return;
            }
            self.next += 1;
            let outcome = self.act(&t.action);
            if let Ok(text) = &outcome {
                self.notes.push((t.at(), format!("{} → {text}", t.action)));
            }
            self.settle(outcome);
        }
        if self.broken.is_none() {
            let ran = self.sim.run_until(to_us);
            self.settle(ran);
        }
    }

    /// Takes the events that happened since the last call (oldest first).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Takes the outcomes of the actions applied since the last call: (moment, text).
    pub fn take_notes(&mut self) -> Vec<(Duration, String)> {
        std::mem::take(&mut self.notes)
    }

    /// Everything the dashboard draws, now.
    pub fn view(&self, want: LogWant) -> ClusterView {
        let ids = self.sim.ids();
        let base = self.preset.tick().as_micros() as f64;
        let nodes = ids
            .iter()
            .filter_map(|id| {
                let up = self.sim.is_up(*id);
                // Every node is up at moment 0, so each has a last status.
                let status = self
                    .sim
                    .status(*id)
                    .or_else(|| self.last_status.get(id).cloned())?;
                let tick = self.sim.tick_us(*id).unwrap_or(1) as f64;
                Some(NodeState {
                    id: *id,
                    // The sim engine's nodes have no address.
                    addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
                    up,
                    status,
                    kv_len: self.kv.get(id).map_or(0, |k| k.store.len()),
                    clock_rate: base / tick,
                    slow: Duration::ZERO,
                })
            })
            .collect::<Vec<_>>();
        let net = self.sim.network();
        let mut cut_links = Vec::new();
        for a in &ids {
            for b in &ids {
                if a != b && !net.connected(*a, *b) {
                    cut_links.push((*a, *b));
                }
            }
        }
        let status = ClusterStatus {
            nodes,
            paused: false,
            speed: 1.0,
            preset: self.preset,
            tick: self.preset.tick(),
            groups: net.groups(),
            cut_links,
        };
        let in_flight = self
            .sim
            .in_flight()
            .into_iter()
            .map(|m| InFlightInfo {
                id: m.id,
                from: m.msg.from,
                to: m.msg.to,
                kind: m.msg.kind(),
                term: m.msg.term(),
                sent_at: Duration::from_micros(m.sent_at),
                due_at: Duration::from_micros(m.due_at),
                summary: m.msg.to_string(),
            })
            .collect();
        let (lo, end) = want.range(&status.nodes);
        let logs = ids
            .iter()
            .map(|id| (*id, self.log_window(*id, lo, end)))
            .collect();
        let kv = self
            .kv
            .iter()
            .map(|(id, k)| {
                let entries = k
                    .store
                    .entries()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                (*id, entries)
            })
            .collect();
        ClusterView {
            at: self.now(),
            status,
            in_flight,
            links: Vec::new(),
            logs,
            kv,
        }
    }

    /// The (index, term) of node `id`'s stored entries `lo..=hi` (what survives a crash).
    fn log_window(&self, id: NodeId, lo: Index, hi: Index) -> LogWindow {
        let entries = self
            .sim
            .stored_log(id)
            .iter()
            .filter(|e| (lo..=hi).contains(&e.index))
            .map(|e| (e.index, e.term))
            .collect();
        LogWindow { entries }
    }

    /// Carries out one action. The text says what it did.
    fn act(&mut self, action: &Action) -> Result<String, crate::sim::Violation> {
        let sim = &mut self.sim;
        Ok(match action {
            Action::Kill(n) if !sim.is_up(*n) => format!("node {n} is already down"),
            Action::Kill(n) => {
                sim.crash(*n);
                format!("killed node {n}")
            }
            Action::Restart(n) if sim.is_up(*n) => format!("node {n} is already up"),
            Action::Restart(n) => {
                sim.restart(*n);
                format!("restarted node {n} from its storage")
            }
            Action::Isolate(n) => {
                sim.disconnect(*n);
                format!("node {n} is cut off from every other")
            }
            Action::Partition(groups) => {
                sim.partition(groups);
                "partitioned".to_string()
            }
            Action::Heal => {
                sim.heal();
                "healed: every node can reach every other".to_string()
            }
            Action::Link { from, to, up } => {
                sim.set_link(*from, *to, *up);
                format!("link {from}->{to} {}", if *up { "up" } else { "cut" })
            }
            Action::Campaign(n) if !sim.is_up(*n) => format!("node {n} is down"),
            Action::Campaign(n) => {
                sim.campaign(*n)?;
                format!("node {n} times out now")
            }
            Action::Clock(n, rate) => {
                sim.set_clock_rate(*n, *rate);
                format!("node {n}'s clock runs at ×{rate}")
            }
            Action::Put(key, value) => {
                let op = crate::pb::kv_command::Op::Put(crate::pb::PutRequest {
                    key: key.clone(),
                    value: value.clone(),
                    ..Default::default()
                });
                match sim.propose_anywhere(encode_command(0, 0, op))? {
                    Some((leader, index, term)) => {
                        format!("sent to node {leader}: index {index}, term {term}")
                    }
                    None => "no leader to take it".to_string(),
                }
            }
            Action::Deliver(id) => {
                let Some(what) = sim.message(*id).map(describe) else {
                    return Ok(format!("no message #{id} is in flight"));
                };
                match sim.deliver_now(*id)? {
                    Ok(None) => format!("delivered {what} now"),
                    Ok(Some(why)) => format!("{what} lost: {why}"),
                    Err(e) => e.to_string(),
                }
            }
            Action::Drop(id) => {
                let Some(what) = sim.message(*id).map(describe) else {
                    return Ok(format!("no message #{id} is in flight"));
                };
                match sim.drop_message(*id) {
                    Ok(()) => format!("dropped {what}"),
                    Err(e) => e.to_string(),
                }
            }
            Action::Duplicate(id) => match sim.duplicate(*id) {
                Ok(copy) => format!("#{copy} is a copy of #{id}, due at the same moment"),
                Err(_) => format!("no message #{id} is in flight"),
            },
            Action::LinkDelay { from, to, delay } => {
                let fault = LinkFault {
                    delay: delay.as_micros() as u64,
                    ..sim.network().link_fault(*from, *to)
                };
                sim.set_link_fault(*from, *to, fault);
                format!(
                    "messages {from}→{to} take {}ms more from now on",
                    delay.as_millis()
                )
            }
            Action::LinkDrop { from, to, rate } => {
                let fault = LinkFault {
                    drop_rate: *rate,
                    ..sim.network().link_fault(*from, *to)
                };
                sim.set_link_fault(*from, *to, fault);
                format!(
                    "{}% of messages {from}→{to} are lost from now on",
                    (rate * 100_000.0).round() / 1_000.0
                )
            }
            Action::Transfer(n) => match sim.leader() {
                None => "no leader to hand over".to_string(),
                Some(leader) => match sim.transfer_leader(leader, *n)? {
                    Ok(()) => format!("node {leader} hands leadership to node {n}"),
                    Err(e) => format!("node {leader} refused: {e}"),
                },
            },
            Action::Get(key) => match sim.leader() {
                None => "no leader to ask".to_string(),
                Some(leader) => match sim.read_index(leader)? {
                    Ok(ctx) => {
                        self.gets.insert(ctx, key.clone());
                        format!("asked node {leader} (a ReadIndex read: the answer follows)")
                    }
                    Err(e) => format!("node {leader} refused: {e}"),
                },
            },
        })
    }

    /// Records a step's outcome: new events, statuses and key-value contents, or the broken
    /// property that stops the run.
    fn settle<T>(&mut self, outcome: Result<T, crate::sim::Violation>) {
        // What the step did first, then what it broke.
        self.observe();
        if let Err(v) = outcome {
            let property = [
                "Election Safety",
                "Log Matching",
                "Leader Completeness",
                "State Machine Safety",
            ]
            .into_iter()
            .find(|p| v.what.starts_with(p))
            .unwrap_or("Safety");
            let at = Duration::from_micros(v.time);
            self.events.push(Event {
                at,
                node: 0,
                kind: EventKind::Fault(format!("SAFETY BROKEN: {}", v.what)),
            });
            self.broken = Some(SafetyBreak {
                at,
                property,
                what: v.what,
            });
        }
    }

    /// Reads what changed in the simulator: timeline records into events, statuses, and each
    /// node's newly applied commands into its key-value store.
    fn observe(&mut self) {
        let timeline = self.sim.timeline();
        for r in timeline.since(self.seen) {
            let at = Duration::from_micros(r.time);
            let event = match &r.record {
                Record::Trace { node, event } => Some((*node, EventKind::Trace(event.clone()))),
                Record::Lost {
                    from,
                    to,
                    kind,
                    why,
                } => Some((
                    0,
                    EventKind::MessageDropped {
                        id: 0,
                        from: *from,
                        to: *to,
                        kind: *kind,
                        why: (*why).to_string(),
                    },
                )),
                Record::Fault(what) => Some((0, EventKind::Fault(what.clone()))),
                Record::Delivered(_) | Record::Proposed { .. } | Record::Note(_) => None,
            };
            if let Some((node, kind)) = event {
                self.events.push(Event { at, node, kind });
            }
        }
        self.seen = timeline.total();
        self.answer_gets();
        for id in self.sim.ids() {
            if let Some(s) = self.sim.status(id) {
                self.last_status.insert(id, s);
            }
            let applied = self.sim.applied(id);
            let kv = self.kv.entry(id).or_default();
            if applied.len() < kv.applied {
                // Restarted from a snapshot: the list was rebuilt.
                *kv = NodeKv::default();
            }
            for (i, (_, data)) in applied.iter().enumerate().skip(kv.applied) {
                if !data.is_empty() {
                    kv.store.apply(i as Index + 1, data);
                }
            }
            kv.applied = applied.len();
        }
    }

    /// What happens next if nothing else is done, earliest first (at most `limit`): each
    /// message in flight and each node's next timer, with the action that makes it happen now.
    pub fn next_events(&self, limit: usize) -> Vec<NextEvent> {
        self.sim
            .pending()
            .into_iter()
            .take(limit)
            .map(|p| {
                let at = Duration::from_micros(p.at);
                let (text, action) = match p.what {
                    PendingKind::Delivery {
                        id,
                        from,
                        to,
                        kind,
                        term,
                        ..
                    } => (
                        format!("deliver #{id} {} {from}→{to} t{term}", kind.as_str()),
                        Some(Action::Deliver(id)),
                    ),
                    PendingKind::ElectionTimeout { node } => (
                        format!("node {node}'s election timer fires"),
                        Some(Action::Campaign(node)),
                    ),
                    PendingKind::Heartbeat { node } => {
                        (format!("node {node} sends heartbeats"), None)
                    }
                };
                NextEvent { at, text, action }
            })
            .collect()
    }

    /// Turns the reads of `get` actions that a leader confirmed since the last look into
    /// outcomes: the key's value as of the read index, on the node that served it.
    fn answer_gets(&mut self) {
        let served = self.sim.reads_served();
        for read in served.iter().skip(self.reads_seen) {
            let Some(key) = self.gets.remove(&read.ctx) else {
                continue;
            };
            // The value as of the read index: the commands applied up to it.
            let mut store = KvStore::default();
            for (i, (_, data)) in self
                .sim
                .applied(read.node)
                .iter()
                .take(read.index as usize)
                .enumerate()
            {
                if !data.is_empty() {
                    store.apply(i as Index + 1, data);
                }
            }
            let value = store.get(&key).unwrap_or("(none)");
            self.notes.push((
                Duration::from_micros(read.served_at),
                format!(
                    "get {key} → {value} (read at index {} on node {})",
                    read.index, read.node
                ),
            ));
        }
        self.reads_seen = served.len();
    }
}

/// What playing a run gives, in time order: within each [`FRAME_EVERY`], the events and the
/// actions' outcomes of that stretch, then the frame that ends it.
#[derive(Clone, Debug)]
pub enum Played {
    /// A capture of the cluster.
    Frame(ClusterView),
    /// Something the event bus would have carried.
    Event(Event),
    /// An action's outcome: (moment, text).
    Note(Duration, String),
}

/// How a played run ended.
#[derive(Clone, Debug)]
pub struct Ending {
    /// The safety property broken, if one was (the run stops there).
    pub broken: Option<SafetyBreak>,
    /// Simulator steps taken (ticks and deliveries).
    pub steps: u64,
}

/// Plays `run` from the start to `until` (or to its broken property), handing each frame,
/// event and outcome to `each` as it comes: memory stays flat however long the run.
pub fn play_each(
    run: Run,
    until: Duration,
    mut each: impl FnMut(Played),
) -> Result<Ending, RunError> {
    let mut lab = Lab::new(run)?;
    each(Played::Frame(lab.view(LogWant::default())));
    let mut t = Duration::ZERO;
    while t < until && lab.broken().is_none() {
        t = (t + FRAME_EVERY).min(until);
        lab.advance(t);
        for e in lab.take_events() {
            each(Played::Event(e));
        }
        for (at, text) in lab.take_notes() {
            each(Played::Note(at, text));
        }
        each(Played::Frame(lab.view(LogWant::default())));
    }
    Ok(Ending {
        broken: lab.broken().cloned(),
        steps: lab.sim.steps(),
    })
}

/// A run played to a moment, kept whole (for tests and short runs: [`play_each`] streams).
#[derive(Clone, Debug)]
pub struct Session {
    /// A capture every [`FRAME_EVERY`], from moment 0 to the end (or the broken property).
    pub frames: Vec<ClusterView>,
    /// Every event, oldest first.
    pub events: Vec<Event>,
    /// Each action's outcome: (moment, text).
    pub notes: Vec<(Duration, String)>,
    /// The safety property broken, if one was.
    pub broken: Option<SafetyBreak>,
    /// Simulator steps taken (ticks and deliveries).
    pub steps: u64,
}

/// Plays `run` to `until` and keeps everything.
pub fn play(run: Run, until: Duration) -> Result<Session, RunError> {
    let (mut frames, mut events, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    let ending = play_each(run, until, |p| match p {
        Played::Frame(f) => frames.push(f),
        Played::Event(e) => events.push(e),
        Played::Note(at, text) => notes.push((at, text)),
    })?;
    Ok(Session {
        frames,
        events,
        notes,
        broken: ending.broken,
        steps: ending.steps,
    })
}

/// A message in flight in a few words: "#412 AppendEntries 1→3 t4".
fn describe(m: &crate::sim::InFlight) -> String {
    format!(
        "#{} {} {}→{} t{}",
        m.id,
        m.msg.kind().as_str(),
        m.msg.from,
        m.msg.to,
        m.msg.term()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::Role;

    fn run(nodes: usize, seed: u64, actions: &[&str]) -> Run {
        let mut run = Run::new(Settings::new(nodes, seed));
        for a in actions {
            run.actions.push(a.parse().unwrap());
        }
        run
    }

    #[test]
    fn a_leader_is_elected_and_a_write_reaches_every_node() {
        let session = play(run(3, 1, &["6s put x 1"]), Duration::from_secs(10)).unwrap();
        let last = session.frames.last().unwrap();
        assert_eq!(last.at, Duration::from_secs(10));
        assert_eq!(
            last.status
                .nodes
                .iter()
                .filter(|n| n.status.role == Role::Leader)
                .count(),
            1
        );
        for id in 1..=3 {
            assert_eq!(
                last.kv[&id],
                vec![("x".to_string(), "1".to_string())],
                "{id}"
            );
        }
        assert!(session.notes[0].1.starts_with("put x 1 → sent to node"));
        assert!(session.broken.is_none());
    }

    #[test]
    fn the_same_run_draws_the_same_frames() {
        let r = run(
            5,
            9,
            &[
                "3s kill 1",
                "4s put a 1",
                "5s partition 1,2 3,4,5",
                "8s heal",
            ],
        );
        let a = play(r.clone(), Duration::from_secs(12)).unwrap();
        let b = play(r, Duration::from_secs(12)).unwrap();
        assert_eq!(a.frames, b.frames);
        assert_eq!(format!("{:?}", a.events), format!("{:?}", b.events));
        // And another seed another run.
        let c = play(run(5, 10, &[]), Duration::from_secs(12)).unwrap();
        assert_ne!(a.frames, c.frames);
    }

    #[test]
    fn next_events_name_each_pending_event_and_the_action_that_makes_it_happen() {
        let mut lab = Lab::new(run(3, 5, &[])).unwrap();
        // At the start nothing is in flight: three election timers, earliest first.
        let next = lab.next_events(10);
        assert_eq!(next.len(), 3, "{next:?}");
        assert!(next.windows(2).all(|w| w[0].at <= w[1].at));
        for e in &next {
            let Some(Action::Campaign(n)) = e.action else {
                panic!("{e:?}")
            };
            assert_eq!(e.text, format!("node {n}'s election timer fires"));
        }
        // Doing the first one's action now starts that election at once.
        let Some(Action::Campaign(n)) = next[0].action.clone() else {
            unreachable!()
        };
        lab.act(&Action::Campaign(n)).unwrap();
        let next = lab.next_events(usize::MAX);
        let votes: Vec<&NextEvent> = next
            .iter()
            .filter(|e| matches!(e.action, Some(Action::Deliver(_))))
            .collect();
        assert_eq!(
            votes.len(),
            2,
            "a vote request to each other node: {next:?}"
        );
        for e in &votes {
            assert!(
                e.text.starts_with("deliver #") && e.text.contains(&format!(" {n}→")),
                "{}",
                e.text
            );
        }
        assert_eq!(lab.next_events(1).len(), 1);
        // A leader's next timer is its heartbeat, which has no action.
        lab.advance(Duration::from_secs(10));
        let next = lab.next_events(usize::MAX);
        let beats: Vec<&NextEvent> = next
            .iter()
            .filter(|e| e.text.ends_with("sends heartbeats"))
            .collect();
        assert_eq!(beats.len(), 1, "{next:?}");
        assert_eq!(beats[0].action, None);
    }

    #[test]
    fn messages_are_delivered_dropped_and_duplicated_by_id() {
        let mut lab = Lab::new(run(3, 5, &[])).unwrap();
        lab.act(&Action::Campaign(1)).unwrap();
        let ids: Vec<u64> = lab
            .next_events(usize::MAX)
            .into_iter()
            .filter_map(|e| match e.action {
                Some(Action::Deliver(id)) => Some(id),
                _ => None,
            })
            .collect();
        let text = lab.act(&Action::Deliver(ids[0])).unwrap();
        assert!(
            text.starts_with(&format!("delivered #{} ", ids[0])),
            "{text}"
        );
        let text = lab.act(&Action::Drop(ids[1])).unwrap();
        assert!(text.starts_with(&format!("dropped #{} ", ids[1])), "{text}");
        for action in [Action::Deliver(ids[1]), Action::Drop(ids[0])] {
            let text = lab.act(&action).unwrap();
            assert!(text.contains("is in flight"), "{action}: {text}");
        }
        let text = lab.act(&Action::Duplicate(424_242)).unwrap();
        assert!(text.contains("no message #424242"), "{text}");
    }

    #[test]
    fn a_get_answers_with_the_value_at_its_read_index() {
        let session = play(
            run(3, 1, &["6s put x 1", "8s get x", "9s get y"]),
            Duration::from_secs(12),
        )
        .unwrap();
        let notes: Vec<&str> = session.notes.iter().map(|(_, t)| t.as_str()).collect();
        assert!(
            notes
                .iter()
                .any(|t| t.starts_with("get x → 1 (read at index ")),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|t| t.starts_with("get y → (none)")),
            "{notes:?}"
        );
    }

    #[test]
    fn a_transfer_moves_the_leader() {
        let mut lab = Lab::new(run(3, 1, &[])).unwrap();
        lab.advance(Duration::from_secs(8));
        let leader = lab.sim.leader().unwrap();
        let to = leader % 3 + 1;
        let text = lab.act(&Action::Transfer(to)).unwrap();
        assert_eq!(text, format!("node {leader} hands leadership to node {to}"));
        lab.advance(Duration::from_secs(12));
        assert_eq!(lab.sim.leader(), Some(to));
        let text = lab.act(&Action::Transfer(to)).unwrap();
        assert!(text.contains("refused"), "{text}");
    }

    #[test]
    fn a_link_delay_and_drop_reach_the_simulated_network() {
        let mut lab = Lab::new(run(3, 5, &[])).unwrap();
        lab.act(&"link 1 2 delay 700ms".parse().unwrap()).unwrap();
        lab.act(&"link 1 2 drop 0.5".parse().unwrap()).unwrap();
        let fault = lab.sim.network().link_fault(1, 2);
        assert_eq!(fault.delay, 700_000);
        assert_eq!(fault.drop_rate, 0.5);
        assert_eq!(lab.sim.network().link_fault(2, 1), LinkFault::default());
        lab.act(&Action::Heal).unwrap();
        assert_eq!(lab.sim.network().link_fault(1, 2), LinkFault::default());
    }

    #[test]
    fn a_killed_node_shows_down_with_its_last_state_and_comes_back() {
        let session = play(
            run(3, 2, &["5s kill 2", "8s restart 2"]),
            Duration::from_secs(12),
        )
        .unwrap();
        let at = |t: u64| &session.frames[(t * 10) as usize];
        let down = &at(6).status.nodes[1];
        assert!(!down.up);
        assert!(down.status.term >= 1, "{down:?}");
        assert!(at(11).status.nodes[1].up);
    }
}
