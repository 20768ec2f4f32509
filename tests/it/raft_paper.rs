//! The Raft paper, rule by rule, against the consensus core.
//!
//! In the spirit of etcd-io/raft's `raft_paper_test.go`: each test is named after what it proves
//! and cites the section of "In Search of an Understandable Consensus Algorithm" (extended
//! version) it checks. Every test drives one or a few `RaftNode`s by hand: it builds messages,
//! steps them, and inspects `ready()`, `status()` and the trace events. Only the public API of
//! `raftlab::raft` is used.
//!
//! Stories that take several servers and several steps — Figure 7's repairs, Figure 8, split
//! votes, CheckQuorum, leader transfer, ReadIndex — are told in `tests/testdata/*.txt`, with
//! the core's own trace as the expected output (see `golden.rs`).

use raftlab::raft::*;

// ----------------------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------------------

const ET_MIN: u32 = 10;
const ET_MAX: u32 = 20;
const HEARTBEAT: u32 = 3;

/// Configuration of server `id` in the cluster `1..=n`: elections after 10 to 19 ticks, a
/// heartbeat every 3 ticks.
fn config(id: NodeId, n: u64, seed: u64) -> Config {
    let mut c = Config::new(id, (1..=n).collect());
    c.election_timeout_min = ET_MIN;
    c.election_timeout_max = ET_MAX;
    c.heartbeat_interval = HEARTBEAT;
    c.seed = seed;
    c
}

/// A brand new server `id` of the cluster `1..=n`.
fn new_node(id: NodeId, n: u64) -> RaftNode {
    RaftNode::new(config(id, n, 0), InitialState::default()).expect("valid config")
}

/// The entries whose terms are `terms`, from index 1.
fn log_of(terms: &[Term]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(i, &t)| Entry::normal(i as Index + 1, t, "x"))
        .collect()
}

/// A server recovered from storage with `config`, current term `term`, commit `commit` and a log
/// whose entry i+1 has term `terms[i]`.
fn restored_with(config: Config, term: Term, commit: Index, terms: &[Term]) -> RaftNode {
    let initial = InitialState {
        hard_state: HardState {
            term,
            voted_for: None,
            commit,
        },
        snapshot: None,
        entries: log_of(terms),
    };
    RaftNode::new(config, initial).expect("valid config")
}

/// Server `id` of `1..=n`, recovered with current term `term` and the log `terms`.
fn restored(id: NodeId, n: u64, term: Term, terms: &[Term]) -> RaftNode {
    restored_with(config(id, n, 0), term, 0, terms)
}

/// The terms of a node's log, index 1 first.
fn log_terms(node: &RaftNode) -> Vec<Term> {
    let log = node.log();
    log.range(log.first_index(), log.last_index())
        .iter()
        .map(|e| e.term)
        .collect()
}

/// One round of the runtime's work: take the Ready, "do" it, acknowledge it.
/// Also checks the core's own invariants.
fn handle(node: &mut RaftNode) -> Ready {
    let rd = node.ready();
    node.advance();
    if let Err(e) = node.validate() {
        panic!("node {} broke an invariant: {e}", node.id());
    }
    rd
}

/// Handles Readies until there is nothing left; returns every message they asked to send.
fn drain(node: &mut RaftNode) -> Vec<Message> {
    let mut msgs = Vec::new();
    while node.has_ready() {
        msgs.extend(handle(node).messages);
    }
    msgs
}

fn step(node: &mut RaftNode, msg: Message) {
    node.step(msg).expect("message accepted");
}

fn vote_req(from: NodeId, to: NodeId, term: Term, last_index: Index, last_term: Term) -> Message {
    Message {
        from,
        to,
        rpc: Rpc::RequestVote(RequestVoteArgs {
            term,
            candidate_id: from,
            last_log_index: last_index,
            last_log_term: last_term,
            leadership_transfer: false,
        }),
    }
}

fn vote_reply(from: NodeId, to: NodeId, term: Term, granted: bool) -> Message {
    Message {
        from,
        to,
        rpc: Rpc::RequestVoteReply(RequestVoteReply {
            term,
            vote_granted: granted,
        }),
    }
}

/// AppendEntries from leader `from`; `entries` are (index, term) pairs, with data "y".
fn append(
    from: NodeId,
    to: NodeId,
    term: Term,
    prev: (Index, Term),
    entries: &[(Index, Term)],
    commit: Index,
) -> Message {
    Message {
        from,
        to,
        rpc: Rpc::AppendEntries(AppendEntriesArgs {
            term,
            leader_id: from,
            prev_log_index: prev.0,
            prev_log_term: prev.1,
            entries: entries
                .iter()
                .map(|&(i, t)| Entry::normal(i, t, "y"))
                .collect(),
            leader_commit: commit,
            read_round: 0,
        }),
    }
}

fn append_ok(from: NodeId, to: NodeId, term: Term, prev: Index, matched: Index) -> Message {
    Message {
        from,
        to,
        rpc: Rpc::AppendEntriesReply(AppendEntriesReply {
            term,
            success: true,
            prev_log_index: prev,
            match_index: matched,
            conflict_term: 0,
            conflict_index: 0,
            read_round: 0,
        }),
    }
}

fn append_reject(
    from: NodeId,
    to: NodeId,
    term: Term,
    prev: Index,
    conflict_index: Index,
    conflict_term: Term,
) -> Message {
    Message {
        from,
        to,
        rpc: Rpc::AppendEntriesReply(AppendEntriesReply {
            term,
            success: false,
            prev_log_index: prev,
            match_index: 0,
            conflict_term,
            conflict_index,
            read_round: 0,
        }),
    }
}

fn append_reply_of(m: &Message) -> &AppendEntriesReply {
    match &m.rpc {
        Rpc::AppendEntriesReply(r) => r,
        other => panic!("expected AppendEntriesReply, got {other:?}"),
    }
}

/// Makes `node` campaign (its Ready drained) and grants it votes from the lowest other ids until
/// it leads. The Ready of the victory is left for the caller.
/// Starts an election at `node` as its timer would (`campaign`) and, PreVote being on by
/// default (thesis §9.6), grants it pre-votes from the lowest other ids until it is a candidate.
/// The Readies are drained: it is a candidate with its RequestVotes sent.
fn start_election(node: &mut RaftNode) {
    node.campaign();
    drain(node);
    let me = node.id();
    let asked = node.term() + 1;
    let peers: Vec<NodeId> = node.config().voters.clone();
    for peer in peers.into_iter().filter(|p| *p != me) {
        if !node.is_pre_candidate() {
            break;
        }
        step(node, pre_vote_reply(peer, me, asked, true));
    }
    drain(node);
    assert_eq!(
        (node.role(), node.term()),
        (Role::Candidate, asked),
        "the pre-votes make it a candidate"
    );
}

fn pre_vote_reply(from: NodeId, to: NodeId, term: Term, granted: bool) -> Message {
    Message {
        from,
        to,
        rpc: Rpc::PreVoteReply(RequestVoteReply {
            term,
            vote_granted: granted,
        }),
    }
}

fn campaign_and_win(node: &mut RaftNode) {
    start_election(node);
    let term = node.term();
    let me = node.id();
    let peers: Vec<NodeId> = node.config().voters.clone();
    for peer in peers.into_iter().filter(|p| *p != me) {
        if node.role() == Role::Leader {
            break;
        }
        step(node, vote_reply(peer, me, term, true));
    }
    assert_eq!(node.role(), Role::Leader, "the votes elect it");
}

/// Node 1 of `1..=n`, leader of term 1 with its no-op (index 1) persisted.
fn elected_leader(n: u64) -> RaftNode {
    let mut l = new_node(1, n);
    campaign_and_win(&mut l);
    drain(&mut l);
    assert_eq!(
        (l.term(), l.log().last_index(), l.log().persisted()),
        (1, 1, 1)
    );
    l
}

fn ticks(node: &mut RaftNode, n: u32) {
    for _ in 0..n {
        node.tick();
    }
}

fn progress_of(node: &RaftNode, id: NodeId) -> PeerProgress {
    node.status()
        .progress
        .into_iter()
        .find(|p| p.id == id)
        .expect("leader tracks the peer")
}

// ----------------------------------------------------------------------------------------------
// §5.1 Terms
// ----------------------------------------------------------------------------------------------

