//! A lab run: everything needed to replay a simulated session exactly — its settings (nodes,
//! seed, timing, rules) and the actions taken, each at its simulated moment. A run stores
//! actions, not states, so it is tiny next to a recording, and the same run draws the same
//! screens on any machine.
//!
//! ```text
//!   Run ──serde_json──► FILE (raftlab lab FILE)
//!       └─json─► zstd ─► base64url ─► "raftlab-run-1:..." (raftlab lab --run STRING)
//! ```
//!
//! Actions are written in the prompt's words (`kill 3`, `link 1 2 cut`, `put x 1`, `deliver 412`),
//! so a run file reads like the session it records. Message ids are the simulator's own: it
//! numbers messages in the order it sends them, so the same run gives the same ids.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;

use crate::cluster::Preset;
use crate::node::UnsafeRule;
use crate::raft::NodeId;

/// The version of the run format this build reads and writes.
pub const RUN_FORMAT: u32 = 1;

/// What a share string starts with (its format version follows).
const SHARE_PREFIX: &str = "raftlab-run-";

/// The most nodes a lab cluster has (as many as the dashboard draws).
pub const MAX_NODES: usize = 9;

/// Decoded run files and share strings larger than this are refused.
const MAX_DECODED: u64 = 16 << 20;

/// A run: settings and actions.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// [`RUN_FORMAT`] of the writer.
    pub format: u32,
    /// The cluster and its seed.
    pub settings: Settings,
    /// What was done, in the order it was done (moments never go back).
    #[serde(default)]
    pub actions: Vec<Timed>,
}

/// How the simulated cluster is made.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Number of nodes (ids 1..=nodes).
    pub nodes: usize,
    /// The seed of everything random: election timers, message delays.
    pub seed: u64,
    /// Timing: `teach` (100 ms ticks, 150–450 ms links) or `fast`.
    pub preset: Preset,
    /// The paper's Figure 2 only: PreVote and CheckQuorum off.
    #[serde(default)]
    pub paper: bool,
    /// Rules broken on purpose (`commit-by-counting`, `vote-without-log-check`, `forget-vote`).
    #[serde(default, rename = "unsafe")]
    pub unsafe_rules: Vec<String>,
    /// Entries per AppendEntries (default 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_append: Option<usize>,
}

impl Settings {
    /// `nodes` nodes at teaching speed with the default rules.
    pub fn new(nodes: usize, seed: u64) -> Settings {
        Settings {
            nodes,
            seed,
            preset: Preset::Teach,
            paper: false,
            unsafe_rules: Vec::new(),
            max_append: None,
        }
    }

    /// The unsafe rules, checked: each known, and each one the simulator has.
    pub fn unsafe_rules(&self) -> Result<Vec<UnsafeRule>, RunError> {
        let mut rules = Vec::new();
        for name in &self.unsafe_rules {
            let rule = UnsafeRule::from_name(name).map_err(RunError::Invalid)?;
            if rule == UnsafeRule::LocalReads {
                return Err(RunError::Invalid(
                    "local-reads is not on the sim engine yet (its gets are ReadIndex reads)"
                        .into(),
                ));
            }
            rules.push(rule);
        }
        Ok(rules)
    }

    /// Checks the settings: a one-line error for each mistake.
    pub fn validate(&self) -> Result<(), RunError> {
        if !(1..=MAX_NODES).contains(&self.nodes) {
            return Err(RunError::Invalid(format!(
                "nodes must be 1 to {MAX_NODES}, not {}",
                self.nodes
            )));
        }
        if self.max_append == Some(0) {
            return Err(RunError::Invalid("max_append must be at least 1".into()));
        }
        self.unsafe_rules().map(|_| ())
    }
}

/// An action at its simulated moment.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timed {
    /// Simulated milliseconds since the start.
    pub at_ms: u64,
    /// What was done.
    #[serde(rename = "do")]
    pub action: Action,
}

impl Timed {
    /// The moment as a duration.
    pub fn at(&self) -> Duration {
        Duration::from_millis(self.at_ms)
    }
}

