//! Membership change: single-server changes (thesis §4.1) and learners (non-voting members).
//!
//! # Why single-server changes, not joint consensus
//!
//! The paper (§6) changes any number of servers at once by going through a *joint*
//! configuration C_old,new in which every decision needs a majority of C_old *and* a majority of
//! C_new. The thesis (§4.1) observes that when a change adds or removes **one** voter, every
//! majority of the old configuration and every majority of the new one share at least one server
//! (with `n` voters before and `n ± 1` after, two majorities add up to more than the larger
//! configuration). So no moment exists at which two disjoint majorities could each elect a leader
//! or commit an entry on their own: the change needs no intermediate joint phase. Larger changes
//! are a sequence of single-server changes (grow 3→5 is two additions). It is simpler to build,
//! to test and to read beside the thesis, which is what this lab is for.
//!
//! The rules this core follows, each needed for the overlap argument:
//!
//! 1. A configuration travels as a log entry ([`EntryKind::Config`](super::EntryKind::Config),
//!    the whole new configuration encoded in `data`). A server uses the **latest configuration in
//!    its log, committed or not, as soon as it is appended** (thesis §4.1), and goes back to the
//!    previous one if that entry is truncated away.
//! 2. **At most one uncommitted configuration entry at a time**: the next change waits until the
//!    previous one commits, so configurations in the log always differ by at most one voter from
//!    the one before them (the simulator checks this after every step).
//! 3. **A leader appends a configuration entry only after it has committed an entry of its own
//!    term** (Ongaro's 2015 raft-dev correction to the thesis): without it, a leader elected under
//!    an older configuration could append a change whose overlap argument relies on a
//!    configuration that a competing, since-deposed leader had already replaced, and two leaders
//!    of different configurations could commit conflicting entries.
//! 4. Quorums — elections, PreVote, commitment, CheckQuorum, ReadIndex confirmations, the lease —
//!    count the **current voters only**. A leader that is no longer a voter (its removal is
//!    appended but not committed) replicates and commits without counting itself; once the
//!    removal commits, it **steps down** and, being no member, never campaigns again.
//!
//! # Learners
//!
//! A new server would otherwise join as a voter with an empty log: in a 3-server cluster growing
//! to 4 the majority becomes 3, and until the newcomer catches up the cluster may be unable to
//! commit (thesis §4.2.1). So a server joins as a **learner**: it receives AppendEntries and
//! InstallSnapshot like any follower, but its vote never counts, it never campaigns (it ignores its election
//! timer and refuses to stand) and is never counted: a candidate counts only the votes of its own
//! configuration's voters, and a leader only their matchIndexes and acknowledgements. (A learner
//! still *answers* RequestVote, as every server does whatever its configuration, thesis §4.1: its
//! answer counts only for a candidate whose newer log made it a voter — refusing would deadlock a
//! cluster whose promotion of a learner committed before the learner received it.) [`ConfChange::PromoteLearner`] makes it a
//! voter, and the leader refuses to promote a learner whose matchIndex is not close to its own
//! last index. Adding a voter directly ([`ConfChange::AddVoter`]) is refused in favour of
//! add-learner-then-promote.
//!
//! # Snapshots
//!
//! A snapshot replaces the log prefix, configuration entries included, so it carries the
//! configuration in force at its last index ([`Snapshot::conf`](super::Snapshot::conf)), and
//! InstallSnapshot brings it to the follower. A server restarted from storage recovers its
//! configuration from its snapshot and log; a server with neither starts from
//! [`Config::voters`](super::Config::voters) (empty for a server that joins later: it waits to
//! be contacted by a leader).

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes, BytesMut};

use super::ids::{Index, NodeId};

/// A cluster configuration: who votes, who only learns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Configuration {
    /// Voting members: they elect leaders and count toward every majority.
    pub voters: BTreeSet<NodeId>,
    /// Non-voting members: they receive the log and never vote nor count.
    pub learners: BTreeSet<NodeId>,
}