// §5.1: "If a candidate or leader discovers that its term is out of date, it immediately reverts
// to follower state." Here by a request: an AppendEntries of a newer leader.
#[test]
fn leader_steps_down_on_request_with_higher_term() {
    let mut l = elected_leader(3);
    step(&mut l, append(2, 1, 2, (0, 0), &[], 0));
    assert_eq!(l.role(), Role::Follower);
    assert_eq!(l.term(), 2);
    assert_eq!(l.leader_id(), Some(2));
    assert!(
        l.status().progress.is_empty(),
        "a follower tracks no progress"
    );
    let rd = handle(&mut l);
    assert_eq!(
        rd.hard_state,
        Some(HardState {
            term: 2,
            voted_for: None,
            commit: 0
        })
    );
    assert_eq!(
        rd.events,
        vec![
            TraceEvent::TermAdvanced {
                from_term: 1,
                to_term: 2,
                by: 2
            },
            TraceEvent::SteppedDown {
                was: Role::Leader,
                term: 2,
                reason: StepDownReason::HigherTerm { from: 2, term: 2 },
            },
            TraceEvent::LeaderChanged {
                leader: Some(2),
                term: 2
            },
        ]
    );
    assert_eq!(rd.messages, vec![append_ok(1, 2, 2, 0, 0)]);
}

// §5.1, by a request: a RequestVote of a higher term also deposes a leader, which then votes.
#[test]
fn leader_steps_down_on_vote_request_with_higher_term() {
    let mut l = elected_leader(3);
    step(&mut l, vote_req(3, 1, 2, 1, 1));
    assert_eq!(
        (l.role(), l.term(), l.leader_id()),
        (Role::Follower, 2, None)
    );
    let rd = handle(&mut l);
    assert!(rd.events.contains(&TraceEvent::SteppedDown {
        was: Role::Leader,
        term: 2,
        reason: StepDownReason::HigherTerm { from: 3, term: 2 },
    }));
    assert_eq!(rd.messages, vec![vote_reply(1, 3, 2, true)]);
    assert_eq!(
        rd.hard_state.map(|h| (h.term, h.voted_for)),
        Some((2, Some(3)))
    );
}

// §5.1, by a reply: "If RPC request *or response* contains term T > currentTerm: set currentTerm
// = T, convert to follower" (Figure 2).
#[test]
fn leader_steps_down_on_reply_with_higher_term() {
    let mut l = elected_leader(3);
    step(&mut l, append_reject(2, 1, 5, 0, 0, 0));
    assert_eq!(
        (l.role(), l.term(), l.leader_id()),
        (Role::Follower, 5, None)
    );
    let rd = handle(&mut l);
    assert_eq!(
        rd.events,
        vec![
            TraceEvent::TermAdvanced {
                from_term: 1,
                to_term: 5,
                by: 2
            },
            TraceEvent::SteppedDown {
                was: Role::Leader,
                term: 5,
                reason: StepDownReason::HigherTerm { from: 2, term: 5 },
            },
            TraceEvent::LeaderChanged {
                leader: None,
                term: 5
            },
        ]
    );
    assert!(rd.messages.is_empty(), "a reply is not answered");
    assert_eq!(
        rd.hard_state,
        Some(HardState {
            term: 5,
            voted_for: None,
            commit: 0
        })
    );
}

// §5.1: a candidate reverts to follower on a higher term, whether it comes in a reply (a refused
// vote) or in a request (an AppendEntries from a newer leader).
#[test]
fn candidate_steps_down_on_higher_term_in_reply_or_request() {
    let mut c = new_node(1, 3);
    start_election(&mut c);
    step(&mut c, vote_reply(2, 1, 3, false));
    assert_eq!((c.role(), c.term()), (Role::Follower, 3));
    assert_eq!(
        c.status().voted_for,
        None,
        "a new term starts without a vote"
    );
    let rd = handle(&mut c);
    assert_eq!(
        rd.events,
        vec![
            TraceEvent::TermAdvanced {
                from_term: 1,
                to_term: 3,
                by: 2
            },
            TraceEvent::SteppedDown {
                was: Role::Candidate,
                term: 3,
                reason: StepDownReason::HigherTerm { from: 2, term: 3 },
            },
        ]
    );

    let mut c = new_node(1, 3);
    start_election(&mut c);
    step(&mut c, append(3, 1, 2, (0, 0), &[], 0));
    assert_eq!(
        (c.role(), c.term(), c.leader_id()),
        (Role::Follower, 2, Some(3))
    );
    let rd = handle(&mut c);
    assert!(rd.events.contains(&TraceEvent::SteppedDown {
        was: Role::Candidate,
        term: 2,
        reason: StepDownReason::HigherTerm { from: 3, term: 2 },
    }));
    assert_eq!(rd.messages, vec![append_ok(1, 3, 2, 0, 0)]);
}

// §5.1: a follower also adopts the larger term; it has nothing to step down from.
#[test]
fn follower_adopts_higher_term() {
    let mut f = restored(1, 3, 2, &[1]);
    step(&mut f, append(2, 1, 5, (1, 1), &[], 0));
    assert_eq!(
        (f.role(), f.term(), f.leader_id()),
        (Role::Follower, 5, Some(2))
    );
    let rd = handle(&mut f);
    assert_eq!(
        rd.events,
        vec![
            TraceEvent::TermAdvanced {
                from_term: 2,
                to_term: 5,
                by: 2
            },
            TraceEvent::LeaderChanged {
                leader: Some(2),
                term: 5
            },
        ]
    );
    assert_eq!(rd.hard_state.map(|h| h.term), Some(5));
}

// §5.1: "If a server receives a request with a stale term number, it rejects the request." The
// reply carries our term so the sender learns it is behind (Figure 2: "Reply false if term <
// currentTerm").
#[test]
fn stale_term_requests_are_rejected_with_current_term() {
    let mut f = restored(1, 3, 3, &[1]);
    step(&mut f, vote_req(2, 1, 2, 5, 2));
    step(&mut f, append(3, 1, 2, (1, 1), &[(2, 2)], 2));
    assert_eq!(f.term(), 3);
    assert_eq!(f.status().voted_for, None);
    assert_eq!(f.leader_id(), None, "a deposed leader is not recognised");
    let rd = handle(&mut f);
    assert_eq!(rd.hard_state, None, "nothing persistent changed");
    assert!(rd.entries.is_empty());
    assert_eq!(
        rd.messages,
        vec![vote_reply(1, 2, 3, false), append_reject(1, 3, 3, 1, 0, 0)]
    );
    assert_eq!(
        rd.events,
        vec![
            TraceEvent::VoteRejected {
                to: 2,
                term: 3,
                reason: VoteRejectReason::StaleTerm { candidate_term: 2 },
            },
            TraceEvent::AppendRejected {
                to: 3,
                term: 3,
                reason: AppendRejectReason::StaleTerm { leader_term: 2 },
                conflict_index: 0,
                conflict_term: 0,
            },
        ]
    );
    assert_eq!(log_terms(&f), vec![1], "the stale entries were not stored");
    assert_eq!(f.log().committed(), 0);
}

// §5.1: replies of an older term are dropped: a stale vote does not count toward an election and
// a stale acknowledgement does not move a leader's progress.
#[test]
fn stale_replies_are_ignored() {
    // A candidate of term 5 hears a grant from term 4.
    let mut c = restored(1, 3, 4, &[]);
    start_election(&mut c);
    assert_eq!((c.role(), c.term()), (Role::Candidate, 5));
    step(&mut c, vote_reply(2, 1, 4, true));
    assert_eq!(
        c.role(),
        Role::Candidate,
        "a vote of term 4 is not a vote of term 5"
    );
    assert!(!c.has_ready(), "nothing happened");
    step(&mut c, vote_reply(2, 1, 5, true));
    assert_eq!(c.role(), Role::Leader);
    drain(&mut c);

    // The leader of term 5 hears an acknowledgement from term 4.
    let before = c.status();
    step(&mut c, append_ok(2, 1, 4, 0, 1));
    assert_eq!(c.status(), before);
    assert_eq!(
        progress_of(&c, 2),
        PeerProgress {
            id: 2,
            match_index: 0,
            next_index: 1,
            state: ProgressState::Probe,
            inflight: 1,
            snapshot_transfer: None
        }
    );
    assert!(!c.has_ready());
}