impl fmt::Display for Timed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms {}", self.at_ms, self.action)
    }
}

impl FromStr for Timed {
    type Err = RunError;

    /// `2s kill 3`, `1500ms put x 1`: a moment, then an action.
    fn from_str(s: &str) -> Result<Timed, RunError> {
        let s = s.trim();
        let (at, rest) = s.split_once(' ').ok_or_else(|| {
            RunError::Invalid(format!(
                "{s:?}: expected a moment and an action, as `2s kill 3`"
            ))
        })?;
        let at = parse_moment(at)?;
        Ok(Timed {
            at_ms: at.as_millis() as u64,
            action: rest.parse()?,
        })
    }
}

/// `2s`, `1.5s`, `1500ms`.
fn parse_moment(s: &str) -> Result<Duration, RunError> {
    let bad = || RunError::Invalid(format!("{s:?} is not a moment (as 2s, 1.5s or 1500ms)"));
    let (number, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(bad());
    };
    let v: f64 = number.parse().map_err(|_| bad())?;
    if !v.is_finite() || v < 0.0 || v * unit > 86_400.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(v * unit))
}

/// What a learner can do to the simulated cluster, in the prompt's words.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `kill N`: the node crashes; its storage stays.
    Kill(NodeId),
    /// `restart N`: the node boots from its storage.
    Restart(NodeId),
    /// `isolate N`: cut off from every other node.
    Isolate(NodeId),
    /// `partition 1,2 3,4,5`: groups that cannot talk.
    Partition(Vec<Vec<NodeId>>),
    /// `heal`: every partition and cut link gone.
    Heal,
    /// `link FROM TO cut|up`: one direction of one link.
    Link {
        /// The sender's end.
        from: NodeId,
        /// The receiver's end.
        to: NodeId,
        /// Up (true) or cut.
        up: bool,
    },
    /// `campaign N`: its election timer fires now.
    Campaign(NodeId),
    /// `clock N RATE`: its clock runs RATE times as fast.
    Clock(NodeId, f64),
    /// `put KEY VALUE`: a client write, to the leader.
    Put(String, String),
    /// `deliver ID`: the message in flight with that id arrives now, ahead of its time.
    Deliver(u64),
    /// `drop ID`: the message in flight with that id is lost.
    Drop(u64),
    /// `duplicate ID`: a second copy of that message, due at the same moment.
    Duplicate(u64),
    /// `link FROM TO delay DURATION`: extra one-way delay on one direction of one link
    /// (`delay 0ms` removes it).
    LinkDelay {
        /// The sender's end.
        from: NodeId,
        /// The receiver's end.
        to: NodeId,
        /// The extra delay, in whole milliseconds.
        delay: Duration,
    },
    /// `link FROM TO drop P`: that share (0 to 1) of the messages on one direction of one link
    /// is lost.
    LinkDrop {
        /// The sender's end.
        from: NodeId,
        /// The receiver's end.
        to: NodeId,
        /// The probability of losing each message.
        rate: f64,
    },
    /// `transfer N`: the leader hands leadership to node N (thesis §3.10).
    Transfer(NodeId),
    /// `get KEY`: a linearizable read (ReadIndex, thesis §6.4), asked of the leader.
    Get(String),
}

/// The longest extra delay a link takes.
const MAX_LINK_DELAY: Duration = Duration::from_secs(60);

