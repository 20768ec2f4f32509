//! Tests of the history recorder: outcomes and times, dropped and in-flight operations, many threads, and the JSONL format.

use super::*;

fn put(key: &str, value: &str) -> KvOp {
    KvOp::Put {
        key: key.into(),
        value: value.into(),
    }
}

#[test]
fn outcomes_are_recorded_with_their_times() {
    let history = History::new();
    let a = history.invoke(1, put("x", "1"));
    let b = history.invoke(2, KvOp::Get { key: "x".into() });
    let c = history.invoke(3, KvOp::Delete { key: "x".into() });
    assert_eq!((a.id(), b.id(), c.id()), (0, 1, 2));
    a.complete(Outcome::Ok(KvOutput::Put { previous: None }));
    b.complete(Outcome::Failed("not leader".into()));
    c.complete(Outcome::Unknown("timeout".into()));
    let ops = history.operations();
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[0].status(), OpStatus::Ok);
    assert_eq!(ops[1].status(), OpStatus::Failed);
    assert_eq!(ops[1].error.as_deref(), Some("not leader"));
    assert_eq!(ops[2].status(), OpStatus::Unknown);
    assert_eq!(ops[2].complete_us, None);
    assert!(ops[0].invoke_us <= ops[1].invoke_us);
    assert!(ops[0].complete_us >= Some(ops[0].invoke_us));
    let counts = history.counts();
    assert_eq!(
        counts,
        Counts {
            ok: 1,
            failed: 1,
            unknown: 1,
            in_flight: 0
        }
    );
}

#[test]
fn a_dropped_pending_is_unknown_and_one_in_flight_reads_as_unknown() {
    let history = History::new();
    drop(history.invoke(1, put("x", "1")));
    let open = history.invoke(1, put("x", "2"));
    let ops = history.operations();
    assert_eq!(ops[0].status(), OpStatus::Unknown);
    assert_eq!(ops[0].error.as_deref(), Some(DROPPED));
    assert_eq!(ops[1].status(), OpStatus::Unknown);
    assert_eq!(ops[1].error.as_deref(), Some(IN_FLIGHT));
    assert_eq!(history.counts().in_flight, 1);
    assert_eq!(history.counts().unknown, 1);
    open.complete(Outcome::Ok(KvOutput::Put { previous: None }));
    assert_eq!(history.counts().in_flight, 0);
    assert_eq!(history.counts().ok, 1);
}

#[test]
fn clients_on_many_threads_share_one_history() {
    let history = History::new();
    let threads: Vec<_> = (0..4)
        .map(|client| {
            let history = history.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let pending = history.invoke(client, put("x", &i.to_string()));
                    pending.complete(Outcome::Ok(KvOutput::Put { previous: None }));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(history.len(), 400);
    let ops = history.operations();
    assert!(ops.iter().enumerate().all(|(i, op)| op.id == i as u64));
    assert!(ops.windows(2).all(|w| w[0].invoke_us <= w[1].invoke_us));
}

#[test]
fn jsonl_round_trip() {
    let history = History::new();
    history
        .invoke(1, put("x", "a\"b\n"))
        .complete(Outcome::Ok(KvOutput::Put { previous: None }));
    history
        .invoke(
            2,
            KvOp::Cas {
                key: "x".into(),
                expected: None,
                new_value: "z".into(),
            },
        )
        .complete(Outcome::Ok(KvOutput::Cas {
            swapped: false,
            previous: Some("a\"b\n".into()),
        }));
    history
        .invoke(
            3,
            KvOp::Append {
                key: "y".into(),
                value: "q".into(),
            },
        )
        .complete(Outcome::Failed("refused".into()));
    drop(history.invoke(4, KvOp::Get { key: "y".into() }));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    history.write_jsonl(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert_eq!(read_jsonl(&path).unwrap(), history.operations());
}

#[test]
fn a_bad_line_is_named_by_its_number() {
    let good = r#"{"id":0,"client":1,"invoke_us":1,"complete_us":2,"op":{"type":"get","key":"x"},"output":{"type":"get","value":null}}"#;
    let text = format!("{good}\n\n{good}\n{{\"id\": 3, \"client\": \n");
    let err = parse_jsonl(text.as_bytes()).unwrap_err();
    assert!(matches!(err, ReadError::Parse { line: 4, .. }), "{err:?}");
    assert!(err.to_string().starts_with("line 4: "), "{err}");
    let wrong_kind = good.replace("\"get\",\"key\"", "\"frobnicate\",\"key\"");
    let err = parse_jsonl(format!("{good}\n{wrong_kind}\n").as_bytes()).unwrap_err();
    assert!(err.to_string().starts_with("line 2: "), "{err}");
    assert_eq!(
        parse_jsonl(format!("{good}\n\n").as_bytes()).unwrap().len(),
        1
    );
}
