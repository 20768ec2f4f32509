//! Recordings of a run (`--record FILE`) and their reader (`raftlab replay FILE`).
//!
//! A recording is JSON lines. The first is a header; every other line has a `type` and a time
//! `t`, in milliseconds of cluster time (`cluster.events().elapsed()`):
//!
//! ```text
//! {"type":"header","format":1,"raftlab":"0.1.0","nodes":3,"preset":"fast","seed":0,"title":"raftlab --record r.jsonl","started":"2025-11-26T21:30:00Z","started_unix_ms":1764192600000}
//! {"type":"frame","t":52,"cluster":{..},"nodes":[{NodeState}..],"in_flight":[..],"logs":{"1":[[1,1,3]]},"kv":{"1":{"set":[["k1","7"]]}}}
//! {"type":"frame","t":152,"patch":[{"id":2,"status":{"election_elapsed":7}}],"in_flight_del":[41],"in_flight_add":[..]}
//! {"type":"event","t":61,"node":2,"cat":"election","text":"became leader in term 1"}
//! {"type":"event","t":75,"node":0,"cat":"message","text":"dropped #12 2->3 AppendEntries (link cut)","drop":[2,3]}
//! {"type":"note","t":80,"kind":"result","text":"put k1 7 → ok, new key (index 3, term 1) in 4.1 ms"}
//! {"type":"note","t":80,"kind":"op","text":"client 0: put k1=\"7\" → ok, was absent in 4.1 ms","op":{Operation}}
//! ```
//!
//! - **frames** are [`ClusterView`]s captured every [`FRAME_EVERY`], written only when something
//!   changed, and holding only what changed since the previous frame: the cluster's settings
//!   (`cluster`), each node that changed (in full in `nodes` the first time, then as a `patch`
//!   of the fields that changed, e.g. `{"id":2,"status":{"election_elapsed":7}}`; `removed` for
//!   nodes that left), the messages in flight (`in_flight` in full, or `in_flight_del` ids and
//!   `in_flight_add` messages), each changed node's log window as runs
//!   `[first index, term, count]`, and each changed node's key-value contents as a delta (`set`,
//!   `del`). The reader carries the rest forward. The recorder ends with a frame of a fresh
//!   capture, key-values included.
//! - **events** are the event bus as the dashboard's feed shows it: node, category, text, and
//!   for a dropped message the link (`drop`) that the ring marks.
//! - **notes** are free text with a kind ([`NoteKind`]): a command's outcome (`result`, the
//!   status line), a scenario's narration (`narration`), a client operation (`op`, with the
//!   [`Operation`] when it came from a [`History`]).
//!
//! ```text
//!   event bus ──────────┐
//!   capture every 100 ms┼─► Encoder ─► writer task ─► BufWriter ─► FILE ─► Recording::load
//!   note() (any task) ──┤    (diffs)                                        frame_at(t), feed_at(t),
//!   History (1 s poll) ─┘                                                   result_at(t), ...
//! ```
//!
//! The recorder reads the cluster through the capture the dashboard draws from
//! (`observe::cluster_view::capture`) and writes the feed in the form the dashboard shows it
//! (`observe::feed::FeedLine`), so a replay draws exactly what a live dashboard drew.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::check::{History, OpStatus, Operation};
use crate::cluster::{ClusterHandle, ClusterStatus, InFlightInfo, NodeState, Preset};
use crate::node::{Event, EventBus, EventKind};
use crate::observe::cluster_view::{capture, ClusterView, LogWant, LogWindow};
use crate::observe::feed::{category, Category, DropMark, FeedLine, FEED_CAPACITY};
use crate::observe::format;
use crate::raft::{Index, NodeId, Term};

/// The version of the format this build writes and reads.
pub const FORMAT: u32 = 1;
/// How often the recorder captures the cluster.
pub const FRAME_EVERY: Duration = Duration::from_millis(100);
/// Every how many frames the key-value contents are read too.
const KV_EVERY: u64 = 3;
/// Every how many frames the history is polled for completed operations.
const HISTORY_EVERY: u64 = 10;
/// How many log entries (the tail) each frame holds per node: more than a wide screen shows,
/// so a replay can scroll back a little.
pub const LOG_WINDOW: u64 = 256;
/// Most drop marks kept for the ring (as the live dashboard does).
const DROPS_KEPT: usize = 64;

// ---------------------------------------------------------------------------------------------
// The format
// ---------------------------------------------------------------------------------------------

/// The first line of a recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Version of the format ([`FORMAT`]).
    pub format: u32,
    /// Version of raftlab that wrote it.
    pub raftlab: String,
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Timing preset.
    pub preset: Preset,
    /// Seed of the cluster.
    pub seed: u64,
    /// What was run: the command line, a scenario's name...
    pub title: String,
    /// Wall-clock start, UTC, RFC 3339 (`2025-11-26T21:30:00Z`).
    pub started: String,
    /// The same in milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
}

