//! The writer: [`Encoder`] turns captures, bus events and notes into lines of the format,
//! holding only what changed since the previous frame; [`Recorder`] runs it on its own task
//! against a live cluster and writes the lines to a file.
//!
//! ```text
//!   event bus ──────────┐
//!   capture every 100 ms┼─► Encoder ─► writer task ─► BufWriter ─► FILE
//!   note() (any task) ──┤    (diffs)
//!   History (1 s poll) ─┘
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

use super::format::{
    json_patch, ms, to_json, ClusterPart, EventLine, FrameLine, Header, KvDelta, Line, NoteKind,
    NoteLine, Run,
};
use crate::check::{History, OpStatus, Operation};
use crate::cluster::{ClusterHandle, InFlightInfo};
use crate::node::{Event, EventBus, EventKind};
use crate::observe::cluster_view::{capture, ClusterView, LogWant, LogWindow};
use crate::observe::feed::{category, Category};
use crate::observe::format;
use crate::raft::NodeId;

/// How often the recorder captures the cluster.
pub const FRAME_EVERY: Duration = Duration::from_millis(100);
/// Every how many frames the key-value contents are read too.
const KV_EVERY: u64 = 3;
/// Every how many frames the history is polled for completed operations.
const HISTORY_EVERY: u64 = 10;
/// How many log entries (the tail) each frame holds per node: more than a wide screen shows,
/// so a replay can scroll back a little.
pub const LOG_WINDOW: u64 = 256;

/// The messages of `new` in flight as (gone, added) relative to `old`, when the reader's
/// reconstruction (the ones still there in their order, then the added) gives `new` exactly.
fn in_flight_delta(
    old: &[InFlightInfo],
    new: &[InFlightInfo],
) -> Option<(Vec<u64>, Vec<InFlightInfo>)> {
    let gone: Vec<u64> = old
        .iter()
        .filter(|o| !new.iter().any(|n| n.id == o.id))
        .map(|o| o.id)
        .collect();
    let added: Vec<InFlightInfo> = new
        .iter()
        .filter(|n| !old.iter().any(|o| o.id == n.id))
        .cloned()
        .collect();
    let rebuilt: Vec<&InFlightInfo> = old
        .iter()
        .filter(|o| !gone.contains(&o.id))
        .chain(added.iter())
        .collect();
    let exact = rebuilt.len() == new.len() && rebuilt.iter().zip(new).all(|(a, b)| *a == b);
    exact.then_some((gone, added))
}

fn runs(window: &LogWindow) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for &(i, t) in &window.entries {
        match out.last_mut() {
            Some((start, term, n)) if *term == t && *start + *n == i => *n += 1,
            _ => out.push((i, t, 1)),
        }
    }
    out
}

fn kv_delta(old: Option<&Vec<(String, String)>>, new: &[(String, String)]) -> KvDelta {
    let old: BTreeMap<&str, &str> = old
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let new_map: BTreeMap<&str, &str> = new.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    KvDelta {
        set: new_map
            .iter()
            .filter(|(k, v)| old.get(*k) != Some(*v))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        del: old
            .keys()
            .filter(|k| !new_map.contains_key(*k))
            .map(|k| k.to_string())
            .collect(),
    }
}

/// Turns what happened into lines of the format (without the newline). The recorder uses it;
/// tests and tools can build recordings with it too.
#[derive(Debug, Default)]
pub struct Encoder {
    previous: Option<ClusterView>,
}

impl Encoder {
    /// A fresh encoder: its first frame holds everything.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// The header line.
    pub fn header(header: &Header) -> String {
        to_json(&Line::Header(header.clone()))
    }