impl Action {
    /// The nodes the action names (each must exist).
    pub fn nodes(&self) -> Vec<NodeId> {
        match self {
            Action::Kill(n)
            | Action::Restart(n)
            | Action::Isolate(n)
            | Action::Campaign(n)
            | Action::Clock(n, _)
            | Action::Transfer(n) => vec![*n],
            Action::Partition(groups) => groups.iter().flatten().copied().collect(),
            Action::Link { from, to, .. }
            | Action::LinkDelay { from, to, .. }
            | Action::LinkDrop { from, to, .. } => vec![*from, *to],
            Action::Heal
            | Action::Put(..)
            | Action::Get(_)
            | Action::Deliver(_)
            | Action::Drop(_)
            | Action::Duplicate(_) => Vec::new(),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Kill(n) => write!(f, "kill {n}"),
            Action::Restart(n) => write!(f, "restart {n}"),
            Action::Isolate(n) => write!(f, "isolate {n}"),
            Action::Partition(groups) => {
                let groups: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        g.iter()
                            .map(|n| n.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .collect();
                write!(f, "partition {}", groups.join(" "))
            }
            Action::Heal => f.write_str("heal"),
            Action::Link { from, to, up } => {
                write!(f, "link {from} {to} {}", if *up { "up" } else { "cut" })
            }
            Action::Campaign(n) => write!(f, "campaign {n}"),
            Action::Clock(n, rate) => write!(f, "clock {n} {rate}"),
            Action::Put(k, v) => write!(f, "put {k} {v}"),
            Action::Deliver(id) => write!(f, "deliver {id}"),
            Action::Drop(id) => write!(f, "drop {id}"),
            Action::Duplicate(id) => write!(f, "duplicate {id}"),
            Action::LinkDelay { from, to, delay } => {
                write!(f, "link {from} {to} delay {}ms", delay.as_millis())
            }
            Action::LinkDrop { from, to, rate } => write!(f, "link {from} {to} drop {rate}"),
            Action::Transfer(n) => write!(f, "transfer {n}"),
            Action::Get(k) => write!(f, "get {k}"),
        }
    }
}

impl FromStr for Action {
    type Err = RunError;

    fn from_str(s: &str) -> Result<Action, RunError> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let bad = |why: &str| RunError::Invalid(format!("{:?}: {why}", s.trim()));
        let node = |w: Option<&&str>| -> Result<NodeId, RunError> {
            let w = w.ok_or_else(|| bad("a node id is missing"))?;
            w.parse::<NodeId>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad(&format!("{w:?} is not a node id")))
        };
        let message = |w: &str| -> Result<u64, RunError> {
            w.strip_prefix('#')
                .unwrap_or(w)
                .parse::<u64>()
                .ok()
                .filter(|id| *id >= 1)
                .ok_or_else(|| bad(&format!("{w:?} is not a message id")))
        };
        let arity = |n: usize| -> Result<(), RunError> {
            if words.len() == n {
                Ok(())
            } else {
                Err(bad(&format!(
                    "expected {} word(s) after the command",
                    n - 1
                )))
            }
        };
        let action = match words.first().copied() {
            Some("kill") => {
                arity(2)?;
                Action::Kill(node(words.get(1))?)
            }
            Some("restart") => {
                arity(2)?;
                Action::Restart(node(words.get(1))?)
            }
            Some("isolate") => {
                arity(2)?;
                Action::Isolate(node(words.get(1))?)
            }
            Some("campaign") => {
                arity(2)?;
                Action::Campaign(node(words.get(1))?)
            }
            Some("heal") => {
                arity(1)?;
                Action::Heal
            }
            Some("partition") => {
                if words.len() < 2 {
                    return Err(bad("expected groups, as `partition 1,2 3,4,5`"));
                }
                let mut groups = Vec::new();
                for g in &words[1..] {
                    let group = g
                        .split(',')
                        .map(|w| node(Some(&w)))
                        .collect::<Result<Vec<_>, _>>()?;
                    groups.push(group);
                }
                Action::Partition(groups)
            }
            Some("link") => {
                let (from, to) = (node(words.get(1))?, node(words.get(2))?);
                let self_link = || bad(&format!("node {from} has no link to itself"));
                match words.get(3).copied() {
                    Some("delay") => {
                        arity(5)?;
                        if from == to {
                            return Err(self_link());
                        }
                        let delay = parse_moment(words[4])
                            .ok()
                            .filter(|d| *d <= MAX_LINK_DELAY)
                            .ok_or_else(|| {
                                bad("a link delay is a duration up to 60s, as 300ms or 1.5s")
                            })?;
                        let delay = Duration::from_millis(delay.as_millis() as u64);
                        Action::LinkDelay { from, to, delay }
                    }
                    Some("drop") => {
                        arity(5)?;
                        if from == to {
                            return Err(self_link());
                        }
                        let rate: f64 = words[4]
                            .parse()
                            .ok()
                            .filter(|r: &f64| (0.0..=1.0).contains(r))
                            .ok_or_else(|| bad("a drop rate is a number from 0 to 1"))?;
                        Action::LinkDrop { from, to, rate }
                    }
                    _ => {
                        arity(4)?;
                        let up = match words[3] {
                            "up" => true,
                            "cut" => false,
                            other => {
                                return Err(bad(&format!(
                                    "{other:?}: a link is `cut`, `up`, `delay D` or `drop P`"
                                )))
                            }
                        };
                        Action::Link { from, to, up }
                    }
                }
            }
            Some("clock") => {
                arity(3)?;
                let n = node(words.get(1))?;
                let rate: f64 = words[2]
                    .parse()
                    .ok()
                    .filter(|r: &f64| r.is_finite() && (0.1..=10.0).contains(r))
                    .ok_or_else(|| bad("a clock rate is a number from 0.1 to 10"))?;
                Action::Clock(n, rate)
            }
            Some("put") => {
                arity(3)?;
                Action::Put(words[1].to_string(), words[2].to_string())
            }
            Some("get") => {
                arity(2)?;
                Action::Get(words[1].to_string())
            }
            Some("transfer") => {
                arity(2)?;
                Action::Transfer(node(words.get(1))?)
            }
            Some("deliver") => {
                arity(2)?;
                Action::Deliver(message(words[1])?)
            }
            Some("drop") => {
                arity(2)?;
                Action::Drop(message(words[1])?)
            }
            Some("duplicate" | "dup") => {
                arity(2)?;
                Action::Duplicate(message(words[1])?)
            }
            Some(other) => {
                return Err(RunError::Invalid(format!(
                    "{other:?} is not a lab action (kill, restart, isolate, partition, heal, \
                     link, campaign, clock, put, get, transfer, deliver, drop, duplicate)"
                )))
            }
            None => return Err(bad("empty action")),
        };
        Ok(action)
    }
}

