//! The dashboard, drawn and driven without a cluster.
//!
//! Every `ClusterView` here is built by hand (see "Building views"), so the screens are exact and
//! stable: the only times in the state are the ones the tests put there. Three kinds of tests:
//!
//! 1. whole screens, drawn on ratatui's `TestBackend` in the mono theme and compared with insta
//!    snapshots under `tests/snapshots/` (each state at 80×24 and 140×45, plus a too-small screen
//!    and a nine-node cluster at 200×60);
//! 2. widgets: one claim about one panel each (the header names the leader, a down node's row
//!    shows ✕, the commit index is marked ┃, ...), so a failure says what broke;
//! 3. `AppState::update` / `on_key` / `on_mouse` / `apply_view` / `apply_event`: each action's
//!    change to the state and the effects it asks of the cluster;
//! 4. the verdict on the history and the nemesis: the footer's status segment in each state (also
//!    as whole screens), the history overlay, `apply_notice`, and the keys and commands that
//!    start a nemesis or show and save the history.
//!
//! Write or refresh the snapshots with `INSTA_UPDATE=always cargo test --test dashboard_view`,
//! then read the `.snap` files before committing them.

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
use raftlab::raft::{
    AppendRejectReason, Index, MessageKind, NodeId, PeerProgress, ProgressState, Role, Status,
    Term, TraceEvent,
};
use raftlab::tui::action::Action;
use raftlab::tui::app::{
    self, AppState, Category, Effect, FeedKind, Focus, NemesisView, Notice, Theme,
};
use raftlab::tui::snapshot::{ClusterView, LogWindow};
use raftlab::tui::view::{self, logs, ring};

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

/// A mono dashboard showing `view`, with `events` in its feed.
fn app_with(view: ClusterView, events: Vec<Event>) -> AppState {
    let mut state = AppState::new(view.status.nodes.len(), Theme::Mono);
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

fn draw(state: &AppState, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    terminal
        .draw(|f| view::view(state, f))
        .expect("the test backend never fails");
    terminal
}

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

    /// The inside of the bordered block whose title contains `title`, one string per row.
    fn block(&self, title: &str) -> Vec<String> {
        let (tx, ty) = self
            .find(title)
            .unwrap_or_else(|| panic!("no block titled {title:?} in\n{}", self.text()));
        let x0 = (0..=tx)
            .rev()
            .find(|x| self.cell(*x, ty) == "┌")
            .expect("the block's top-left corner");
        let x1 = (tx..self.width())
            .find(|x| self.cell(*x, ty) == "┐")
            .expect("the block's top-right corner");
        let y1 = (ty + 1..self.cells.len())
            .find(|y| self.cell(x0, *y) == "└")
            .expect("the block's bottom-left corner");
        (ty + 1..y1).map(|y| self.span(y, x0 + 1, x1)).collect()
    }
}

/// The node table: the columns right of the ring, on the ring's rows (borders included).
fn table_rows(state: &AppState, screen: &Screen) -> Vec<String> {
    let ring = state.ring_area.get();
    let w = screen.width() as u16;
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
        .skip(logs::LABEL as usize + ((index - first) * u64::from(logs::CELL)) as usize)
        .take(logs::CELL as usize)
        .collect()
}

// ----------------------------------------------------------------------------------------------
// 1. Whole screens
// ----------------------------------------------------------------------------------------------

const SIZES: [(u16, u16); 2] = [(80, 24), (140, 45)];

#[test]
fn screen_leader_elected() {
    let state = app_with(elected(), election_story());
    for (w, h) in SIZES {
        snapshot("leader_elected", &state, w, h);
    }
}

#[test]
fn screen_one_node_down() {
    let mut events = election_story();
    events.push(ev(
        9_000,
        2,
        EventKind::NodeDown("killed from the dashboard".into()),
    ));
    events.push(ev(9_000, 0, EventKind::Fault("kill 2".into())));
    let mut state = app_with(one_down(), events);
    state.selected = 2;
    for (w, h) in SIZES {
        snapshot("one_node_down", &state, w, h);
    }
}

#[test]
fn screen_partition_old_leader_in_minority() {
    let events = vec![
        ev(
            8_000,
            0,
            EventKind::Fault("partition [[1, 2], [3, 4, 5]]".into()),
        ),
        ev(
            8_100,
            1,
            EventKind::MessageDropped {
                id: 88,
                from: 1,
                to: 3,
                kind: MessageKind::AppendEntries,
                why: "link cut".into(),
            },
        ),
        trace(
            8_350,
            4,
            TraceEvent::ElectionTimeout {
                term: 3,
                timeout: 18,
            },
        ),
        trace(8_350, 4, TraceEvent::BecameCandidate { term: 4 }),
        trace(8_362, 4, TraceEvent::BecameLeader { term: 4 }),
        trace(8_380, 4, TraceEvent::CommitAdvanced { from: 7, to: 9 }),
    ];
    let state = app_with(partitioned(), events);
    for (w, h) in SIZES {
        snapshot("partition_old_leader_in_minority", &state, w, h);
    }
}

#[test]
fn screen_divergent_logs() {
    let events = vec![
        trace(
            5_000,
            3,
            TraceEvent::LeaderChanged {
                leader: Some(3),
                term: 6,
            },
        ),
        trace(5_010, 3, TraceEvent::CommitAdvanced { from: 4, to: 7 }),
        trace(
            5_020,
            1,
            TraceEvent::AppendRejected {
                to: 3,
                term: 6,
                reason: AppendRejectReason::TermMismatch {
                    index: 7,
                    ours: 3,
                    theirs: 6,
                },
                conflict_index: 5,
                conflict_term: 3,
            },
        ),
    ];
    let mut state = app_with(divergent(), events);
    state.selected = 1;
    for (w, h) in SIZES {
        snapshot("divergent_logs", &state, w, h);
    }
}

#[test]
fn screen_paused_with_a_message_selected() {
    let mut state = app_with(paused_in_flight(), election_story());
    state.selected = 3;
    state.message = Some(0);
    for (w, h) in SIZES {
        snapshot("paused_message_selected", &state, w, h);
    }
}

#[test]
fn screen_help_overlay() {
    let mut state = app_with(elected(), election_story());
    state.focus = Focus::Help;
    for (w, h) in SIZES {
        snapshot("help_overlay", &state, w, h);
    }
}

#[test]
fn screen_detail_overlay() {
    let mut state = app_with(elected(), election_story());
    state.selected = 3;
    state.focus = Focus::Detail;
    for (w, h) in SIZES {
        snapshot("detail_overlay", &state, w, h);
    }
}

#[test]
fn screen_prompt_with_completions() {
    let mut state = app_with(elected(), election_story());
    assert!(type_keys(&mut state, ":pa").is_empty());
    assert!(state.on_key(code(KeyCode::Tab)).is_empty());
    assert_eq!(state.focus, Focus::Prompt);
    assert_eq!(state.prompt.input, "pa");
    assert_eq!(state.prompt.completions, ["partition ", "pause "]);
    for (w, h) in SIZES {
        snapshot("prompt_with_completions", &state, w, h);
    }
}

#[test]
fn screen_too_small() {
    let state = app_with(elected(), election_story());
    snapshot("too_small", &state, 30, 10);
}

#[test]
fn screen_nine_nodes() {
    let mut events = election_story();
    events.push(ev(
        20_000,
        0,
        EventKind::Fault("partition [[1, 2, 3, 4, 5, 6, 7, 8], [9]]".into()),
    ));
    let mut state = app_with(nine_nodes(), events);
    state.selected = 9;
    snapshot("nine_nodes", &state, 200, 60);
}

#[test]
fn screen_snapshot_transfer() {
    let mut state = app_with(snapshot_transfer(), snapshot_story());
    state.selected = 2;
    for (w, h) in SIZES {
        snapshot("snapshot_transfer", &state, w, h);
    }
}

#[test]
fn screen_snapshot_transfer_details() {
    let mut state = app_with(snapshot_transfer(), snapshot_story());
    state.focus = Focus::Detail;
    for (id, name) in [(3, "leader"), (2, "follower")] {
        state.selected = id;
        for (w, h) in SIZES {
            snapshot(&format!("snapshot_transfer_detail_{name}"), &state, w, h);
        }
    }
}

// ----------------------------------------------------------------------------------------------
// 2. Widgets
// ----------------------------------------------------------------------------------------------

