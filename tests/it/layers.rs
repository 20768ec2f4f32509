//! The layer table in `src/lib.rs`'s doc is the truth, not a comment: every module imports only
//! from the modules below it. This test reads the table, then every `.rs` file under `src/`,
//! finds the `crate::<module>` paths in its code (comments, doc comments and string literals
//! do not count; `super::` paths that climb to the crate root count as `crate::`), and fails
//! on any path to a module higher in the table, with its file, line and arrow. A top-level
//! module missing from the table (or a row of the table naming no module) fails too.
//!
//! ```text
//!   src/lib.rs //! table ─► [cli, tui, record, ..., raft]   (top first)
//!   src/**/*.rs ─► code_only ─► tokens ─► crate::<module> ─► file's module below it? ─► ok / arrow up
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The crate's source directory.
fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The modules of the layer table in `lib`'s leading `//!` doc, top first: the first word of
/// each row of its ```` ```text ```` block (rows that start with a space continue the row above).
fn layer_table(lib: &str) -> Result<Vec<String>, String> {
    let doc: Vec<&str> = lib
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let start = doc
        .iter()
        .position(|l| l.trim() == "```text")
        .ok_or("src/lib.rs: its doc has no ```text block holding the layer table")?;
    let mut layers = Vec::new();
    for row in &doc[start + 1..] {
        if row.trim_start().starts_with("```") {
            return Ok(layers);
        }
        if row.is_empty() || row.starts_with(char::is_whitespace) {
            continue;
        }
        let name = row.split_whitespace().next().unwrap_or_default();
        if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(format!(
                "src/lib.rs: layer table row {row:?} does not start with a module name"
            ));
        }
        layers.push(name.to_string());
    }
    Err("src/lib.rs: the layer table's ```text block is not closed".into())
}

/// `text` with comments (line, block, doc), string literals (plain, byte, raw) and char
/// literals blanked to spaces; newlines are kept, so line numbers stay true.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = c.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for ch in &mut out[from..to.min(c.len())] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    };
    let ident = |i: usize| c[i].is_alphanumeric() || c[i] == '_';
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '/' if c.get(i + 1) == Some(&'/') => {
                let end = (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len());
                blank(&mut out, i, end);
                i = end;
            }
            '/' if c.get(i + 1) == Some(&'*') => {
                let (mut depth, mut j) = (1, i + 2);
                while j < c.len() && depth > 0 {
                    if c[j] == '/' && c.get(j + 1) == Some(&'*') {
                        depth += 1;
                        j += 2;
                    } else if c[j] == '*' && c.get(j + 1) == Some(&'/') {
                        depth -= 1;
                        j += 2;
                    } else {
                        j += 1;
                    }
                }
                blank(&mut out, i, j);
                i = j;
            }
            // A raw string: r"..", r#".."#, br#".."# (the `r` starts a token).
            'r' if (i == 0 || !ident(i - 1) || (c[i - 1] == 'b' && (i < 2 || !ident(i - 2))))
                && {
                    let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
                    c.get(i + 1 + hashes) == Some(&'"')
                } =>
            {
                let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
                let body = i + 2 + hashes;
                let mut j = body;
                while j < c.len() {
                    if c[j] == '"'
                        && c[j + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&h| h == '#')
                            .count()
                            == hashes
                    {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                blank(&mut out, i, j);
                i = j;
            }
            '"' => {
                let mut j = i + 1;
                while j < c.len() && c[j] != '"' {
                    j += if c[j] == '\\' { 2 } else { 1 };
                }
                blank(&mut out, i, j + 1);
                i = j + 1;
            }
            // A char literal ('x', '\n', '\u{1F600}'); a lifetime or a label ('a) stays.
            '\'' => {
                if c.get(i + 1) == Some(&'\\') {
                    let end = (i + 3..c.len()).find(|&j| c[j] == '\'').unwrap_or(c.len());
                    blank(&mut out, i, end + 1);
                    i = end + 1;
                } else if c.get(i + 2) == Some(&'\'') {
                    blank(&mut out, i, i + 3);
                    i += 3;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out.into_iter().collect()
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    /// `::`
    Path,
    Punct(char),
}

/// The tokens of code (as [`code_only`] leaves it), each with its line (from 1).
fn tokens(code: &str) -> Vec<(usize, Token)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((line, Token::Ident(c[start..i].iter().collect())));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((line, Token::Path));
            i += 2;
        } else {
            out.push((line, Token::Punct(ch)));
            i += 1;
        }
    }
    out
}

