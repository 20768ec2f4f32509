//! The recording format: the types of its JSON lines (header, frame, event, note) and how a
//! node's changes are written as a JSON merge patch. The writer encodes into these types, the
//! reader decodes from them; the layout of each line is described in [`crate::record`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::check::Operation;
use crate::cluster::{ClusterStatus, InFlightInfo, NodeState, Preset};
use crate::observe::feed::Category;
use crate::raft::{Index, NodeId, Term};

/// The version of the format this build writes and reads.
pub const FORMAT: u32 = 1;

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
    let rest = secs % 86_400;
    let (year, month, day) = crate::observe::format::civil_date((secs / 86_400) as i64);
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

/// The cluster-wide part of a frame (everything in [`ClusterStatus`] but the nodes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct ClusterPart {
    pub(super) paused: bool,
    pub(super) speed: f64,
    pub(super) preset: Preset,
    pub(super) tick: Duration,
    pub(super) groups: Vec<Vec<NodeId>>,
    pub(super) cut_links: Vec<(NodeId, NodeId)>,
}

impl ClusterPart {
    pub(super) fn of(s: &ClusterStatus) -> ClusterPart {
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
pub(super) type Run = (Index, Term, u64);

/// Changes to one node's key-value contents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct KvDelta {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) set: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) del: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct FrameLine {
    pub(super) t: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cluster: Option<ClusterPart>,
    /// Nodes in full (new ones, or when a patch cannot say it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) nodes: Vec<NodeState>,
    /// The fields of a node that changed, as JSON with its `id`: merged into what the reader has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) patch: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) removed: Vec<NodeId>,
    /// The messages in flight in full...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) in_flight: Option<Vec<InFlightInfo>>,
    /// ... or those that left the wire since the previous frame (by id)...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) in_flight_del: Vec<u64>,
    /// ... and those that entered it, after the ones still there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) in_flight_add: Vec<InFlightInfo>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) logs: BTreeMap<NodeId, Vec<Run>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) kv: BTreeMap<NodeId, KvDelta>,
}

/// The feed's categories as the file names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Cat {
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
pub(super) struct EventLine {
    pub(super) t: u64,
    pub(super) node: NodeId,
    pub(super) cat: Cat,
    pub(super) text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) drop: Option<(NodeId, NodeId)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct NoteLine {
    pub(super) t: u64,
    pub(super) kind: NoteKind,
    pub(super) text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) op: Option<Operation>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(super) enum Line {
    Header(Header),
    Frame(FrameLine),
    Event(EventLine),
    Note(NoteLine),
}

pub(super) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn to_json(line: &Line) -> String {
    // Every type here serializes (no maps with non-string keys but integers, which serde_json
    // writes as strings); an error would be a bug, and a line lost is better than a panic.
    serde_json::to_string(line).unwrap_or_default()
}

/// What changed from `old` to `new` as a JSON merge patch (objects merge field by field, any
/// other value replaces); `None` when equal. `Err` when `new` lacks a field `old` has, which a
/// merge cannot say.
pub(super) fn json_patch(
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
pub(super) fn json_merge(target: &mut serde_json::Value, patch: serde_json::Value) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_764_192_645), "2025-11-26T21:30:45Z");
    }
}
