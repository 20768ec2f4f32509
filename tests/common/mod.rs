//! What the integration tests share: starting `raftlab serve` as a separate process (reading its
//! JSON line, killing it on drop, lazy gRPC channels to the addresses it prints), and helpers
//! for clusters run in the test's own process (`in_process`).

pub mod in_process;

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