// ----------------------------------------------------------------------------------------------
// §5.2 Leader election
// ----------------------------------------------------------------------------------------------

// §5.2: "election timeouts are chosen randomly from a fixed interval". The timeout lies in
// [election_timeout_min, election_timeout_max), differs between seeds, and a follower that hears
// nothing for exactly that many ticks starts an election — with PreVote (on by default, thesis
// §9.6), by first asking for pre-votes for the next term, its own term unchanged.
#[test]
fn follower_election_timeout_is_randomized_within_range() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..16 {
        let mut f = RaftNode::new(config(1, 3, seed), InitialState::default()).expect("config");
        let timeout = f.status().election_timeout;
        assert!(
            (ET_MIN..ET_MAX).contains(&timeout),
            "seed {seed}: timeout {timeout} outside [{ET_MIN}, {ET_MAX})"
        );
        seen.insert(timeout);

        ticks(&mut f, timeout - 1);
        assert_eq!((f.role(), f.term()), (Role::Follower, 0), "seed {seed}");
        assert_eq!(f.status().election_elapsed, timeout - 1);
        f.tick();
        assert_eq!((f.role(), f.term()), (Role::Follower, 0), "seed {seed}");
        assert!(f.is_pre_candidate(), "seed {seed}");
        let rd = handle(&mut f);
        assert_eq!(
            rd.events,
            vec![
                TraceEvent::ElectionTimeout { term: 0, timeout },
                TraceEvent::BecamePreCandidate { term: 1 },
            ]
        );
        // The pre-candidate draws a fresh timeout, also within range.
        let again = f.status().election_timeout;
        assert!((ET_MIN..ET_MAX).contains(&again), "seed {seed}: {again}");
        assert_eq!(f.status().election_elapsed, 0);
    }
    assert!(
        seen.len() >= 3,
        "16 seeds drew only the timeouts {seen:?}: not randomized"
    );
}

// §5.2: "To begin an election, a follower increments its current term and transitions to
// candidate state. It then votes for itself and issues RequestVote RPCs in parallel to each of
// the other servers", carrying its last log index and term (§5.4.1). With PreVote (thesis §9.6)
// a round of PreVote comes first: the same question about the next term, with nothing persisted;
// a majority of yes (its own included) makes it a candidate.
#[test]
fn candidate_increments_term_votes_for_itself_and_requests_votes_from_all() {
    let mut f = restored(1, 5, 2, &[1, 2]);
    let timeout = f.status().election_timeout;
    ticks(&mut f, timeout);
    assert_eq!((f.role(), f.term()), (Role::Follower, 2));
    let rd = handle(&mut f);
    assert_eq!(rd.hard_state, None, "a PreVote changes no term and no vote");
    let pre_vote = |to| Message {
        from: 1,
        to,
        rpc: Rpc::PreVote(RequestVoteArgs {
            term: 3,
            candidate_id: 1,
            last_log_index: 2,
            last_log_term: 2,
            leadership_transfer: false,
        }),
    };
    assert_eq!(rd.messages, (2..=5).map(pre_vote).collect::<Vec<_>>());
    assert_eq!(
        rd.events,
        vec![
            TraceEvent::ElectionTimeout { term: 2, timeout },
            TraceEvent::BecamePreCandidate { term: 3 },
        ]
    );
    step(&mut f, pre_vote_reply(2, 1, 3, true));
    assert!(f.is_pre_candidate(), "2 of 5");
    step(&mut f, pre_vote_reply(3, 1, 3, true));
    assert_eq!(f.role(), Role::Candidate);
    let rd = handle(&mut f);
    assert_eq!(
        rd.hard_state,
        Some(HardState {
            term: 3,
            voted_for: Some(1),
            commit: 0
        }),
        "term and self-vote are persisted with the requests"
    );
    assert_eq!(
        rd.messages,
        (2..=5).map(|p| vote_req(1, p, 3, 2, 2)).collect::<Vec<_>>()
    );
    assert_eq!(
        rd.events,
        vec![
            TraceEvent::PreVoteReceived {
                from: 2,
                term: 3,
                granted: true,
                granted_total: 2,
                needed: 3
            },
            TraceEvent::PreVoteReceived {
                from: 3,
                term: 3,
                granted: true,
                granted_total: 3,
                needed: 3
            },
            TraceEvent::BecameCandidate { term: 3 },
        ]
    );
}

// §5.2: "A candidate wins an election if it receives votes from a majority of the servers in the
// full cluster for the same term." A duplicated grant counts once; a refusal counts for nothing.
#[test]
fn candidate_wins_with_majority_of_votes() {
    let mut c = new_node(1, 5);
    start_election(&mut c);
    step(&mut c, vote_reply(2, 1, 1, true));
    step(&mut c, vote_reply(2, 1, 1, true)); // duplicated by the network
    step(&mut c, vote_reply(3, 1, 1, false));
    assert_eq!(c.role(), Role::Candidate, "2 of 5 votes");
    step(&mut c, vote_reply(4, 1, 1, true));
    assert_eq!(c.role(), Role::Leader, "3 of 5 votes");
    assert_eq!(c.leader_id(), Some(1));
    let rd = handle(&mut c);
    assert_eq!(
        rd.events,
        vec![
            // The duplicate is not reported: it changed nothing.
            TraceEvent::VoteReceived {
                from: 2,
                term: 1,
                granted: true,
                granted_total: 2,
                needed: 3
            },
            TraceEvent::VoteReceived {
                from: 3,
                term: 1,
                granted: false,
                granted_total: 2,
                needed: 3
            },
            TraceEvent::VoteReceived {
                from: 4,
                term: 1,
                granted: true,
                granted_total: 3,
                needed: 3
            },
            TraceEvent::LeaderChanged {
                leader: Some(1),
                term: 1
            },
            TraceEvent::BecameLeader { term: 1 },
            TraceEvent::NoopAppended { index: 1, term: 1 },
        ]
    );
}

// §5.2: in a cluster of one, the server's own vote is a majority: its first timeout makes it
// leader, with no message to send, and its no-op commits once persisted.
#[test]
fn single_node_cluster_elects_itself() {
    let mut n = RaftNode::new(config(1, 1, 7), InitialState::default()).expect("config");
    let timeout = n.status().election_timeout;
    ticks(&mut n, timeout);
    assert_eq!(
        (n.role(), n.term(), n.leader_id()),
        (Role::Leader, 1, Some(1))
    );
    let rd = handle(&mut n);
    assert_eq!(
        rd.hard_state,
        Some(HardState {
            term: 1,
            voted_for: Some(1),
            commit: 0
        })
    );
    assert_eq!(rd.entries, vec![Entry::noop(1, 1)]);
    assert!(rd.messages.is_empty());
    assert_eq!(
        rd.events,
        vec![
            TraceEvent::ElectionTimeout { term: 0, timeout },
            // Its own pre-vote is a majority too.
            TraceEvent::BecamePreCandidate { term: 1 },
            TraceEvent::BecameCandidate { term: 1 },
            TraceEvent::LeaderChanged {
                leader: Some(1),
                term: 1
            },
            TraceEvent::BecameLeader { term: 1 },
            TraceEvent::NoopAppended { index: 1, term: 1 },
        ]
    );
    assert_eq!(n.log().committed(), 1, "its own durable copy is a majority");
    let rd = handle(&mut n);
    assert_eq!(rd.committed_entries, vec![Entry::noop(1, 1)]);
    assert_eq!(
        rd.events,
        vec![TraceEvent::CommitAdvanced { from: 0, to: 1 }]
    );
}

// §5.2: "If the leader's term (included in its RPC) is at least as large as the candidate's
// current term, then the candidate recognizes the leader as legitimate and returns to follower
// state."
#[test]
fn candidate_becomes_follower_on_append_entries_of_its_own_term() {
    let mut c = new_node(1, 3);
    start_election(&mut c);
    step(&mut c, append(2, 1, 1, (0, 0), &[], 0));
    assert_eq!(
        (c.role(), c.term(), c.leader_id()),
        (Role::Follower, 1, Some(2))
    );
    assert_eq!(c.status().voted_for, Some(1), "its vote of term 1 stands");
    let rd = handle(&mut c);
    assert_eq!(
        rd.events,
        vec![
            TraceEvent::SteppedDown {
                was: Role::Candidate,
                term: 1,
                reason: StepDownReason::LeaderDiscovered { leader: 2 },
            },
            TraceEvent::LeaderChanged {
                leader: Some(2),
                term: 1
            },
        ]
    );
    assert_eq!(rd.messages, vec![append_ok(1, 2, 1, 0, 0)]);
}