/// A configuration entry's data that does not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfDecodeError(pub String);

impl std::fmt::Display for ConfDecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "undecodable configuration: {}", self.0)
    }
}

impl std::error::Error for ConfDecodeError {}

/// The largest configuration this core accepts (a guard against garbage on the wire).
pub const MAX_MEMBERS: usize = 1024;

impl Configuration {
    /// A configuration of voters only.
    pub fn with_voters(voters: impl IntoIterator<Item = NodeId>) -> Self {
        Configuration {
            voters: voters.into_iter().collect(),
            learners: BTreeSet::new(),
        }
    }

    /// Whether `id` votes.
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.contains(&id)
    }

    /// Whether `id` is a learner.
    pub fn is_learner(&self, id: NodeId) -> bool {
        self.learners.contains(&id)
    }

    /// Whether `id` is a member (voter or learner).
    pub fn is_member(&self, id: NodeId) -> bool {
        self.is_voter(id) || self.is_learner(id)
    }

    /// The voters as a vector, in id order.
    pub fn voter_list(&self) -> Vec<NodeId> {
        self.voters.iter().copied().collect()
    }

    /// Every member, voters then learners, in id order within each.
    pub fn members(&self) -> Vec<NodeId> {
        self.voters
            .iter()
            .chain(self.learners.iter())
            .copied()
            .collect()
    }

    /// How many voters differ between `self` and `other` (symmetric difference), counting a
    /// learner promoted or a voter demoted as one.
    pub fn voter_distance(&self, other: &Configuration) -> usize {
        self.voters.symmetric_difference(&other.voters).count()
    }

    /// The binary form carried in a configuration entry's data and in InstallSnapshot:
    /// `u32` voter count, voter ids (`u64`), `u32` learner count, learner ids; little-endian.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(8 + 8 * (self.voters.len() + self.learners.len()));
        b.put_u32_le(self.voters.len() as u32);
        for v in &self.voters {
            b.put_u64_le(*v);
        }
        b.put_u32_le(self.learners.len() as u32);
        for l in &self.learners {
            b.put_u64_le(*l);
        }
        b.freeze()
    }

    /// Decodes [`Configuration::encode`]'s form, refusing anything else: truncated or trailing
    /// bytes, id 0, an id listed twice or both as voter and learner, too many members.
    pub fn decode(bytes: &[u8]) -> Result<Self, ConfDecodeError> {
        fn ids(bytes: &mut &[u8], what: &str) -> Result<BTreeSet<NodeId>, ConfDecodeError> {
            let Some((head, rest)) = bytes.split_first_chunk::<4>() else {
                return Err(ConfDecodeError(format!("no {what} count")));
            };
            let n = u32::from_le_bytes(*head) as usize;
            if n > MAX_MEMBERS || rest.len() < n * 8 {
                return Err(ConfDecodeError(format!("{n} {what} do not fit")));
            }
            let mut out = BTreeSet::new();
            let (list, rest) = rest.split_at(n * 8);
            for chunk in list.chunks_exact(8) {
                let mut id = [0u8; 8];
                id.copy_from_slice(chunk);
                let id = u64::from_le_bytes(id);
                if id == 0 {
                    return Err(ConfDecodeError(format!("{what} include node 0")));
                }
                if !out.insert(id) {
                    return Err(ConfDecodeError(format!("{what} list node {id} twice")));
                }
            }
            *bytes = rest;
            Ok(out)
        }
        let mut rest = bytes;
        let voters = ids(&mut rest, "voters")?;
        let learners = ids(&mut rest, "learners")?;
        if !rest.is_empty() {
            return Err(ConfDecodeError(format!("{} trailing bytes", rest.len())));
        }
        if let Some(both) = voters.intersection(&learners).next() {
            return Err(ConfDecodeError(format!(
                "node {both} is both voter and learner"
            )));
        }
        Ok(Configuration { voters, learners })
    }

    /// The configuration after `change`, if the change is well-formed against this one (the
    /// leader's other rules — its term's commit, one change at a time, a learner caught up — are
    /// checked by [`RaftNode::propose_config_change`](super::RaftNode::propose_config_change)).
    pub fn apply(&self, change: ConfChange) -> Result<Configuration, ConfChangeError> {
        let mut next = self.clone();
        match change {
            ConfChange::AddLearner(0)
            | ConfChange::AddVoter(0)
            | ConfChange::PromoteLearner(0)
            | ConfChange::RemoveServer(0) => return Err(ConfChangeError::ZeroId),
            ConfChange::AddVoter(id) => return Err(ConfChangeError::AddVoterUnsupported { id }),
            ConfChange::AddLearner(id) => {
                if self.is_member(id) {
                    return Err(ConfChangeError::AlreadyMember { id });
                }
                if self.voters.len() + self.learners.len() >= MAX_MEMBERS {
                    return Err(ConfChangeError::TooManyMembers);
                }
                next.learners.insert(id);
            }
            ConfChange::PromoteLearner(id) => {
                if !self.is_learner(id) {
                    return Err(ConfChangeError::NotALearner { id });
                }
                next.learners.remove(&id);
                next.voters.insert(id);
            }
            ConfChange::RemoveServer(id) => {
                if !self.is_member(id) {
                    return Err(ConfChangeError::NotAMember { id });
                }
                if self.voters.len() == 1 && self.is_voter(id) {
                    return Err(ConfChangeError::LastVoter { id });
                }
                next.voters.remove(&id);
                next.learners.remove(&id);
            }
        }
        Ok(next)
    }
}

