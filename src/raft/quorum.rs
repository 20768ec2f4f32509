//! Majority arithmetic: the commit index a set of match indexes supports, and vote counting.

use std::collections::BTreeMap;

use super::types::{Index, NodeId};

/// The smallest number of voters that forms a majority of `n`.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// The highest index stored on a majority, given every voter's match index: "there exists an N
/// such that a majority of matchIndex[i] ≥ N" (Figure 2, rules for leaders).
pub fn committed_index(mut matched: Vec<Index>) -> Index {
    if matched.is_empty() {
        return 0;
    }
    matched.sort_unstable_by(|a, b| b.cmp(a));
    matched[majority(matched.len()) - 1]
}

/// The outcome of an election so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteResult {
    /// A majority granted.
    Won,
    /// A majority refused: this election cannot be won.
    Lost,
    /// Not decided yet.
    Pending,
}

/// Votes received by a candidate in its current term.
#[derive(Clone, Debug, Default)]
pub struct VoteTally {
    votes: BTreeMap<NodeId, bool>,
}

impl VoteTally {
    /// Records `from`'s answer; a voter's first answer in a term counts, repeats do not.
    /// Returns whether this was its first answer.
    pub fn record(&mut self, from: NodeId, granted: bool) -> bool {
        if self.votes.contains_key(&from) {
            return false;
        }
        self.votes.insert(from, granted);
        true
    }

    /// Granted and refused counts among `voters`.
    pub fn counts(&self, voters: &[NodeId]) -> (usize, usize) {
        voters
            .iter()
            .filter_map(|v| self.votes.get(v))
            .fold(
                (0, 0),
                |(g, r), granted| {
                    if *granted {
                        (g + 1, r)
                    } else {
                        (g, r + 1)
                    }
                },
            )
    }

    /// Won, lost or pending among `voters`.
    pub fn result(&self, voters: &[NodeId]) -> VoteResult {
        let (granted, refused) = self.counts(voters);
        let need = majority(voters.len());
        if granted >= need {
            VoteResult::Won
        } else if refused >= need {
            VoteResult::Lost
        } else {
            VoteResult::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majorities() {
        let table = [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (9, 5)];
        for (n, m) in table {
            assert_eq!(majority(n), m, "majority of {n}");
        }
    }

    #[test]
    fn committed_index_is_the_majority_match() {
        let table: &[(&[Index], Index)] = &[
            (&[5], 5),
            (&[5, 3], 3),
            (&[5, 3, 1], 3),
            (&[1, 5, 3], 3),
            (&[9, 9, 1, 1], 1),
            (&[9, 9, 9, 1], 9),
            (&[7, 6, 5, 4, 3], 5),
            (&[0, 0, 0, 4, 4], 0),
            (&[], 0),
        ];
        for (matched, want) in table {
            assert_eq!(committed_index(matched.to_vec()), *want, "{matched:?}");
        }
    }

    #[test]
    fn tally() {
        let voters = [1, 2, 3, 4, 5];
        let mut t = VoteTally::default();
        t.record(1, true);
        t.record(2, true);
        assert_eq!(t.result(&voters), VoteResult::Pending);
        assert!(
            !t.record(2, false),
            "a repeat does not change the first answer"
        );
        assert_eq!(t.counts(&voters), (2, 0));
        t.record(3, true);
        assert_eq!(t.result(&voters), VoteResult::Won);
        let mut t = VoteTally::default();
        for v in [2, 3, 4] {
            t.record(v, false);
        }
        assert_eq!(t.result(&voters), VoteResult::Lost);
        t.record(9, true); // not a voter
        assert_eq!(t.counts(&voters), (0, 3));
    }
}
