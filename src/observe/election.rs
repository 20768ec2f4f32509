//! The event feed's sticky line: the last election told in one sentence, built from the trace
//! events the cores put on the bus, so the "why" of who leads stays on screen after the feed
//! has scrolled it away.
//!
//! ```text
//!   Event (ElectionTimeout, BecamePreCandidate, PreVoteReceived, BecameCandidate,
//!          VoteReceived, VoteRejected, PreVoteLost, BecameLeader, ...)
//!     └─► ElectionStory::apply ─► the round under way: one attempt per campaign
//!            └─ a leader wins, or the last pre-vote is refused ─► told: one sentence
//!   ElectionStory::line(voters) ─► "term 3: node 2 is asking for votes (1 of 3 so far)"
//!                                  or the last round told
//! ```
//!
//! A round starts with the first election timeout (or TimeoutNow, or a campaign started by
//! hand) while none is under way, and ends when a node becomes leader or when every campaign
//! in it was refused its pre-votes. Its sentence stays until the next round ends:
//! "node 5 timed out first (26 ticks), asked for pre-votes, won term 1 with votes of 2, 4 and 5".

use crate::node::{Event, EventKind};
use crate::raft::{NodeId, Role, Term, TraceEvent, VoteRejectReason};

/// How far one campaign got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Asking for pre-votes (thesis §9.6).
    PreVoting,
    /// Asking for votes (§5.2).
    Voting,
    /// Became leader.
    Won,
    /// A majority refused its pre-vote: it stays a follower.
    PreVoteLost,
    /// Gave up: it started another campaign, or stepped down.
    Abandoned,
}

/// One node's campaign for one term.
#[derive(Clone, Debug)]
struct Attempt {
    node: NodeId,
    /// The term it campaigns for (for a pre-vote: the term it would campaign in).
    term: Term,
    /// It asked for pre-votes first.
    pre_vote: bool,
    /// It went to the real votes (a pre-vote won, or none asked).
    reached_votes: bool,
    stage: Stage,
    /// Who said yes in the current stage (pre-votes, then votes), itself included.
    granted: Vec<NodeId>,
    /// Who said no in the current stage.
    refused: Vec<NodeId>,
    /// Yeses needed, once a reply said.
    needed: Option<usize>,
    /// Why voters said no, as they said it.
    reasons: Vec<(NodeId, String)>,
}

impl Attempt {
    fn new(node: NodeId, term: Term, pre_vote: bool) -> Attempt {
        Attempt {
            node,
            term,
            pre_vote,
            reached_votes: !pre_vote,
            stage: if pre_vote {
                Stage::PreVoting
            } else {
                Stage::Voting
            },
            granted: vec![node],
            refused: Vec::new(),
            needed: None,
            reasons: Vec::new(),
        }
    }

    fn live(&self) -> bool {
        matches!(self.stage, Stage::PreVoting | Stage::Voting)
    }

    fn answer(&mut self, from: NodeId, granted: bool, needed: usize) {
        let list = if granted {
            &mut self.granted
        } else {
            &mut self.refused
        };
        if !list.contains(&from) {
            list.push(from);
        }
        self.needed = Some(needed);
    }

    fn reason(&mut self, voter: NodeId, why: String) {
        if !self.reasons.iter().any(|(v, _)| *v == voter) {
            self.reasons.push((voter, why));
        }
        if !self.refused.contains(&voter) {
            self.refused.push(voter);
        }
    }
}

/// How a round began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// A node's election timer fired after this many ticks.
    Timeout { node: NodeId, ticks: u32 },
    /// A leader handed over with TimeoutNow (thesis §3.10).
    TimeoutNow { node: NodeId, leader: NodeId },
    /// A node campaigned without a timeout seen (told to time out now).
    Campaign { node: NodeId },
}

impl Start {
    fn node(self) -> NodeId {
        match self {
            Start::Timeout { node, .. }
            | Start::TimeoutNow { node, .. }
            | Start::Campaign { node } => node,
        }
    }
}

