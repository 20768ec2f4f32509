//! The prompt's commands as a table: [`COMMANDS`] (usage and summary of each, in the order the
//! help overlay lists them) and [`Kind`], one per canonical name with its aliases. Parsing,
//! completion and the help overlay are all built from it.

/// One row of the help table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandHelp {
    /// How to write the command; its first word is the command's canonical name.
    pub usage: &'static str,
    /// What the command does, in a few words (aliases are mentioned here).
    pub summary: &'static str,
}

impl CommandHelp {
    /// Whether only the sim engine's lab has it (its summary starts `lab:`): the live
    /// dashboard's help leaves it out.
    pub fn lab_only(&self) -> bool {
        self.summary.starts_with("lab:")
    }
}

/// Every command of the prompt, in the order the help overlay shows them. The first word of each
/// `usage` is the command's canonical name, which [`complete`] offers.
pub const COMMANDS: &[CommandHelp] = &[
    CommandHelp {
        usage: "put KEY VALUE",
        summary: "set KEY (quote spaces: put k \"a b\")",
    },
    CommandHelp {
        usage: "get KEY",
        summary: "read KEY",
    },
    CommandHelp {
        usage: "del KEY",
        summary: "delete KEY (also: delete)",
    },
    CommandHelp {
        usage: "append KEY VALUE",
        summary: "append VALUE to KEY's value",
    },
    CommandHelp {
        usage: "cas KEY EXPECTED NEW",
        summary: "NEW if KEY is EXPECTED (- : if absent)",
    },
    CommandHelp {
        usage: "write",
        summary: "submit a random write (the w key)",
    },
    CommandHelp {
        usage: "retry",
        summary: "resend the last write (same seq: applied once)",
    },
    CommandHelp {
        usage: "kill NODE",
        summary: "crash a node",
    },
    CommandHelp {
        usage: "restart NODE",
        summary: "restart a killed node",
    },
    CommandHelp {
        usage: "isolate NODE",
        summary: "cut a node off from all others",
    },
    CommandHelp {
        usage: "campaign NODE",
        summary: "election timer fires now (also: timeout)",
    },
    CommandHelp {
        usage: "snapshot NODE",
        summary: "snapshot now and compact (also: compact)",
    },
    CommandHelp {
        usage: "transfer NODE",
        summary: "hand leadership to a node",
    },
    CommandHelp {
        usage: "add-node",
        summary: "start a node; the leader adds a learner",
    },
    CommandHelp {
        usage: "promote NODE",
        summary: "make a learner a voter",
    },
    CommandHelp {
        usage: "remove-node NODE",
        summary: "remove a node from the configuration",
    },
    CommandHelp {
        usage: "rules",
        summary: "PreVote, CheckQuorum, reads, UNSAFE",
    },
    CommandHelp {
        usage: "partition GROUP...",
        summary: "groups like 1,2 3,4,5 (others alone)",
    },
    CommandHelp {
        usage: "heal",
        summary: "clear every network fault and drift",
    },
    CommandHelp {
        usage: "slow NODE DELAY",
        summary: "+DELAY on a node's messages (0 clears)",
    },
    CommandHelp {
        usage: "link FROM TO cut|up|delay D|jitter D|drop P...",
        summary: "change the link FROM -> TO",
    },
    CommandHelp {
        usage: "clock NODE RATE",
        summary: "node's clock at RATE x real time (1)",
    },
    CommandHelp {
        usage: "speed FACTOR",
        summary: "tick length x FACTOR (2: twice as slow)",
    },
    CommandHelp {
        usage: "pause",
        summary: "stop time",
    },
    CommandHelp {
        usage: "resume",
        summary: "restart time",
    },
    CommandHelp {
        usage: "step",
        summary: "advance a paused cluster by one event",
    },
    CommandHelp {
        usage: "drop MSG",
        summary: "lose the in-flight message MSG",
    },
    CommandHelp {
        usage: "dup MSG",
        summary: "duplicate message MSG (also: duplicate)",
    },
    CommandHelp {
        usage: "deliver MSG",
        summary: "deliver the in-flight message MSG now",
    },
    CommandHelp {
        usage: "nemesis [SECS|stop]",
        summary: "faults + 4 clients for SECS s (30), or stop",
    },
    CommandHelp {
        usage: "history [save FILE]",
        summary: "operations and verdict; save: as JSON lines",
    },
    CommandHelp {
        usage: "save FILE",
        summary: "lab: write the run (settings, seed, actions)",
    },
    CommandHelp {
        usage: "share",
        summary: "lab: the run as a string for raftlab lab --run",
    },
    CommandHelp {
        usage: "branches",
        summary: "lab: the branches acting in the past made",
    },
    CommandHelp {
        usage: "branch N",
        summary: "lab: switch to branch N",
    },
    CommandHelp {
        usage: "next",
        summary: "lab: what happens next, in order",
    },
    CommandHelp {
        usage: "challenge [NAME]",
        summary: "start a challenge (dashboard); no NAME: list",
    },
    CommandHelp {
        usage: "hint",
        summary: "the running challenge's next hint (also: H)",
    },
    CommandHelp {
        usage: "help",
        summary: "show this help (also: ?)",
    },
    CommandHelp {
        usage: "quit",
        summary: "leave raftlab (also: exit, q)",
    },
];

