//! A large paste never starves the keyboard and never acts as keys: the real `raftlab` binary
//! in a 120×40 tmux pane on a private tmux server, 64 KB pasted with `tmux load-buffer` and
//! `tmux paste-buffer` three ways, each followed by keys that must act within a few seconds:
//!
//! 1. at the prompt, bracketed (`paste-buffer -p`): the prompt shows the end of the line, capped
//!    at 4 KiB, and says how much was cut; Backspace, Esc and `?` act at once;
//! 2. on the main screen, bracketed: the paste (full of `k`, `q`, `i`, spaces, digits: keys that
//!    kill, quit, isolate, pause, select) opens the prompt and acts as nothing; Esc and `?` act
//!    at once;
//! 3. at the prompt, not bracketed (a terminal without bracketed paste types it as 64 K keys):
//!    the line stops at 4 KiB and says how many keys it refused; Esc and `?` act at once. This
//!    is the case that starved before: crossterm's edge-triggered reader left the tail of the
//!    paste unread on the tty until another keypress (see `src/tui/input.rs`).
//!
//! After each, the cluster is as it was (5/5 up, running, no partition, the same speed), and at
//! the end `q` quits with the terminal's bracketed-paste mode off again (a paste into the shell
//! after it shows no `[200~`).
//!
//! Needs `tmux` on the PATH, like `dashboard_tmux`.

use std::time::{Duration, Instant};

use crate::common::tmux::{sh_quote, Tmux};

/// How long start-up (a leader elected) may take on a loaded machine.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long a key pressed after a paste may take to show its effect: "at once", with room for
/// a 2-core machine shared with other tests (the starved dashboard never showed it at all).
const ACT_DEADLINE: Duration = Duration::from_secs(5);
const WIDTH: usize = 120;
const HEIGHT: usize = 40;
const TARGET: &str = "paste";
/// The size of every paste.
const PASTE: usize = 65_536;
/// The prompt's limit (`raftlab::command::prompt::PROMPT_MAX`).
const PROMPT_MAX: usize = raftlab::command::prompt::PROMPT_MAX;

impl Tmux {
    /// Pastes `text` into the pane through a tmux buffer: bracketed (`-p`, when the application
    /// asked for bracketed paste) or typed.
    fn paste(&self, text: &str, bracketed: bool) {
        let file = self.tmp.join("paste.txt");
        std::fs::write(&file, text).expect("write the paste");
        let file = file.to_string_lossy().into_owned();
        self.run(&["load-buffer", "-b", "big", &file]);
        let mut args = vec!["paste-buffer", "-b", "big", "-t", TARGET];
        if bracketed {
            args.push("-p");
        }
        self.run(&args);
    }
}

/// The header row, if the dashboard is on the screen.
fn header(screen: &str) -> Result<&str, String> {
    let first = screen.lines().next().unwrap_or("");
    if first.starts_with(" raftlab") {
        Ok(first)
    } else {
        Err(format!("the first row is not the header: {first:?}"))
    }
}

/// The cluster as the keys in a paste would have changed it: everything up, running, not
/// partitioned, at the speed it started with, the dashboard not quit.
fn unchanged(screen: &str, speed: &str) -> Result<(), String> {
    let h = header(screen)?;
    if screen.contains("EXITED") {
        return Err("the dashboard quit".into());
    }
    for want in ["5/5 up", "▶ running", speed] {
        if !h.contains(want) {
            return Err(format!("no {want:?} in the header {h:?}"));
        }
    }
    if h.contains("partition") {
        return Err(format!("a partition in the header {h:?}"));
    }
    Ok(())
}

/// The speed the header shows (`×1.00`).
fn speed(h: &str) -> Option<String> {
    h.split_whitespace()
        .find(|w| w.starts_with('×'))
        .map(str::to_string)
}

fn prompt_open(screen: &str) -> Result<(), String> {
    screen
        .contains("help lists commands")
        .then_some(())
        .ok_or_else(|| "the prompt is not open".into())
}

/// The main screen: its key row, and neither the prompt nor the help overlay (which leaves the
/// key row in sight).
fn main_screen(screen: &str) -> Result<(), String> {
    let keys = screen.lines().any(|r| r.starts_with("1-9 select"));
    (keys && !screen.contains("help lists commands") && help_open(screen).is_err())
        .then_some(())
        .ok_or_else(|| "not the main screen".into())
}

fn help_open(screen: &str) -> Result<(), String> {
    screen
        .contains("┌ help (")
        .then_some(())
        .ok_or_else(|| "the help overlay is not open".into())
}

/// 64 KB of lines made of keys that would act on the main screen: kill, quit, isolate,
/// restart, slow, clock, pause (space), select (digits), open the prompt, help, speed.
fn keys_text() -> String {
    let line = "k q i r s c t S a A h w x u g f F C v n N 1 2 3 . + = - : ? ";
    let mut text = String::with_capacity(PASTE);
    let mut n = 0;
    while text.len() < PASTE {
        n += 1;
        text.push_str(&format!("{n:05} {line}\n"));
    }
    text.truncate(PASTE);
    text
}