impl Header {
    /// A header for a run starting now, titled with the command line that started it.
    pub fn for_command_line(nodes: usize, preset: Preset, seed: u64) -> Header {
        Header::new(nodes, preset, seed, command_line())
    }

    /// A header for a run starting now.
    pub fn new(nodes: usize, preset: Preset, seed: u64, title: impl Into<String>) -> Header {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let ms = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
        Header {
            format: FORMAT,
            raftlab: env!("CARGO_PKG_VERSION").to_string(),
            nodes,
            preset,
            seed,
            title: title.into(),
            started: rfc3339(now.as_secs()),
            started_unix_ms: ms,
        }
    }
}

/// This process' command line, `raftlab` first: a title for a recording's header.
pub fn command_line() -> String {
    let mut words: Vec<String> = std::env::args().skip(1).collect();
    words.insert(0, "raftlab".to_string());
    words.join(" ")
}

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Howard Hinnant's days_from_civil, inverted.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// What a note is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteKind {
    /// A command's outcome line (the dashboard's status line).
    Result,
    /// A scenario's narration.
    Narration,
    /// A client operation.
    Op,
}

/// A note, as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    /// Cluster time.
    pub t: Duration,
    /// What it is.
    pub kind: NoteKind,
    /// The text.
    pub text: String,
    /// The operation, for notes of kind `op` that came from a [`History`].
    pub op: Option<Operation>,
}

/// The cluster-wide part of a frame (everything in [`ClusterStatus`] but the nodes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ClusterPart {
    paused: bool,
    speed: f64,
    preset: Preset,
    tick: Duration,
    groups: Vec<Vec<NodeId>>,
    cut_links: Vec<(NodeId, NodeId)>,
}

impl ClusterPart {
    fn of(s: &ClusterStatus) -> ClusterPart {
        ClusterPart {
            paused: s.paused,
            speed: s.speed,
            preset: s.preset,
            tick: s.tick,
            groups: s.groups.clone(),
            cut_links: s.cut_links.clone(),
        }
    }
}

/// A run of consecutive log entries of one term: (first index, term, count).
type Run = (Index, Term, u64);

/// Changes to one node's key-value contents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct KvDelta {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    set: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    del: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct FrameLine {
    t: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cluster: Option<ClusterPart>,
    /// Nodes in full (new ones, or when a patch cannot say it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    nodes: Vec<NodeState>,
    /// The fields of a node that changed, as JSON with its `id`: merged into what the reader has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    patch: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    removed: Vec<NodeId>,
    /// The messages in flight in full...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    in_flight: Option<Vec<InFlightInfo>>,
    /// ... or those that left the wire since the previous frame (by id)...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    in_flight_del: Vec<u64>,
    /// ... and those that entered it, after the ones still there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    in_flight_add: Vec<InFlightInfo>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    logs: BTreeMap<NodeId, Vec<Run>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    kv: BTreeMap<NodeId, KvDelta>,
}

/// The feed's categories as the file names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Cat {
    Election,
    Replication,
    Message,
    Client,
    Fault,
}

impl From<Category> for Cat {
    fn from(c: Category) -> Cat {
        match c {
            Category::Election => Cat::Election,
            Category::Replication => Cat::Replication,
            Category::Message => Cat::Message,
            Category::Client => Cat::Client,
            Category::Fault => Cat::Fault,
        }
    }
}

