//! The interaction environment the golden files drive, after etcd-io/raft's
//! `rafttest.InteractionEnv`: real cores (`raftlab::raft::RaftNode`) in one process, with a
//! network that delivers nothing until the script says so.
//!
//! ```text
//!   command ──► core.tick / campaign / propose / read_index / step(message)
//!                 │
//!                 ▼ drain every Ready at once, in the contract's order:
//!         persist to MemStorage ─► print the trace events ─► messages go in flight (#id)
//!         apply committed entries (a key=value map) ─► serve confirmed reads
//!                 │
//!   Checker (raftlab::sim): Election Safety, Log Matching, Leader Completeness,
//!   State Machine Safety and fresh reads, checked as each piece lands
//! ```
//!
//! Messages wait in flight, numbered in the order they were sent, until `deliver`, `stabilize`
//! or `drop` decides their fate; partitions and cut links apply when a message is delivered.
//! Nothing is random but each core's election timeout, drawn from the seed: the same file gives
//! the same output, always.

use std::collections::{BTreeMap, BTreeSet};

use raftlab::raft::{
    ConfChange, Config, Configuration, Entry, EntryKind, HardState, Index, MemStorage, Message,
    NodeId, RaftNode, ReadMode, Role, Snapshot, Storage, Term, TraceEvent, UnsafeRules,
};
use raftlab::sim::{Chain, Checker};

/// How the cores of a cluster are set up (the `cluster` command's options).
#[derive(Clone, Debug)]
struct Settings {
    election: (u32, u32),
    heartbeat: u32,
    seed: u64,
    pre_vote: bool,
    check_quorum: bool,
    read_mode: ReadMode,
    max_append: usize,
    chunk_bytes: usize,
    unsafe_rules: UnsafeRules,
    /// The configuration the cluster starts with: servers 1..=N.
    voters: Vec<NodeId>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            election: (10, 20),
            heartbeat: 3,
            seed: 1,
            pre_vote: true,
            check_quorum: true,
            read_mode: ReadMode::Safe,
            max_append: 64,
            chunk_bytes: 64 << 10,
            unsafe_rules: UnsafeRules::default(),
            voters: Vec::new(),
        }
    }
}

/// One server: its core (none while killed), what it stored, and its state machine.
#[derive(Debug)]
struct Server {
    core: Option<RaftNode>,
    storage: MemStorage,
    /// Prefix hashes of the stored log, for the checker.
    chain: Chain,
    /// Every entry applied, in index order (from a snapshot's contents on, after one).
    applied: Vec<Entry>,
    /// Started by `add-node`: in no configuration until a leader adds it.
    joiner: bool,
}

/// A read asked with `get`.
#[derive(Debug)]
struct Read {
    node: NodeId,
    key: String,
    /// Set once the leader confirmed it: serve when applied reaches it.
    index: Option<Index>,
}

/// The environment: servers, messages in flight, the network's cuts, the safety checker.
#[derive(Debug, Default)]
pub struct Env {
    settings: Settings,
    servers: BTreeMap<NodeId, Server>,
    in_flight: BTreeMap<u64, Message>,
    next_message: u64,
    /// Partition group of each server (all 0 when healed).
    group: BTreeMap<NodeId, u64>,
    next_group: u64,
    /// Directed links cut beyond partitions.
    cut: BTreeSet<(NodeId, NodeId)>,
    checker: Checker,
    reads: BTreeMap<u64, Read>,
    next_read: u64,
    out: Vec<String>,
    /// Indentation of the lines printed: consequences of a delivery are indented under it.
    indent: &'static str,
}

type Res = Result<(), String>;

impl Env {
    /// An environment with no cluster yet (the first command is `cluster N`).
    pub fn new() -> Self {
        Env::default()
    }

    /// Runs one command line and returns what it printed ("ok" when nothing).
    pub fn run(&mut self, line: &str) -> Vec<String> {
        self.out.clear();
        self.indent = "";
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Err(e) = self.dispatch(&words) {
            self.out.push(format!("error: {e}"));
        }
        if self.out.is_empty() {
            self.out.push("ok".into());
        }
        std::mem::take(&mut self.out)
    }