/// An election under way: from the first timeout to a leader (or to the last refusal).
#[derive(Clone, Debug)]
struct Round {
    start: Start,
    attempts: Vec<Attempt>,
}

impl Round {
    /// The newest attempt of `node` for `term` in `stage`.
    fn attempt(&mut self, node: NodeId, term: Term, stage: Stage) -> Option<&mut Attempt> {
        self.attempts
            .iter_mut()
            .rev()
            .find(|a| a.node == node && a.term == term && a.stage == stage)
    }

    /// The newest live attempt of `node`, whatever its term.
    fn live(&mut self, node: NodeId) -> Option<&mut Attempt> {
        self.attempts
            .iter_mut()
            .rev()
            .find(|a| a.node == node && a.live())
    }

    /// `node` starts over: its live attempt is given up.
    fn abandon(&mut self, node: NodeId) {
        if let Some(a) = self.live(node) {
            a.stage = Stage::Abandoned;
        }
    }
}

/// The sticky line's model: the election under way and the last one told. Feed it every bus
/// event with [`ElectionStory::apply`]; read it with [`ElectionStory::line`].
#[derive(Clone, Debug, Default)]
pub struct ElectionStory {
    round: Option<Round>,
    told: Option<String>,
}

/// What the sticky line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoryLine {
    /// An election is under way: who asks, how many said yes so far.
    UnderWay(String),
    /// The last election, told in one sentence.
    Told(String),
}

impl ElectionStory {
    /// Takes one bus event (only the cores' election events count).
    pub fn apply(&mut self, event: &Event) {
        if let EventKind::Trace(t) = &event.kind {
            self.apply_trace(event.node, t);
        }
    }

    /// Takes one trace event of `node`'s core.
    pub fn apply_trace(&mut self, node: NodeId, t: &TraceEvent) {
        match t {
            TraceEvent::ElectionTimeout { timeout, .. } => {
                self.round.get_or_insert_with(|| Round {
                    start: Start::Timeout {
                        node,
                        ticks: *timeout,
                    },
                    attempts: Vec::new(),
                });
            }
            TraceEvent::TimeoutNowReceived { from } => {
                self.round.get_or_insert_with(|| Round {
                    start: Start::TimeoutNow {
                        node,
                        leader: *from,
                    },
                    attempts: Vec::new(),
                });
            }
            TraceEvent::BecamePreCandidate { term } => {
                let round = self.round_for(node);
                round.abandon(node);
                round.attempts.push(Attempt::new(node, *term, true));
            }
            TraceEvent::BecameCandidate { term } => {
                let round = self.round_for(node);
                match round.attempt(node, *term, Stage::PreVoting) {
                    // The pre-vote was won: the same campaign goes on to the real votes.
                    Some(a) => {
                        a.stage = Stage::Voting;
                        a.reached_votes = true;
                        a.granted = vec![node];
                        a.refused.clear();
                        a.needed = None;
                        a.reasons.clear();
                    }
                    None => {
                        round.abandon(node);
                        round.attempts.push(Attempt::new(node, *term, false));
                    }
                }
            }
            TraceEvent::PreVoteReceived {
                from,
                term,
                granted,
                needed,
                ..
            } => {
                if let Some(a) = self.attempt(node, *term, Stage::PreVoting) {
                    a.answer(*from, *granted, *needed);
                }
            }
            TraceEvent::VoteReceived {
                from,
                term,
                granted,
                needed,
                ..
            } => {
                if let Some(a) = self.attempt(node, *term, Stage::Voting) {
                    a.answer(*from, *granted, *needed);
                }
            }
            // The voters' side says why they said no.
            TraceEvent::PreVoteRejected { to, reason, .. } => {
                if let Some(a) = self.live(*to, Stage::PreVoting) {
                    a.reason(node, why(reason));
                }
            }
            TraceEvent::VoteRejected { to, reason, .. } => {
                if let Some(a) = self.live(*to, Stage::Voting) {
                    a.reason(node, why(reason));
                }
            }
            TraceEvent::VoteIgnored { from, leader, .. } => {
                if let Some(a) = self.live(*from, Stage::Voting) {
                    a.reason(node, format!("they hear from leader {leader}"));
                }
            }
            TraceEvent::PreVoteLost { term } => {
                if let Some(a) = self.attempt(node, *term, Stage::PreVoting) {
                    a.stage = Stage::PreVoteLost;
                }
                let over = self
                    .round
                    .as_ref()
                    .is_some_and(|r| !r.attempts.iter().any(Attempt::live));
                if over {
                    self.finish();
                }
            }
            TraceEvent::SteppedDown { was, .. } if *was == Role::Candidate => {
                if let Some(r) = &mut self.round {
                    r.abandon(node);
                }
            }
            // A campaigner that hears from a leader gives up; a round left with nobody asking
            // and no winner (a cut-off node back in touch) is forgotten.
            TraceEvent::LeaderChanged {
                leader: Some(leader),
                ..
            } if *leader != node => {
                if let Some(r) = &mut self.round {
                    if r.live(node).is_some() {
                        r.abandon(node);
                        if !r.attempts.iter().any(Attempt::live) {
                            self.round = None;
                        }
                    }
                }
            }
            TraceEvent::BecameLeader { term } => {
                let round = self.round_for(node);
                match round.live(node).filter(|a| a.term == *term) {
                    Some(a) => a.stage = Stage::Won,
                    None => {
                        let mut a = Attempt::new(node, *term, false);
                        a.stage = Stage::Won;
                        round.attempts.push(a);
                    }
                }
                self.finish();
            }
            _ => {}
        }
    }

