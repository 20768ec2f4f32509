//! The dashboard, drawn and driven without a cluster: the helpers every test of it shares.
//!
//! Every `ClusterView` here is built by hand (see "Building views"), so the screens are exact and
//! stable: the only times in the state are the ones the tests put there. The tests live in one
//! file per subject under `dashboard_view/`:
//!
//! - `screens`: whole screens, drawn on ratatui's `TestBackend` in the mono theme and compared
//!   with insta snapshots under `tests/it/snapshots/` (each state at 80×24 and 140×45, plus a
//!   too-small screen and a nine-node cluster at 200×60), zoomed and with the bottom panel
//!   switched; and that no word is cut at a panel's edge at any size from 80×24 to 200×60;
//! - `header`, `ring`, `table`, `logs`, `panels`, `overlays`: widgets, one claim about one panel
//!   each (the header names the leader, a down node's row shows ✕, the commit index is marked ┃,
//!   ...), so a failure says what broke;
//! - `keys`, `prompt`, `mouse`, `events`: `AppState::update` / `on_key` / `on_mouse` /
//!   `apply_view` / `apply_event`, each action's change to the state and the effects it asks of
//!   the cluster;
//! - `verdict`: the verdict on the history and the nemesis: the footer's status segment in each
//!   state (also as whole screens), the history overlay, `apply_notice`, and the keys and commands
//!   that start a nemesis or show and save the history.
//!
//! Write or refresh the snapshots with `INSTA_UPDATE=always cargo test --release --test it
//! dashboard_view`, then read the `.snap` files before committing them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::Terminal;

use raftlab::check::{self, CheckResult, Counts, KvOp, KvOutput, Operation};
use raftlab::cluster::{ClusterStatus, InFlightInfo, NodeState, Preset};
use raftlab::command::prompt::PromptCommand;
use raftlab::node::{Event, EventKind};
use raftlab::observe::cluster_view::{ClusterView, LogWindow};
use raftlab::observe::feed::{self, Category, FeedKind};
use raftlab::raft::{
    AppendRejectReason, Index, MessageKind, NodeId, PeerProgress, ProgressState, Role, Status,
    Term, TraceEvent,
};
use raftlab::tui::action::Action;
use raftlab::tui::app::{self, AppState, Effect, Focus, NemesisView, Notice, Panel, Theme};
use raftlab::tui::narration::Narration;
use raftlab::tui::view::{self, ViewLayout};

mod events;
mod guided;
mod header;
mod keys;
mod logs;
mod mouse;
mod overlays;
mod panels;
mod pending;
mod prompt;
mod ring;
mod screens;
mod table;
mod verdict;

// ----------------------------------------------------------------------------------------------
// Building views
// ----------------------------------------------------------------------------------------------

/// One node of a synthetic cluster; its id is its position in the list, plus one.
#[derive(Clone, Debug)]
struct Spec {
    role: Role,
    term: Term,
    /// The term of each entry, index 1 first.
    log: Vec<Term>,
    commit: Index,
    applied: Index,
    up: bool,
    voted_for: Option<NodeId>,
    leader: Option<NodeId>,
    slow_ms: u64,
    clock_rate: f64,
}

impl Spec {
    fn new(role: Role, term: Term, log: &[Term], commit: Index) -> Spec {
        Spec {
            role,
            term,
            log: log.to_vec(),
            commit,
            applied: commit,
            up: true,
            voted_for: None,
            leader: None,
            slow_ms: 0,
            clock_rate: 1.0,
        }
    }

    /// Follows `leader` (and voted for it).
    fn led_by(mut self, leader: NodeId) -> Spec {
        self.leader = Some(leader);
        self.voted_for = Some(leader);
        self
    }

    /// Not running (its status is the last one it published).
    fn down(mut self) -> Spec {
        self.up = false;
        self
    }

    fn applied(mut self, applied: Index) -> Spec {
        self.applied = applied;
        self
    }

    fn slow(mut self, ms: u64) -> Spec {
        self.slow_ms = ms;
        self
    }

    fn clock(mut self, rate: f64) -> Spec {
        self.clock_rate = rate;
        self
    }
}

