//! The space-time diagram as SVG: one vertical lane per node, time flowing down, each message a
//! line coloured by kind from its send to its delivery (a drop stops short of the receiver and
//! ends in `✗`), marks on the lanes, fault bands behind them, a time axis on the left and a
//! legend on the right. Every drawn thing carries a `<title>` (a viewer shows it on hover) and a
//! class the HTML page and the tests find it by:
//!
//! ```text
//!   time   node 1   node 2   node 3     legend
//!   0.100s   │╲        │        │        ─ RequestVote ...
//!            │  ╲───►  │        ▒ band   ✗ dropped
//!   0.200s   ●        ╱│        ▒        ● became leader ...
//!            │  ◄───╱  │  ──✗   ▒        ▒ down ...
//! ```
//!
//! Lanes are `<g class="lane">`, messages `<g class="msg">`, marks `class="mark"`, bands
//! `class="band"`.

use std::fmt::Write;
use std::time::Duration;

use super::diagram::{secs, Arrow, BandKind, Fate, MarkKind, SpaceTime, KINDS};
use crate::raft::MessageKind;

const TOP: f64 = 56.0;
const LEFT: f64 = 90.0;
const GAP: f64 = 150.0;
const BOTTOM: f64 = 30.0;
const LEGEND_W: f64 = 230.0;

/// The colour and glyph of a message kind (the ring's glyphs, its colours darkened for paper).
pub fn kind_style(kind: MessageKind) -> (&'static str, &'static str) {
    match kind {
        MessageKind::RequestVote => ("#b8860b", "?"),
        MessageKind::RequestVoteReply => ("#d4a017", "!"),
        MessageKind::PreVote => ("#8b7500", "¿"),
        MessageKind::PreVoteReply => ("#c9a227", "¡"),
        MessageKind::AppendEntries => ("#2e8b57", "■"),
        MessageKind::Heartbeat => ("#7cb342", "♥"),
        MessageKind::AppendEntriesReply => ("#0097a7", "✓"),
        MessageKind::InstallSnapshot => ("#1565c0", "▣"),
        MessageKind::InstallSnapshotReply => ("#5c8dd6", "◇"),
        MessageKind::TimeoutNow => ("#ad1457", "»"),
    }
}

fn mark_style(kind: MarkKind) -> (&'static str, f64) {
    match kind {
        MarkKind::Leader => ("#d62728", 6.0),
        MarkKind::Candidate => ("#ff7f0e", 5.0),
        MarkKind::PreCandidate => ("#ffbb78", 4.0),
        MarkKind::Commit => ("#2ca02c", 2.5),
        MarkKind::Snapshot => ("#1f77b4", 5.0),
    }
}

fn band_style(kind: BandKind) -> &'static str {
    match kind {
        BandKind::Down => "#7f7f7f",
        BandKind::Partitioned => "#e377c2",
        BandKind::Slow => "#bcbd22",
        BandKind::Clock => "#9467bd",
    }
}

/// `text` with XML's special characters escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Where things go: lane x, time y.
struct Layout {
    from: Duration,
    /// Pixels per millisecond.
    scale: f64,
    lanes: Vec<crate::raft::NodeId>,
}

impl Layout {
    fn of(st: &SpaceTime) -> Layout {
        let ms = (st.last() - st.from).as_secs_f64() * 1e3;
        // About 2400 px for the whole window, between 0.04 and 2 px per ms.
        let scale = if ms > 0.0 {
            (2400.0 / ms).clamp(0.04, 2.0)
        } else {
            1.0
        };
        Layout {
            from: st.from,
            scale,
            lanes: st.nodes.clone(),
        }
    }

    fn x(&self, node: crate::raft::NodeId) -> f64 {
        let i = self.lanes.iter().position(|n| *n == node).unwrap_or(0);
        LEFT + GAP * i as f64
    }

    fn y(&self, t: Duration) -> f64 {
        TOP + t.saturating_sub(self.from).as_secs_f64() * 1e3 * self.scale
    }
}

/// A tick step giving 8 to 20 ticks over `ms` milliseconds.
fn tick_step(ms: f64) -> u64 {
    const STEPS: [u64; 16] = [
        1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000,
    ];
    STEPS
        .into_iter()
        .find(|s| ms / (*s as f64) <= 20.0)
        .unwrap_or(300_000)
}