#[test]
fn a_64k_paste_never_starves_the_keyboard_nor_acts_as_keys() {
    let _real_time = crate::common::real_time();
    // After the dashboard, `cat -v` shows what a paste sends: `^[[200~` if bracketed paste
    // was left on.
    let script = format!(
        "{} --preset fast; echo EXITED $?; exec cat -v",
        sh_quote(env!("CARGO_BIN_EXE_raftlab"))
    );
    let tmux = Tmux::start("paste", TARGET, (WIDTH, HEIGHT), &script);

    let (speed, _) = tmux.wait_timed("a leader, 5/5 up", START_DEADLINE, |screen| {
        let h = header(screen)?;
        if !h.contains("leader ") || !h.contains("5/5 up") {
            return Err(format!("header {h:?}"));
        }
        speed(h).ok_or_else(|| format!("no speed in {h:?}"))
    });
    let text = keys_text();

    // 1. At the prompt, bracketed: the line is the paste's first 4 KiB, line breaks made
    // spaces (tmux sends them as CR), and the prompt shows its end.
    tmux.press(":");
    tmux.wait_timed("1. the prompt opens", ACT_DEADLINE, prompt_open);
    tmux.paste(&text, true);
    let line = text[..PROMPT_MAX].replace('\n', " ");
    let cut = format!(
        "the last {} bytes of the paste were cut",
        thousands(PASTE - PROMPT_MAX)
    );
    let (_, took) = tmux.wait_timed(
        "1. the prompt shows the capped line's end and says what was cut",
        ACT_DEADLINE,
        |screen| {
            let row = screen
                .lines()
                .find(|r| r.starts_with(":…"))
                .ok_or("no scrolled prompt row (`:…`)")?;
            let tail = &line[line.len() - 80..];
            if !row.trim_end().ends_with(&format!("{tail}█")) {
                return Err(format!("prompt row {row:?} does not end with {tail:?}█"));
            }
            if !screen.contains(&cut) {
                return Err(format!("no {cut:?}"));
            }
            Ok(())
        },
    );
    eprintln!("1. the pasted line showed after {took:?}");
    // The next key acts at once: Backspace takes the last character.
    tmux.press("BSpace");
    let (_, took) = tmux.wait_timed("1. Backspace acts", ACT_DEADLINE, |screen| {
        let tail = &line[line.len() - 80..line.len() - 1];
        let row = screen.lines().find(|r| r.starts_with(":…")).unwrap_or("");
        row.trim_end()
            .ends_with(&format!("{tail}█"))
            .then_some(())
            .ok_or_else(|| format!("prompt row {row:?}"))
    });
    eprintln!("1. Backspace acted after {took:?}");
    tmux.press("Escape");
    tmux.wait_timed("1. Esc closes the prompt", ACT_DEADLINE, main_screen);
    tmux.press("?");
    tmux.wait_timed("1. ? opens the help", ACT_DEADLINE, help_open);
    tmux.press("Escape");
    tmux.wait_timed("1. the cluster unchanged", ACT_DEADLINE, |s| {
        main_screen(s)?;
        unchanged(s, &speed)
    });

    // 2. On the main screen, bracketed: the paste opens the prompt and acts as no key. Esc
    // right after it closes the prompt and `?` opens the help, at once: the help shows only
    // once every byte before the `?` was read. (A short pause between Esc and `?`, as a
    // person makes: read together, they would be one key, Alt-?.)
    tmux.paste(&text, true);
    tmux.press("Escape");
    std::thread::sleep(Duration::from_millis(300));
    tmux.press("?");
    let (_, took) = tmux.wait_timed("2. Esc, then ? after the paste act", ACT_DEADLINE, |s| {
        help_open(s)?;
        unchanged(s, &speed)
    });
    eprintln!("2. Esc and ? acted {took:?} after ?");
    tmux.press("Escape");
    tmux.wait_timed("2. the cluster unchanged", ACT_DEADLINE, |s| {
        main_screen(s)?;
        unchanged(s, &speed)
    });

    // 3. At the prompt, typed (no bracketed paste): 64 K keys, no line break (Enter would run
    // the line). The prompt takes 4 KiB and refuses the rest, and Esc right after the last key
    // is not left waiting on the tty.
    let typed = text.replace('\n', " ");
    tmux.press(":");
    tmux.wait_timed("3. the prompt opens", ACT_DEADLINE, prompt_open);
    let sent = Instant::now();
    tmux.paste(&typed, false);
    let refused = format!(
        "the prompt is full (4,096 bytes): {} keys were not typed",
        thousands(PASTE - PROMPT_MAX)
    );
    let (_, took) = tmux.wait_timed("3. every typed key taken", ACT_DEADLINE, |s| {
        s.contains(&refused)
            .then_some(())
            .ok_or_else(|| format!("no {refused:?}"))
    });
    eprintln!(
        "3. 64 K typed keys taken {took:?} after the paste ({:?} after sending it)",
        sent.elapsed()
    );
    tmux.press("Escape");
    let (_, took) = tmux.wait_timed("3. Esc acts", ACT_DEADLINE, main_screen);
    eprintln!("3. Esc acted after {took:?}");
    tmux.press("?");
    tmux.wait_timed("3. ? opens the help", ACT_DEADLINE, help_open);
    tmux.press("Escape");
    tmux.wait_timed("3. the cluster unchanged", ACT_DEADLINE, |s| {
        main_screen(s)?;
        unchanged(s, &speed)
    });

    // 4. Quit; a paste into the shell's `cat -v` after it comes unbracketed.
    tmux.press("q");
    tmux.wait_timed("4. `EXITED 0` after q", START_DEADLINE, |s| {
        s.lines()
            .any(|l| l.trim() == "EXITED 0")
            .then_some(())
            .ok_or_else(|| "no `EXITED 0`".into())
    });
    tmux.paste("after-the-dashboard\n", true);
    let (screen, _) = tmux.wait_timed("4. the paste echoed by the shell", ACT_DEADLINE, |s| {
        s.contains("after-the-dashboard")
            .then(|| s.to_string())
            .ok_or_else(|| "no echo of the paste".into())
    });
    assert!(
        !screen.contains("200~"),
        "4. bracketed paste is still on after the dashboard quit:\n{screen}"
    );
}

/// `n` with a comma every three digits.
fn thousands(n: usize) -> String {
    raftlab::observe::format::thousands(n as u64)
}
