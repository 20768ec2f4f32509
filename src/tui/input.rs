//! Terminal input for the dashboard: a reader thread turns the terminal's bytes into crossterm
//! events as fast as they arrive, and the event loop takes every event queued in one turn, then
//! draws once.
//!
//! ```text
//!  tty ──► reader thread ──► channel (bounded) ──► event loop: wait for one event,
//!          crossterm poll/read                      then drain the rest, then draw
//!          (level-triggered, `use-dev-tty`)
//! ```
//!
//! Why a thread and not crossterm's `EventStream`: a large paste used to starve the keyboard.
//! crossterm's default reader registers the tty with mio, which is edge-triggered, and returns
//! as soon as its first 1 KiB read yields an event; the rest of a 5 KB paste stayed in the
//! kernel's tty buffer with no new edge to wake the reader, so Enter and Esc seemed dead until
//! the next keypress released another kilobyte (crossterm-rs/crossterm#1057). raftlab builds
//! crossterm with `use-dev-tty`, whose reader polls level-triggered; and this thread reads
//! events back to back without a round trip through the async runtime per event, so a burst of
//! keys (a terminal without bracketed paste) is taken in a few turns instead of one per frame.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossterm::event::Event;
use tokio::sync::mpsc;

/// How long the reader waits for input before it looks at the stop flag again.
const POLL: Duration = Duration::from_millis(50);
/// Events queued between the reader and the loop (the reader waits when it is full).
const QUEUE: usize = 4_096;
/// The most events one turn of the loop takes before it lets the other sources (and a frame)
/// have their turn; the rest wait for the next turn.
pub const BATCH: usize = 1_024;

/// The reader thread and the receiving end of its events. Dropping it stops the thread.
pub struct Input {
    events: Option<mpsc::Receiver<io::Result<Event>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Input {
    /// Starts reading the terminal (which must already be in raw mode).
    pub fn start() -> Input {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("raftlab-input".into())
            .spawn(move || read_events(&tx, &flag))
            .ok();
        let events = if thread.is_some() {
            Some(rx)
        } else {
            // No thread: report it once, as the first "event".
            let (tx, rx) = mpsc::channel(1);
            let _ = tx.try_send(Err(io::Error::other("cannot start the input thread")));
            Some(rx)
        };
        Input {
            events,
            stop,
            thread,
        }
    }

    /// The next event; `None` once the reader has stopped.
    pub async fn next(&mut self) -> Option<io::Result<Event>> {
        self.events.as_mut()?.recv().await
    }

    /// An event that is already queued, without waiting.
    pub fn try_next(&mut self) -> Option<io::Result<Event>> {
        self.events.as_mut()?.try_recv().ok()
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Close the channel first, so a reader waiting on a full queue stops too.
        self.events = None;
        if let Some(thread) = self.thread.take() {
            // At most one POLL: then no keypress after the dashboard is gone is eaten by it.
            let _ = thread.join();
        }
    }
}

/// The reader thread: events in the order the terminal sent them, until `stop` is set, the
/// loop is gone, or the terminal fails (the error is the last item sent).
fn read_events(tx: &mpsc::Sender<io::Result<Event>>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let item = match crossterm::event::poll(POLL) {
            Ok(false) => continue,
            Ok(true) => crossterm::event::read(),
            Err(e) => Err(e),
        };
        if matches!(&item, Err(e) if e.kind() == io::ErrorKind::Interrupted) {
            continue;
        }
        let failed = item.is_err();
        if tx.blocking_send(item).is_err() || failed {
            return;
        }
    }
}
