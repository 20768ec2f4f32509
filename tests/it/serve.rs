//! `raftlab serve` as a user runs it: a separate process, its JSON line, a Kv and a Control
//! request from this process, and a clean exit on SIGTERM with every port released.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{channel as endpoint, start_serve, DEADLINE};
use raftlab::pb::{self, control_client::ControlClient, kv_client::KvClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_kv_and_control_and_exits_cleanly_on_sigterm() {
    let _real_time = crate::common::real_time();
    let (mut server, info) = start_serve(&["--nodes", "3", "--preset", "fast"]);
    assert_eq!(info.nodes.len(), 3);
    assert_eq!(info.preset, "fast");
    // By default the nodes run on half the cores (at least one worker).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(info.threads, (cores / 2).max(1));

    // A write and a read through any node, retried until a leader exists.
    let deadline = Instant::now() + DEADLINE;
    let mut kv = KvClient::new(endpoint(&info.nodes[0].addr));
    loop {
        let mut req = tonic::Request::new(pb::PutRequest {
            key: "hello".into(),
            value: "world".into(),
            client_id: 1,
            seq: 1,
        });
        req.set_timeout(Duration::from_secs(2));
        if kv.put(req).await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "no write succeeded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut kv3 = KvClient::new(endpoint(&info.nodes[2].addr));
    let got = kv3
        .get(pb::GetRequest {
            key: "hello".into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!((got.found, got.value.as_str()), (true, "world"));

    // Control: status, then kill a node and see it down.
    let mut control = ControlClient::new(endpoint(&info.control));
    let st = control
        .status(pb::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert_eq!(st.nodes.len(), 3);
    assert!(st.nodes.iter().all(|n| n.up));
    control.kill(pb::NodeRequest { id: 3 }).await.expect("kill");
    let st = control
        .status(pb::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert!(!st.nodes[2].up);
    assert_eq!(st.nodes[2].role, pb::NodeRole::Down as i32);
    let err = control
        .kill(pb::NodeRequest { id: 7 })
        .await
        .expect_err("no node 7");
    assert_eq!(err.code(), tonic::Code::NotFound);

    // SIGTERM: a clean exit, in time.
    let pid = server.0.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let deadline = Instant::now() + DEADLINE;
    let exit = loop {
        if let Some(exit) = server.0.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "serve exited with {exit}");
    // Every port is free again.
    for addr in info
        .nodes
        .iter()
        .map(|n| n.addr.as_str())
        .chain([info.control.as_str()])
    {
        std::net::TcpListener::bind(addr).unwrap_or_else(|e| panic!("{addr} still taken: {e}"));
    }
}

#[test]
fn bad_flags_are_refused_with_a_clear_error() {
    let _real_time = crate::common::real_time();
    let out = Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(["serve", "--nodes", "12"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--nodes"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(["serve", "--control", "not-an-address"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    for threads in ["0", "257", "two"] {
        let out = Command::new(env!("CARGO_BIN_EXE_raftlab"))
            .args(["serve", "--threads", threads])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "--threads {threads}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--threads"), "{err}");
    }
}

#[test]
fn threads_chooses_the_runtime_size() {
    let _real_time = crate::common::real_time();
    let (_server, info) = start_serve(&["--nodes", "1", "--preset", "fast", "--threads", "3"]);
    assert_eq!(info.threads, 3);
}
