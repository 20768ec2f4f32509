//! The reader: [`Recording::load`] reads a recording back (tolerating a last line cut short)
//! and answers what the dashboard needs at any time: the capture in force, the feed, the ring's
//! drop marks, the status line and the narration.
//!
//! ```text
//!   FILE ─► parse_header, parse_line ─► Carried (frame diffs applied) ─► Recording
//!                                       frame_at(t), feed_at(t), drops_at(t), result_at(t), ...
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::format::{json_merge, ClusterPart, FrameLine, Header, Line, NoteKind, Run, FORMAT};
use crate::check::Operation;
use crate::cluster::{ClusterStatus, InFlightInfo, NodeState};
use crate::observe::cluster_view::{ClusterView, LogWant, LogWindow};
use crate::observe::feed::{Category, DropMark, FeedLine, FEED_CAPACITY};
use crate::raft::NodeId;

/// Most drop marks kept for the ring (as the live dashboard does).
const DROPS_KEPT: usize = 64;

/// A note, as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    /// Cluster time.
    pub t: Duration,
    /// What it is.
    pub kind: NoteKind,
    /// The text.
    pub text: String,
    /// The operation, for notes of kind `op` that came from a [`History`](crate::check::History).
    pub op: Option<Operation>,
}

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
        let (lo, end) = want.range(&nodes);
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
            // Recordings keep cuts and slow nodes, not the loss or delay of single links.
            links: Vec::new(),
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
            .map(|e| FeedLine::text(e.t, e.node, e.category, e.text.clone()))
            .collect()
    }

    /// The events from `from` to `to` (both included), oldest first: time, node, category and
    /// text, borrowed. The exporter (`crate::export`) reads a whole run through this.
    pub fn events_between(
        &self,
        from: Duration,
        to: Duration,
    ) -> impl Iterator<Item = (Duration, NodeId, Category, &str)> + '_ {
        let i = self.events.partition_point(|e| e.t < from);
        self.events[i..]
            .iter()
            .take_while(move |e| e.t <= to)
            .map(|e| (e.t, e.node, e.category, e.text.as_str()))
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
