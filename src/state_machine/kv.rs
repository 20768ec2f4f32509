//! The example state machine: a replicated key-value store of strings, with client sessions so
//! that a retried write takes effect exactly once.
//!
//! A log entry's command is a prost-encoded [`pb::KvCommand`]; [`KvStore::apply`] returns a
//! prost-encoded [`pb::KvResult`] (see `proto/raftlab.proto` for what each field means per
//! operation). [`encode_command`] and [`decode_result`] build and read these bytes.
//!
//! # Operations
//!
//! | op       | effect                                              | result                                          |
//! |----------|-----------------------------------------------------|-------------------------------------------------|
//! | `put`    | sets `key` to `value`                               | `found`: had a previous value, `value`: it      |
//! | `get`    | none                                                | `found`: key present, `value`: its value        |
//! | `delete` | removes `key`                                       | `found`: the key existed                        |
//! | `append` | appends `value` to the current value (`""` if none) | `value`: the value after appending              |
//! | `cas`    | sets `key` to `new_value` if it is `expected` (or, with `expect_absent`, if it is absent) | `swapped`, `found`: the key existed, `value`: its value before |
//!
//! # Errors
//!
//! A command that cannot be applied yields a result with `error` set and leaves the store
//! untouched (data and session table alike): bytes that do not decode, a command without an op,
//! an empty key (keys must be non-empty), a session write with `seq` 0, or a stale session write.
//! Errors are deterministic like everything else: every replica returns the same one.
//!
//! # Client sessions (exactly-once writes)
//!
//! A write (`put`, `delete`, `append`, `cas`) carries the command's `client_id` and `seq` (those
//! of the [`pb::KvCommand`]; the copies inside the request messages are ignored). `client_id` 0
//! means "no session": the write is simply applied. Otherwise, per client, the store remembers the
//! last `seq` applied and its result:
//!
//! - `seq` 0 is refused (a session's sequence numbers start at 1);
//! - `seq` equal to the last one is a retry: the stored result is returned and nothing is applied
//!   again, even if the store has changed since;
//! - `seq` below the last one is refused as stale;
//! - `seq` above the last one is applied, and becomes the last one.
//!
//! The model, as in the classic Raft labs, assumes each client has at most one write outstanding:
//! it sends `seq + 1` only after it has seen the answer to `seq`. Only the last result is kept, so a
//! client that pipelined writes could not retry any but the latest. Gets are never recorded in
//! sessions: reads are idempotent, so `client_id` and `seq` are ignored for them.
//!
//! The session table is never trimmed yet: it grows by one entry per client ever seen (expiring
//! sessions deterministically, through the log, is future work).
//!
//! # Snapshot format
//!
//! [`StateMachine::snapshot`] writes the data, the session table and the applied index, so that
//! exactly-once survives log compaction: a write retried after a restore gets its first result.
//! Integers are little-endian; keys and clients are in increasing order, so equal stores give
//! equal bytes.
//!
//! | field           | bytes                                                                  |
//! |-----------------|------------------------------------------------------------------------|
//! | magic           | `RLKV`                                                                 |
//! | version         | `1` (one byte)                                                         |
//! | applied index   | u64                                                                    |
//! | key count       | u64, then per key: key length u64, key (UTF-8), value length u64, value (UTF-8) |
//! | session count   | u64, then per session: client u64, last seq u64, result length u64, result |
//!
//! [`StateMachine::restore`] accepts exactly this and nothing else: it refuses (with a
//! [`SnapshotError`], leaving the store unchanged) a wrong magic or version, truncated bytes,
//! bytes after the last session, strings that are not UTF-8, empty keys, keys or clients out of
//! order or repeated, client 0 or seq 0 in a session, a stored result that does not decode, and an
//! applied index above the index it is restored at.

use std::sync::Arc;

use bytes::Bytes;
use imbl::OrdMap;
use prost::Message as _;