    /// The frame line for `view` (at `view.at`), holding what changed since the previous frame;
    /// `None` when nothing did, unless `always` (a frame that only marks the time).
    pub fn frame(&mut self, view: &ClusterView, always: bool) -> Option<String> {
        let prev = self.previous.as_ref();
        let mut line = FrameLine {
            t: ms(view.at),
            ..FrameLine::default()
        };
        let cluster = ClusterPart::of(&view.status);
        if prev.is_none_or(|p| ClusterPart::of(&p.status) != cluster) {
            line.cluster = Some(cluster);
        }
        for n in &view.status.nodes {
            let old = prev.and_then(|p| p.status.nodes.iter().find(|o| o.id == n.id));
            let Some(old) = old else {
                line.nodes.push(n.clone());
                continue;
            };
            if old == n {
                continue;
            }
            let patch = match (serde_json::to_value(old), serde_json::to_value(n)) {
                (Ok(a), Ok(b)) => json_patch(&a, &b),
                _ => Err(()),
            };
            match patch {
                Ok(Some(serde_json::Value::Object(mut fields))) => {
                    fields.insert("id".into(), n.id.into());
                    line.patch.push(serde_json::Value::Object(fields));
                }
                Ok(_) => {}
                Err(()) => line.nodes.push(n.clone()),
            }
        }
        if let Some(p) = prev {
            line.removed = p
                .status
                .nodes
                .iter()
                .filter(|o| !view.status.nodes.iter().any(|n| n.id == o.id))
                .map(|o| o.id)
                .collect();
        }
        match prev {
            Some(p) if p.in_flight == view.in_flight => {}
            Some(p) if !p.in_flight.is_empty() && !view.in_flight.is_empty() => {
                match in_flight_delta(&p.in_flight, &view.in_flight) {
                    Some((gone, added)) => {
                        line.in_flight_del = gone;
                        line.in_flight_add = added;
                    }
                    None => line.in_flight = Some(view.in_flight.clone()),
                }
            }
            _ => line.in_flight = Some(view.in_flight.clone()),
        }
        for (id, window) in &view.logs {
            if prev.and_then(|p| p.logs.get(id)) != Some(window) {
                line.logs.insert(*id, runs(window));
            }
        }
        for (id, contents) in &view.kv {
            let old = prev.and_then(|p| p.kv.get(id));
            if old != Some(contents) {
                line.kv.insert(*id, kv_delta(old, contents));
            }
        }
        let changed = line.cluster.is_some()
            || !line.nodes.is_empty()
            || !line.patch.is_empty()
            || !line.removed.is_empty()
            || line.in_flight.is_some()
            || !line.in_flight_del.is_empty()
            || !line.in_flight_add.is_empty()
            || !line.logs.is_empty()
            || !line.kv.is_empty();
        self.previous = Some(view.clone());
        (changed || always).then(|| to_json(&Line::Frame(line)))
    }

    /// The event line for a bus event, as the feed shows it.
    pub fn event(event: &Event) -> String {
        let drop = match &event.kind {
            EventKind::MessageDropped { from, to, .. } => Some((*from, *to)),
            _ => None,
        };
        to_json(&Line::Event(EventLine {
            t: ms(event.at),
            node: event.node,
            cat: category(&event.kind).into(),
            text: event.kind.to_string(),
            drop,
        }))
    }

    /// An event line for a feed line that did not come from the bus (a job's notice).
    pub fn feed(at: Duration, node: NodeId, category: Category, text: &str) -> String {
        to_json(&Line::Event(EventLine {
            t: ms(at),
            node,
            cat: category.into(),
            text: text.to_string(),
            drop: None,
        }))
    }

    /// A note line.
    pub fn note(t: Duration, kind: NoteKind, text: &str, op: Option<&Operation>) -> String {
        to_json(&Line::Note(NoteLine {
            t: ms(t),
            kind,
            text: text.to_string(),
            op: op.cloned(),
        }))
    }
}

/// What a finished recording holds.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordSummary {
    /// The file.
    pub path: PathBuf,
    /// Lines written (the header included).
    pub lines: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Cluster time from the first frame to the last.
    pub duration: Duration,
}

impl RecordSummary {
    /// `recording: r.jsonl (1.2 MB, 12,345 lines, 65.0 s); replay it with raftlab replay r.jsonl`.
    pub fn describe(&self) -> String {
        format!(
            "recording: {} ({}, {} lines, {:.1} s); replay it with `raftlab replay {}`",
            self.path.display(),
            format::bytes(self.bytes),
            format::thousands(self.lines),
            self.duration.as_secs_f64(),
            self.path.display()
        )
    }
}

