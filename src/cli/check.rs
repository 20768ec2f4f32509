//! `raftlab check FILE`: judges a saved history (JSON lines from `chaos --history`,
//! `bench --history` or the dashboard's `:history save`) with the linearizability checker;
//! `--html REPORT.html` also draws it as a page ([`crate::export::history`]).

use std::process::ExitCode;

use super::args::CheckArgs;

/// `raftlab check FILE [--html REPORT.html]`.
pub fn main(args: &CheckArgs) -> ExitCode {
    let ops = match crate::check::read_jsonl(&args.file) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("raftlab check: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    // A page that cannot be written is refused before the check, which may take minutes.
    if let Some(html) = &args.html {
        if let Err(e) = crate::export::history::probe(html) {
            eprintln!("raftlab check: {e}");
            return ExitCode::from(2);
        }
    }
    let report = if args.html.is_some() {
        crate::check::check_report_traced(&ops, args.budget)
    } else {
        crate::check::check_report(&ops, args.budget)
    };
    let keys = report.keys.len();
    println!(
        "{} operations on {keys} keys checked in {:.3} s",
        ops.len(),
        report.elapsed.as_secs_f64()
    );
    println!("{}", report.result);
    let verdict = match report.result {
        crate::check::CheckResult::Linearizable => ExitCode::SUCCESS,
        crate::check::CheckResult::NotLinearizable { .. } => ExitCode::FAILURE,
        crate::check::CheckResult::GaveUp { .. } => ExitCode::from(3),
    };
    if let Some(html) = &args.html {
        let title = format!("raftlab check {}", args.file.display());
        match crate::export::history::write(html, &title, &ops, &report) {
            Ok((bytes, drawn)) => println!(
                "wrote {} ({}, {} operations on {} keys drawn{})",
                html.display(),
                crate::observe::format::bytes(bytes),
                drawn.ops,
                drawn.keys,
                if drawn.cut {
                    "; a large history: the page says what was left out"
                } else {
                    ""
                }
            ),
            Err(e) => {
                eprintln!("raftlab check: {e}");
                return ExitCode::from(2);
            }
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_judges_a_saved_history_and_refuses_a_bad_file() {
        use crate::check::{History, KvOp, KvOutput, Outcome};
        let dir = tempfile::tempdir().unwrap();
        let h = History::new();
        let put = |v: &str| KvOp::Put {
            key: "x".into(),
            value: v.into(),
        };
        h.invoke(1, put("1"))
            .complete(Outcome::Ok(KvOutput::Put { previous: None }));
        h.invoke(1, put("2")).complete(Outcome::Ok(KvOutput::Put {
            previous: Some("1".into()),
        }));
        let good = dir.path().join("good.jsonl");
        h.write_jsonl(&good).unwrap();
        let args = |file| CheckArgs {
            file,
            budget: std::time::Duration::from_secs(10),
            html: None,
        };
        assert_eq!(main(&args(good)), ExitCode::SUCCESS);
        // A read after the second put that returns the first value: a stale read.
        h.invoke(2, KvOp::Get { key: "x".into() })
            .complete(Outcome::Ok(KvOutput::Get {
                value: Some("1".into()),
            }));
        let stale = dir.path().join("stale.jsonl");
        h.write_jsonl(&stale).unwrap();
        assert_eq!(main(&args(stale)), ExitCode::FAILURE);
        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, "{not json\n").unwrap();
        assert_eq!(main(&args(bad)), ExitCode::from(2));
        assert_eq!(
            main(&args(dir.path().join("missing.jsonl"))),
            ExitCode::from(2)
        );
    }
}
