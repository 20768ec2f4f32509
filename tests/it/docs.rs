//! The documentation's links: every relative link in README.md, CHANGELOG.md, assets/README.md
//! and docs/*.md must point at a file or directory of the repository, and a `#anchor` into a
//! Markdown file at one of its headings (GitHub's slug of the heading's text).
//!
//! Links with a scheme (`https://...`, `mailto:`) are left alone; links inside fenced code blocks
//! and code spans are not links. Pure std: a small scanner for the Markdown this repository
//! writes (inline links, images, reference definitions, ATX headings), not a full parser.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files whose links are checked, relative to `root`: the top-level README.md and
/// CHANGELOG.md, assets/README.md, and every `.md` file in docs/.
fn checked_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["README.md", "CHANGELOG.md", "assets/README.md"]
        .iter()
        .map(PathBuf::from)
        .collect();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| p.strip_prefix(root).expect("under root").to_path_buf())
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let root = root();
    let files = checked_files(&root);
    assert!(
        files.iter().any(|f| f.starts_with("docs")),
        "no Markdown file found in docs/"
    );
    let broken = broken_links(&root, &files);
    assert!(
        broken.is_empty(),
        "{} broken link(s):\n  {}",
        broken.len(),
        broken.join("\n  ")
    );
}

#[test]
fn a_missing_file_and_a_missing_heading_are_reported() {
    let dir = std::env::temp_dir().join(format!("raftlab-docs-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("docs")).expect("temp dir");
    std::fs::write(
        dir.join("README.md"),
        "# Top\n\nSee [the tour](docs/tour.md#the-ring), [gone](docs/gone.md),\n\
         [no such heading](docs/tour.md#the-moon) and [here](#top).\n\n\
         ```text\n[not a link](nowhere.md)\n```\n\n`[nor this](nowhere.md)`\n",
    )
    .expect("write README");
    std::fs::write(dir.join("docs/tour.md"), "# Tour\n\n## The ring\n").expect("write tour");
    let broken = broken_links(&dir, &[PathBuf::from("README.md")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(broken.len(), 2, "{broken:#?}");
    assert!(broken[0].contains("README.md:3") && broken[0].contains("docs/gone.md"));
    assert!(broken[1].contains("#the-moon"), "{}", broken[1]);
}

#[test]
fn slugs_follow_github() {
    let slugs = |text: &str| heading_slugs(text).into_iter().collect::<Vec<_>>();
    assert_eq!(
        slugs("## `raftlab`: the dashboard\n"),
        ["raftlab-the-dashboard"]
    );
    assert_eq!(
        slugs("### The Ready/advance contract"),
        ["the-readyadvance-contract"]
    );
    assert_eq!(
        slugs("## Real time, and Figure 8 ##"),
        ["real-time-and-figure-8"]
    );
    assert_eq!(slugs("# A [link](x.md) — here"), ["a-link--here"]);
    let mut dup = slugs("## Notes\n## Notes\n```\n## not a heading\n```\n## Notes");
    dup.sort();
    assert_eq!(dup, ["notes", "notes-1", "notes-2"]);
}

/// Every broken link of `files` (relative to `root`), as `file:line: [text](target): why`.
fn broken_links(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut slug_cache: BTreeMap<PathBuf, HashSet<String>> = BTreeMap::new();
    let mut broken = Vec::new();
    for file in files {
        let path = root.join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for link in links(&text) {
            if let Err(why) = check_link(root, file, &link.target, &mut slug_cache) {
                broken.push(format!(
                    "{}:{}: ({}): {why}",
                    file.display(),
                    link.line,
                    link.target
                ));
            }
        }
    }
    broken
}

/// Checks one link target found in `file`.
fn check_link(
    root: &Path,
    file: &Path,
    target: &str,
    slug_cache: &mut BTreeMap<PathBuf, HashSet<String>>,
) -> Result<(), String> {
    if has_scheme(target) {
        return Ok(());
    }
    let (path_part, anchor) = match target.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (target, None),
    };
    let path_part = path_part.replace("%20", " ");
    let resolved = if path_part.is_empty() {
        file.to_path_buf()
    } else if let Some(from_root) = path_part.strip_prefix('/') {
        normalize(Path::new(from_root))?
    } else {
        let dir = file.parent().unwrap_or(Path::new(""));
        normalize(&dir.join(&path_part))?
    };
    let on_disk = root.join(&resolved);
    if !on_disk.exists() {
        return Err(format!("{} does not exist", resolved.display()));
    }
    let Some(anchor) = anchor else {
        return Ok(());
    };
    if on_disk.extension().is_none_or(|e| e != "md") || on_disk.is_dir() {
        return Ok(());
    }
    let slugs = slug_cache
        .entry(resolved.clone())
        .or_insert_with(|| heading_slugs(&std::fs::read_to_string(&on_disk).unwrap_or_default()));
    if slugs.contains(anchor) {
        Ok(())
    } else {
        Err(format!("{} has no heading #{anchor}", resolved.display()))
    }
}

/// Whether a link target names a scheme (`https:`, `mailto:`): not a file of the repository.
fn has_scheme(target: &str) -> bool {
    match target.split_once(':') {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !scheme.contains('/')
        }
        None => false,
    }
}

/// `a/b/../c` → `a/c`, relative to the root; an error when it climbs out of the repository.
fn normalize(path: &Path) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                if !out.pop() {
                    return Err(format!("{} leaves the repository", path.display()));
                }
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

/// A link found in a Markdown file.
#[derive(Debug)]
struct Link {
    /// 1-based line of the link's target.
    line: usize,
    /// What is between the parentheses (without a title), or a reference definition's URL.
    target: String,
}

/// The text with fenced code blocks blanked out (line count kept), so nothing in them is seen.
fn without_code_blocks(text: &str) -> String {
    let mut fence: Option<String> = None;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim_start();
        let marker: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        let is_fence =
            marker.len() >= 3 && marker.chars().all(|c| c == marker.as_bytes()[0] as char);
        match &fence {
            Some(open) => {
                if is_fence
                    && marker.starts_with(open.as_str())
                    && trimmed[marker.len()..].trim().is_empty()
                {
                    fence = None;
                }
            }
            None if is_fence => fence = Some(marker),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Every inline link, image and reference definition outside code.
fn links(text: &str) -> Vec<Link> {
    let text = without_code_blocks(text);
    let bytes = text.as_bytes();
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => i = skip_code_span(&text, i),
            b'[' => {
                let Some(close) = matching(bytes, i, b'[', b']') else {
                    i += 1;
                    continue;
                };
                let after = close + 1;
                if bytes.get(after) == Some(&b'(') {
                    if let Some(end) = matching(bytes, after, b'(', b')') {
                        let inside = text[after + 1..end].trim();
                        let target = match inside.strip_prefix('<') {
                            Some(rest) => rest.split('>').next().unwrap_or(""),
                            None => inside.split_whitespace().next().unwrap_or(""),
                        };
                        found.push(Link {
                            line: line_of(after),
                            target: target.to_string(),
                        });
                        i = end + 1;
                        continue;
                    }
                }
                let at_line_start = i == 0 || bytes[i - 1] == b'\n';
                if at_line_start && bytes.get(after) == Some(&b':') {
                    let rest = &text[after + 1..];
                    let target = rest.lines().next().unwrap_or("").split_whitespace().next();
                    if let Some(target) = target {
                        found.push(Link {
                            line: line_of(after),
                            target: target.trim_matches(['<', '>']).to_string(),
                        });
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    found
}

/// Past the code span that starts with the backtick run at `at`, or past the run when nothing
/// closes it before the paragraph ends (then the backticks are plain text).
fn skip_code_span(text: &str, at: usize) -> usize {
    let bytes = text.as_bytes();
    let run = bytes[at..].iter().take_while(|&&b| b == b'`').count();
    let body = at + run;
    let paragraph_end = text[body..].find("\n\n").map_or(text.len(), |p| body + p);
    let mut j = body;
    while j < paragraph_end {
        if bytes[j] == b'`' {
            let other = bytes[j..].iter().take_while(|&&b| b == b'`').count();
            if other == run {
                return j + run;
            }
            j += other;
        } else {
            j += 1;
        }
    }
    body
}

/// The index of the bracket that closes the one at `open`, on the same paragraph.
fn matching(bytes: &[u8], open: usize, left: u8, right: u8) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = open;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 1,
            b'\n' if bytes.get(j + 1) == Some(&b'\n') => return None,
            b if b == left => depth += 1,
            b if b == right => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// The anchors GitHub gives the ATX headings of a Markdown text: the heading's text without
/// link targets, lowercased, with everything but letters, digits, spaces, `-` and `_` removed
/// and spaces turned into `-`; a repeated slug gets `-1`, `-2`, ...
fn heading_slugs(text: &str) -> HashSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut slugs = HashSet::new();
    for line in without_code_blocks(text).lines() {
        let trimmed = line.trim_start();
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || line.len() - trimmed.len() > 3 {
            continue;
        }
        let rest = &trimmed[hashes..];
        if !(rest.is_empty() || rest.starts_with(' ')) {
            continue;
        }
        let title = rest.trim().trim_end_matches('#').trim_end();
        let base = slug(&link_text_only(title));
        let count = seen.entry(base.clone()).or_insert(0);
        let unique = if *count == 0 {
            base
        } else {
            format!("{base}-{count}")
        };
        *count += 1;
        slugs.insert(unique);
    }
    slugs
}

/// `a [text](target) b` → `a text b`: a heading's rendered text keeps a link's text only.
fn link_text_only(title: &str) -> String {
    let mut out = String::new();
    let mut rest = title;
    while let Some(open) = rest.find("](") {
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        out.push_str(&rest[..open]);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.replace('[', "")
}

/// GitHub's slug of a heading's text.
fn slug(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter(|&c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Paths of the repository that the docs name in prose or code (`src/raft/log.rs`,
/// `tests/it/sim_lab.rs`, `assets/scenarios/`): each `(file, line, path)` found.
fn named_paths(text: &str) -> Vec<(usize, String)> {
    const ROOTS: [&str; 6] = ["src/", "tests/", "assets/", "benches/", "proto/", "fuzz/"];
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (start, _) in line.char_indices() {
            let rest = &line[start..];
            let boundary = line[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '/' || c == '_' || c == '.'));
            if !boundary || !ROOTS.iter().any(|r| rest.starts_with(r)) {
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '/' | '_' | '-' | '.'))
                .collect();
            let path = path.trim_end_matches('.').to_string();
            // Patterns (`src/*.rs`) and bare roots are not paths.
            if path.contains('*') || ROOTS.contains(&path.as_str()) {
                continue;
            }
            found.push((n + 1, path));
        }
    }
    found
}

#[test]
fn every_source_path_the_docs_name_exists() {
    let root = root();
    let mut missing = Vec::new();
    for file in checked_files(&root) {
        if file == Path::new("CHANGELOG.md") {
            continue; // history names files as they were
        }
        let text = std::fs::read_to_string(root.join(&file)).expect("read doc");
        for (line, path) in named_paths(&text) {
            if !root.join(&path).exists() {
                missing.push(format!("{}:{line}: {path}", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the docs name {} path(s) the repository does not have:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}

#[test]
fn named_paths_are_found_in_prose_and_code() {
    let found =
        named_paths("see `src/raft/log.rs`, tests/it/sim_lab.rs and src/*.rs; not my/src/x.rs.");
    let paths: Vec<&str> = found.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(paths, ["src/raft/log.rs", "tests/it/sim_lab.rs"]);
}
