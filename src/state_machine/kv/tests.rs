//! Tests of [`KvStore`](super::KvStore): each operation, client sessions (a retried write applies once), snapshots and restore with every defect refused, and properties over random command streams.

use super::*;
use proptest::prelude::*;

fn put(key: &str, value: &str) -> Op {
    Op::Put(pb::PutRequest {
        key: key.into(),
        value: value.into(),
        ..Default::default()
    })
}

fn get(key: &str) -> Op {
    Op::Get(pb::GetRequest { key: key.into() })
}

fn delete(key: &str) -> Op {
    Op::Delete(pb::DeleteRequest {
        key: key.into(),
        ..Default::default()
    })
}

fn append(key: &str, value: &str) -> Op {
    Op::Append(pb::AppendRequest {
        key: key.into(),
        value: value.into(),
        ..Default::default()
    })
}

fn cas(key: &str, expected: Option<&str>, new_value: &str) -> Op {
    Op::Cas(pb::CasRequest {
        key: key.into(),
        expected: expected.unwrap_or_default().into(),
        expect_absent: expected.is_none(),
        new_value: new_value.into(),
        ..Default::default()
    })
}

/// A store fed with consecutive log indexes.
#[derive(Default)]
struct Harness {
    store: KvStore,
    index: Index,
}

impl Harness {
    fn raw(&mut self, bytes: &[u8]) -> pb::KvResult {
        self.index += 1;
        let out = self.store.apply(self.index, bytes);
        decode_result(&out).expect("a result always decodes")
    }

    fn session(&mut self, client: u64, seq: u64, op: Op) -> pb::KvResult {
        self.raw(&encode_command(client, seq, op))
    }

    fn run(&mut self, op: Op) -> pb::KvResult {
        self.session(NO_SESSION, 0, op)
    }

    fn ok(&mut self, op: Op) -> pb::KvResult {
        let r = self.run(op);
        assert_eq!(r.error, "", "unexpected error");
        r
    }
}

fn found(value: &str) -> pb::KvResult {
    pb::KvResult {
        found: true,
        value: value.into(),
        ..Default::default()
    }
}

fn absent() -> pb::KvResult {
    pb::KvResult::default()
}

#[test]
fn put_returns_previous() {
    let mut h = Harness::default();
    assert_eq!(h.ok(put("x", "1")), absent());
    assert_eq!(h.ok(put("x", "2")), found("1"));
    assert_eq!(h.store.get("x"), Some("2"));
    assert_eq!(h.store.len(), 1);
}

#[test]
fn get_reads_without_changing() {
    let mut h = Harness::default();
    assert_eq!(h.ok(get("x")), absent());
    h.ok(put("x", "1"));
    let before = h.store.clone();
    assert_eq!(h.ok(get("x")), found("1"));
    assert_eq!(h.store.entries().collect::<Vec<_>>(), vec![("x", "1")]);
    assert_eq!(
        h.store,
        KvStore {
            applied: h.index,
            ..before
        }
    );
}

#[test]
fn get_found_with_empty_value() {
    let mut h = Harness::default();
    h.ok(put("x", ""));
    assert_eq!(h.ok(get("x")), found(""));
}

#[test]
fn delete_reports_existence() {
    let mut h = Harness::default();
    assert!(!h.ok(delete("x")).found);
    h.ok(put("x", "1"));
    assert!(h.ok(delete("x")).found);
    assert_eq!(h.store.get("x"), None);
    assert!(h.store.is_empty());
    assert!(!h.ok(delete("x")).found);
}

#[test]
fn append_creates_then_extends() {
    let mut h = Harness::default();
    assert_eq!(h.ok(append("x", "ab")).value, "ab");
    assert_eq!(h.ok(append("x", "cd")).value, "abcd");
    assert_eq!(h.store.get("x"), Some("abcd"));
}

