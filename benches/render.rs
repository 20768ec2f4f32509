//! Frame rendering time of the dashboard: 9 nodes whose logs hold 100,000 entries, a full event
//! feed and 50 messages in flight, drawn to an off-screen 200×60 terminal.
//!
//! `cargo bench --bench render` prints the time per frame. The dashboard keeps only the visible
//! window of each log (the poller fetches that much), so a frame costs the same whatever the
//! log's length.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use raftlab::cluster::{ClusterStatus, InFlightInfo, NodeState, Preset};
use raftlab::node::{Event, EventKind};
use raftlab::observe::cluster_view::{ClusterView, LogWindow};
use raftlab::raft::{MessageKind, NodeId, Role, Status, TraceEvent};
use raftlab::tui::app::{AppState, Theme};
use raftlab::tui::view::{draw, ViewLayout};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const NODES: usize = 9;
const LAST: u64 = 100_000;

fn view_of(window: u64) -> ClusterView {
    let nodes: Vec<NodeState> = (1..=NODES as NodeId)
        .map(|id| NodeState {
            id,
            addr: format!("127.0.0.1:{}", 40_000 + id).parse().expect("addr"),
            up: true,
            status: Status {
                id,
                role: if id == 1 {
                    Role::Leader
                } else {
                    Role::Follower
                },
                term: 7,
                voted_for: Some(1),
                leader_id: Some(1),
                commit: LAST - 3,
                applied: LAST - 3,
                last_log_index: LAST,
                last_log_term: 7,
                persisted_index: LAST,
                first_index: 1,
                snapshot_index: 0,
                snapshot_term: 0,
                snapshot_bytes: 0,
                receiving_snapshot: None,
                election_elapsed: 3,
                election_timeout: 25,
                progress: Vec::new(),
                pre_candidate: false,
                transfer_target: None,
                voters: (1..=NODES as NodeId).collect(),
                learners: Vec::new(),
                conf_pending: false,
            },
            kv_len: 1000,
            clock_rate: 1.0,
            slow: Duration::ZERO,
        })
        .collect();
    let lo = LAST - window + 1;
    let logs: BTreeMap<NodeId, LogWindow> = (1..=NODES as NodeId)
        .map(|id| {
            let entries = (lo..=LAST).map(|i| (i, 1 + i / 20_000)).collect();
            (id, LogWindow { entries })
        })
        .collect();
    let kv: BTreeMap<NodeId, Vec<(String, String)>> = (1..=NODES as NodeId)
        .map(|id| {
            (
                id,
                (0..1000)
                    .map(|k| (format!("k{k}"), format!("v{k}")))
                    .collect(),
            )
        })
        .collect();
    let in_flight = (0..50)
        .map(|i| InFlightInfo {
            id: i,
            from: 1,
            to: 2 + i % 8,
            kind: MessageKind::AppendEntries,
            term: 7,
            sent_at: Duration::from_millis(1_000),
            due_at: Duration::from_millis(1_400),
            summary:
                "1->2 AppendEntries{term:7 prev:99990/7 commit:99997 entries:99991..=99999 (9)}"
                    .into(),
        })
        .collect();
    ClusterView {
        at: Duration::from_millis(1_200),
        status: ClusterStatus {
            nodes,
            paused: false,
            speed: 1.0,
            preset: Preset::Teach,
            tick: Duration::from_millis(100),
            groups: vec![(1..=NODES as NodeId).collect()],
            cut_links: Vec::new(),
        },
        in_flight,
        links: Vec::new(),
        logs,
        kv,
    }
}

fn main() {
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let mut state = AppState::new(NODES, Theme::Color);
    for i in 0..5_000u64 {
        state.apply_event(Event {
            at: Duration::from_millis(i),
            node: 1 + i % NODES as u64,
            kind: EventKind::Trace(TraceEvent::CommitAdvanced { from: i, to: i + 1 }),
        });
    }
    // First frame sizes the log window; the poller would then fetch that many entries.
    state.apply_view(view_of(64));
    terminal.draw(|f| draw(&mut state, f)).expect("draw");
    let window = state.layout.log_cells;
    state.apply_view(view_of(window));

    let frames = 2_000;
    let mut times = Vec::with_capacity(frames);
    for _ in 0..frames {
        let start = Instant::now();
        terminal.draw(|f| draw(&mut state, f)).expect("draw");
        times.push(start.elapsed());
    }
    times.sort();
    let mut base = Vec::with_capacity(frames);
    for _ in 0..frames {
        let start = Instant::now();
        terminal
            .draw(|f| {
                let _ = f.area();
            })
            .expect("draw");
        base.push(start.elapsed());
    }
    base.sort();
    println!(
        "baseline (empty frame): median {:.3} ms",
        base[frames / 2].as_secs_f64() * 1e3
    );
    use raftlab::tui::view::{feed, footer, header, logs, ring, side, table};
    type Part = fn(&AppState, &mut ratatui::Frame, ratatui::layout::Rect);
    let parts: [(&str, Part); 7] = [
        ("header", header::render),
        ("ring", |s, f, a| {
            ring::render(s, &mut ViewLayout::default(), f, a)
        }),
        ("table", table::render),
        ("logs", |s, f, a| {
            logs::render(s, &mut ViewLayout::default(), f, a)
        }),
        ("feed", |s, f, a| {
            feed::feed(s, &mut ViewLayout::default(), f, a)
        }),
        ("side", side::side),
        ("footer", footer::footer),
    ];
    for (name, part) in parts {
        let mut t = Vec::new();
        for _ in 0..500 {
            let start = Instant::now();
            terminal
                .draw(|f| part(&state, f, ratatui::layout::Rect::new(0, 0, 100, 20)))
                .expect("draw");
            t.push(start.elapsed());
        }
        t.sort();
        println!("{name}: median {:.3} ms", t[250].as_secs_f64() * 1e3);
    }
    let mean = times.iter().sum::<Duration>() / frames as u32;
    println!(
        "render: {NODES} nodes, logs of {LAST} entries ({window} visible), 5,000 feed lines, \
         50 messages in flight, 200x60: mean {:.3} ms, median {:.3} ms, p99 {:.3} ms per frame",
        mean.as_secs_f64() * 1e3,
        times[frames / 2].as_secs_f64() * 1e3,
        times[frames * 99 / 100].as_secs_f64() * 1e3,
    );
}