use super::{SnapshotError, StateMachine};
use crate::pb;
use crate::pb::kv_command::Op;
use crate::raft::Index;

/// The `client_id` of a command outside any session.
const NO_SESSION: u64 = 0;

/// A client's session: the last write it had applied, and that write's encoded result.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Session {
    last_seq: u64,
    result: Bytes,
}

/// A replicated key-value store of strings: the example [`StateMachine`] (see the module docs).
///
/// Two stores are equal when they hold the same data, the same sessions and the same applied
/// index.
///
/// Cloning a store takes constant time: both tables are persistent B-trees ([`imbl::OrdMap`])
/// that share their nodes until one side changes, and a change then copies only the path to the
/// changed leaf. So a node can snapshot a clone on another thread while it goes on applying.
/// Values sit behind an `Arc`, so that copying a leaf copies pointers, not (large) values; an
/// append copies a value only if a clone still shares it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    data: OrdMap<String, Arc<String>>,
    sessions: OrdMap<u64, Session>,
    applied: Index,
}

impl KvStore {
    /// An empty store with no sessions and nothing applied.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(|v| v.as_str())
    }

    /// Every key and its value, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.data.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The number of client sessions remembered.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Decodes and runs one command, returning the encoded result. Never panics.
    fn execute(&mut self, command: &[u8]) -> Bytes {
        let cmd = match pb::KvCommand::decode(command) {
            Ok(cmd) => cmd,
            Err(e) => return error(format!("malformed command: {e}")),
        };
        let Some(op) = cmd.op else {
            return error("malformed command: no op".to_owned());
        };
        if key_of(&op).is_empty() {
            return error("invalid command: empty key".to_owned());
        }
        if matches!(op, Op::Get(_)) || cmd.client_id == NO_SESSION {
            return encode(self.run(op));
        }

        let (client, seq) = (cmd.client_id, cmd.seq);
        if seq == 0 {
            return error(format!(
                "invalid command: seq 0 of client {client}; a session's seq starts at 1"
            ));
        }
        if let Some(session) = self.sessions.get(&client) {
            if seq == session.last_seq {
                return session.result.clone();
            }
            if seq < session.last_seq {
                return error(format!(
                    "stale request: seq {seq} of client {client} is older than its last applied seq {}",
                    session.last_seq
                ));
            }
        }
        let result = encode(self.run(op));
        self.sessions.insert(
            client,
            Session {
                last_seq: seq,
                result: result.clone(),
            },
        );
        result
    }

    /// Carries out one well-formed operation on the data.
    fn run(&mut self, op: Op) -> pb::KvResult {
        match op {
            Op::Put(req) => {
                let previous = self.data.insert(req.key, Arc::new(req.value));
                pb::KvResult {
                    found: previous.is_some(),
                    value: previous.map(Arc::unwrap_or_clone).unwrap_or_default(),
                    ..Default::default()
                }
            }
            Op::Get(req) => {
                let value = self.data.get(&req.key);
                pb::KvResult {
                    found: value.is_some(),
                    value: value.map(|v| v.to_string()).unwrap_or_default(),
                    ..Default::default()
                }
            }
            Op::Delete(req) => pb::KvResult {
                found: self.data.remove(&req.key).is_some(),
                ..Default::default()
            },
            Op::Append(req) => {
                let value = Arc::make_mut(self.data.entry(req.key).or_default());
                value.push_str(&req.value);
                pb::KvResult {
                    value: value.clone(),
                    ..Default::default()
                }
            }
            Op::Cas(req) => {
                let current = self.data.get(&req.key).cloned();
                let swapped = if req.expect_absent {
                    current.is_none()
                } else {
                    current.as_deref() == Some(&req.expected)
                };
                let found = current.is_some();
                if swapped {
                    self.data.insert(req.key, Arc::new(req.new_value));
                }
                pb::KvResult {
                    found,
                    value: current.map(Arc::unwrap_or_clone).unwrap_or_default(),
                    swapped,
                    ..Default::default()
                }
            }
        }
    }
}

