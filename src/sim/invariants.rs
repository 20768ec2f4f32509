//! The safety properties of the Raft paper (Figure 3), checked after every simulator step.
//!
//! | property               | how it is checked                                                  |
//! |------------------------|--------------------------------------------------------------------|
//! | Election Safety        | at most one `BecameLeader` per term, across all nodes and all time |
//! | Log Matching           | every (index, term) ever stored maps to one prefix hash            |
//! | Leader Completeness    | every leader of a term above the one an entry was committed in     |
//! |                        | held that entry when elected                                       |
//! | State Machine Safety   | every index is applied with one entry only, and only once committed|
//! | Linearizable reads     | a read's index (ReadIndex, thesis §6.4) is at least every index    |
//! |                        | committed anywhere before the read was asked                       |
//! | Membership (§4.1)      | committed configurations differ by at most one voter from the one  |
//! |                        | before them (and each core checks the same of its own log); the    |
//! |                        | checks above hold whatever configuration elected or committed      |
//!
//! Each log is summarised by a chain of prefix hashes, `chain[i] = H(chain[i-1], term_i, data_i)`:
//! two logs agree up to `i` exactly when their chains agree at `i`, which makes each check O(1)
//! per new entry rather than a walk over whole logs.

use std::collections::{BTreeMap, HashMap};

use crate::raft::{Configuration, Entry, EntryKind, Index, NodeId, Term};

/// Prefix-hash chain of one node's stored log.
#[derive(Clone, Debug, Default)]
pub struct Chain {
    /// chain[i - 1] summarises entries 1..=i.
    hashes: Vec<u64>,
    terms: Vec<Term>,
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash of an entry's content (kind and data).
pub fn content_hash(e: &Entry) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in e.data.iter() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01B3);
    }
    let kind = match e.kind {
        EntryKind::Normal => 1,
        EntryKind::Noop => 2,
        EntryKind::Config => 3,
    };
    mix(h ^ kind)
}

impl Chain {
    /// Applies a persisted write: entries from `entries[0].index` on replace what was there.
    pub fn write(&mut self, entries: &[Entry]) {
        let Some(first) = entries.first() else {
            return;
        };
        let keep = (first.index - 1) as usize;
        self.hashes.truncate(keep);
        self.terms.truncate(keep);
        for e in entries {
            let prev = self.hashes.last().copied().unwrap_or(0);
            self.hashes.push(mix(prev.rotate_left(17)
                ^ mix(e.term)
                ^ content_hash(e)
                ^ e.index));
            self.terms.push(e.term);
        }
    }

    /// Prefix hash at `index` (0 for index 0), if the log reaches it.
    pub fn at(&self, index: Index) -> Option<u64> {
        if index == 0 {
            return Some(0);
        }
        self.hashes.get((index - 1) as usize).copied()
    }

    /// Term at `index`, if the log reaches it.
    pub fn term(&self, index: Index) -> Option<Term> {
        self.terms.get((index - 1) as usize).copied()
    }