#[test]
fn cas_swaps_only_on_equal_value() {
    let mut h = Harness::default();
    // Absent key, expecting a value: no swap.
    let r = h.ok(cas("x", Some("1"), "2"));
    assert_eq!((r.swapped, r.found, r.value.as_str()), (false, false, ""));
    assert_eq!(h.store.get("x"), None);

    h.ok(put("x", "1"));
    // Present but different: no swap, reports the current value.
    let r = h.ok(cas("x", Some("0"), "2"));
    assert_eq!((r.swapped, r.found, r.value.as_str()), (false, true, "1"));
    assert_eq!(h.store.get("x"), Some("1"));
    // Present and equal: swap, reports the value before.
    let r = h.ok(cas("x", Some("1"), "2"));
    assert_eq!((r.swapped, r.found, r.value.as_str()), (true, true, "1"));
    assert_eq!(h.store.get("x"), Some("2"));
}

#[test]
fn cas_expect_absent() {
    let mut h = Harness::default();
    let r = h.ok(cas("x", None, "1"));
    assert_eq!((r.swapped, r.found, r.value.as_str()), (true, false, ""));
    assert_eq!(h.store.get("x"), Some("1"));
    // Now present: expect_absent refuses, even if `expected` would match.
    let r = h.ok(cas("x", None, "2"));
    assert_eq!((r.swapped, r.found, r.value.as_str()), (false, true, "1"));
    assert_eq!(h.store.get("x"), Some("1"));
}

#[test]
fn cas_expecting_empty_string_needs_the_key_present() {
    let mut h = Harness::default();
    // expected "" without expect_absent: an absent key is not equal to "".
    let r = h.ok(cas("x", Some(""), "1"));
    assert!(!r.swapped);
    h.ok(put("x", ""));
    let r = h.ok(cas("x", Some(""), "1"));
    assert_eq!((r.swapped, r.found, r.value.as_str()), (true, true, ""));
    assert_eq!(h.store.get("x"), Some("1"));
}

#[test]
fn empty_key_is_refused() {
    let mut h = Harness::default();
    for op in [
        put("", "1"),
        get(""),
        delete(""),
        append("", "a"),
        cas("", None, "1"),
    ] {
        let r = h.run(op);
        assert!(r.error.contains("empty key"), "{}", r.error);
    }
    assert!(h.store.is_empty());
    // Nor does it consume a session's seq.
    let r = h.session(5, 1, put("", "1"));
    assert!(!r.error.is_empty());
    assert_eq!(h.store.sessions(), 0);
    assert_eq!(h.session(5, 1, put("k", "1")).error, "");
}

#[test]
fn command_without_op_is_an_error() {
    let mut h = Harness::default();
    let bytes = pb::KvCommand {
        client_id: 1,
        seq: 1,
        op: None,
    }
    .encode_to_vec();
    let r = h.raw(&bytes);
    assert!(r.error.contains("no op"), "{}", r.error);
    assert_eq!(
        h.raw(&[]).error,
        r.error,
        "empty bytes decode to a command without op"
    );
    assert_eq!(
        h.store,
        KvStore {
            applied: 2,
            ..KvStore::new()
        }
    );
}

#[test]
fn undecodable_bytes_are_an_error() {
    let mut h = Harness::default();
    h.ok(put("x", "1"));
    let before = h.store.clone();
    // A truncated command, an invalid tag, and a key that is not UTF-8.
    let truncated = encode_command(1, 1, put("key", "value"));
    let mut bad_utf8 = encode_command(0, 0, put("k", "v")).to_vec();
    let at = bad_utf8
        .iter()
        .position(|&b| b == b'k')
        .expect("the key is in the encoding");
    bad_utf8[at] = 0xff;
    for bytes in [
        &truncated[..truncated.len() - 1],
        &[0xff, 0xff, 0xff],
        &bad_utf8[..],
    ] {
        let r = h.raw(bytes);
        assert!(r.error.starts_with("malformed command"), "{}", r.error);
        assert_eq!(h.store.data, before.data);
        assert_eq!(h.store.sessions, before.sessions);
    }
}