impl serde::Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a run could not be read or used.
#[derive(Debug, PartialEq)]
pub enum RunError {
    /// Well formed, but asks for something impossible.
    Invalid(String),
    /// Not a run at all, or damaged.
    Malformed(String),
    /// Written by another version of the format.
    Version {
        /// The format it says it is.
        found: u32,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Invalid(why) => f.write_str(why),
            RunError::Malformed(why) => write!(f, "not a raftlab run: {why}"),
            RunError::Version { found } => write!(
                f,
                "this run is format {found}; this raftlab reads format {RUN_FORMAT}"
            ),
        }
    }
}

impl std::error::Error for RunError {}

impl Run {
    /// A run with no action yet.
    pub fn new(settings: Settings) -> Run {
        Run {
            format: RUN_FORMAT,
            settings,
            actions: Vec::new(),
        }
    }

    /// Checks the settings and every action: nodes that exist, moments that never go back.
    pub fn validate(&self) -> Result<(), RunError> {
        if self.format != RUN_FORMAT {
            return Err(RunError::Version { found: self.format });
        }
        self.settings.validate()?;
        let mut last = 0;
        for (i, t) in self.actions.iter().enumerate() {
            if t.at_ms < last {
                return Err(RunError::Invalid(format!(
                    "action {} ({t}) comes before the one above it",
                    i + 1
                )));
            }
            last = t.at_ms;
            for n in t.action.nodes() {
                if n as usize > self.settings.nodes {
                    return Err(RunError::Invalid(format!(
                        "action {} ({t}) names node {n}; the cluster has {}",
                        i + 1,
                        self.settings.nodes
                    )));
                }
            }
        }
        Ok(())
    }