#[test]
fn header_names_leader_term_commit_and_running() {
    let state = app_with(elected(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let header = screen.row(0);
    for part in [
        "raftlab",
        "5/5 up",
        "leader 3",
        "term 4",
        "commit 8",
        "fast",
        "×1.00",
        "▶ running",
        "? help",
    ] {
        assert!(header.contains(part), "{part:?} missing from {header:?}");
    }
    assert!(!header.contains("partition"), "{header:?}");
}

#[test]
fn header_shows_the_newest_leader_pause_and_partition() {
    let mut v = partitioned();
    v.status.paused = true;
    let state = app_with(v, Vec::new());
    let header = Screen::of(&state, 140, 45).row(0);
    // Node 1 still believes it leads term 3; the header names the leader of the highest term.
    assert!(header.contains("leader 4"), "{header:?}");
    assert!(header.contains("term 4"), "{header:?}");
    assert!(header.contains("commit 9"), "{header:?}");
    assert!(header.contains("❚❚ PAUSED"), "{header:?}");
    assert!(!header.contains("running"), "{header:?}");
    assert!(header.contains("partition {3,4,5} {1,2}"), "{header:?}");
}

#[test]
fn header_without_a_leader_says_none() {
    let mut v = elected();
    for n in &mut v.status.nodes {
        n.status.role = Role::Follower;
    }
    v.status.nodes[1].status.role = Role::Candidate;
    v.status.nodes[1].status.term = 5;
    let header = Screen::of(&app_with(v, Vec::new()), 140, 45).row(0);
    assert!(header.contains("leader none"), "{header:?}");
    assert!(header.contains("term 5"), "{header:?}");
}

#[test]
fn header_shows_every_partition_group_at_80_columns() {
    let state = app_with(partitioned(), Vec::new());
    let header = Screen::of(&state, 80, 24).row(0);
    assert!(header.contains("{3,4,5} {1,2}"), "{header:?}");
}

#[test]
fn header_says_when_the_leader_is_of_an_older_term() {
    // Isolated node 9 campaigned up to term 9; node 5 still leads term 7.
    let state = app_with(nine_nodes(), Vec::new());
    let header = Screen::of(&state, 200, 60).row(0);
    assert!(header.contains("leader 5 (of term 7)"), "{header:?}");
    assert!(header.contains("term 9"), "{header:?}");
    assert!(header.contains("8/9 up"), "{header:?}");
    // Leader in the highest term: no qualifier.
    let header = Screen::of(&app_with(elected(), Vec::new()), 140, 45).row(0);
    assert!(!header.contains("(of term"), "{header:?}");
}

#[test]
fn header_marks_unsafe_rules_loudly_even_at_80_columns() {
    let mut state = app_with(elected(), Vec::new());
    let header = Screen::of(&state, 140, 45).row(0);
    assert!(!header.contains("UNSAFE"), "{header:?}");
    state.unsafe_rules = Some("UNSAFE: forget-vote, local-reads".into());
    for (w, h) in [(140, 45), (80, 24)] {
        let header = Screen::of(&state, w, h).row(0);
        assert!(
            header.contains("UNSAFE: forget-vote, local-reads"),
            "{w}x{h}: {header:?}"
        );
    }
    state.theme = Theme::Color;
    let (x, y) = Screen::of(&state, 140, 45).find("UNSAFE").expect("marker");
    let terminal = draw(&state, 140, 45);
    let bg = terminal
        .backend()
        .buffer()
        .cell((x as u16, y as u16))
        .map(|c| c.bg);
    assert_eq!(bg, Some(ratatui::style::Color::Red));
}

#[test]
fn header_counts_nodes_up() {
    let state = app_with(one_down(), Vec::new());
    let header = Screen::of(&state, 140, 45).row(0);
    assert!(header.contains("4/5 up"), "{header:?}");
}

#[test]
fn table_marks_a_down_node_and_the_selection() {
    let mut state = app_with(one_down(), Vec::new());
    state.selected = 4;
    let screen = Screen::of(&state, 140, 45);
    let rows = table_rows(&state, &screen);
    let row = |id: &str| {
        rows.iter()
            .find(|r| r.contains(id))
            .unwrap_or_else(|| panic!("no row {id} in {rows:#?}"))
            .clone()
    };
    let down = row("✕2");
    assert!(down.contains("down"), "{down:?}");
    assert!(
        down.contains("6/4"),
        "last index/term of the down node: {down:?}"
    );
    assert!(down.contains('—'), "a down node has no timer: {down:?}");
    let lead = row("★3");
    assert!(lead.contains("leader"), "{lead:?}");
    assert!(lead.contains("leads"), "{lead:?}");
    let selected = row("●4");
    assert!(selected.contains('▶'), "selected row marked: {selected:?}");
    assert!(!row("●5").contains('▶'));
    // The leader's view of the down node: it matched 6 entries.
    assert!(down.contains("6/7"), "match/next of node 2: {down:?}");
    assert!(row("●5").contains("10/11"), "match/next of node 5");
}

#[test]
fn table_lists_faults_on_a_wide_screen() {
    let state = app_with(nine_nodes(), Vec::new());
    let screen = Screen::of(&state, 200, 60);
    let rows = table_rows(&state, &screen);
    let row = |id: &str| {
        rows.iter()
            .find(|r| r.contains(id))
            .unwrap_or_else(|| panic!("no row {id} in {rows:#?}"))
            .clone()
    };
    assert!(row("●2").contains("slow +300ms"));
    assert!(row("●7").contains("clock 2x"));
    assert!(row("◆9").contains("isolated"));
    assert!(row("◆9").contains("candidate"));
    assert!(!row("●1").contains("isolated"));
}

#[test]
fn logs_mark_the_commit_index() {
    // Node 1 committed 4 of its 8 entries.
    let state = app_with(divergent(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let r1 = log_row(&screen, 1);
    assert_eq!(log_cell(&r1, 1, 4), " 2┃", "{r1:?}");
    assert_eq!(r1.matches('┃').count(), 1, "{r1:?}");
    let r3 = log_row(&screen, 3);
    assert_eq!(log_cell(&r3, 1, 7), " 6┃", "{r3:?}");
    assert_eq!(log_cell(&r3, 1, 6), " 5 ", "{r3:?}");
    // The row label: selection marker, role symbol, id.
    assert!(r1.starts_with("▶●1"), "{r1:?}");
    assert!(r3.starts_with(" ★3"), "{r3:?}");
}

#[test]
fn logs_flag_entries_that_differ_from_the_leader() {
    let state = app_with(divergent(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let r1 = log_row(&screen, 1);
    for i in 1..=4 {
        assert!(!log_cell(&r1, 1, i).contains('!'), "index {i}: {r1:?}");
    }
    for i in 5..=7 {
        assert_eq!(log_cell(&r1, 1, i), "!3 ", "index {i}: {r1:?}");
    }
    // Index 8: the leader has no entry there, so nothing to differ from.
    assert_eq!(log_cell(&r1, 1, 8), " 3 ", "index 8: {r1:?}");
    for id in [2, 3, 4, 5] {
        let r = log_row(&screen, id);
        assert!(!r.contains('!'), "node {id}: {r:?}");
    }
}

#[test]
fn logs_leave_missing_entries_blank() {
    let state = app_with(divergent(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let r2 = log_row(&screen, 2);
    assert_eq!(log_cell(&r2, 1, 5), " 5 ", "{r2:?}");
    assert_eq!(log_cell(&r2, 1, 6), "   ", "{r2:?}");
    assert_eq!(log_cell(&r2, 1, 8), "   ", "{r2:?}");
}

/// The ruler's labels as (index, column where the label starts, column of that index's cell),
/// given that the first label names the window's first index.
fn ruler_labels(screen: &Screen) -> Vec<(Index, usize, usize)> {
    let ruler: Vec<char> = screen.block(" logs (")[0].chars().collect();
    let mut labels = Vec::new();
    let mut x = 0;
    while x < ruler.len() {
        if ruler[x].is_ascii_digit() {
            let digits: String = ruler[x..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            labels.push((digits.parse::<Index>().expect("a number"), x));
            x += digits.len();
        } else {
            x += 1;
        }
    }
    let first = labels.first().map_or(1, |(i, _)| *i);
    labels
        .into_iter()
        .map(|(i, col)| {
            let want = logs::LABEL as usize + ((i - first) * u64::from(logs::CELL)) as usize;
            (i, col, want)
        })
        .collect()
}

#[test]
fn logs_ruler_labels_sit_over_their_index() {
    // 28 entries in 24 cells: the window starts at 5, a multiple of five.
    let log: Vec<Term> = (1..=28).map(|i| if i < 10 { 1 } else { 4 }).collect();
    let v = make_view(&[
        follower(4, &log, 28).led_by(2),
        leader(4, &log, 28),
        follower(4, &log, 28).led_by(2),
    ]);
    let state = app_with(v, Vec::new());
    let screen = Screen::of(&state, 80, 24);
    let labels = ruler_labels(&screen);
    let indexes: Vec<Index> = labels.iter().map(|l| l.0).collect();
    assert_eq!(indexes, [5, 10, 15, 20, 25]);
    for (i, col, want) in labels {
        assert_eq!(col, want, "label {i}: {:?}", screen.block(" logs (")[0]);
    }
}

#[test]
fn logs_ruler_labels_sit_over_their_index_when_the_window_starts_elsewhere() {
    // Window 1..=8 (from 1) and 77..=100 (the tail of 100 entries in 24 cells).
    for (view, w, h) in [(elected(), 140, 45), (long_logs(), 80, 24)] {
        let state = app_with(view, Vec::new());
        let screen = Screen::of(&state, w, h);
        let labels = ruler_labels(&screen);
        assert!(labels.len() >= 2, "{labels:?}");
        for (i, col, want) in labels {
            assert_eq!(
                col,
                want,
                "{w}x{h}: label {i}: {:?}",
                screen.block(" logs (")[0]
            );
        }
    }
}

#[test]
fn logs_title_says_whether_it_follows_the_tail() {
    let mut state = app_with(elected(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    assert!(screen.find(" logs (following the tail").is_some());
    state.log_end = Some(5);
    let screen = Screen::of(&state, 140, 45);
    assert!(screen
        .find(" logs (up to index 5; End follows the tail)")
        .is_some());
}

#[test]
fn state_machine_says_when_all_nodes_agree() {
    let state = app_with(elected(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let rows = screen.block("state machine: all nodes agree, 3 keys");
    let text = rows.join("\n");
    for kv in ["x = v6", "y = v7", "z = v8"] {
        assert!(text.contains(kv), "{kv:?} missing: {rows:#?}");
    }
}

#[test]
fn state_machine_lists_the_keys_nodes_disagree_on() {
    let mut v = elected();
    // Node 5 has applied only up to 7: z is v5 there (from entry 5), not v8.
    v.kv.insert(5, kv_after(7));
    let state = app_with(v, Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let rows = screen.block("state machine: nodes DISAGREE");
    let lines: Vec<&str> = rows.iter().map(|r| r.trim_end()).collect();
    assert_eq!(lines[0], "z 1:v8 2:v8 3:v8 4:v8 5:v5", "{lines:#?}");
    assert!(
        !rows
            .iter()
            .any(|r| r.starts_with("x ") || r.starts_with("y ")),
        "only the differing key is listed: {lines:#?}"
    );
}

#[test]
fn state_machine_marks_a_missing_key() {
    let mut v = elected();
    v.kv.insert(2, kv_after(1)); // only y
    let state = app_with(v, Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block("state machine: nodes DISAGREE").join("\n");
    assert!(text.contains("x 1:v6 2:∅ 3:v6"), "{text}");
}

#[test]
fn footer_lists_the_main_keys() {
    let state = app_with(elected(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let status = screen.row(43);
    let keys = screen.row(44);
    assert!(status.starts_with("cluster up."), "{status:?}");
    for k in [
        "1-9 select",
        "q quit",
        "? help",
        "k kill",
        "r restart",
        "i isolate",
        "t timeout",
        "h heal",
        "space pause",
        "w write",
        ": command",
    ] {
        assert!(keys.contains(k), "{k:?} missing from {keys:?}");
    }
}

#[test]
fn footer_lists_the_prompt_key_at_80_columns() {
    let state = app_with(elected(), Vec::new());
    let screen = Screen::of(&state, 80, 24);
    let keys = screen.row(23);
    assert!(keys.contains(": command"), "{keys:?}");
}

#[test]
fn ring_marks_cut_links_and_only_those() {
    let state = app_with(partitioned(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let ring = screen.rect(state.ring_area.get()).join("\n");
    assert!(ring.contains('╳'), "{ring}");
    let healed = app_with(elected(), Vec::new());
    let screen = Screen::of(&healed, 140, 45);
    let ring = screen.rect(healed.ring_area.get()).join("\n");
    assert!(!ring.contains('╳'), "{ring}");
}

#[test]
fn ring_labels_every_node_with_role_and_term() {
    let state = app_with(partitioned(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let ring = screen.rect(state.ring_area.get()).join("\n");
    for label in ["★1 t3", "●2 t3", "●3 t4", "★4 t4", "●5 t4"] {
        assert!(ring.contains(label), "{label:?} missing:\n{ring}");
    }
    assert_eq!(ring.matches("♥ leads").count(), 2, "{ring}");
    let down = app_with(one_down(), Vec::new());
    let screen = Screen::of(&down, 140, 45);
    let ring = screen.rect(down.ring_area.get()).join("\n");
    assert!(ring.contains("✕2 t4"), "{ring}");
    assert!(ring.contains("down"), "{ring}");
}

#[test]
fn ring_shows_a_recent_drop() {
    let mut state = app_with(elected(), Vec::new());
    state.apply_event(ev(
        12_000,
        1,
        EventKind::MessageDropped {
            id: 5,
            from: 1,
            to: 3,
            kind: MessageKind::AppendEntriesReply,
            why: "dropped by hand".into(),
        },
    ));
    let screen = Screen::of(&state, 140, 45);
    let ring = screen.rect(state.ring_area.get()).join("\n");
    assert!(ring.contains('✗'), "{ring}");
    // More than a second later (the view's clock at 13.4 s) the mark is gone.
    let mut later = elected();
    later.at = Duration::from_millis(13_400);
    state.apply_view(later);
    let screen = Screen::of(&state, 140, 45);
    let ring = screen.rect(state.ring_area.get()).join("\n");
    assert!(!ring.contains('✗'), "{ring}");
}

#[test]
fn in_flight_panel_describes_the_selected_message() {
    let mut state = app_with(paused_in_flight(), Vec::new());
    state.message = Some(1);
    let screen = Screen::of(&state, 140, 45);
    let rows = screen.block("4 in flight (n/N select");
    assert!(
        rows[0].starts_with("#42 3->2 AppendEntries{term:4 prev:8/4"),
        "{rows:#?}"
    );
    // The summary may wrap; the timing line follows it.
    assert!(
        rows.iter()
            .any(|r| r.trim_end() == "sent 12.14s, due 12.54s (3 → 2, Heartbeat)"),
        "{rows:#?}"
    );
    let list = rows.join("\n");
    for id in ["#41", "#43", "#44"] {
        assert!(list.contains(id), "{id} missing: {rows:#?}");
    }
    // Paused with messages on the wire but none selected: the list still replaces the state
    // machine.
    state.message = None;
    let screen = Screen::of(&state, 140, 45);
    assert!(screen.find("4 in flight").is_some());
    assert!(screen.find("state machine").is_none());
}

#[test]
fn in_flight_panel_shows_the_selected_message_in_full_at_140x45() {
    let mut state = app_with(paused_in_flight(), Vec::new());
    state.message = Some(0);
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block("4 in flight (n/N select").concat();
    assert!(
        text.contains("entries:9..=9 (1)}"),
        "{:#?}",
        screen.block("4 in flight (n/N select")
    );
}

#[test]
fn in_flight_list_rows_line_up() {
    let mut state = app_with(paused_in_flight(), Vec::new());
    state.message = Some(0);
    let screen = Screen::of(&state, 140, 45);
    let (x0, y0) = screen.find("4 in flight").expect("the panel");
    let mut columns = Vec::new();
    for y in y0 + 1..y0 + 8 {
        for id in ["#41 ", "#42 ", "#43 ", "#44 "] {
            // The list rows (not the detail line at the top, which has no glyph).
            let row = screen.span(y, x0.saturating_sub(2), screen.width());
            if row.contains(&format!("{id}  ")) {
                let x = (x0.saturating_sub(2)..screen.width())
                    .find(|x| screen.span(y, *x, screen.width()).starts_with(id))
                    .expect("the id");
                columns.push((id, x));
            }
        }
    }
    assert_eq!(columns.len(), 4, "{columns:?}");
    assert!(
        columns.iter().all(|(_, x)| *x == columns[0].1),
        "{columns:?}"
    );
}

#[test]
fn ring_highlights_the_selected_node_and_message() {
    use ratatui::style::Modifier;
    let mut state = app_with(paused_in_flight(), Vec::new());
    state.selected = 2;
    state.message = Some(0); // #41, AppendEntries 3 -> 1: the only ■
    let terminal = draw(&state, 140, 45);
    let buf = terminal.backend().buffer();
    let ring = state.ring_area.get();
    let mut reversed = Vec::new();
    for y in ring.y..ring.bottom() {
        for x in ring.x..ring.right() {
            let cell = buf.cell((x, y)).expect("inside");
            if cell.modifier.contains(Modifier::REVERSED) {
                reversed.push(cell.symbol().to_string());
            }
        }
    }
    let text = reversed.concat();
    assert!(text.contains("●2 t4"), "selected node label: {text:?}");
    assert!(text.contains('■'), "selected message: {text:?}");
    assert!(!text.contains("●1"), "{text:?}");
    assert!(
        !text.contains('♥'),
        "other messages are not highlighted: {text:?}"
    );
}

#[test]
fn narrow_screen_shows_the_selected_message_instead_of_the_feed() {
    let mut state = app_with(paused_in_flight(), election_story());
    let screen = Screen::of(&state, 80, 24);
    assert!(screen.find(" events: protocol").is_some());
    state.message = Some(0);
    let screen = Screen::of(&state, 80, 24);
    assert!(screen.find(" events:").is_none());
    assert!(screen.find("#41 3->1 AppendEntries").is_some());
}

#[test]
fn feed_shows_the_newest_lines_with_times_and_nodes() {
    let state = app_with(elected(), election_story());
    let screen = Screen::of(&state, 140, 45);
    let rows = screen.block(" events: protocol (f: kind, F: node) ");
    let text: Vec<&str> = rows.iter().map(|r| r.trim_end()).collect();
    assert!(
        text.contains(&"   2.4s  3 client put x 7 -> ok in 4.2 ms"),
        "{text:#?}"
    );
    assert!(text.contains(&"   2.4s  3 commit 7 -> 8"), "{text:#?}");
    // Messages are hidden under the default filter.
    assert!(!text.iter().any(|l| l.contains("sent #7")), "{text:#?}");
    assert!(
        !text.iter().any(|l| l.contains("delivered #9")),
        "{text:#?}"
    );
    // Newest last.
    let last = text.iter().rposition(|l| !l.is_empty()).expect("lines");
    assert!(text[last].ends_with("commit 7 -> 8"), "{text:#?}");
}

#[test]
fn detail_overlay_describes_the_selected_node() {
    let mut state = app_with(elected(), election_story());
    state.selected = 3;
    state.focus = Focus::Detail;
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block("node 3 (Esc closes)").join("\n");
    for part in [
        "★ leader",
        "127.0.0.1:7003",
        "term 4   voted for 3   leader 3",
        "log 1..=8 (last term 4)",
        "commit 8   applied 8   keys 3",
        "followers (match / next / state / in flight):",
        "1: 8 / 9 / replicate / 0",
        "became leader in term 4",
        "client put x 7 -> ok in 4.2 ms",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    // Another node's events stay out.
    assert!(!text.contains("granted vote to 3"), "{text}");
}

#[test]
fn help_overlay_lists_keys_from_the_binding_table() {
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block(" help (").join("\n");
    for part in [
        "Keys",
        "1-9        select a node",
        "q          quit (Ctrl-C too)",
        "k          kill the selected node",
        "space      pause / resume time",
        "Esc        close the overlay or prompt",
        "Commands (press :)",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
}

#[test]
fn help_overlay_shows_every_command_and_the_legend_at_140x45() {
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block(" help (").join("\n");
    for c in raftlab::command::prompt::COMMANDS {
        assert!(text.contains(c.usage), "{:?} missing:\n{text}", c.usage);
    }
    for b in raftlab::tui::action::bindings() {
        assert!(text.contains(b.label), "{:?} missing:\n{text}", b.label);
    }
    assert!(text.contains("Symbols"), "{text}");
}

#[test]
fn help_overlay_lines_are_not_cut_at_140x45() {
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    let screen = Screen::of(&state, 140, 45);
    // Words may wrap onto the next row of their column: read the two columns (keys left,
    // commands right, split at 9/20 of the inner width) one after the other, whitespace squeezed.
    let rows = screen.block(" help (");
    let half = rows.first().map_or(0, |r| r.chars().count() * 9 / 20);
    let left: String = rows
        .iter()
        .map(|r| r.chars().take(half).collect::<String>())
        .collect();
    let right: String = rows
        .iter()
        .map(|r| r.chars().skip(half).collect::<String>())
        .collect();
    let text: String = format!("{left}{right}").split_whitespace().collect();
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    let mut cut = Vec::new();
    for b in raftlab::tui::action::bindings() {
        if !text.contains(&squeeze(b.help)) {
            cut.push(b.help);
        }
    }
    for c in raftlab::command::prompt::COMMANDS {
        if !text.contains(&squeeze(c.summary)) {
            cut.push(c.summary);
        }
    }
    assert!(cut.is_empty(), "cut off: {cut:#?}");
}

#[test]
fn help_overlay_scrolls_at_80x24() {
    let mut state = app_with(elected(), Vec::new());
    state.on_key(key('?'));
    let top = Screen::of(&state, 80, 24).block(" help (");
    assert!(top[0].starts_with("Keys"), "{top:#?}");
    let screen_text = |state: &AppState| Screen::of(state, 80, 24).block(" help (").join("\n");
    assert!(!screen_text(&state).contains("Symbols"));
    // Down until the legend's last line shows.
    let mut presses = 0;
    while !screen_text(&state).contains("!n = differs from the leader") {
        state.on_key(code(KeyCode::Down));
        presses += 1;
        assert!(presses < 100, "the legend never showed");
    }
    assert_eq!(state.focus, Focus::Help);
    assert_ne!(Screen::of(&state, 80, 24).block(" help (")[0], top[0]);
    // Home goes back to the top; closing and opening again starts at the top too.
    state.on_key(code(KeyCode::Home));
    assert_eq!(Screen::of(&state, 80, 24).block(" help (")[0], top[0]);
    state.on_key(code(KeyCode::PageDown));
    state.on_key(code(KeyCode::Esc));
    state.on_key(key('?'));
    assert_eq!(Screen::of(&state, 80, 24).block(" help (")[0], top[0]);
}

#[test]
fn help_overlay_does_not_scroll_past_its_end() {
    let mut state = app_with(elected(), Vec::new());
    state.on_key(key('?'));
    for _ in 0..30 {
        state.on_key(code(KeyCode::PageDown));
    }
    let rows = Screen::of(&state, 80, 24).block(" help (");
    assert!(
        rows.iter().any(|r| !r.trim().is_empty()),
        "the help box is empty: {rows:#?}"
    );
}

#[test]
fn help_from_the_prompt_starts_at_the_top() {
    let mut state = app_with(elected(), Vec::new());
    state.on_key(key('?'));
    state.on_key(code(KeyCode::PageDown));
    state.on_key(code(KeyCode::Esc));
    type_keys(&mut state, ":help");
    state.on_key(code(KeyCode::Enter));
    assert_eq!(state.focus, Focus::Help);
    let rows = Screen::of(&state, 80, 24).block(" help (");
    assert!(rows[0].starts_with("Keys"), "{rows:#?}");
}

#[test]
fn prompt_replaces_the_footer() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":put k v");
    let screen = Screen::of(&state, 140, 45);
    assert!(
        screen.row(43).starts_with(":put k v█"),
        "{:?}",
        screen.row(43)
    );
    assert!(screen.row(44).starts_with("Enter runs · Tab completes"));
    // With completions the footer grows a line.
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":kill ");
    state.on_key(code(KeyCode::Tab));
    let screen = Screen::of(&state, 140, 45);
    assert!(
        screen.row(42).starts_with(":kill █"),
        "{:?}",
        screen.row(42)
    );
    assert!(
        screen
            .row(43)
            .starts_with("kill 1  kill 2  kill 3  kill 4  kill 5"),
        "{:?}",
        screen.row(43)
    );
}

#[test]
fn an_error_shows_in_the_footer() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":frobnicate");
    state.on_key(code(KeyCode::Enter));
    let screen = Screen::of(&state, 140, 45);
    assert!(
        screen.row(43).starts_with("error: "),
        "{:?}",
        screen.row(43)
    );
}

#[test]
fn too_small_screen_says_so() {
    let state = app_with(elected(), Vec::new());
    let text = Screen::of(&state, 30, 10).text();
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("raftlab needs at least 40×12 (this is 30×10)."),
        "{text}"
    );
    assert!(flat.contains("leader: 3"), "{text}");
    assert!(flat.contains("q quits"), "{text}");
    // One column or one row short is still too small; 40×12 is not.
    let text = Screen::of(&state, 39, 24).text();
    assert!(text.contains("needs at least"), "{text}");
    let text = Screen::of(&state, 80, 11).text();
    assert!(text.contains("needs at least"), "{text}");
    let text = Screen::of(&state, 40, 12).text();
    assert!(!text.contains("needs at least"), "{text}");
}

#[test]
fn before_the_first_snapshot_the_screen_says_starting() {
    let state = AppState::new(5, Theme::Mono);
    let screen = Screen::of(&state, 80, 24);
    assert!(screen.row(0).contains("starting the cluster"));
    assert!(screen.find(" nodes ").is_some());
    assert!(screen.find(" cluster ").is_some());
}

/// The node table's row of the node labelled `label` (`★3`, `●2`).
fn table_row(state: &AppState, screen: &Screen, label: &str) -> String {
    let rows = table_rows(state, screen);
    rows.iter()
        .find(|r| r.contains(label))
        .unwrap_or_else(|| panic!("no row {label} in {rows:#?}"))
        .clone()
}

#[test]
fn table_shows_each_snapshot_and_a_transfer_in_progress() {
    let state = app_with(snapshot_transfer(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let header = table_rows(&state, &screen)[1].clone();
    assert!(
        header.contains(" applied snap    timer"),
        "the snap column: {header:?}"
    );
    assert!(table_row(&state, &screen, "★3").contains(" 40/4 "));
    assert!(table_row(&state, &screen, "●4").contains(" 20/2 "));
    let receiving = table_row(&state, &screen, "●2");
    assert!(receiving.contains(" — "), "no snapshot yet: {receiving:?}");
    assert!(receiving.contains("▣ 50%"), "half sent: {receiving:?}");
    assert!(table_row(&state, &screen, "●1").contains("48/49"));
    // The narrower layouts have no snap column, but still show the transfer.
    for (w, h) in [(80, 24), (100, 30)] {
        let screen = Screen::of(&state, w, h);
        let header = table_rows(&state, &screen)[1].clone();
        assert!(!header.contains("snap"), "{w}x{h}: {header:?}");
        let row = table_row(&state, &screen, "●2");
        assert!(row.contains("▣ 50%"), "{w}x{h}: {row:?}");
        assert!(row.trim_end().ends_with('│'), "{w}x{h}: {row:?}");
    }
}

#[test]
fn table_has_a_snap_column_only_where_it_fits() {
    let state = app_with(snapshot_transfer(), Vec::new());
    // (screen width, whether the table has a snap column): the table is 46, 66, 70, 76, 78
    // and 94 columns wide (the ring takes the rest).
    for (w, shown) in [
        (80, false),
        (100, false),
        (104, true),
        (120, true),
        (112, false),
        (140, true),
    ] {
        let screen = Screen::of(&state, w, 30);
        let rows = table_rows(&state, &screen);
        let header = &rows[1];
        assert_eq!(header.contains(" snap "), shown, "{w} columns: {header:?}");
        if shown {
            // Every other column keeps its whole name.
            for column in [
                " node ",
                " term ",
                " last ",
                " commit ",
                " applied ",
                " timer ",
            ] {
                assert!(
                    header.contains(column),
                    "{w}: {column:?} missing: {header:?}"
                );
            }
            assert!(header.contains(" match/next"), "{w}: {header:?}");
            let leader = table_row(&state, &screen, "★3");
            assert!(leader.contains(" 40/4 "), "{w}: {leader:?}");
        }
    }
}

#[test]
fn table_shortens_faults_that_do_not_fit_beside_the_snap_column() {
    // 140 columns: the faults column has 8 cells left.
    for (view, want, not) in [
        (with_faults(2, 300, 1.0), "+300ms", "slow"),
        (with_faults(2, 0, 0.5), "0.5x", "clock"),
        (with_faults(2, 0, 2.0), "clock 2x", "isol"),
    ] {
        let state = app_with(view, Vec::new());
        let screen = Screen::of(&state, 140, 45);
        let row = table_row(&state, &screen, "●2");
        assert!(row.contains(want), "{want:?} missing: {row:?}");
        assert!(!row.contains(not), "{row:?}");
    }
    // Wide enough: the long forms (see also table_lists_faults_on_a_wide_screen).
    let state = app_with(with_faults(2, 300, 1.0), Vec::new());
    let screen = Screen::of(&state, 200, 60);
    assert!(table_row(&state, &screen, "●2").contains("slow +300ms"));
}

#[test]
fn logs_draw_the_compacted_prefix_as_a_labelled_run() {
    let state = app_with(snapshot_transfer(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    // 44 cells: the window is 5..=48, so indexes 5..=40 of the compacted logs are a run.
    let labels = ruler_labels(&screen);
    assert_eq!(labels.first().map(|l| l.0), Some(5), "{labels:?}");
    for id in [1, 3, 5] {
        let row = log_row(&screen, id);
        let run: String = (5..=40).map(|i| log_cell(&row, 5, i)).collect();
        assert!(
            run.chars().all(|c| c == '▒' || " snapshot≤40".contains(c)),
            "node {id}: {row:?}"
        );
        assert!(
            run.ends_with("▒ snapshot ≤40 ▒"),
            "labelled at its right end: {row:?}"
        );
        assert_eq!(log_cell(&row, 5, 41), " 4 ", "node {id}: {row:?}");
        assert_eq!(log_cell(&row, 5, 48), " 4┃", "node {id}: {row:?}");
    }
    // Node 4 compacted less: its entries from 21 show, and none differ from the leader just
    // because the leader no longer holds them.
    let r4 = log_row(&screen, 4);
    assert_eq!(log_cell(&r4, 5, 5), "▒▒▒", "{r4:?}");
    assert_eq!(log_cell(&r4, 5, 21), " 2 ", "{r4:?}");
    assert!(r4.contains("▒ snapshot ≤20 ▒ 2 "), "{r4:?}");
    // Node 2 holds 1..=12 and has not compacted: no run, no alert, and after its last entry the
    // snapshot on its way.
    let r2 = log_row(&screen, 2);
    assert!(!r2.contains('▒'), "{r2:?}");
    assert_eq!(log_cell(&r2, 5, 12), " 2┃", "{r2:?}");
    assert_eq!(log_cell(&r2, 5, 13), " ▣ ", "{r2:?}");
    assert!(
        r2.contains(" 2┃ ▣ receiving snapshot ≤40: 512 B   "),
        "{r2:?}"
    );
    for id in 1..=5 {
        assert!(!log_row(&screen, id).contains('!'), "node {id}");
    }
}

#[test]
fn logs_shorten_the_label_of_a_short_compacted_run() {
    // 80 columns: 24 cells, the window is 25..=48; node 4's run is 25..=20: none at all.
    let state = app_with(snapshot_transfer(), Vec::new());
    let screen = Screen::of(&state, 80, 24);
    let r3 = log_row(&screen, 3);
    assert_eq!(log_cell(&r3, 25, 25), "▒▒▒", "{r3:?}");
    assert!(r3.contains("▒ snapshot ≤40 ▒"), "{r3:?}");
    assert!(!log_row(&screen, 4).contains('▒'));
    // The label shrinks with the run, and goes when there is no room.
    assert_eq!(logs::compacted_run(1, 1, 0, 1), "▒▒▒");
    assert_eq!(logs::compacted_run(1, 2, 0, 2), "▒ ≤2 ▒");
    assert_eq!(logs::compacted_run(39, 40, 40, 40), "▒▒▒▒▒┃");
    assert_eq!(logs::compacted_run(37, 40, 40, 40), "▒ snap ≤40 ┃");
    assert_eq!(
        logs::compacted_run(1, 2, 0, 0),
        "▒▒▒▒▒▒",
        "no snapshot, no label"
    );
}

#[test]
fn logs_show_a_log_compacted_up_to_its_last_entry() {
    // Every node snapshotted all 8 entries: the logs hold nothing, the poller returns nothing.
    let mut v = elected();
    for id in 1..=5 {
        compact(&mut v, id, 8, 300);
    }
    assert!(v.logs.values().all(|w| w.entries.is_empty()));
    let state = app_with(v, Vec::new());
    let screen = Screen::of(&state, 140, 45);
    for id in 1..=5 {
        let row = log_row(&screen, id);
        let cells: String = (1..=8).map(|i| log_cell(&row, 1, i)).collect();
        assert_eq!(cells, "▒▒▒▒▒▒▒▒▒▒ snapshot ≤8 ┃", "node {id}: {row:?}");
    }
}

#[test]
fn detail_overlay_shows_snapshots_and_transfers() {
    let mut state = app_with(snapshot_transfer(), snapshot_story());
    state.focus = Focus::Detail;
    state.selected = 3;
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block("node 3 (Esc closes)").join("\n");
    for part in [
        "log 41..=48 (last term 4)",
        "snapshot 40/4 (1,024 B): entries 1..=40 compacted away, the log starts at 41",
        "2: 12 / 13 / snapshot / 1",
        "→ 2: sending snapshot 40 (512/1,024 B)",
        "node 2 needs entry 13, compacted away: sending snapshot 40 (1024 bytes)",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    assert_eq!(text.matches("sending snapshot").count(), 2, "{text}");
    state.selected = 2;
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block("node 2 (Esc closes)").join("\n");
    for part in [
        "no snapshot: the log holds every entry from 1",
        "receiving snapshot 40: 512/1,024 B",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    // Without a leader that is sending it, the follower knows only what arrived.
    let mut v = snapshot_transfer();
    v.status.nodes[2].status.progress.clear();
    state.apply_view(v);
    let text = Screen::of(&state, 140, 45)
        .block("node 2 (Esc closes)")
        .join("\n");
    assert!(
        text.contains("receiving snapshot 40: 512 B so far"),
        "{text}"
    );
}

#[test]
fn help_lists_the_snapshot_glyphs_key_and_command() {
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    let mut seen = String::new();
    // Scroll to the end, a page at a time.
    for _ in 0..20 {
        seen.push_str(&Screen::of(&state, 80, 24).block(" help (").join("\n"));
        state.on_key(code(KeyCode::PageDown));
    }
    let flat: String = seen.split_whitespace().collect::<Vec<_>>().join(" ");
    for part in [
        "S the selected node takes a snapshot now",
        "snapshot NODE",
        "▣ InstallSnapshot",
        "◇ snapshot reply",
        "▒ = compacted into a snapshot",
    ] {
        assert!(flat.contains(part), "{part:?} missing:\n{seen}");
    }
}

// ----------------------------------------------------------------------------------------------
// 3. Update
// ----------------------------------------------------------------------------------------------

#[test]
fn faults_act_on_the_selected_node() {
    let mut state = app_with(elected(), Vec::new());
    assert!(state.on_key(key('4')).is_empty());
    assert_eq!(state.selected, 4);
    assert_eq!(state.on_key(key('k')), run(PromptCommand::Kill(4)));
    assert_eq!(state.on_key(key('r')), run(PromptCommand::Restart(4)));
    assert_eq!(state.on_key(key('i')), run(PromptCommand::Isolate(4)));
    assert_eq!(state.on_key(key('t')), run(PromptCommand::Campaign(4)));
    assert_eq!(state.on_key(key('S')), run(PromptCommand::Snapshot(4)));
    assert_eq!(
        state.update(Action::Snapshot),
        run(PromptCommand::Snapshot(4))
    );
    assert_eq!(state.update(Action::Kill), run(PromptCommand::Kill(4)));
    state.update(Action::Select(2));
    assert_eq!(
        state.update(Action::Restart),
        run(PromptCommand::Restart(2))
    );
    assert_eq!(
        state.update(Action::Isolate),
        run(PromptCommand::Isolate(2))
    );
    // Cluster-wide keys.
    assert_eq!(state.on_key(key('h')), run(PromptCommand::Heal));
    assert_eq!(state.on_key(key('w')), run(PromptCommand::Write));
    assert_eq!(state.on_key(key('.')), run(PromptCommand::Step));
    assert_eq!(state.on_key(key('a')), vec![Effect::AlignTimers]);
    assert_eq!(state.on_key(key('A')), vec![Effect::SpreadTimers]);
    assert!(!state.quit);
}

#[test]
fn select_wraps_around() {
    let mut state = app_with(elected(), Vec::new());
    assert_eq!(state.selected, 1);
    assert!(state.update(Action::SelectPrev).is_empty());
    assert_eq!(state.selected, 5);
    assert!(state.update(Action::SelectNext).is_empty());
    assert_eq!(state.selected, 1);
    for want in [2, 3, 4, 5, 1, 2] {
        state.on_key(code(KeyCode::Right));
        assert_eq!(state.selected, want);
    }
    state.on_key(code(KeyCode::Left));
    state.on_key(code(KeyCode::Left));
    assert_eq!(state.selected, 5);
    state.on_key(code(KeyCode::Tab));
    assert_eq!(state.selected, 1);
    state.on_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(state.selected, 5);
    // Ids outside the cluster are ignored.
    state.update(Action::Select(3));
    state.update(Action::Select(0));
    state.update(Action::Select(6));
    assert_eq!(state.selected, 3);
    assert!(state.on_key(key('7')).is_empty());
    assert!(state.on_key(key('0')).is_empty());
    assert_eq!(state.selected, 3);
    // Nine nodes: 9 is a valid key.
    let mut nine = app_with(nine_nodes(), Vec::new());
    nine.on_key(key('9'));
    assert_eq!(nine.selected, 9);
    nine.update(Action::SelectNext);
    assert_eq!(nine.selected, 1);
}

/// The view with node `id`'s extra delay and clock rate set.
fn with_faults(id: NodeId, slow_ms: u64, clock: f64) -> ClusterView {
    let mut v = elected();
    let n = &mut v.status.nodes[id as usize - 1];
    n.slow = Duration::from_millis(slow_ms);
    n.clock_rate = clock;
    v
}

#[test]
fn cycle_slow_steps_through_slow_steps() {
    let mut state = app_with(elected(), Vec::new());
    state.selected = 2;
    for (i, now) in app::SLOW_STEPS.iter().enumerate() {
        state.apply_view(with_faults(2, *now, 1.0));
        let next = app::SLOW_STEPS[(i + 1) % app::SLOW_STEPS.len()];
        assert_eq!(
            state.on_key(key('s')),
            run(PromptCommand::Slow {
                node: 2,
                delay: Duration::from_millis(next),
            }),
            "from {now} ms"
        );
    }
    assert_eq!(app::SLOW_STEPS, [0, 100, 300, 1000]);
    // A delay set by hand that is not a step starts the cycle over.
    state.apply_view(with_faults(2, 250, 1.0));
    assert_eq!(
        state.update(Action::CycleSlow),
        run(PromptCommand::Slow {
            node: 2,
            delay: Duration::from_millis(100),
        })
    );
    // Another node's delay does not count.
    state.apply_view(with_faults(4, 300, 1.0));
    assert_eq!(
        state.update(Action::CycleSlow),
        run(PromptCommand::Slow {
            node: 2,
            delay: Duration::from_millis(100),
        })
    );
    // Before the first snapshot: from 0.
    let mut fresh = AppState::new(5, Theme::Mono);
    assert_eq!(
        fresh.update(Action::CycleSlow),
        run(PromptCommand::Slow {
            node: 1,
            delay: Duration::from_millis(100),
        })
    );
}

#[test]
fn cycle_clock_steps_through_clock_steps() {
    let mut state = app_with(elected(), Vec::new());
    state.selected = 5;
    for (i, now) in app::CLOCK_STEPS.iter().enumerate() {
        state.apply_view(with_faults(5, 0, *now));
        let next = app::CLOCK_STEPS[(i + 1) % app::CLOCK_STEPS.len()];
        assert_eq!(
            state.on_key(key('c')),
            run(PromptCommand::Clock {
                node: 5,
                rate: next
            }),
            "from {now}x"
        );
    }
    assert_eq!(app::CLOCK_STEPS, [1.0, 2.0, 0.5]);
    state.apply_view(with_faults(5, 0, 1.7));
    assert_eq!(
        state.update(Action::CycleClock),
        run(PromptCommand::Clock { node: 5, rate: 2.0 })
    );
}

#[test]
fn pause_resume_follows_the_cluster() {
    let mut fresh = AppState::new(5, Theme::Mono);
    assert_eq!(fresh.on_key(key(' ')), run(PromptCommand::Pause));
    let mut state = app_with(elected(), Vec::new());
    assert_eq!(state.on_key(key(' ')), run(PromptCommand::Pause));
    // The key does not flip anything itself: the next snapshot does.
    assert_eq!(state.on_key(key(' ')), run(PromptCommand::Pause));
    state.apply_view(paused_in_flight());
    assert_eq!(state.on_key(key(' ')), run(PromptCommand::Resume));
    assert_eq!(
        state.update(Action::PauseResume),
        run(PromptCommand::Resume)
    );
}

#[test]
fn faster_and_slower_scale_the_speed_by_one_and_a_half() {
    let mut state = AppState::new(5, Theme::Mono);
    assert_eq!(
        state.update(Action::Faster),
        run(PromptCommand::Speed(1.0 / 1.5))
    );
    let mut v = elected();
    v.status.speed = 2.0;
    state.apply_view(v);
    assert_eq!(state.on_key(key('+')), run(PromptCommand::Speed(2.0 / 1.5)));
    assert_eq!(state.on_key(key('=')), run(PromptCommand::Speed(2.0 / 1.5)));
    assert_eq!(state.on_key(key('-')), run(PromptCommand::Speed(3.0)));
    assert_eq!(state.update(Action::Slower), run(PromptCommand::Speed(3.0)));
}

#[test]
fn next_and_prev_message_cycle_and_clear() {
    let mut state = app_with(paused_in_flight(), Vec::new());
    assert_eq!(state.message, None);
    assert!(state.on_key(key('n')).is_empty());
    assert_eq!(state.message, Some(0));
    state.on_key(key('n'));
    state.on_key(code(KeyCode::Down));
    assert_eq!(state.message, Some(2));
    state.on_key(key('n'));
    assert_eq!(state.message, Some(3));
    state.on_key(key('n'));
    assert_eq!(state.message, Some(0), "wraps forward");
    state.on_key(key('N'));
    assert_eq!(state.message, Some(3), "wraps backward");
    state.on_key(code(KeyCode::Up));
    assert_eq!(state.message, Some(2));
    assert_eq!(state.selected_message(), Some(43));
    // From none, N takes the last.
    state.update(Action::Close);
    assert_eq!(state.message, None);
    state.update(Action::PrevMessage);
    assert_eq!(state.message, Some(3));
    // A snapshot with fewer messages clamps the selection; none left clears it.
    let mut fewer = paused_in_flight();
    fewer.in_flight.truncate(2);
    state.apply_view(fewer);
    assert_eq!(state.message, Some(1));
    let mut none = paused_in_flight();
    none.in_flight.clear();
    state.apply_view(none);
    assert_eq!(state.message, None);
    // Nothing in flight: nothing to select, and the status line says why.
    state.message = Some(0);
    state.update(Action::NextMessage);
    assert_eq!(state.message, None);
    assert!(
        state.status_line.starts_with("no message in flight"),
        "{}",
        state.status_line
    );
    state.update(Action::PrevMessage);
    assert_eq!(state.message, None);
}

#[test]
fn message_actions_need_a_selected_message() {
    let mut state = app_with(paused_in_flight(), Vec::new());
    for k in ['x', 'u', 'g'] {
        assert!(state.on_key(key(k)).is_empty(), "{k} without a selection");
        assert!(
            state
                .status_line
                .starts_with("select a message in flight first"),
            "{}",
            state.status_line
        );
    }
    state.on_key(key('n'));
    state.on_key(key('n'));
    assert_eq!(state.on_key(key('x')), run(PromptCommand::DropMessage(42)));
    assert_eq!(state.on_key(key('u')), run(PromptCommand::DupMessage(42)));
    assert_eq!(
        state.on_key(key('g')),
        run(PromptCommand::DeliverMessage(42))
    );
    assert_eq!(
        state.update(Action::DropMessage),
        run(PromptCommand::DropMessage(42))
    );
    // Esc clears the selection.
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.message, None);
    assert!(state.update(Action::DeliverMessage).is_empty());
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

#[test]
fn log_scrolling_pages_back_and_forward_by_half_a_window() {
    let mut state = app_with(long_logs(), Vec::new());
    // 80 columns: (80 - 2 - 5) / 3 = 24 cells, so a page is 12.
    draw(&state, 80, 24);
    assert_eq!(state.log_cells.get(), 24);
    assert_eq!(state.log_want().len, 24);
    assert_eq!(state.log_end, None);
    assert!(state.on_key(code(KeyCode::PageUp)).is_empty());
    assert_eq!(state.log_end, Some(88));
    state.on_key(code(KeyCode::PageUp));
    assert_eq!(state.log_end, Some(76));
    assert_eq!(state.log_want().end, Some(76));
    state.on_key(code(KeyCode::PageDown));
    assert_eq!(state.log_end, Some(88));
    state.on_key(code(KeyCode::PageDown));
    assert_eq!(state.log_end, None, "back at the tail");
    assert!(
        state.update(Action::LogForward).is_empty(),
        "forward at the tail"
    );
    assert_eq!(state.log_end, None);
    // Far back: never before a full window.
    for _ in 0..20 {
        state.update(Action::LogBack);
    }
    assert_eq!(state.log_end, Some(24));
    state.on_key(code(KeyCode::End));
    assert_eq!(state.log_end, None);
    // A log shorter than the window has nowhere to scroll to.
    let mut short = app_with(elected(), Vec::new());
    draw(&short, 80, 24);
    short.update(Action::LogBack);
    assert_eq!(short.log_end, Some(8));
    short.update(Action::LogForward);
    assert_eq!(short.log_end, None);
}

#[test]
fn feed_filters_by_kind_and_node() {
    let mut state = app_with(elected(), election_story());
    state.apply_event(ev(3_000, 0, EventKind::Fault("slow 2 300ms".into())));
    state.apply_event(ev(
        3_100,
        2,
        EventKind::MessageDropped {
            id: 12,
            from: 2,
            to: 3,
            kind: MessageKind::AppendEntriesReply,
            why: "random drop".into(),
        },
    ));
    let count = |s: &AppState| s.visible_feed().count();
    let total = state.feed.len();
    assert_eq!(total, 14);
    let messages = 3;
    assert_eq!(state.feed_kind, FeedKind::Protocol);
    assert_eq!(count(&state), total - messages);
    let mut seen = Vec::new();
    for _ in 0..7 {
        assert!(state.on_key(key('f')).is_empty());
        seen.push((state.feed_kind, count(&state)));
    }
    assert_eq!(
        seen,
        [
            (FeedKind::Elections, 7),
            (FeedKind::Replication, 2),
            (FeedKind::Messages, 3),
            (FeedKind::Clients, 1),
            (FeedKind::Faults, 1),
            (FeedKind::All, 14),
            (FeedKind::Protocol, 11),
        ]
    );
    assert!(state
        .visible_feed()
        .all(|l| l.category != Category::Message));
    // F: only the selected node's lines.
    state.selected = 3;
    state.on_key(key('F'));
    assert!(state.feed_node_only);
    assert!(state.visible_feed().all(|l| l.node == 3));
    assert_eq!(count(&state), 8);
    state.update(Action::CycleFeedKind); // elections
    assert_eq!(count(&state), 5);
    state.selected = 1;
    assert_eq!(count(&state), 2, "follows the selection");
    state.update(Action::ToggleFeedNode);
    assert!(!state.feed_node_only);
    assert_eq!(count(&state), 7);
    // The feed's title names the filter.
    state.update(Action::ToggleFeedNode);
    let screen = Screen::of(&state, 140, 45);
    assert!(screen
        .find(" events: elections, node 1 (f: kind, F: node) ")
        .is_some());
}

#[test]
fn snapshot_events_are_replication() {
    for t in [
        TraceEvent::SnapshotTaken {
            index: 40,
            term: 4,
            bytes: 1_024,
        },
        TraceEvent::SnapshotSending {
            to: 2,
            index: 40,
            bytes: 1_024,
            next_index: 13,
        },
        TraceEvent::SnapshotInstalled {
            index: 40,
            term: 4,
            leader: 3,
            bytes: 1_024,
            kept_suffix: false,
        },
        TraceEvent::SnapshotDelivered { to: 2, index: 40 },
    ] {
        assert_eq!(
            app::category(&EventKind::Trace(t.clone())),
            Category::Replication,
            "{t}"
        );
    }
    // Shown under the default filter and under replication.
    let mut state = app_with(snapshot_transfer(), snapshot_story());
    assert_eq!(state.visible_feed().count(), 5);
    state.feed_kind = FeedKind::Replication;
    assert_eq!(state.visible_feed().count(), 4);
}

#[test]
fn prompt_snapshot_runs_and_bad_input_changes_nothing() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":snapshot 2");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Snapshot(2))
    );
    type_keys(&mut state, ":compact 5");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Snapshot(5))
    );
    for (line, want) in [
        ("snapshot", "error: usage: snapshot NODE"),
        (
            "snapshot 9",
            "error: snapshot: node 9 does not exist (nodes are 1..5)",
        ),
        (
            "compact 1 2",
            "error: snapshot: too many arguments (usage: snapshot NODE)",
        ),
    ] {
        type_keys(&mut state, &format!(":{line}"));
        assert!(state.on_key(code(KeyCode::Enter)).is_empty(), "{line}");
        assert_eq!(state.status_line, want);
        assert_eq!(state.focus, Focus::Main);
    }
    type_keys(&mut state, ":snap");
    state.on_key(code(KeyCode::Tab));
    assert_eq!(state.prompt.input, "snapshot ");
}

#[test]
fn prompt_runs_a_parsed_command() {
    let mut state = app_with(elected(), Vec::new());
    assert!(state.on_key(key(':')).is_empty());
    assert_eq!(state.focus, Focus::Prompt);
    // Keys that mean something on the main screen are text in the prompt.
    assert!(type_keys(&mut state, "kill 2").is_empty());
    assert_eq!(state.prompt.input, "kill 2");
    assert!(!state.quit);
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Kill(2))
    );
    assert_eq!(state.focus, Focus::Main);
    assert_eq!(state.prompt.input, "");
    assert_eq!(state.prompt.history.iter().collect::<Vec<_>>(), ["kill 2"]);
    assert_eq!(state.selected, 1, "the prompt names its node");
    // More commands through the same path.
    type_keys(&mut state, ":partition 1,2 3,4,5");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Partition(vec![vec![1, 2], vec![3, 4, 5]]))
    );
    type_keys(&mut state, ":put greeting hello");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Kv(raftlab::check::KvOp::Put {
            key: "greeting".into(),
            value: "hello".into()
        }))
    );
    // Backspace edits.
    type_keys(&mut state, ":restart 33");
    state.on_key(code(KeyCode::Backspace));
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Restart(3))
    );
    // An empty line just closes the prompt.
    state.on_key(key(':'));
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(state.focus, Focus::Main);
}

#[test]
fn prompt_help_and_quit_act_locally() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":help");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(state.focus, Focus::Help);
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.focus, Focus::Main);
    type_keys(&mut state, ":quit");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert!(state.quit);
}

#[test]
fn a_bad_command_leaves_an_error_and_no_effect() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":frobnicate 2");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert!(
        state.status_line.starts_with("error: "),
        "{}",
        state.status_line
    );
    assert_eq!(state.focus, Focus::Main);
    // A node outside the cluster.
    type_keys(&mut state, ":kill 9");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert!(
        state.status_line.starts_with("error: "),
        "{}",
        state.status_line
    );
    // The bad line is kept, to fix it with Up.
    type_keys(&mut state, ":");
    state.on_key(code(KeyCode::Up));
    assert_eq!(state.prompt.input, "kill 9");
}

#[test]
fn a_bad_command_is_shown_with_a_caret_under_the_word() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":partition 1,2 1,3");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(
        state.status_line,
        "error: partition: node 1 is in two groups"
    );
    for (w, h) in [(80, 24), (140, 45)] {
        let screen = Screen::of(&state, w, h);
        let rows: Vec<String> = (0..h as usize).map(|y| screen.row(y)).collect();
        let at = rows
            .iter()
            .position(|r| r.starts_with(":partition 1,2 1,3"))
            .unwrap_or_else(|| panic!("the bad line is shown:\n{}", rows.join("\n")));
        // The caret sits under the second `1` (column 15: after the `:`), the message below.
        assert_eq!(rows[at + 1].trim_end(), "               ^");
        assert_eq!(
            rows[at + 2].trim_end(),
            "error: partition: node 1 is in two groups"
        );
        assert!(rows[at + 3].starts_with("1-9 select"), "{}", rows[at + 3]);
    }
    // Once the status line moves on, the caret goes with it.
    state.apply_result("killed 2".into());
    let screen = Screen::of(&state, 80, 24);
    assert!(screen.find(":partition").is_none());
}

#[test]
fn tab_completes_the_word_being_typed() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":kil");
    state.on_key(code(KeyCode::Tab));
    assert_eq!(state.prompt.input, "kill ");
    assert!(state.prompt.completions.is_empty());
    state.on_key(code(KeyCode::Tab));
    assert_eq!(
        state.prompt.completions,
        ["kill 1", "kill 2", "kill 3", "kill 4", "kill 5"]
    );
    assert_eq!(state.prompt.input, "kill ");
    // Typing hides the completions.
    type_keys(&mut state, "4");
    assert!(state.prompt.completions.is_empty());
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Kill(4))
    );
    // Several commands share a prefix: shown, not chosen.
    type_keys(&mut state, ":pa");
    state.on_key(code(KeyCode::Tab));
    assert_eq!(state.prompt.input, "pa");
    assert_eq!(state.prompt.completions, ["partition ", "pause "]);
    state.on_key(code(KeyCode::Backspace));
    assert!(state.prompt.completions.is_empty());
    // Nothing to complete: nothing changes.
    type_keys(&mut state, "ut greeting ");
    state.on_key(code(KeyCode::Tab));
    assert_eq!(state.prompt.input, "put greeting ");
    assert!(state.prompt.completions.is_empty());
}