    fn dispatch(&mut self, words: &[&str]) -> Res {
        let Some((&cmd, args)) = words.split_first() else {
            return Err("empty command".into());
        };
        if cmd != "cluster" && self.servers.is_empty() {
            return Err("start with `cluster N`".into());
        }
        match cmd {
            "cluster" => self.cluster(args),
            "restore" => self.restore(args),
            "tick" => self.tick(args),
            "campaign" | "timeout" => {
                let id = self.live(one(args, "campaign N")?)?;
                self.core(id)?.campaign();
                self.process(id);
                Ok(())
            }
            "deliver" => {
                let ids = self.select(args)?;
                self.deliver_all(ids);
                Ok(())
            }
            "stabilize" => self.stabilize(),
            "drop" => {
                for n in self.select(args)? {
                    if let Some(m) = self.in_flight.remove(&n) {
                        self.say(format!("dropped #{n} {m}"));
                    }
                }
                Ok(())
            }
            "dup" | "duplicate" => {
                let n = message_id(one(args, "dup MSG")?)?;
                let m = self
                    .in_flight
                    .get(&n)
                    .cloned()
                    .ok_or(format!("no message #{n}"))?;
                let copy = self.send(m.clone());
                self.say(format!("#{copy} duplicates #{n} {m}"));
                Ok(())
            }
            "in-flight" => {
                let lines: Vec<String> = self
                    .in_flight
                    .iter()
                    .map(|(n, m)| format!("#{n} {m}"))
                    .collect();
                self.out.extend(lines);
                if self.in_flight.is_empty() {
                    self.say("nothing in flight".into());
                }
                Ok(())
            }
            "kill" => {
                let id = self.live(one(args, "kill N")?)?;
                if let Some(s) = self.servers.get_mut(&id) {
                    s.core = None;
                }
                self.say(format!("{id}: killed (its storage survives)"));
                Ok(())
            }
            "restart" => {
                let id = number(one(args, "restart N")?)?;
                match self.servers.get(&id) {
                    None => return Err(format!("no node {id}")),
                    Some(s) if s.core.is_some() => return Err(format!("node {id} is running")),
                    Some(_) => {}
                }
                self.boot(id)?;
                self.say(format!(
                    "{id}: restarted from storage: {}",
                    self.state_line(id)
                ));
                Ok(())
            }
            "partition" => self.partition(args),
            "isolate" => {
                let id = self.known(one(args, "isolate N")?)?;
                self.next_group += 1;
                self.group.insert(id, self.next_group);
                Ok(())
            }
            "heal" => {
                self.group.values_mut().for_each(|g| *g = 0);
                self.cut.clear();
                Ok(())
            }
            "link" => {
                let [from, to, what] = args else {
                    return Err("usage: link FROM TO cut|up".into());
                };
                let (from, to) = (self.known(from)?, self.known(to)?);
                match *what {
                    "cut" => self.cut.insert((from, to)),
                    "up" => self.cut.remove(&(from, to)),
                    w => return Err(format!("{w:?}: expected cut or up")),
                };
                Ok(())
            }
            "put" => self.put(args),
            "get" => self.get(args),
            "snapshot" | "compact" => self.compact(one(args, "snapshot N")?),
            "transfer" => {
                let to = self.known(one(args, "transfer N")?)?;
                let leader = self.leader()?;
                match self.core(leader)?.transfer_leader(to) {
                    Ok(()) => self.say(format!("{leader}: transfer leadership to {to}")),
                    Err(e) => self.say(format!("{leader}: transfer to {to} refused: {e}")),
                }
                self.process(leader);
                Ok(())
            }
            "add-node" => {
                let id = self.servers.keys().next_back().copied().unwrap_or(0) + 1;
                self.add_server(id, true)?;
                self.say(format!("{id}: started, in no configuration"));
                self.conf_change(ConfChange::AddLearner(id))
            }
            "promote" => {
                let id = self.known(one(args, "promote N")?)?;
                self.conf_change(ConfChange::PromoteLearner(id))
            }
            "add-voter" => {
                let id = number(one(args, "add-voter N")?)?;
                self.conf_change(ConfChange::AddVoter(id))
            }
            "remove-node" => {
                let id = self.known(one(args, "remove-node N")?)?;
                self.conf_change(ConfChange::RemoveServer(id))
            }
            "raft-state" => {
                let ids: Vec<NodeId> = self.servers.keys().copied().collect();
                for id in ids {
                    let line = format!("{id}: {}", self.state_line(id));
                    self.out.push(line);
                }
                Ok(())
            }
            "status" => {
                let ids = match args {
                    [] => self.servers.keys().copied().collect(),
                    [id] => vec![self.known(id)?],
                    _ => return Err("usage: status [N]".into()),
                };
                for id in ids {
                    self.status(id);
                }
                Ok(())
            }
            "log" => {
                let id = self.known(one(args, "log N")?)?;
                self.log(id);
                Ok(())
            }
            other => Err(format!("unknown command {other:?}")),
        }
    }