fn leader(term: Term, log: &[Term], commit: Index) -> Spec {
    Spec::new(Role::Leader, term, log, commit)
}

fn follower(term: Term, log: &[Term], commit: Index) -> Spec {
    Spec::new(Role::Follower, term, log, commit)
}

fn candidate(term: Term, log: &[Term], commit: Index) -> Spec {
    Spec::new(Role::Candidate, term, log, commit)
}

/// What one core believes, as `Status` says it. Leaders get their progress in [`make_view`].
fn status(id: NodeId, s: &Spec) -> Status {
    let is_leader = s.role == Role::Leader;
    Status {
        id,
        role: s.role,
        term: s.term,
        // Leaders and candidates voted for themselves.
        voted_for: if s.role == Role::Follower {
            s.voted_for
        } else {
            Some(id)
        },
        leader_id: if is_leader { Some(id) } else { s.leader },
        commit: s.commit,
        applied: s.applied,
        last_log_index: s.log.len() as Index,
        last_log_term: s.log.last().copied().unwrap_or(0),
        persisted_index: s.log.len() as Index,
        first_index: 1,
        snapshot_index: 0,
        snapshot_term: 0,
        snapshot_bytes: 0,
        receiving_snapshot: None,
        election_elapsed: (id as u32 * 5) % 17,
        election_timeout: 17 + (id as u32 % 3),
        progress: Vec::new(),
        pre_candidate: false,
        transfer_target: None,
        voters: Vec::new(),
        learners: Vec::new(),
        conf_pending: false,
    }
}

/// What the supervisor knows about node `status.id`.
fn node_state(status: Status, up: bool, kv_len: usize) -> NodeState {
    NodeState {
        id: status.id,
        addr: SocketAddr::from(([127, 0, 0, 1], 7000 + status.id as u16)),
        up,
        status,
        kv_len,
        clock_rate: 1.0,
        slow: Duration::ZERO,
    }
}

/// The key-value contents after applying entries 1..=applied (entry i writes `x`, `y` or `z`).
fn kv_after(applied: Index) -> Vec<(String, String)> {
    let mut kv = BTreeMap::new();
    for i in 1..=applied {
        kv.insert(
            ["x", "y", "z"][(i % 3) as usize].to_string(),
            format!("v{i}"),
        );
    }
    kv.into_iter().collect()
}

/// Length of the common prefix of two logs.
fn matching(a: &[Term], b: &[Term]) -> Index {
    a.iter().zip(b).take_while(|(x, y)| x == y).count() as Index
}

/// A cluster of `specs.len()` nodes, healed, running, fast preset, at 12.345 s. Each leader's
/// progress follows from the logs: match = the common prefix, next = match + 1.
fn make_view(specs: &[Spec]) -> ClusterView {
    let mut nodes = Vec::new();
    let mut logs = BTreeMap::new();
    let mut kv = BTreeMap::new();
    for (i, s) in specs.iter().enumerate() {
        let id = i as NodeId + 1;
        let mut st = status(id, s);
        st.voters = (1..=specs.len() as NodeId).collect();
        if s.role == Role::Leader {
            st.progress = specs
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(j, p)| {
                    let m = matching(&s.log, &p.log);
                    PeerProgress {
                        id: j as NodeId + 1,
                        match_index: m,
                        next_index: m + 1,
                        state: if m == s.log.len() as Index {
                            ProgressState::Replicate
                        } else {
                            ProgressState::Probe
                        },
                        inflight: 0,
                        snapshot_transfer: None,
                    }
                })
                .collect();
        }
        let contents = kv_after(s.applied);
        let mut n = node_state(st, s.up, contents.len());
        n.slow = Duration::from_millis(s.slow_ms);
        n.clock_rate = s.clock_rate;
        nodes.push(n);
        logs.insert(
            id,
            LogWindow {
                entries: s
                    .log
                    .iter()
                    .enumerate()
                    .map(|(k, t)| (k as Index + 1, *t))
                    .collect(),
            },
        );
        kv.insert(id, contents);
    }
    let all: Vec<NodeId> = (1..=specs.len() as NodeId).collect();
    ClusterView {
        at: Duration::from_millis(12_345),
        status: ClusterStatus {
            nodes,
            paused: false,
            speed: 1.0,
            preset: Preset::Fast,
            tick: Duration::from_millis(10),
            groups: vec![all],
            cut_links: Vec::new(),
        },
        in_flight: Vec::new(),
        links: Vec::new(),
        logs,
        kv,
    }
}