#[test]
fn retried_append_applies_once() {
    let mut h = Harness::default();
    let first = h.session(7, 1, append("x", "a"));
    assert_eq!(first.value, "a");
    let retry = h.session(7, 1, append("x", "a"));
    assert_eq!(retry, first);
    assert_eq!(h.store.get("x"), Some("a"));
    assert_eq!(h.session(7, 2, append("x", "b")).value, "ab");
    assert_eq!(h.store.sessions(), 1);
}

#[test]
fn retry_returns_first_result_even_after_other_writes() {
    let mut h = Harness::default();
    let first = h.session(1, 1, put("x", "1"));
    assert_eq!(first, absent());
    h.session(2, 1, put("x", "2"));
    // Client 1's retry must neither overwrite client 2's write nor report its value.
    assert_eq!(h.session(1, 1, put("x", "1")), first);
    assert_eq!(h.store.get("x"), Some("2"));
    assert_eq!(h.store.sessions(), 2);
}

#[test]
fn retried_delete_and_cas_return_first_result() {
    let mut h = Harness::default();
    h.ok(put("x", "1"));
    let d = h.session(3, 1, delete("x"));
    assert!(d.found);
    h.ok(put("x", "again"));
    assert_eq!(h.session(3, 1, delete("x")), d);
    assert_eq!(h.store.get("x"), Some("again"));

    let c = h.session(3, 2, cas("x", Some("again"), "swapped"));
    assert!(c.swapped);
    h.ok(put("x", "again"));
    assert_eq!(h.session(3, 2, cas("x", Some("again"), "swapped")), c);
    assert_eq!(h.store.get("x"), Some("again"));
}

#[test]
fn stale_seq_is_refused_and_changes_nothing() {
    let mut h = Harness::default();
    h.session(4, 1, put("x", "1"));
    h.session(4, 3, put("x", "3"));
    let before = h.store.clone();
    let r = h.session(4, 2, put("x", "2"));
    assert_eq!(
        r.error,
        "stale request: seq 2 of client 4 is older than its last applied seq 3"
    );
    assert_eq!(h.store.data, before.data);
    assert_eq!(h.store.sessions, before.sessions);
    // The stored result of seq 3 is still there for a retry.
    assert_eq!(h.session(4, 3, put("x", "3")), found("1"));
}

#[test]
fn seq_zero_with_a_session_is_refused() {
    let mut h = Harness::default();
    let r = h.session(9, 0, put("x", "1"));
    assert!(r.error.contains("seq 0 of client 9"), "{}", r.error);
    assert!(h.store.is_empty());
    assert_eq!(h.store.sessions(), 0);
}

#[test]
fn no_session_writes_always_apply() {
    let mut h = Harness::default();
    h.session(NO_SESSION, 5, append("x", "a"));
    h.session(NO_SESSION, 5, append("x", "a"));
    h.session(NO_SESSION, 1, append("x", "a"));
    assert_eq!(h.store.get("x"), Some("aaa"));
    assert_eq!(h.store.sessions(), 0);
}

#[test]
fn gets_are_not_recorded_in_sessions() {
    let mut h = Harness::default();
    h.session(2, 5, put("x", "1"));
    // A get with any seq, even an old one, is just a read.
    assert_eq!(h.session(2, 1, get("x")), found("1"));
    assert_eq!(h.session(2, 0, get("x")), found("1"));
    assert_eq!(h.session(3, 1, get("x")), found("1"));
    assert_eq!(h.store.sessions(), 1);
    // And the write session is intact: seq 5 is still a retry.
    assert_eq!(h.session(2, 5, put("x", "other")), absent());
    assert_eq!(h.store.get("x"), Some("1"));
}

#[test]
fn inner_request_session_fields_are_ignored() {
    let mut h = Harness::default();
    let op = Op::Append(pb::AppendRequest {
        key: "x".into(),
        value: "a".into(),
        client_id: 1,
        seq: 1,
    });
    h.session(NO_SESSION, 0, op.clone());
    h.session(NO_SESSION, 0, op);
    assert_eq!(h.store.get("x"), Some("aa"));
}

