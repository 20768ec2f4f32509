//! What the integration tests share: starting `raftlab serve` as a separate process (reading its
//! JSON line, killing it on drop, lazy gRPC channels to the addresses it prints), and helpers
//! for clusters run in the test's own process (`in_process`).

pub mod in_process;
pub mod tmux;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use raftlab::cli::serve::ServeInfo;
use tonic::transport::Channel;

/// How long a test waits for anything.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A running `raftlab serve`, SIGKILLed and reaped when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `raftlab serve` with `args` and waits for its JSON line.
pub fn start_serve<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (Server, ServeInfo) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn raftlab serve");
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let server = Server(child);
    let line = rx
        .recv_timeout(DEADLINE)
        .expect("serve prints its JSON line");
    let info: ServeInfo = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("serve did not start ({e}): {line:?}"));
    (server, info)
}

/// A lazily connected channel to `addr` (host:port).
pub fn channel(addr: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_lazy()
}

/// Held by a test that runs real sockets, timers or processes: while one is alive, another
/// test's [`real_time`] waits. A test that panics while holding it releases it all the same.
pub struct RealTime(());

static REAL_TIME: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
static REAL_TIME_FREED: std::sync::Condvar = std::sync::Condvar::new();

/// Waits until no other real-time test runs, then holds the turn until the guard is dropped.
pub fn real_time() -> RealTime {
    let mut busy = REAL_TIME.lock().unwrap_or_else(|e| e.into_inner());
    while *busy {
        busy = REAL_TIME_FREED
            .wait(busy)
            .unwrap_or_else(|e| e.into_inner());
    }
    *busy = true;
    RealTime(())
}

impl Drop for RealTime {
    fn drop(&mut self) {
        *REAL_TIME.lock().unwrap_or_else(|e| e.into_inner()) = false;
        REAL_TIME_FREED.notify_one();
    }
}