impl std::fmt::Display for Configuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "voters {:?}", self.voters)?;
        if !self.learners.is_empty() {
            write!(f, " learners {:?}", self.learners)?;
        }
        Ok(())
    }
}

/// One single-server membership change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConfChange {
    /// Adds a learner: it receives the log, never votes nor counts.
    AddLearner(NodeId),
    /// Makes a learner a voter; refused unless its log is close to the leader's.
    PromoteLearner(NodeId),
    /// Removes a voter or a learner (the leader itself included: it steps down once the change
    /// commits).
    RemoveServer(NodeId),
    /// Adds a voter directly: always refused with [`ConfChangeError::AddVoterUnsupported`] —
    /// add a learner, let it catch up, then promote it.
    AddVoter(NodeId),
}

impl std::fmt::Display for ConfChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfChange::AddLearner(id) => write!(f, "add learner {id}"),
            ConfChange::PromoteLearner(id) => write!(f, "promote learner {id}"),
            ConfChange::RemoveServer(id) => write!(f, "remove server {id}"),
            ConfChange::AddVoter(id) => write!(f, "add voter {id}"),
        }
    }
}

/// A membership change the leader refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfChangeError {
    /// Only the leader changes the configuration; here is whom this server believes leads.
    NotLeader {
        /// The leader this server knows of, if any.
        leader_hint: Option<NodeId>,
    },
    /// A leadership transfer is under way.
    TransferInProgress {
        /// Its target.
        to: NodeId,
    },
    /// The leader has not yet committed an entry of its own term (raft-dev, 2015): retry once
    /// its no-op commits.
    NoCommitInTerm {
        /// The leader's term.
        term: u64,
        /// Its commit index.
        commit: Index,
    },
    /// A configuration entry is not committed yet: one change at a time.
    ChangePending {
        /// The uncommitted configuration entry's index.
        index: Index,
    },
    /// Node 0 is not a node.
    ZeroId,
    /// Adding voters directly is refused: add a learner, then promote it.
    AddVoterUnsupported {
        /// The requested server.
        id: NodeId,
    },
    /// The server is already a member.
    AlreadyMember {
        /// The server.
        id: NodeId,
    },
    /// Only learners can be promoted.
    NotALearner {
        /// The server.
        id: NodeId,
    },
    /// The server is not a member.
    NotAMember {
        /// The server.
        id: NodeId,
    },
    /// The learner's log is too far behind the leader's to become a voter yet.
    LearnerBehind {
        /// The learner.
        id: NodeId,
        /// Its matchIndex.
        matched: Index,
        /// The leader's last index.
        last_index: Index,
    },
    /// Removing the last voter would leave nobody to elect a leader.
    LastVoter {
        /// The server.
        id: NodeId,
    },
    /// The configuration is at its size limit.
    TooManyMembers,
}

