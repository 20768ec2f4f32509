//! The history report of `raftlab check FILE --html REPORT.html` (src/export/history.rs).
//!
//! Small hand-made histories: a linearizable one, whose page names every operation and numbers
//! them in an order that replays through the KV model and respects real time; a stale read,
//! whose page marks the read as conflicting and as the operation that could not be placed, with
//! the failing window drawn; every page parses as XML (it is written XHTML-clean) and fetches
//! nothing. Then a large history, cut and said so, and the binary: the page written whatever
//! the verdict with the verdict's exit code, and a path that cannot be written refused in one
//! line with exit 2.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use raftlab::check::model;
use raftlab::check::{check_report_traced, write_jsonl, KvOp, KvOutput, Operation};
use raftlab::export::history;

const BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

fn op(
    id: u64,
    client: u64,
    at: (u64, Option<u64>),
    op: KvOp,
    output: Option<KvOutput>,
) -> Operation {
    Operation {
        id,
        client,
        invoke_us: at.0,
        complete_us: at.1,
        op,
        output,
        error: at.1.is_none().then(|| "timeout".to_string()),
    }
}

fn put(key: &str, v: &str) -> KvOp {
    KvOp::Put {
        key: key.into(),
        value: v.into(),
    }
}

fn get(key: &str) -> KvOp {
    KvOp::Get { key: key.into() }
}

fn was(v: Option<&str>) -> Option<KvOutput> {
    Some(KvOutput::Put {
        previous: v.map(str::to_string),
    })
}

fn saw(v: Option<&str>) -> Option<KvOutput> {
    Some(KvOutput::Get {
        value: v.map(str::to_string),
    })
}

/// Two keys, concurrent operations, an unknown put that a later read saw, a cas.
fn linearizable() -> Vec<Operation> {
    vec![
        op(0, 1, (0, Some(1_000)), put("x", "1"), was(None)),
        op(1, 2, (500, Some(2_500)), get("x"), saw(Some("1"))),
        op(2, 3, (1_500, Some(3_000)), put("x", "2"), was(Some("1"))),
        op(3, 1, (3_200, Some(4_000)), get("x"), saw(Some("2"))),
        op(4, 2, (2_800, None), put("y", "a"), None),
        op(5, 3, (3_100, Some(3_900)), get("y"), saw(Some("a"))),
        op(
            6,
            1,
            (4_100, Some(4_200)),
            KvOp::Cas {
                key: "x".into(),
                expected: Some("2".into()),
                new_value: "3".into(),
            },
            Some(KvOutput::Cas {
                swapped: true,
                previous: Some("2".into()),
            }),
        ),
    ]
}

/// A read of "old" after "new" was written and acknowledged.
fn stale_read() -> Vec<Operation> {
    vec![
        op(0, 1, (0, Some(1_000)), put("x", "old"), was(None)),
        op(
            1,
            2,
            (1_100, Some(2_000)),
            put("x", "new"),
            was(Some("old")),
        ),
        op(2, 3, (2_100, Some(3_000)), get("x"), saw(Some("old"))),
        op(3, 1, (2_200, Some(2_600)), put("y", "a"), was(None)),
    ]
}

/// One drawn operation, as the page has it.
struct Bar {
    id: u64,
    pos: usize,
    classes: Vec<String>,
    text: String,
}

/// Parses the page as XML (it must be well-formed) and reads its operations.
fn bars(page: &str) -> Vec<Bar> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true, // `<!DOCTYPE html>`
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(page, options)
        .expect("the page is well-formed XML");
    doc.descendants()
        .filter(|n| n.attribute("data-id").is_some())
        .map(|n| Bar {
            id: n
                .attribute("data-id")
                .and_then(|v| v.parse().ok())
                .expect("data-id"),
            pos: n
                .attribute("data-pos")
                .and_then(|v| v.parse().ok())
                .expect("data-pos"),
            classes: n
                .attribute("class")
                .expect("class")
                .split(' ')
                .map(str::to_string)
                .collect(),
            text: n
                .descendants()
                .filter_map(|t| t.text())
                .collect::<Vec<_>>()
                .concat(),
        })
        .collect()
}

fn render(ops: &[Operation]) -> String {
    let report = check_report_traced(ops, BUDGET);
    history::render("test", ops, &report).0
}

