//! Tests of scenario conditions: what holds on a fake cluster, why what fails fails, and where
//! a condition that does not parse is wrong.

use super::*;
use crate::raft::Status;

struct Fake {
    status: ClusterStatus,
    logs: BTreeMap<NodeId, Vec<(Index, Term)>>,
    kv: BTreeMap<NodeId, Vec<(String, String)>>,
}

impl Source for Fake {
    fn status(&self) -> ClusterStatus {
        self.status.clone()
    }
    async fn log_terms(&self, id: NodeId, lo: Index, hi: Index) -> Option<Vec<(Index, Term)>> {
        let log = self.logs.get(&id)?;
        Some(
            log.iter()
                .copied()
                .filter(|(i, _)| (lo..=hi).contains(i))
                .collect(),
        )
    }
    async fn kv(&self, id: NodeId) -> Option<Vec<(String, String)>> {
        self.kv.get(&id).cloned()
    }
}

fn node(id: NodeId, up: bool, role: Role, term: Term, log: &[Term], commit: Index) -> NodeState {
    NodeState {
        id,
        addr: "127.0.0.1:1".parse().unwrap(),
        up,
        status: Status {
            id,
            role,
            term,
            voted_for: None,
            leader_id: None,
            commit,
            applied: commit,
            last_log_index: log.len() as u64,
            last_log_term: log.last().copied().unwrap_or(0),
            persisted_index: log.len() as u64,
            first_index: 1,
            snapshot_index: 0,
            snapshot_term: 0,
            snapshot_bytes: 0,
            receiving_snapshot: None,
            election_elapsed: 0,
            election_timeout: 10,
            progress: vec![],
            pre_candidate: false,
            transfer_target: None,
            voters: Vec::new(),
            learners: Vec::new(),
            conf_pending: false,
        },
        kv_len: 0,
        clock_rate: 1.0,
        slow: std::time::Duration::ZERO,
    }
}

fn fake(nodes: Vec<(NodeState, Vec<Term>)>) -> Fake {
    let logs = nodes
        .iter()
        .map(|(n, l)| {
            (
                n.id,
                l.iter()
                    .enumerate()
                    .map(|(i, t)| (i as u64 + 1, *t))
                    .collect(),
            )
        })
        .collect();
    let kv = nodes
        .iter()
        .filter(|(n, _)| n.up)
        .map(|(n, _)| (n.id, vec![("x".to_string(), "1".to_string())]))
        .collect();
    Fake {
        status: ClusterStatus {
            nodes: nodes.into_iter().map(|(n, _)| n).collect(),
            paused: false,
            speed: 1.0,
            preset: crate::cluster::Preset::Fast,
            tick: std::time::Duration::from_millis(10),
            groups: vec![],
            cut_links: vec![],
        },
        logs,
        kv,
    }
}

/// Node 1 leads term 3; node 2 follows with the same log; node 3 diverged; node 4 is down.
fn cluster() -> Fake {
    fake(vec![
        (node(1, true, Role::Leader, 3, &[1, 1, 3], 3), vec![1, 1, 3]),
        (
            node(2, true, Role::Follower, 3, &[1, 1, 3], 3),
            vec![1, 1, 3],
        ),
        (
            node(3, true, Role::Follower, 3, &[1, 2, 2], 2),
            vec![1, 2, 2],
        ),
        (node(4, false, Role::Follower, 1, &[1], 1), vec![1]),
    ])
}

fn holds(text: &str, vars: &[(&str, u64)]) -> Result<(), Unmet> {
    let c = Condition::parse(text, 4).unwrap_or_else(|e| panic!("{text}: {e}"));
    let vars: Vars = vars.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let ops = OpsTracker::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(c.eval(&cluster(), &vars, Some(&ops)))
}

#[test]
fn conditions_that_hold() {
    for text in [
        "leader",
        "leader 1",
        "leader is 1",
        "leader != 2",
        "node 4 is down",
        "3 is follower",
        "node 1 is up",
        "term == 3",
        "term all >= 3",
        "commit any < 3",
        "commit 2 == leader",
        "commit 3 < commit 1",
        "vote 1 == 0",
        "last == 3 and lastterm 3 == 2",
        "count follower == 2",
        "count down >= 1",
        "log 2 == leader",
        "log 3 != 1",
        "kv 2 x == 1",
        "kv 1 y absent",
        "ops done",
        "leader {l} and commit >= {c-1}",
        "term > {t+1}",
    ] {
        let r = holds(text, &[("l", 1), ("c", 3), ("t", 1)]);
        assert_eq!(r, Ok(()), "{text}");
    }
}

