//! `docs/keys.md` is generated from the dashboard's key tables (`tui::action::keys_markdown`):
//! this test fails when the file and the tables drift apart, and rewrites the file when asked.

use std::path::Path;

/// The command that regenerates `docs/keys.md`.
const REWRITE: &str = "RAFTLAB_REWRITE=1 cargo test --release --test it keys_doc";

#[test]
fn docs_keys_md_is_generated_from_the_key_tables() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/keys.md");
    let want = raftlab::tui::action::keys_markdown();
    if std::env::var_os("RAFTLAB_REWRITE").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("docs/ can be made");
        }
        std::fs::write(&path, &want).expect("docs/keys.md is writable");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let first = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "docs/keys.md differs from the key tables in src/tui/action.rs (from line {}).\n\
             Regenerate it with:\n\n    {REWRITE}\n",
            first + 1
        );
    }
}