impl std::fmt::Display for ConfChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfChangeError::NotLeader {
                leader_hint: Some(l),
            } => write!(f, "not the leader; try node {l}"),
            ConfChangeError::NotLeader { leader_hint: None } => {
                write!(f, "not the leader, and no leader is known")
            }
            ConfChangeError::TransferInProgress { to } => {
                write!(f, "leadership is being transferred to node {to}")
            }
            ConfChangeError::NoCommitInTerm { term, commit } => write!(
                f,
                "the leader has not committed an entry of its term {term} yet (commit {commit}); \
                 retry shortly"
            ),
            ConfChangeError::ChangePending { index } => write!(
                f,
                "configuration entry {index} is not committed yet: one change at a time"
            ),
            ConfChangeError::ZeroId => write!(f, "node ids start at 1; 0 is not a node"),
            ConfChangeError::AddVoterUnsupported { id } => write!(
                f,
                "voters are not added directly: add node {id} as a learner, let it catch up, \
                 then promote it"
            ),
            ConfChangeError::AlreadyMember { id } => write!(f, "node {id} is already a member"),
            ConfChangeError::NotALearner { id } => write!(f, "node {id} is not a learner"),
            ConfChangeError::NotAMember { id } => write!(f, "node {id} is not a member"),
            ConfChangeError::LearnerBehind {
                id,
                matched,
                last_index,
            } => write!(
                f,
                "learner {id} has matched up to {matched} of the leader's {last_index}: \
                 too far behind to vote; wait until it catches up"
            ),
            ConfChangeError::LastVoter { id } => {
                write!(f, "node {id} is the last voter and cannot be removed")
            }
            ConfChangeError::TooManyMembers => {
                write!(f, "the configuration has {MAX_MEMBERS} members already")
            }
        }
    }
}

impl std::error::Error for ConfChangeError {}

/// What a server believes the cluster's membership is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    /// The configuration in force (the latest in the log, committed or not).
    pub conf: Configuration,
    /// The index of the entry that set it (0: from the snapshot or the initial configuration).
    pub index: Index,
    /// Whether that entry is not yet committed.
    pub pending: bool,
}

/// The configurations a server's log defines: the one at the snapshot (or the initial one) and
/// one per configuration entry after it, in index order.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConfHistory {
    /// In force at the snapshot's index (or from the start).
    pub base: Configuration,
    /// Configuration entries after the snapshot, by index.
    pub entries: Vec<(Index, Configuration)>,
}

impl ConfHistory {
    /// The configuration in force: the latest.
    pub fn current(&self) -> &Configuration {
        self.entries.last().map_or(&self.base, |(_, c)| c)
    }

    /// The index of the latest configuration entry (0 when it is the base).
    pub fn current_index(&self) -> Index {
        self.entries.last().map_or(0, |(i, _)| *i)
    }

    /// The configuration in force at `index`.
    pub fn at(&self, index: Index) -> &Configuration {
        self.entries
            .iter()
            .rev()
            .find(|(i, _)| *i <= index)
            .map_or(&self.base, |(_, c)| c)
    }

    /// A configuration entry appended at `index` (above every one held).
    pub fn push(&mut self, index: Index, conf: Configuration) {
        if index > self.current_index() {
            self.entries.push((index, conf));
        }
    }

