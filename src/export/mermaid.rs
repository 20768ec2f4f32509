//! The space-time diagram as a Mermaid `sequenceDiagram`, for a short window (Mermaid gives each
//! message its own row, so a long run is refused: more than [`LIMIT`] messages).
//!
//! ```text
//! sequenceDiagram
//!     participant n1 as node 1
//!     participant n2 as node 2
//!     n1->>n2: 0.120s AppendEntries 7 term 2
//!     n1-xn3: 0.130s Heartbeat 8 term 2 dropped (link cut)
//!     Note over n1: 0.140s became leader in term 2
//!     Note over n3: 0.150s down until 0.900s
//! ```
//!
//! Rows follow the send times (a delivery's time is in its text when it is not the next moment).
//! Text is kept to what Mermaid's grammar reads as plain words: no `;` `#` `:` `%`, which it
//! reads as line breaks, entities, separators and comments.

use std::fmt::Write;
use std::time::Duration;

use super::diagram::{secs, Fate, SpaceTime};
use super::ExportError;

/// Most messages a Mermaid export takes.
pub const LIMIT: usize = 300;

/// Words Mermaid reads as plain text.
pub fn words(text: &str) -> String {
    text.replace("->", "→")
        .chars()
        .map(|c| match c {
            ';' | '#' | ':' | '%' | '\n' | '\r' | '{' | '}' | '<' | '>' => ' ',
            c => c,
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// One row, ordered by time then by kind (bands open, marks, messages).
enum Row<'a> {
    Band(&'a super::diagram::Band),
    Mark(&'a super::diagram::Mark),
    Message(&'a super::diagram::Arrow),
}

/// The diagram as Mermaid text; [`ExportError::TooMany`] above [`LIMIT`] messages.
pub fn render(st: &SpaceTime) -> Result<String, ExportError> {
    if st.arrows.len() > LIMIT {
        return Err(ExportError::TooMany {
            messages: st.arrows.len(),
            limit: LIMIT,
        });
    }
    let mut rows: Vec<(Duration, u8, Row)> = Vec::new();
    rows.extend(st.bands.iter().map(|b| (b.from, 0, Row::Band(b))));
    rows.extend(st.marks.iter().map(|m| (m.at, 1, Row::Mark(m))));
    rows.extend(st.arrows.iter().map(|a| (a.sent, 2, Row::Message(a))));
    rows.sort_by_key(|(t, order, _)| (*t, *order));

    let mut s = String::from("sequenceDiagram\n");
    let _ = writeln!(
        s,
        "    %% {} from {} to {}",
        words(&st.title),
        secs(st.from),
        secs(st.to)
    );
    for n in &st.nodes {
        let _ = writeln!(s, "    participant n{n} as node {n}");
    }
    for (_, _, row) in rows {
        match row {
            Row::Band(b) => {
                let _ = writeln!(
                    s,
                    "    Note over n{}: {} {} until {}",
                    b.node,
                    secs(b.from),
                    b.kind.name(),
                    secs(b.to)
                );
            }
            Row::Mark(m) => {
                let _ = writeln!(
                    s,
                    "    Note over n{}: {} {}",
                    m.node,
                    secs(m.at),
                    words(&m.text)
                );
            }
            Row::Message(a) => {
                let term = a.term.map(|t| format!(" term {t}")).unwrap_or_default();
                let (arrow, fate) = match &a.fate {
                    Fate::Delivered => ("->>", format!(" arrives {}", secs(a.end))),
                    Fate::Dropped(why) => ("-x", format!(" dropped {} ({})", secs(a.end), why)),
                    Fate::InFlight => ("-)", " still in flight".to_string()),
                };
                let _ = writeln!(
                    s,
                    "    n{}{arrow}n{}: {}",
                    a.from,
                    a.to,
                    words(&format!(
                        "{} {} {}{term}{fate}",
                        secs(a.sent),
                        a.kind.as_str(),
                        a.id
                    ))
                );
            }
        }
    }
    Ok(s)
}