    // ------------------------------------------------------------------------------------------
    // Setting up
    // ------------------------------------------------------------------------------------------

    /// `cluster N [option=value ...]`: N fresh servers, all followers in term 0.
    fn cluster(&mut self, args: &[&str]) -> Res {
        if !self.servers.is_empty() {
            return Err("the cluster exists already".into());
        }
        let Some((n, options)) = args.split_first() else {
            return Err("usage: cluster N [option=value ...]".into());
        };
        let n = number(n)?;
        let s = &mut self.settings;
        for option in options {
            let (key, value) = option
                .split_once('=')
                .ok_or(format!("{option:?}: expected option=value"))?;
            match key {
                "election" => {
                    let (lo, hi) = value.split_once("..").ok_or("election=MIN..MAX")?;
                    s.election = (number(lo)? as u32, number(hi)? as u32);
                }
                "heartbeat" => s.heartbeat = number(value)? as u32,
                "seed" => s.seed = number(value)?,
                "pre-vote" => s.pre_vote = on_off(value)?,
                "check-quorum" => s.check_quorum = on_off(value)?,
                "read" => {
                    s.read_mode = match value {
                        "safe" => ReadMode::Safe,
                        "lease" => ReadMode::Lease,
                        v => return Err(format!("read={v}: expected safe or lease")),
                    }
                }
                "max-append" => s.max_append = number(value)? as usize,
                "chunk" => s.chunk_bytes = number(value)? as usize,
                "unsafe" => {
                    for rule in value.split(',') {
                        match rule {
                            "commit-by-counting" => s.unsafe_rules.commit_by_counting = true,
                            "vote-without-log-check" => {
                                s.unsafe_rules.vote_without_log_check = true
                            }
                            "forget-vote" => s.unsafe_rules.forget_vote = true,
                            r => return Err(format!("unknown unsafe rule {r:?}")),
                        }
                    }
                }
                k => return Err(format!("unknown option {k:?}")),
            }
        }
        self.settings.voters = (1..=n).collect();
        self.checker
            .set_initial_conf(Configuration::with_voters(1..=n));
        for id in 1..=n {
            self.add_server(id, false)?;
        }
        for id in 1..=n {
            let timeout = self.core(id)?.status().election_timeout;
            self.say(format!(
                "{id}: follower in term 0, election timeout {timeout} ticks"
            ));
        }
        Ok(())
    }

    fn core_config(&self, id: NodeId, joiner: bool) -> Config {
        let voters = if joiner {
            Vec::new()
        } else {
            self.settings.voters.clone()
        };
        let s = &self.settings;
        let mut c = Config::new(id, voters);
        c.election_timeout_min = s.election.0;
        c.election_timeout_max = s.election.1;
        c.heartbeat_interval = s.heartbeat;
        c.seed = s.seed;
        c.pre_vote = s.pre_vote;
        c.check_quorum = s.check_quorum;
        c.read_mode = s.read_mode;
        c.max_entries_per_append = s.max_append;
        c.snapshot_chunk_bytes = s.chunk_bytes;
        c.unsafe_rules = s.unsafe_rules;
        c
    }

    fn add_server(&mut self, id: NodeId, joiner: bool) -> Res {
        self.servers.insert(
            id,
            Server {
                core: None,
                storage: MemStorage::new(),
                chain: Chain::default(),
                applied: Vec::new(),
                joiner,
            },
        );
        self.group.insert(id, 0);
        self.boot(id)
    }