#[test]
fn applied_index_tracks_the_index_argument() {
    let mut s = KvStore::new();
    assert_eq!(s.applied_index(), 0);
    s.apply(3, &encode_command(0, 0, put("x", "1")));
    assert_eq!(s.applied_index(), 3);
    s.apply(4, b"garbage that is not a command");
    assert_eq!(
        s.applied_index(),
        4,
        "an erroneous command is still applied"
    );
    s.apply(10, &encode_command(0, 0, get("x")));
    assert_eq!(s.applied_index(), 10);
}

#[test]
fn entries_are_sorted() {
    let mut h = Harness::default();
    for k in ["b", "c", "a"] {
        h.ok(put(k, k));
    }
    let keys: Vec<_> = h.store.entries().map(|(k, _)| k).collect();
    assert_eq!(keys, ["a", "b", "c"]);
}

/// A store with data and sessions, fed puts, appends, deletes and cas (some in sessions,
/// some not, one a retry) and one erroneous command.
fn populated() -> Harness {
    let mut h = Harness::default();
    h.ok(put("a", "1"));
    h.session(1, 1, put("b", "2"));
    h.session(2, 1, append("c", "x"));
    h.session(2, 2, append("c", "y"));
    h.session(2, 2, append("c", "y"));
    h.ok(put("d", "gone"));
    h.session(3, 5, delete("d"));
    h.session(1, 2, cas("a", Some("1"), "one"));
    h.session(4, 1, cas("é", None, "ünïcode"));
    h.ok(put("empty", ""));
    h.raw(b"not a command");
    h
}

#[test]
fn snapshot_round_trip() {
    let h = populated();
    let snap = h.store.snapshot();
    assert!(snap.starts_with(b"RLKV\x01"));
    let mut restored = KvStore::new();
    restored.restore(h.store.applied_index(), &snap).unwrap();
    // Equality covers the data, the sessions and the applied index.
    assert_eq!(restored, h.store);
    assert_eq!(restored.applied_index(), h.store.applied_index());
    assert_eq!(restored.sessions(), 4);
    assert_eq!(restored.snapshot(), snap);
}

/// The driver serializes a clone on another thread while the original goes on applying:
/// the clone's snapshot must be the state at the moment of cloning, whatever happens to the
/// original after it (and the original must not see the clone either).
#[test]
fn a_clone_snapshots_the_moment_it_was_taken() {
    let mut h = populated();
    // Enough keys that the maps have several levels of nodes to share.
    for i in 0..5_000 {
        h.ok(put(&format!("bulk-{i:05}"), "v"));
    }
    let at_clone = h.store.snapshot();
    let clone = h.store.clone();
    h.ok(put("bulk-02500", "changed"));
    h.ok(delete("bulk-00000"));
    h.ok(append("é", "+"));
    h.session(9, 1, put("late", "x"));
    let serialized = std::thread::spawn(move || clone.snapshot())
        .join()
        .expect("serializing thread");
    assert_eq!(serialized, at_clone);
    assert_ne!(h.store.snapshot(), at_clone);
    assert_eq!(h.store.get("bulk-02500"), Some("changed"));
    assert_eq!(h.store.get("bulk-00000"), None);
}

#[test]
fn empty_store_round_trip() {
    let snap = KvStore::new().snapshot();
    assert_eq!(snap.len(), HEADER + 2 * U64);
    let mut restored = KvStore::new();
    restored.restore(0, &snap).unwrap();
    assert_eq!(restored, KvStore::new());
}

#[test]
fn retried_write_after_restore_applies_once() {
    let mut h = Harness::default();
    let first = h.session(7, 1, append("x", "a"));
    assert_eq!(first.value, "a");
    let mut r = Harness {
        store: KvStore::new(),
        index: h.index,
    };
    r.store.restore(h.index, &h.store.snapshot()).unwrap();
    assert_eq!(r.session(7, 1, append("x", "a")), first);
    assert_eq!(r.store.get("x"), Some("a"));
    assert_eq!(r.session(7, 2, append("x", "b")).value, "ab");
    assert!(r
        .session(7, 1, append("x", "a"))
        .error
        .starts_with("stale request"));
    assert_eq!(r.store.get("x"), Some("ab"));
}