#[test]
fn up_and_down_walk_the_history() {
    let mut state = app_with(elected(), Vec::new());
    for line in ["kill 2", "restart 2", "heal"] {
        type_keys(&mut state, &format!(":{line}"));
        state.on_key(code(KeyCode::Enter));
    }
    type_keys(&mut state, ":pau");
    state.on_key(code(KeyCode::Up));
    assert_eq!(state.prompt.input, "heal");
    state.on_key(code(KeyCode::Up));
    assert_eq!(state.prompt.input, "restart 2");
    state.on_key(code(KeyCode::Up));
    state.on_key(code(KeyCode::Up));
    assert_eq!(state.prompt.input, "kill 2", "stays on the oldest");
    state.on_key(code(KeyCode::Down));
    assert_eq!(state.prompt.input, "restart 2");
    state.on_key(code(KeyCode::Down));
    state.on_key(code(KeyCode::Down));
    assert_eq!(state.prompt.input, "pau", "back to the draft");
    state.on_key(code(KeyCode::Up));
    state.on_key(code(KeyCode::Up));
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Restart(2))
    );
}

#[test]
fn esc_cancels_the_prompt() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":kill 2");
    state.on_key(code(KeyCode::Tab));
    assert!(state.on_key(code(KeyCode::Esc)).is_empty());
    assert_eq!(state.focus, Focus::Main);
    assert_eq!(state.prompt.input, "");
    assert!(state.prompt.completions.is_empty());
    assert!(state.prompt.history.is_empty(), "nothing was run");
    // Reopening starts empty.
    state.on_key(key(':'));
    assert_eq!(state.prompt.input, "");
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut state = app_with(elected(), Vec::new());
    assert!(state.on_key(key('q')).is_empty());
    assert!(state.quit);
    let mut state = app_with(elected(), Vec::new());
    state.update(Action::Quit);
    assert!(state.quit);
    // Ctrl-C from anywhere, the prompt included.
    for focus in [Focus::Main, Focus::Prompt, Focus::Help, Focus::Detail] {
        let mut state = app_with(elected(), Vec::new());
        state.focus = focus;
        assert!(state.on_key(ctrl('c')).is_empty());
        assert!(state.quit, "{focus:?}");
    }
    // In the prompt q is a letter; in an overlay it closes the overlay.
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":q");
    assert!(!state.quit);
    assert_eq!(state.prompt.input, "q");
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    state.on_key(key('q'));
    assert!(!state.quit);
    assert_eq!(state.focus, Focus::Main);
    // Ctrl with another letter does nothing.
    let mut state = app_with(elected(), Vec::new());
    assert!(state.on_key(ctrl('k')).is_empty());
    assert!(!state.quit);
}