// §5.2: "Each server will vote for at most one candidate in a given term, on a first-come-first-
// served basis." A duplicated request from the same candidate gets the same answer, and the
// Ready carrying a granted vote persists votedFor with it (Figure 2: "updated on stable storage
// before responding to RPCs").
#[test]
fn follower_votes_at_most_once_per_term() {
    let mut f = new_node(1, 3);
    step(&mut f, vote_req(2, 1, 1, 0, 0));
    let rd = handle(&mut f);
    assert_eq!(rd.messages, vec![vote_reply(1, 2, 1, true)]);
    assert_eq!(
        rd.hard_state,
        Some(HardState {
            term: 1,
            voted_for: Some(2),
            commit: 0
        }),
        "the vote is persisted in the same Ready as the reply that grants it"
    );
    assert_eq!(
        rd.events,
        vec![
            TraceEvent::TermAdvanced {
                from_term: 0,
                to_term: 1,
                by: 2
            },
            TraceEvent::VoteGranted { to: 2, term: 1 },
        ]
    );

    step(&mut f, vote_req(3, 1, 1, 0, 0));
    let rd = handle(&mut f);
    assert_eq!(rd.messages, vec![vote_reply(1, 3, 1, false)]);
    assert_eq!(rd.hard_state, None);
    assert_eq!(
        rd.events,
        vec![TraceEvent::VoteRejected {
            to: 3,
            term: 1,
            reason: VoteRejectReason::AlreadyVoted { voted_for: 2 },
        }]
    );

    step(&mut f, vote_req(2, 1, 1, 0, 0));
    let rd = handle(&mut f);
    assert_eq!(rd.messages, vec![vote_reply(1, 2, 1, true)]);
    assert_eq!(rd.hard_state, None, "the vote is already durable");
    assert_eq!(rd.events, vec![TraceEvent::VoteGranted { to: 2, term: 1 }]);
    assert_eq!(f.status().voted_for, Some(2));
}

// §5.2 / Figure 2: granting a vote resets the election timer ("If election timeout elapses
// without ... granting vote to candidate: convert to candidate"); refusing one does not.
#[test]
fn granting_a_vote_resets_the_election_timer_refusing_does_not() {
    let mut f = new_node(1, 3);
    ticks(&mut f, 5);
    step(&mut f, vote_req(2, 1, 1, 0, 0));
    assert_eq!(f.status().election_elapsed, 0);
    ticks(&mut f, 5);
    step(&mut f, vote_req(3, 1, 1, 0, 0));
    assert_eq!(f.status().election_elapsed, 5, "a refusal is not a reset");
}

// ----------------------------------------------------------------------------------------------
// §5.4.1 Election restriction
// ----------------------------------------------------------------------------------------------