    /// The run as a file (pretty JSON, one action per line).
    pub fn to_file(&self) -> String {
        let mut out = format!(
            "{{\n  \"format\": {},\n  \"settings\": {},\n  \"actions\": [",
            self.format,
            serde_json::to_string(&self.settings).unwrap_or_default()
        );
        for (i, a) in self.actions.iter().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            out.push_str(&serde_json::to_string(a).unwrap_or_default());
        }
        out.push_str(if self.actions.is_empty() {
            "]\n}\n"
        } else {
            "\n  ]\n}\n"
        });
        out
    }

    /// Reads a run file's text, checked.
    pub fn from_file(text: &str) -> Result<Run, RunError> {
        // The version first, so that a newer file says so rather than "unknown field".
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| RunError::Malformed(e.to_string()))?;
        match value.get("format").and_then(serde_json::Value::as_u64) {
            Some(f) if f == u64::from(RUN_FORMAT) => {}
            Some(f) => {
                return Err(RunError::Version {
                    found: u32::try_from(f).unwrap_or(u32::MAX),
                })
            }
            None => return Err(RunError::Malformed("no \"format\" field".into())),
        }
        let run: Run =
            serde_json::from_value(value).map_err(|e| RunError::Malformed(e.to_string()))?;
        run.validate()?;
        Ok(run)
    }

    /// The run as one compact, URL-safe string: `raftlab-run-1:` and the compressed JSON in
    /// base64url.
    pub fn share(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let packed = zstd::bulk::compress(&json, 19).unwrap_or(json);
        format!(
            "{SHARE_PREFIX}{RUN_FORMAT}:{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(packed)
        )
    }

    /// Reads a share string, checked.
    pub fn from_share(s: &str) -> Result<Run, RunError> {
        let s = s.trim();
        let rest = s.strip_prefix(SHARE_PREFIX).ok_or_else(|| {
            RunError::Malformed(format!(
                "a share string starts with {SHARE_PREFIX}{RUN_FORMAT}:"
            ))
        })?;
        let (version, body) = rest
            .split_once(':')
            .ok_or_else(|| RunError::Malformed("no ':' after the version".into()))?;
        let version: u32 = version
            .parse()
            .map_err(|_| RunError::Malformed(format!("{version:?} is not a version")))?;
        if version != RUN_FORMAT {
            return Err(RunError::Version { found: version });
        }
        let packed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|e| RunError::Malformed(format!("the string is damaged ({e})")))?;
        let json = decompress(&packed)?;
        let text = std::str::from_utf8(&json)
            .map_err(|_| RunError::Malformed("the string is damaged (not UTF-8)".into()))?;
        Run::from_file(text)
    }
}