/// Cuts every link between the groups (both directions) and records the groups, largest first.
fn partition(view: &mut ClusterView, groups: &[&[NodeId]]) {
    let mut groups: Vec<Vec<NodeId>> = groups.iter().map(|g| g.to_vec()).collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
    let mut cut = Vec::new();
    for (i, a) in groups.iter().enumerate() {
        for (j, b) in groups.iter().enumerate() {
            if i != j {
                for x in a {
                    for y in b {
                        cut.push((*x, *y));
                    }
                }
            }
        }
    }
    cut.sort();
    view.status.groups = groups;
    view.status.cut_links = cut;
}

/// Entries 1..=8 of a cluster that elected its leader in term 4.
const LOG_T4: [Term; 8] = [1, 1, 2, 4, 4, 4, 4, 4];

/// (a) Node 3 leads term 4; all five nodes hold and have applied entries 1..=8.
fn elected() -> ClusterView {
    make_view(&[
        follower(4, &LOG_T4, 8).led_by(3),
        follower(4, &LOG_T4, 8).led_by(3),
        leader(4, &LOG_T4, 8),
        follower(4, &LOG_T4, 8).led_by(3),
        follower(4, &LOG_T4, 8).led_by(3),
    ])
}

/// (b) Node 2 was killed after entry 6; the others went on to entry 10.
fn one_down() -> ClusterView {
    let long: Vec<Term> = LOG_T4.iter().copied().chain([4, 4]).collect();
    make_view(&[
        follower(4, &long, 10).led_by(3),
        follower(4, &LOG_T4[..6], 6).led_by(3).down(),
        leader(4, &long, 10),
        follower(4, &long, 10).led_by(3),
        follower(4, &long, 10).led_by(3),
    ])
}

/// (c) Partition {1,2} {3,4,5}: node 1, leader of term 3, is in the minority with an entry it
/// cannot commit (index 8); node 4 leads term 4 in the majority and committed index 9.
fn partitioned() -> ClusterView {
    let old: [Term; 8] = [1, 1, 2, 3, 3, 3, 3, 3];
    let new: [Term; 9] = [1, 1, 2, 3, 3, 3, 3, 4, 4];
    let mut v = make_view(&[
        leader(3, &old, 7),
        follower(3, &old, 7).led_by(1),
        follower(4, &new, 9).led_by(4),
        leader(4, &new, 9),
        follower(4, &new, 9).led_by(4),
    ]);
    partition(&mut v, &[&[1, 2], &[3, 4, 5]]);
    v
}

/// (d) Figure 7 of the paper, in small: node 3 leads term 6 with entries of terms 5 and 6 at
/// 5..=7; node 1 holds entries of term 3 at 5..=8 (the `!` cells), node 2 is behind.
fn divergent() -> ClusterView {
    let lead: [Term; 7] = [1, 1, 2, 2, 5, 5, 6];
    make_view(&[
        follower(6, &[1, 1, 2, 2, 3, 3, 3, 3], 4).led_by(3),
        follower(6, &lead[..5], 4).led_by(3),
        leader(6, &lead, 7),
        follower(6, &lead, 7).led_by(3),
        follower(6, &lead, 7).led_by(3),
    ])
}

fn msg(id: u64, from: NodeId, to: NodeId, kind: MessageKind, summary: &str) -> InFlightInfo {
    InFlightInfo {
        id,
        from,
        to,
        kind,
        term: 4,
        sent_at: Duration::from_millis(12_100 + id),
        due_at: Duration::from_millis(12_500 + id),
        summary: summary.to_string(),
    }
}

