//! Where the nodes' counters come from: the in-process cluster, a `serve`'s Control service,
//! or nowhere (then the figures that need them are "n/a").

use std::net::SocketAddr;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::cluster::ClusterHandle;
use crate::node::metrics::MetricsSnapshot;
use crate::pb::{self, control_client::ControlClient};

/// A source of the nodes' counters, summed over nodes.
pub enum MetricsSource {
    /// Read from the cluster in this process.
    Cluster(ClusterHandle),
    /// Read from the Control service of a `raftlab serve`.
    Control(ControlClient<Channel>),
    /// Not available.
    None,
}

impl MetricsSource {
    /// Connects to the Control service at `addr`, or says why it cannot, within `timeout`.
    pub async fn control(addr: SocketAddr, timeout: Duration) -> Result<MetricsSource, String> {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| format!("{addr}: {e}"))?
            .connect_timeout(timeout);
        let channel = match tokio::time::timeout(timeout, endpoint.connect()).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                let why = super::load::error_chain(&e);
                return Err(format!(
                    "cannot connect to the Control service at {addr}: {why}"
                ));
            }
            Err(_) => {
                return Err(format!(
                    "cannot connect to the Control service at {addr}: no answer within {} ms",
                    timeout.as_millis()
                ))
            }
        };
        let mut client = ControlClient::new(channel);
        let mut req = tonic::Request::new(pb::StatusRequest {});
        req.set_timeout(timeout);
        client
            .status(req)
            .await
            .map_err(|s| format!("{addr} is not a raftlab Control service: {}", s.message()))?;
        Ok(MetricsSource::Control(client))
    }

    /// The counters of all nodes, summed; `None` when unavailable (no source, an error, or a
    /// node that does not report them).
    pub async fn snapshot(&mut self) -> Option<MetricsSnapshot> {
        match self {
            MetricsSource::None => None,
            MetricsSource::Cluster(c) => c
                .ids()
                .into_iter()
                .map(|id| c.metrics(id))
                .try_fold(MetricsSnapshot::default(), |sum, m| Some(sum.plus(&m?))),
            MetricsSource::Control(client) => {
                let mut req = tonic::Request::new(pb::StatusRequest {});
                req.set_timeout(Duration::from_secs(5));
                let reply = client.status(req).await.ok()?.into_inner();
                reply
                    .nodes
                    .iter()
                    .try_fold(MetricsSnapshot::default(), |sum, n| {
                        let m = n.metrics.as_ref()?;
                        Some(sum.plus(&MetricsSnapshot {
                            persists: m.persists,
                            leader_appends: m.leader_appends,
                            leader_entries: m.leader_entries,
                            append_entries_sent: m.append_entries_sent,
                            entries_sent: m.entries_sent,
                        }))
                    })
            }
        }
    }

    /// Whether counters can be read at all.
    pub fn available(&self) -> bool {
        !matches!(self, MetricsSource::None)
    }
}
