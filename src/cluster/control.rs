//! The `Control` gRPC service: the supervisor's operations for scripts, tests and a dashboard
//! attached from elsewhere.

use std::pin::Pin;
use std::time::Duration;

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::{ClusterError, ClusterHandle, LinkPolicy};
use crate::node::Event;
use crate::pb::{self, control_server::Control};
use crate::raft::{NodeId, Role};

/// The service, over a handle of the cluster it controls.
#[derive(Debug, Clone)]
pub struct ControlService {
    cluster: ClusterHandle,
}

impl ControlService {
    /// The Control service of `cluster`.
    pub fn new(cluster: ClusterHandle) -> Self {
        ControlService { cluster }
    }
}

fn status_of(e: ClusterError) -> Status {
    match e {
        ClusterError::UnknownNode(_) | ClusterError::Size(_) => Status::not_found(e.to_string()),
        ClusterError::AlreadyUp(_) | ClusterError::AlreadyDown(_) => {
            Status::failed_precondition(e.to_string())
        }
        ClusterError::Node(..) | ClusterError::Io(_) => Status::internal(e.to_string()),
        ClusterError::Refused(..) | ClusterError::NoLeader | ClusterError::Full => {
            Status::failed_precondition(e.to_string())
        }
    }
}

/// Parses partition groups given as comma-separated ids ("1,2").
pub fn parse_groups(groups: &[String]) -> Result<Vec<Vec<NodeId>>, String> {
    groups
        .iter()
        .map(|g| {
            g.split(',')
                .map(|id| {
                    id.trim()
                        .parse::<NodeId>()
                        .map_err(|_| format!("bad node id {id:?} in group {g:?}"))
                })
                .collect()
        })
        .collect()
}

fn node_status(n: &super::NodeState) -> pb::NodeStatus {
    let s = &n.status;
    let role = if !n.up {
        pb::NodeRole::Down
    } else {
        match s.role {
            Role::Follower => pb::NodeRole::Follower,
            Role::Candidate => pb::NodeRole::Candidate,
            Role::Leader => pb::NodeRole::Leader,
        }
    };
    pb::NodeStatus {
        id: n.id,
        address: n.addr.to_string(),
        up: n.up,
        role: role as i32,
        term: s.term,
        voted_for: s.voted_for.unwrap_or(0),
        leader_id: s.leader_id.unwrap_or(0),
        commit_index: s.commit,
        last_applied: s.applied,
        last_log_index: s.last_log_index,
        last_log_term: s.last_log_term,
        persisted_index: s.persisted_index,
        election_elapsed: s.election_elapsed,
        election_timeout: s.election_timeout,
        clock_rate: n.clock_rate,
        progress: s
            .progress
            .iter()
            .map(|p| {
                let (snapshot_index, snapshot_sent, snapshot_total) =
                    p.snapshot_transfer.unwrap_or((0, 0, 0));
                pb::PeerProgress {
                    id: p.id,
                    match_index: p.match_index,
                    next_index: p.next_index,
                    state: p.state.as_str().to_string(),
                    snapshot_index,
                    snapshot_sent,
                    snapshot_total,
                }
            })
            .collect(),
        snapshot_index: s.snapshot_index,
        snapshot_term: s.snapshot_term,
        snapshot_bytes: s.snapshot_bytes,
        first_index: s.first_index,
        receiving_snapshot_index: s.receiving_snapshot.map_or(0, |(index, _)| index),
        receiving_snapshot_bytes: s.receiving_snapshot.map_or(0, |(_, bytes)| bytes),
        metrics: None,
        pre_candidate: s.pre_candidate,
        transfer_target: s.transfer_target.unwrap_or(0),
        voters: s.voters.clone(),
        learners: s.learners.clone(),
        conf_pending: s.conf_pending,
    }
}

