//! A lab run (`raftlab lab`) played on the simulator into a recording, so that the replay
//! dashboard, `raftlab replay` and its exports show it as they show a live run.
//!
//! ```text
//!   Run ─► engine::sim::play_each ─► frames, events, notes ─► Encoder lines (time order)
//! ```

use std::time::Duration;

use super::{Encoder, Header, NoteKind};
use crate::engine::sim::{play_each, Ending, Played as Step, Run, RunError};
use crate::observe::cluster_view::ClusterView;

/// A played run: its recording's JSON lines and what `--headless` reports.
pub struct Played {
    /// The recording, a line per frame, event and note (in time order).
    pub recording: String,
    /// Each action's outcome: (moment, text).
    pub notes: Vec<(Duration, String)>,
    /// The last frame.
    pub last: Option<ClusterView>,
    /// How it ended.
    pub ending: Ending,
}

/// Plays `run` to `until` into a recording (frames as changes, so a long run stays small),
/// titled `title`. Each action's outcome (and the broken property) is a result note.
pub fn record_run(run: Run, until: Duration, title: &str) -> Result<Played, RunError> {
    let nodes = run.settings.nodes;
    let mut header = Header::new(nodes, run.settings.preset, run.settings.seed, title);
    // A lab run has no wall-clock start: the same run gives the same file.
    header.started = "1970-01-01T00:00:00Z".into();
    header.started_unix_ms = 0;
    let mut out = Encoder::header(&header);
    out.push('\n');
    let mut encoder = Encoder::new();
    // The lines of the current stretch: (moment, line), sorted when its frame comes.
    let mut pending: Vec<(Duration, String)> = Vec::new();
    let mut notes = Vec::new();
    let mut last: Option<ClusterView> = None;
    let mut written = None;
    let ending = play_each(run, until, |p| match p {
        Step::Event(e) => pending.push((e.at, Encoder::event(&e))),
        Step::Note(at, text) => {
            pending.push((at, Encoder::note(at, NoteKind::Result, &text, None)));
            notes.push((at, text));
        }
        Step::Frame(f) => {
            pending.sort_by_key(|(at, _)| *at);
            for (_, line) in pending.drain(..) {
                out.push_str(&line);
                out.push('\n');
            }
            if let Some(line) = encoder.frame(&f, last.is_none()) {
                out.push_str(&line);
                out.push('\n');
                written = Some(f.at);
            }
            last = Some(f);
        }
    })?;
    if let Some(b) = &ending.broken {
        let text = format!("SAFETY BROKEN — {}", b.what);
        out.push_str(&Encoder::note(b.at, NoteKind::Result, &text, None));
        out.push('\n');
    }
    // The recording ends where the run did, even if nothing changed at the end.
    if let Some(f) = last.as_ref().filter(|f| written != Some(f.at)) {
        if let Some(line) = encoder.frame(f, true) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    Ok(Played {
        recording: out,
        notes,
        last,
        ending,
    })
}