    /// Last index.
    pub fn len(&self) -> Index {
        self.hashes.len() as Index
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

#[derive(Clone, Debug)]
struct LeaderRecord {
    id: NodeId,
    chain: Chain,
}

#[derive(Clone, Copy, Debug)]
struct Committed {
    term: Term,
    chain: u64,
    /// The lowest term in which a leader committed this entry; `Term::MAX` when only a follower
    /// reported it (no leader completeness obligation derived from it).
    in_term: Term,
}

/// The global record of the four safety properties.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    leaders: BTreeMap<Term, LeaderRecord>,
    stored: HashMap<(Index, Term), u64>,
    committed: Vec<Option<Committed>>,
    applied: Vec<Option<(Term, u64)>>,
    /// Reads asked and not yet answered: ctx → the highest index committed anywhere when asked.
    reads: HashMap<u64, Index>,
    /// Committed configurations by index (index 0: the initial one), as servers apply them.
    confs: BTreeMap<Index, Configuration>,
}

impl Checker {
    /// A checker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Log Matching: `node` just stored `entries`, and its chain is now `chain`.
    pub fn on_stored(
        &mut self,
        node: NodeId,
        entries: &[Entry],
        chain: &Chain,
    ) -> Result<(), String> {
        for e in entries {
            let Some(h) = chain.at(e.index) else {
                return Err(format!(
                    "node {node}: stored entry {} missing from its chain",
                    e.index
                ));
            };
            match self.stored.get(&(e.index, e.term)) {
                Some(seen) if *seen != h => {
                    return Err(format!(
                        "Log Matching: node {node} stores entry {}/{} with a prefix that differs \
                         from another log's entry {}/{}",
                        e.index, e.term, e.index, e.term
                    ));
                }
                Some(_) => {}
                None => {
                    self.stored.insert((e.index, e.term), h);
                }
            }
        }
        Ok(())
    }

