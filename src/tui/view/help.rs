//! The help overlay: every key and every command, from the same tables the handlers use, the
//! symbols of every panel ([`SYMBOLS`]), and the rules the header names ([`RULES`]).

use crossterm::event::{KeyEvent, KeyModifiers};

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::wrap::hang;
use super::{style, ViewLayout};
use crate::command::prompt::COMMANDS;
use crate::tui::action::{self, bindings, KeyBinding, Mode, DIGITS_HELP, DIGITS_LABEL};
use crate::tui::app::AppState;

/// What the help says about the lab (the sim engine).
const LAB: [&str; 3] = [
    "The sim engine: the same Raft core and key-value store on a simulated network, in \
     simulated time drawn from one seed. The same run draws the same screens on any machine.",
    "The slider is the whole run so far: seek back and every panel shows that moment. A key or \
     command acts at the slider's moment; in the past it starts a new branch and keeps the \
     old one (:branches, :branch N).",
    "With an UNSAFE rule, time stops where a safety property of the paper broke; go back to see \
     how it came to be. :save FILE and :share keep the run (raftlab lab FILE / --run STRING).",
];

/// The help overlay: every key and every command, from the same tables the handlers use. Two
/// columns when wide enough; it scrolls (↑ ↓ PgUp PgDn) when it does not fit.
pub fn help(state: &AppState, layout: &mut ViewLayout, frame: &mut Frame, area: Rect) {
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" help (↑↓ scroll · Esc closes) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let two = inner.width >= 120;
    // Two columns: keys on the left, the (longer) commands on the right.
    let left_w = if two {
        inner.width * 9 / 20
    } else {
        inner.width
    };
    let right_w = if two {
        inner.width - left_w
    } else {
        inner.width
    };
    let col_w = left_w as usize;

    let mut keys = vec![Line::from(Span::styled("Keys", style::strong()))];
    let cmd_w = right_w as usize;
    let mut commands;
    if let Some(replay) = &state.replay {
        // A replay: its own keys first, then the live keys that only change what is shown (a
        // lab's act: all of them).
        let lab = replay.lab().is_some();
        let title = if lab { "Lab keys" } else { "Replay keys" };
        keys = vec![Line::from(Span::styled(
            format!("{title} ({})", replay.source),
            style::strong(),
        ))];
        rows(&mut keys, &bindings(Mode::Replay), col_w);
        keys.push(Line::from(""));
        keys.push(Line::from(Span::styled("Also", style::strong())));
        keys.extend(hang(13, &format!("  {DIGITS_LABEL}"), DIGITS_HELP, col_w));
        keys.extend(hang(
            13,
            "  Tab ⇧Tab",
            "select the next / previous node",
            col_w,
        ));
        // Main bindings a replay key took over (← →, PgUp PgDn, End) are left out.
        let shadowed = |b: &KeyBinding| {
            b.keys.iter().any(|k| {
                let press = KeyEvent::new(k.code, KeyModifiers::NONE);
                action::binding_for(Mode::Replay, &press).is_some()
            })
        };
        let shown: Vec<KeyBinding> = bindings(Mode::Main)
            .into_iter()
            .filter(|b| (lab || crate::tui::replay::allowed_in_replay(&b.action)) && !shadowed(b))
            .collect();
        rows(&mut keys, &shown, col_w);
        if lab {
            commands = vec![Line::from(Span::styled("The lab", style::strong()))];
            for l in LAB {
                commands.extend(hang(2, "", l, cmd_w));
            }
            commands.push(Line::from(""));
            commands.push(Line::from(Span::styled(
                format!(
                    "Commands (press {})",
                    action::label_of(Mode::Main, &action::Action::OpenPrompt)
                ),
                style::strong(),
            )));
            for c in COMMANDS {
                commands.extend(hang(30, &format!("  {}", c.usage), c.summary, cmd_w));
            }
        } else {
            commands = vec![Line::from(Span::styled("A recording", style::strong()))];
            for l in [
                "This is a recording, not a live cluster: keys and commands that would act on a \
             cluster (kill, write, partition, ...) answer \"replay: read-only\". The prompt (:) \
             takes help and quit.",
                "Every panel shows the cluster as it was at the slider's time: the frame recorded \
             then (every ~100 ms), the events up to then, the last command result.",
            ] {
                commands.extend(hang(2, "", l, cmd_w));
            }
        }
    } else {
        keys.extend(hang(13, &format!("  {DIGITS_LABEL}"), DIGITS_HELP, col_w));
        rows(&mut keys, &bindings(Mode::Main), col_w);
        if state.narration.as_ref().is_some_and(|n| n.guided) {
            keys.push(Line::from(""));
            keys.push(Line::from(Span::styled(
                Mode::Stop.title(),
                style::strong(),
            )));
            rows(&mut keys, &bindings(Mode::Stop), col_w);
        }
        commands = vec![Line::from(Span::styled(
            format!(
                "Commands (press {})",
                action::label_of(Mode::Main, &action::Action::OpenPrompt)
            ),
            style::strong(),
        ))];
        for c in COMMANDS.iter().filter(|c| !c.lab_only()) {
            commands.extend(hang(30, &format!("  {}", c.usage), c.summary, cmd_w));
        }
    }
    // The keys of the help itself and of the prompt, from their tables too.
    for (title, mode) in [
        ("In the event feed (e)", Mode::Feed),
        ("In this help", Mode::Help),
        ("At the prompt (:)", Mode::Prompt),
    ] {
        keys.push(Line::from(""));
        keys.push(Line::from(Span::styled(title, style::strong())));
        rows(&mut keys, &bindings(mode), col_w);
    }
    commands.push(Line::from(""));
    commands.push(Line::from(Span::styled("Symbols", style::strong())));
    for l in SYMBOLS {
        commands.extend(hang(2, "", l, cmd_w));
    }
    commands.push(Line::from(""));
    commands.push(Line::from(Span::styled(
        match &state.rules_in_force {
            Some(now) => format!("Rules (header; now {now})"),
            None => "Rules (header)".to_string(),
        },
        style::strong(),
    )));
    for l in RULES {
        commands.extend(hang(2, "", l, cmd_w));
    }
    // A replay has no checker: its footer is the slider.
    if state.replay.is_none() {
        commands.push(Line::from(""));
        commands.push(Line::from(Span::styled(
            "Verdict (footer, right)",
            style::strong(),
        )));
        for l in [
            "ops 1,234 · linearizable ✓ — every get, put, del, append and cas is recorded (yours \
             as client 0, a nemesis' workers as 1 and up); every 2 s the checker looks for one \
             order of them that respects real time and explains every answer",
            "NOT LINEARIZABLE ✗ key x — no order does: v (or :history) shows the failing window",
            "undecided (gave up) — the checker ran out of time; checking — a check is running",
            "nemesis 12 s left — a nemesis (C or :nemesis) is injecting faults; the feed gets its \
             faults, then whether the nodes converged and the verdict",
        ] {
            commands.extend(hang(2, "", l, cmd_w));
        }
    }
    if let Some(path) = &state.log_path {
        commands.push(Line::from(""));
        commands.extend(hang(2, "", &format!("log file: {path}"), cmd_w));
    }
    if two {
        let left = Rect {
            width: left_w,
            ..inner
        };
        let right = Rect {
            x: inner.x + left_w,
            width: right_w,
            ..inner
        };
        let scroll = clamp_scroll(state, layout, keys.len().max(commands.len()), inner.height);
        frame.render_widget(Paragraph::new(keys).scroll((scroll, 0)), left);
        frame.render_widget(Paragraph::new(commands).scroll((scroll, 0)), right);
    } else {
        let mut all = keys;
        all.push(Line::from(""));
        all.extend(commands);
        let scroll = clamp_scroll(state, layout, all.len(), inner.height);
        frame.render_widget(Paragraph::new(all).scroll((scroll, 0)), inner);
    }
}