enum Cmd {
    Note {
        t: Duration,
        kind: NoteKind,
        text: String,
    },
    Feed {
        at: Duration,
        node: NodeId,
        category: Category,
        text: String,
    },
    Finish(oneshot::Sender<io::Result<RecordSummary>>),
}

/// Records a running cluster to a file. Cheap to clone; [`Recorder::note`] works from any
/// task and never blocks. Writing happens on its own task.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<Cmd>,
    bus: EventBus,
    path: PathBuf,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How a recorder samples the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordOptions {
    /// How often it captures a frame ([`FRAME_EVERY`]; at least 1 ms).
    pub frame_every: Duration,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            frame_every: FRAME_EVERY,
        }
    }
}

impl Recorder {
    /// Creates `path`, writes the header and starts recording `cluster` (its event bus from now
    /// on, a frame every [`FRAME_EVERY`] when something changed) and, if given, the operations of
    /// `history` as they complete. Must be called within a tokio runtime. Fails when the file
    /// cannot be created or written.
    pub fn start(
        cluster: ClusterHandle,
        path: &Path,
        header: Header,
        history: Option<History>,
    ) -> io::Result<Recorder> {
        Recorder::start_with(cluster, path, header, history, RecordOptions::default())
    }

    /// [`Recorder::start`] when a file is given (`--record FILE`), nothing otherwise; the header
    /// is made only when it is needed.
    pub fn start_if(
        cluster: ClusterHandle,
        path: Option<&Path>,
        header: impl FnOnce() -> Header,
        history: Option<History>,
    ) -> io::Result<Option<Recorder>> {
        path.map(|path| Recorder::start(cluster, path, header(), history))
            .transpose()
    }

    /// [`Recorder::start`] with other options.
    pub fn start_with(
        cluster: ClusterHandle,
        path: &Path,
        header: Header,
        history: Option<History>,
        options: RecordOptions,
    ) -> io::Result<Recorder> {
        let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        let file = File::create(path).map_err(with_path)?;
        let mut sink = Sink {
            out: Some(BufWriter::with_capacity(256 * 1024, file)),
            error: None,
            lines: 0,
            bytes: 0,
            path: path.to_path_buf(),
        };
        sink.line(&Encoder::header(&header));
        sink.flush();
        if let Some(e) = sink.error.take() {
            return Err(e);
        }
        let bus = cluster.events().clone();
        let events = bus.subscribe();
        let ops = history.map(|h| OpTracker::new(h, &bus));
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(record_task(cluster, sink, rx, events, ops, options));
        Ok(Recorder {
            tx,
            bus,
            path: path.to_path_buf(),
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a note, stamped with the cluster's time now. Never blocks, never panics; ignored
    /// after [`Recorder::finish`].
    pub fn note(&self, kind: NoteKind, text: impl Into<String>) {
        let _ = self.tx.send(Cmd::Note {
            t: self.bus.elapsed(),
            kind,
            text: text.into(),
        });
    }

    /// Adds a line to the recorded feed that did not come from the event bus (a job's notice),
    /// at cluster time `at`.
    pub fn feed(&self, at: Duration, node: NodeId, category: Category, text: impl Into<String>) {
        let _ = self.tx.send(Cmd::Feed {
            at,
            node,
            category,
            text: text.into(),
        });
    }

    /// Stops recording: takes the events and notes so far, writes a final frame (a fresh
    /// capture, key-values included), flushes, and says what was written. The error of a
    /// failed write, if one failed at any time.
    pub async fn finish(self) -> io::Result<RecordSummary> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Finish(tx))
            .map_err(|_| io::Error::other("the recorder had already stopped"))?;
        rx.await
            .map_err(|_| io::Error::other("the recorder had already stopped"))?
    }
}

/// The buffered file: counts what it wrote, remembers the first error (and then writes no more).
struct Sink {
    out: Option<BufWriter<File>>,
    error: Option<io::Error>,
    lines: u64,
    bytes: u64,
    path: PathBuf,
}

impl Sink {
    fn line(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let Some(out) = self.out.as_mut() else {
            return;
        };
        match out
            .write_all(text.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
        {
            Ok(()) => {
                self.lines += 1;
                self.bytes += text.len() as u64 + 1;
            }
            Err(e) => self.fail(e),
        }
    }

    fn flush(&mut self) {
        if let Some(out) = self.out.as_mut() {
            if let Err(e) = out.flush() {
                self.fail(e);
            }
        }
    }

    fn fail(&mut self, e: io::Error) {
        tracing::warn!(
            "recording to {}: {e}; nothing more is recorded",
            self.path.display()
        );
        self.error = Some(io::Error::new(
            e.kind(),
            format!("{}: {e}", self.path.display()),
        ));
        self.out = None;
    }
}

/// Follows a history: which operations were recorded, and the offset from its clock (wall
/// time) to the bus's wall time, which the bus turns into cluster time (pauses left out).
struct OpTracker {
    history: History,
    bus: EventBus,
    /// Bus wall time minus history time, in µs.
    offset_us: i128,
    done: Vec<bool>,
}

impl OpTracker {
    fn new(history: History, bus: &EventBus) -> OpTracker {
        let offset_us = bus.wall_elapsed().as_micros() as i128 - i128::from(history.now_us());
        OpTracker {
            history,
            bus: bus.clone(),
            offset_us,
            done: Vec::new(),
        }
    }