/// The names right after a path prefix ending at `t[at]` (the token after its last `::`):
/// `x` for `..::x`, and each first name of a group for `..::{x::y, z}`.
fn names_after(t: &[(usize, Token)], at: usize) -> Vec<(usize, String)> {
    match t.get(at) {
        Some((line, Token::Ident(name))) => vec![(*line, name.clone())],
        Some((_, Token::Punct('{'))) => {
            let mut out = Vec::new();
            let (mut depth, mut item_start) = (0usize, true);
            for (line, tok) in &t[at..] {
                match tok {
                    Token::Punct('{') => {
                        depth += 1;
                        item_start = depth == 1;
                        continue;
                    }
                    Token::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Token::Punct(',') if depth == 1 => {
                        item_start = true;
                        continue;
                    }
                    Token::Ident(name) if item_start && depth == 1 && name != "self" => {
                        out.push((*line, name.clone()));
                    }
                    _ => {}
                }
                item_start = false;
            }
            out
        }
        _ => Vec::new(),
    }
}

/// The top-level modules named by the code of a file `depth` modules below the crate root
/// (`src/a.rs`: 1, `src/a/b.rs`: 2), with their lines: `crate::x` paths, and `super::` paths
/// that climb to the root (inline `mod m { .. }` blocks counted).
fn references(code: &str, depth: usize) -> Vec<(usize, String)> {
    let t = tokens(code);
    let mut out = Vec::new();
    // One entry per open brace: whether it opened an inline module.
    let mut braces: Vec<bool> = Vec::new();
    let mut next_brace_is_mod = false;
    let ident = |i: usize, s: &str| matches!(t.get(i), Some((_, Token::Ident(x))) if x == s);
    let path_at = |i: usize| matches!(t.get(i), Some((_, Token::Path)));
    for i in 0..t.len() {
        let after_path = i > 0 && (path_at(i - 1) || t[i - 1].1 == Token::Punct('$'));
        match &t[i].1 {
            Token::Punct('{') => {
                braces.push(next_brace_is_mod);
                next_brace_is_mod = false;
            }
            Token::Punct('}') => {
                braces.pop();
            }
            Token::Punct(';') => next_brace_is_mod = false,
            Token::Ident(w) if w == "mod" => {
                next_brace_is_mod = matches!(t.get(i + 1), Some((_, Token::Ident(_))))
                    && t.get(i + 2).map(|x| &x.1) == Some(&Token::Punct('{'));
            }
            Token::Ident(w) if w == "crate" && !after_path && path_at(i + 1) => {
                out.extend(names_after(&t, i + 2));
            }
            Token::Ident(w) if w == "super" && !after_path => {
                let mut ups = 0;
                let mut j = i;
                while ident(j, "super") && path_at(j + 1) {
                    ups += 1;
                    j += 2;
                }
                let inline = braces.iter().filter(|m| **m).count();
                if ups > 0 && ups == depth + inline {
                    out.extend(names_after(&t, j));
                }
            }
            _ => {}
        }
    }
    out
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The crate roots, which belong to no layer.
const ROOTS: [&str; 2] = ["lib.rs", "main.rs"];

/// The top-level modules in `src`: its `.rs` files (the roots aside) and its directories.
fn top_level_modules(src: &Path) -> BTreeSet<String> {
    let entries = std::fs::read_dir(src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    entries
        .map(|e| e.expect("a directory entry").path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            if p.is_dir() {
                Some(name)
            } else if ROOTS.contains(&name.as_str()) {
                None
            } else {
                name.strip_suffix(".rs").map(str::to_string)
            }
        })
        .collect()
}

/// The arrows up in `files` (path relative to `src/`, text) against `table` (top first), as
/// `file:line: from -> to (crate::to)`.
fn arrows_up(table: &[String], files: &[(String, String)]) -> Vec<String> {
    let rank = |m: &str| table.iter().position(|l| l == m);
    let mut out = Vec::new();
    for (rel, text) in files {
        let parts: Vec<&str> = rel.split('/').collect();
        if parts.len() == 1 && ROOTS.contains(&parts[0]) {
            continue;
        }
        let from = parts[0].trim_end_matches(".rs");
        let Some(from_rank) = rank(from) else {
            continue; // every_top_level_module_is_in_the_layer_table says so
        };
        for (line, to) in references(&code_only(text), parts.len()) {
            if rank(&to).is_some_and(|to_rank| to_rank < from_rank) {
                out.push(format!("src/{rel}:{line}: {from} -> {to} (crate::{to})"));
            }
        }
    }
    out
}

/// Every `.rs` file under `src/`, relative path (with `/`) and text.
fn sources() -> Vec<(String, String)> {
    let src = src();
    rust_files(&src)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).expect("under src/");
            let rel: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (rel.join("/"), text)
        })
        .collect()
}