#[test]
fn overlays_open_close_and_swallow_keys() {
    let mut state = app_with(elected(), Vec::new());
    state.on_key(key('?'));
    assert_eq!(state.focus, Focus::Help);
    assert!(state.on_key(key('k')).is_empty(), "no kill under the help");
    assert_eq!(state.on_key(key('3')), Vec::new());
    assert_eq!(state.selected, 1);
    assert_eq!(state.focus, Focus::Help);
    state.on_key(key('?'));
    assert_eq!(state.focus, Focus::Main);
    state.on_key(key('3'));
    state.on_key(code(KeyCode::Enter));
    assert_eq!(state.focus, Focus::Detail);
    assert!(state.on_key(key('r')).is_empty());
    state.on_key(code(KeyCode::Enter));
    assert_eq!(state.focus, Focus::Main);
    state.update(Action::ToggleDetail);
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.focus, Focus::Main);
    state.update(Action::ToggleHelp);
    assert_eq!(state.focus, Focus::Help);
    state.update(Action::ToggleHelp);
    assert_eq!(state.focus, Focus::Main);
}

#[test]
fn a_click_on_a_node_selects_it() {
    for (w, h) in [(80, 24), (140, 45), (200, 60)] {
        let view = if w == 200 { nine_nodes() } else { elected() };
        let n = view.status.nodes.len();
        let mut state = app_with(view, Vec::new());
        draw(&state, w, h);
        let cells = ring::node_cells(state.ring_area.get(), &state.ids);
        assert_eq!(cells.len(), n);
        for (id, x, y) in cells {
            // Click the first cell of the node's label too, not just its centre.
            for column in [x, x.saturating_sub(2)] {
                state.selected = if id == 1 { 2 } else { 1 };
                assert!(state.on_mouse(click(column, y)).is_empty());
                assert_eq!(state.selected, id, "{w}x{h}: click at ({column}, {y})");
            }
        }
    }
}

