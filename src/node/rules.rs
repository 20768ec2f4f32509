//! The rule switches of a cluster: which of the thesis's optional rules the nodes follow
//! (PreVote, CheckQuorum, the read mode) and which rules of Raft they break on purpose, for
//! learning.
//!
//! [`Rules::paper`] (`--paper`) turns both thesis rules off: the paper's Figure 2 only.
//!
//! Rules are fixed when a cluster starts (CLI flags, [`crate::cluster::ClusterConfig::rules`]):
//! every node's core is built with them, and a restarted node gets the same ones. The prompt's
//! `rules` command shows them; with any unsafe rule on, the dashboard's header says so in red.
//!
//! | switch                  | default | what it does                                        |
//! |-------------------------|---------|-----------------------------------------------------|
//! | `pre_vote`              | on      | PreVote before a real election (§9.6)               |
//! | `check_quorum`          | on      | a leader cut off from a majority steps down (§6.2)  |
//! | `read_mode`             | safe    | ReadIndex, or lease reads that trust clocks (§6.4.1)|
//! | `vote-without-log-check`| off     | UNSAFE: grant votes to out-of-date candidates       |
//! | `commit-by-counting`    | off     | UNSAFE: commit older-term entries by counting (Fig. 8)|
//! | `forget-vote`           | off     | UNSAFE: votedFor is not persisted                   |
//! | `local-reads`           | off     | UNSAFE: every node answers gets from its own state  |

use crate::raft::{self, ReadMode, UnsafeRules};

/// One rule that breaks Raft on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnsafeRule {
    /// Grant votes without the election restriction (§5.4.1).
    VoteWithoutLogCheck,
    /// Commit entries of earlier terms by counting replicas (the Figure 8 bug, §5.4.2).
    CommitByCounting,
    /// Do not persist votedFor: a restarted server can vote twice in one term.
    ForgetVote,
    /// Every node answers reads from its own applied state: followers and deposed leaders can
    /// return stale values.
    LocalReads,
}

impl UnsafeRule {
    /// Every unsafe rule, in the order they are listed.
    pub const ALL: [UnsafeRule; 4] = [
        UnsafeRule::VoteWithoutLogCheck,
        UnsafeRule::CommitByCounting,
        UnsafeRule::ForgetVote,
        UnsafeRule::LocalReads,
    ];

    /// The rule's name on the command line and on screen.
    pub fn name(self) -> &'static str {
        match self {
            UnsafeRule::VoteWithoutLogCheck => "vote-without-log-check",
            UnsafeRule::CommitByCounting => "commit-by-counting",
            UnsafeRule::ForgetVote => "forget-vote",
            UnsafeRule::LocalReads => "local-reads",
        }
    }

    /// The rule of that name.
    pub fn from_name(name: &str) -> Result<UnsafeRule, String> {
        let name = name.trim();
        UnsafeRule::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown unsafe rule {name:?}: expected one of {}",
                    UnsafeRule::ALL.map(UnsafeRule::name).join(", ")
                )
            })
    }

    /// Parses a comma-separated list of rule names ("forget-vote,local-reads").
    pub fn parse_list(list: &str) -> Result<Vec<UnsafeRule>, String> {
        list.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(UnsafeRule::from_name)
            .collect()
    }

    /// What the rule breaks, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            UnsafeRule::VoteWithoutLogCheck => {
                "votes go to out-of-date candidates: committed entries can be lost"
            }
            UnsafeRule::CommitByCounting => {
                "older-term entries commit by counting (Figure 8): they can be overwritten"
            }
            UnsafeRule::ForgetVote => "votedFor is not persisted: two leaders in one term",
            UnsafeRule::LocalReads => "every node answers gets from its own state: stale reads",
        }
    }
}

impl std::fmt::Display for UnsafeRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The rule switches of every node of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// PreVote (thesis §9.6). Default on.
    pub pre_vote: bool,
    /// CheckQuorum (thesis §6.2). Default on.
    pub check_quorum: bool,
    /// How leaders answer reads: ReadIndex (safe) or lease reads, which trust bounded clock
    /// drift and need CheckQuorum (without it the core falls back to ReadIndex).
    pub read_mode: ReadMode,
    /// The core's unsafe rules. All off by default.
    pub unsafe_rules: UnsafeRules,
    /// UNSAFE: every node answers gets from its own applied state. Off by default.
    pub local_reads: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            pre_vote: true,
            check_quorum: true,
            read_mode: ReadMode::Safe,
            unsafe_rules: UnsafeRules::default(),
            local_reads: false,
        }
    }
}

impl Rules {
    /// The paper's Figure 2 only (`--paper`): PreVote and CheckQuorum off, reads by ReadIndex,
    /// no unsafe rule. A leader cut off from a majority then keeps believing it leads, and a
    /// node whose timer fires raises the term even when it cannot win.
    pub fn paper() -> Rules {
        Rules {
            pre_vote: false,
            check_quorum: false,
            ..Rules::default()
        }
    }

    /// The thesis's optional rules in force, in a few words for the dashboard's header:
    /// `PreVote·CheckQuorum` (the default), one of them, or `Figure 2 only` when both are off;
    /// `·lease reads` when leases answer reads. Unsafe rules are told apart
    /// ([`Rules::unsafe_marker`]).
    pub fn in_force(&self) -> String {
        let mut on: Vec<&str> = Vec::new();
        if self.pre_vote {
            on.push("PreVote");
        }
        if self.check_quorum {
            on.push("CheckQuorum");
        }
        if self.read_mode == ReadMode::Lease && self.check_quorum {
            on.push("lease reads");
        }
        if on.is_empty() {
            "Figure 2 only".to_string()
        } else {
            on.join("·")
        }
    }

