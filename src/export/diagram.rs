//! The space-time diagram of a recording, as plain values every format draws from: one lane per
//! node, each message an arrow from its send to its delivery (or its drop), marks on the lanes
//! (became leader / candidate, commit advanced, snapshot) and fault bands (down, partitioned,
//! slow, clock).
//!
//! ```text
//!   Recording ─► events "sent #id a->b Kind (term t), due in N ms"  ─┐
//!                events "delivered #id ..." / "dropped #id ... (why)" ├─► arrows
//!                frames' in-flight messages (sent_at, due_at, summary)┘
//!                events "became leader in term N", "commit a -> b"... ─► marks
//!                frames' node states (up, groups, slow, clock rate)   ─► bands
//! ```
//!
//! The events are the source of the arrows: they hold every message with its exact times. A
//! recording that lacks them (made by hand, or whose bus lagged) still has the messages its frames
//! caught in flight, delivered at their due time when they leave the wire. Bands come from the
//! frames, so their edges are as exact as the frames (every 100 ms).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::ExportError;
use crate::observe::cluster_view::LogWant;
use crate::observe::feed::Category;
use crate::raft::{MessageKind, NodeId, Term};
use crate::record::Recording;

/// Every message kind, in the order of the legend.
pub const KINDS: [MessageKind; 10] = MessageKind::ALL;

/// The part of a run to draw, in cluster time (`None`: from the start / to the end).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// From (included).
    pub from: Option<Duration>,
    /// To (included).
    pub to: Option<Duration>,
}

/// What became of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// It reached its receiver.
    Delivered,
    /// It was lost, and why ("link cut", "receiver down"...).
    Dropped(String),
    /// Still on the wire when the recording ends.
    InFlight,
}

/// One message: an arrow from `from`'s lane at `sent` to `to`'s lane at `end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrow {
    /// The network's id of the message (0 for one dropped before it entered the network).
    pub id: u64,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Kind.
    pub kind: MessageKind,
    /// The sender's term, when known.
    pub term: Option<Term>,
    /// Sent.
    pub sent: Duration,
    /// Delivered, dropped, or due (still in flight).
    pub end: Duration,
    /// What became of it.
    pub fate: Fate,
    /// One line with its fields (the in-flight panel's summary when a frame caught it).
    pub summary: String,
}

/// What a mark on a lane says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MarkKind {
    /// Became leader.
    Leader,
    /// Became candidate.
    Candidate,
    /// Started a pre-vote round.
    PreCandidate,
    /// Its commit index advanced.
    Commit,
    /// Took or installed a snapshot.
    Snapshot,
}

impl MarkKind {
    /// Its name in a legend.
    pub fn name(self) -> &'static str {
        match self {
            MarkKind::Leader => "became leader",
            MarkKind::Candidate => "became candidate",
            MarkKind::PreCandidate => "pre-vote round",
            MarkKind::Commit => "commit advanced",
            MarkKind::Snapshot => "snapshot",
        }
    }
}

/// A mark on one lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// The lane.
    pub node: NodeId,
    /// When.
    pub at: Duration,
    /// What.
    pub kind: MarkKind,
    /// The event's text.
    pub text: String,
}

/// What a band on a lane says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BandKind {
    /// The node's process is down.
    Down,
    /// The node is outside the largest partition group.
    Partitioned,
    /// Extra delay on the node's links.
    Slow,
    /// The node's clock runs at another rate.
    Clock,
}

impl BandKind {
    /// Its name in a legend.
    pub fn name(self) -> &'static str {
        match self {
            BandKind::Down => "down",
            BandKind::Partitioned => "partitioned",
            BandKind::Slow => "slow",
            BandKind::Clock => "clock drift",
        }
    }
}

/// A stretch of time a fault held on one lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Band {
    /// The lane.
    pub node: NodeId,
    /// From.
    pub from: Duration,
    /// To.
    pub to: Duration,
    /// What.
    pub kind: BandKind,
}