#[test]
fn a_linearizable_history_names_every_op_and_numbers_them_in_a_valid_order() {
    let ops = linearizable();
    let page = render(&ops);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(page.contains("class=\"verdict v-ok\">linearizable"));
    let bars = bars(&page);
    assert_eq!(bars.len(), ops.len(), "one bar per operation");
    let by_id: HashMap<u64, &Operation> = ops.iter().map(|op| (op.id, op)).collect();
    for bar in &bars {
        let op = by_id[&bar.id];
        assert!(
            bar.text.contains(&format!("c{} {}", op.client, op.op)),
            "the bar of #{} names it: {}",
            bar.id,
            bar.text
        );
        assert!(
            bar.classes.iter().any(|c| c == "placed"),
            "#{} numbered",
            bar.id
        );
    }
    assert!(bars
        .iter()
        .any(|b| b.classes.iter().any(|c| c == "unknown")));
    // Per key, the numbers are 1..n and replay through the model, respecting real time.
    for key in ["x", "y"] {
        let mut placed: Vec<(usize, &Operation)> = bars
            .iter()
            .map(|b| (b.pos, by_id[&b.id]))
            .filter(|(_, op)| op.key() == key)
            .collect();
        placed.sort_by_key(|&(pos, _)| pos);
        let positions: Vec<usize> = placed.iter().map(|&(pos, _)| pos).collect();
        assert_eq!(positions, (1..=placed.len()).collect::<Vec<_>>(), "{key}");
        let mut state: model::State = None;
        for (i, &(_, op)) in placed.iter().enumerate() {
            state = model::step(&state, &op.op, op.output.as_ref())
                .unwrap_or_else(|| panic!("#{} does not follow in the model", op.id));
            for &(_, later) in &placed[i + 1..] {
                assert!(
                    later.complete_us.is_none_or(|c| c >= op.invoke_us),
                    "#{} returned before #{} was invoked, yet comes after it",
                    later.id,
                    op.id
                );
            }
        }
    }
}

#[test]
fn a_stale_read_is_marked_as_the_op_that_could_not_be_placed() {
    let ops = stale_read();
    let page = render(&ops);
    assert!(page.contains("NOT linearizable: key &quot;x&quot;"));
    let bars = bars(&page);
    let read = bars.iter().find(|b| b.id == 2).expect("the read is drawn");
    for class in ["conflict", "stuck", "win"] {
        assert!(
            read.classes.iter().any(|c| c == class),
            "the read is {class}: {:?}",
            read.classes
        );
    }
    assert!(read.text.contains('✗') && read.text.contains('⊘'));
    assert_eq!(read.pos, 0, "not in the partial linearization");
    // The two puts are the longest partial linearization, in order, and in the window.
    let puts: Vec<(u64, usize)> = bars
        .iter()
        .filter(|b| b.id < 2)
        .map(|b| (b.id, b.pos))
        .collect();
    assert_eq!(puts, vec![(0, 1), (1, 2)]);
    for bar in bars.iter().filter(|b| b.id != 2) {
        assert!(!bar.classes.iter().any(|c| c == "conflict" || c == "stuck"));
    }
    assert_eq!(
        page.matches("class=\"window\"").count(),
        1,
        "one failing window"
    );
    // The failing key is drawn first.
    let x = page.find("data-key=\"x\"").expect("x drawn");
    let y = page.find("data-key=\"y\"").expect("y drawn");
    assert!(x < y);
}

#[test]
fn a_large_history_is_cut_and_says_so() {
    let n = history::MAX_KEY_OPS as u64 + 500;
    let mut ops: Vec<Operation> = (0..n)
        .map(|i| {
            let v = i.to_string();
            let prev = i.checked_sub(1).map(|p| p.to_string());
            op(
                i,
                1,
                (i * 10, Some(i * 10 + 5)),
                put("k", &v),
                was(prev.as_deref()),
            )
        })
        .collect();
    ops.push(op(
        n,
        2,
        (n * 10, Some(n * 10 + 5)),
        get("other"),
        saw(None),
    ));
    let page = render(&ops);
    let bars = bars(&page);
    assert_eq!(bars.len(), history::MAX_KEY_OPS + 1);
    assert!(page.contains("A large history"));
    assert!(page.contains(&format!(
        "the first {} of {n} operations drawn",
        history::MAX_KEY_OPS
    )));
}

fn check(file: &Path, html: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .arg("check")
        .arg(file)
        .arg("--html")
        .arg(html)
        .output()
        .expect("raftlab runs")
}

#[test]
fn check_html_writes_the_page_whatever_the_verdict_and_refuses_a_bad_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, ops, code) in [("good", linearizable(), 0), ("stale", stale_read(), 1)] {
        let file = dir.path().join(format!("{name}.jsonl"));
        write_jsonl(&file, &ops).expect("history written");
        let html = dir.path().join(format!("{name}.html"));
        let out = check(&file, &html);
        assert_eq!(out.status.code(), Some(code), "{name}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("wrote "), "{stdout}");
        let page = std::fs::read_to_string(&html).expect("page written");
        assert_eq!(bars(&page).len(), ops.len());
    }
    let file = dir.path().join("good.jsonl");
    for bad in [
        dir.path().join("no/such/dir/r.html"),
        dir.path().to_path_buf(),
    ] {
        let out = check(&file, &bad);
        assert_eq!(out.status.code(), Some(2), "{}", bad.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("raftlab check: cannot write"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "refused before the check");
    }
}