fn table() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("src/lib.rs");
    layer_table(&lib).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let table = table();
    let up = arrows_up(&table, &sources());
    assert!(
        up.is_empty(),
        "{} import(s) point up the layer table of src/lib.rs ({}):\n{}",
        up.len(),
        table.join(" > "),
        up.join("\n")
    );
}

#[test]
fn every_top_level_module_is_in_the_layer_table() {
    let table = table();
    let listed: BTreeSet<String> = table.iter().cloned().collect();
    assert_eq!(
        listed.len(),
        table.len(),
        "a module is listed twice: {table:?}"
    );
    let present = top_level_modules(&src());
    let missing: Vec<&String> = present.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "top-level modules in src/ but not in src/lib.rs's layer table: {missing:?}; add a row for each where it belongs"
    );
    let stale: Vec<&String> = listed.difference(&present).collect();
    assert!(
        stale.is_empty(),
        "layer table rows naming no module in src/: {stale:?}"
    );
}

#[test]
fn the_reader_sees_code_only() {
    let text = r####"
//! Uses crate::tui in a doc comment.
/* crate::tui /* nested crate::tui */ still a comment */
use crate::{raft::NodeId, observe::{feed, format}};
use crate::cluster as c;
let s = "crate::tui \" crate::tui";
let r = r#"crate::tui "# ;
let ch = '"'; let lt: &'static str = "x"; let q = '\'';
fn f<'a>() { crate::tui::run(); } // crate::record
pub(crate) fn g() { super::record::x(); }
mod tests { use super::*; fn h() { super::super::chaos::y(); super::scenario::z(); } }
"####;
    let refs: Vec<(usize, String)> = references(&code_only(text), 1);
    let want: Vec<(usize, String)> = [
        (4, "raft"),
        (4, "observe"),
        (5, "cluster"),
        (9, "tui"),
        (10, "record"),
        (11, "chaos"),
    ]
    .iter()
    .map(|(l, m)| (*l, m.to_string()))
    .collect();
    assert_eq!(refs, want);
}

#[test]
fn an_arrow_up_is_caught_and_one_down_is_not() {
    let table: Vec<String> = ["tui", "record", "observe", "raft"]
        .map(String::from)
        .to_vec();
    let files = vec![
        (
            "record.rs".to_string(),
            "use crate::observe::feed;\n".to_string(),
        ),
        (
            "record/writer.rs".to_string(),
            "//! doc\n\nuse crate::{raft, tui::app::Theme};\n".to_string(),
        ),
        (
            "observe/feed.rs".to_string(),
            "fn f() { super::super::record::x(); }\n".to_string(),
        ),
    ];
    assert_eq!(
        arrows_up(&table, &files),
        [
            "src/record/writer.rs:3: record -> tui (crate::tui)",
            "src/observe/feed.rs:1: observe -> record (crate::record)",
        ]
    );
    assert_eq!(
        layer_table("//! x\n//!\n//! ```text\n//! a   first\n//!     more of a\n//! b_c second\n//! ```\nuse x;\n"),
        Ok(vec!["a".to_string(), "b_c".to_string()])
    );
}