/// Four messages on the wire of the `elected` cluster.
fn four_messages() -> Vec<InFlightInfo> {
    vec![
        msg(
            41,
            3,
            1,
            MessageKind::AppendEntries,
            "3->1 AppendEntries{term:4 prev:8/4 commit:8 entries:9..=9 (1)}",
        ),
        msg(
            42,
            3,
            2,
            MessageKind::Heartbeat,
            "3->2 AppendEntries{term:4 prev:8/4 commit:8 heartbeat}",
        ),
        msg(
            43,
            4,
            3,
            MessageKind::AppendEntriesReply,
            "4->3 AppendEntriesReply{term:4 ok match:8}",
        ),
        msg(44, 3, 5, MessageKind::TimeoutNow, "3->5 TimeoutNow{term:4}"),
    ]
}

/// (e) The `elected` cluster paused (teach preset) with four messages in flight.
fn paused_in_flight() -> ClusterView {
    let mut v = elected();
    v.status.paused = true;
    v.status.preset = Preset::Teach;
    v.status.tick = Duration::from_millis(100);
    v.in_flight = four_messages();
    v
}

/// Nine nodes: node 5 leads term 7 over 40 entries, node 9 is isolated and behind, node 2 is
/// slowed, node 6 is still applying, node 7's clock runs fast, node 8 is down.
fn nine_nodes() -> ClusterView {
    let log: Vec<Term> = (1..=40u64)
        .map(|i| match i {
            1..=6 => 1,
            7..=15 => 3,
            16..=30 => 5,
            _ => 7,
        })
        .collect();
    let mut specs: Vec<Spec> = (1..=9)
        .map(|_| follower(7, &log[..38], 38).led_by(5))
        .collect();
    specs[4] = leader(7, &log, 38);
    specs[1] = specs[1].clone().slow(300);
    specs[6] = specs[6].clone().clock(2.0);
    specs[5] = specs[5].clone().applied(36);
    specs[7] = follower(7, &log[..33], 33).led_by(5).down();
    specs[8] = candidate(9, &log[..30], 30);
    let mut v = make_view(&specs);
    let others: Vec<NodeId> = (1..=8).collect();
    partition(&mut v, &[&others, &[9]]);
    v
}

/// Compacts node `id`'s log into a snapshot ending at `index`: the status says so and the log
/// window holds only the entries after it (as the poller's ReadLog returns them).
fn compact(view: &mut ClusterView, id: NodeId, index: Index, bytes: u64) {
    let window = view.logs.entry(id).or_default();
    let term = window
        .term(index)
        .expect("the snapshot's last entry is in the log");
    window.entries.retain(|(i, _)| *i > index);
    let s = &mut view.status.nodes[id as usize - 1].status;
    s.snapshot_index = index;
    s.snapshot_term = term;
    s.snapshot_bytes = bytes;
    s.first_index = index + 1;
}

/// Entries 1..=48: term 1 up to 6, term 2 up to 25, then term 4.
fn log_48() -> Vec<Term> {
    (1..=48u64)
        .map(|i| match i {
            1..=6 => 1,
            7..=25 => 2,
            _ => 4,
        })
        .collect()
}

/// (f) Node 3 leads term 4 over 48 entries and compacted them up to 40 (a 1,024-byte
/// snapshot); so did nodes 1 and 5, node 4 only up to 20. Node 2 came back holding 12 entries:
/// what it needs next is compacted away, so the leader sends it the snapshot, in chunks; 512
/// bytes are confirmed and the chunk from 512 is on the wire (with node 2's last reply).
fn snapshot_transfer() -> ClusterView {
    let log = log_48();
    let mut v = make_view(&[
        follower(4, &log, 48).led_by(3),
        follower(4, &log[..12], 12).led_by(3),
        leader(4, &log, 48),
        follower(4, &log, 48).led_by(3),
        follower(4, &log, 48).led_by(3),
    ]);
    for id in [1, 3, 5] {
        compact(&mut v, id, 40, 1_024);
    }
    compact(&mut v, 4, 20, 512);
    v.status.nodes[1].status.receiving_snapshot = Some((40, 512));
    let to_2 = v.status.nodes[2]
        .status
        .progress
        .iter_mut()
        .find(|p| p.id == 2)
        .expect("the leader's progress for node 2");
    to_2.state = ProgressState::Snapshot;
    to_2.inflight = 1;
    to_2.snapshot_transfer = Some((40, 512, 1_024));
    v.in_flight = vec![
        msg(
            51,
            3,
            2,
            MessageKind::InstallSnapshot,
            "3->2 InstallSnapshot{term:4 last:40/4 bytes:512..768}",
        ),
        msg(
            52,
            2,
            3,
            MessageKind::InstallSnapshotReply,
            "2->3 InstallSnapshotReply{term:4 last:40 next:512}",
        ),
    ];
    v
}

