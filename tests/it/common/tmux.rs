//! A private tmux server for the tests that drive the real `raftlab` binary as a user does: keys
//! sent with `tmux send-keys`, the screen read with `tmux capture-pane -p`.
//!
//! Each server has its own socket (`tmux -L raftlab-NAME-PID`, no tmux.conf, `$TMUX` ignored), so
//! a test never touches the user's own tmux, and it is killed when dropped, so a failing test
//! leaves no server or dashboard behind. Its environment, which every pane inherits, puts the
//! dashboards' `RAFTLAB_HOME` (log files, no user config) and `TMPDIR` in the test's own
//! directory, removed when the test passes and kept for reading when it fails.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// How often the screen is read while waiting.
const POLL: Duration = Duration::from_millis(100);

/// A private tmux server and its first session.
pub struct Tmux {
    socket: String,
    /// The socket's file, known once the server runs: tmux leaves it behind on kill-server.
    socket_path: Option<PathBuf>,
    /// The session started with the server: the target of [`Tmux::capture`], [`Tmux::press`]
    /// and [`Tmux::type_text`].
    session: String,
    /// The session's width, for framing a screen in a failure message.
    width: usize,
    /// The dashboards' RAFTLAB_HOME and TMPDIR.
    pub tmp: PathBuf,
}

impl Tmux {
    /// Starts server `raftlab-NAME-PID` with session `session` of `width`×`height` running the
    /// shell command line `shell`. Fails, saying how to install it, when tmux is missing.
    pub fn start(name: &str, session: &str, (width, height): (usize, usize), shell: &str) -> Tmux {
        require_tmux();
        let pid = std::process::id();
        let mut tmux = Tmux {
            socket: format!("raftlab-{name}-{pid}"),
            socket_path: None,
            session: session.to_string(),
            width,
            tmp: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-tmux-{pid}")),
        };
        std::fs::create_dir_all(&tmux.tmp).expect("create the test's directory");
        // A server left over under this name (a reused pid) would not be ours to reuse.
        let _ = tmux.command().arg("kill-server").output();
        let (w, h) = (width.to_string(), height.to_string());
        // This command starts the server, whose environment every pane inherits.
        let started = tmux
            .command()
            .env("TMPDIR", &tmux.tmp)
            .env("RAFTLAB_HOME", &tmux.tmp)
            .args(["new-session", "-d", "-s", session, "-x", &w, "-y", &h])
            .arg(format!("sh -c {}", sh_quote(shell)))
            .output()
            .expect("run tmux new-session");
        assert!(
            started.status.success(),
            "tmux new-session failed ({}): {}",
            started.status,
            String::from_utf8_lossy(&started.stderr).trim()
        );
        let socket_path = tmux.run(&["display-message", "-p", "#{socket_path}"]);
        tmux.socket_path = Some(PathBuf::from(socket_path.trim()));
        tmux
    }

    /// A tmux command on this server.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        // -f /dev/null: none of the user's tmux.conf (key bindings, sizes, shells).
        cmd.args(["-L", &self.socket, "-f", "/dev/null"]);
        // Inside a user's tmux session, $TMUX must not steer us to their server.
        cmd.env_remove("TMUX");
        cmd
    }

    /// Runs one tmux command: its output, or an error with its stderr.
    pub fn try_run(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .command()
            .args(args)
            .output()
            .map_err(|e| format!("cannot run tmux {args:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "tmux {args:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs one tmux command; panics with its stderr if it fails.
    pub fn run(&self, args: &[&str]) -> String {
        self.try_run(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The visible screen of the first session's pane.
    pub fn capture(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", &self.session])
    }

    /// Types literal text into the first session.
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", &self.session, "-l", text]);
    }

    /// Presses one named key (`Enter`, `Escape`, ...) in the first session.
    pub fn press(&self, key: &str) {
        self.run(&["send-keys", "-t", &self.session, key]);
    }

    /// [`Tmux::wait_timed`] with the tests' common deadline, without the time taken.
    pub fn wait_for<T>(&self, what: &str, check: impl FnMut(&str) -> Result<T, String>) -> T {
        self.wait_timed(what, super::DEADLINE, check).0
    }

    /// Polls the first session's screen until `check` returns `Ok`; fails after `deadline` with
    /// `what`, the last reason `check` gave, where the logs are and the last screen. Returns the
    /// value and how long it took.
    pub fn wait_timed<T>(
        &self,
        what: &str,
        deadline: Duration,
        mut check: impl FnMut(&str) -> Result<T, String>,
    ) -> (T, Duration) {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            let why = match check(&screen) {
                Ok(t) => return (t, start.elapsed()),
                Err(why) => why,
            };
            if start.elapsed() > deadline {
                panic!(
                    "{what}: not seen within {deadline:?} ({why}).\n\
                     The dashboard's log is in {}.\nLast screen:\n{}",
                    self.tmp.display(),
                    self.framed(&screen)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// The screen between two rules as wide as the pane, so a failure shows where it starts
    /// and ends.
    pub fn framed(&self, screen: &str) -> String {
        let rule = "-".repeat(self.width);
        format!("{rule}\n{}\n{rule}", screen.trim_end_matches('\n'))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Quotes `s` for `sh`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Fails, saying how to install it, when `tmux -V` does not run.
fn require_tmux() {
    match Command::new("tmux").arg("-V").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "`tmux -V` failed ({}): {}. This test drives the dashboard inside tmux.",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!(
            "tmux is not installed ({e}). This test drives the dashboard inside tmux: install \
             it (Debian/Ubuntu: `apt-get install -y tmux`, macOS: `brew install tmux`); CI's \
             .ci/run installs it before `cargo test`."
        ),
    }
}
