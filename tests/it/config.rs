//! The config file as a user meets it: the real `raftlab` binary with `RAFTLAB_HOME` in a temp
//! directory. `raftlab config` prints each value with its source (default, the file's line, a
//! flag); `--path` and `--init` (never over an existing file); a bad file is one line naming the
//! file, line and column, exit 2, and nothing starts (no log directory is made); and on the
//! dashboard in tmux a key rebound in the file works, the footer and help follow it, the log
//! lands in the state directory — and when that directory cannot be made the dashboard starts
//! all the same and says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A fresh RAFTLAB_HOME with `config/raftlab.toml` holding `text` (none when `None`).
fn home(text: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    if let Some(text) = text {
        std::fs::create_dir_all(dir.path().join("config")).expect("config dir");
        std::fs::write(dir.path().join("config/raftlab.toml"), text).expect("write the file");
    }
    dir
}

/// Runs `raftlab args...` with RAFTLAB_HOME = `home`, no terminal, NO_COLOR unset.
fn raftlab(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(args)
        .env("RAFTLAB_HOME", home)
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run raftlab")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The line of `out` that starts with `key`.
fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no line starting {key:?} in:\n{out}"))
}

#[test]
fn config_prints_each_value_with_its_source_and_flags_override_the_file() {
    let _real_time = crate::common::real_time();
    let dir = home(Some(
        "# my class\nnodes = 3\nrules = \"paper\"\n\n[keys.main]\nkill = \"K\"\n",
    ));
    let out = raftlab(dir.path(), &["config", "--nodes", "4"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = text(&out.stdout);
    let file = dir.path().join("config/raftlab.toml");
    assert!(
        out.starts_with(&format!("config file: {} (exists)", file.display())),
        "{out}"
    );
    assert!(line(&out, "nodes = 4").ends_with("# flag --nodes"), "{out}");
    assert!(line(&out, "rules.pre-vote = false").ends_with("# raftlab.toml:3"));
    assert!(line(&out, "rules.check-quorum = false").ends_with("# raftlab.toml:3"));
    assert!(line(&out, "preset = \"teach\"").ends_with("# default"));
    assert!(line(&out, "keys.main.kill = \"K\"").ends_with("# raftlab.toml:6"));
    assert!(line(&out, "log file:").contains(&format!("{}", dir.path().join("state").display())));
    // The file alone.
    let out = text(&raftlab(dir.path(), &["config"]).stdout);
    assert!(
        line(&out, "nodes = 3").ends_with("# raftlab.toml:2"),
        "{out}"
    );
    // --keys lists the names the file uses, the rebound one marked.
    let out = text(&raftlab(dir.path(), &["config", "--keys"]).stdout);
    assert!(
        line(&out, "kill = \"K\"").ends_with("(from the config file)"),
        "{out}"
    );
    assert!(line(&out, "restart = \"r\"").contains("restart the selected node"));
}

#[test]
fn path_and_init_write_a_commented_file_once() {
    let _real_time = crate::common::real_time();
    let dir = home(None);
    let file = dir.path().join("config/raftlab.toml");
    let out = raftlab(dir.path(), &["config", "--path"]);
    assert_eq!(text(&out.stdout).trim(), file.display().to_string());
    let out = text(&raftlab(dir.path(), &["config"]).stdout);
    assert!(out.contains("(not found: the defaults apply"), "{out}");

    let out = raftlab(dir.path(), &["config", "--init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&file).expect("the file was written");
    assert!(written.contains("# nodes = 5") && written.contains("# kill = \"K\""));
    // Every value still at its default, from the default.
    let out = text(&raftlab(dir.path(), &["config"]).stdout);
    assert!(out.contains("(exists)"), "{out}");
    assert!(
        !out.contains("raftlab.toml:"),
        "a commented file sets nothing:\n{out}"
    );

    // Never over an existing file.
    std::fs::write(&file, "nodes = 2\n").expect("edit");
    let out = raftlab(dir.path(), &["config", "--init"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("exists; not overwritten"));
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "nodes = 2\n");
}

#[test]
fn a_bad_file_is_one_line_with_its_line_and_column_and_nothing_starts() {
    let _real_time = crate::common::real_time();
    let cases = [
        ("nodes = 3\nnodez = 4\n", ":2:1: unknown key \"nodez\""),
        ("nodes = 30\n", ":1:9: nodes must be from 1 to 9"),
        (
            "[rules]\npre-vote = \"yes\"\n",
            ":2:12: rules.pre-vote must be true or false",
        ),
        (
            "[keys.main]\nkill = \"r\"\n",
            ":2:1: keys.main: kill = \"r\" collides with restart (r)",
        ),
        (
            "[keys.main]\nkil = \"K\"\n",
            ":2:1: keys.main: no action \"kil\"",
        ),
        ("nodes = [\n", ":1:"),
    ];
    for (file_text, want) in cases {
        let dir = home(Some(file_text));
        let file = dir.path().join("config/raftlab.toml");
        for args in [
            &["config"][..],
            &[],
            &["ui", "--nodes", "3"],
            &["scenario", "split-vote"],
        ] {
            let out = raftlab(dir.path(), args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} {file_text:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err:?}");
            assert!(
                err.starts_with(&format!("raftlab: {}{want}", file.display())),
                "{args:?} {file_text:?}: {err:?} lacks {want:?}"
            );
            assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
        }
        // Nothing started: no log directory either.
        assert!(!dir.path().join("state").exists(), "{file_text:?}");
    }
    // Commands a config file has no say in ignore a bad one: scripts stay reproducible.
    let dir = home(Some("nodez = 4\n"));
    let out = raftlab(dir.path(), &["scenario", "--list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

// ── On the dashboard, in tmux ─────────────────────────────────────────────────────────────

const DEADLINE: Duration = Duration::from_secs(30);

/// A private tmux server running one dashboard, killed when dropped.
struct Pane {
    socket: String,
}

impl Pane {
    fn start(name: &str, home: &Path, args: &str) -> Pane {
        let pane = Pane {
            socket: format!("raftlab-config-{name}-{}", std::process::id()),
        };
        let _ = pane.tmux(&["kill-server"]);
        let script = format!(
            "'{}' {args}; echo EXITED $?; sleep 60",
            env!("CARGO_BIN_EXE_raftlab")
        );
        let out = Command::new("tmux")
            .args(["-L", &pane.socket, "-f", "/dev/null"])
            .env_remove("TMUX")
            .env("RAFTLAB_HOME", home)
            .env_remove("NO_COLOR")
            .args(["new-session", "-d", "-s", "t", "-x", "120", "-y", "40"])
            .arg(script)
            .output()
            .expect("tmux is needed (apt-get install -y tmux)");
        assert!(out.status.success(), "tmux: {}", text(&out.stderr));
        pane
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .env_remove("TMUX")
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn keys(&self, keys: &str) {
        assert!(self
            .tmux(&["send-keys", "-t", "t", "-l", keys])
            .status
            .success());
    }

    /// Opens the help and scrolls down until `text` shows (the help scrolls at 120×40).
    fn help_until(&self, what: &str, text: &str) -> String {
        self.keys("?");
        self.wait_for("the help", |s| s.contains("help (↑↓ scroll"));
        for _ in 0..20 {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(self
                .tmux(&["send-keys", "-t", "t", "PageDown"])
                .status
                .success());
            std::thread::sleep(Duration::from_millis(150));
        }
        self.wait_for(what, |s| s.contains(text))
    }

    fn screen(&self) -> String {
        text(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout)
    }

    /// Polls the screen until `check` holds; fails with the last screen after [`DEADLINE`].
    fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{what}: not seen within {DEADLINE:?}. Last screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The footer's key row.
fn key_row(screen: &str) -> &str {
    screen
        .lines()
        .rfind(|r| r.starts_with("1-9 select"))
        .unwrap_or("")
}

fn has_leader(screen: &str) -> bool {
    screen.lines().next().is_some_and(|h| h.contains("leader "))
}

#[test]
fn a_key_rebound_in_the_file_works_on_the_dashboard_and_logs_go_to_the_state_directory() {
    let _real_time = crate::common::real_time();
    let dir = home(Some(
        "preset = \"fast\"\nnodes = 3\n[keys.main]\nkill = \"K\"\nrestart = \"R\"\n",
    ));
    let pane = Pane::start("rebind", dir.path(), "");
    let screen = pane.wait_for("a leader", has_leader);
    assert!(
        screen.lines().next().unwrap_or("").contains("3/3 up"),
        "nodes = 3 from the file:\n{screen}"
    );
    let row = key_row(&screen);
    assert!(row.contains("K kill") && row.contains("R restart"), "{row}");
    assert!(!row.contains("k kill"), "{row}");
    // The old key does nothing now; the new one kills.
    pane.keys("1");
    pane.keys("k");
    std::thread::sleep(Duration::from_millis(700)); // a human's pause: nothing must happen
    assert!(!pane.screen().contains("killed node"), "k still kills");
    pane.keys("K");
    pane.wait_for("K kills node 1", |s| s.contains("killed node 1"));
    pane.keys("R");
    pane.wait_for("R restarts node 1", |s| s.contains("restarted node 1"));
    // The help lists the new keys and names the log file in the state directory.
    pane.keys("?");
    let help = pane.wait_for("the help", |s| s.contains("help (↑↓ scroll"));
    assert!(
        help.contains("│  K          kill the selected node"),
        "{help}"
    );
    pane.keys("q");
    let state = dir.path().join("state");
    let help = pane.help_until("the help's log file", "log file:");
    let log_line: String = help
        .lines()
        .skip_while(|l| !l.contains("log file:"))
        .take(3)
        .collect();
    assert!(log_line.contains("raftlab."), "{help}");
    pane.keys("q");
    pane.keys("q");
    pane.wait_for("the dashboard exits 0", |s| s.contains("EXITED 0"));
    let logs: Vec<PathBuf> = std::fs::read_dir(&state)
        .expect("the state directory was made")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert!(
        logs.iter().any(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| n.starts_with("raftlab.") && n.ends_with(".log"))
        }),
        "{logs:?}"
    );
}

#[test]
fn the_dashboard_starts_without_a_log_when_the_state_directory_cannot_be_made() {
    let _real_time = crate::common::real_time();
    let dir = home(None);
    // A file where the state directory should be.
    std::fs::write(dir.path().join("state"), "not a directory").expect("write");
    let pane = Pane::start("nolog", dir.path(), "--preset fast --nodes 3");
    // Said once on the status line, and in the help for as long as it runs.
    pane.wait_for("the status line says why there is no log", |s| {
        s.contains("log file: none (cannot create")
    });
    pane.wait_for("a leader", has_leader);
    let help = pane.help_until(
        "the help says why there is no log",
        "log file: none (cannot",
    );
    assert!(!help.contains("EXITED"), "{help}");
    pane.keys("q");
    pane.keys("q");
    pane.wait_for("the dashboard exits 0", |s| s.contains("EXITED 0"));
}