    /// Starts server `id`'s core from its storage, its state machine from its snapshot, and
    /// drains the first Ready.
    fn boot(&mut self, id: NodeId) -> Res {
        let joiner = self.servers.get(&id).is_some_and(|s| s.joiner);
        let config = self.core_config(id, joiner);
        let server = self.servers.get_mut(&id).ok_or(format!("no node {id}"))?;
        let initial = server.storage.initial_state().map_err(|e| e.to_string())?;
        server.core = Some(RaftNode::new(config, initial).map_err(|e| format!("{e:?}"))?);
        server.applied = match server.storage.snapshot() {
            Some(snapshot) => raftlab::sim::decode_state(&snapshot.data)?,
            None => Vec::new(),
        };
        // The first Ready: committed entries the state machine must apply again.
        self.process(id);
        Ok(())
    }

    /// `restore N term=T [vote=V] [commit=C] log=T1,T2,...`: server N restarts from a storage
    /// holding that hard state and a log whose entry i has term Ti (data "x").
    fn restore(&mut self, args: &[&str]) -> Res {
        let Some((id, options)) = args.split_first() else {
            return Err("usage: restore N term=T [vote=V] [commit=C] log=T1,T2,...".into());
        };
        let id = self.known(id)?;
        let mut hard_state = HardState::default();
        let mut entries = Vec::new();
        for option in options {
            match option.split_once('=') {
                Some(("term", v)) => hard_state.term = number(v)?,
                Some(("vote", v)) => hard_state.voted_for = Some(number(v)?),
                Some(("commit", v)) => hard_state.commit = number(v)?,
                Some(("log", v)) => {
                    for (i, t) in v.split(',').enumerate() {
                        entries.push(Entry::normal(i as Index + 1, number(t)?, "x"));
                    }
                }
                _ => {
                    return Err(format!(
                        "{option:?}: expected term=, vote=, commit= or log="
                    ))
                }
            }
        }
        let mut storage = MemStorage::new();
        storage
            .persist(Some(&hard_state), &entries)
            .map_err(|e| e.to_string())?;
        let mut chain = Chain::default();
        chain.write(&entries);
        if let Some(server) = self.servers.get_mut(&id) {
            server.storage = storage;
            server.chain = chain;
        }
        self.boot(id)?;
        self.say(format!("{id}: {}", self.state_line(id)));
        self.process(id);
        Ok(())
    }

    // ------------------------------------------------------------------------------------------
    // Time and messages
    // ------------------------------------------------------------------------------------------

    /// `tick N [node]`: N ticks of every live server's clock (or of one server's).
    fn tick(&mut self, args: &[&str]) -> Res {
        let (n, only) = match args {
            [n] => (number(n)?, None),
            [n, id] => (number(n)?, Some(self.live(id)?)),
            _ => return Err("usage: tick N [node]".into()),
        };
        for _ in 0..n {
            let ids: Vec<NodeId> = match only {
                Some(id) => vec![id],
                None => self.live_ids(),
            };
            for id in ids {
                if let Ok(core) = self.core(id) {
                    core.tick();
                    self.process(id);
                }
            }
        }
        Ok(())
    }

    /// The messages a `deliver` or `drop` names: ids (`3 4` or `#3`), `to N`, `from N`, or every
    /// message in flight.
    fn select(&self, args: &[&str]) -> Result<Vec<u64>, String> {
        let pick = |keep: &dyn Fn(&Message) -> bool| {
            self.in_flight
                .iter()
                .filter(|(_, m)| keep(m))
                .map(|(n, _)| *n)
                .collect()
        };
        Ok(match args {
            [] => pick(&|_| true),
            ["to", id] => {
                let id = number(id)?;
                pick(&|m| m.to == id)
            }
            ["from", id] => {
                let id = number(id)?;
                pick(&|m| m.from == id)
            }
            ids => ids
                .iter()
                .map(|w| message_id(w))
                .collect::<Result<_, _>>()?,
        })
    }

    fn deliver_all(&mut self, ids: Vec<u64>) {
        for n in ids {
            self.deliver(n);
        }
    }