/// A voter whose log ends at index 3 with term 2, asked by node 2 in term 3 with its last entry
/// at (`last_index`, `last_term`). Returns whether it granted, and the reason if not.
fn restriction_vote(last_index: Index, last_term: Term) -> (bool, Option<VoteRejectReason>) {
    let mut v = restored(1, 3, 2, &[1, 2, 2]);
    step(&mut v, vote_req(2, 1, 3, last_index, last_term));
    assert_eq!(v.term(), 3, "the term is adopted whatever the answer");
    let rd = handle(&mut v);
    let granted = match rd.messages.as_slice() {
        [Message {
            rpc: Rpc::RequestVoteReply(r),
            ..
        }] => {
            assert_eq!(r.term, 3);
            r.vote_granted
        }
        other => panic!("expected one vote reply, got {other:?}"),
    };
    assert_eq!(
        v.status().voted_for,
        granted.then_some(2),
        "votedFor only on a grant"
    );
    let reason = rd.events.iter().find_map(|e| match e {
        TraceEvent::VoteRejected { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    (granted, reason)
}

// §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the
// candidate ... If the logs have last entries with different terms, then the log with the later
// term is more up-to-date."
#[test]
fn vote_refused_to_candidate_whose_last_term_is_older() {
    assert_eq!(
        restriction_vote(9, 1),
        (
            false,
            Some(VoteRejectReason::LogNotUpToDate {
                ours: (3, 2),
                theirs: (9, 1)
            })
        ),
        "a longer log with an older last term is less up-to-date"
    );
}

// §5.4.1: "If the logs end with the same term, then whichever log is longer is more up-to-date."
#[test]
fn vote_refused_to_candidate_with_same_last_term_but_shorter_log() {
    assert_eq!(
        restriction_vote(2, 2),
        (
            false,
            Some(VoteRejectReason::LogNotUpToDate {
                ours: (3, 2),
                theirs: (2, 2)
            })
        )
    );
}

// §5.4.1: a later last term wins even with a shorter log; equal or longer logs of the same last
// term are at least as up-to-date.
#[test]
fn vote_granted_to_candidate_at_least_as_up_to_date() {
    assert_eq!(
        restriction_vote(2, 3),
        (true, None),
        "later last term, shorter log"
    );
    assert_eq!(restriction_vote(3, 2), (true, None), "identical logs");
    assert_eq!(
        restriction_vote(4, 2),
        (true, None),
        "same last term, longer log"
    );
}

// ----------------------------------------------------------------------------------------------
// §5.2, §8 A new leader
// ----------------------------------------------------------------------------------------------

// §8: "each leader commit a blank no-op entry into the log at the start of its term", and §5.2:
// "it then sends heartbeat messages to all of the other servers to establish its authority".
#[test]
fn new_leader_appends_noop_and_sends_append_entries_to_all() {
    let mut c = restored(1, 3, 1, &[1, 1]);
    start_election(&mut c);
    step(&mut c, vote_reply(2, 1, 2, true));
    assert_eq!(c.role(), Role::Leader);
    let rd = handle(&mut c);
    assert_eq!(
        rd.hard_state, None,
        "term 2 and the self-vote were already durable"
    );
    assert_eq!(rd.entries, vec![Entry::noop(3, 2)]);
    let expected: Vec<Message> = [2, 3]
        .iter()
        .map(|&p| Message {
            from: 1,
            to: p,
            rpc: Rpc::AppendEntries(AppendEntriesArgs {
                term: 2,
                leader_id: 1,
                prev_log_index: 2,
                prev_log_term: 1,
                entries: vec![Entry::noop(3, 2)],
                leader_commit: 0,
                read_round: 0,
            }),
        })
        .collect();
    assert_eq!(rd.messages, expected);
    assert_eq!(log_terms(&c), vec![1, 1, 2]);
}

// §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all
// followers in order to maintain their authority": here every `heartbeat_interval` ticks.
#[test]
fn leader_sends_heartbeat_every_heartbeat_interval() {
    let mut l = elected_leader(3);
    step(&mut l, append_ok(2, 1, 1, 0, 1));
    step(&mut l, append_ok(3, 1, 1, 0, 1));
    drain(&mut l);
    assert_eq!(l.log().committed(), 1);

    let heartbeat = |to: NodeId| append(1, to, 1, (1, 1), &[], 1);
    for round in 0..3 {
        for t in 1..HEARTBEAT {
            l.tick();
            assert!(
                !l.has_ready(),
                "round {round}, tick {t}: nothing to send yet"
            );
        }
        l.tick();
        let rd = handle(&mut l);
        assert_eq!(
            rd.messages,
            vec![heartbeat(2), heartbeat(3)],
            "round {round}"
        );
        assert!(rd
            .messages
            .iter()
            .all(|m| m.kind() == MessageKind::Heartbeat));
    }
}

// ----------------------------------------------------------------------------------------------
// §5.3 Log replication, follower side
// ----------------------------------------------------------------------------------------------

// §5.3: "If the follower does not find an entry in its log with the same index and term, then it
// refuses the new entries." A log too short is hinted with conflict_term 0 and its last index + 1.
// The follower still recognises the leader and resets its election timer.
#[test]
fn follower_rejects_append_when_its_log_is_too_short() {
    let mut f = restored(1, 3, 2, &[1, 1]);
    ticks(&mut f, 4);
    step(&mut f, append(2, 1, 2, (4, 2), &[(5, 2)], 3));
    assert_eq!(f.leader_id(), Some(2));
    assert_eq!(f.status().election_elapsed, 0);
    let rd = handle(&mut f);
    assert_eq!(rd.messages, vec![append_reject(1, 2, 2, 4, 3, 0)]);
    assert!(rd.events.contains(&TraceEvent::AppendRejected {
        to: 2,
        term: 2,
        reason: AppendRejectReason::LogTooShort { last_index: 2 },
        conflict_index: 3,
        conflict_term: 0,
    }));
    assert!(rd.entries.is_empty());
    assert_eq!(log_terms(&f), vec![1, 1]);
    assert_eq!(f.log().committed(), 0);
}

// §5.3: on a term mismatch at prevLogIndex the follower refuses, and hints the term it has there
// and the first index it stores for that term, so the leader can skip the whole term.
#[test]
fn follower_rejects_append_on_term_mismatch_with_first_index_of_its_term() {
    let mut f = restored(1, 3, 3, &[1, 2, 2, 2]);
    step(&mut f, append(2, 1, 3, (4, 3), &[(5, 3)], 0));
    let rd = handle(&mut f);
    assert_eq!(rd.messages, vec![append_reject(1, 2, 3, 4, 2, 2)]);
    assert!(rd.events.contains(&TraceEvent::AppendRejected {
        to: 2,
        term: 3,
        reason: AppendRejectReason::TermMismatch {
            index: 4,
            ours: 2,
            theirs: 3
        },
        conflict_index: 2,
        conflict_term: 2,
    }));
    assert_eq!(log_terms(&f), vec![1, 2, 2, 2], "a refusal removes nothing");

    // The conflicting term may end before the follower's last entry.
    let mut f = restored(1, 3, 4, &[1, 1, 3, 3, 4]);
    step(&mut f, append(2, 1, 4, (4, 2), &[], 0));
    let rd = handle(&mut f);
    assert_eq!(rd.messages, vec![append_reject(1, 2, 4, 4, 3, 3)]);
}

// §5.3 / Figure 2, receiver rule 3: "If an existing entry conflicts with a new one (same index but
// different terms), delete the existing entry and all that follow it."
#[test]
fn follower_truncates_conflicting_suffix_and_appends() {
    let mut f = restored(1, 3, 2, &[1, 1, 2, 2, 2]);
    step(&mut f, append(2, 1, 3, (2, 1), &[(3, 3), (4, 3)], 0));
    assert_eq!(
        log_terms(&f),
        vec![1, 1, 3, 3],
        "entry 5 went with the conflict"
    );
    assert_eq!(
        f.log().persisted(),
        2,
        "the new entries are not durable yet"
    );
    let rd = handle(&mut f);
    assert_eq!(
        rd.entries,
        vec![Entry::normal(3, 3, "y"), Entry::normal(4, 3, "y")]
    );
    assert_eq!(rd.messages, vec![append_ok(1, 2, 3, 2, 4)]);
    assert!(rd.events.contains(&TraceEvent::LogTruncated {
        from_index: 3,
        leader: 2
    }));
    assert_eq!(f.log().persisted(), 4);
}

// §5.3 / Figure 2, receiver rules 3-4: only a *conflicting* entry causes truncation. A stale or
// duplicated AppendEntries whose entries the follower already holds must not cut off the entries
// that follow them.
#[test]
fn follower_does_not_truncate_on_stale_append_it_already_has() {
    let mut f = restored(1, 3, 1, &[1, 1, 1]);
    step(&mut f, append(2, 1, 1, (0, 0), &[(1, 1)], 0));
    step(&mut f, append(2, 1, 1, (1, 1), &[(2, 1)], 0));
    assert_eq!(log_terms(&f), vec![1, 1, 1]);
    let rd = handle(&mut f);
    assert!(rd.entries.is_empty(), "nothing new to persist");
    assert_eq!(
        rd.messages,
        vec![append_ok(1, 2, 1, 0, 1), append_ok(1, 2, 1, 1, 2)],
        "each acknowledges what it covered, no more"
    );
    assert!(!rd
        .events
        .iter()
        .any(|e| matches!(e, TraceEvent::LogTruncated { .. })));
}

// Figure 2, receiver rule 5: "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit,
// index of last new entry)". The follower never commits past what this request proved matches,
// and its commit index never decreases.
#[test]
fn follower_commit_is_min_of_leader_commit_and_last_new_entry() {
    let mut f = restored(1, 3, 1, &[1, 1, 1, 1, 1]);

    step(&mut f, append(2, 1, 1, (1, 1), &[(2, 1)], 5));
    assert_eq!(f.log().committed(), 2, "last new entry is 2, not 5");
    let rd = handle(&mut f);
    assert_eq!(
        rd.events.last(),
        Some(&TraceEvent::CommitAdvanced { from: 0, to: 2 })
    );
    assert_eq!(rd.hard_state.map(|h| h.commit), Some(2));
    assert_eq!(
        rd.committed_entries
            .iter()
            .map(|e| e.index)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );

    step(&mut f, append(2, 1, 1, (3, 1), &[], 5));
    assert_eq!(
        f.log().committed(),
        3,
        "a heartbeat anchored at 3 proves 1..=3"
    );

    step(&mut f, append(2, 1, 1, (3, 1), &[(4, 1), (5, 1)], 4));
    assert_eq!(
        f.log().committed(),
        4,
        "leaderCommit 4 is below the last new entry"
    );

    step(&mut f, append(2, 1, 1, (5, 1), &[], 1));
    assert_eq!(f.log().committed(), 4, "commit never goes back");
}

// ----------------------------------------------------------------------------------------------
// §5.3 Log replication, leader side
// ----------------------------------------------------------------------------------------------

// Figure 2 ("updated on stable storage before responding to RPCs"): a follower's
// acknowledgement of entries is a promise they are durable, so it comes in the same Ready as
// the entries (written before the messages are sent), never in an earlier one.
#[test]
fn reply_acknowledging_entries_comes_in_the_ready_that_persists_them() {
    let mut f = new_node(1, 3);
    step(&mut f, append(2, 1, 1, (0, 0), &[(1, 1), (2, 1)], 0));
    let rd = f.ready();
    assert_eq!(
        rd.entries,
        vec![Entry::normal(1, 1, "y"), Entry::normal(2, 1, "y")]
    );
    assert_eq!(rd.messages, vec![append_ok(1, 2, 1, 0, 2)]);
    assert_eq!(rd.hard_state.map(|h| h.term), Some(1));
    assert_eq!(f.log().persisted(), 0, "not durable before advance()");
    f.advance();
    assert_eq!(f.log().persisted(), 2);

    step(&mut f, append(2, 1, 1, (2, 1), &[(3, 1)], 2));
    let rd = handle(&mut f);
    assert_eq!(rd.entries, vec![Entry::normal(3, 1, "y")]);
    assert_eq!(rd.messages, vec![append_ok(1, 2, 1, 2, 3)]);
    assert_eq!(
        rd.committed_entries
            .iter()
            .map(|e| e.index)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(!f.has_ready());
}

// ----------------------------------------------------------------------------------------------
// §5.3, §5.4.2 Commitment
// ----------------------------------------------------------------------------------------------

// §5.3: "A log entry is committed once the leader that created the entry has replicated it on a
// majority of the servers." In a cluster of 5 that is the leader and 2 followers; 1 is not enough.
#[test]
fn leader_commits_once_a_majority_of_five_stores_the_entry() {
    let mut l = elected_leader(5);
    step(&mut l, append_ok(2, 1, 1, 0, 1));
    assert_eq!(l.log().committed(), 0, "leader + 1 of 5");
    assert!(!l.has_ready());
    step(&mut l, append_ok(3, 1, 1, 0, 1));
    assert_eq!(l.log().committed(), 1, "leader + 2 of 5");
    let rd = handle(&mut l);
    assert_eq!(rd.committed_entries, vec![Entry::noop(1, 1)]);
    assert_eq!(
        rd.events,
        vec![TraceEvent::CommitAdvanced { from: 0, to: 1 }]
    );
    assert_eq!(rd.hard_state.map(|h| h.commit), Some(1));

    // A proposal goes the same way.
    assert_eq!(l.propose("a"), Ok((2, 1)));
    drain(&mut l);
    step(&mut l, append_ok(4, 1, 1, 0, 2));
    assert_eq!(l.log().committed(), 1);
    step(&mut l, append_ok(5, 1, 1, 0, 2));
    assert_eq!(l.log().committed(), 2);
}

// §5.3 with Figure 2's persistence rule: the leader's own copy counts toward the majority only
// once it is durable, that is after the runtime persisted the Ready and called advance().
#[test]
fn leader_counts_its_own_entry_only_once_persisted() {
    let mut l = new_node(1, 5);
    campaign_and_win(&mut l); // the no-op is in memory, not yet persisted
    step(&mut l, append_ok(2, 1, 1, 0, 1));
    step(&mut l, append_ok(3, 1, 1, 0, 1));
    assert_eq!(
        l.log().committed(),
        0,
        "2 followers + an unpersisted leader copy"
    );
    let rd = l.ready();
    assert_eq!(rd.entries, vec![Entry::noop(1, 1)]);
    assert_eq!(l.log().committed(), 0, "handed out is not yet durable");
    l.advance();
    assert_eq!(l.log().committed(), 1);
    let rd = handle(&mut l);
    assert_eq!(rd.committed_entries, vec![Entry::noop(1, 1)]);
}

// §5.3: a majority of the *servers* suffices, the leader need not be among them; but an entry is
// handed to the state machine only once it is committed *and* durable locally (Ready's contract:
// "committed and durable"), on the leader as on a follower.
#[test]
fn committed_entries_are_applied_only_once_durable_locally() {
    let mut l = new_node(1, 5);
    campaign_and_win(&mut l); // the no-op is in memory, not yet persisted
    for p in 2..=4 {
        step(&mut l, append_ok(p, 1, 1, 0, 1));
    }
    assert_eq!(l.log().committed(), 1, "3 followers of 5 are a majority");
    let rd = l.ready();
    assert_eq!(rd.entries, vec![Entry::noop(1, 1)]);
    assert!(
        rd.committed_entries.is_empty(),
        "the leader's copy is not durable yet"
    );
    l.advance();
    let rd = handle(&mut l);
    assert_eq!(rd.committed_entries, vec![Entry::noop(1, 1)]);

    let mut f = new_node(2, 3);
    step(&mut f, append(1, 2, 1, (0, 0), &[(1, 1), (2, 1)], 2));
    assert_eq!(f.log().committed(), 2);
    let rd = handle(&mut f);
    assert_eq!(rd.entries.len(), 2);
    assert!(rd.committed_entries.is_empty(), "not durable yet");
    let rd = handle(&mut f);
    assert_eq!(
        rd.committed_entries
            .iter()
            .map(|e| e.index)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
}

// ----------------------------------------------------------------------------------------------
// The Ready / advance contract, proposals and step errors
// ----------------------------------------------------------------------------------------------

// Figure 2: "If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied] to state
// machine". Each committed entry is handed to the state machine exactly once, in index order.
#[test]
fn committed_entries_are_handed_out_once_in_order() {
    let mut l = RaftNode::new(config(1, 1, 0), InitialState::default()).expect("config");
    l.campaign();
    let mut applied = Vec::new();
    let mut take = |l: &mut RaftNode| {
        while l.has_ready() {
            let rd = handle(l);
            applied.extend(
                rd.committed_entries
                    .iter()
                    .map(|e| (e.index, e.data.to_vec())),
            );
        }
    };
    take(&mut l);
    assert_eq!(l.propose("a"), Ok((2, 1)));
    assert_eq!(l.propose("b"), Ok((3, 1)));
    let rd = l.ready();
    assert_eq!(rd.entries.len(), 2);
    assert!(rd.committed_entries.is_empty(), "not durable, not applied");
    l.advance();
    assert_eq!(l.propose("c"), Ok((4, 1)));
    take(&mut l);
    assert!(l.ready().is_empty(), "nothing is handed out twice");
    l.advance();
    assert_eq!(
        applied,
        vec![
            (1, Vec::new()),
            (2, b"a".to_vec()),
            (3, b"b".to_vec()),
            (4, b"c".to_vec()),
        ]
    );
    assert_eq!(l.log().applied(), 4);
}

// The Ready contract: once a Ready is handled and acknowledged, has_ready() stays false until an
// input changes something.
#[test]
fn has_ready_is_false_after_advance_when_nothing_happened() {
    let mut f = new_node(1, 3);
    assert!(!f.has_ready(), "a new server has nothing to do");
    f.tick();
    assert!(
        !f.has_ready(),
        "a tick short of the timeout changes nothing visible"
    );
    step(&mut f, append(2, 1, 1, (0, 0), &[], 0));
    assert!(f.has_ready());
    handle(&mut f);
    assert!(!f.has_ready());

    let mut l = elected_leader(3);
    assert!(!l.has_ready());
    l.tick();
    assert!(!l.has_ready(), "no heartbeat before the interval");
}

// §5.1/§8: "If a client contacts a follower, the follower rejects its request and supplies
// information about the most recent leader it has heard from."
#[test]
fn propose_on_follower_returns_not_leader_with_leader_hint() {
    let mut f = new_node(1, 3);
    assert_eq!(
        f.propose("a"),
        Err(ProposeError::NotLeader { leader_hint: None })
    );
    step(&mut f, append(2, 1, 1, (0, 0), &[], 0));
    assert_eq!(
        f.propose("a"),
        Err(ProposeError::NotLeader {
            leader_hint: Some(2)
        })
    );
    assert_eq!(f.log().last_index(), 0, "nothing appended");

    let mut c = new_node(1, 3);
    c.campaign();
    assert_eq!(
        c.propose("a"),
        Err(ProposeError::NotLeader { leader_hint: None }),
        "a candidate knows no leader"
    );
}

// A message addressed to another server, from node 0 or from the server itself is refused with a
// StepError and has no effect at all (not even its higher term). (A sender outside this server's
// configuration is heard: with membership changes it may be a leader added after this server
// fell behind.)
#[test]
fn step_refuses_misaddressed_or_foreign_messages_and_changes_nothing() {
    let mut f = restored(1, 3, 2, &[1, 2]);
    let before = f.status();
    assert_eq!(
        f.step(append(2, 3, 9, (0, 0), &[(1, 9)], 1)),
        Err(StepError::WrongRecipient { to: 3 })
    );
    assert_eq!(
        f.step(vote_req(1, 1, 9, 5, 5)),
        Err(StepError::UnknownSender { from: 1 })
    );
    assert_eq!(
        f.step(vote_req(0, 1, 9, 5, 5)),
        Err(StepError::UnknownSender { from: 0 })
    );
    assert_eq!(f.status(), before);
    assert!(!f.has_ready());
}

// Status shows a leader's nextIndex and matchIndex for every follower (Figure 2's volatile leader
// state), and nothing of the kind on a follower.
#[test]
fn status_reports_leader_progress_per_follower() {
    let mut l = elected_leader(3);
    step(&mut l, append_ok(2, 1, 1, 0, 1));
    drain(&mut l);
    assert_eq!(l.propose("a"), Ok((2, 1)));
    drain(&mut l);
    let st = l.status();
    assert_eq!(
        (st.role, st.term, st.leader_id, st.voted_for),
        (Role::Leader, 1, Some(1), Some(1))
    );
    assert_eq!((st.commit, st.last_log_index, st.last_log_term), (1, 2, 1));
    assert_eq!(
        st.progress,
        vec![
            PeerProgress {
                id: 2,
                match_index: 1,
                next_index: 3,
                state: ProgressState::Replicate,
                inflight: 1,
                snapshot_transfer: None
            },
            PeerProgress {
                id: 3,
                match_index: 0,
                next_index: 1,
                state: ProgressState::Probe,
                inflight: 1,
                snapshot_transfer: None
            },
        ]
    );

    let f = new_node(2, 3);
    assert!(f.status().progress.is_empty());
}

// ----------------------------------------------------------------------------------------------
// Thesis §9.6 PreVote
// ----------------------------------------------------------------------------------------------

fn pre_vote_req(
    from: NodeId,
    to: NodeId,
    term: Term,
    last_index: Index,
    last_term: Term,
) -> Message {
    Message {
        from,
        to,
        rpc: Rpc::PreVote(RequestVoteArgs {
            term,
            candidate_id: from,
            last_log_index: last_index,
            last_log_term: last_term,
            leadership_transfer: false,
        }),
    }
}

/// The one PreVoteReply in `rd`, and the reason of its refusal if it is one.
fn pre_vote_answer(rd: &Ready) -> (RequestVoteReply, Option<VoteRejectReason>) {
    let reply = match rd.messages.as_slice() {
        [Message {
            rpc: Rpc::PreVoteReply(r),
            ..
        }] => r.clone(),
        other => panic!("expected one PreVoteReply, got {other:?}"),
    };
    let reason = rd.events.iter().find_map(|e| match e {
        TraceEvent::PreVoteRejected { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    (reply, reason)
}

// §9.6: "a candidate would first ask other servers whether its log was up-to-date enough to get
// their vote" — and nobody changes anything on account of the question: the voter's term, vote
// and election timer stay as they were, and a yes carries the term asked about.
#[test]
fn pre_vote_changes_no_term_no_vote_and_no_timer() {
    let mut f = new_node(1, 3);
    ticks(&mut f, 4);
    step(&mut f, pre_vote_req(2, 1, 1, 0, 0));
    let rd = handle(&mut f);
    assert_eq!(
        pre_vote_answer(&rd),
        (
            RequestVoteReply {
                term: 1,
                vote_granted: true
            },
            None
        )
    );
    assert_eq!(rd.hard_state, None, "nothing to persist");
    assert_eq!(
        rd.events,
        vec![TraceEvent::PreVoteGranted { to: 2, term: 1 }]
    );
    let st = f.status();
    assert_eq!((st.term, st.voted_for, st.election_elapsed), (0, None, 4));
}

// §9.6: a pre-vote is refused when the asker's log is behind (§5.4.1), and when the voter heard
// from a leader less than a minimum election timeout ago ("the voters have not received
// heartbeats from a valid leader for at least a baseline election timeout"). A refusal carries
// the voter's term.
#[test]
fn pre_vote_refused_to_a_stale_log_and_while_a_leader_is_heard() {
    let mut f = restored(1, 3, 2, &[1, 2, 2]);
    step(&mut f, pre_vote_req(2, 1, 3, 2, 2));
    let (reply, reason) = pre_vote_answer(&handle(&mut f));
    assert!(!reply.vote_granted);
    assert_eq!(reply.term, 2);
    assert_eq!(
        reason,
        Some(VoteRejectReason::LogNotUpToDate {
            ours: (3, 2),
            theirs: (2, 2)
        })
    );

    step(&mut f, append(3, 1, 2, (3, 2), &[], 0));
    drain(&mut f);
    ticks(&mut f, 2);
    step(&mut f, pre_vote_req(2, 1, 3, 3, 2));
    let (reply, reason) = pre_vote_answer(&handle(&mut f));
    assert!(!reply.vote_granted);
    assert_eq!(
        reason,
        Some(VoteRejectReason::HeardFromLeader {
            leader: 3,
            ticks_ago: 2
        })
    );
    // A minimum election timeout after the leader's last word, the same question gets a yes.
    ticks(&mut f, ET_MIN - 2);
    step(&mut f, pre_vote_req(2, 1, 3, 3, 2));
    let (reply, _) = pre_vote_answer(&handle(&mut f));
    assert!(reply.vote_granted);
    assert_eq!(f.term(), 2, "still no change of term");
}

// §9.6: a pre-candidate that a majority refuses goes back to being a follower in the same term
// (its timer will fire again); one that hears from a leader of its term follows it.
#[test]
fn pre_candidate_gives_up_on_refusal_or_on_hearing_a_leader() {
    let mut c = restored(1, 3, 4, &[1]);
    c.campaign();
    drain(&mut c);
    assert!(c.is_pre_candidate());
    assert_eq!(
        (c.role(), c.term(), c.status().voted_for),
        (Role::Follower, 4, None)
    );
    step(&mut c, pre_vote_reply(2, 1, 4, false));
    assert!(c.is_pre_candidate(), "one refusal of three");
    step(&mut c, pre_vote_reply(3, 1, 4, false));
    assert!(!c.is_pre_candidate());
    let rd = handle(&mut c);
    assert!(rd.events.contains(&TraceEvent::PreVoteLost { term: 5 }));
    assert_eq!((c.role(), c.term()), (Role::Follower, 4));

    c.campaign();
    drain(&mut c);
    step(&mut c, append(2, 1, 4, (1, 1), &[], 1));
    assert!(!c.is_pre_candidate());
    assert_eq!(c.leader_id(), Some(2));
    // A refusal from a voter in a later term moves the pre-candidate to that term.
    c.campaign();
    drain(&mut c);
    step(&mut c, pre_vote_reply(3, 1, 6, false));
    assert_eq!(
        (c.role(), c.term(), c.is_pre_candidate()),
        (Role::Follower, 6, false)
    );
}

// §9.6: yes-answers count only for the round asked: a yes for another term is ignored.
#[test]
fn pre_vote_yes_for_another_term_does_not_count() {
    let mut c = restored(1, 3, 4, &[1]);
    c.campaign();
    drain(&mut c);
    step(&mut c, pre_vote_reply(2, 1, 7, true));
    step(&mut c, pre_vote_reply(2, 1, 4, true));
    assert!(
        c.is_pre_candidate(),
        "neither answers the question about term 5"
    );
    assert_eq!(c.term(), 4);
    step(&mut c, pre_vote_reply(2, 1, 5, true));
    assert_eq!((c.role(), c.term()), (Role::Candidate, 5));
}

// ----------------------------------------------------------------------------------------------
// Thesis §6.2 CheckQuorum, §4.2.3 the leader lease
// ----------------------------------------------------------------------------------------------

// §4.2.3: "if a server receives a RequestVote request within the minimum election timeout of
// hearing from a current leader, it does not update its term or grant its vote." With CheckQuorum
// on (the default) the request is ignored: no reply, no change. A candidate that campaigns on its
// leader's TimeoutNow (§3.10) is exempt; and once the lease has run out, votes are granted again.
#[test]
fn follower_within_the_leader_lease_ignores_request_vote() {
    let mut f = restored(1, 3, 2, &[1]);
    step(&mut f, append(2, 1, 2, (1, 1), &[], 1));
    drain(&mut f);
    ticks(&mut f, 3);
    step(&mut f, vote_req(3, 1, 3, 1, 1));
    let rd = handle(&mut f);
    assert!(rd.messages.is_empty(), "ignored, not answered");
    assert_eq!(rd.hard_state, None);
    assert_eq!(
        rd.events,
        vec![TraceEvent::VoteIgnored {
            from: 3,
            candidate_term: 3,
            leader: 2,
            ticks_ago: 3
        }]
    );
    assert_eq!((f.term(), f.leader_id()), (2, Some(2)));

    let mut forced = vote_req(3, 1, 3, 1, 1);
    if let Rpc::RequestVote(a) = &mut forced.rpc {
        a.leadership_transfer = true;
    }
    let mut g = f_clone_via_restore();
    step(&mut g, forced);
    assert_eq!(drain(&mut g), vec![vote_reply(1, 3, 3, true)]);

    ticks(&mut f, ET_MIN - 3);
    step(&mut f, vote_req(3, 1, 3, 1, 1));
    assert_eq!(drain(&mut f), vec![vote_reply(1, 3, 3, true)]);
    assert_eq!(f.term(), 3);

    // With CheckQuorum off there is no lease.
    let mut cfg = config(1, 3, 0);
    cfg.check_quorum = false;
    let mut h = restored_with(cfg, 2, 0, &[1]);
    step(&mut h, append(2, 1, 2, (1, 1), &[], 1));
    drain(&mut h);
    step(&mut h, vote_req(3, 1, 3, 1, 1));
    assert_eq!(drain(&mut h), vec![vote_reply(1, 3, 3, true)]);
}

/// A follower of leader 2 in term 2 that just heard from it.
fn f_clone_via_restore() -> RaftNode {
    let mut f = restored(1, 3, 2, &[1]);
    step(&mut f, append(2, 1, 2, (1, 1), &[], 1));
    drain(&mut f);
    f
}

// ----------------------------------------------------------------------------------------------
// Thesis §3.10 Leadership transfer
// ----------------------------------------------------------------------------------------------

fn timeout_now(from: NodeId, to: NodeId, term: Term) -> Message {
    Message {
        from,
        to,
        rpc: Rpc::TimeoutNow(TimeoutNowArgs {
            term,
            leader_id: from,
        }),
    }
}

// §3.10: on TimeoutNow the target "starts a new election" at once — no PreVote round — and its
// RequestVotes say they come from a transfer, so that voters bypass their leader lease.
#[test]
fn timeout_now_makes_the_target_campaign_at_once() {
    let mut f = restored(2, 3, 1, &[1]);
    step(&mut f, append(1, 2, 1, (1, 1), &[], 1));
    drain(&mut f);
    step(&mut f, timeout_now(1, 2, 1));
    assert_eq!((f.role(), f.term()), (Role::Candidate, 2));
    let rd = handle(&mut f);
    assert_eq!(
        rd.events,
        vec![
            TraceEvent::TimeoutNowReceived { from: 1 },
            TraceEvent::LeaderChanged {
                leader: None,
                term: 2
            },
            TraceEvent::BecameCandidate { term: 2 },
        ]
    );
    for m in &rd.messages {
        match &m.rpc {
            Rpc::RequestVote(a) => assert!(a.leadership_transfer && a.term == 2),
            other => panic!("expected RequestVote, got {other:?}"),
        }
    }
    // A stale TimeoutNow (a duplicate, of term 1) changes nothing now.
    step(&mut f, timeout_now(1, 2, 1));
    assert_eq!(f.term(), 2);
}

// ----------------------------------------------------------------------------------------------
// Thesis §6.4 ReadIndex and lease reads
// ----------------------------------------------------------------------------------------------

fn append_ok_round(from: NodeId, to: NodeId, term: Term, matched: Index, round: u64) -> Message {
    let mut m = append_ok(from, to, term, matched, matched);
    if let Rpc::AppendEntriesReply(r) = &mut m.rpc {
        r.read_round = round;
    }
    m
}

// §6.4: a follower echoes the leader's round in its reply, whether it accepts the entries or not:
// either way it recognised the leader of this term.
#[test]
fn follower_echoes_the_read_round() {
    let mut f = restored(2, 3, 1, &[1]);
    let mut hb = append(1, 2, 1, (5, 1), &[], 0);
    if let Rpc::AppendEntries(a) = &mut hb.rpc {
        a.read_round = 9;
    }
    step(&mut f, hb);
    let msgs = drain(&mut f);
    let r = append_reply_of(&msgs[0]);
    assert!(!r.success, "log too short");
    assert_eq!(r.read_round, 9);
}

// §6.4.1: with lease reads, a leader whose heartbeats a majority acknowledged within the lease
// (a minimum election timeout minus the margin) answers at once; after the lease it falls back
// to a round of heartbeats.
#[test]
fn lease_read_is_answered_at_once_while_the_lease_holds() {
    let mut cfg = config(1, 3, 0);
    cfg.read_mode = ReadMode::Lease;
    let lease = ET_MIN - cfg.lease_margin;
    let mut l = RaftNode::new(cfg, InitialState::default()).expect("config");
    campaign_and_win(&mut l);
    drain(&mut l);
    step(&mut l, append_ok(2, 1, 1, 0, 1));
    drain(&mut l);
    // A heartbeat opens round 1; node 2 echoes it.
    ticks(&mut l, HEARTBEAT);
    let round = drain(&mut l)
        .iter()
        .find_map(|m| match &m.rpc {
            Rpc::AppendEntries(a) => Some(a.read_round),
            _ => None,
        })
        .expect("a heartbeat");
    assert_eq!(round, 1);
    step(&mut l, append_ok_round(2, 1, 1, 1, round));
    drain(&mut l);
    l.read_index(1).expect("taken");
    let rd = handle(&mut l);
    assert_eq!(rd.read_states, vec![ReadState { ctx: 1, index: 1 }]);
    assert!(rd.messages.is_empty(), "no round needed");
    assert!(rd.events.contains(&TraceEvent::ReadIndexConfirmed {
        ctx: 1,
        index: 1,
        lease: true
    }));
    // The lease runs from the start of round 1 (HEARTBEAT ticks in): past it, a round again.
    ticks(&mut l, lease);
    drain(&mut l);
    l.read_index(2).expect("taken");
    let rd = handle(&mut l);
    assert!(rd.read_states.is_empty());
    assert!(rd
        .events
        .iter()
        .any(|e| matches!(e, TraceEvent::ReadIndexStarted { ctx: 2, .. })));
}

// ----------------------------------------------------------------------------------------------
// Unsafe rules (for the lab): each one, switched on, does exactly the wrong thing
// ----------------------------------------------------------------------------------------------

// UNSAFE `forget_vote`: the vote is granted but never handed to storage, so a restart forgets it.
#[test]
fn unsafe_forget_vote_never_persists_the_vote() {
    let mut cfg = config(1, 3, 0);
    cfg.unsafe_rules.forget_vote = true;
    let mut f = RaftNode::new(cfg, InitialState::default()).expect("config");
    step(&mut f, vote_req(2, 1, 1, 0, 0));
    let rd = handle(&mut f);
    assert_eq!(rd.messages, vec![vote_reply(1, 2, 1, true)]);
    assert_eq!(rd.hard_state.map(|h| h.voted_for), Some(None));
    assert_eq!(f.status().voted_for, Some(2), "remembered only in memory");
}

// UNSAFE `vote_without_log_check`: the vote goes to a candidate whose log is behind (§5.4.1).
#[test]
fn unsafe_vote_without_log_check_votes_for_a_stale_log() {
    let mut cfg = config(1, 3, 0);
    cfg.unsafe_rules.vote_without_log_check = true;
    let mut v = restored_with(cfg, 2, 0, &[1, 2, 2]);
    step(&mut v, vote_req(2, 1, 3, 1, 1));
    assert_eq!(drain(&mut v), vec![vote_reply(1, 2, 3, true)]);
}

// UNSAFE `commit_by_counting`: an entry of an earlier term on a majority is committed at once
// (the Figure 8 bug, §5.4.2), before any entry of the leader's own term.
#[test]
fn unsafe_commit_by_counting_commits_an_old_term_entry() {
    let mut cfg = config(1, 3, 0);
    cfg.unsafe_rules.commit_by_counting = true;
    cfg.max_entries_per_append = 1;
    let mut l = restored_with(cfg, 3, 1, &[1, 2]);
    campaign_and_win(&mut l);
    drain(&mut l);
    assert_eq!(log_terms(&l), vec![1, 2, 4]);
    step(&mut l, append_ok(2, 1, 4, 1, 2));
    drain(&mut l);
    assert_eq!(
        l.log().committed(),
        2,
        "entry 2, of term 2, committed by counting"
    );
}

/// §7: a runtime that writes a snapshot out on another thread learns first what `compact` will
/// record (the term of the last included entry, the configuration), and compacts when the write
/// is done; asking changes nothing.
#[test]
fn snapshot_at_describes_a_compaction_without_doing_it() {
    let mut node = restored_with(config(1, 3, 0), 2, 3, &[1, 1, 2, 2]);
    drain(&mut node);
    assert_eq!(node.log().applied(), 3, "the committed prefix is applied");
    assert_eq!(
        node.snapshot_at(4, "state"),
        Err(CompactError::NotApplied {
            index: 4,
            applied: 3
        }),
        "an entry not yet applied cannot be snapshotted"
    );
    let ahead = node.snapshot_at(3, "state").expect("applied");
    assert_eq!(ahead.meta, SnapshotMeta { index: 3, term: 2 });
    assert_eq!(
        ahead.conf, None,
        "the initial configuration is not recorded"
    );
    assert_eq!(node.log().snapshot_index(), 0, "asking compacts nothing");
    assert_eq!(log_terms(&node), [1, 1, 2, 2]);
    let done = node.compact(3, "state").expect("applied, not compacted");
    assert_eq!(done, ahead, "compact records what snapshot_at described");
    assert_eq!(
        node.snapshot_at(3, "state"),
        Err(CompactError::AlreadyCompacted { snapshot_index: 3 })
    );
}