#[test]
fn restore_takes_the_index_given_even_above_the_last_command() {
    let h = populated();
    let snap = h.store.snapshot();
    let index = h.index + 3; // say, a no-op and two more entries without a command
    let mut s = KvStore::new();
    s.restore(index, &snap).unwrap();
    assert_eq!(s.applied_index(), index);
    assert_eq!(
        s,
        KvStore {
            applied: index,
            ..h.store.clone()
        }
    );
    s.apply(index + 1, &encode_command(0, 0, put("z", "1")));
    assert_eq!(s.applied_index(), index + 1);

    // Below the commands it holds, a snapshot is refused.
    let before = s.clone();
    let err = s.restore(h.index - 1, &snap).unwrap_err();
    assert!(err.0.contains("above the index"), "{err}");
    assert_eq!(s, before);
}

#[test]
fn restore_replaces_existing_state_entirely() {
    let mut old = Harness::default();
    old.ok(put("old", "1"));
    old.ok(put("a", "old"));
    old.session(9, 3, put("a", "from 9"));
    for _ in 0..10 {
        old.ok(get("a"));
    }
    let mut new = Harness::default();
    new.session(5, 1, put("a", "new"));

    old.store.restore(new.index, &new.store.snapshot()).unwrap();
    assert_eq!(old.store, new.store);
    assert_eq!(old.store.get("old"), None);
    assert_eq!(old.store.entries().collect::<Vec<_>>(), [("a", "new")]);
    assert_eq!(
        old.store.applied_index(),
        1,
        "the applied index goes back too"
    );
    // Client 9's session is gone with the rest: its seq 3 is a new write, not a retry.
    old.index = new.index;
    assert_eq!(old.session(9, 3, put("a", "from 9")), found("new"));
}

/// Builds snapshot bytes field by field, valid or not.
fn raw_snapshot(applied: u64, keys: &[(&[u8], &[u8])], sessions: &[(u64, u64, &[u8])]) -> Vec<u8> {
    let mut out = b"RLKV\x01".to_vec();
    put_u64(&mut out, applied);
    put_u64(&mut out, keys.len() as u64);
    for (k, v) in keys {
        put_bytes(&mut out, k);
        put_bytes(&mut out, v);
    }
    put_u64(&mut out, sessions.len() as u64);
    for (client, seq, result) in sessions {
        put_u64(&mut out, *client);
        put_u64(&mut out, *seq);
        put_bytes(&mut out, result);
    }
    out
}