#[test]
fn conditions_that_fail_say_why() {
    for (text, why) in [
        ("no leader", "node 1 is leader"),
        ("leader 2", "the leader is node 1"),
        ("leader != 1", "the leader is node 1"),
        ("node 2 is candidate", "not so"),
        ("commit >= 3", "node 3 has commit 2"),
        ("commit any > 3", "has commit"),
        ("log 3 == leader", "node 3 ends at 3/2, node 1 at 3/3"),
        ("logs agree", "node 2 ends at 3/3, node 3 at 3/2"),
        ("log 4 == leader", "node 4 is down"),
        ("kv 2 x == 2", "x = \"1\""),
        ("kv 2 z == 2", "no key z"),
        ("last op ok", "no client operation"),
        ("count leader > 1", "1 such nodes"),
        ("leader and term > 3", "node 1 has term 3"),
    ] {
        let r = holds(text, &[]);
        let e = r.expect_err(text);
        assert!(e.0.contains(why), "{text}: {e:?} lacks {why:?}");
    }
}

#[test]
fn bad_conditions_are_refused() {
    for text in [
        "",
        "leader is",
        "leader is banana",
        "leader 9",
        "term",
        "term >",
        "term > x",
        "term ~ 3",
        "commit 2 >= 3 4",
        "node 2 is king",
        "log 2 = leader",
        "kv 2",
        "kv 2 x",
        "and leader",
        "ops",
        "frob",
        "term > {1x}",
        "term > {x+y}",
    ] {
        assert!(Condition::parse(text, 4).is_err(), "{text:?} parsed");
    }
}

#[test]
fn display_gives_back_the_text() {
    let c = Condition::parse("  leader   != {old} and  term > 2 ", 3).unwrap();
    assert_eq!(c.to_string(), "leader != {old} and term > 2");
    assert_eq!(c.vars(), vec!["old"]);
}

#[test]
fn placeholders_substitute_with_offsets() {
    let look = |n: &str| (n == "a").then_some(5);
    assert_eq!(substitute("kill {a}", &look).unwrap().line, "kill 5");
    assert_eq!(
        substitute("partition {a},{a-1} {a+2}", &look).unwrap().line,
        "partition 5,4 7"
    );
    assert!(substitute("kill {b}", &look).is_err());
    assert!(substitute("kill {a", &look).is_err());
    assert!(substitute("kill {a-9}", &look).is_err());
    assert_eq!(
        placeholders("x {a} {b+1}").unwrap(),
        vec![
            ("a".to_string(), Span::new(2, 5)),
            ("b".to_string(), Span::new(6, 11))
        ]
    );
}

#[test]
fn captures_remember_what_they_name() {
    let st = cluster().status;
    let vars = Vars::new();
    let eval = |t: &str| Capture::parse(t, 4).unwrap().eval(&st, &vars);
    assert_eq!(eval("l = leader"), Ok(1));
    assert_eq!(eval("f = follower 2"), Ok(3));
    assert_eq!(eval("c = commit 3"), Ok(2));
    assert_eq!(eval("t = term leader"), Ok(3));
    assert_eq!(eval("n = 7"), Ok(7));
    assert!(eval("f = follower 3").is_err());
    assert!(Capture::parse("1x = leader", 4).is_err());
    assert!(Capture::parse("x leader", 4).is_err());
    assert!(Capture::parse("x = follower 9", 4).is_err());
}