/// The symbols of every panel, one help paragraph each. Every glyph of
/// [`style::message_glyph`] is here (a test checks it).
pub const SYMBOLS: [&str; 12] = [
    "★ leader  ◆ candidate  ● follower  ✕ down",
    "▮▮▯ election timer (drains to 0, then an election)",
    "╳ cut link   ✗ message dropped",
    "¿ PreVote (could I win?)  ¡ pre-vote reply  ? RequestVote  ! vote reply",
    "■ AppendEntries  ♥ heartbeat (AppendEntries without entries)  ✓ append reply",
    "▣ InstallSnapshot (one chunk)  ◇ snapshot reply  » TimeoutNow",
    "faults: +300ms beside a node = slow (300 ms more on each of its messages), 2× = its clock \
     runs twice as fast; on a link ✗59% = it loses 59% of its messages, +200ms = it delays \
     them (→ one direction only); ~ beside an id = that node has a fault the table has no room \
     for; the header lists them all",
    "logs: one cell per entry, showing its term; the ruler (idx) shows indexes",
    "logs: filled = committed, hollow = not yet committed, ┃ = commit index, !n = differs from \
     the leader",
    "logs: a new leader's first entry is its no-op, an empty entry of its own term (§8): \
     entries of earlier terms commit only with an entry of the leader's term (§5.4.2)",
    "logs: ▒ = compacted into a snapshot (snapshot ≤n: it covers the entries up to n)",
    "table: snap = index/term of the newest snapshot; ▣ 50% = how much of its snapshot the \
     leader has sent that follower",
];

/// The rules the header names, what each does and what `--paper` changes.
pub const RULES: [&str; 3] = [
    "PreVote (thesis §9.6): before an election a node asks the others whether they would vote \
     for it (¿ ¡), and raises its term only if a majority would: a node back from a partition \
     cannot make a healthy leader step down.",
    "CheckQuorum (thesis §6.2): a leader that has not heard from a majority for an election \
     timeout steps down: a leader cut off in a minority stops believing it leads.",
    "Figure 2 only (--paper): both off, as in the paper: a cut-off leader goes on leading its \
     old term beside the new leader (★2 t1 and ★4 t3), and cannot commit anything.",
];

/// One help line per row of a key table, in `width` columns.
fn rows(lines: &mut Vec<Line<'static>>, table: &[KeyBinding], width: usize) {
    for b in table {
        lines.extend(hang(13, &format!("  {}", b.label), b.help, width));
    }
}

/// The scroll offset to use, at most what shows the last line; remembered for the key handler.
pub(super) fn clamp_scroll(
    state: &AppState,
    layout: &mut ViewLayout,
    total_lines: usize,
    height: u16,
) -> u16 {
    let max = total_lines
        .saturating_sub(height as usize)
        .min(u16::MAX as usize) as u16;
    layout.max_scroll = max;
    state.help_scroll.min(max)
}