    /// The log was truncated from `index` on: its configurations go, the previous one returns.
    /// Returns whether the configuration in force changed.
    pub fn truncate(&mut self, index: Index) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(i, _)| *i < index);
        self.entries.len() != before
    }

    /// The log was compacted up to `index`: the configuration there becomes the base.
    pub fn compact(&mut self, index: Index) {
        self.base = self.at(index).clone();
        self.entries.retain(|(i, _)| *i > index);
    }

    /// Checks that each configuration differs from the one before it by at most one voter. An
    /// empty base (a server that joined later knows nothing before its first configuration) is
    /// not compared.
    pub fn validate(&self) -> Result<(), String> {
        let mut prev = &self.base;
        for (i, c) in &self.entries {
            if !prev.voters.is_empty() && prev.voter_distance(c) > 1 {
                return Err(format!(
                    "configuration at {i} ({c}) differs from the one before it ({prev}) by more \
                     than one voter"
                ));
            }
            prev = c;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_and_garbage_is_refused() {
        let c = Configuration {
            voters: [1, 2, 3].into_iter().collect(),
            learners: [9].into_iter().collect(),
        };
        assert_eq!(Configuration::decode(&c.encode()), Ok(c.clone()));
        let bytes = c.encode();
        for cut in 0..bytes.len() {
            assert!(
                Configuration::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut trailing = bytes.to_vec();
        trailing.push(0);
        assert!(Configuration::decode(&trailing).is_err());
        assert!(Configuration::decode(&[0xff, 0xff, 0xff, 0xff]).is_err());
        let both = Configuration {
            voters: [1].into_iter().collect(),
            learners: [1].into_iter().collect(),
        };
        assert!(Configuration::decode(&both.encode()).is_err());
        let zero = Configuration::with_voters([0]);
        assert!(Configuration::decode(&zero.encode()).is_err());
    }

    #[test]
    fn changes_are_single_server() {
        let c = Configuration::with_voters([1, 2, 3]);
        assert_eq!(
            c.apply(ConfChange::AddVoter(4)),
            Err(ConfChangeError::AddVoterUnsupported { id: 4 })
        );
        let l = c.apply(ConfChange::AddLearner(4)).expect("add learner");
        assert!(l.is_learner(4) && !l.is_voter(4));
        assert_eq!(c.voter_distance(&l), 0);
        let p = l.apply(ConfChange::PromoteLearner(4)).expect("promote");
        assert_eq!(l.voter_distance(&p), 1);
        assert_eq!(
            c.apply(ConfChange::PromoteLearner(2)),
            Err(ConfChangeError::NotALearner { id: 2 })
        );
        assert_eq!(
            c.apply(ConfChange::AddLearner(2)),
            Err(ConfChangeError::AlreadyMember { id: 2 })
        );
        let r = p.apply(ConfChange::RemoveServer(1)).expect("remove");
        assert_eq!(r.voter_list(), vec![2, 3, 4]);
        let one = Configuration::with_voters([1]);
        assert_eq!(
            one.apply(ConfChange::RemoveServer(1)),
            Err(ConfChangeError::LastVoter { id: 1 })
        );
    }

    #[test]
    fn history_reverts_on_truncation_and_compacts() {
        let mut h = ConfHistory {
            base: Configuration::with_voters([1, 2, 3]),
            entries: Vec::new(),
        };
        let a = h.base.apply(ConfChange::AddLearner(4)).expect("a");
        let b = a.apply(ConfChange::PromoteLearner(4)).expect("b");
        h.push(5, a.clone());
        h.push(9, b.clone());
        assert_eq!(h.current(), &b);
        assert_eq!(h.at(7), &a);
        assert!(h.truncate(9));
        assert_eq!(h.current(), &a);
        h.push(9, b.clone());
        h.compact(6);
        assert_eq!(h.base, a);
        assert_eq!(h.current(), &b);
        assert_eq!(h.validate(), Ok(()));
        h.push(12, Configuration::with_voters([7, 8]));
        assert!(h.validate().is_err());
    }
}