    /// Election Safety and Leader Completeness at election: `node` became leader of `term`
    /// holding `chain`.
    pub fn on_leader(&mut self, node: NodeId, term: Term, chain: &Chain) -> Result<(), String> {
        if let Some(prev) = self.leaders.get(&term) {
            if prev.id != node {
                return Err(format!(
                    "Election Safety: nodes {} and {node} are both leaders of term {term}",
                    prev.id
                ));
            }
        }
        // Every entry committed in a term below this one must be in the new leader's log. The
        // chain at the highest such index covers all before it.
        if let Some((index, c)) = self
            .committed
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, c)| c.filter(|c| c.in_term < term).map(|c| (i as Index + 1, c)))
        {
            if chain.at(index) != Some(c.chain) {
                return Err(format!(
                    "Leader Completeness: node {node} became leader of term {term} without \
                     committed entry {index} (term {}, committed in term {})",
                    c.term, c.in_term
                ));
            }
        }
        self.leaders.insert(
            term,
            LeaderRecord {
                id: node,
                chain: chain.clone(),
            },
        );
        Ok(())
    }

    /// `node` raised its commit index to `commit`. `leader_term` is its term if it is the
    /// leader (then the entries are committed in that term), None for a follower.
    pub fn on_commit(
        &mut self,
        node: NodeId,
        commit: Index,
        leader_term: Option<Term>,
        chain: &Chain,
    ) -> Result<(), String> {
        if commit == 0 {
            return Ok(());
        }
        let Some(top) = chain.at(commit) else {
            return Err(format!(
                "node {node} commits {commit} beyond its stored log"
            ));
        };
        if self.committed.len() < commit as usize {
            self.committed.resize(commit as usize, None);
        }
        let in_term = leader_term.unwrap_or(Term::MAX);
        // Walk down from the new commit index until entries already recorded agree.
        let mut index = commit;
        while index > 0 {
            let slot = &mut self.committed[(index - 1) as usize];
            let here = chain.at(index).unwrap_or(0);
            match slot {
                Some(c) if c.chain != here => {
                    return Err(format!(
                        "State Machine Safety: node {node} commits entry {index} (term {:?}) but \
                         entry {index} (term {}) was committed before",
                        chain.term(index),
                        c.term
                    ));
                }
                Some(c) if c.in_term <= in_term => break,
                Some(c) => c.in_term = in_term,
                None => {
                    *slot = Some(Committed {
                        term: chain.term(index).unwrap_or(0),
                        chain: here,
                        in_term,
                    });
                }
            }
            index -= 1;
        }
        // Leaders of later terms must already hold what this leader just committed.
        if let Some(term) = leader_term {
            for (t, leader) in self.leaders.range(term + 1..) {
                if leader.chain.at(commit) != Some(top) {
                    return Err(format!(
                        "Leader Completeness: entry {commit} committed in term {term} by node \
                         {node} is missing from node {}'s log when it became leader of term {t}",
                        leader.id
                    ));
                }
            }
        }
        Ok(())
    }

    /// Sets the cluster's initial configuration (index 0).
    pub fn set_initial_conf(&mut self, conf: Configuration) {
        self.confs.insert(0, conf);
    }

    /// Membership (thesis §4.1): a committed configuration differs from the committed one before
    /// it by at most one voter, and from the one after it too.
    fn on_config(&mut self, node: NodeId, entry: &Entry) -> Result<(), String> {
        let conf = Configuration::decode(&entry.data).map_err(|e| {
            format!(
                "node {node} applied configuration entry {}: {e}",
                entry.index
            )
        })?;
        let near = [
            self.confs.range(..entry.index).next_back(),
            self.confs.range(entry.index + 1..).next(),
        ];
        for (i, c) in near.into_iter().flatten() {
            if c.voter_distance(&conf) > 1 {
                return Err(format!(
                    "Membership: committed configuration {conf} at {} differs from committed \
                     configuration {c} at {i} by more than one voter",
                    entry.index
                ));
            }
        }
        self.confs.insert(entry.index, conf);
        Ok(())
    }

    /// State Machine Safety: `node` applied `entry`.
    pub fn on_apply(&mut self, node: NodeId, entry: &Entry) -> Result<(), String> {
        if entry.kind == EntryKind::Config {
            self.on_config(node, entry)?;
        }
        let i = entry.index as usize;
        match self.committed.get(i.wrapping_sub(1)).copied().flatten() {
            Some(c) if c.term == entry.term => {}
            Some(c) => {
                return Err(format!(
                    "State Machine Safety: node {node} applies entry {} of term {} but the \
                     committed entry there has term {}",
                    entry.index, entry.term, c.term
                ))
            }
            None => {
                return Err(format!(
                    "node {node} applies entry {} that was never committed",
                    entry.index
                ))
            }
        }
        if self.applied.len() < i {
            self.applied.resize(i, None);
        }
        let mine = (entry.term, content_hash(entry));
        match self.applied[i - 1] {
            Some(other) if other != mine => Err(format!(
                "State Machine Safety: node {node} applies a different entry at index {} \
                 (term {}) than another server applied (term {})",
                entry.index, entry.term, other.0
            )),
            Some(_) => Ok(()),
            None => {
                self.applied[i - 1] = Some(mine);
                Ok(())
            }
        }
    }

    /// A read `ctx` was asked when `floor` was the highest index committed anywhere.
    pub fn on_read_issued(&mut self, ctx: u64, floor: Index) {
        self.reads.insert(ctx, floor);
    }

    /// The read `ctx` was refused: it will never be answered.
    pub fn on_read_refused(&mut self, ctx: u64) {
        self.reads.remove(&ctx);
    }

    /// Linearizable reads: `node` answered read `ctx` at `index`. Serving it once `index` is
    /// applied must reflect every write committed before the read began.
    pub fn on_read_state(&mut self, node: NodeId, ctx: u64, index: Index) -> Result<(), String> {
        let Some(floor) = self.reads.remove(&ctx) else {
            return Err(format!(
                "node {node} answered read {ctx}, which was never asked or was answered before"
            ));
        };
        if index < floor {
            return Err(format!(
                "Linearizable reads: node {node} answered read {ctx} at index {index}, but index \
                 {floor} was committed before the read was asked (a stale read)"
            ));
        }
        Ok(())
    }

    /// Terms that had a leader, with the leader.
    pub fn leaders(&self) -> impl Iterator<Item = (Term, NodeId)> + '_ {
        self.leaders.iter().map(|(t, l)| (*t, l.id))
    }

    /// Highest index known committed anywhere.
    pub fn max_committed(&self) -> Index {
        self.committed.len() as Index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain_of(entries: &[(Term, u8)]) -> (Chain, Vec<Entry>) {
        let es: Vec<Entry> = entries
            .iter()
            .enumerate()
            .map(|(i, (t, d))| Entry::normal(i as Index + 1, *t, vec![*d]))
            .collect();
        let mut c = Chain::default();
        c.write(&es);
        (c, es)
    }

    #[test]
    fn chains_agree_exactly_on_equal_prefixes() {
        let (a, _) = chain_of(&[(1, 1), (1, 2), (2, 3)]);
        let (b, _) = chain_of(&[(1, 1), (1, 2), (3, 3)]);
        assert_eq!(a.at(2), b.at(2));
        assert_ne!(a.at(3), b.at(3));
        let (c, _) = chain_of(&[(1, 9), (1, 2)]);
        assert_ne!(
            a.at(2),
            c.at(2),
            "a difference early changes every later hash"
        );
    }

    #[test]
    fn detects_two_leaders_in_a_term() {
        let mut ck = Checker::new();
        let c = Chain::default();
        ck.on_leader(1, 3, &c).expect("first");
        ck.on_leader(1, 3, &c).expect("same leader again is fine");
        assert!(ck
            .on_leader(2, 3, &c)
            .unwrap_err()
            .contains("Election Safety"));
    }

    #[test]
    fn detects_log_matching_violation() {
        let mut ck = Checker::new();
        let (a, ea) = chain_of(&[(1, 1), (2, 2)]);
        let (b, eb) = chain_of(&[(1, 7), (2, 2)]);
        ck.on_stored(1, &ea, &a).expect("first log");
        assert!(ck
            .on_stored(2, &eb, &b)
            .unwrap_err()
            .contains("Log Matching"));
    }

    #[test]
    fn detects_leader_without_committed_entry_either_order() {
        // Elected first, commit learned later.
        let mut ck = Checker::new();
        let (short, _) = chain_of(&[(1, 1)]);
        let (long, _) = chain_of(&[(1, 1), (1, 2)]);
        ck.on_leader(2, 2, &short).expect("no commitment yet");
        assert!(ck
            .on_commit(1, 2, Some(1), &long)
            .unwrap_err()
            .contains("Leader Completeness"));
        // Committed first, elected later.
        let mut ck = Checker::new();
        ck.on_commit(1, 2, Some(1), &long).expect("commit");
        assert!(ck
            .on_leader(2, 2, &short)
            .unwrap_err()
            .contains("Leader Completeness"));
        ck.on_leader(3, 3, &long)
            .expect("a complete leader is fine");
    }

    #[test]
    fn detects_conflicting_commit_and_apply() {
        let mut ck = Checker::new();
        let (a, ea) = chain_of(&[(1, 1), (1, 2)]);
        let (b, eb) = chain_of(&[(1, 1), (2, 5)]);
        ck.on_commit(1, 2, Some(1), &a).expect("commit");
        assert!(ck
            .on_commit(2, 2, None, &b)
            .unwrap_err()
            .contains("State Machine Safety"));
        ck.on_apply(1, &ea[0]).expect("apply 1");
        ck.on_apply(1, &ea[1]).expect("apply 2");
        assert!(ck.on_apply(2, &eb[1]).is_err());
        let mut ck = Checker::new();
        assert!(ck
            .on_apply(1, &ea[0])
            .unwrap_err()
            .contains("never committed"));
    }

    #[test]
    fn detects_stale_and_unasked_reads() {
        let mut ck = Checker::new();
        ck.on_read_issued(1, 5);
        ck.on_read_issued(2, 5);
        ck.on_read_state(1, 1, 5).expect("at the floor is fine");
        assert!(ck
            .on_read_state(1, 2, 4)
            .unwrap_err()
            .contains("Linearizable reads"));
        assert!(ck
            .on_read_state(1, 1, 9)
            .unwrap_err()
            .contains("never asked"));
        ck.on_read_issued(3, 1);
        ck.on_read_refused(3);
        assert!(ck.on_read_state(1, 3, 9).is_err());
    }
}