/// The space-time diagram of a window of a recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceTime {
    /// The recording's title (its command line).
    pub title: String,
    /// One lane per node, in id order.
    pub nodes: Vec<NodeId>,
    /// Start of the window.
    pub from: Duration,
    /// End of the window.
    pub to: Duration,
    /// Messages sent in the window, by send time (then id).
    pub arrows: Vec<Arrow>,
    /// Marks in the window, by time.
    pub marks: Vec<Mark>,
    /// Fault bands overlapping the window, cut to it.
    pub bands: Vec<Band>,
}

impl SpaceTime {
    /// The last moment anything drawn reaches: the window's end or a later delivery.
    pub fn last(&self) -> Duration {
        self.arrows
            .iter()
            .map(|a| a.end)
            .fold(self.to, Duration::max)
    }

    /// Whether the window holds nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.arrows.is_empty() && self.marks.is_empty() && self.bands.is_empty()
    }
}

/// `t` as seconds with three decimals: `1.234s`.
pub fn secs(t: Duration) -> String {
    format!("{:.3}s", t.as_secs_f64())
}

/// A message event's words: id, sender, receiver, kind, and the rest of the line.
struct MessageWords<'a> {
    id: u64,
    from: NodeId,
    to: NodeId,
    kind: MessageKind,
    rest: &'a str,
}

/// Reads `#12 2->3 AppendEntries rest...` (what follows `sent `, `delivered `, `dropped `).
fn message_words(text: &str) -> Option<MessageWords<'_>> {
    let text = text.strip_prefix('#')?;
    let (id, text) = text.split_once(' ')?;
    let (link, text) = text.split_once(' ').unwrap_or((text, ""));
    let (kind, rest) = text.split_once(' ').unwrap_or((text, ""));
    let (from, to) = link.split_once("->")?;
    Some(MessageWords {
        id: id.parse().ok()?,
        from: from.parse().ok()?,
        to: to.parse().ok()?,
        kind: KINDS.into_iter().find(|k| k.as_str() == kind)?,
        rest,
    })
}

/// `(term 3), due in 12 ms` → (3, 12 ms).
fn term_and_delay(rest: &str) -> (Option<Term>, Option<Duration>) {
    let term = rest
        .strip_prefix("(term ")
        .and_then(|r| r.split_once(')'))
        .and_then(|(t, _)| t.parse().ok());
    let delay = rest
        .split_once("due in ")
        .and_then(|(_, r)| r.strip_suffix(" ms"))
        .and_then(|d| d.parse().ok())
        .map(Duration::from_millis);
    (term, delay)
}

/// The mark an election or replication event makes, if any.
fn mark_of(text: &str) -> Option<MarkKind> {
    if text.starts_with("became leader in term ") {
        Some(MarkKind::Leader)
    } else if text.starts_with("became candidate in term ") {
        Some(MarkKind::Candidate)
    } else if text.starts_with("pre-candidate: ") {
        Some(MarkKind::PreCandidate)
    } else if text.starts_with("commit ") && text.contains(" -> ") {
        Some(MarkKind::Commit)
    } else if text.starts_with("snapshot taken: ") || text.starts_with("installed leader ") {
        Some(MarkKind::Snapshot)
    } else {
        None
    }
}

/// A message being put together from its events and frames.
struct Pending {
    arrow: Arrow,
    due: Option<Duration>,
    ended: bool,
}

