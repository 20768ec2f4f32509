//! Recordings of a run (`--record FILE`) and their reader (`raftlab replay FILE`).
//!
//! A recording is JSON lines. The first is a header; every other line has a `type` and a time
//! `t`, in milliseconds of cluster time (`cluster.events().elapsed()`):
//!
//! ```text
//! {"type":"header","format":1,"raftlab":"0.1.0","nodes":3,"preset":"fast","seed":0,"title":"raftlab --record r.jsonl","started":"2025-11-26T21:30:00Z","started_unix_ms":1764192600000}
//! {"type":"frame","t":52,"cluster":{..},"nodes":[{NodeState}..],"in_flight":[..],"logs":{"1":[[1,1,3]]},"kv":{"1":{"set":[["k1","7"]]}}}
//! {"type":"frame","t":152,"patch":[{"id":2,"status":{"election_elapsed":7}}],"in_flight_del":[41],"in_flight_add":[..]}
//! {"type":"event","t":61,"node":2,"cat":"election","text":"became leader in term 1"}
//! {"type":"event","t":75,"node":0,"cat":"message","text":"dropped #12 2->3 AppendEntries (link cut)","drop":[2,3]}
//! {"type":"note","t":80,"kind":"result","text":"put k1 7 → ok, new key (index 3, term 1) in 4.1 ms"}
//! {"type":"note","t":80,"kind":"op","text":"client 0: put k1=\"7\" → ok, was absent in 4.1 ms","op":{Operation}}
//! ```
//!
//! - **frames** are [`ClusterView`]s captured every [`FRAME_EVERY`], written only when something
//!   changed, and holding only what changed since the previous frame: the cluster's settings
//!   (`cluster`), each node that changed (in full in `nodes` the first time, then as a `patch`
//!   of the fields that changed, e.g. `{"id":2,"status":{"election_elapsed":7}}`; `removed` for
//!   nodes that left), the messages in flight (`in_flight` in full, or `in_flight_del` ids and
//!   `in_flight_add` messages), each changed node's log window as runs
//!   `[first index, term, count]`, and each changed node's key-value contents as a delta (`set`,
//!   `del`). The reader carries the rest forward. The recorder ends with a frame of a fresh
//!   capture, key-values included.
//! - **events** are the event bus as the dashboard's feed shows it: node, category, text, and
//!   for a dropped message the link (`drop`) that the ring marks.
//! - **notes** are free text with a kind ([`NoteKind`]): a command's outcome (`result`, the
//!   status line), a scenario's narration (`narration`), a client operation (`op`, with the
//!   [`Operation`](crate::check::Operation) when it came from a
//!   [`History`](crate::check::History)).
//!
//! ```text
//!   event bus ──────────┐
//!   capture every 100 ms┼─► Encoder ─► writer task ─► BufWriter ─► FILE ─► Recording::load
//!   note() (any task) ──┤    (diffs)                                        frame_at(t), feed_at(t),
//!   History (1 s poll) ─┘                                                   result_at(t), ...
//! ```
//!
//! The recorder reads the cluster through the capture the dashboard draws from
//! ([`crate::observe::cluster_view::capture`]) and writes the feed in the form the dashboard
//! shows it ([`crate::observe::feed::FeedLine`]), so a replay draws exactly what a live dashboard
//! drew. Like the dashboard, it stands on `observe` and knows nothing of the screen.
//!
//! - `format`: the lines' types, shared by both sides;
//! - `writer`: [`Encoder`] (captures to lines) and [`Recorder`] (a task writing a live run);
//! - `reader`: [`Recording`] (a file read back, asked for what was on screen at any time);
//! - `lab`: [`record_run`] (a lab run played on the simulator, as a recording).

mod format;
mod lab;
mod reader;
mod writer;

pub use format::{command_line, Header, NoteKind, FORMAT};
pub use lab::{record_run, Played};
pub use reader::{Note, RecordError, Recording};
pub use writer::{
    op_text, Encoder, RecordOptions, RecordSummary, Recorder, FRAME_EVERY, LOG_WINDOW,
};

#[cfg(test)]
mod tests;