/// The kinds of command, one per canonical name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Put,
    Get,
    Del,
    Append,
    Cas,
    Write,
    Retry,
    Kill,
    Restart,
    Isolate,
    Campaign,
    Snapshot,
    Transfer,
    AddNode,
    Promote,
    RemoveNode,
    Rules,
    Partition,
    Heal,
    Slow,
    Link,
    Clock,
    Speed,
    Pause,
    Resume,
    Step,
    Drop,
    Dup,
    Deliver,
    Nemesis,
    History,
    Save,
    Share,
    Branches,
    Branch,
    Next,
    Challenge,
    Hint,
    Help,
    Quit,
}

impl Kind {
    #[cfg(test)]
    const ALL: [Kind; 40] = [
        Kind::Put,
        Kind::Get,
        Kind::Del,
        Kind::Append,
        Kind::Cas,
        Kind::Write,
        Kind::Retry,
        Kind::Kill,
        Kind::Restart,
        Kind::Isolate,
        Kind::Campaign,
        Kind::Snapshot,
        Kind::Transfer,
        Kind::AddNode,
        Kind::Promote,
        Kind::RemoveNode,
        Kind::Rules,
        Kind::Partition,
        Kind::Heal,
        Kind::Slow,
        Kind::Link,
        Kind::Clock,
        Kind::Speed,
        Kind::Pause,
        Kind::Resume,
        Kind::Step,
        Kind::Drop,
        Kind::Dup,
        Kind::Deliver,
        Kind::Nemesis,
        Kind::History,
        Kind::Save,
        Kind::Share,
        Kind::Branches,
        Kind::Branch,
        Kind::Next,
        Kind::Challenge,
        Kind::Hint,
        Kind::Help,
        Kind::Quit,
    ];