/// zstd-decompresses at most [`MAX_DECODED`] bytes.
fn decompress(packed: &[u8]) -> Result<Vec<u8>, RunError> {
    use std::io::Read;
    let damaged = |e: std::io::Error| RunError::Malformed(format!("the string is damaged ({e})"));
    let decoder = zstd::stream::read::Decoder::new(packed).map_err(damaged)?;
    let mut out = Vec::new();
    decoder
        .take(MAX_DECODED + 1)
        .read_to_end(&mut out)
        .map_err(damaged)?;
    if out.len() as u64 > MAX_DECODED {
        return Err(RunError::Malformed(
            "the string decodes to more than 16 MiB".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Run {
        let mut run = Run::new(Settings::new(5, 7));
        for line in [
            "2s kill 3",
            "2.5s put x 1",
            "4s partition 1,2 3,4,5",
            "6s heal",
        ] {
            run.actions.push(line.parse().unwrap());
        }
        run
    }

    #[test]
    fn every_action_reads_back_from_its_own_words() {
        for text in [
            "kill 3",
            "restart 3",
            "isolate 1",
            "partition 1,2 3,4,5",
            "heal",
            "link 1 2 cut",
            "link 2 1 up",
            "campaign 4",
            "clock 2 1.5",
            "put x 42",
            "get x",
            "transfer 2",
            "deliver 412",
            "drop 7",
            "duplicate 9",
            "link 1 3 delay 300ms",
            "link 3 1 delay 0ms",
            "link 2 1 drop 0.25",
            "link 2 1 drop 1",
        ] {
            let action: Action = text.parse().unwrap();
            assert_eq!(action.to_string(), text);
        }
    }

    #[test]
    fn bad_actions_say_what_is_wrong() {
        for (text, says) in [
            ("", "empty"),
            ("fly 3", "not a lab action"),
            ("kill", "expected 1 word"),
            ("kill x", "not a node id"),
            ("kill 0", "not a node id"),
            ("link 1 2 sideways", "`cut`, `up`"),
            ("clock 1 99", "0.1 to 10"),
            ("put x", "expected 2 word"),
            ("deliver", "expected 1 word"),
            ("deliver x", "not a message id"),
            ("drop -3", "not a message id"),
            ("duplicate 0", "not a message id"),
            ("get", "expected 1 word"),
            ("transfer x", "not a node id"),
            ("link 1 1 drop 0.5", "no link to itself"),
            ("link 1 2 delay", "expected 4 word"),
            ("link 1 2 delay soon", "up to 60s"),
            ("link 1 2 delay 2m", "up to 60s"),
            ("link 1 2 delay 61s", "up to 60s"),
            ("link 1 2 drop 1.5", "from 0 to 1"),
        ] {
            let e = text.parse::<Action>().unwrap_err().to_string();
            assert!(e.contains(says), "{text:?}: {e}");
        }
        // Other spellings read as the canonical one.
        for (text, reads) in [
            ("deliver #412", "deliver 412"),
            ("dup 9", "duplicate 9"),
            ("link 1 2 delay 1.5s", "link 1 2 delay 1500ms"),
        ] {
            assert_eq!(text.parse::<Action>().unwrap().to_string(), reads);
        }
        let e = "soon kill 3".parse::<Timed>().unwrap_err().to_string();
        assert!(e.contains("not a moment"), "{e}");
    }

    #[test]
    fn a_file_and_a_share_string_round_trip() {
        let run = sample();
        assert_eq!(Run::from_file(&run.to_file()).unwrap(), run);
        let s = run.share();
        assert!(s.starts_with("raftlab-run-1:"), "{s}");
        assert!(s[14..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(Run::from_share(&s).unwrap(), run);
    }

    #[test]
    fn damaged_runs_are_one_line_errors() {
        let run = sample();
        let file = run.to_file();
        // Cut short.
        let e = Run::from_file(&file[..file.len() / 2]).unwrap_err();
        assert!(matches!(e, RunError::Malformed(_)), "{e}");
        // Another version.
        let newer = file.replace("\"format\": 1", "\"format\": 2");
        assert_eq!(Run::from_file(&newer), Err(RunError::Version { found: 2 }));
        // A node that is not there, moments that go back.
        let e = Run::from_file(&file.replace("kill 3", "kill 8")).unwrap_err();
        assert!(e.to_string().contains("names node 8"), "{e}");
        let e = Run::from_file(&file.replace("\"at_ms\":6000", "\"at_ms\":100")).unwrap_err();
        assert!(e.to_string().contains("comes before"), "{e}");
        // A share string: cut, a changed character, another version, garbage.
        let s = run.share();
        for bad in [
            s[..s.len() - 5].to_string(),
            format!("{}A{}", &s[..20], &s[21..]),
            s.replace("raftlab-run-1:", "raftlab-run-2:"),
            "hello".to_string(),
        ] {
            let e = Run::from_share(&bad).unwrap_err();
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        assert_eq!(
            Run::from_share(&s.replace("raftlab-run-1:", "raftlab-run-2:")),
            Err(RunError::Version { found: 2 })
        );
    }

    #[test]
    fn settings_refuse_what_the_lab_cannot_do() {
        let mut s = Settings::new(10, 1);
        assert!(s.validate().unwrap_err().to_string().contains("1 to 9"));
        s.nodes = 3;
        s.unsafe_rules = vec!["local-reads".into()];
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("not on the sim"));
        s.unsafe_rules = vec!["commit-by-counting".into()];
        assert_eq!(s.validate(), Ok(()));
    }
}
