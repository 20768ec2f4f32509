//! The load generator: closed-loop clients over a few shared HTTP/2 connections.
//!
//! ```text
//!   client 1..N (tokio tasks, one op outstanding each)
//!        │  Put / Get with "raftlab-forwarded: 1" (a follower answers with a leader hint)
//!        ▼
//!   Pool: per node, up to 8 HTTP/2 connections (conn.rs); client c uses connection c mod n
//!        │  (n = 4 HTTP/2 connections per node up to 512 clients, fewer if fewer clients;
//!        │   then one per 128 clients, at most 8; or --connections)
//!        ▼
//!   Kv service of each node (in-process cluster, or `raftlab serve` with --target)
//! ```
//!
//! **Connections.** A real client process multiplexes its requests over a few HTTP/2
//! connections, not one TCP connection per request stream; one connection per client would
//! measure the kernel's socket handling rather than raftlab. So each node gets a small pool of
//! connections ([`Conn`]) that the clients take in turn as concurrent HTTP/2 streams:
//! [`BASE_CONNECTIONS`] of them (or one per client, if fewer), and beyond 512 clients one per
//! [`CLIENTS_PER_CONNECTION`], at most [`MAX_CONNECTIONS_PER_NODE`]. Each HTTP/2 connection is
//! driven by one task on each side, behind one lock: on two worker threads with every client on
//! one connection, the two cores took turns on it, and measured at 16, 64 and 256 clients a
//! second connection gave 25–30% more writes/s and a fourth a little more (CHANGELOG.md, issue
//! 10). On one worker thread (the default beside `serve` on two cores) a pool adds no
//! parallelism, so each node gets one connection: against `serve` on one thread too, one
//! connection was as fast or faster at 16 to 256 clients with less CPU per write, and at 1024
//! clients gave more writes/s and an even tail, where eight split the server's attention
//! unevenly (p99 60 ms against 114–127). Up to 1024 clients, streams per connection also stay
//! under hyper's own default limit (200; tonic servers lift it), in case a server keeps it.
//! Connections open on first use, so unused ones cost nothing.
//!
//! **Routing.** Every request carries the `raftlab-forwarded` marker, so a follower does not
//! forward it to the leader behind the client's back but refuses it with the leader's address;
//! the client then goes there directly, and tells the other clients (a shared hint). Each op
//! is timed from its first attempt to its acknowledgement, retries and redirects included.
//!
//! **Operations.** Each client has a session (a fresh client id per run, sequence numbers
//! starting at 1) and writes its own [`KEYS_PER_CLIENT`] keys in turn; a write whose outcome
//! is unknown is retried with the same sequence number (exactly-once). With a read ratio, that fraction of
//! operations are `Get`s of one of the client's keys already written: since nobody else writes
//! them and the client has nothing else outstanding, a linearizable read must return the last
//! value it wrote, so any other answer is counted as a stale read. Values carry the write's
//! sequence number, so that check means something. After the run each client reads its keys
//! back: a key that holds neither the last acknowledged value nor the value of a write still
//! in doubt is a lost write.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tonic::metadata::MetadataValue;
use tonic::transport::Endpoint;

use crate::check::{History, KvOp, KvOutput, Outcome};
use crate::node::kv_service::{FORWARDED, LEADER_ADDR};
use crate::pb::{self, kv_client::KvClient};

use super::conn::{Conn, H2};

/// HTTP/2 connections to each node when there are at least as many clients.
pub const BASE_CONNECTIONS: u64 = 4;
/// Beyond `BASE_CONNECTIONS * CLIENTS_PER_CONNECTION` clients, one more connection per this
/// many clients.
pub const CLIENTS_PER_CONNECTION: u64 = 128;
/// Most connections the generator opens to one node.
pub const MAX_CONNECTIONS_PER_NODE: u64 = 8;
/// Keys each client writes in turn (and reads back).
pub const KEYS_PER_CLIENT: u64 = 8;
/// Deadline of one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after an error that gave no usable leader hint (an election is under way).
const ERROR_BACKOFF: Duration = Duration::from_millis(5);