fn event_of(e: Event) -> pb::ClusterEvent {
    pb::ClusterEvent {
        at_ms: e.at.as_millis() as u64,
        node: e.node,
        kind: e.kind.name().to_string(),
        text: e.kind.to_string(),
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::ClusterEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Control for ControlService {
    async fn status(
        &self,
        _: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusReply>, Status> {
        let st = self.cluster.status();
        Ok(Response::new(pb::StatusReply {
            nodes: st
                .nodes
                .iter()
                .map(|n| pb::NodeStatus {
                    metrics: self.cluster.metrics(n.id).map(|m| pb::NodeMetrics {
                        persists: m.persists,
                        leader_appends: m.leader_appends,
                        leader_entries: m.leader_entries,
                        append_entries_sent: m.append_entries_sent,
                        entries_sent: m.entries_sent,
                    }),
                    ..node_status(n)
                })
                .collect(),
            paused: st.paused,
            speed: st.speed,
            preset: st.preset.as_str().to_string(),
            tick_ms: st.tick.as_millis() as u64,
        }))
    }

    async fn kill(&self, r: Request<pb::NodeRequest>) -> Result<Response<pb::Empty>, Status> {
        self.cluster.kill(r.get_ref().id).await.map_err(status_of)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn restart(&self, r: Request<pb::NodeRequest>) -> Result<Response<pb::Empty>, Status> {
        self.cluster
            .restart(r.get_ref().id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn partition(
        &self,
        r: Request<pb::PartitionRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let groups = parse_groups(&r.get_ref().groups).map_err(Status::invalid_argument)?;
        self.cluster.partition(&groups).map_err(status_of)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn heal(&self, _: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        self.cluster.heal();
        Ok(Response::new(pb::Empty {}))
    }

    async fn set_link(
        &self,
        r: Request<pb::SetLinkRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let r = r.into_inner();
        if !(0.0..=1.0).contains(&r.drop_rate) {
            return Err(Status::invalid_argument(
                "drop_rate must be within 0.0..=1.0",
            ));
        }
        let policy = LinkPolicy {
            cut: r.cut,
            delay: Duration::from_millis(r.delay_ms),
            jitter: Duration::from_millis(r.jitter_ms),
            drop_rate: r.drop_rate,
        };
        self.cluster
            .set_link(r.from, r.to, policy)
            .map_err(status_of)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn slow_node(
        &self,
        r: Request<pb::SlowNodeRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let r = r.into_inner();
        self.cluster
            .slow(r.id, Duration::from_millis(r.delay_ms))
            .map_err(status_of)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn set_clock_rate(
        &self,
        r: Request<pb::SetClockRateRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let r = r.into_inner();
        if !(r.rate.is_finite() && r.rate > 0.0) {
            return Err(Status::invalid_argument("rate must be a positive number"));
        }
        self.cluster
            .set_clock_rate(r.id, r.rate)
            .map_err(status_of)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn set_speed(
        &self,
        r: Request<pb::SetSpeedRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let speed = r.get_ref().speed;
        if !(speed.is_finite() && speed > 0.0) {
            return Err(Status::invalid_argument("speed must be a positive number"));
        }
        self.cluster.set_speed(speed);
        Ok(Response::new(pb::Empty {}))
    }

    async fn pause(&self, _: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        self.cluster.pause();
        Ok(Response::new(pb::Empty {}))
    }

    async fn resume(&self, _: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        self.cluster.resume();
        Ok(Response::new(pb::Empty {}))
    }

    async fn step(&self, _: Request<pb::StepRequest>) -> Result<Response<pb::StepReply>, Status> {
        Ok(Response::new(pb::StepReply {
            what: self.cluster.step(),
        }))
    }

    async fn campaign(&self, r: Request<pb::NodeRequest>) -> Result<Response<pb::Empty>, Status> {
        self.cluster
            .campaign(r.get_ref().id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn transfer(
        &self,
        r: Request<pb::TransferRequest>,
    ) -> Result<Response<pb::TransferReply>, Status> {
        let leader = self
            .cluster
            .transfer(r.get_ref().to)
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::TransferReply { leader }))
    }

    async fn add_node(&self, _: Request<pb::Empty>) -> Result<Response<pb::AddNodeReply>, Status> {
        let (id, index) = self.cluster.add_node().await.map_err(status_of)?;
        let address = self
            .cluster
            .addr(id)
            .map(|a| a.to_string())
            .unwrap_or_default();
        Ok(Response::new(pb::AddNodeReply { id, address, index }))
    }

    async fn promote(
        &self,
        r: Request<pb::NodeRequest>,
    ) -> Result<Response<pb::MembershipReply>, Status> {
        let index = self
            .cluster
            .promote(r.get_ref().id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::MembershipReply { index }))
    }

    async fn remove_node(
        &self,
        r: Request<pb::NodeRequest>,
    ) -> Result<Response<pb::MembershipReply>, Status> {
        let index = self
            .cluster
            .remove_node(r.get_ref().id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::MembershipReply {
            index: index.unwrap_or(0),
        }))
    }

    async fn snapshot(
        &self,
        r: Request<pb::NodeRequest>,
    ) -> Result<Response<pb::SnapshotReply>, Status> {
        let meta = self
            .cluster
            .snapshot(r.get_ref().id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::SnapshotReply {
            index: meta.index,
            term: meta.term,
        }))
    }

    async fn in_flight(
        &self,
        _: Request<pb::InFlightRequest>,
    ) -> Result<Response<pb::InFlightReply>, Status> {
        let messages = self
            .cluster
            .in_flight()
            .into_iter()
            .map(|m| pb::InFlightMessage {
                id: m.id,
                from: m.from,
                to: m.to,
                kind: m.kind.as_str().to_string(),
                term: m.term,
                sent_at_ms: m.sent_at.as_millis() as u64,
                due_at_ms: m.due_at.as_millis() as u64,
                summary: m.summary,
            })
            .collect();
        Ok(Response::new(pb::InFlightReply { messages }))
    }

    async fn drop_message(
        &self,
        r: Request<pb::MessageRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let id = r.get_ref().id;
        if self.cluster.drop_message(id) {
            Ok(Response::new(pb::Empty {}))
        } else {
            Err(Status::not_found(format!("no message {id} in flight")))
        }
    }

    async fn duplicate_message(
        &self,
        r: Request<pb::MessageRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let id = r.get_ref().id;
        match self.cluster.duplicate_message(id) {
            Some(_) => Ok(Response::new(pb::Empty {})),
            None => Err(Status::not_found(format!("no message {id} in flight"))),
        }
    }

    async fn deliver_message(
        &self,
        r: Request<pb::MessageRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let id = r.get_ref().id;
        if self.cluster.deliver_message(id) {
            Ok(Response::new(pb::Empty {}))
        } else {
            Err(Status::not_found(format!("no message {id} in flight")))
        }
    }

    type WatchStream = EventStream;

    async fn watch(
        &self,
        _: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let rx = self.cluster.events().subscribe();
        // A reader too slow for the bus skips what it missed rather than slowing the cluster.
        let stream = tokio_stream::wrappers::BroadcastStream::new(rx)
            .filter_map(|e| e.ok())
            .map(|e| Ok(event_of(e)));
        Ok(Response::new(Box::pin(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_parse_and_errors_are_clear() {
        assert_eq!(
            parse_groups(&["1,2".into(), " 3 , 4,5".into()]),
            Ok(vec![vec![1, 2], vec![3, 4, 5]])
        );
        let err = parse_groups(&["1,x".into()]).unwrap_err();
        assert!(err.contains("\"x\""), "{err}");
    }

    fn node(status: crate::raft::Status) -> super::super::NodeState {
        super::super::NodeState {
            id: status.id,
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 7001)),
            up: true,
            status,
            kv_len: 0,
            clock_rate: 1.0,
            slow: Duration::ZERO,
        }
    }

    fn status(id: NodeId, role: Role) -> crate::raft::Status {
        crate::raft::Status {
            id,
            role,
            term: 4,
            voted_for: Some(3),
            leader_id: Some(3),
            commit: 48,
            applied: 48,
            last_log_index: 48,
            last_log_term: 4,
            persisted_index: 48,
            first_index: 1,
            snapshot_index: 0,
            snapshot_term: 0,
            snapshot_bytes: 0,
            receiving_snapshot: None,
            election_elapsed: 0,
            election_timeout: 10,
            progress: Vec::new(),
            pre_candidate: false,
            transfer_target: None,
            voters: Vec::new(),
            learners: Vec::new(),
            conf_pending: false,
        }
    }

    #[test]
    fn node_status_carries_snapshots_and_transfers() {
        use crate::raft::{PeerProgress, ProgressState};
        let mut leader = status(3, Role::Leader);
        leader.first_index = 41;
        leader.snapshot_index = 40;
        leader.snapshot_term = 4;
        leader.snapshot_bytes = 1_024;
        leader.progress = vec![
            PeerProgress {
                id: 1,
                match_index: 48,
                next_index: 49,
                state: ProgressState::Replicate,
                inflight: 0,
                snapshot_transfer: None,
            },
            PeerProgress {
                id: 2,
                match_index: 12,
                next_index: 13,
                state: ProgressState::Snapshot,
                inflight: 1,
                snapshot_transfer: Some((40, 512, 1_024)),
            },
        ];
        let pb = node_status(&node(leader));
        assert_eq!(
            (
                pb.snapshot_index,
                pb.snapshot_term,
                pb.snapshot_bytes,
                pb.first_index
            ),
            (40, 4, 1_024, 41)
        );
        assert_eq!(
            (pb.receiving_snapshot_index, pb.receiving_snapshot_bytes),
            (0, 0)
        );
        let p = &pb.progress;
        assert_eq!(p[0].state, "replicate");
        assert_eq!(
            (p[0].snapshot_index, p[0].snapshot_sent, p[0].snapshot_total),
            (0, 0, 0)
        );
        assert_eq!(p[1].state, "snapshot");
        assert_eq!(
            (p[1].snapshot_index, p[1].snapshot_sent, p[1].snapshot_total),
            (40, 512, 1_024)
        );

        let mut follower = status(2, Role::Follower);
        follower.receiving_snapshot = Some((40, 512));
        let pb = node_status(&node(follower));
        assert_eq!(
            (pb.receiving_snapshot_index, pb.receiving_snapshot_bytes),
            (40, 512)
        );
        assert_eq!((pb.snapshot_index, pb.first_index), (0, 1));
    }
}