#[test]
fn a_click_elsewhere_or_not_a_left_press_selects_nothing() {
    let mut state = app_with(elected(), Vec::new());
    draw(&state, 140, 45);
    let (_, x, y) = ring::node_cells(state.ring_area.get(), &state.ids)[3];
    state.selected = 1;
    // Far from any node: the table, the ring's centre.
    state.on_mouse(click(120, 5));
    let ring = state.ring_area.get();
    state.on_mouse(click(ring.x + ring.width / 2, ring.y + ring.height / 2));
    assert_eq!(state.selected, 1);
    // Right button, release, or an overlay open: ignored.
    let mut right = click(x, y);
    right.kind = MouseEventKind::Down(MouseButton::Right);
    state.on_mouse(right);
    let mut up = click(x, y);
    up.kind = MouseEventKind::Up(MouseButton::Left);
    state.on_mouse(up);
    state.focus = Focus::Help;
    state.on_mouse(click(x, y));
    assert_eq!(state.selected, 1);
    state.focus = Focus::Main;
    state.on_mouse(click(x, y));
    assert_eq!(state.selected, 4);
}

#[test]
fn apply_view_marks_dirty_only_when_something_changed() {
    let mut state = AppState::new(5, Theme::Mono);
    assert!(state.dirty);
    state.dirty = false;
    state.apply_view(elected());
    assert!(state.dirty, "the first snapshot");
    assert!(state.status_line.starts_with("cluster up."));
    state.dirty = false;
    state.apply_view(elected());
    assert!(!state.dirty, "the same snapshot");
    let mut later = elected();
    later.at += Duration::from_secs(1);
    state.apply_view(later);
    assert!(!state.dirty, "only the time moved");
    let mut v = elected();
    v.status.nodes[0].status.election_elapsed += 1;
    state.apply_view(v);
    assert!(state.dirty, "a timer moved");
    state.dirty = false;
    let mut v = elected();
    v.kv.insert(2, kv_after(7));
    state.apply_view(v);
    assert!(state.dirty, "the state machine changed");
    state.dirty = false;
    let mut v = elected();
    v.logs.insert(2, LogWindow::default());
    state.apply_view(v);
    assert!(state.dirty, "a log changed");
    // Paused with messages on the wire: dirty when they change, not otherwise.
    state.apply_view(paused_in_flight());
    state.dirty = false;
    state.apply_view(paused_in_flight());
    assert!(!state.dirty, "paused, nothing moved");
    // Running with messages on the wire: they move with the clock, so always dirty.
    let mut running = paused_in_flight();
    running.status.paused = false;
    state.apply_view(running.clone());
    state.dirty = false;
    state.apply_view(running);
    assert!(state.dirty, "messages moving");
    // The status line set by the first snapshot is not reset by later ones.
    state.status_line = "kept".into();
    state.apply_view(elected());
    assert_eq!(state.status_line, "kept");
}

