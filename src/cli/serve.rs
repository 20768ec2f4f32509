//! `raftlab serve`: a cluster without a screen, for scripts, tests and remote dashboards.

use std::process::ExitCode;

use super::args::{ServeArgs, StorageKind};
use crate::cluster::{control::ControlService, Cluster, ClusterConfig};
use crate::pb;

/// The JSON line `serve` prints once the cluster is up.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ServeInfo {
    /// Address of the Control service.
    pub control: String,
    /// The timing preset.
    pub preset: String,
    /// Each node: id and the address of its Kv (and Raft) service.
    pub nodes: Vec<ServeNode>,
    /// Worker threads of the runtime that runs the nodes (`--threads`).
    #[serde(default)]
    pub threads: usize,
}

/// One node in [`ServeInfo`].
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ServeNode {
    /// Node id.
    pub id: u64,
    /// host:port of its services.
    pub addr: String,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAFTLAB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Runs `raftlab serve`: resolves the storage flags and starts the runtime (`--threads`, or
/// half the cores: the clients that drive the cluster need the rest).
pub fn main(args: ServeArgs) -> ExitCode {
    super::with_storage(&args.storage.clone(), StorageKind::Memory, |storage| {
        let threads = args
            .threads
            .map_or_else(super::half_the_cores, |n| n as usize);
        super::run_async(Some(threads), run(args, storage))
    })
}

/// Runs the cluster until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs, storage: crate::cluster::StorageConfig) -> ExitCode {
    init_logging();
    let mut config = ClusterConfig::new(args.nodes as usize, args.preset);
    config.seed = args.seed;
    tracing::info!("storage: {}", storage.describe());
    config.storage = storage;
    config.snapshot = args.storage.snapshot_policy();
    config.rules = args.rules.rules();
    super::warn_if_unsafe("serve", &config.rules);
    let listener = match tokio::net::TcpListener::bind(args.control).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("raftlab serve: cannot listen on {}: {e}", args.control);
            return ExitCode::from(2);
        }
    };
    let control_addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("raftlab serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cluster = match Cluster::start(config).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("raftlab serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    let header =
        || crate::record::Header::for_command_line(args.nodes as usize, args.preset, args.seed);
    let recorder = match crate::record::Recorder::start_if(
        cluster.handle(),
        args.record.as_deref(),
        header,
        None,
    ) {
        Ok(recorder) => recorder,
        Err(e) => {
            eprintln!("raftlab serve: cannot record: {e}");
            cluster.shutdown().await;
            return ExitCode::from(2);
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .ok();
    let control = tonic::transport::Server::builder()
        .add_service(pb::control_server::ControlServer::new(ControlService::new(
            cluster.handle(),
        )))
        .add_optional_service(reflection)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            async {
                let _ = stop_rx.await;
            },
        );
    let control = tokio::spawn(control);

    let info = ServeInfo {
        control: control_addr.to_string(),
        preset: args.preset.as_str().to_string(),
        nodes: cluster
            .ids()
            .into_iter()
            .filter_map(|id| {
                Some(ServeNode {
                    id,
                    addr: cluster.addr(id)?.to_string(),
                })
            })
            .collect(),
        threads: tokio::runtime::Handle::current().metrics().num_workers(),
    };
    match serde_json::to_string(&info) {
        Ok(line) => println!("{line}"),
        Err(e) => eprintln!("raftlab serve: {e}"),
    }
    tracing::info!(
        control = %control_addr,
        "cluster of {} nodes up on {} worker thread(s)",
        args.nodes,
        info.threads
    );

    let why = wait_for_signal().await;
    tracing::info!("{why}: shutting down");
    let _ = stop_tx.send(());
    let _ = control.await;
    let recorded = match recorder {
        Some(r) => Some(r.finish().await),
        None => None,
    };
    cluster.shutdown().await;
    tracing::info!("stopped");
    // stdout carries only the JSON line: the recording is told on stderr.
    match recorded {
        Some(Ok(summary)) => eprintln!("{}", summary.describe()),
        Some(Err(e)) => {
            eprintln!("raftlab serve: the recording failed: {e}");
            return ExitCode::FAILURE;
        }
        None => {}
    }
    ExitCode::SUCCESS
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}