/// What the bus said while node 3 compacted its log and began sending node 2 the snapshot.
fn snapshot_story() -> Vec<Event> {
    vec![
        trace(
            9_000,
            4,
            TraceEvent::SnapshotTaken {
                index: 20,
                term: 2,
                bytes: 512,
            },
        ),
        trace(
            11_000,
            3,
            TraceEvent::SnapshotTaken {
                index: 40,
                term: 4,
                bytes: 1_024,
            },
        ),
        trace(
            11_010,
            1,
            TraceEvent::SnapshotTaken {
                index: 40,
                term: 4,
                bytes: 1_024,
            },
        ),
        ev(11_900, 2, EventKind::NodeUp),
        trace(
            12_000,
            3,
            TraceEvent::SnapshotSending {
                to: 2,
                index: 40,
                bytes: 1_024,
                next_index: 13,
            },
        ),
    ]
}

/// The view with node `id`'s extra delay and clock rate set.
fn with_faults(id: NodeId, slow_ms: u64, clock: f64) -> ClusterView {
    let mut v = elected();
    let n = &mut v.status.nodes[id as usize - 1];
    n.slow = Duration::from_millis(slow_ms);
    n.clock_rate = clock;
    v
}

/// The `elected` cluster with a link that loses or delays messages from `from` to `to`.
fn with_link(
    mut v: ClusterView,
    from: NodeId,
    to: NodeId,
    drop_rate: f64,
    delay_ms: u64,
) -> ClusterView {
    v.links.push(raftlab::observe::cluster_view::LinkFault {
        from,
        to,
        drop_rate,
        delay: Duration::from_millis(delay_ms),
        jitter: Duration::ZERO,
    });
    v
}

/// The `elected` cluster with 100 entries on every node.
fn long_logs() -> ClusterView {
    let log: Vec<Term> = (1..=100).map(|i| if i < 10 { 1 } else { 4 }).collect();
    make_view(&[
        follower(4, &log, 100).led_by(3),
        follower(4, &log, 100).led_by(3),
        leader(4, &log, 100),
        follower(4, &log, 100).led_by(3),
        follower(4, &log, 100).led_by(3),
    ])
}

// ----------------------------------------------------------------------------------------------
// Building states
// ----------------------------------------------------------------------------------------------

fn ev(at_ms: u64, node: NodeId, kind: EventKind) -> Event {
    Event {
        at: Duration::from_millis(at_ms),
        node,
        kind,
    }
}

fn trace(at_ms: u64, node: NodeId, t: TraceEvent) -> Event {
    ev(at_ms, node, EventKind::Trace(t))
}

/// What the bus said while node 3 won term 4 and took a write.
fn election_story() -> Vec<Event> {
    vec![
        trace(
            1_020,
            3,
            TraceEvent::ElectionTimeout {
                term: 3,
                timeout: 17,
            },
        ),
        trace(1_020, 3, TraceEvent::BecameCandidate { term: 4 }),
        ev(
            1_021,
            3,
            EventKind::MessageSent {
                id: 7,
                from: 3,
                to: 1,
                kind: MessageKind::RequestVote,
                term: 4,
                delay: Duration::from_millis(3),
            },
        ),
        trace(1_024, 1, TraceEvent::VoteGranted { to: 3, term: 4 }),
        trace(
            1_031,
            3,
            TraceEvent::VoteReceived {
                from: 1,
                term: 4,
                granted: true,
                granted_total: 2,
                needed: 3,
            },
        ),
        trace(
            1_033,
            3,
            TraceEvent::VoteReceived {
                from: 5,
                term: 4,
                granted: true,
                granted_total: 3,
                needed: 3,
            },
        ),
        trace(1_033, 3, TraceEvent::BecameLeader { term: 4 }),
        trace(
            1_040,
            1,
            TraceEvent::LeaderChanged {
                leader: Some(3),
                term: 4,
            },
        ),
        trace(1_052, 3, TraceEvent::CommitAdvanced { from: 3, to: 4 }),
        ev(
            2_400,
            3,
            EventKind::Client {
                op: "put x 7".into(),
                outcome: "ok".into(),
                latency: Duration::from_micros(4_200),
            },
        ),
        trace(2_404, 3, TraceEvent::CommitAdvanced { from: 7, to: 8 }),
        ev(
            2_410,
            3,
            EventKind::MessageDelivered {
                id: 9,
                from: 3,
                to: 2,
                kind: MessageKind::AppendEntries,
            },
        ),
    ]
}