    /// Delivers message `n`: the receiver steps it and its Ready is drained.
    fn deliver(&mut self, n: u64) {
        let Some(msg) = self.in_flight.remove(&n) else {
            self.say(format!("no message #{n} in flight"));
            return;
        };
        let (from, to) = (msg.from, msg.to);
        if !self.connected(from, to) {
            self.say(format!("#{n} {msg} -- lost: link cut"));
            return;
        }
        if self.servers.get(&to).is_none_or(|s| s.core.is_none()) {
            self.say(format!("#{n} {msg} -- lost: receiver down"));
            return;
        }
        self.say(format!("#{n} {msg}"));
        self.indent = "  ";
        if let Ok(core) = self.core(to) {
            if let Err(e) = core.step(msg) {
                let line = format!("{to}: refused the message: {e}");
                self.say(line);
            }
        }
        self.process(to);
        self.indent = "";
    }

    /// Delivers every message in flight, and those they cause, until none is left.
    fn stabilize(&mut self) -> Res {
        for _ in 0..1000 {
            if self.in_flight.is_empty() {
                return Ok(());
            }
            let ids = self.in_flight.keys().copied().collect();
            self.deliver_all(ids);
        }
        Err("still busy after 1000 rounds of delivery".into())
    }

    fn send(&mut self, msg: Message) -> u64 {
        self.next_message += 1;
        self.in_flight.insert(self.next_message, msg);
        self.next_message
    }

    fn connected(&self, from: NodeId, to: NodeId) -> bool {
        self.group.get(&from) == self.group.get(&to) && !self.cut.contains(&(from, to))
    }