#[test]
fn apply_event_marks_dirty_only_for_lines_the_feed_shows() {
    let mut state = app_with(elected(), Vec::new());
    state.dirty = false;
    let sent = ev(
        1_000,
        3,
        EventKind::MessageSent {
            id: 1,
            from: 3,
            to: 1,
            kind: MessageKind::Heartbeat,
            term: 4,
            delay: Duration::ZERO,
        },
    );
    state.apply_event(sent.clone());
    assert!(!state.dirty, "messages are hidden by default");
    assert_eq!(state.feed.len(), 1, "but kept");
    state.apply_event(ev(1_001, 0, EventKind::Fault("heal".into())));
    assert!(state.dirty);
    state.feed_kind = FeedKind::Messages;
    state.dirty = false;
    state.apply_event(sent);
    assert!(state.dirty);
    // Drops are remembered for the ring, at most 64.
    for i in 0..70 {
        state.apply_event(ev(
            2_000 + i,
            1,
            EventKind::MessageDropped {
                id: i,
                from: 1,
                to: 2,
                kind: MessageKind::Heartbeat,
                why: "link cut".into(),
            },
        ));
    }
    assert_eq!(state.drops.len(), 64);
    assert_eq!(
        state.drops.back().map(|d| d.at),
        Some(Duration::from_millis(2_069))
    );
    // The feed keeps at most FEED_CAPACITY lines, dropping the oldest.
    for i in 0..app::FEED_CAPACITY as u64 {
        state.apply_event(ev(10_000 + i, 0, EventKind::NodeUp));
    }
    assert_eq!(state.feed.len(), app::FEED_CAPACITY);
    assert_eq!(
        state.feed.front().map(|l| l.at),
        Some(Duration::from_millis(10_000))
    );
}