/// Puts a guided scenario on the dashboard, stopped at step 3 of 8 with `say` as its text.
fn with_scenario(state: &mut AppState, say: &str) {
    let mut n = Narration::new(
        "figure-8",
        "Figure 8: why a leader counts only its own term's entries",
        8,
        true,
    );
    n.step = (3, 8);
    n.say = Some(say.to_string());
    n.describe = "isolate 1".into();
    n.waiting_for_user = true;
    n.push(true, "put x 1 -> ok".into());
    state.narration = Some(n);
}

/// A mono dashboard showing `view`, with `events` in its feed.
fn app_with(view: ClusterView, events: Vec<Event>) -> AppState {
    let mut state = AppState::new(view.status.nodes.len(), Theme::Mono);
    // The defaults, as the dashboard shows them.
    state.rules_in_force = Some(raftlab::node::Rules::default().in_force());
    state.apply_view(view);
    for e in events {
        state.apply_event(e);
    }
    state
}

/// A key press as crossterm reports it (upper-case letters come with SHIFT).
fn key(c: char) -> KeyEvent {
    let m = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    KeyEvent::new(KeyCode::Char(c), m)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// Types `text` one key at a time; returns every effect asked for.
fn type_keys(state: &mut AppState, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| state.on_key(key(c))).collect()
}

fn click(column: u16, row: u16) -> MouseEvent {
    MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }
}

fn run(c: PromptCommand) -> Vec<Effect> {
    vec![Effect::Run(c)]
}

// ----------------------------------------------------------------------------------------------
// Drawing and reading the screen
// ----------------------------------------------------------------------------------------------

/// Draws `state` at `w`×`h`; the layout the view writes is dropped (see [`draw_keeping_layout`]).
fn draw(state: &AppState, w: u16, h: u16) -> Terminal<TestBackend> {
    draw_with_layout(state, w, h).0
}

/// Draws `state` at `w`×`h`; returns the screen and where the view put things.
fn draw_with_layout(state: &AppState, w: u16, h: u16) -> (Terminal<TestBackend>, ViewLayout) {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    let mut layout = state.layout;
    terminal
        .draw(|f| view::view(state, &mut layout, f))
        .expect("the test backend never fails");
    (terminal, layout)
}

/// Draws `state` as the dashboard does after every frame: the layout the view wrote (the ring,
/// how many log cells fit, how far the overlay scrolls) stays in the state for the next keys
/// and clicks.
fn draw_keeping_layout(state: &mut AppState, w: u16, h: u16) -> Terminal<TestBackend> {
    let (terminal, layout) = draw_with_layout(state, w, h);
    state.layout = layout;
    terminal
}

/// Where the view puts things when it draws `state` at `w`×`h`.
fn layout(state: &AppState, w: u16, h: u16) -> ViewLayout {
    draw_with_layout(state, w, h).1
}

/// The two sizes every whole screen is drawn at.
const SIZES: [(u16, u16); 2] = [(80, 24), (140, 45)];

/// Draws `state` at `w`×`h` and compares the screen with the snapshot `{name}_{w}x{h}`.
fn snapshot(name: &str, state: &AppState, w: u16, h: u16) {
    let terminal = draw(state, w, h);
    insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
}