/// The diagram as an SVG document; `standalone` adds the XML namespace and declaration (an SVG
/// inline in HTML needs neither).
pub fn render(st: &SpaceTime, standalone: bool) -> String {
    let l = Layout::of(st);
    let last = st.last();
    let width = LEFT + GAP * (st.nodes.len().max(1) as f64 - 0.5) + LEGEND_W;
    let lanes_bottom = l.y(last) + 10.0;
    let legend_bottom = TOP + 16.0 * (KINDS.len() + 12) as f64;
    let height = lanes_bottom.max(legend_bottom) + BOTTOM;
    let mut s = String::with_capacity(512 + st.arrows.len() * 260);
    if standalone {
        s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    }
    let _ = writeln!(
        s,
        "<svg {}width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" \
         font-family=\"monospace\" font-size=\"11\" class=\"raftlab-spacetime\">",
        if standalone {
            "xmlns=\"http://www.w3.org/2000/svg\" "
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "<title>{} — {} to {}, {} messages</title>",
        escape(&st.title),
        secs(st.from),
        secs(st.to),
        st.arrows.len()
    );
    s.push_str("<defs>\n");
    for k in KINDS {
        let (color, _) = kind_style(k);
        let _ = writeln!(
            s,
            "<marker id=\"head-{}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
             markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{color}\"/></marker>",
            k.as_str()
        );
    }
    s.push_str("</defs>\n");
    s.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let _ = writeln!(
        s,
        "<text x=\"8\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        escape(&format!(
            "{} — {} to {}",
            st.title,
            secs(st.from),
            secs(st.to)
        ))
    );

    // Time axis.
    s.push_str("<g id=\"axis\" fill=\"#555\">\n");
    let span_ms = (last - st.from).as_millis() as u64;
    let step = tick_step(span_ms as f64);
    let first = (st.from.as_millis() as u64).div_ceil(step) * step;
    let mut t = first;
    while t <= st.from.as_millis() as u64 + span_ms {
        let y = l.y(Duration::from_millis(t));
        let _ = writeln!(
            s,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><line x1=\"{:.0}\" y1=\"{y:.1}\" x2=\"{:.0}\" y2=\"{y:.1}\" stroke=\"#eee\"/>",
            LEFT - 30.0,
            y + 4.0,
            secs(Duration::from_millis(t)),
            LEFT - 25.0,
            LEFT + GAP * (st.nodes.len() as f64 - 0.5)
        );
        t += step;
    }
    s.push_str("</g>\n");

    // Bands, behind the lanes.
    s.push_str("<g id=\"bands\">\n");
    for b in &st.bands {
        let x = l.x(b.node) - 9.0;
        let y = l.y(b.from);
        let h = (l.y(b.to) - y).max(1.0);
        let _ = writeln!(
            s,
            "<rect class=\"band band-{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"18\" height=\"{h:.1}\" \
             fill=\"{}\" fill-opacity=\"0.35\"><title>node {} {} from {} to {}</title></rect>",
            b.kind.name().replace(' ', "-"),
            band_style(b.kind),
            b.node,
            b.kind.name(),
            secs(b.from),
            secs(b.to)
        );
    }
    s.push_str("</g>\n");

    // Lanes.
    s.push_str("<g id=\"lanes\">\n");
    for n in &st.nodes {
        let x = l.x(*n);
        let _ = writeln!(
            s,
            "<g class=\"lane\" data-node=\"{n}\"><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
             font-weight=\"bold\">node {n}</text><line x1=\"{x:.1}\" y1=\"{TOP:.1}\" x2=\"{x:.1}\" \
             y2=\"{lanes_bottom:.1}\" stroke=\"#444\" stroke-width=\"1.5\"/></g>",
            TOP - 14.0
        );
    }
    s.push_str("</g>\n");

    // Messages.
    s.push_str("<g id=\"messages\">\n");
    for a in &st.arrows {
        arrow(&mut s, &l, a);
    }
    s.push_str("</g>\n");

    // Marks.
    s.push_str("<g id=\"marks\">\n");
    for m in &st.marks {
        let (color, r) = mark_style(m.kind);
        let _ = writeln!(
            s,
            "<circle class=\"mark mark-{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" fill=\"{color}\" \
             stroke=\"white\" stroke-width=\"0.5\"><title>{} node {}: {}</title></circle>",
            m.kind.name().replace(' ', "-"),
            l.x(m.node),
            l.y(m.at),
            secs(m.at),
            m.node,
            escape(&m.text)
        );
    }
    s.push_str("</g>\n");

    legend(&mut s, LEFT + GAP * (st.nodes.len() as f64 - 0.5) + 20.0);
    s.push_str("</svg>\n");
    s
}