/// The text under each error's span, drawn as carets under the condition.
#[test]
fn condition_errors_point_at_the_word() {
    for (text, want) in [
        ("leader is banana", "          ^^^^^^"),
        ("leader 9", "       ^"),
        ("leader is", "          ^"),
        ("term", "     ^"),
        ("term >", "       ^"),
        ("term > x", "       ^"),
        ("term ~ 3", "     ^"),
        ("commit 2 >= 3 4", "              ^"),
        ("node 2 is king", "          ^^^^"),
        ("kv 2", "     ^"),
        ("and leader", "^"),
        ("leader and and term > 1", "           ^"),
        ("leader and", "           ^"),
        ("leader and log 2 = leader", "                 ^"),
        ("ops", "    ^"),
        ("frob", "^^^^"),
        ("term > {1x}", "       ^^^^"),
        ("term > {x+y}", "       ^^^^^"),
        ("   ", "^^^"),
    ] {
        let e = Condition::parse(text, 4).expect_err(text);
        assert_eq!(e.span.carets(text), want, "{text:?}: {e}");
    }
}

#[test]
fn capture_errors_point_at_the_word() {
    for (text, want) in [
        ("1x = leader", "^^"),
        ("x = follower 9", "             ^"),
        ("x = commit 7", "           ^"),
        ("x = banana", "    ^^^^^^"),
        ("x leader", "^^^^^^^^"),
        ("x = a b c", "    ^^^^^"),
    ] {
        let e = Capture::parse(text, 4).expect_err(text);
        assert_eq!(e.span.carets(text), want, "{text:?}: {e}");
    }
}

#[test]
fn substituted_spans_map_back_to_the_placeholders() {
    let s = substitute("partition {a},{a-1} {a+2}", &|_| Some(5)).unwrap();
    assert_eq!(s.line, "partition 5,4 7");
    assert_eq!(s.original(Span::new(0, 9)), Span::new(0, 9));
    assert_eq!(s.original(Span::new(12, 13)), Span::new(14, 19));
    assert_eq!(s.original(Span::new(14, 15)), Span::new(20, 25));
    assert_eq!(s.original(Span::at(16)), Span::at(26));
    let e = substitute("kill {b} {a", &|_| Some(1)).unwrap_err();
    assert_eq!(e.span, Span::new(9, 11), "{e}");
    let e = substitute("kill {b} {a}", &|n| (n == "a").then_some(1)).unwrap_err();
    assert_eq!(e.to_string(), "{b} has no value");
    assert_eq!(e.span, Span::new(5, 8));
    let e = substitute("kill {a-9}", &|_| Some(1)).unwrap_err();
    assert_eq!(e.to_string(), "1 -9 is out of range");
    assert_eq!(e.span, Span::new(5, 10));
}

#[test]
fn history_atoms_count_what_happened() {
    use crate::node::{Event, EventKind};
    use crate::raft::TraceEvent;
    let mut h = EventHistory::new();
    let trace = |node, t| Event {
        at: std::time::Duration::ZERO,
        node,
        kind: EventKind::Trace(t),
    };
    h.observe_status(&cluster().status);
    // Node 3 held entries up to 3; a leader cuts it from 2.
    h.observe(&trace(
        3,
        TraceEvent::LogTruncated {
            from_index: 2,
            leader: 1,
        },
    ));
    h.observe(&Event {
        at: std::time::Duration::ZERO,
        node: 4,
        kind: EventKind::NodeDown("killed".into()),
    });
    let eval = |text: &str| {
        let c = Condition::parse(text, 4).unwrap_or_else(|e| panic!("{text}: {e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(c.eval_with_history(&cluster(), &Vars::new(), None, Some(&h)))
    };
    for text in [
        "replaced 3 == 2",
        "replaced >= 2",
        "replaced 2 == 0",
        "kills == 1",
        "split votes == 0",
        "leaders at once < 2",
        "stale appends == 0",
        "snapshots installed == 0",
        "snapshots installed 3 == 0",
        "lost commits == 0",
        "stale reads == 0 and leader 1",
    ] {
        assert_eq!(eval(text), Ok(()), "{text}");
    }
    let e = eval("replaced 3 >= 3").unwrap_err();
    assert!(e.0.contains("replaced 3 is 2"), "{e:?}");
    // Without a history (a scenario), a history atom is never met, and says why.
    let e = holds("kills == 0", &[]).unwrap_err();
    assert!(e.0.contains("only a challenge"), "{e:?}");
    for bad in [
        "split",
        "split votes",
        "leaders at twice >= 2",
        "replaced 9 >= 1",
        "replaced leader >= 1",
        "stale writes >= 1",
        "kills >= 1 2",
    ] {
        assert!(Condition::parse(bad, 4).is_err(), "{bad:?} parsed");
    }
}