impl StateMachine for KvStore {
    /// Applies one [`pb::KvCommand`] and returns the encoded [`pb::KvResult`]. A command that
    /// cannot be applied still counts as applied at `index` (its result carries the error).
    fn apply(&mut self, index: Index, command: &[u8]) -> Bytes {
        self.applied = index;
        self.execute(command)
    }

    fn applied_index(&self) -> Index {
        self.applied
    }

    /// Encodes the store in the format of the module docs.
    fn snapshot(&self) -> Bytes {
        let data: usize = self
            .data
            .iter()
            .map(|(k, v)| 2 * U64 + k.len() + v.len())
            .sum();
        let sessions: usize = self
            .sessions
            .values()
            .map(|s| 3 * U64 + s.result.len())
            .sum();
        let size = HEADER + U64 + data + U64 + sessions;

        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.push(SNAPSHOT_VERSION);
        put_u64(&mut out, self.applied);
        put_u64(&mut out, self.data.len() as u64);
        for (key, value) in &self.data {
            put_bytes(&mut out, key.as_bytes());
            put_bytes(&mut out, value.as_bytes());
        }
        put_u64(&mut out, self.sessions.len() as u64);
        for (client, session) in &self.sessions {
            put_u64(&mut out, *client);
            put_u64(&mut out, session.last_seq);
            put_bytes(&mut out, &session.result);
        }
        debug_assert_eq!(out.len(), size, "the snapshot was pre-sized exactly");
        out.into()
    }

    /// Decodes a snapshot of the format of the module docs into a new store, and only if the
    /// whole of it is valid, replaces this one.
    fn restore(&mut self, index: Index, data: &[u8]) -> Result<(), SnapshotError> {
        let mut store = decode_snapshot(data)?;
        if store.applied > index {
            return Err(SnapshotError(format!(
                "it holds commands up to index {}, above the index {index} it is restored at",
                store.applied
            )));
        }
        store.applied = index;
        *self = store;
        Ok(())
    }
}

/// The first bytes of a [`KvStore`] snapshot.
const SNAPSHOT_MAGIC: &[u8; 4] = b"RLKV";
/// The version of the snapshot format this code writes and reads.
const SNAPSHOT_VERSION: u8 = 1;
/// The size of a u64 field.
const U64: usize = 8;
/// Magic, version and applied index.
const HEADER: usize = SNAPSHOT_MAGIC.len() + 1 + U64;

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Decodes a whole snapshot into a new store (with the applied index it records).
fn decode_snapshot(data: &[u8]) -> Result<KvStore, SnapshotError> {
    let mut r = Reader { data, at: 0 };
    if r.take(SNAPSHOT_MAGIC.len(), "magic")? != SNAPSHOT_MAGIC {
        return Err(SnapshotError(
            "not a key-value store snapshot (bad magic)".to_owned(),
        ));
    }
    let version = r.take(1, "version")?[0];
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError(format!(
            "unknown format version {version} (this build reads {SNAPSHOT_VERSION})"
        )));
    }
    let applied = r.u64("applied index")?;

    let mut store = KvStore {
        applied,
        ..KvStore::default()
    };
    let keys = r.count("key count", 2 * U64)?;
    for _ in 0..keys {
        let at = r.at;
        let key = r.str("key")?;
        let value = r.str("value")?;
        if key.is_empty() {
            return Err(r.error_at(at, "empty key"));
        }
        if store
            .data
            .get_max()
            .is_some_and(|(last, _)| last.as_str() >= key)
        {
            return Err(r.error_at(at, "key out of order or repeated"));
        }
        store
            .data
            .insert(key.to_owned(), Arc::new(value.to_owned()));
    }

    let sessions = r.count("session count", 3 * U64)?;
    for _ in 0..sessions {
        let at = r.at;
        let client = r.u64("client")?;
        let last_seq = r.u64("last seq")?;
        let result = r.bytes("result")?;
        if client == NO_SESSION || last_seq == 0 {
            return Err(r.error_at(at, "session of client 0 or with seq 0"));
        }
        if store
            .sessions
            .get_max()
            .is_some_and(|(last, _)| *last >= client)
        {
            return Err(r.error_at(at, "client out of order or repeated"));
        }
        if decode_result(result).is_err() {
            return Err(r.error_at(at, "stored result does not decode"));
        }
        store.sessions.insert(
            client,
            Session {
                last_seq,
                result: Bytes::copy_from_slice(result),
            },
        );
    }

    if r.at != data.len() {
        return Err(r.error_at(
            r.at,
            &format!("{} bytes after the last session", data.len() - r.at),
        ));
    }
    Ok(store)
}