/// The drawn screen as text: one string of symbols per cell, cells hidden by a wide symbol
/// left empty.
struct Screen {
    cells: Vec<Vec<String>>,
}

impl Screen {
    fn of(state: &AppState, w: u16, h: u16) -> Screen {
        let terminal = draw(state, w, h);
        let buf = terminal.backend().buffer();
        let mut cells = Vec::new();
        for y in 0..h {
            let mut row = Vec::new();
            let mut skip = 0usize;
            for x in 0..w {
                let sym = buf.cell((x, y)).map_or(" ", |c| c.symbol()).to_string();
                if skip > 0 {
                    skip -= 1;
                    row.push(String::new());
                } else {
                    skip = Span::raw(sym.as_str()).width().saturating_sub(1);
                    row.push(sym);
                }
            }
            cells.push(row);
        }
        Screen { cells }
    }

    fn width(&self) -> usize {
        self.cells.first().map_or(0, Vec::len)
    }

    fn cell(&self, x: usize, y: usize) -> &str {
        self.cells
            .get(y)
            .and_then(|r| r.get(x))
            .map_or("", String::as_str)
    }

    /// Row `y` from column `x0` (inclusive) to `x1` (exclusive).
    fn span(&self, y: usize, x0: usize, x1: usize) -> String {
        self.cells
            .get(y)
            .map(|r| r[x0.min(r.len())..x1.min(r.len())].concat())
            .unwrap_or_default()
    }

    fn row(&self, y: usize) -> String {
        self.span(y, 0, self.width())
    }

    fn text(&self) -> String {
        (0..self.cells.len())
            .map(|y| self.row(y))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn rect(&self, r: Rect) -> Vec<String> {
        (r.y..r.y + r.height)
            .map(|y| self.span(y.into(), r.x.into(), (r.x + r.width).into()))
            .collect()
    }

    /// The cell where `needle` starts, scanning rows top to bottom.
    fn find(&self, needle: &str) -> Option<(usize, usize)> {
        for y in 0..self.cells.len() {
            for x in 0..self.width() {
                if self.span(y, x, self.width()).starts_with(needle) {
                    return Some((x, y));
                }
            }
        }
        None
    }

    /// The inside of the bordered block whose title contains `title`, one string per row (on a
    /// small screen its corners may be joints it shares with the panels around it).
    fn block(&self, title: &str) -> Vec<String> {
        let (tx, ty) = self
            .find(title)
            .unwrap_or_else(|| panic!("no block titled {title:?} in\n{}", self.text()));
        let x0 = (0..=tx)
            .rev()
            .find(|x| matches!(self.cell(*x, ty), "┌" | "├"))
            .expect("the block's top-left corner");
        let x1 = (tx..self.width())
            .find(|x| matches!(self.cell(*x, ty), "┐" | "┤"))
            .expect("the block's top-right corner");
        let y1 = (ty + 1..self.cells.len())
            .find(|y| matches!(self.cell(x0, *y), "└" | "├"))
            .expect("the block's bottom-left corner");
        (ty + 1..y1).map(|y| self.span(y, x0 + 1, x1)).collect()
    }
}

/// The node table: the columns right of the ring, on the ring's rows (borders included).
fn table_rows(state: &AppState, screen: &Screen) -> Vec<String> {
    let w = screen.width() as u16;
    let ring = layout(state, w, screen.cells.len() as u16).ring;
    screen.rect(Rect {
        x: ring.right(),
        y: ring.y,
        width: w - ring.right(),
        height: ring.height,
    })
}

/// The text of the log row of `node` (label included), from the logs block.
fn log_row(screen: &Screen, node: NodeId) -> String {
    let rows = screen.block(" logs (");
    rows.get(node as usize)
        .cloned()
        .unwrap_or_else(|| panic!("no log row for node {node}"))
}

/// The three characters of `index`'s cell in a log row whose window starts at `first`.
fn log_cell(row: &str, first: Index, index: Index) -> String {
    row.chars()
        .skip(view::logs::LABEL as usize + ((index - first) * u64::from(view::logs::CELL)) as usize)
        .take(view::logs::CELL as usize)
        .collect()
}
