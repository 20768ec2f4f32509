//! `ClusterView`: an owned capture of everything a run shows from outside (nodes, messages on
//! the wire, a window of each log, the key-value contents), and the poller task that builds it.
//! The dashboard draws only the latest capture: it never waits on the cluster, and the cluster
//! never waits on drawing. A recording stores the same captures as its frames.
//!
//! ```text
//!   ClusterHandle ─► capture(want, previous) ─► ClusterView ─► dashboard / recorder
//!                         ▲ poll: every interval, the LogWant the dashboard asks for
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::cluster::{ClusterHandle, ClusterStatus, InFlightInfo};
use crate::raft::{Index, NodeId, Term};

/// A directed link that loses or delays messages (a cut link is in
/// [`ClusterStatus::cut_links`], a slow node's delay in its `NodeState`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinkFault {
    /// The sender's end.
    pub from: NodeId,
    /// The receiver's end.
    pub to: NodeId,
    /// Probability that a message is lost, 0 to 1.
    pub drop_rate: f64,
    /// Extra one-way delay.
    pub delay: Duration,
    /// Up to this much more delay, drawn per message.
    pub jitter: Duration,
}

impl LinkFault {
    /// Whether the other direction has the same fault (`b → a` beside `a → b`).
    pub fn same_as(&self, other: &LinkFault) -> bool {
        (self.drop_rate - other.drop_rate).abs() < 1e-9
            && self.delay == other.delay
            && self.jitter == other.jitter
    }
}

/// The log entries of one node that the dashboard shows: a window, never the whole log.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogWindow {
    /// (index, term) of each entry in the window, in index order.
    pub entries: Vec<(Index, Term)>,
}

impl LogWindow {
    /// The term at `index`, if the window holds it.
    pub fn term(&self, index: Index) -> Option<Term> {
        let first = self.entries.first()?.0;
        if index < first {
            return None;
        }
        self.entries
            .get((index - first) as usize)
            .filter(|(i, _)| *i == index)
            .map(|(_, t)| *t)
    }
}

/// Everything the dashboard draws, at one moment: one capture of the cluster.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClusterView {
    /// Cluster time of the capture.
    pub at: Duration,
    /// Nodes, clock, network settings.
    pub status: ClusterStatus,
    /// Messages on the wire.
    pub in_flight: Vec<InFlightInfo>,
    /// Links that lose or delay messages (not cut ones), in (from, to) order.
    #[serde(default)]
    pub links: Vec<LinkFault>,
    /// A window of each node's log (kept from before for nodes that are down).
    pub logs: BTreeMap<NodeId, LogWindow>,
    /// Each node's applied key-value contents (kept from before for nodes that are down).
    pub kv: BTreeMap<NodeId, Vec<(String, String)>>,
}

/// Which part of the logs the dashboard wants: the newest `len` entries, or `len` entries
/// ending at `end` when scrolled back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogWant {
    /// Last index to show; None follows the tail.
    pub end: Option<Index>,
    /// How many entries.
    pub len: u64,
}

impl LogWant {
    /// The indexes `lo..=end` of the window this asks for, among `nodes` (whose longest log
    /// ends the tail).
    pub fn range(&self, nodes: &[crate::cluster::NodeState]) -> (Index, Index) {
        let highest = nodes
            .iter()
            .map(|n| n.status.last_log_index)
            .max()
            .unwrap_or(0);
        let end = self.end.unwrap_or(highest).min(highest);
        let lo = end.saturating_sub(self.len.saturating_sub(1)).max(1);
        (lo, end)
    }
}

impl Default for LogWant {
    fn default() -> Self {
        LogWant { end: None, len: 64 }
    }
}

/// Captures the cluster once, reusing `previous` for what cannot be read now (nodes that are down).
pub async fn capture(
    cluster: &ClusterHandle,
    want: LogWant,
    previous: Option<&ClusterView>,
    read_kv: bool,
) -> ClusterView {
    let status = cluster.status();
    let in_flight = cluster.in_flight();
    let links = link_faults(cluster, &status);
    let (lo, end) = want.range(&status.nodes);
    let mut logs = BTreeMap::new();
    let mut kv = BTreeMap::new();
    for n in &status.nodes {
        let window = if n.up {
            cluster
                .log_terms(n.id, lo, end)
                .await
                .ok()
                .map(|entries| LogWindow { entries })
        } else {
            None
        };
        let window = window.or_else(|| previous.and_then(|p| p.logs.get(&n.id).cloned()));
        logs.insert(n.id, window.unwrap_or_default());
        let contents = if n.up && read_kv {
            cluster.kv(n.id).await.ok()
        } else {
            None
        };
        if let Some(c) = contents.or_else(|| previous.and_then(|p| p.kv.get(&n.id).cloned())) {
            kv.insert(n.id, c);
        }
    }
    ClusterView {
        at: cluster.events().elapsed(),
        status,
        in_flight,
        logs,
        kv,
        links,
    }
}

/// The links of `status`'s nodes that lose or delay messages and are not cut.
pub fn link_faults(cluster: &ClusterHandle, status: &ClusterStatus) -> Vec<LinkFault> {
    let network = cluster.network();
    let mut faults = Vec::new();
    for a in &status.nodes {
        for b in &status.nodes {
            if a.id == b.id {
                continue;
            }
            let p = network.link(a.id, b.id);
            let lossy = p.drop_rate > 0.0;
            let delayed = !p.delay.is_zero() || !p.jitter.is_zero();
            if !p.cut && (lossy || delayed) {
                faults.push(LinkFault {
                    from: a.id,
                    to: b.id,
                    drop_rate: p.drop_rate,
                    delay: p.delay,
                    jitter: p.jitter,
                });
            }
        }
    }
    faults
}

/// Polls the cluster every `interval` (and the key-value contents every fourth time), sending
/// each capture to the dashboard. Ends when the dashboard hangs up.
pub async fn poll(
    cluster: ClusterHandle,
    interval: Duration,
    want: watch::Receiver<LogWant>,
    out: mpsc::Sender<ClusterView>,
) {
    let mut previous: Option<ClusterView> = None;
    let mut round = 0u64;
    loop {
        let w = *want.borrow();
        let view = capture(&cluster, w, previous.as_ref(), round.is_multiple_of(4)).await;
        round += 1;
        previous = Some(view.clone());
        // The dashboard takes the newest; if it is behind, it skips this one.
        match out.try_send(view) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
        tokio::time::sleep(interval).await;
    }
}