#[test]
fn restore_refuses_each_defect() {
    let ok = encode(found("1"));
    let valid = raw_snapshot(2, &[(b"a", b"1"), (b"b", b"")], &[(1, 1, &ok), (2, 4, &ok)]);
    let mut check = KvStore::new();
    check.restore(2, &valid).unwrap();
    assert_eq!(
        check.snapshot(),
        valid,
        "the builder writes what snapshot writes"
    );

    let mut bad_magic = valid.clone();
    bad_magic[0] = b'X';
    let mut version_2 = valid.clone();
    version_2[4] = 2;
    let mut trailing = valid.clone();
    trailing.push(0);
    let mut huge_count = b"RLKV\x01".to_vec();
    put_u64(&mut huge_count, 0);
    put_u64(&mut huge_count, u64::MAX);
    let mut huge_length = huge_count[..HEADER].to_vec();
    put_u64(&mut huge_length, 1);
    put_u64(&mut huge_length, u64::MAX - 3);
    huge_length.extend_from_slice(&[0; 16]);

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "truncated: magic"),
        (bad_magic, "bad magic"),
        (version_2, "unknown format version 2"),
        (
            valid[..valid.len() - 1].to_vec(),
            "result length 5 does not fit in the 4 bytes left",
        ),
        (
            valid[..valid.len() - 6].to_vec(),
            "truncated: result length needs 8 bytes, 7 left",
        ),
        (trailing, "1 bytes after the last session"),
        (huge_count, "key count 18446744073709551615 does not fit"),
        (huge_length, "key length 18446744073709551612 does not fit"),
        (raw_snapshot(0, &[(b"\xff", b"1")], &[]), "key is not UTF-8"),
        (
            raw_snapshot(0, &[(b"a", b"\xc3")], &[]),
            "value is not UTF-8",
        ),
        (raw_snapshot(0, &[(b"", b"1")], &[]), "empty key"),
        (
            raw_snapshot(0, &[(b"b", b"1"), (b"a", b"1")], &[]),
            "key out of order",
        ),
        (
            raw_snapshot(0, &[(b"a", b"1"), (b"a", b"2")], &[]),
            "key out of order or repeated",
        ),
        (raw_snapshot(0, &[], &[(0, 1, &ok)]), "client 0"),
        (raw_snapshot(0, &[], &[(1, 0, &ok)]), "seq 0"),
        (
            raw_snapshot(0, &[], &[(2, 1, &ok), (1, 1, &ok)]),
            "client out of order",
        ),
        (
            raw_snapshot(0, &[], &[(1, 1, &ok), (1, 2, &ok)]),
            "client out of order or repeated",
        ),
        (
            raw_snapshot(0, &[], &[(1, 1, &[0xff])]),
            "stored result does not decode",
        ),
        (
            raw_snapshot(9, &[], &[]),
            "holds commands up to index 9, above the index 2",
        ),
    ];
    let target = populated().store;
    for (bytes, expected) in cases {
        let mut s = target.clone();
        let err = s.restore(2, &bytes).unwrap_err();
        assert!(
            err.to_string().contains(expected),
            "{err}, expected {expected:?}"
        );
        assert_eq!(s, target, "{expected}: the store must be unchanged");
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let key = prop::sample::select(vec!["a", "b", "c", ""]);
    let value = prop::sample::select(vec!["", "x", "y", "xy"]);
    (0..5u8, key, value.clone(), value, any::<bool>()).prop_map(
        |(kind, k, v, w, flag)| match kind {
            0 => put(k, v),
            1 => get(k),
            2 => delete(k),
            3 => append(k, v),
            _ => cas(k, if flag { None } else { Some(w) }, v),
        },
    )
}

/// Log entries: mostly well-formed commands (sessions of clients 0..3), some garbage.
fn entry_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        9 => (0..3u64, 0..4u64, op_strategy())
            .prop_map(|(c, s, op)| encode_command(c, s, op).to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..16),
    ]
}

/// Bytes that are often not a command: random, or a command truncated and with a byte changed.
fn garbage_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        (
            0..3u64,
            0..4u64,
            op_strategy(),
            any::<prop::sample::Index>(),
            any::<u8>(),
            any::<prop::sample::Index>()
        )
            .prop_map(|(c, s, op, at, xor, cut)| {
                let mut bytes = encode_command(c, s, op).to_vec();
                let i = at.index(bytes.len());
                bytes[i] ^= xor;
                bytes.truncate(cut.index(bytes.len() + 1));
                bytes
            }),
    ]
}

/// A store fed a log of [`entry_strategy`] entries.
fn store_strategy() -> impl Strategy<Value = KvStore> {
    prop::collection::vec(entry_strategy(), 0..48).prop_map(|entries| {
        let mut store = KvStore::new();
        for (i, entry) in entries.iter().enumerate() {
            store.apply(i as Index + 1, entry);
        }
        store
    })
}

/// Bytes for restore: random, or random after a valid header.
fn snapshot_garbage_strategy() -> impl Strategy<Value = Vec<u8>> {
    let tail = prop::collection::vec(any::<u8>(), 0..256);
    prop_oneof![
        tail.clone(),
        tail.prop_map(|t| [&b"RLKV\x01"[..], &t].concat()),
    ]
}

