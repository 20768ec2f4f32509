//! Tab completion at the prompt: the command names, node ids, link changes and subcommands
//! that may come next, as whole replacement lines.

use std::collections::BTreeSet;

use super::help::{Kind, COMMANDS};
use super::lex::{scan, Token};
use crate::raft::NodeId;

/// Node ids beyond this are not offered by [`complete`] (a cluster has at most 9 nodes).
const MAX_COMPLETED_NODE: u64 = 999;

/// Completions of the word being typed at the end of `line` (an empty word after trailing
/// whitespace), for a cluster of `nodes` nodes, as full replacement lines: `"pa"` gives
/// `["partition ", "pause "]`, `"kill "` gives `["kill 1", ..., "kill 5"]`, `"link 1 2 d"` gives
/// `["link 1 2 delay ", "link 1 2 drop "]`. A space follows a completed word when more may
/// follow it. Sorted; empty when there is nothing to offer (keys, values, durations, numbers,
/// inside quotes).
pub fn complete(line: &str, nodes: usize) -> Vec<String> {
    let scan = scan(line);
    if scan.unterminated.is_some() {
        return Vec::new();
    }
    let (index, start, word) = if scan.ends_in_word {
        match scan.tokens.last() {
            Some(t) if t.quoted => return Vec::new(),
            Some(t) => (scan.tokens.len() - 1, t.span.start, t.text.as_str()),
            None => return Vec::new(),
        }
    } else {
        (scan.tokens.len(), line.len(), "")
    };
    let Some(head) = line.get(..start) else {
        return Vec::new();
    };
    let before = scan.tokens.get(..index).unwrap_or_default();
    let mut out: Vec<String> = candidates(before, word, nodes)
        .into_iter()
        .map(|c| format!("{head}{c}"))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Replacements for `word`, given the words before it.
fn candidates(before: &[Token], word: &str, nodes: usize) -> Vec<String> {
    let lower = word.to_lowercase();
    let Some((first, args)) = before.split_first() else {
        return COMMANDS
            .iter()
            .filter_map(|c| c.usage.split_whitespace().next())
            .filter(|name| name.starts_with(&lower))
            .map(|name| format!("{name} "))
            .collect();
    };
    let Some(kind) = Kind::from_name(&first.text.to_lowercase()) else {
        return Vec::new();
    };
    let position = args.len();
    let node_ids = |skip: &BTreeSet<NodeId>, prefix: &str, suffix: &str| -> Vec<String> {
        (1..=(nodes as u64).min(MAX_COMPLETED_NODE))
            .filter(|id| !skip.contains(id))
            .map(|id| id.to_string())
            .filter(|id| id.starts_with(prefix))
            .map(|id| format!("{id}{suffix}"))
            .collect()
    };
    let none = BTreeSet::new();
    match (kind, position) {
        (
            Kind::Kill
            | Kind::Restart
            | Kind::Isolate
            | Kind::Campaign
            | Kind::Snapshot
            | Kind::Transfer
            | Kind::Promote
            | Kind::RemoveNode,
            0,
        ) => node_ids(&none, word, ""),
        (Kind::Slow | Kind::Clock | Kind::Link, 0) => node_ids(&none, word, " "),
        (Kind::Link, 1) => {
            let skip = args
                .first()
                .and_then(|t| t.text.parse::<NodeId>().ok())
                .into_iter()
                .collect();
            node_ids(&skip, word, " ")
        }
        (Kind::Link, _) => {
            let mut used = BTreeSet::new();
            let mut expecting_value = false;
            for t in args.get(2..).unwrap_or_default() {
                if expecting_value {
                    expecting_value = false;
                    continue;
                }
                let k = t.text.to_lowercase();
                expecting_value = matches!(k.as_str(), "delay" | "jitter" | "drop");
                used.insert(k);
            }
            if expecting_value {
                return Vec::new();
            }
            ["cut", "up", "delay", "jitter", "drop"]
                .into_iter()
                .filter(|k| !used.contains(*k))
                .filter(|k| !(*k == "cut" && used.contains("up")))
                .filter(|k| !(*k == "up" && used.contains("cut")))
                .filter(|k| k.starts_with(&lower))
                .map(|k| format!("{k} "))
                .collect()
        }
        (Kind::Nemesis, 0) => ["stop"]
            .into_iter()
            .filter(|k| k.starts_with(&lower))
            .map(String::from)
            .collect(),
        (Kind::History, 0) => ["save"]
            .into_iter()
            .filter(|k| k.starts_with(&lower))
            .map(|k| format!("{k} "))
            .collect(),
        (Kind::Partition, _) => {
            let ids = |s: &str| -> Vec<NodeId> {
                s.split(',')
                    .filter_map(|p| p.trim().parse::<NodeId>().ok())
                    .collect()
            };
            let (done, typed) = match word.rfind(',') {
                Some(i) => word.split_at(i + 1),
                None => ("", word),
            };
            let used: BTreeSet<NodeId> = args
                .iter()
                .flat_map(|t| ids(&t.text))
                .chain(ids(done))
                .collect();
            node_ids(&used, typed, "")
                .into_iter()
                .map(|id| format!("{done}{id}"))
                .collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::prompt::parse;

    const N: usize = 5;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn completes_command_names() {
        assert_eq!(complete("pa", N), strings(&["partition ", "pause "]));
        assert_eq!(complete("PA", N), strings(&["partition ", "pause "]));
        assert_eq!(
            complete("d", N),
            strings(&["del ", "deliver ", "drop ", "dup "])
        );
        assert_eq!(complete("pause", N), strings(&["pause "]));
        assert_eq!(complete("  he", N), strings(&["  heal ", "  help "]));
        assert_eq!(
            complete("s", N),
            strings(&["save ", "share ", "slow ", "snapshot ", "speed ", "step "])
        );
        assert_eq!(complete("sn", N), strings(&["snapshot "]));
        assert_eq!(complete("zz", N), Vec::<String>::new());
        let all = complete("", N);
        assert_eq!(all.len(), COMMANDS.len());
        for entry in COMMANDS {
            let name = entry.usage.split_whitespace().next().unwrap_or("");
            assert!(all.contains(&format!("{name} ")), "{name}");
            assert!(complete(&name[..1], N).contains(&format!("{name} ")));
        }
    }

    #[test]
    fn completes_node_ids() {
        assert_eq!(
            complete("kill ", N),
            strings(&["kill 1", "kill 2", "kill 3", "kill 4", "kill 5"])
        );
        assert_eq!(complete("kill 3", N), strings(&["kill 3"]));
        assert_eq!(complete("timeout 2", N), strings(&["timeout 2"]));
        assert_eq!(
            complete("snapshot ", 3),
            strings(&["snapshot 1", "snapshot 2", "snapshot 3"])
        );
        assert_eq!(complete("compact 2", N), strings(&["compact 2"]));
        assert_eq!(complete("snapshot 2 ", N), Vec::<String>::new());
        assert_eq!(complete("KILL  ", 2), strings(&["KILL  1", "KILL  2"]));
        assert_eq!(complete("kill 1 ", N), Vec::<String>::new());
        assert_eq!(complete("kill 9", N), Vec::<String>::new());
        assert_eq!(complete("slow ", 2), strings(&["slow 1 ", "slow 2 "]));
        assert_eq!(complete("slow 1 ", N), Vec::<String>::new());
        assert_eq!(complete("clock ", 2), strings(&["clock 1 ", "clock 2 "]));
        assert_eq!(complete("link ", 2), strings(&["link 1 ", "link 2 "]));
        assert_eq!(complete("link 1 ", 3), strings(&["link 1 2 ", "link 1 3 "]));
        assert_eq!(complete("kill ", 0), Vec::<String>::new());
        assert_eq!(
            complete("kill 1", 12),
            strings(&["kill 1", "kill 10", "kill 11", "kill 12"])
        );
    }

    #[test]
    fn completes_link_changes() {
        assert_eq!(
            complete("link 1 2 d", N),
            strings(&["link 1 2 delay ", "link 1 2 drop "])
        );
        assert_eq!(
            complete("link 1 2 ", N),
            strings(&[
                "link 1 2 cut ",
                "link 1 2 delay ",
                "link 1 2 drop ",
                "link 1 2 jitter ",
                "link 1 2 up ",
            ])
        );
        assert_eq!(
            complete("link 1 2 delay 5ms ", N),
            strings(&[
                "link 1 2 delay 5ms cut ",
                "link 1 2 delay 5ms drop ",
                "link 1 2 delay 5ms jitter ",
                "link 1 2 delay 5ms up ",
            ])
        );
        assert_eq!(
            complete("link 1 2 cut ", N),
            strings(&[
                "link 1 2 cut delay ",
                "link 1 2 cut drop ",
                "link 1 2 cut jitter "
            ])
        );
        assert_eq!(complete("link 1 2 delay ", N), Vec::<String>::new());
        assert_eq!(complete("link 1 2 drop 0", N), Vec::<String>::new());
    }

    #[test]
    fn completes_nemesis_and_history_subcommands() {
        assert_eq!(complete("ne", N), strings(&["nemesis ", "next "]));
        assert_eq!(complete("nem", N), strings(&["nemesis "]));
        assert_eq!(complete("hi", N), strings(&["hint ", "history "]));
        assert_eq!(complete("his", N), strings(&["history "]));
        assert_eq!(complete("nemesis ", N), strings(&["nemesis stop"]));
        assert_eq!(complete("nemesis S", N), strings(&["nemesis stop"]));
        assert_eq!(complete("nemesis 3", N), Vec::<String>::new());
        assert_eq!(complete("nemesis stop ", N), Vec::<String>::new());
        assert_eq!(complete("history ", N), strings(&["history save "]));
        assert_eq!(complete("history sa", N), strings(&["history save "]));
        assert_eq!(complete("history save ", N), Vec::<String>::new());
        assert_eq!(complete("history save x", N), Vec::<String>::new());
        for line in ["nemesis ", "history "] {
            for c in complete(line, N) {
                let c = c.trim_end();
                if c != "history save" {
                    assert!(parse(c, N).is_ok(), "{c:?}");
                }
            }
        }
    }

    #[test]
    fn completes_partition_groups() {
        assert_eq!(
            complete("partition ", 3),
            strings(&["partition 1", "partition 2", "partition 3"])
        );
        assert_eq!(
            complete("partition 1,", 3),
            strings(&["partition 1,2", "partition 1,3"])
        );
        assert_eq!(complete("partition 1,2 ", 3), strings(&["partition 1,2 3"]));
        assert_eq!(complete("partition 1 2,", 3), strings(&["partition 1 2,3"]));
        assert_eq!(complete("partition 1,2,3 ", 3), Vec::<String>::new());
    }

    #[test]
    fn offers_nothing_for_free_text() {
        for line in [
            "put ",
            "put x",
            "get ",
            "cas x - ",
            "put x \"hello",
            "put \"x\"",
            "speed ",
            "drop ",
            "frobnicate ",
            "pause ",
        ] {
            assert_eq!(complete(line, N), Vec::<String>::new(), "{line:?}");
        }
    }

    #[test]
    fn completions_parse_when_complete() {
        for line in ["kill ", "partition 1,", "link 1 2 "] {
            for c in complete(line, N) {
                let c = c.trim_end();
                if !c.starts_with("link") {
                    assert!(parse(c, N).is_ok(), "{c:?}");
                }
            }
        }
    }
}