#[test]
fn keys_and_results_mark_dirty() {
    let mut state = app_with(elected(), Vec::new());
    state.dirty = false;
    state.on_key(key('Z'));
    assert!(state.dirty, "any key redraws");
    state.dirty = false;
    state.apply_result("killed 2".into());
    assert!(state.dirty);
    assert_eq!(state.status_line, "killed 2");
}

// ----------------------------------------------------------------------------------------------
// 4. The verdict, the history and the nemesis
// ----------------------------------------------------------------------------------------------

/// An operation at fixed times (ms), so the verdict's timeline is the same on every run.
fn operation(id: u64, client: u64, ms: (u64, u64), op: KvOp, output: KvOutput) -> Operation {
    Operation {
        id,
        client,
        invoke_us: ms.0 * 1_000,
        complete_us: Some(ms.1 * 1_000),
        op,
        output: Some(output),
        error: None,
    }
}

/// A stale read on `x`: client 1 writes 1, then client 0 (the user) reads nothing, after the
/// write was acknowledged; a read of `y` that is fine.
fn stale_read() -> CheckResult {
    let ops = vec![
        operation(
            0,
            1,
            (0, 12),
            KvOp::Put {
                key: "x".into(),
                value: "1".into(),
            },
            KvOutput::Put { previous: None },
        ),
        operation(
            1,
            0,
            (30, 41),
            KvOp::Get { key: "x".into() },
            KvOutput::Get { value: None },
        ),
        operation(
            2,
            0,
            (50, 52),
            KvOp::Get { key: "y".into() },
            KvOutput::Get { value: None },
        ),
    ];
    let result = check::check(&ops, Duration::from_secs(10));
    assert!(
        matches!(&result, CheckResult::NotLinearizable { key, .. } if key == "x"),
        "{result}"
    );
    result
}

fn counts(ok: usize, failed: usize, unknown: usize, in_flight: usize) -> Counts {
    Counts {
        ok,
        failed,
        unknown,
        in_flight,
    }
}

/// `state` after the checker reported `n` operations (all ok) and `result` on them.
fn judged(mut state: AppState, n: usize, result: CheckResult) -> AppState {
    state.apply_notice(Notice::Counts(counts(n, 0, 0, 0)));
    state.apply_notice(Notice::Checking(true));
    state.apply_notice(Notice::Verdict { ops: n, result });
    state.apply_notice(Notice::Checking(false));
    state
}

fn linearizable_state() -> AppState {
    let state = app_with(elected(), election_story());
    judged(state, 1_234, CheckResult::Linearizable)
}

fn violation_state() -> AppState {
    let state = app_with(elected(), election_story());
    let mut state = judged(state, 1_240, stale_read());
    state.apply_notice(Notice::Counts(counts(1_236, 2, 1, 1)));
    state
}