    /// The kind named by `word` (already lowercased), aliases included.
    pub(crate) fn from_name(word: &str) -> Option<Kind> {
        Some(match word {
            "put" => Kind::Put,
            "get" => Kind::Get,
            "del" | "delete" => Kind::Del,
            "append" => Kind::Append,
            "cas" => Kind::Cas,
            "write" => Kind::Write,
            "retry" => Kind::Retry,
            "kill" => Kind::Kill,
            "restart" => Kind::Restart,
            "isolate" => Kind::Isolate,
            "campaign" | "timeout" => Kind::Campaign,
            "snapshot" | "compact" => Kind::Snapshot,
            "transfer" => Kind::Transfer,
            "add-node" => Kind::AddNode,
            "promote" => Kind::Promote,
            "remove-node" => Kind::RemoveNode,
            "rules" => Kind::Rules,
            "partition" => Kind::Partition,
            "heal" => Kind::Heal,
            "slow" => Kind::Slow,
            "link" => Kind::Link,
            "clock" => Kind::Clock,
            "speed" => Kind::Speed,
            "pause" => Kind::Pause,
            "resume" => Kind::Resume,
            "step" => Kind::Step,
            "drop" => Kind::Drop,
            "dup" | "duplicate" => Kind::Dup,
            "deliver" => Kind::Deliver,
            "nemesis" => Kind::Nemesis,
            "history" => Kind::History,
            "save" => Kind::Save,
            "share" => Kind::Share,
            "branches" => Kind::Branches,
            "branch" => Kind::Branch,
            "next" => Kind::Next,
            "challenge" => Kind::Challenge,
            "hint" => Kind::Hint,
            "help" | "?" => Kind::Help,
            "quit" | "exit" | "q" => Kind::Quit,
            _ => return None,
        })
    }

    /// The canonical name, as in [`COMMANDS`] and in `Display`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Put => "put",
            Kind::Get => "get",
            Kind::Del => "del",
            Kind::Append => "append",
            Kind::Cas => "cas",
            Kind::Write => "write",
            Kind::Retry => "retry",
            Kind::Kill => "kill",
            Kind::Restart => "restart",
            Kind::Isolate => "isolate",
            Kind::Campaign => "campaign",
            Kind::Snapshot => "snapshot",
            Kind::Transfer => "transfer",
            Kind::AddNode => "add-node",
            Kind::Promote => "promote",
            Kind::RemoveNode => "remove-node",
            Kind::Rules => "rules",
            Kind::Partition => "partition",
            Kind::Heal => "heal",
            Kind::Slow => "slow",
            Kind::Link => "link",
            Kind::Clock => "clock",
            Kind::Speed => "speed",
            Kind::Pause => "pause",
            Kind::Resume => "resume",
            Kind::Step => "step",
            Kind::Drop => "drop",
            Kind::Dup => "dup",
            Kind::Deliver => "deliver",
            Kind::Nemesis => "nemesis",
            Kind::History => "history",
            Kind::Save => "save",
            Kind::Share => "share",
            Kind::Branches => "branches",
            Kind::Branch => "branch",
            Kind::Next => "next",
            Kind::Challenge => "challenge",
            Kind::Hint => "hint",
            Kind::Help => "help",
            Kind::Quit => "quit",
        }
    }

    /// The usage line from [`COMMANDS`].
    pub(crate) fn usage(self) -> &'static str {
        COMMANDS
            .iter()
            .find(|c| c.usage.split_whitespace().next() == Some(self.name()))
            .map_or(self.name(), |c| c.usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::prompt::parse;

    const N: usize = 5;

    #[test]
    fn every_help_entry_names_a_command() {
        let mut names = Vec::new();
        for entry in COMMANDS {
            let name = entry.usage.split_whitespace().next().unwrap_or("");
            let kind = Kind::from_name(name);
            assert!(kind.is_some(), "{:?} is not a command", entry.usage);
            assert_eq!(kind.map(Kind::name), Some(name), "{name} is not canonical");
            if let Err(e) = parse(name, N) {
                assert!(!e.to_string().starts_with("unknown command"), "{name}: {e}");
            }
            assert!(!entry.summary.is_empty());
            assert!(!names.contains(&name), "{name} listed twice");
            names.push(name);
        }
        for kind in Kind::ALL {
            assert!(
                names.contains(&kind.name()),
                "{} missing from COMMANDS",
                kind.name()
            );
            assert!(kind.usage().starts_with(kind.name()));
        }
        assert_eq!(names.len(), Kind::ALL.len());
    }

    #[test]
    fn no_argument_commands_parse_from_their_usage() {
        for entry in COMMANDS {
            if !entry.usage.contains(' ') {
                assert!(parse(entry.usage, N).is_ok(), "{}", entry.usage);
            }
        }
    }
}