/// Restores `bytes` at `index` into a clone of `target`: on success the store must
/// re-encode to the same bytes (but for the applied index, which becomes `index`), on error
/// be unchanged.
fn check_restore(target: &KvStore, index: Index, bytes: &[u8]) -> Result<bool, TestCaseError> {
    let mut s = target.clone();
    match s.restore(index, bytes) {
        Ok(()) => {
            prop_assert_eq!(s.applied_index(), index);
            let again = s.snapshot();
            prop_assert_eq!(&again[..5], &bytes[..5]);
            prop_assert_eq!(&again[HEADER..], &bytes[HEADER..]);
            Ok(true)
        }
        Err(_) => {
            prop_assert_eq!(&s, target);
            Ok(false)
        }
    }
}

proptest! {
    // Each case is microseconds: afford more than the default 256.
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn snapshots_round_trip(store in store_strategy()) {
        let snap = store.snapshot();
        let mut restored = KvStore::new();
        prop_assert!(restored.restore(store.applied_index(), &snap).is_ok());
        prop_assert_eq!(&restored, &store);
        prop_assert_eq!(restored.snapshot(), snap);
    }

    #[test]
    fn restore_of_arbitrary_bytes_never_panics(
        bytes in snapshot_garbage_strategy(),
        index in any::<Index>(),
    ) {
        check_restore(&populated().store, index, &bytes)?;
    }

    /// Every truncation, and every single-byte change (by `xor`), of a valid snapshot.
    #[test]
    fn restore_of_damaged_snapshots_never_panics(store in store_strategy(), xor in 1..=255u8) {
        let snap = store.snapshot();
        let index = store.applied_index();
        let target = populated().store;
        for len in 0..snap.len() {
            prop_assert!(!check_restore(&target, index, &snap[..len])?, "truncated to {}", len);
        }
        for at in 0..snap.len() {
            let mut bytes = snap.to_vec();
            bytes[at] ^= xor;
            check_restore(&target, index, &bytes)?;
        }
    }

    #[test]
    fn garbage_never_panics_and_changes_nothing(bytes in garbage_strategy()) {
        let mut h = Harness::default();
        h.ok(put("a", "1"));
        h.session(7, 2, append("b", "x"));
        let before = h.store.clone();
        let result = h.raw(&bytes);
        let undecodable = match pb::KvCommand::decode(bytes.as_slice()) {
            Err(_) => true,
            Ok(cmd) => cmd.op.is_none(),
        };
        if undecodable {
            prop_assert!(result.error.starts_with("malformed command"), "{}", result.error);
            prop_assert_eq!(&h.store, &KvStore { applied: h.index, ..before });
        }
    }

    #[test]
    fn replicas_stay_identical(entries in prop::collection::vec(entry_strategy(), 0..64)) {
        let (mut a, mut b) = (KvStore::new(), KvStore::new());
        for (i, entry) in entries.iter().enumerate() {
            let index = i as Index + 1;
            prop_assert_eq!(a.apply(index, entry), b.apply(index, entry));
        }
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a.entries().collect::<Vec<_>>(), b.entries().collect::<Vec<_>>());
    }

    /// Delivering each session write once or twice in a row (a client retrying after a lost
    /// answer) ends in the same data, and a retry gets the first answer.
    #[test]
    fn retries_apply_once(writes in prop::collection::vec((1..4u64, op_strategy(), any::<bool>()), 0..48)) {
        let (mut once, mut retried) = (Harness::default(), Harness::default());
        let mut seqs = std::collections::BTreeMap::new();
        for (client, op, retry) in writes {
            let seq = seqs.entry(client).or_insert(0u64);
            *seq += 1;
            let expected = once.session(client, *seq, op.clone());
            prop_assert_eq!(&retried.session(client, *seq, op.clone()), &expected);
            if retry {
                prop_assert_eq!(&retried.session(client, *seq, op), &expected);
            }
        }
        prop_assert_eq!(&once.store.data, &retried.store.data);
        prop_assert_eq!(&once.store.sessions, &retried.store.sessions);
    }
}
