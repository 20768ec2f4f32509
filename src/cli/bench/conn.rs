//! The load generator's HTTP/2 connections: each one shared by the clients assigned to it,
//! opened on first use and again after it broke.
//!
//! Requests go straight to hyper's connection. A tonic `Channel` would first pass each one
//! through a buffer task (a queue and one more task to wake per request), which on this
//! project's 2-core machine is CPU the cluster under test does not get.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tonic::body::Body;

use crate::pb::kv_client::KvClient;

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// One HTTP/2 connection to a node, shared (cheap to clone).
#[derive(Clone)]
pub struct Conn {
    addr: SocketAddr,
    /// The open connection, if any; `connecting` lets one client at a time open it.
    current: Arc<Mutex<Option<SendRequest<Body>>>>,
    connecting: Arc<tokio::sync::Mutex<()>>,
}

impl Conn {
    /// A connection to `addr`, not opened yet.
    pub fn new(addr: SocketAddr) -> Self {
        Conn {
            addr,
            current: Default::default(),
            connecting: Default::default(),
        }
    }

    fn open_sender(&self) -> Option<SendRequest<Body>> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.as_ref().filter(|s| !s.is_closed()).cloned()
    }

    /// A Kv client on this connection, opening it first if it is not open.
    pub async fn kv(&self) -> Result<KvClient<H2>, tonic::Status> {
        let send = match self.open_sender() {
            Some(send) => send,
            None => {
                let _one_at_a_time = self.connecting.lock().await;
                match self.open_sender() {
                    Some(send) => send,
                    None => {
                        let send = self.connect().await?;
                        *self.current.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(send.clone());
                        send
                    }
                }
            }
        };
        let origin = format!("http://{}", self.addr)
            .parse()
            .map_err(|e| tonic::Status::internal(format!("{}: {e}", self.addr)))?;
        Ok(KvClient::with_origin(H2(send), origin)
            .max_decoding_message_size(crate::node::MAX_GRPC_MESSAGE)
            .max_encoding_message_size(crate::node::MAX_GRPC_MESSAGE))
    }

    async fn connect(&self) -> Result<SendRequest<Body>, tonic::Status> {
        let unavailable = |why: String| tonic::Status::unavailable(format!("{}: {why}", self.addr));
        let stream =
            tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(self.addr))
                .await
                .map_err(|_| unavailable("connect timed out".into()))?
                .map_err(|e| unavailable(e.to_string()))?;
        stream
            .set_nodelay(true)
            .map_err(|e| unavailable(e.to_string()))?;
        let (send, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .map_err(|e| unavailable(e.to_string()))?;
        // The connection's task ends when the connection breaks or every sender is gone.
        tokio::spawn(connection);
        Ok(send)
    }
}

/// A Kv client's transport: requests go to hyper's HTTP/2 connection as they are.
#[derive(Clone)]
pub struct H2(SendRequest<Body>);

impl tower_service::Service<http::Request<Body>> for H2 {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}