    /// `partition 1,2 3,4,5`: servers in different groups cannot talk; unlisted ones are alone.
    fn partition(&mut self, args: &[&str]) -> Res {
        if args.is_empty() {
            return Err("usage: partition 1,2 3,4,5".into());
        }
        let ids: Vec<NodeId> = self.group.keys().copied().collect();
        for id in ids {
            self.next_group += 1;
            self.group.insert(id, self.next_group);
        }
        for members in args {
            self.next_group += 1;
            for m in members.split(',') {
                let id = self.known(m)?;
                self.group.insert(id, self.next_group);
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------------
    // The runtime's half of the Ready contract
    // ------------------------------------------------------------------------------------------

    /// Drains server `id`'s Readies: store the snapshot, persist, explain, send, apply, serve
    /// reads — checking the safety properties as each piece lands.
    fn process(&mut self, id: NodeId) {
        loop {
            let Some(core) = self.servers.get_mut(&id).and_then(|s| s.core.as_mut()) else {
                return;
            };
            if !core.has_ready() {
                break;
            }
            let (role, term) = (core.role(), core.term());
            let rd = core.ready();
            if let Some(snapshot) = &rd.snapshot {
                if let Err(e) = self.install(id, snapshot) {
                    self.violation(e);
                }
            }
            if let Some(server) = self.servers.get_mut(&id) {
                let persisted = server
                    .storage
                    .persist(rd.hard_state.as_ref(), &rd.entries)
                    .map_err(|e| format!("node {id}: storage refused: {e}"));
                server.chain.write(&rd.entries);
                let checked = self.checker.on_stored(id, &rd.entries, &server.chain);
                if let Err(e) = persisted.and(checked) {
                    self.violation(e);
                }
            }
            for event in &rd.events {
                self.say(format!("{id}: {event}"));
                self.check_event(id, event, role, term);
            }
            for msg in rd.messages {
                let text = msg.to_string();
                let n = self.send(msg);
                self.say(format!("{id}: sent #{n} {text}"));
            }
            for entry in rd.committed_entries {
                if let Err(e) = self.checker.on_apply(id, &entry) {
                    self.violation(e);
                }
                if let Some(server) = self.servers.get_mut(&id) {
                    server.applied.push(entry);
                }
            }
            for rs in rd.read_states {
                if let Err(e) = self.checker.on_read_state(id, rs.ctx, rs.index) {
                    self.violation(e);
                }
                if let Some(read) = self.reads.get_mut(&rs.ctx) {
                    read.index = Some(rs.index);
                }
            }
            if let Ok(core) = self.core(id) {
                core.advance();
            }
        }
        if let Ok(core) = self.core(id) {
            if let Err(e) = core.validate() {
                self.violation(format!("node {id} invariant: {e}"));
            }
        }
        self.serve_reads(id);
    }

    fn check_event(&mut self, id: NodeId, event: &TraceEvent, role: Role, term: Term) {
        let Some(server) = self.servers.get(&id) else {
            return;
        };
        let result = match event {
            TraceEvent::BecameLeader { term } => self.checker.on_leader(id, *term, &server.chain),
            TraceEvent::CommitAdvanced { to, .. } => {
                let leader_term = (role == Role::Leader).then_some(term);
                self.checker.on_commit(id, *to, leader_term, &server.chain)
            }
            TraceEvent::ReadsDropped { ctxs } => {
                for ctx in ctxs {
                    self.reads.remove(ctx);
                    self.checker.on_read_refused(*ctx);
                }
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.violation(e);
        }
    }

    /// Stores a snapshot installed from the leader and restores the state machine from it.
    fn install(&mut self, id: NodeId, snapshot: &Snapshot) -> Res {
        let server = self.servers.get_mut(&id).ok_or("no such node")?;
        server
            .storage
            .save_snapshot(snapshot)
            .map_err(|e| e.to_string())?;
        let entries = raftlab::sim::decode_state(&snapshot.data)?;
        // The log after the snapshot is kept only if it continues it.
        if server.storage.last_index() <= snapshot.meta.index {
            let mut chain = Chain::default();
            chain.write(&entries);
            server.chain = chain;
        }
        server.applied = entries.clone();
        for e in &entries {
            self.checker.on_apply(id, e)?;
        }
        Ok(())
    }

    /// Answers the reads confirmed at `id` whose index is applied.
    fn serve_reads(&mut self, id: NodeId) {
        let applied = self
            .servers
            .get(&id)
            .map_or(0, |s| s.applied.len() as Index);
        let ready: Vec<u64> = self
            .reads
            .iter()
            .filter(|(_, r)| r.node == id && r.index.is_some_and(|i| i <= applied))
            .map(|(ctx, _)| *ctx)
            .collect();
        for ctx in ready {
            if let Some(read) = self.reads.remove(&ctx) {
                let value = self.kv(id).remove(&read.key);
                let value = value.map_or("(absent)".to_string(), |v| format!("{v:?}"));
                self.say(format!("{id}: read {ctx}: get {} = {value}", read.key));
            }
        }
    }

    fn violation(&mut self, what: String) {
        self.say(format!("SAFETY VIOLATION: {what}"));
    }

    // ------------------------------------------------------------------------------------------
    // Clients
    // ------------------------------------------------------------------------------------------

    /// `put KEY VALUE [at N]`: proposes `KEY=VALUE` at the leader (or at node N).
    fn put(&mut self, args: &[&str]) -> Res {
        let (key, value, at) = match args {
            [k, v] => (k, v, None),
            [k, v, "at", id] => (k, v, Some(self.live(id)?)),
            _ => return Err("usage: put KEY VALUE [at N]".into()),
        };
        let id = match at {
            Some(id) => id,
            None => self.leader()?,
        };
        match self.core(id)?.propose(format!("{key}={value}")) {
            Ok((index, term)) => self.say(format!(
                "{id}: proposed {key}={value} at index {index} in term {term}"
            )),
            Err(e) => self.say(format!("{id}: refused {key}={value}: {e}")),
        }
        self.process(id);
        Ok(())
    }

    /// `get KEY [at N]`: a linearizable read (ReadIndex) at the leader (or at node N), answered
    /// once confirmed and applied.
    fn get(&mut self, args: &[&str]) -> Res {
        let (key, at) = match args {
            [k] => (k, None),
            [k, "at", id] => (k, Some(self.live(id)?)),
            _ => return Err("usage: get KEY [at N]".into()),
        };
        let id = match at {
            Some(id) => id,
            None => self.leader()?,
        };
        self.next_read += 1;
        let ctx = self.next_read;
        let floor = self.checker.max_committed();
        self.checker.on_read_issued(ctx, floor);
        self.reads.insert(
            ctx,
            Read {
                node: id,
                key: key.to_string(),
                index: None,
            },
        );
        match self.core(id)?.read_index(ctx) {
            Ok(()) => self.say(format!("{id}: read {ctx}: get {key} asked")),
            Err(e) => {
                self.reads.remove(&ctx);
                self.checker.on_read_refused(ctx);
                self.say(format!("{id}: read {ctx}: get {key} refused: {e}"));
            }
        }
        self.process(id);
        Ok(())
    }

    /// `snapshot N`: server N snapshots its state machine and compacts its log up to what it
    /// applied.
    fn compact(&mut self, id: &str) -> Res {
        let id = self.live(id)?;
        let server = self.servers.get_mut(&id).ok_or("no such node")?;
        let data = raftlab::sim::encode_applied(&server.applied);
        let core = server.core.as_mut().ok_or("down")?;
        let applied = core.log().applied();
        match core.compact(applied, data) {
            Ok(snapshot) => server
                .storage
                .save_snapshot(&snapshot)
                .map_err(|e| e.to_string())?,
            Err(e) => self.say(format!("{id}: cannot snapshot: {e}")),
        }
        self.process(id);
        Ok(())
    }

    fn conf_change(&mut self, change: ConfChange) -> Res {
        let leader = self.leader()?;
        match self.core(leader)?.propose_config_change(change) {
            Ok(index) => self.say(format!("{leader}: proposed {change} at index {index}")),
            Err(e) => self.say(format!("{leader}: refused {change}: {e}")),
        }
        self.process(leader);
        Ok(())
    }

    // ------------------------------------------------------------------------------------------
    // Looking
    // ------------------------------------------------------------------------------------------

    /// One line: role, term, vote, leader — or down.
    fn state_line(&self, id: NodeId) -> String {
        let Some(core) = self.servers.get(&id).and_then(|s| s.core.as_ref()) else {
            return "down".into();
        };
        let st = core.status();
        let role = if st.pre_candidate {
            "pre-candidate".to_string()
        } else {
            st.role.to_string()
        };
        let who = |x: Option<NodeId>| x.map_or("-".to_string(), |n| n.to_string());
        format!(
            "{role} term {} vote {} leader {} last {}/{} commit {}",
            st.term,
            who(st.voted_for),
            who(st.leader_id),
            st.last_log_index,
            st.last_log_term,
            st.commit
        )
    }

    fn status(&mut self, id: NodeId) {
        let Some(core) = self.servers.get(&id).and_then(|s| s.core.as_ref()) else {
            self.out.push(format!("{id}: down"));
            return;
        };
        let st = core.status();
        let mut lines = vec![format!("{id}: {}", self.state_line(id))];
        lines.push(format!(
            "   applied {} persisted {} timer {}/{}",
            st.applied, st.persisted_index, st.election_elapsed, st.election_timeout
        ));
        if st.snapshot_index > 0 {
            lines.push(format!(
                "   snapshot {}/{} ({} bytes), log from {}",
                st.snapshot_index, st.snapshot_term, st.snapshot_bytes, st.first_index
            ));
        }
        let mut conf = format!("   voters {:?}", st.voters);
        if !st.learners.is_empty() {
            conf.push_str(&format!(" learners {:?}", st.learners));
        }
        if st.conf_pending {
            conf.push_str(" (not yet committed)");
        }
        lines.push(conf);
        if let Some(to) = st.transfer_target {
            lines.push(format!("   transferring leadership to {to}"));
        }
        for p in &st.progress {
            let mut line = format!(
                "   progress {}: match {} next {} {} inflight {}",
                p.id,
                p.match_index,
                p.next_index,
                p.state.as_str(),
                p.inflight
            );
            if let Some((index, done, total)) = p.snapshot_transfer {
                line.push_str(&format!(" snapshot {index} {done}/{total} bytes"));
            }
            lines.push(line);
        }
        self.out.extend(lines);
    }

    fn log(&mut self, id: NodeId) {
        let Some(server) = self.servers.get(&id) else {
            return;
        };
        let mut lines = Vec::new();
        let (entries, commit, applied) = match server.core.as_ref() {
            Some(core) => {
                let log = core.log();
                (
                    log.range(log.first_index(), log.last_index()),
                    log.committed(),
                    log.applied(),
                )
            }
            None => {
                lines.push(format!("{id}: down; its storage holds:"));
                (server.storage.entries().to_vec(), 0, 0)
            }
        };
        if server.core.is_some() {
            lines.push(format!(
                "{id}: {} entries, commit {commit}, applied {applied}",
                entries.len()
            ));
        }
        if let Some(snapshot) = server.storage.snapshot() {
            lines.push(format!(
                "  snapshot {}/{}: {}",
                snapshot.meta.index,
                snapshot.meta.term,
                show_kv(&fold_kv(
                    &raftlab::sim::decode_state(&snapshot.data).unwrap_or_default()
                ))
            ));
        }
        for e in &entries {
            lines.push(format!("  {}/{} {}", e.index, e.term, show_entry(e)));
        }
        self.out.extend(lines);
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    fn say(&mut self, line: String) {
        self.out.push(format!("{}{line}", self.indent));
    }

    fn core(&mut self, id: NodeId) -> Result<&mut RaftNode, String> {
        self.servers
            .get_mut(&id)
            .ok_or(format!("no node {id}"))?
            .core
            .as_mut()
            .ok_or(format!("node {id} is down"))
    }

    fn known(&self, word: &str) -> Result<NodeId, String> {
        let id = number(word)?;
        if self.servers.contains_key(&id) {
            Ok(id)
        } else {
            Err(format!("no node {id}"))
        }
    }

    fn live(&self, word: &str) -> Result<NodeId, String> {
        let id = self.known(word)?;
        if self.servers[&id].core.is_some() {
            Ok(id)
        } else {
            Err(format!("node {id} is down"))
        }
    }

    fn live_ids(&self) -> Vec<NodeId> {
        self.servers
            .iter()
            .filter(|(_, s)| s.core.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    /// The live server that believes it leads the highest term.
    fn leader(&self) -> Result<NodeId, String> {
        self.servers
            .iter()
            .filter_map(|(id, s)| s.core.as_ref().map(|c| (c.term(), c.role(), *id)))
            .filter(|(_, role, _)| *role == Role::Leader)
            .map(|(term, _, id)| (term, id))
            .max()
            .map(|(_, id)| id)
            .ok_or("no leader".into())
    }

    /// A server's state machine: the `key=value` commands it applied.
    fn kv(&self, id: NodeId) -> BTreeMap<String, String> {
        self.servers
            .get(&id)
            .map(|s| fold_kv(&s.applied))
            .unwrap_or_default()
    }
}

fn one<'a>(args: &[&'a str], usage: &str) -> Result<&'a str, String> {
    match args {
        [word] => Ok(*word),
        _ => Err(format!("usage: {usage}")),
    }
}

fn number(word: &str) -> Result<u64, String> {
    word.parse()
        .map_err(|_| format!("{word:?} is not a number"))
}

fn message_id(word: &str) -> Result<u64, String> {
    number(word.trim_start_matches('#'))
}

fn on_off(word: &str) -> Result<bool, String> {
    match word {
        "on" => Ok(true),
        "off" => Ok(false),
        w => Err(format!("{w:?}: expected on or off")),
    }
}

fn show_entry(e: &Entry) -> String {
    match e.kind {
        EntryKind::Noop => "no-op".into(),
        EntryKind::Config => match Configuration::decode(&e.data) {
            Ok(conf) => format!("config: {conf}"),
            Err(err) => format!("config (unreadable: {err})"),
        },
        EntryKind::Normal => String::from_utf8_lossy(&e.data).into_owned(),
    }
}

fn fold_kv(entries: &[Entry]) -> BTreeMap<String, String> {
    let mut kv = BTreeMap::new();
    for e in entries.iter().filter(|e| e.kind == EntryKind::Normal) {
        if let Some((k, v)) = std::str::from_utf8(&e.data)
            .ok()
            .and_then(|s| s.split_once('='))
        {
            kv.insert(k.to_string(), v.to_string());
        }
    }
    kv
}

fn show_kv(kv: &BTreeMap<String, String>) -> String {
    if kv.is_empty() {
        return "(empty)".into();
    }
    let pairs: Vec<String> = kv.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(" ")
}