impl From<Cat> for Category {
    fn from(c: Cat) -> Category {
        match c {
            Cat::Election => Category::Election,
            Cat::Replication => Category::Replication,
            Cat::Message => Category::Message,
            Cat::Client => Category::Client,
            Cat::Fault => Category::Fault,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct EventLine {
    t: u64,
    node: NodeId,
    cat: Cat,
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    drop: Option<(NodeId, NodeId)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct NoteLine {
    t: u64,
    kind: NoteKind,
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    op: Option<Operation>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Line {
    Header(Header),
    Frame(FrameLine),
    Event(EventLine),
    Note(NoteLine),
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn to_json(line: &Line) -> String {
    // Every type here serializes (no maps with non-string keys but integers, which serde_json
    // writes as strings); an error would be a bug, and a line lost is better than a panic.
    serde_json::to_string(line).unwrap_or_default()
}

/// What changed from `old` to `new` as a JSON merge patch (objects merge field by field, any
/// other value replaces); `None` when equal. `Err` when `new` lacks a field `old` has, which a
/// merge cannot say.
fn json_patch(
    old: &serde_json::Value,
    new: &serde_json::Value,
) -> Result<Option<serde_json::Value>, ()> {
    use serde_json::Value;
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            if a.keys().any(|k| !b.contains_key(k)) {
                return Err(());
            }
            let mut out = serde_json::Map::new();
            for (k, vb) in b {
                match a.get(k) {
                    Some(va) => {
                        if let Some(d) = json_patch(va, vb)? {
                            out.insert(k.clone(), d);
                        }
                    }
                    None => {
                        out.insert(k.clone(), vb.clone());
                    }
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        _ if old == new => Ok(None),
        _ => Ok(Some(new.clone())),
    }
}

/// Applies a patch made by [`json_patch`].
fn json_merge(target: &mut serde_json::Value, patch: serde_json::Value) {
    use serde_json::Value;
    match (target, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, vb) in b {
                match a.get_mut(&k) {
                    Some(va) => json_merge(va, vb),
                    None => {
                        a.insert(k, vb);
                    }
                }
            }
        }
        (t, p) => *t = p,
    }
}

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

// ---------------------------------------------------------------------------------------------
// The recorder
// ---------------------------------------------------------------------------------------------

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

/// Follows a history: which operations were recorded, and the offset from its clock to the
/// cluster's.
struct OpTracker {
    history: History,
    /// Cluster time minus history time, in µs.
    offset_us: i128,
    done: Vec<bool>,
}

impl OpTracker {
    fn new(history: History, bus: &EventBus) -> OpTracker {
        let offset_us = bus.elapsed().as_micros() as i128 - i128::from(history.now_us());
        OpTracker {
            history,
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
                Duration::from_micros(u64::try_from(us.max(0)).unwrap_or(u64::MAX))
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

// ---------------------------------------------------------------------------------------------
// The reader
// ---------------------------------------------------------------------------------------------

/// Why a recording cannot be read.
#[derive(Debug)]
pub enum RecordError {
    /// The file cannot be opened or read.
    Io(io::Error),
    /// The file is empty.
    Empty,
    /// The first line is not a recording's header.
    NoHeader {
        /// What is wrong with it.
        why: String,
    },
    /// Written in a format this build does not read.
    Version {
        /// The file's format.
        found: u64,
    },
    /// A line that is not what the format says.
    Line {
        /// Its number, from 1.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
    /// The recording holds no frame (the run ended before its first capture).
    NoFrame,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Io(e) => write!(f, "{e}"),
            RecordError::Empty => write!(f, "empty file: not a raftlab recording"),
            RecordError::NoHeader { why } => {
                write!(f, "line 1: not a raftlab recording (no header: {why})")
            }
            RecordError::Version { found } => write!(
                f,
                "line 1: recording format {found}, but this raftlab ({}) reads format {FORMAT}",
                env!("CARGO_PKG_VERSION")
            ),
            RecordError::Line { line, why } => write!(f, "line {line}: {why}"),
            RecordError::NoFrame => write!(
                f,
                "the recording holds no frame (the run ended before its first capture)"
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// One frame in memory: parts shared with the frames before it when unchanged.
#[derive(Clone, Debug)]
struct StoredFrame {
    t: Duration,
    cluster: Arc<ClusterPart>,
    nodes: Vec<Arc<NodeState>>,
    in_flight: Arc<Vec<InFlightInfo>>,
    logs: BTreeMap<NodeId, Arc<Vec<Run>>>,
    kv: BTreeMap<NodeId, Arc<Vec<(String, String)>>>,
}

#[derive(Clone, Debug)]
struct StoredEvent {
    t: Duration,
    node: NodeId,
    category: Category,
    text: String,
}

/// A recording, loaded: what the dashboard needs at any time.
#[derive(Clone, Debug)]
pub struct Recording {
    header: Header,
    frames: Vec<StoredFrame>,
    events: Vec<StoredEvent>,
    drops: Vec<DropMark>,
    notes: Vec<Note>,
    warnings: Vec<String>,
    start: Duration,
    end: Duration,
}

/// What the reader carries from frame to frame.
#[derive(Default)]
struct Carried {
    cluster: Option<Arc<ClusterPart>>,
    nodes: BTreeMap<NodeId, Arc<NodeState>>,
    /// Each node as JSON, for patches.
    node_json: BTreeMap<NodeId, serde_json::Value>,
    in_flight: Arc<Vec<InFlightInfo>>,
    logs: BTreeMap<NodeId, Arc<Vec<Run>>>,
    kv: BTreeMap<NodeId, BTreeMap<String, String>>,
    kv_shared: BTreeMap<NodeId, Arc<Vec<(String, String)>>>,
}

impl Carried {
    fn apply(&mut self, f: FrameLine, line: usize) -> Result<StoredFrame, RecordError> {
        if let Some(c) = f.cluster {
            self.cluster = Some(Arc::new(c));
        }
        let Some(cluster) = self.cluster.clone() else {
            return Err(RecordError::Line {
                line,
                why: "the first frame lacks the cluster's settings".into(),
            });
        };
        for n in f.nodes {
            let json = serde_json::to_value(&n).map_err(|e| RecordError::Line {
                line,
                why: e.to_string(),
            })?;
            self.node_json.insert(n.id, json);
            self.nodes.insert(n.id, Arc::new(n));
        }
        for p in f.patch {
            let bad = |why: String| RecordError::Line { line, why };
            let id = p
                .get("id")
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| bad("a node patch without an id".into()))?;
            let json = self
                .node_json
                .get_mut(&id)
                .ok_or_else(|| bad(format!("a patch of node {id}, never seen in full")))?;
            json_merge(json, p);
            let node: NodeState =
                serde_json::from_value(json.clone()).map_err(|e| bad(format!("node {id}: {e}")))?;
            self.nodes.insert(id, Arc::new(node));
        }
        for id in f.removed {
            self.nodes.remove(&id);
            self.node_json.remove(&id);
            self.logs.remove(&id);
            self.kv.remove(&id);
            self.kv_shared.remove(&id);
        }
        if let Some(m) = f.in_flight {
            self.in_flight = Arc::new(m);
        } else if !f.in_flight_del.is_empty() || !f.in_flight_add.is_empty() {
            let mut m: Vec<InFlightInfo> = self
                .in_flight
                .iter()
                .filter(|m| !f.in_flight_del.contains(&m.id))
                .cloned()
                .collect();
            m.extend(f.in_flight_add);
            self.in_flight = Arc::new(m);
        }
        for (id, r) in f.logs {
            self.logs.insert(id, Arc::new(r));
        }
        for (id, delta) in f.kv {
            let map = self.kv.entry(id).or_default();
            for k in delta.del {
                map.remove(&k);
            }
            for (k, v) in delta.set {
                map.insert(k, v);
            }
            self.kv_shared.insert(
                id,
                Arc::new(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            );
        }
        Ok(StoredFrame {
            t: Duration::from_millis(f.t),
            cluster,
            nodes: self.nodes.values().cloned().collect(),
            in_flight: self.in_flight.clone(),
            logs: self.logs.clone(),
            kv: self.kv_shared.clone(),
        })
    }
}

impl Recording {
    /// Reads a recording. A last line cut short (the writer died mid-line) is dropped with a
    /// warning ([`Recording::warnings`]); lines of an unknown type are skipped with a warning.
    pub fn load(path: &Path) -> Result<Recording, RecordError> {
        let file = File::open(path).map_err(RecordError::Io)?;
        let recording = Recording::parse(BufReader::new(file))?;
        for w in &recording.warnings {
            tracing::warn!("{}: {w}", path.display());
        }
        Ok(recording)
    }

    /// Reads a recording from `reader` (see [`Recording::load`]).
    pub fn parse(mut reader: impl BufRead) -> Result<Recording, RecordError> {
        let mut header: Option<Header> = None;
        let mut carried = Carried::default();
        let mut frames: Vec<StoredFrame> = Vec::new();
        let mut events = Vec::new();
        let mut drops = Vec::new();
        let mut notes = Vec::new();
        let mut warnings = Vec::new();
        let mut unknown = 0usize;
        let mut buf = Vec::new();
        let mut number = 0usize;
        loop {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(RecordError::Io)?;
            if n == 0 {
                break;
            }
            number += 1;
            let complete = buf.last() == Some(&b'\n');
            let text = match std::str::from_utf8(&buf) {
                Ok(t) => t.trim(),
                Err(_) if !complete => {
                    warnings.push(format!("line {number}: cut short, ignored"));
                    break;
                }
                Err(_) => {
                    return Err(RecordError::Line {
                        line: number,
                        why: "not UTF-8 text".into(),
                    })
                }
            };
            if text.is_empty() {
                continue;
            }
            let Some(_) = &header else {
                header = Some(parse_header(text)?);
                continue;
            };
            let parsed = match parse_line(text) {
                Ok(Some(l)) => l,
                Ok(None) => {
                    unknown += 1;
                    continue;
                }
                Err(_) if !complete => {
                    warnings.push(format!(
                        "line {number}: cut short (the recording ends mid-line), ignored"
                    ));
                    break;
                }
                Err(e) => {
                    return Err(RecordError::Line {
                        line: number,
                        why: e.to_string(),
                    })
                }
            };
            match parsed {
                Line::Header(_) => {
                    return Err(RecordError::Line {
                        line: number,
                        why: "a second header".into(),
                    })
                }
                Line::Frame(f) => frames.push(carried.apply(f, number)?),
                Line::Event(e) => {
                    let t = Duration::from_millis(e.t);
                    if let Some((from, to)) = e.drop {
                        drops.push(DropMark { at: t, from, to });
                    }
                    events.push(StoredEvent {
                        t,
                        node: e.node,
                        category: e.cat.into(),
                        text: e.text,
                    });
                }
                Line::Note(n) => notes.push(Note {
                    t: Duration::from_millis(n.t),
                    kind: n.kind,
                    text: n.text,
                    op: n.op,
                }),
            }
        }
        let header = header.ok_or(RecordError::Empty)?;
        if unknown > 0 {
            warnings.push(format!("{unknown} lines of an unknown type skipped"));
        }
        if frames.is_empty() {
            return Err(RecordError::NoFrame);
        }
        // Lines are written roughly in time order (stamps are taken on many tasks); the reader
        // wants them exactly so. Stable: lines with the same time keep the file's order.
        frames.sort_by_key(|f| f.t);
        events.sort_by_key(|e| e.t);
        drops.sort_by_key(|d| d.at);
        notes.sort_by_key(|n| n.t);
        let start = frames.first().map_or(Duration::ZERO, |f| f.t);
        let end = frames
            .iter()
            .map(|f| f.t)
            .chain(events.iter().map(|e| e.t))
            .chain(notes.iter().map(|n| n.t))
            .max()
            .unwrap_or(start)
            .max(start);
        Ok(Recording {
            header,
            frames,
            events,
            drops,
            notes,
            warnings,
            start,
            end,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// What was odd but readable (a last line cut short, lines of unknown types).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Cluster time of the first frame: where a replay starts.
    pub fn start(&self) -> Duration {
        self.start
    }

    /// Cluster time of the last line.
    pub fn end(&self) -> Duration {
        self.end
    }

    /// From the first frame to the last line.
    pub fn duration(&self) -> Duration {
        self.end.saturating_sub(self.start)
    }

    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.frames.len()
    }

    /// Number of events.
    pub fn events(&self) -> usize {
        self.events.len()
    }

    /// Every note, in time order.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// The time of the last frame before `t` (or `None`).
    pub fn frame_before(&self, t: Duration) -> Option<Duration> {
        let i = self.frames.partition_point(|f| f.t < t);
        i.checked_sub(1).map(|i| self.frames[i].t)
    }

    /// The time of the first frame after `t` (or `None`).
    pub fn frame_after(&self, t: Duration) -> Option<Duration> {
        let i = self.frames.partition_point(|f| f.t <= t);
        self.frames.get(i).map(|f| f.t)
    }

    /// The cluster as the frame in force at `t` showed it (`None` before the first frame), with
    /// the log window `want` asks for — cut from the recorded window as the live poller would
    /// have fetched it.
    pub fn frame_at(&self, t: Duration, want: LogWant) -> Option<ClusterView> {
        let i = self.frames.partition_point(|f| f.t <= t);
        let f = &self.frames[i.checked_sub(1)?];
        let nodes: Vec<NodeState> = f.nodes.iter().map(|n| (**n).clone()).collect();
        let highest = nodes
            .iter()
            .map(|n| n.status.last_log_index)
            .max()
            .unwrap_or(0);
        let end = want.end.unwrap_or(highest).min(highest);
        let lo = end.saturating_sub(want.len.saturating_sub(1)).max(1);
        let logs = f
            .logs
            .iter()
            .map(|(id, runs)| {
                let mut entries = Vec::new();
                for &(first, term, n) in runs.iter() {
                    let a = first.max(lo);
                    let b = (first.saturating_add(n)).min(end.saturating_add(1));
                    entries.extend((a..b).map(|i| (i, term)));
                }
                (*id, LogWindow { entries })
            })
            .collect();
        let c = &f.cluster;
        Some(ClusterView {
            at: f.t,
            status: ClusterStatus {
                nodes,
                paused: c.paused,
                speed: c.speed,
                preset: c.preset,
                tick: c.tick,
                groups: c.groups.clone(),
                cut_links: c.cut_links.clone(),
            },
            in_flight: (*f.in_flight).clone(),
            logs,
            kv: f.kv.iter().map(|(id, kv)| (*id, (**kv).clone())).collect(),
        })
    }

    /// The last frame, with its whole recorded log window.
    pub fn last_frame(&self) -> Option<ClusterView> {
        self.frame_at(
            self.end,
            LogWant {
                end: None,
                len: u64::MAX,
            },
        )
    }

    /// The feed at `t`: the newest [`FEED_CAPACITY`] events up to `t`, oldest first.
    pub fn feed_at(&self, t: Duration) -> Vec<FeedLine> {
        let i = self.events.partition_point(|e| e.t <= t);
        self.events[i.saturating_sub(FEED_CAPACITY)..i]
            .iter()
            .map(|e| FeedLine {
                at: e.t,
                node: e.node,
                category: e.category,
                text: e.text.clone(),
            })
            .collect()
    }

    /// The ring's drop marks at `t`: the newest 64 drops up to `t`, oldest first.
    pub fn drops_at(&self, t: Duration) -> Vec<DropMark> {
        let i = self.drops.partition_point(|d| d.at <= t);
        self.drops[i.saturating_sub(DROPS_KEPT)..i].to_vec()
    }

    fn last_note(&self, t: Duration, kind: NoteKind) -> Option<&Note> {
        let i = self.notes.partition_point(|n| n.t <= t);
        self.notes[..i].iter().rev().find(|n| n.kind == kind)
    }

    /// The last `result` note up to `t`: the status line then.
    pub fn result_at(&self, t: Duration) -> Option<&str> {
        self.last_note(t, NoteKind::Result).map(|n| n.text.as_str())
    }

    /// The narration in force at `t`.
    pub fn narration_at(&self, t: Duration) -> Option<&str> {
        self.last_note(t, NoteKind::Narration)
            .map(|n| n.text.as_str())
    }

    /// Whether the recording has any narration (a replay then keeps a line for it).
    pub fn has_narration(&self) -> bool {
        self.notes.iter().any(|n| n.kind == NoteKind::Narration)
    }
}

/// The `type` of a line, read before the rest.
#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

/// One line after the header; `None` for a line of a type this build does not know. (Each type
/// is read on its own rather than through `Line`: serde cannot read the integer keys of `logs`
/// and `kv` through an internally tagged enum.)
fn parse_line(text: &str) -> Result<Option<Line>, serde_json::Error> {
    let tag: Tag = serde_json::from_str(text)?;
    Ok(Some(match tag.kind.as_ref() {
        "header" => Line::Header(serde_json::from_str(text)?),
        "frame" => Line::Frame(serde_json::from_str(text)?),
        "event" => Line::Event(serde_json::from_str(text)?),
        "note" => Line::Note(serde_json::from_str(text)?),
        _ => return Ok(None),
    }))
}

fn parse_header(text: &str) -> Result<Header, RecordError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| RecordError::NoHeader {
            why: format!("not JSON: {e}"),
        })?;
    let serde_json::Value::Object(o) = &value else {
        return Err(RecordError::NoHeader {
            why: "not a JSON object".into(),
        });
    };
    if o.get("type").and_then(|t| t.as_str()) != Some("header") {
        return Err(RecordError::NoHeader {
            why: "the first line is not of type \"header\"".into(),
        });
    }
    match o.get("format").and_then(serde_json::Value::as_u64) {
        Some(f) if f == u64::from(FORMAT) => {}
        Some(f) => return Err(RecordError::Version { found: f }),
        None => {
            return Err(RecordError::NoHeader {
                why: "it has no format version".into(),
            })
        }
    }
    serde_json::from_value::<Header>(value)
        .map_err(|e| RecordError::NoHeader { why: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::{MessageKind, Role, Status};

    fn node(id: NodeId, term: Term, role: Role, last: Index, up: bool) -> NodeState {
        NodeState {
            id,
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 7000 + id as u16)),
            up,
            status: Status {
                id,
                role,
                term,
                voted_for: Some(1),
                leader_id: Some(1),
                commit: last,
                applied: last,
                last_log_index: last,
                last_log_term: term,
                persisted_index: last,
                first_index: 1,
                snapshot_index: 0,
                snapshot_term: 0,
                snapshot_bytes: 0,
                receiving_snapshot: None,
                election_elapsed: 0,
                election_timeout: 20,
                progress: Vec::new(),
                pre_candidate: false,
                transfer_target: None,
                voters: Vec::new(),
                learners: Vec::new(),
                conf_pending: false,
            },
            kv_len: 0,
            clock_rate: 1.0,
            slow: Duration::ZERO,
        }
    }

    /// A 3-node view at `ms` where node 1 leads term `term` over `last` entries of that term.
    fn view(ms: u64, term: Term, last: Index, kv: &[(&str, &str)]) -> ClusterView {
        let nodes: Vec<NodeState> = (1..=3)
            .map(|id| {
                let role = if id == 1 {
                    Role::Leader
                } else {
                    Role::Follower
                };
                node(id, term, role, last, true)
            })
            .collect();
        let logs = (1..=3)
            .map(|id| {
                (
                    id,
                    LogWindow {
                        entries: (1..=last)
                            .map(|i| (i, if i <= 2 { 1 } else { term }))
                            .collect(),
                    },
                )
            })
            .collect();
        let contents: Vec<(String, String)> = kv
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ClusterView {
            at: Duration::from_millis(ms),
            status: ClusterStatus {
                nodes,
                paused: false,
                speed: 1.0,
                preset: Preset::Fast,
                tick: Duration::from_millis(10),
                groups: vec![vec![1, 2, 3]],
                cut_links: Vec::new(),
            },
            in_flight: Vec::new(),
            logs,
            kv: (1..=3).map(|id| (id, contents.clone())).collect(),
        }
    }

    fn header() -> String {
        Encoder::header(&Header::new(3, Preset::Fast, 7, "test"))
    }

    fn parse(lines: &[String]) -> Result<Recording, RecordError> {
        let text = lines.join("\n") + "\n";
        Recording::parse(text.as_bytes())
    }

    #[test]
    fn frames_round_trip_through_diffs() {
        let mut views = vec![
            view(100, 1, 2, &[]),
            view(200, 2, 4, &[("x", "1")]),
            view(300, 2, 5, &[("x", "2"), ("y", "1")]),
        ];
        // Node 3 goes down; the cluster pauses with a message in flight; a key is deleted.
        let mut v = view(400, 2, 5, &[("y", "1")]);
        v.status.nodes[2].up = false;
        v.status.paused = true;
        v.in_flight.push(InFlightInfo {
            id: 9,
            from: 1,
            to: 2,
            kind: MessageKind::Heartbeat,
            term: 2,
            sent_at: Duration::from_millis(390),
            due_at: Duration::from_millis(420),
            summary: "1->2 heartbeat".into(),
        });
        views.push(v.clone());
        // One message arrives, two leave: a delta. Then the two swap places: in full.
        let msg = |id: u64| InFlightInfo {
            id,
            summary: format!("message {id}"),
            ..v.in_flight[0].clone()
        };
        let mut v5 = v.clone();
        v5.at = Duration::from_millis(450);
        v5.status.nodes[1].status.election_elapsed = 3;
        v5.in_flight = vec![v.in_flight[0].clone(), msg(10), msg(11)];
        views.push(v5.clone());
        let mut v6 = v5.clone();
        v6.at = Duration::from_millis(470);
        v6.in_flight = vec![msg(11), msg(12)];
        views.push(v6.clone());
        let mut v7 = v6.clone();
        v7.at = Duration::from_millis(480);
        v7.in_flight = vec![msg(12), msg(11)];
        views.push(v7);
        let mut enc = Encoder::new();
        let mut lines = vec![header()];
        for v in &views {
            lines.push(enc.frame(v, false).expect("each view changed something"));
        }
        // Unchanged: no line, unless asked for.
        assert!(
            lines[5].contains(r#""patch":[{"id":2,"status":{"election_elapsed":3}}]"#),
            "a patch holds only what changed: {}",
            lines[5]
        );
        assert!(
            lines[5].contains(r#""in_flight_add":[{"id":10"#),
            "{}",
            lines[5]
        );
        assert!(!lines[5].contains(r#""in_flight":"#), "{}", lines[5]);
        assert!(
            lines[6].contains(r#""in_flight_del":[9,10]"#),
            "{}",
            lines[6]
        );
        assert!(
            lines[7].contains(r#""in_flight":[{"id":12"#),
            "{}",
            lines[7]
        );
        let same = ClusterView {
            at: Duration::from_millis(500),
            ..views.last().unwrap().clone()
        };
        assert_eq!(enc.frame(&same, false), None);
        let end = enc.frame(&same, true).expect("always");
        assert_eq!(end, r#"{"type":"frame","t":500}"#);
        lines.push(end);
        // Later frames hold only what changed.
        assert!(!lines[4].contains("\"logs\""), "{}", lines[4]);
        let r = parse(&lines).expect("parses");
        assert_eq!(r.frames(), 8);
        assert_eq!(r.start(), Duration::from_millis(100));
        assert_eq!(r.duration(), Duration::from_millis(400));
        let all = LogWant {
            end: None,
            len: u64::MAX,
        };
        for v in &views {
            assert_eq!(r.frame_at(v.at, all).as_ref(), Some(v));
            // Between frames, the earlier one is in force.
            let mid = r.frame_at(v.at + Duration::from_millis(5), all).unwrap();
            assert_eq!(mid.status, v.status);
        }
        assert_eq!(r.frame_at(Duration::from_millis(99), all), None);
        assert_eq!(r.last_frame().unwrap().status, views[6].status);
        assert_eq!(
            r.frame_before(Duration::from_millis(300)),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            r.frame_after(Duration::from_millis(300)),
            Some(Duration::from_millis(400))
        );
    }

    #[test]
    fn the_log_window_is_cut_as_the_poller_would_fetch_it() {
        let mut enc = Encoder::new();
        let v = view(100, 3, 40, &[]);
        let r = parse(&[header(), enc.frame(&v, false).unwrap()]).unwrap();
        let tail = r.frame_at(v.at, LogWant { end: None, len: 10 }).unwrap();
        let w = &tail.logs[&1].entries;
        assert_eq!(w.first(), Some(&(31, 3)));
        assert_eq!(w.last(), Some(&(40, 3)));
        let back = r
            .frame_at(
                v.at,
                LogWant {
                    end: Some(5),
                    len: 4,
                },
            )
            .unwrap();
        assert_eq!(back.logs[&2].entries, vec![(2, 1), (3, 3), (4, 3), (5, 3)]);
    }

    #[test]
    fn runs_compress_a_log_and_expand_back() {
        let w = LogWindow {
            entries: vec![(5, 1), (6, 1), (7, 2), (8, 2), (9, 2), (11, 2)],
        };
        assert_eq!(runs(&w), vec![(5, 1, 2), (7, 2, 3), (11, 2, 1)]);
    }

    #[test]
    fn feed_drops_results_and_narration_follow_the_time() {
        let mut enc = Encoder::new();
        let mut lines = vec![header(), enc.frame(&view(0, 1, 1, &[]), false).unwrap()];
        for i in 0..(FEED_CAPACITY as u64 + 10) {
            lines.push(Encoder::feed(
                Duration::from_millis(i),
                1,
                Category::Election,
                &format!("e{i}"),
            ));
        }
        lines.push(Encoder::event(&Event {
            at: Duration::from_millis(7),
            node: 2,
            kind: EventKind::MessageDropped {
                id: 3,
                from: 2,
                to: 3,
                kind: MessageKind::Heartbeat,
                why: "link cut".into(),
            },
        }));
        lines.push(Encoder::note(
            Duration::from_millis(10),
            NoteKind::Result,
            "first",
            None,
        ));
        lines.push(Encoder::note(
            Duration::from_millis(20),
            NoteKind::Narration,
            "story",
            None,
        ));
        lines.push(Encoder::note(
            Duration::from_millis(30),
            NoteKind::Result,
            "second",
            None,
        ));
        let r = parse(&lines).unwrap();
        let feed = r.feed_at(Duration::from_millis(7));
        // e0..=e7 and the drop (stamped 7, after e7 in the file).
        assert_eq!(feed.len(), 9);
        assert_eq!(feed[8].category, Category::Message);
        assert_eq!(feed[8].text, "dropped #3 2->3 Heartbeat (link cut)");
        assert_eq!(r.feed_at(r.end()).len(), FEED_CAPACITY);
        assert_eq!(
            r.feed_at(r.end()).last().unwrap().text,
            format!("e{}", FEED_CAPACITY + 9)
        );
        assert_eq!(r.drops_at(Duration::from_millis(6)), vec![]);
        assert_eq!(
            r.drops_at(Duration::from_millis(7)),
            vec![DropMark {
                at: Duration::from_millis(7),
                from: 2,
                to: 3
            }]
        );
        assert_eq!(r.result_at(Duration::from_millis(9)), None);
        assert_eq!(r.result_at(Duration::from_millis(25)), Some("first"));
        assert_eq!(r.result_at(Duration::from_millis(30)), Some("second"));
        assert_eq!(r.narration_at(Duration::from_millis(19)), None);
        assert_eq!(r.narration_at(Duration::from_millis(99)), Some("story"));
        assert!(r.has_narration());
    }

    #[test]
    fn bad_files_get_clear_errors() {
        let frame = Encoder::new().frame(&view(0, 1, 1, &[]), false).unwrap();
        let err = |text: &str| Recording::parse(text.as_bytes()).unwrap_err().to_string();
        assert_eq!(err(""), "empty file: not a raftlab recording");
        assert!(
            err("hello\n").starts_with("line 1: not a raftlab recording"),
            "{}",
            err("hello\n")
        );
        assert!(err(&format!("{frame}\n")).contains("not of type \"header\""));
        let future = header().replace("\"format\":1", "\"format\":99");
        assert!(
            err(&format!("{future}\n")).contains("recording format 99"),
            "{}",
            err(&future)
        );
        let garbage = format!(
            "{}\n{frame}\n{{\"type\":\"frame\",\"t\":\"soon\"}}\n{frame}\n",
            header()
        );
        assert!(err(&garbage).starts_with("line 3: "), "{}", err(&garbage));
        let not_json = format!("{}\n{frame}\nxyz\n", header());
        assert!(err(&not_json).starts_with("line 3: "), "{}", err(&not_json));
        assert_eq!(
            err(&format!("{}\n", header())),
            RecordError::NoFrame.to_string()
        );
        let twice = format!("{}\n{frame}\n{}\n", header(), header());
        assert_eq!(err(&twice), "line 3: a second header");
    }

    #[test]
    fn a_last_line_cut_short_is_dropped_with_a_warning() {
        let frame = Encoder::new().frame(&view(0, 1, 1, &[]), false).unwrap();
        let note = Encoder::note(Duration::from_millis(5), NoteKind::Result, "ok", None);
        let cut = &note[..note.len() / 2];
        let text = format!("{}\n{frame}\n{cut}", header());
        let r = Recording::parse(text.as_bytes()).expect("tolerated");
        assert_eq!(r.warnings().len(), 1, "{:?}", r.warnings());
        assert!(r.warnings()[0].contains("line 3"));
        assert!(r.notes().is_empty());
        // The same line cut short but followed by a newline is garbage.
        let text = format!("{}\n{frame}\n{cut}\n", header());
        assert!(Recording::parse(text.as_bytes()).is_err());
        // Unknown line types are skipped.
        let text = format!("{}\n{frame}\n{{\"type\":\"marker\",\"t\":1}}\n", header());
        let r = Recording::parse(text.as_bytes()).expect("skipped");
        assert_eq!(r.warnings(), ["1 lines of an unknown type skipped"]);
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_764_192_645), "2025-11-26T21:30:45Z");
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