    /// Note lines for the operations completed since the last call (every one, in flight
    /// included, when `last`).
    fn poll(&mut self, now: Duration, last: bool) -> Vec<String> {
        let mut out = Vec::new();
        for op in self.history.operations() {
            let Ok(i) = usize::try_from(op.id) else {
                continue;
            };
            if self.done.len() <= i {
                self.done.resize(i + 1, false);
            }
            // The history lists an operation still waiting for its answer as unknown, with
            // this reason.
            let in_flight = op.complete_us.is_none() && op.error.as_deref() == Some("in flight");
            if self.done[i] || (in_flight && !last) {
                continue;
            }
            self.done[i] = true;
            let t = op.complete_us.map_or(now, |c| {
                let us = i128::from(c) + self.offset_us;
                let wall = Duration::from_micros(u64::try_from(us.max(0)).unwrap_or(u64::MAX));
                self.bus.cluster_time_at(wall)
            });
            out.push(Encoder::note(t, NoteKind::Op, &op_text(&op), Some(&op)));
        }
        out
    }
}

/// `client 3: put x="1" → ok, was absent in 2.1 ms`.
pub fn op_text(op: &Operation) -> String {
    let outcome = match (op.status(), &op.output) {
        (OpStatus::Ok, Some(out)) => out.to_string(),
        (OpStatus::Failed, _) => {
            format!("→ failed: {}", op.error.as_deref().unwrap_or("not applied"))
        }
        _ => format!("→ unknown ({})", op.error.as_deref().unwrap_or("no answer")),
    };
    let took = op.complete_us.map_or(String::new(), |c| {
        format!(
            " in {:.1} ms",
            c.saturating_sub(op.invoke_us) as f64 / 1_000.0
        )
    });
    format!("client {}: {} {outcome}{took}", op.client, op.op)
}

async fn record_task(
    cluster: ClusterHandle,
    mut sink: Sink,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    mut events: broadcast::Receiver<Event>,
    mut ops: Option<OpTracker>,
    options: RecordOptions,
) {
    let mut encoder = Encoder::new();
    let want = LogWant {
        end: None,
        len: LOG_WINDOW,
    };
    let mut previous: Option<ClusterView> = None;
    let mut first_t: Option<Duration> = None;
    let mut round = 0u64;
    let mut bus_open = true;
    let mut ticker = tokio::time::interval(options.frame_every.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let take_event = |sink: &mut Sink, ev: Result<Event, broadcast::error::RecvError>| -> bool {
        match ev {
            Ok(e) => sink.line(&Encoder::event(&e)),
            Err(broadcast::error::RecvError::Lagged(n)) => sink.line(&Encoder::feed(
                cluster.events().elapsed(),
                0,
                Category::Fault,
                &format!("(the recording skipped {n} events)"),
            )),
            Err(broadcast::error::RecvError::Closed) => return false,
        }
        true
    };
    let reply = loop {
        tokio::select! {
            ev = events.recv(), if bus_open => {
                bus_open = take_event(&mut sink, ev);
            }
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Note { t, kind, text }) => sink.line(&Encoder::note(t, kind, &text, None)),
                Some(Cmd::Feed { at, node, category, text }) => {
                    sink.line(&Encoder::feed(at, node, category, &text));
                }
                Some(Cmd::Finish(reply)) => break Some(reply),
                None => break None,
            },
            _ = ticker.tick() => {
                let view = capture(&cluster, want, previous.as_ref(), round.is_multiple_of(KV_EVERY)).await;
                round += 1;
                first_t.get_or_insert(view.at);
                if let Some(line) = encoder.frame(&view, false) {
                    sink.line(&line);
                }
                previous = Some(view);
                if round.is_multiple_of(HISTORY_EVERY) {
                    if let Some(ops) = ops.as_mut() {
                        for line in ops.poll(cluster.events().elapsed(), false) {
                            sink.line(&line);
                        }
                    }
                }
                sink.flush();
            }
        }
    };
    // The end: what is queued, then a fresh capture with the key-values.
    while bus_open {
        match events.try_recv() {
            Ok(e) => sink.line(&Encoder::event(&e)),
            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                bus_open = take_event(&mut sink, Err(broadcast::error::RecvError::Lagged(n)));
            }
            Err(_) => break,
        }
    }
    while let Ok(cmd) = cmds.try_recv() {
        match cmd {
            Cmd::Note { t, kind, text } => sink.line(&Encoder::note(t, kind, &text, None)),
            Cmd::Feed {
                at,
                node,
                category,
                text,
            } => sink.line(&Encoder::feed(at, node, category, &text)),
            Cmd::Finish(other) => {
                let _ = other.send(Err(io::Error::other("the recorder is already finishing")));
            }
        }
    }
    if let Some(ops) = ops.as_mut() {
        for line in ops.poll(cluster.events().elapsed(), true) {
            sink.line(&line);
        }
    }
    let view = capture(&cluster, want, previous.as_ref(), true).await;
    let first = *first_t.get_or_insert(view.at);
    if let Some(line) = encoder.frame(&view, true) {
        sink.line(&line);
    }
    sink.flush();
    let result = match sink.error.take() {
        Some(e) => Err(e),
        None => Ok(RecordSummary {
            path: sink.path.clone(),
            lines: sink.lines,
            bytes: sink.bytes,
            duration: view.at.saturating_sub(first),
        }),
    };
    drop(sink);
    if let Some(reply) = reply {
        let _ = reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_compress_a_log_and_expand_back() {
        let w = LogWindow {
            entries: vec![(5, 1), (6, 1), (7, 2), (8, 2), (9, 2), (11, 2)],
        };
        assert_eq!(runs(&w), vec![(5, 1, 2), (7, 2, 3), (11, 2, 1)]);
    }

    #[test]
    fn op_text_says_what_the_client_got() {
        let op = Operation {
            id: 0,
            client: 3,
            invoke_us: 1_000,
            complete_us: Some(3_100),
            op: crate::check::KvOp::Put {
                key: "x".into(),
                value: "1".into(),
            },
            output: Some(crate::check::KvOutput::Put { previous: None }),
            error: None,
        };
        assert_eq!(
            op_text(&op),
            "client 3: put x=\"1\" → ok, was absent in 2.1 ms"
        );
        let lost = Operation {
            complete_us: None,
            output: None,
            error: Some("timeout".into()),
            ..op
        };
        assert_eq!(op_text(&lost), "client 3: put x=\"1\" → unknown (timeout)");
    }
}