/// A nemesis 18 s into a 30 s run: its first line and a fault in the feed.
fn nemesis_state() -> AppState {
    let mut events = election_story();
    events.push(ev(3_100, 0, EventKind::Fault("isolate node 3".into())));
    let mut state = app_with(elected(), Vec::new());
    state.apply_notice(Notice::Feed {
        at: Duration::from_millis(2_500),
        text: "nemesis: 30 s of every fault, 4 clients on keys k0..k2 (seed 7)".into(),
    });
    for e in events
        .into_iter()
        .filter(|e| e.at >= Duration::from_millis(2_600))
    {
        state.apply_event(e);
    }
    state.apply_result(
        "nemesis: 30 s of random faults, 4 clients on 3 keys (C or nemesis stop ends it)".into(),
    );
    state.apply_notice(Notice::Nemesis(Some(NemesisView::Running {
        left: Duration::from_secs(12),
    })));
    judged(state, 381, CheckResult::Linearizable)
}

/// The footer's key row at `w`×`h` (the last row).
fn key_row(state: &AppState, w: u16, h: u16) -> String {
    Screen::of(state, w, h).row(h as usize - 1)
}

#[test]
fn screen_verdict_linearizable() {
    let state = linearizable_state();
    for (w, h) in SIZES {
        snapshot("verdict_linearizable", &state, w, h);
    }
}

#[test]
fn screen_verdict_not_linearizable() {
    let state = violation_state();
    for (w, h) in SIZES {
        snapshot("verdict_not_linearizable", &state, w, h);
    }
}

#[test]
fn screen_nemesis_running() {
    let state = nemesis_state();
    for (w, h) in SIZES {
        snapshot("nemesis_running", &state, w, h);
    }
}

#[test]
fn screen_history_overlay_with_the_failing_window() {
    let mut state = violation_state();
    state.update(Action::ToggleHistory);
    assert_eq!(state.focus, Focus::History);
    for (w, h) in SIZES {
        snapshot("history_overlay_not_linearizable", &state, w, h);
    }
}

#[test]
fn no_verdict_segment_before_the_first_operation() {
    let state = app_with(elected(), Vec::new());
    for (w, h) in SIZES {
        let row = key_row(&state, w, h);
        assert!(!row.contains("ops"), "{row:?}");
        assert!(!row.contains("linearizable"), "{row:?}");
    }
}

#[test]
fn the_verdict_segment_says_each_state_at_80_columns() {
    let base = || app_with(elected(), Vec::new());
    let cases: Vec<(AppState, &str)> = vec![
        (linearizable_state(), "ops 1,234 · linearizable ✓"),
        (
            violation_state(),
            "ops 1,240 · NOT LINEARIZABLE ✗ key x (v: why)",
        ),
        (
            nemesis_state(),
            "nemesis 12 s left · ops 381 · linearizable ✓",
        ),
        (
            judged(
                base(),
                9,
                CheckResult::GaveUp {
                    key: "k1".into(),
                    reason: "budget".into(),
                },
            ),
            "ops 9 · undecided (gave up)",
        ),
        (
            {
                let mut s = judged(base(), 3, CheckResult::Linearizable);
                s.apply_notice(Notice::Counts(counts(4, 0, 0, 0)));
                s.apply_notice(Notice::Checking(true));
                s
            },
            "ops 4 · checking",
        ),
        (
            {
                let mut s = base();
                s.apply_notice(Notice::Counts(counts(0, 0, 0, 1)));
                s
            },
            "ops 1 · checking",
        ),
        (
            {
                let mut s = judged(base(), 5, CheckResult::Linearizable);
                s.apply_notice(Notice::Nemesis(Some(NemesisView::Finishing)));
                s
            },
            "nemesis: healing, checking · ops 5 · linearizable ✓",
        ),
    ];
    for (state, want) in cases {
        for (w, h) in SIZES {
            let row = key_row(&state, w, h);
            assert!(row.starts_with("1-9 select"), "{row:?}");
            assert!(
                row.trim_end().ends_with(want),
                "{want:?} not at the end of {row:?}"
            );
        }
    }
}

#[test]
fn a_long_verdict_gives_way_but_keeps_the_verdict_at_40_columns() {
    let mut state = violation_state();
    state.apply_notice(Notice::Nemesis(Some(NemesisView::Running {
        left: Duration::from_secs(25),
    })));
    let row = key_row(&state, 40, 12);
    assert!(row.starts_with("1-9 select"), "{row:?}");
    assert!(row.contains("NOT LINEARIZABLE ✗ key x"), "{row:?}");
    let row = key_row(&state, 80, 24);
    assert!(
        row.contains("nemesis 25 s left · ops 1,240 · NOT LINEARIZABLE ✗ key x"),
        "{row:?}"
    );
}

#[test]
fn the_history_overlay_shows_counts_and_the_verdict() {
    let mut state = linearizable_state();
    state.apply_notice(Notice::Counts(counts(1_230, 3, 1, 0)));
    type_keys(&mut state, ":history");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(state.focus, Focus::History);
    let text = Screen::of(&state, 140, 45).text();
    for want in [
        "1,234 operations recorded",
        "1,230 ok · 3 failed (known not applied) · 1 unknown",
        "Verdict on the first 1,234 operations: linearizable ✓",
        "Client 0 is you",
        ":history save FILE",
    ] {
        assert!(text.contains(want), "{want:?} missing from\n{text}");
    }
    // v and Esc close it.
    state.on_key(key('v'));
    assert_eq!(state.focus, Focus::Main);
    state.on_key(key('v'));
    assert_eq!(state.focus, Focus::History);
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.focus, Focus::Main);
}

#[test]
fn the_history_overlay_shows_the_failing_window_at_80x24_by_scrolling() {
    let mut state = violation_state();
    state.on_key(key('v'));
    let top = Screen::of(&state, 80, 24).text();
    assert!(top.contains("NOT LINEARIZABLE ✗ key x"), "{top}");
    for _ in 0..40 {
        state.on_key(code(KeyCode::Down));
    }
    let bottom = Screen::of(&state, 80, 24).text();
    assert!(bottom.contains(":history save FILE"), "{bottom}");
    assert!(top.contains("client") || bottom.contains("client"));
}

#[test]
fn the_history_overlay_before_any_operation_says_how_to_make_some() {
    let mut state = app_with(elected(), Vec::new());
    state.update(Action::ToggleHistory);
    let text = Screen::of(&state, 140, 45).text();
    assert!(text.contains("0 operations recorded"), "{text}");
    assert!(text.contains("Nothing to judge yet"), "{text}");
}

#[test]
fn the_nemesis_key_starts_one_or_stops_the_one_running() {
    let mut state = app_with(elected(), Vec::new());
    assert_eq!(
        state.on_key(key('C')),
        run(PromptCommand::Nemesis(Duration::from_secs(30)))
    );
    assert_eq!(
        state.update(Action::Nemesis),
        run(PromptCommand::Nemesis(Duration::from_secs(30)))
    );
    state.apply_notice(Notice::Nemesis(Some(NemesisView::Running {
        left: Duration::from_secs(30),
    })));
    assert_eq!(state.on_key(key('C')), run(PromptCommand::NemesisStop));
    state.apply_notice(Notice::Nemesis(Some(NemesisView::Finishing)));
    assert_eq!(state.on_key(key('C')), run(PromptCommand::NemesisStop));
    state.apply_notice(Notice::Nemesis(None));
    assert_eq!(
        state.on_key(key('C')),
        run(PromptCommand::Nemesis(Duration::from_secs(30)))
    );
    // Under an overlay, C does nothing.
    state.on_key(key('?'));
    assert!(state.on_key(key('C')).is_empty());
}

#[test]
fn prompt_nemesis_and_history_commands() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":nemesis 10");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Nemesis(Duration::from_secs(10)))
    );
    type_keys(&mut state, ":nemesis stop");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::NemesisStop)
    );
    type_keys(&mut state, ":history save runs/h.jsonl");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::HistorySave("runs/h.jsonl".into()))
    );
    // Shown locally: no effect.
    type_keys(&mut state, ":history");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(state.focus, Focus::History);
    state.on_key(code(KeyCode::Esc));
    // Errors stay in the footer.
    type_keys(&mut state, ":nemesis forever");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert!(
        state.status_line.starts_with("error: nemesis: "),
        "{}",
        state.status_line
    );
    type_keys(&mut state, ":history save");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(
        state.status_line,
        "error: history: missing FILE (usage: history [save FILE])"
    );
}

#[test]
fn the_verdict_on_the_longest_history_wins_and_a_violation_stays() {
    let mut state = app_with(elected(), Vec::new());
    state.dirty = false;
    state.apply_notice(Notice::Verdict {
        ops: 10,
        result: CheckResult::Linearizable,
    });
    assert!(state.dirty);
    assert_eq!(state.check.verdict, Some((10, CheckResult::Linearizable)));
    // An older check that finished late does not replace a newer one.
    let gave_up = CheckResult::GaveUp {
        key: "x".into(),
        reason: "budget".into(),
    };
    state.apply_notice(Notice::Verdict {
        ops: 8,
        result: gave_up.clone(),
    });
    assert_eq!(state.check.verdict, Some((10, CheckResult::Linearizable)));
    state.apply_notice(Notice::Verdict {
        ops: 12,
        result: gave_up.clone(),
    });
    assert_eq!(state.check.verdict, Some((12, gave_up)));
    // A violation replaces anything and stays.
    let violation = stale_read();
    state.apply_notice(Notice::Verdict {
        ops: 11,
        result: violation.clone(),
    });
    assert_eq!(state.check.violation(), Some("x"));
    state.apply_notice(Notice::Verdict {
        ops: 50,
        result: CheckResult::Linearizable,
    });
    assert_eq!(state.check.verdict, Some((11, violation)));
}

#[test]
fn nemesis_notices_feed_the_feed_and_the_status_line() {
    let mut state = app_with(elected(), Vec::new());
    state.apply_notice(Notice::Feed {
        at: Duration::from_secs(40),
        text: "verdict: linearizable ✓ (381 operations)".into(),
    });
    let line = state.feed.back().expect("a feed line");
    assert_eq!(line.category, Category::Fault);
    assert_eq!((line.node, line.at), (0, Duration::from_secs(40)));
    state.apply_notice(Notice::Status("verdict: linearizable ✓".into()));
    assert_eq!(state.status_line, "verdict: linearizable ✓");
    let text = Screen::of(&state, 140, 45).text();
    assert!(
        text.contains("verdict: linearizable ✓ (381 operations)"),
        "{text}"
    );
}

#[test]
fn help_mentions_the_verdict_line_the_nemesis_key_and_commands() {
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    // Scroll through the whole overlay at 80×24, collecting its text.
    let mut text = String::new();
    for _ in 0..30 {
        text += &Screen::of(&state, 80, 24).text();
        for _ in 0..10 {
            state.on_key(code(KeyCode::Down));
        }
    }
    for want in [
        "chaos: run a 30 s nemesis",
        "nemesis [SECS|stop]",
        "history [save FILE]",
        "Verdict (footer, right)",
        "ops 1,234 · linearizable ✓",
        "NOT LINEARIZABLE ✗ key x",
    ] {
        assert!(text.contains(want), "{want:?} missing from the help");
    }
}