/// Reads a snapshot's fields, checking every length against what remains.
struct Reader<'a> {
    data: &'a [u8],
    /// Offset of the next unread byte.
    at: usize,
}

impl<'a> Reader<'a> {
    fn error_at(&self, at: usize, what: &str) -> SnapshotError {
        SnapshotError(format!("at byte {at}: {what}"))
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.at
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], SnapshotError> {
        if n > self.remaining() {
            return Err(self.error_at(
                self.at,
                &format!(
                    "truncated: {what} needs {n} bytes, {} left",
                    self.remaining()
                ),
            ));
        }
        let bytes = &self.data[self.at..self.at + n];
        self.at += n;
        Ok(bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64, SnapshotError> {
        let mut le = [0; U64];
        le.copy_from_slice(self.take(U64, what)?);
        Ok(u64::from_le_bytes(le))
    }

    /// A length or count that must fit in what remains, each unit taking at least `unit` bytes.
    fn count(&mut self, what: &str, unit: usize) -> Result<usize, SnapshotError> {
        let at = self.at;
        let n = self.u64(what)?;
        match usize::try_from(n) {
            Ok(n) if n <= self.remaining() / unit => Ok(n),
            _ => Err(self.error_at(
                at,
                &format!(
                    "{what} {n} does not fit in the {} bytes left",
                    self.remaining()
                ),
            )),
        }
    }

    fn bytes(&mut self, what: &str) -> Result<&'a [u8], SnapshotError> {
        let n = self.count(&format!("{what} length"), 1)?;
        self.take(n, what)
    }

    fn str(&mut self, what: &str) -> Result<&'a str, SnapshotError> {
        let at = self.at;
        let bytes = self.bytes(what)?;
        std::str::from_utf8(bytes)
            .map_err(|e| self.error_at(at, &format!("{what} is not UTF-8: {e}")))
    }
}

/// Encodes a command for the log: `op` on behalf of client `client_id` (0: no session) with
/// sequence number `seq` (from 1 within a session; ignored without one, and for gets).
pub fn encode_command(client_id: u64, seq: u64, op: Op) -> Bytes {
    pb::KvCommand {
        client_id,
        seq,
        op: Some(op),
    }
    .encode_to_vec()
    .into()
}

/// Decodes the result bytes that [`KvStore::apply`] returned.
pub fn decode_result(bytes: &[u8]) -> Result<pb::KvResult, prost::DecodeError> {
    pb::KvResult::decode(bytes)
}

/// The key an operation is about.
fn key_of(op: &Op) -> &str {
    match op {
        Op::Put(req) => &req.key,
        Op::Get(req) => &req.key,
        Op::Delete(req) => &req.key,
        Op::Append(req) => &req.key,
        Op::Cas(req) => &req.key,
    }
}

fn encode(result: pb::KvResult) -> Bytes {
    result.encode_to_vec().into()
}

fn error(message: String) -> Bytes {
    encode(pb::KvResult {
        error: message,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests;