    /// Turns one unsafe rule on.
    pub fn enable(&mut self, rule: UnsafeRule) {
        match rule {
            UnsafeRule::VoteWithoutLogCheck => self.unsafe_rules.vote_without_log_check = true,
            UnsafeRule::CommitByCounting => self.unsafe_rules.commit_by_counting = true,
            UnsafeRule::ForgetVote => self.unsafe_rules.forget_vote = true,
            UnsafeRule::LocalReads => self.local_reads = true,
        }
    }

    /// Whether an unsafe rule is on.
    pub fn is_on(&self, rule: UnsafeRule) -> bool {
        match rule {
            UnsafeRule::VoteWithoutLogCheck => self.unsafe_rules.vote_without_log_check,
            UnsafeRule::CommitByCounting => self.unsafe_rules.commit_by_counting,
            UnsafeRule::ForgetVote => self.unsafe_rules.forget_vote,
            UnsafeRule::LocalReads => self.local_reads,
        }
    }

    /// The unsafe rules that are on.
    pub fn unsafe_on(&self) -> Vec<UnsafeRule> {
        UnsafeRule::ALL
            .into_iter()
            .filter(|r| self.is_on(*r))
            .collect()
    }

    /// Whether any unsafe rule is on.
    pub fn any_unsafe(&self) -> bool {
        !self.unsafe_on().is_empty()
    }

    /// "UNSAFE: forget-vote, local-reads", or `None` when every rule is safe.
    pub fn unsafe_marker(&self) -> Option<String> {
        let on = self.unsafe_on();
        (!on.is_empty()).then(|| {
            format!(
                "UNSAFE: {}",
                on.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// Sets the switches of a core's configuration.
    pub fn apply(&self, config: &mut raft::Config) {
        config.pre_vote = self.pre_vote;
        config.check_quorum = self.check_quorum;
        config.read_mode = self.read_mode;
        config.unsafe_rules = self.unsafe_rules;
    }

    /// The name of the read mode: "safe" or "lease".
    pub fn read_mode_name(&self) -> &'static str {
        match self.read_mode {
            ReadMode::Safe => "safe",
            ReadMode::Lease => "lease",
        }
    }

    /// One line per switch, for the prompt's `rules` command and the help overlay.
    pub fn lines(&self) -> Vec<String> {
        let on = |b: bool| if b { "on" } else { "off" };
        let mut lines = vec![
            format!("pre-vote {}", on(self.pre_vote)),
            format!("check-quorum {}", on(self.check_quorum)),
            match self.read_mode {
                ReadMode::Safe => "read-mode safe (ReadIndex)".to_string(),
                ReadMode::Lease if self.check_quorum => {
                    "read-mode lease (trusts clocks: unsafe with drift)".to_string()
                }
                ReadMode::Lease => {
                    "read-mode lease, without check-quorum: falls back to ReadIndex".to_string()
                }
            },
        ];
        for rule in UnsafeRule::ALL {
            if self.is_on(rule) {
                lines.push(format!("UNSAFE {}: {}", rule.name(), rule.summary()));
            }
        }
        if !self.any_unsafe() {
            lines.push("no unsafe rule on".to_string());
        }
        lines
    }

    /// The rules in one line.
    pub fn describe(&self) -> String {
        self.lines().join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_unknown_names_are_refused() {
        for rule in UnsafeRule::ALL {
            assert_eq!(UnsafeRule::from_name(rule.name()), Ok(rule));
        }
        assert_eq!(
            UnsafeRule::parse_list("forget-vote, local-reads"),
            Ok(vec![UnsafeRule::ForgetVote, UnsafeRule::LocalReads])
        );
        let err = UnsafeRule::parse_list("forget-vote,no-such").unwrap_err();
        assert!(
            err.contains("no-such") && err.contains("commit-by-counting"),
            "{err}"
        );
    }

    #[test]
    fn the_rules_in_force_say_what_differs_from_the_paper() {
        assert_eq!(Rules::default().in_force(), "PreVote·CheckQuorum");
        assert_eq!(Rules::paper().in_force(), "Figure 2 only");
        let no_pv = Rules {
            pre_vote: false,
            ..Rules::default()
        };
        assert_eq!(no_pv.in_force(), "CheckQuorum");
        let lease = Rules {
            read_mode: ReadMode::Lease,
            ..Rules::default()
        };
        assert_eq!(lease.in_force(), "PreVote·CheckQuorum·lease reads");
        // Without CheckQuorum a lease falls back to ReadIndex: nothing to tell.
        let lease_paper = Rules {
            read_mode: ReadMode::Lease,
            ..Rules::paper()
        };
        assert_eq!(lease_paper.in_force(), "Figure 2 only");
        let paper = Rules::paper();
        assert!(!paper.pre_vote && !paper.check_quorum && !paper.any_unsafe());
        assert_eq!(paper.read_mode, ReadMode::Safe);
    }

    #[test]
    fn defaults_are_safe_and_apply_to_the_core() {
        let rules = Rules::default();
        assert!(!rules.any_unsafe());
        assert_eq!(rules.unsafe_marker(), None);
        let mut rules = Rules {
            pre_vote: false,
            read_mode: ReadMode::Lease,
            ..Rules::default()
        };
        rules.enable(UnsafeRule::ForgetVote);
        rules.enable(UnsafeRule::LocalReads);
        assert_eq!(
            rules.unsafe_marker().as_deref(),
            Some("UNSAFE: forget-vote, local-reads")
        );
        let mut c = raft::Config::new(1, vec![1, 2, 3]);
        rules.apply(&mut c);
        assert!(!c.pre_vote && c.check_quorum && c.unsafe_rules.forget_vote);
        assert_eq!(c.read_mode, ReadMode::Lease);
    }
}