/// Builds the diagram of `window` of `rec`. A window that starts after it ends, or that holds
/// nothing, is an error naming the recording's span.
pub fn build(rec: &Recording, window: Window) -> Result<SpaceTime, ExportError> {
    let span = || format!("{} to {}", secs(rec.start()), secs(rec.end()));
    let from = window.from.unwrap_or(rec.start());
    let to = window.to.unwrap_or(rec.end());
    if from > rec.end() {
        return Err(ExportError::Window(format!(
            "--from {} is after the recording's end (it spans {})",
            secs(from),
            span()
        )));
    }
    if from > to {
        return Err(ExportError::Window(format!(
            "--from {} is after --to {}",
            secs(from),
            secs(to)
        )));
    }

    let mut messages: BTreeMap<u64, Pending> = BTreeMap::new();
    let mut unnumbered: Vec<Arrow> = Vec::new();
    let mut marks = Vec::new();
    let mut nodes: BTreeSet<NodeId> = BTreeSet::new();
    // Deliveries come after `to` for messages sent just before it: read on until none is open.
    for (t, node, category, text) in rec.events_between(from, rec.end()) {
        if t > to && messages.values().all(|p| p.ended) {
            break;
        }
        if node != 0 && t <= to {
            nodes.insert(node);
        }
        match category {
            Category::Message => {}
            Category::Election | Category::Replication if t <= to => {
                if let Some(kind) = mark_of(text) {
                    marks.push(Mark {
                        node,
                        at: t,
                        kind,
                        text: text.to_string(),
                    });
                }
                continue;
            }
            _ => continue,
        }
        if let Some(w) = text.strip_prefix("sent ").and_then(message_words) {
            if t > to {
                continue;
            }
            let (term, delay) = term_and_delay(w.rest);
            if w.id == 0 {
                // Delivered at once, never on the wire (and so without an id of its own).
                unnumbered.push(Arrow {
                    id: 0,
                    from: w.from,
                    to: w.to,
                    kind: w.kind,
                    term,
                    sent: t,
                    end: t + delay.unwrap_or_default(),
                    fate: Fate::Delivered,
                    summary: text.to_string(),
                });
                continue;
            }
            messages.insert(
                w.id,
                Pending {
                    arrow: Arrow {
                        id: w.id,
                        from: w.from,
                        to: w.to,
                        kind: w.kind,
                        term,
                        sent: t,
                        end: t + delay.unwrap_or_default(),
                        fate: Fate::InFlight,
                        summary: text.to_string(),
                    },
                    due: delay.map(|d| t + d),
                    ended: false,
                },
            );
        } else if let Some(w) = text.strip_prefix("delivered ").and_then(message_words) {
            if let Some(p) = messages.get_mut(&w.id) {
                p.arrow.end = t;
                p.arrow.fate = Fate::Delivered;
                p.ended = true;
            }
        } else if let Some(w) = text.strip_prefix("dropped ").and_then(message_words) {
            let why = w
                .rest
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .to_string();
            match messages.get_mut(&w.id) {
                Some(p) if w.id != 0 => {
                    p.arrow.end = t;
                    p.arrow.fate = Fate::Dropped(why);
                    p.ended = true;
                }
                // A drop of a message whose send is not in the window (or that never entered
                // the network): drawn as a stub at the drop.
                _ if t <= to => unnumbered.push(Arrow {
                    id: w.id,
                    from: w.from,
                    to: w.to,
                    kind: w.kind,
                    term: None,
                    sent: t,
                    end: t,
                    fate: Fate::Dropped(why),
                    summary: text.to_string(),
                }),
                _ => {}
            }
        }
    }

    // The frames: messages the events missed, summaries, node ids, and the fault bands.
    let want = LogWant { end: None, len: 1 };
    let mut open: BTreeMap<(NodeId, BandKind), Duration> = BTreeMap::new();
    let mut bands = Vec::new();
    let mut at = Some(from);
    while let Some(t) = at {
        if t > to {
            break;
        }
        if let Some(view) = rec.frame_at(t, want) {
            let moment = t.max(from);
            let largest = view.status.groups.first();
            let split = view.status.groups.len() > 1;
            for n in &view.status.nodes {
                nodes.insert(n.id);
                let holds = [
                    (BandKind::Down, !n.up),
                    (
                        BandKind::Partitioned,
                        split && largest.is_some_and(|g| !g.contains(&n.id)),
                    ),
                    (BandKind::Slow, n.slow > Duration::ZERO),
                    (BandKind::Clock, (n.clock_rate - 1.0).abs() > 1e-9),
                ];
                for (kind, on) in holds {
                    match (on, open.get(&(n.id, kind))) {
                        (true, None) => {
                            open.insert((n.id, kind), moment);
                        }
                        (false, Some(&since)) => {
                            open.remove(&(n.id, kind));
                            bands.push(Band {
                                node: n.id,
                                from: since,
                                to: moment,
                                kind,
                            });
                        }
                        _ => {}
                    }
                }
            }
            for m in &view.in_flight {
                if let Some(p) = messages.get_mut(&m.id) {
                    p.arrow.summary.clone_from(&m.summary);
                    p.due = Some(m.due_at);
                } else if m.sent_at >= from && m.sent_at <= to {
                    messages.insert(
                        m.id,
                        Pending {
                            arrow: Arrow {
                                id: m.id,
                                from: m.from,
                                to: m.to,
                                kind: m.kind,
                                term: Some(m.term),
                                sent: m.sent_at,
                                end: m.due_at,
                                fate: Fate::InFlight,
                                summary: m.summary.clone(),
                            },
                            due: Some(m.due_at),
                            ended: false,
                        },
                    );
                }
            }
        }
        at = rec.frame_after(t);
    }
    for ((node, kind), since) in open {
        bands.push(Band {
            node,
            from: since,
            to,
            kind,
        });
    }
    // Messages left open: on the wire at the recording's end, or gone from it unseen (delivered
    // at their due time, as far as the recording can tell).
    let still_in_flight = rec
        .last_frame()
        .map(|v| v.in_flight.iter().map(|m| m.id).collect::<BTreeSet<_>>())
        .unwrap_or_default();
    let mut arrows: Vec<Arrow> = messages
        .into_values()
        .map(|mut p| {
            if !p.ended {
                if let Some(due) = p.due {
                    p.arrow.end = due;
                }
                if !still_in_flight.contains(&p.arrow.id) {
                    p.arrow.fate = Fate::Delivered;
                }
            }
            p.arrow
        })
        .chain(unnumbered)
        .collect();
    arrows.sort_by_key(|a| (a.sent, a.id));
    for a in &arrows {
        nodes.insert(a.from);
        nodes.insert(a.to);
    }
    nodes.remove(&0);
    bands.sort_by_key(|b| (b.from, b.node, b.kind));
    let st = SpaceTime {
        title: rec.header().title.clone(),
        nodes: nodes.into_iter().collect(),
        from,
        to,
        arrows,
        marks,
        bands,
    };
    if st.is_empty() {
        return Err(ExportError::Window(format!(
            "nothing happened from {} to {} (the recording spans {}): widen --from/--to",
            secs(from),
            secs(to),
            span()
        )));
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_events_are_read_back() {
        let w = message_words("#12 2->3 AppendEntries (term 4), due in 9 ms").unwrap();
        assert_eq!((w.id, w.from, w.to), (12, 2, 3));
        assert_eq!(w.kind, MessageKind::AppendEntries);
        assert_eq!(
            term_and_delay(w.rest),
            (Some(4), Some(Duration::from_millis(9)))
        );
        let w = message_words("#7 1->2 Heartbeat").unwrap();
        assert_eq!((w.kind, w.rest), (MessageKind::Heartbeat, ""));
        assert!(message_words("#x 1->2 Heartbeat").is_none());
        assert!(message_words("#1 1-2 Heartbeat").is_none());
        assert!(message_words("#1 1->2 Gossip").is_none());
    }

    #[test]
    fn marks_are_the_events_that_matter_on_a_lane() {
        assert_eq!(mark_of("became leader in term 2"), Some(MarkKind::Leader));
        assert_eq!(mark_of("commit 3 -> 5"), Some(MarkKind::Commit));
        assert_eq!(mark_of("granted vote to 2 in term 2"), None);
    }
}
