//! The space-time diagram as a log ShiViz reads (paste it, or upload the file, at its site): the
//! first line is the parser's regular expression, the second the delimiter of several executions
//! (empty: one execution), then one line per event with its host and its vector clock as JSON.
//!
//! ```text
//! (?<host>\S+) (?<clock>\{[^}]*\}) (?<event>.*)
//!
//! node1 {"node1":1} 0.120s send AppendEntries 7 to node2 (term 2)
//! node2 {"node1":1,"node2":1} 0.131s receive AppendEntries 7 from node1
//! node1 {"node1":2} 0.140s became leader in term 2
//! ```
//!
//! Each node's clock counts its own events from 1 by one, as ShiViz requires; a receive merges
//! the sender's clock at the send (Lamport's vector clocks), so ShiViz draws the message. A
//! dropped message is a send with no receive; marks and fault bands are local events.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::diagram::{secs, Fate, SpaceTime};
use crate::raft::NodeId;

/// The parser's regular expression, the file's first line.
pub const REGEX: &str = r"(?<host>\S+) (?<clock>\{[^}]*\}) (?<event>.*)";

/// One event on one host, in time order.
enum Step {
    /// Local: a mark or a band's edge.
    Local(String),
    /// The send of arrow `i`.
    Send(usize),
    /// The receipt of arrow `i`.
    Receive(usize),
}

/// The diagram as a ShiViz log.
pub fn render(st: &SpaceTime) -> String {
    // (time, order, host, step): sends before receives at the same moment.
    let mut steps: Vec<(Duration, u8, NodeId, Step)> = Vec::new();
    for b in &st.bands {
        steps.push((
            b.from,
            0,
            b.node,
            Step::Local(format!("{} begins", b.kind.name())),
        ));
        if b.to < st.to {
            steps.push((
                b.to,
                0,
                b.node,
                Step::Local(format!("{} ends", b.kind.name())),
            ));
        }
    }
    for m in &st.marks {
        steps.push((m.at, 0, m.node, Step::Local(m.text.clone())));
    }
    for (i, a) in st.arrows.iter().enumerate() {
        steps.push((a.sent, 1, a.from, Step::Send(i)));
        if a.fate == Fate::Delivered {
            steps.push((a.end.max(a.sent), 2, a.to, Step::Receive(i)));
        }
    }
    steps.sort_by_key(|(t, order, host, _)| (*t, *order, *host));

    let mut clocks: BTreeMap<NodeId, BTreeMap<NodeId, u64>> = BTreeMap::new();
    let mut at_send: BTreeMap<usize, BTreeMap<NodeId, u64>> = BTreeMap::new();
    let mut s = String::with_capacity(64 + steps.len() * 90);
    s.push_str(REGEX);
    s.push_str("\n\n");
    for (t, _, host, step) in steps {
        let clock = clocks.entry(host).or_default();
        if let Step::Receive(i) = &step {
            for (n, c) in at_send.remove(i).unwrap_or_default() {
                let mine = clock.entry(n).or_default();
                *mine = (*mine).max(c);
            }
        }
        *clock.entry(host).or_default() += 1;
        let text = match step {
            Step::Local(text) => text,
            Step::Send(i) => {
                at_send.insert(i, clock.clone());
                let a = &st.arrows[i];
                let term = a.term.map(|t| format!(" (term {t})")).unwrap_or_default();
                let fate = match &a.fate {
                    Fate::Dropped(why) => format!(", dropped at {} ({why})", secs(a.end)),
                    Fate::InFlight => ", still in flight at the end".to_string(),
                    Fate::Delivered => String::new(),
                };
                format!(
                    "send {} {} to node{}{term}{fate}",
                    a.kind.as_str(),
                    a.id,
                    a.to
                )
            }
            Step::Receive(i) => {
                let a = &st.arrows[i];
                format!("receive {} {} from node{}", a.kind.as_str(), a.id, a.from)
            }
        };
        let json = clock
            .iter()
            .map(|(n, c)| format!("\"node{n}\":{c}"))
            .collect::<Vec<_>>()
            .join(",");
        let text: String = text.chars().filter(|c| !c.is_control()).collect();
        let _ = writeln!(s, "node{host} {{{json}}} {} {text}", secs(t));
    }
    s
}
