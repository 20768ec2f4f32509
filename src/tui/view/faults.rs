//! The faults in force other than kills and partitions — slow nodes, skewed clocks, links that
//! lose or delay messages — in the words the header, the ring and the table use for them.
//!
//! ```text
//!   header   faults: 2 slow 300ms · 3 clock 2× · 1→4 loss 59%     (shorter forms at 80 columns)
//!   ring     ●2 t1 +300ms    ●3 t1 2×    a link's tag: ✗59% (loss) +200ms (delay)
//!   table    faults column: slow +300ms clock 2× →4 loss 59%       (or +300ms 2× →4 ✗59%)
//! ```

use std::time::Duration;

use ratatui::style::{Color, Modifier, Style};

use crate::cluster::NodeState;
use crate::observe::cluster_view::{ClusterView, LinkFault};
use crate::tui::app::Theme;

/// How a fault that degrades without breaking is marked: yellow, bold in mono (a cut link or
/// a partition, which break, use [`super::style::alert`]).
pub fn warn(theme: Theme) -> Style {
    match theme {
        Theme::Color => Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
        Theme::Mono => Style::default().add_modifier(Modifier::BOLD),
    }
}

/// A clock rate as the screen writes it: `2×`, `0.5×`.
pub fn rate(rate: f64) -> String {
    format!("{}×", (rate * 100.0).round() / 100.0)
}

/// A delay in milliseconds: `300ms`.
pub fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// Whether the node's clock runs at another rate than the cluster's.
pub fn skewed(n: &NodeState) -> bool {
    (n.clock_rate - 1.0).abs() > 1e-9
}

/// The node's own faults as short tags, for the ring: `+300ms` (slow), `2×` (clock).
pub fn node_tags(n: &NodeState) -> Vec<String> {
    let mut tags = Vec::new();
    if !n.slow.is_zero() {
        tags.push(format!("+{}", ms(n.slow)));
    }
    if skewed(n) {
        tags.push(rate(n.clock_rate));
    }
    tags
}

/// What a link does to its messages: `loss 59% delay 200ms±50ms`, or in short `✗59% +200ms`.
pub fn link_text(f: &LinkFault, short: bool) -> String {
    let mut parts = Vec::new();
    if f.drop_rate > 0.0 {
        let pct = (f.drop_rate * 100.0).round();
        parts.push(if short {
            format!("✗{pct}%")
        } else {
            format!("loss {pct}%")
        });
    }
    if !f.delay.is_zero() || !f.jitter.is_zero() {
        let jitter = if f.jitter.is_zero() {
            String::new()
        } else {
            format!("±{}", ms(f.jitter))
        };
        parts.push(if short {
            format!("+{}{jitter}", ms(f.delay))
        } else {
            format!("delay {}{jitter}", ms(f.delay))
        });
    }
    parts.join(" ")
}

/// A faulty link as the screen shows it: both directions at once when they have the same fault.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkMark {
    /// The fault (of `from → to`).
    pub fault: LinkFault,
    /// The other direction has the same fault.
    pub both: bool,
}

impl LinkMark {
    /// `1→4`, or `1↔4` for both directions.
    pub fn ends(&self) -> String {
        let arrow = if self.both { "↔" } else { "→" };
        format!("{}{arrow}{}", self.fault.from, self.fault.to)
    }
}

/// The view's faulty links, a pair whose two directions have the same fault told once.
pub fn link_marks(links: &[LinkFault]) -> Vec<LinkMark> {
    let mut marks: Vec<LinkMark> = Vec::new();
    for f in links {
        let twin = links
            .iter()
            .find(|o| o.from == f.to && o.to == f.from && o.same_as(f));
        match twin {
            // Told with the direction of the smaller sender.
            Some(_) if f.from > f.to => {}
            Some(_) => marks.push(LinkMark {
                fault: *f,
                both: true,
            }),
            None => marks.push(LinkMark {
                fault: *f,
                both: false,
            }),
        }
    }
    marks
}

/// The header's summary of the faults in force, longest form first: every fault with its
/// measure (`faults: 2 slow 300ms · 3 clock 2× · 1→4 loss 59%`), every fault without it
/// (`faults: 2 slow · 3 clock · 1→4 loss`), and a count (`3 faults`). None without faults.
pub fn summary(view: &ClusterView) -> Option<[String; 3]> {
    let mut long = Vec::new();
    let mut short = Vec::new();
    for n in &view.status.nodes {
        if !n.slow.is_zero() {
            long.push(format!("{} slow {}", n.id, ms(n.slow)));
            short.push(format!("{} slow", n.id));
        }
        if skewed(n) {
            long.push(format!("{} clock {}", n.id, rate(n.clock_rate)));
            short.push(format!("{} clock", n.id));
        }
    }
    for m in link_marks(&view.links) {
        long.push(format!("{} {}", m.ends(), link_text(&m.fault, false)));
        let lossy = m.fault.drop_rate > 0.0;
        let delayed = !m.fault.delay.is_zero() || !m.fault.jitter.is_zero();
        let what = match (lossy, delayed) {
            (true, true) => "loss+delay",
            (true, false) => "loss",
            _ => "delay",
        };
        short.push(format!("{} {what}", m.ends()));
    }
    if long.is_empty() {
        return None;
    }
    let count = long.len();
    Some([
        format!("faults: {}", long.join(" · ")),
        format!("faults: {}", short.join(" · ")),
        format!("{count} fault{}", if count == 1 { "" } else { "s" }),
    ])
}

/// Whether any node is slow or skewed, or any link loses or delays messages.
pub fn any(view: &ClusterView) -> bool {
    !view.links.is_empty() || view.status.nodes.iter().any(|n| !node_tags(n).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(from: u64, to: u64, drop_rate: f64, delay_ms: u64) -> LinkFault {
        LinkFault {
            from,
            to,
            drop_rate,
            delay: Duration::from_millis(delay_ms),
            jitter: Duration::ZERO,
        }
    }

    #[test]
    fn rates_and_links_read_as_words() {
        assert_eq!(rate(2.0), "2×");
        assert_eq!(rate(0.5), "0.5×");
        let f = link(1, 4, 0.59, 200);
        assert_eq!(link_text(&f, false), "loss 59% delay 200ms");
        assert_eq!(link_text(&f, true), "✗59% +200ms");
    }

    #[test]
    fn both_directions_with_one_fault_are_told_once() {
        let marks = link_marks(&[link(1, 4, 0.5, 0), link(4, 1, 0.5, 0), link(2, 3, 0.1, 0)]);
        let ends: Vec<String> = marks.iter().map(LinkMark::ends).collect();
        assert_eq!(ends, ["1↔4", "2→3"]);
        // Different faults each way: two marks.
        let marks = link_marks(&[link(1, 4, 0.5, 0), link(4, 1, 0.2, 0)]);
        let ends: Vec<String> = marks.iter().map(LinkMark::ends).collect();
        assert_eq!(ends, ["1→4", "4→1"]);
    }
}