/// A histogram of latencies in microseconds (1 µs to 60 s, 3 significant figures).
pub fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// The nodes' Kv addresses, a pool of channels to each, and the shared leader hint.
#[derive(Clone)]
pub struct Targets {
    addrs: Arc<Vec<SocketAddr>>,
    /// `pools[node][connection]`.
    pools: Arc<Vec<Vec<Conn>>>,
    /// Index of the node clients believe leads.
    leader: Arc<AtomicUsize>,
}

fn endpoint(addr: SocketAddr) -> Result<Endpoint, String> {
    Endpoint::from_shared(format!("http://{addr}"))
        .map(|e| e.connect_timeout(Duration::from_secs(2)).tcp_nodelay(true))
        .map_err(|e| format!("{addr}: {e}"))
}

impl Targets {
    /// Lazily connected channels to `addrs` (at least one).
    pub fn new(addrs: Vec<SocketAddr>) -> Result<Targets, String> {
        if addrs.is_empty() {
            return Err("no node address to send requests to".into());
        }
        let pools = addrs
            .iter()
            .map(|a| {
                (0..MAX_CONNECTIONS_PER_NODE)
                    .map(|_| Conn::new(*a))
                    .collect()
            })
            .collect();
        Ok(Targets {
            addrs: Arc::new(addrs),
            pools: Arc::new(pools),
            leader: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The addresses.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// HTTP/2 connections per node that `clients` clients use on `threads` worker threads.
    pub fn connections_for(clients: u64, threads: usize) -> u64 {
        if threads <= 1 {
            return 1;
        }
        clients
            .min(BASE_CONNECTIONS)
            .max(clients.div_ceil(CLIENTS_PER_CONNECTION))
            .clamp(1, MAX_CONNECTIONS_PER_NODE)
    }

    /// The connection to node `node` of client `client_index` of a run whose clients share
    /// `connections` connections per node: they take turns, so each carries the same load.
    fn conn(&self, node: usize, client_index: u64, connections: u64) -> Conn {
        let pool = &self.pools[node];
        pool[(client_index % connections.max(1)) as usize % pool.len()].clone()
    }

    fn index_of(&self, addr: &str) -> Option<usize> {
        let addr: SocketAddr = addr.parse().ok()?;
        self.addrs.iter().position(|a| *a == addr)
    }

    /// Connects once to every node within `timeout`: an address nobody listens on is an error
    /// now rather than a run of failed requests.
    pub async fn check_reachable(&self, timeout: Duration) -> Result<(), String> {
        for (i, addr) in self.addrs.iter().enumerate() {
            let e = endpoint(*addr)?;
            match tokio::time::timeout(timeout, e.connect()).await {
                Ok(Ok(_)) => {}
                Ok(Err(err)) => {
                    let why = error_chain(&err);
                    return Err(format!(
                        "cannot connect to {addr} (target {}): {why}",
                        i + 1
                    ));
                }
                Err(_) => {
                    return Err(format!(
                        "cannot connect to {addr} (target {}): no answer within {} ms",
                        i + 1,
                        timeout.as_millis()
                    ))
                }
            }
        }
        Ok(())
    }

    /// Asks the nodes who leads until one answers, within `timeout`: sets the shared hint and
    /// returns the leader's address.
    pub async fn find_leader(&self, timeout: Duration) -> Result<SocketAddr, String> {
        let deadline = Instant::now() + timeout;
        let mut last_error = String::from("no answer");
        loop {
            for i in 0..self.addrs.len() {
                let mut req = tonic::Request::new(pb::GetRequest {
                    key: "bench-probe".into(),
                });
                req.metadata_mut()
                    .insert(FORWARDED, MetadataValue::from_static("1"));
                req.set_timeout(Duration::from_secs(1));
                let reply = match self.conn(i, 0, 1).kv().await {
                    Ok(mut kv) => kv.get(req).await,
                    Err(status) => Err(status),
                };
                match reply {
                    Ok(_) => {
                        self.leader.store(i, Ordering::Relaxed);
                        return Ok(self.addrs[i]);
                    }
                    Err(status) => {
                        if let Some(l) = leader_addr(&status).and_then(|a| self.index_of(&a)) {
                            if l != i {
                                self.leader.store(l, Ordering::Relaxed);
                                continue;
                            }
                        }
                        last_error = format!("{}: {}", self.addrs[i], status.message());
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no node answered as leader within {} s (last: {last_error})",
                    timeout.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// An error and its sources, joined: "tcp connect error: Connection refused (os error 111)".
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text += &format!(": {s_text}");
        }
        source = s.source();
    }
    text
}

fn leader_addr(status: &tonic::Status) -> Option<String> {
    Some(
        status
            .metadata()
            .get(LEADER_ADDR)?
            .to_str()
            .ok()?
            .to_string(),
    )
}

/// When a run measures and when it stops.
#[derive(Clone)]
pub struct Window {
    /// Operations that start before this are warm-up, not measured.
    pub from: Instant,
    /// Operations that complete after this are not measured (`None`: until `stop`).
    pub until: Option<Instant>,
    /// Set to end the run.
    pub stop: Arc<AtomicBool>,
    /// Acknowledged writes measured so far (all clients).
    pub acked: Arc<AtomicU64>,
    /// Stop once `acked` reaches this.
    pub limit: Option<u64>,
}

impl Window {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether an op that ran from `started` to `done` is measured; counts a measured write
    /// toward the limit.
    fn measured(&self, started: Instant, done: Instant, write: bool) -> bool {
        if started < self.from || self.until.is_some_and(|u| done > u) {
            return false;
        }
        if !write {
            return true;
        }
        let n = self.acked.fetch_add(1, Ordering::Relaxed) + 1;
        match self.limit {
            Some(limit) if n >= limit => {
                self.stop.store(true, Ordering::Relaxed);
                n <= limit
            }
            _ => true,
        }
    }
}

/// What one client's run is about.
#[derive(Clone)]
pub struct ClientSpec {
    /// Session id (unique per run, so a run against a long-lived `serve` starts fresh).
    pub client_id: u64,
    /// Index of the client in the run (picks its connection).
    pub index: u64,
    /// Connections per node the run's clients share.
    pub connections: u64,
    /// Bytes per value.
    pub payload: usize,
    /// Fraction of operations that are reads.
    pub read_ratio: f64,
    /// Seed of its choices (read or write, which key).
    pub seed: u64,
}

/// What the clients measured, summed.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Writes acknowledged in the window.
    pub writes: u64,
    /// Reads answered in the window.
    pub reads: u64,
    /// Failed attempts (each retried), redirects not included.
    pub errors: u64,
    /// Refusals by a follower naming the leader: the client went there.
    pub redirects: u64,
    /// Reads that did not return the client's own last write.
    pub stale_reads: u64,
    /// Keys read back after the run.
    pub keys_verified: u64,
    /// Keys that held neither the last acknowledged value nor one in doubt.
    pub lost_writes: u64,
    /// Keys that could not be read back (no answer in time).
    pub unverified: u64,
    /// Write latency (µs).
    pub write_us: Histogram<u64>,
    /// Read latency (µs).
    pub read_us: Histogram<u64>,
}

impl Default for LoadResult {
    fn default() -> Self {
        LoadResult {
            writes: 0,
            reads: 0,
            errors: 0,
            redirects: 0,
            stale_reads: 0,
            keys_verified: 0,
            lost_writes: 0,
            unverified: 0,
            write_us: new_histogram(),
            read_us: new_histogram(),
        }
    }
}

impl LoadResult {
    fn add(&mut self, other: &LoadResult) {
        self.writes += other.writes;
        self.reads += other.reads;
        self.errors += other.errors;
        self.redirects += other.redirects;
        self.stale_reads += other.stale_reads;
        self.keys_verified += other.keys_verified;
        self.lost_writes += other.lost_writes;
        self.unverified += other.unverified;
        let _ = self.write_us.add(&other.write_us);
        let _ = self.read_us.add(&other.read_us);
    }
}

/// splitmix64: a tiny, seeded, good-enough generator for the clients' choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The value of a client's write number `seq`: its decimal digits, zero-padded to `payload`
/// bytes (the last `payload` digits when the number is longer).
pub fn value_of(seq: u64, payload: usize) -> String {
    // Not `format!("{seq:0>payload$}")`: a width above u16::MAX panics (payloads go to 1 MiB).
    let digits = seq.to_string();
    if digits.len() >= payload {
        return digits[digits.len() - payload..].to_string();
    }
    let mut value = "0".repeat(payload - digits.len());
    value.push_str(&digits);
    value
}

/// One client's state: its session and what it knows it wrote.
struct Client {
    spec: ClientSpec,
    targets: Targets,
    /// Its connection to each node, and the Kv client on it while the last call went well.
    conns: Vec<Conn>,
    kvs: Vec<Option<KvClient<H2>>>,
    rng: Rng,
    seq: u64,
    /// Per key: the last acknowledged value, and a value whose write is in doubt.
    written: Vec<(Option<String>, Option<String>)>,
    history: Option<History>,
    result: LoadResult,
}

/// How an attempt went, once the routing is dealt with.
enum Attempt<T> {
    Done(T),
    Retry,
}

impl<T> Attempt<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Attempt<U> {
        match self {
            Attempt::Done(t) => Attempt::Done(f(t)),
            Attempt::Retry => Attempt::Retry,
        }
    }
}

impl Client {
    fn key(&self, k: usize) -> String {
        format!("bench-{}-{k}", self.spec.client_id)
    }

    fn request<T>(&self, body: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(body);
        req.metadata_mut()
            .insert(FORWARDED, MetadataValue::from_static("1"));
        req.set_timeout(REQUEST_TIMEOUT);
        req
    }

    /// Deals with a failed attempt at node `node`: follows a leader hint, or backs off and
    /// tries the next node. Counts a redirect or an error.
    async fn failed(&mut self, node: usize, status: &tonic::Status) {
        let hint = leader_addr(status).and_then(|a| self.targets.index_of(&a));
        match hint {
            Some(l) if l != node => {
                self.result.redirects += 1;
                self.targets.leader.store(l, Ordering::Relaxed);
            }
            _ => {
                self.result.errors += 1;
                // Someone else may have found the leader meanwhile; if not, try the next node.
                let shared = self.targets.leader.load(Ordering::Relaxed);
                if shared == node {
                    let next = (node + 1) % self.targets.addrs.len();
                    let _ = self.targets.leader.compare_exchange(
                        node,
                        next,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
    }

    /// The Kv client for node `node`, opening its connection if it is not open. A failure
    /// here sent nothing: it counts as a failed attempt, not as an operation.
    async fn kv(&mut self, node: usize) -> Result<KvClient<H2>, ()> {
        if let Some(kv) = self.kvs[node].take() {
            return Ok(kv);
        }
        match self.conns[node].kv().await {
            Ok(kv) => Ok(kv),
            Err(status) => {
                self.failed(node, &status).await;
                Err(())
            }
        }
    }

    /// One attempt at the node clients believe leads: sends `body` with `call`, records it in
    /// the history (`op`, and the reply's `output`) if there is one, and on a failure follows
    /// the leader hint or backs off.
    async fn attempt<Req, Rep, Fut>(
        &mut self,
        body: Req,
        call: impl FnOnce(KvClient<H2>, tonic::Request<Req>) -> Fut,
        op: impl FnOnce() -> KvOp,
        output: impl FnOnce(&Rep) -> KvOutput,
    ) -> Attempt<Rep>
    where
        Fut: Future<Output = (KvClient<H2>, Result<tonic::Response<Rep>, tonic::Status>)>,
    {
        let node = self.targets.leader.load(Ordering::Relaxed);
        let Ok(kv) = self.kv(node).await else {
            return Attempt::Retry;
        };
        let req = self.request(body);
        let pending = self
            .history
            .as_ref()
            .map(|h| h.invoke(self.spec.client_id, op()));
        let (kv, reply) = call(kv, req).await;
        if reply.is_ok() {
            // Kept while calls go well; after a failure the next call asks the connection,
            // which reopens it if it broke.
            self.kvs[node] = Some(kv);
        }
        if let Some(pending) = pending {
            pending.complete(match &reply {
                Ok(r) => Outcome::Ok(output(r.get_ref())),
                Err(status) => crate::chaos::outcome_of(status),
            });
        }
        match reply {
            Ok(r) => Attempt::Done(r.into_inner()),
            Err(status) => {
                self.failed(node, &status).await;
                Attempt::Retry
            }
        }
    }

    async fn put_once(&mut self, key: &str, value: &str) -> Attempt<()> {
        let body = pb::PutRequest {
            key: key.to_string(),
            value: value.to_string(),
            client_id: self.spec.client_id,
            seq: self.seq,
        };
        let op = || KvOp::Put {
            key: key.to_string(),
            value: value.to_string(),
        };
        let output = |r: &pb::PutReply| KvOutput::Put {
            previous: r.had_previous.then(|| r.previous.clone()),
        };
        let put = |mut kv: KvClient<H2>, req| async move {
            let reply = kv.put(req).await;
            (kv, reply)
        };
        self.attempt(body, put, op, output).await.map(|_| ())
    }

    async fn get_once(&mut self, key: &str) -> Attempt<Option<String>> {
        let body = pb::GetRequest {
            key: key.to_string(),
        };
        let op = || KvOp::Get {
            key: key.to_string(),
        };
        let output = |r: &pb::GetReply| KvOutput::Get {
            value: r.found.then(|| r.value.clone()),
        };
        let get = |mut kv: KvClient<H2>, req| async move {
            let reply = kv.get(req).await;
            (kv, reply)
        };
        let reply = self.attempt(body, get, op, output).await;
        reply.map(|r| r.found.then_some(r.value))
    }

    /// One write, retried with the same sequence number until acknowledged or the run stops.
    async fn write(&mut self, window: &Window) {
        let k = (self.seq % KEYS_PER_CLIENT) as usize;
        let key = self.key(k);
        let value = value_of(self.seq, self.spec.payload);
        let started = Instant::now();
        loop {
            match self.put_once(&key, &value).await {
                Attempt::Done(()) => break,
                Attempt::Retry if window.stopped() => {
                    // Unanswered: it may still be applied.
                    self.written[k].1 = Some(value);
                    return;
                }
                Attempt::Retry => {}
            }
        }
        let done = Instant::now();
        self.written[k] = (Some(value), None);
        self.seq += 1;
        if window.measured(started, done, true) {
            self.result.writes += 1;
            let _ = self.result.write_us.record(micros(done - started));
        }
    }

    /// One read of a key this client wrote.
    async fn read(&mut self, window: &Window) {
        let known: Vec<usize> = (0..self.written.len())
            .filter(|k| self.written[*k].0.is_some())
            .collect();
        let k = known[(self.rng.next() % known.len() as u64) as usize];
        let key = self.key(k);
        let started = Instant::now();
        let got = loop {
            match self.get_once(&key).await {
                Attempt::Done(v) => break v,
                Attempt::Retry if window.stopped() => return,
                Attempt::Retry => {}
            }
        };
        let done = Instant::now();
        if got != self.written[k].0 {
            self.result.stale_reads += 1;
        }
        if window.measured(started, done, false) {
            self.result.reads += 1;
            let _ = self.result.read_us.record(micros(done - started));
        }
    }

    /// Reads every key back once the run is over (retrying until `deadline`).
    async fn verify(&mut self, deadline: Instant) {
        for k in 0..self.written.len() {
            let (acked, doubt) = self.written[k].clone();
            if acked.is_none() && doubt.is_none() {
                continue;
            }
            let key = self.key(k);
            let got = loop {
                match self.get_once(&key).await {
                    Attempt::Done(v) => break Some(v),
                    Attempt::Retry if Instant::now() >= deadline => break None,
                    Attempt::Retry => {}
                }
            };
            match got {
                None => self.result.unverified += 1,
                Some(v) => {
                    self.result.keys_verified += 1;
                    let ok = (v.is_some() && v == doubt) || v == acked;
                    if !ok {
                        self.result.lost_writes += 1;
                    }
                }
            }
        }
    }
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).max(1)
}

async fn client_loop(
    spec: ClientSpec,
    targets: Targets,
    window: Window,
    history: Option<History>,
) -> LoadResult {
    let conns: Vec<Conn> = (0..targets.addrs.len())
        .map(|n| targets.conn(n, spec.index, spec.connections))
        .collect();
    let mut c = Client {
        rng: Rng(spec.seed ^ spec.client_id.wrapping_mul(0x2545_F491_4F6C_DD1D)),
        spec,
        targets,
        kvs: vec![None; conns.len()],
        conns,
        seq: 1,
        written: vec![(None, None); KEYS_PER_CLIENT as usize],
        history,
        result: LoadResult::default(),
    };
    while !window.stopped() {
        let can_read = c.written.iter().any(|(acked, _)| acked.is_some());
        if can_read && c.spec.read_ratio > 0.0 && c.rng.unit() < c.spec.read_ratio {
            c.read(&window).await;
        } else {
            c.write(&window).await;
        }
    }
    c.verify(Instant::now() + Duration::from_secs(20)).await;
    c.result
}

/// Runs `specs` clients until the window's stop flag is set (by the caller, or by the write
/// limit); returns their results summed. The caller owns the timing.
pub fn spawn_clients(
    targets: &Targets,
    specs: Vec<ClientSpec>,
    window: &Window,
    history: Option<History>,
) -> tokio::task::JoinSet<LoadResult> {
    let mut set = tokio::task::JoinSet::new();
    for spec in specs {
        set.spawn(client_loop(
            spec,
            targets.clone(),
            window.clone(),
            history.clone(),
        ));
    }
    set
}

/// Waits for every client and sums their results.
pub async fn join_clients(mut set: tokio::task::JoinSet<LoadResult>) -> LoadResult {
    let mut total = LoadResult::default();
    while let Some(r) = set.join_next().await {
        if let Ok(r) = r {
            total.add(&r);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_have_the_payload_length_and_carry_the_sequence_number() {
        assert_eq!(value_of(42, 6), "000042");
        assert_eq!(value_of(123_456, 4), "3456");
        assert_eq!(value_of(7, 0), "");
        assert_eq!(value_of(7, 16).len(), 16);
        // Beyond a format width's u16 range, up to the largest payload the flag allows.
        let big = value_of(123, 1 << 20);
        assert_eq!(big.len(), 1 << 20);
        assert!(big.ends_with("0123") && big.bytes().filter(|b| *b != b'0').count() == 3);
    }

    #[test]
    fn connections_grow_with_clients_up_to_the_cap() {
        for threads in [2, 8] {
            assert_eq!(Targets::connections_for(1, threads), 1);
            assert_eq!(Targets::connections_for(2, threads), 2);
            assert_eq!(Targets::connections_for(4, threads), 4);
            assert_eq!(Targets::connections_for(256, threads), 4);
            assert_eq!(Targets::connections_for(512, threads), 4);
            assert_eq!(Targets::connections_for(513, threads), 5);
            assert_eq!(Targets::connections_for(1024, threads), 8);
            assert_eq!(Targets::connections_for(4096, threads), 8);
        }
        // On one worker thread a pool adds no parallelism: one connection per node.
        for clients in [1, 16, 1024, 4096] {
            assert_eq!(Targets::connections_for(clients, 1), 1);
        }
    }

    #[test]
    fn the_rng_is_uniform_enough_for_a_read_ratio() {
        let mut rng = Rng(7);
        let reads = (0..10_000).filter(|_| rng.unit() < 0.3).count();
        assert!((2_700..3_300).contains(&reads), "{reads}");
    }
}