    /// What the sticky line says now: the election under way, else the last one told. `voters`
    /// (the cluster's size) gives the votes needed before any reply has said.
    pub fn line(&self, voters: usize) -> Option<StoryLine> {
        if let Some(text) = self.round.as_ref().and_then(|r| under_way(r, voters)) {
            return Some(StoryLine::UnderWay(text));
        }
        self.told.clone().map(StoryLine::Told)
    }

    /// The last election told, if one has ended.
    pub fn told(&self) -> Option<&str> {
        self.told.as_deref()
    }

    fn round_for(&mut self, node: NodeId) -> &mut Round {
        self.round.get_or_insert_with(|| Round {
            start: Start::Campaign { node },
            attempts: Vec::new(),
        })
    }

    fn attempt(&mut self, node: NodeId, term: Term, stage: Stage) -> Option<&mut Attempt> {
        self.round.as_mut()?.attempt(node, term, stage)
    }

    fn live(&mut self, node: NodeId, stage: Stage) -> Option<&mut Attempt> {
        self.round.as_mut()?.live(node).filter(|a| a.stage == stage)
    }

    fn finish(&mut self) {
        if let Some(round) = self.round.take() {
            self.told = Some(tell(&round));
        }
    }
}

/// `1`, `1 and 2`, `1, 2 and 3`.
fn and_list(ids: &[NodeId]) -> String {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let words: Vec<String> = ids.iter().map(NodeId::to_string).collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "votes of 2, 4 and 5", or "only its own vote".
fn votes_of(a: &Attempt, what: &str) -> String {
    if a.granted.len() <= 1 {
        format!("only its own {what}")
    } else {
        format!("{what}s of {}", and_list(&a.granted))
    }
}

/// A refusal's reason as the sentence says it: what voters with the same reason share.
fn why(reason: &VoteRejectReason) -> String {
    match reason {
        VoteRejectReason::StaleTerm { candidate_term } => {
            format!("its term {candidate_term} is stale")
        }
        VoteRejectReason::AlreadyVoted { voted_for } => format!("already voted for {voted_for}"),
        VoteRejectReason::LogNotUpToDate { .. } => "its log is less up to date, §5.4.1".into(),
        VoteRejectReason::HeardFromLeader { leader, .. } => {
            format!("they hear from leader {leader}")
        }
    }
}

/// "refused by 1 and 2 (they hear from leader 1)", "refused by 1 (already voted for 3), by 4
/// (...)": voters grouped by reason; empty when nobody refused.
fn refusals(a: &Attempt) -> String {
    if a.refused.is_empty() {
        return String::new();
    }
    let mut groups: Vec<(Option<&str>, Vec<NodeId>)> = Vec::new();
    for v in &a.refused {
        let r = a
            .reasons
            .iter()
            .find(|(w, _)| w == v)
            .map(|(_, r)| r.as_str());
        match groups.iter_mut().find(|(g, _)| *g == r) {
            Some((_, voters)) => voters.push(*v),
            None => groups.push((r, vec![*v])),
        }
    }
    groups.sort_by_key(|(r, _)| r.is_none());
    let parts: Vec<String> = groups
        .iter()
        .map(|(r, voters)| match r {
            Some(r) => format!("by {} ({r})", and_list(voters)),
            None => format!("by {}", and_list(voters)),
        })
        .collect();
    format!("refused {}", parts.join(", "))
}

/// What one campaign did, without its subject ("asked for pre-votes, won term 1 with ...").
fn deed(a: &Attempt) -> Option<String> {
    let needed = a
        .needed
        .map(|n| format!(" ({n} needed)"))
        .unwrap_or_default();
    match a.stage {
        Stage::Won if a.pre_vote => Some(format!(
            "asked for pre-votes, won term {} with {}",
            a.term,
            votes_of(a, "vote")
        )),
        Stage::Won => Some(format!("won term {} with {}", a.term, votes_of(a, "vote"))),
        Stage::PreVoteLost => {
            let no = refusals(a);
            let no = if no.is_empty() {
                String::new()
            } else {
                format!(", {no}")
            };
            Some(format!(
                "asked for pre-votes for term {}{no}: it stays a follower",
                a.term
            ))
        }
        // A campaign that went to the votes and lost them (split votes are told per term).
        Stage::Abandoned | Stage::Voting if a.reached_votes => {
            let no = refusals(a);
            let no = if no.is_empty() {
                String::new()
            } else {
                format!("; {no}")
            };
            Some(format!(
                "got {} in term {}{needed}{no}",
                votes_of(a, "vote"),
                a.term
            ))
        }
        // Pre-votes nobody answered, a campaign given up before a reply: nothing to tell.
        _ => None,
    }
}

/// The sentence of a round that ended.
fn tell(round: &Round) -> String {
    let starter = round.start.node();
    let mut out = match round.start {
        Start::Timeout { node, ticks } => format!("node {node} timed out first ({ticks} ticks)"),
        Start::TimeoutNow { node, leader } => {
            format!("leader {leader} handed over to node {node} (TimeoutNow)")
        }
        Start::Campaign { node } => format!("node {node} started an election"),
    };
    // A campaign that went to the votes and did not win.
    let lost_votes = |a: &Attempt| a.reached_votes && a.stage != Stage::Won;
    // What failed, in order (who, what): a split vote when two or more lost the votes of one
    // term; the last two failures are enough.
    let mut failures: Vec<(Option<NodeId>, String)> = Vec::new();
    let mut split_terms: Vec<Term> = Vec::new();
    for a in round.attempts.iter().filter(|a| a.stage != Stage::Won) {
        let rivals: Vec<&Attempt> = round
            .attempts
            .iter()
            .filter(|b| b.term == a.term && lost_votes(b))
            .collect();
        if lost_votes(a) && rivals.len() >= 2 {
            if !split_terms.contains(&a.term) {
                split_terms.push(a.term);
                let each: Vec<String> = rivals
                    .iter()
                    .map(|b| format!("node {} got {}", b.node, and_list(&b.granted)))
                    .collect();
                let needed = rivals
                    .iter()
                    .find_map(|b| b.needed)
                    .map(|n| format!(" ({n} needed)"))
                    .unwrap_or_default();
                failures.push((
                    None,
                    format!(
                        "term {} split the vote: {}{needed}",
                        a.term,
                        each.join(", ")
                    ),
                ));
            }
        } else if let Some(d) = deed(a) {
            failures.push((Some(a.node), d));
        }
    }
    // Said once is enough (a node asking again and again, unheard).
    failures.dedup();
    if failures.len() > 2 {
        failures.drain(..failures.len() - 2);
    }
    // The winner first (a sentence too long for its rows loses its end, not its point), then
    // how the round began and what failed on the way.
    let winner = round
        .attempts
        .iter()
        .find(|a| a.stage == Stage::Won)
        .and_then(|w| Some((w.node, deed(w)?)));
    let mut failures = failures.into_iter().peekable();
    match winner {
        Some((w, d)) if w == starter => out.push_str(&format!(", {d}")),
        Some((w, d)) => out = format!("node {w} {d}; {out}"),
        // No winner: the starter's own failure reads on from the opening.
        None => {
            if let Some((_, what)) = failures.next_if(|(who, _)| *who == Some(starter)) {
                out.push_str(&format!(", {what}"));
            }
        }
    }
    for (who, what) in failures {
        match who {
            Some(n) => out.push_str(&format!("; node {n} {what}")),
            None => out.push_str(&format!("; {what}")),
        }
    }
    out
}

/// "term 3: node 2 is asking for votes (1 of 3 so far)", for every campaign still asking.
fn under_way(round: &Round, voters: usize) -> Option<String> {
    let live: Vec<&Attempt> = round.attempts.iter().filter(|a| a.live()).collect();
    let mut terms: Vec<Term> = live.iter().map(|a| a.term).collect();
    terms.sort_unstable();
    terms.dedup();
    let fallback = (voters > 0).then_some(voters / 2 + 1);
    let parts: Vec<String> = terms
        .iter()
        .map(|t| {
            let asking: Vec<String> = live
                .iter()
                .filter(|a| a.term == *t)
                .map(|a| {
                    let what = if a.stage == Stage::PreVoting {
                        "pre-votes"
                    } else {
                        "votes"
                    };
                    let so_far = match a.needed.or(fallback) {
                        Some(n) => format!("{} of {n} so far", a.granted.len()),
                        None => format!("{} so far", a.granted.len()),
                    };
                    format!("node {} is asking for {what} ({so_far})", a.node)
                })
                .collect();
            format!("term {t}: {}", asking.join(", "))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story(events: &[(NodeId, TraceEvent)]) -> ElectionStory {
        let mut s = ElectionStory::default();
        for (node, t) in events {
            s.apply_trace(*node, t);
        }
        s
    }

    fn told(events: &[(NodeId, TraceEvent)]) -> String {
        story(events).told().unwrap_or("(nothing told)").to_string()
    }

    fn pre_vote(from: NodeId, granted: bool, total: usize) -> TraceEvent {
        TraceEvent::PreVoteReceived {
            from,
            term: 1,
            granted,
            granted_total: total,
            needed: 3,
        }
    }

    fn vote(from: NodeId, term: Term, granted: bool, total: usize) -> TraceEvent {
        TraceEvent::VoteReceived {
            from,
            term,
            granted,
            granted_total: total,
            needed: 3,
        }
    }

    #[test]
    fn a_pre_vote_then_a_win_in_one_sentence() {
        use TraceEvent::*;
        let events = [
            (
                5,
                ElectionTimeout {
                    term: 0,
                    timeout: 26,
                },
            ),
            (5, BecamePreCandidate { term: 1 }),
            (2, PreVoteGranted { to: 5, term: 1 }),
            (5, pre_vote(2, true, 2)),
            (5, pre_vote(4, true, 3)),
            (5, BecameCandidate { term: 1 }),
            (5, vote(2, 1, true, 2)),
            (5, vote(4, 1, true, 3)),
            (5, BecameLeader { term: 1 }),
            // Late answers change nothing.
            (5, vote(1, 1, true, 4)),
        ];
        assert_eq!(
            told(&events),
            "node 5 timed out first (26 ticks), asked for pre-votes, won term 1 with votes of \
             2, 4 and 5"
        );
        assert_eq!(story(&events).line(5), Some(StoryLine::Told(told(&events))));
    }

    #[test]
    fn without_pre_vote_the_winner_just_asks_for_votes() {
        use TraceEvent::*;
        let events = [
            (
                2,
                ElectionTimeout {
                    term: 3,
                    timeout: 18,
                },
            ),
            (2, BecameCandidate { term: 4 }),
            (2, vote(1, 4, true, 2)),
            (2, vote(3, 4, true, 3)),
            (2, BecameLeader { term: 4 }),
        ];
        assert_eq!(
            told(&events),
            "node 2 timed out first (18 ticks), won term 4 with votes of 1, 2 and 3"
        );
    }

    #[test]
    fn an_election_under_way_says_who_asks_and_how_many_said_yes() {
        use TraceEvent::*;
        let mut s = story(&[
            (
                2,
                ElectionTimeout {
                    term: 2,
                    timeout: 20,
                },
            ),
            (2, BecameCandidate { term: 3 }),
        ]);
        // Before any reply, the cluster's size gives the majority.
        assert_eq!(
            s.line(5),
            Some(StoryLine::UnderWay(
                "term 3: node 2 is asking for votes (1 of 3 so far)".into()
            ))
        );
        s.apply_trace(2, &vote(4, 3, true, 2));
        assert_eq!(
            s.line(5),
            Some(StoryLine::UnderWay(
                "term 3: node 2 is asking for votes (2 of 3 so far)".into()
            ))
        );
    }

    #[test]
    fn a_split_vote_is_told_with_the_election_that_ended_it() {
        use TraceEvent::*;
        let mut events = vec![
            (
                1,
                ElectionTimeout {
                    term: 1,
                    timeout: 17,
                },
            ),
            (1, BecameCandidate { term: 2 }),
            (
                3,
                ElectionTimeout {
                    term: 1,
                    timeout: 17,
                },
            ),
            (3, BecameCandidate { term: 2 }),
            (
                4,
                VoteRejected {
                    to: 1,
                    term: 2,
                    reason: VoteRejectReason::AlreadyVoted { voted_for: 3 },
                },
            ),
            (1, vote(2, 2, true, 2)),
            (1, vote(4, 2, false, 2)),
            (3, vote(4, 2, true, 2)),
            (3, vote(2, 2, false, 2)),
        ];
        let s = story(&events);
        assert_eq!(
            s.line(5),
            Some(StoryLine::UnderWay(
                "term 2: node 1 is asking for votes (2 of 3 so far), node 3 is asking for \
                 votes (2 of 3 so far)"
                    .into()
            ))
        );
        events.extend([
            (
                3,
                ElectionTimeout {
                    term: 2,
                    timeout: 23,
                },
            ),
            (3, BecameCandidate { term: 3 }),
            (3, vote(4, 3, true, 2)),
            (3, vote(5, 3, true, 3)),
            (3, BecameLeader { term: 3 }),
            (
                1,
                SteppedDown {
                    was: Role::Candidate,
                    term: 3,
                    reason: crate::raft::StepDownReason::HigherTerm { from: 3, term: 3 },
                },
            ),
        ]);
        assert_eq!(
            told(&events),
            "node 3 won term 3 with votes of 3, 4 and 5; node 1 timed out first (17 ticks); \
             term 2 split the vote: node 1 got 1 and 2, node 3 got 3 and 4 (3 needed)"
        );
    }

    #[test]
    fn a_rival_that_lost_its_votes_is_told_after_the_winner() {
        use TraceEvent::*;
        let events = [
            (
                5,
                ElectionTimeout {
                    term: 0,
                    timeout: 26,
                },
            ),
            (5, BecameCandidate { term: 1 }),
            (3, BecameCandidate { term: 1 }),
            (
                2,
                VoteRejected {
                    to: 3,
                    term: 1,
                    reason: VoteRejectReason::AlreadyVoted { voted_for: 5 },
                },
            ),
            (3, vote(1, 1, true, 2)),
            (3, vote(2, 1, false, 2)),
            (5, vote(2, 1, true, 2)),
            (5, vote(4, 1, true, 3)),
            (5, BecameLeader { term: 1 }),
        ];
        assert_eq!(
            told(&events),
            "node 5 timed out first (26 ticks), won term 1 with votes of 2, 4 and 5; node 3 \
             got votes of 1 and 3 in term 1 (3 needed); refused by 2 (already voted for 5)"
        );
    }

    #[test]
    fn a_refused_pre_vote_ends_the_round_and_says_why() {
        use TraceEvent::*;
        let heard = |ticks_ago| VoteRejectReason::HeardFromLeader {
            leader: 1,
            ticks_ago,
        };
        let events = [
            (
                3,
                ElectionTimeout {
                    term: 1,
                    timeout: 24,
                },
            ),
            (3, BecamePreCandidate { term: 2 }),
            (
                1,
                PreVoteRejected {
                    to: 3,
                    term: 1,
                    reason: heard(0),
                },
            ),
            (
                2,
                PreVoteRejected {
                    to: 3,
                    term: 1,
                    reason: heard(3),
                },
            ),
            (3, pre_vote(1, false, 1)),
            (3, pre_vote(2, false, 1)),
            (
                4,
                PreVoteRejected {
                    to: 3,
                    term: 1,
                    reason: heard(3),
                },
            ),
            (3, pre_vote(4, false, 1)),
            (3, PreVoteLost { term: 2 }),
        ];
        let s = story(&events);
        assert_eq!(
            s.told(),
            Some(
                "node 3 timed out first (24 ticks), asked for pre-votes for term 2, refused \
                 by 1, 2 and 4 (they hear from leader 1): it stays a follower"
            )
        );
        assert!(matches!(s.line(5), Some(StoryLine::Told(_))));
    }

    #[test]
    fn a_refused_pre_vote_with_one_reason_names_it_once() {
        use TraceEvent::*;
        let events = [
            (
                3,
                ElectionTimeout {
                    term: 1,
                    timeout: 24,
                },
            ),
            (3, BecamePreCandidate { term: 2 }),
            (
                1,
                PreVoteRejected {
                    to: 3,
                    term: 1,
                    reason: VoteRejectReason::LogNotUpToDate {
                        ours: (6, 1),
                        theirs: (4, 1),
                    },
                },
            ),
            (
                2,
                PreVoteRejected {
                    to: 3,
                    term: 1,
                    reason: VoteRejectReason::LogNotUpToDate {
                        ours: (6, 1),
                        theirs: (4, 1),
                    },
                },
            ),
            (3, PreVoteLost { term: 2 }),
        ];
        assert_eq!(
            told(&events),
            "node 3 timed out first (24 ticks), asked for pre-votes for term 2, refused by 1 \
             and 2 (its log is less up to date, §5.4.1): it stays a follower"
        );
    }

    #[test]
    fn a_handover_by_timeout_now_names_the_old_leader() {
        use TraceEvent::*;
        let events = [
            (4, TimeoutNowReceived { from: 1 }),
            (4, BecameCandidate { term: 6 }),
            (4, vote(1, 6, true, 2)),
            (4, vote(2, 6, true, 3)),
            (4, BecameLeader { term: 6 }),
        ];
        assert_eq!(
            told(&events),
            "leader 1 handed over to node 4 (TimeoutNow), won term 6 with votes of 1, 2 and 4"
        );
    }
}