fn arrow(s: &mut String, l: &Layout, a: &Arrow) {
    let (color, _) = kind_style(a.kind);
    let (x1, y1) = (l.x(a.from), l.y(a.sent));
    let (mut x2, y2) = (l.x(a.to), l.y(a.end));
    let fate = match &a.fate {
        Fate::Delivered => "delivered".to_string(),
        Fate::Dropped(why) => format!("dropped ({why})"),
        Fate::InFlight => "in flight at the end".to_string(),
    };
    let dropped = matches!(a.fate, Fate::Dropped(_));
    if dropped {
        // A drop stops short of the receiver.
        x2 = x1 + (x2 - x1) * 0.6;
    }
    let class = if dropped { "msg dropped" } else { "msg" };
    let _ = write!(
        s,
        "<g class=\"{class}\" data-id=\"{}\" data-kind=\"{}\"><title>{}: {} → {} {}</title>\
         <line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{color}\" stroke-width=\"1.2\"",
        a.id,
        a.kind.as_str(),
        escape(&a.summary),
        secs(a.sent),
        secs(a.end),
        fate,
    );
    if dropped {
        let _ = writeln!(
            s,
            "/><text x=\"{x2:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#c00\" font-size=\"13\">✗</text></g>",
            y2 + 4.0
        );
    } else {
        let _ = writeln!(s, " marker-end=\"url(#head-{})\"/></g>", a.kind.as_str());
    }
}

fn legend(s: &mut String, x: f64) {
    let _ = writeln!(
        s,
        "<g id=\"legend\" transform=\"translate({x:.1},{TOP:.1})\">"
    );
    let mut y = 0.0;
    for k in KINDS {
        let (color, glyph) = kind_style(k);
        let _ = writeln!(
            s,
            "<line x1=\"0\" y1=\"{y:.0}\" x2=\"24\" y2=\"{y:.0}\" stroke=\"{color}\" stroke-width=\"2\" \
             marker-end=\"url(#head-{})\"/><text x=\"32\" y=\"{:.0}\" fill=\"{color}\">{glyph} {}</text>",
            k.as_str(),
            y + 4.0,
            k.as_str()
        );
        y += 16.0;
    }
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"{:.0}\" text-anchor=\"middle\" fill=\"#c00\" font-size=\"13\">✗</text>\
         <text x=\"32\" y=\"{:.0}\">dropped</text>",
        y + 4.0,
        y + 4.0
    );
    y += 20.0;
    for k in [
        MarkKind::Leader,
        MarkKind::Candidate,
        MarkKind::PreCandidate,
        MarkKind::Commit,
        MarkKind::Snapshot,
    ] {
        let (color, r) = mark_style(k);
        let _ = writeln!(
            s,
            "<circle cx=\"12\" cy=\"{y:.0}\" r=\"{r}\" fill=\"{color}\"/><text x=\"32\" y=\"{:.0}\">{}</text>",
            y + 4.0,
            k.name()
        );
        y += 16.0;
    }
    y += 4.0;
    for k in [
        BandKind::Down,
        BandKind::Partitioned,
        BandKind::Slow,
        BandKind::Clock,
    ] {
        let _ = writeln!(
            s,
            "<rect x=\"3\" y=\"{:.0}\" width=\"18\" height=\"12\" fill=\"{}\" fill-opacity=\"0.35\"/>\
             <text x=\"32\" y=\"{:.0}\">{}</text>",
            y - 6.0,
            band_style(k),
            y + 4.0,
            k.name()
        );
        y += 16.0;
    }
    s.push_str("</g>\n");
}
