//! Tests of the protobuf conversions: every RPC round-trips, each malformed message is refused with its reason, and arbitrary or mangled bytes never panic.

use super::*;
use bytes::Bytes;
use pb::raft_message::Rpc as P;
use proptest::prelude::*;

fn to_core(m: pb::RaftMessage) -> Result<Message, ConvertError> {
    Message::try_from(m)
}

/// core -> pb -> bytes -> pb -> core gives back the message, and the pb form survives too.
fn assert_round_trip(m: Message) {
    let p = pb::RaftMessage::from(m.clone());
    let wire = prost::Message::encode_to_vec(&p);
    let decoded: pb::RaftMessage =
        prost::Message::decode(wire.as_slice()).expect("own encoding decodes");
    assert_eq!(decoded, p);
    assert_eq!(to_core(decoded), Ok(m));
}

fn append(prev_log_index: Index, term: Term, entries: Vec<Entry>) -> Message {
    Message {
        from: 1,
        to: 2,
        rpc: Rpc::AppendEntries(AppendEntriesArgs {
            term,
            leader_id: 1,
            prev_log_index,
            prev_log_term: 1,
            entries,
            leader_commit: 3,
            read_round: 0,
        }),
    }
}

fn pb_append(prev_log_index: Index, term: Term, entries: Vec<pb::Entry>) -> pb::RaftMessage {
    pb::RaftMessage {
        from: 1,
        to: 2,
        rpc: Some(P::AppendEntries(pb::AppendEntriesArgs {
            term,
            leader_id: 1,
            prev_log_index,
            prev_log_term: 1,
            entries,
            leader_commit: 3,
            read_round: 0,
        })),
    }
}

fn pb_entry(index: Index, term: Term, kind: i32) -> pb::Entry {
    pb::Entry {
        index,
        term,
        kind,
        data: Bytes::from_static(b"x"),
    }
}

const NORMAL: i32 = pb::EntryKind::Normal as i32;

// --- round trips, one per Rpc variant ----------------------------------------------------

#[test]
fn round_trip_request_vote() {
    for leadership_transfer in [false, true] {
        assert_round_trip(Message {
            from: 3,
            to: 1,
            rpc: Rpc::RequestVote(RequestVoteArgs {
                term: 7,
                candidate_id: 3,
                last_log_index: 12,
                last_log_term: 6,
                leadership_transfer,
            }),
        });
    }
}

#[test]
fn round_trip_pre_vote_and_reply() {
    assert_round_trip(Message {
        from: 3,
        to: 1,
        rpc: Rpc::PreVote(RequestVoteArgs {
            term: 8,
            candidate_id: 3,
            last_log_index: 12,
            last_log_term: 6,
            leadership_transfer: false,
        }),
    });
    for vote_granted in [false, true] {
        let m = Message {
            from: 1,
            to: 3,
            rpc: Rpc::PreVoteReply(RequestVoteReply {
                term: 8,
                vote_granted,
            }),
        };
        // A PreVoteReply is not a RequestVoteReply on the wire.
        assert!(matches!(
            pb::RaftMessage::from(m.clone()).rpc,
            Some(P::PreVoteReply(_))
        ));
        assert_round_trip(m);
    }
}

#[test]
fn rejects_pre_votes_no_server_sends() {
    let pre_vote = |term, leadership_transfer, candidate_id| pb::RaftMessage {
        from: 3,
        to: 1,
        rpc: Some(P::PreVote(pb::RequestVoteArgs {
            term,
            candidate_id,
            last_log_index: 0,
            last_log_term: 0,
            leadership_transfer,
        })),
    };
    assert!(to_core(pre_vote(1, false, 3)).is_ok());
    for bad in [pre_vote(0, false, 3), pre_vote(2, true, 3)] {
        let err = to_core(bad).expect_err("refused");
        assert!(matches!(err, ConvertError::InvalidPreVote { .. }));
        assert!(err.to_string().starts_with("invalid PreVote: "));
    }
    assert!(matches!(
        to_core(pre_vote(2, false, 4)),
        Err(ConvertError::SenderMismatch {
            field: "candidate_id",
            ..
        })
    ));
}

#[test]
fn round_trip_request_vote_reply() {
    for vote_granted in [false, true] {
        assert_round_trip(Message {
            from: 1,
            to: 3,
            rpc: Rpc::RequestVoteReply(RequestVoteReply {
                term: 7,
                vote_granted,
            }),
        });
    }
}

#[test]
fn round_trip_append_entries() {
    // Heartbeat, and an append with both kinds of entry and an empty command.
    assert_round_trip(append(4, 2, vec![]));
    let mut with_round = append(4, 2, vec![]);
    if let Rpc::AppendEntries(a) = &mut with_round.rpc {
        a.read_round = 17;
    }
    assert_round_trip(with_round);
    assert_round_trip(append(
        4,
        3,
        vec![
            Entry::normal(5, 2, &b"set x 1"[..]),
            Entry::noop(6, 3),
            Entry::normal(7, 3, Bytes::new()),
        ],
    ));
}

#[test]
fn round_trip_append_entries_reply() {
    for success in [false, true] {
        assert_round_trip(Message {
            from: 2,
            to: 1,
            rpc: Rpc::AppendEntriesReply(AppendEntriesReply {
                term: 3,
                success,
                prev_log_index: 4,
                match_index: 7,
                conflict_term: 2,
                conflict_index: 3,
                read_round: 17,
            }),
        });
    }
}

#[test]
fn round_trip_timeout_now() {
    assert_round_trip(Message {
        from: 1,
        to: 2,
        rpc: Rpc::TimeoutNow(TimeoutNowArgs {
            term: 9,
            leader_id: 1,
        }),
    });
}

#[test]
fn round_trip_hard_state() {
    for voted_for in [None, Some(1), Some(u64::MAX)] {
        let hs = HardState {
            term: 5,
            voted_for,
            commit: 9,
        };
        let p = pb::HardState::from(hs);
        assert_eq!(p.voted_for, voted_for.unwrap_or(0));
        assert_eq!(HardState::from(p), hs);
    }
    assert_eq!(
        HardState::from(pb::HardState::default()),
        HardState::default()
    );
}

#[test]
fn entry_kinds_map_to_their_wire_values() {
    assert_eq!(pb::Entry::from(Entry::normal(1, 1, Bytes::new())).kind, 1);
    assert_eq!(pb::Entry::from(Entry::noop(1, 1)).kind, 2);
}

// --- rejections ----------------------------------------------------------------------------

#[test]
fn rejects_missing_rpc() {
    let m = pb::RaftMessage {
        from: 1,
        to: 2,
        rpc: None,
    };
    assert_eq!(to_core(m), Err(ConvertError::MissingRpc));
    assert_eq!(
        ConvertError::MissingRpc.to_string(),
        "RaftMessage without an rpc"
    );
}

#[test]
fn rejects_node_id_zero_in_envelope() {
    let ok = pb::RaftMessage::from(append(0, 1, vec![]));
    let mut m = ok.clone();
    m.from = 0;
    assert_eq!(to_core(m), Err(ConvertError::ZeroNodeId { field: "from" }));
    let mut m = ok;
    m.to = 0;
    assert_eq!(to_core(m), Err(ConvertError::ZeroNodeId { field: "to" }));
    assert!(ConvertError::ZeroNodeId { field: "to" }
        .to_string()
        .contains("node id 0 is not a node"));
}

#[test]
fn rejects_zero_or_foreign_candidate_id() {
    let vote = |candidate_id| pb::RaftMessage {
        from: 3,
        to: 1,
        rpc: Some(P::RequestVote(pb::RequestVoteArgs {
            term: 2,
            candidate_id,
            last_log_index: 0,
            last_log_term: 0,
            leadership_transfer: false,
        })),
    };
    assert!(to_core(vote(3)).is_ok());
    assert_eq!(
        to_core(vote(0)),
        Err(ConvertError::ZeroNodeId {
            field: "candidate_id"
        })
    );
    let err = ConvertError::SenderMismatch {
        field: "candidate_id",
        claimed: 2,
        from: 3,
    };
    assert_eq!(to_core(vote(2)), Err(err));
    assert_eq!(
        err.to_string(),
        "candidate_id 2 disagrees with the message's sender 3"
    );
}

#[test]
fn rejects_zero_or_foreign_leader_id() {
    let mut ae = pb::RaftMessage::from(append(0, 1, vec![]));
    let mut tn = pb::RaftMessage::from(Message {
        from: 1,
        to: 2,
        rpc: Rpc::TimeoutNow(TimeoutNowArgs {
            term: 1,
            leader_id: 1,
        }),
    });
    for (leader_id, want) in [
        (0, ConvertError::ZeroNodeId { field: "leader_id" }),
        (
            5,
            ConvertError::SenderMismatch {
                field: "leader_id",
                claimed: 5,
                from: 1,
            },
        ),
    ] {
        match ae.rpc.as_mut() {
            Some(P::AppendEntries(a)) => a.leader_id = leader_id,
            other => panic!("not an AppendEntries: {other:?}"),
        }
        match tn.rpc.as_mut() {
            Some(P::TimeoutNow(a)) => a.leader_id = leader_id,
            other => panic!("not a TimeoutNow: {other:?}"),
        }
        assert_eq!(to_core(ae.clone()), Err(want));
        assert_eq!(to_core(tn.clone()), Err(want));
    }
}

#[test]
fn rejects_unspecified_entry_kind() {
    let m = pb_append(0, 1, vec![pb_entry(1, 1, NORMAL), pb_entry(2, 1, 0)]);
    assert_eq!(
        to_core(m),
        Err(ConvertError::UnspecifiedEntryKind { index: 2 })
    );
    assert_eq!(
        Entry::try_from(pb_entry(4, 1, 0)),
        Err(ConvertError::UnspecifiedEntryKind { index: 4 })
    );
}

#[test]
fn rejects_unknown_entry_kind() {
    let m = pb_append(0, 1, vec![pb_entry(1, 1, 7)]);
    let err = ConvertError::UnknownEntryKind { index: 1, kind: 7 };
    assert_eq!(to_core(m), Err(err));
    assert!(err.to_string().contains("unknown entry kind 7"));
    assert_eq!(
        Entry::try_from(pb_entry(1, 1, -1)),
        Err(ConvertError::UnknownEntryKind { index: 1, kind: -1 })
    );
}

#[test]
fn rejects_entries_not_following_prev_log_index() {
    // The first entry must be prev_log_index + 1: not a gap, not an overlap.
    for first in [3, 4, 6] {
        let m = pb_append(4, 1, vec![pb_entry(first, 1, NORMAL)]);
        assert_eq!(
            to_core(m),
            Err(ConvertError::EntriesOutOfOrder {
                index: first,
                after: 4
            })
        );
    }
}

#[test]
fn rejects_entries_out_of_order() {
    let e = |i| pb_entry(i, 1, NORMAL);
    for (indexes, index, after) in [
        (vec![5, 7], 7, 5),    // gap
        (vec![5, 6, 6], 6, 6), // repeat
        (vec![5, 6, 5], 5, 6), // backwards
    ] {
        let m = pb_append(4, 1, indexes.into_iter().map(e).collect());
        assert_eq!(
            to_core(m),
            Err(ConvertError::EntriesOutOfOrder { index, after })
        );
    }
    assert_eq!(
        ConvertError::EntriesOutOfOrder { index: 5, after: 7 }.to_string(),
        "entries out of order: index 5 after 7"
    );
}

#[test]
fn rejects_entries_past_the_end_of_the_index_space() {
    let m = pb_append(u64::MAX, 1, vec![pb_entry(0, 1, NORMAL)]);
    assert_eq!(
        to_core(m),
        Err(ConvertError::EntriesOutOfOrder {
            index: 0,
            after: u64::MAX
        })
    );
    let m = pb_append(u64::MAX - 1, 1, vec![pb_entry(u64::MAX, 1, NORMAL)]);
    assert!(to_core(m).is_ok());
}

#[test]
fn rejects_entry_term_above_message_term() {
    let m = pb_append(0, 3, vec![pb_entry(1, 3, NORMAL), pb_entry(2, 4, NORMAL)]);
    assert_eq!(
        to_core(m),
        Err(ConvertError::EntryTermTooHigh {
            index: 2,
            entry_term: 4,
            term: 3
        })
    );
}

#[test]
fn rejects_entry_terms_that_decrease() {
    let m = pb_append(0, 3, vec![pb_entry(1, 3, NORMAL), pb_entry(2, 2, NORMAL)]);
    assert_eq!(
        to_core(m),
        Err(ConvertError::EntryTermDecreases {
            index: 2,
            entry_term: 2,
            before: 3
        })
    );
    // prev_log_term is 1 in pb_append: a first entry of term 0 goes backwards.
    let m = pb_append(0, 3, vec![pb_entry(1, 0, NORMAL)]);
    assert!(matches!(
        to_core(m),
        Err(ConvertError::EntryTermDecreases { index: 1, .. })
    ));
}

fn pb_chunk(term: Term, lii: Index, lit: Term, offset: u64) -> pb::RaftMessage {
    pb::RaftMessage {
        from: 1,
        to: 2,
        rpc: Some(P::InstallSnapshot(pb::InstallSnapshotArgs {
            term,
            leader_id: 1,
            last_included_index: lii,
            last_included_term: lit,
            offset,
            data: bytes::Bytes::from_static(b"chunk"),
            done: false,
            configuration: Vec::new(),
        })),
    }
}

#[test]
fn config_entries_and_snapshot_configurations_convert_and_garbage_is_refused() {
    let conf = Configuration {
        voters: [1, 2, 3].into_iter().collect(),
        learners: [4].into_iter().collect(),
    };
    let e = Entry::config(1, 3, &conf);
    let wire = pb::Entry::from(e.clone());
    assert_eq!(wire.kind, pb::EntryKind::Config as i32);
    assert_eq!(Entry::try_from(wire.clone()), Ok(e));
    let mut garbage = wire;
    garbage.data = Bytes::from_static(b"\x01\x00");
    assert_eq!(
        Entry::try_from(garbage),
        Err(ConvertError::InvalidConfigEntry { index: 1 })
    );
    // InstallSnapshot carries the configuration; an undecodable one is refused.
    let mut m = pb_chunk(3, 5, 2, 0);
    if let Some(P::InstallSnapshot(a)) = m.rpc.as_mut() {
        a.configuration = conf.encode().to_vec();
    }
    match to_core(m.clone()) {
        Ok(Message {
            rpc: Rpc::InstallSnapshot(a),
            ..
        }) => {
            assert_eq!(a.conf.as_ref(), Some(&conf));
            let back = pb::RaftMessage::from(Message {
                from: 1,
                to: 2,
                rpc: Rpc::InstallSnapshot(a),
            });
            assert_eq!(back, m);
        }
        other => panic!("expected an InstallSnapshot, got {other:?}"),
    }
    if let Some(P::InstallSnapshot(a)) = m.rpc.as_mut() {
        a.configuration = vec![9, 9, 9];
    }
    assert!(matches!(
        to_core(m),
        Err(ConvertError::InvalidSnapshotChunk { .. })
    ));
}

#[test]
fn install_snapshot_round_trips_and_bad_chunks_are_refused() {
    let m = to_core(pb_chunk(3, 40, 2, 5)).expect("a good chunk");
    match &m.rpc {
        Rpc::InstallSnapshot(a) => {
            assert_eq!(
                (a.last_included_index, a.last_included_term, a.offset),
                (40, 2, 5)
            );
            assert_eq!(&a.data[..], b"chunk");
        }
        other => panic!("not InstallSnapshot: {other:?}"),
    }
    assert_eq!(pb::RaftMessage::from(m), pb_chunk(3, 40, 2, 5));
    for bad in [
        pb_chunk(3, 0, 2, 0),
        pb_chunk(3, 40, 0, 0),
        pb_chunk(3, 40, 4, 0),
        pb_chunk(3, 40, 2, u64::MAX - 1),
    ] {
        assert!(matches!(
            to_core(bad),
            Err(ConvertError::InvalidSnapshotChunk { .. })
        ));
    }
    let mut wrong_sender = pb_chunk(3, 40, 2, 0);
    if let Some(P::InstallSnapshot(a)) = wrong_sender.rpc.as_mut() {
        a.leader_id = 7;
    }
    assert!(matches!(
        to_core(wrong_sender),
        Err(ConvertError::SenderMismatch { .. })
    ));
    let reply = pb::RaftMessage {
        from: 2,
        to: 1,
        rpc: Some(P::InstallSnapshotReply(pb::InstallSnapshotReply {
            term: 3,
            last_included_index: 40,
            next_offset: 10,
            done: false,
        })),
    };
    let m = to_core(reply.clone()).expect("reply");
    assert_eq!(pb::RaftMessage::from(m), reply);
}

// --- properties ----------------------------------------------------------------------------

fn node() -> impl Strategy<Value = NodeId> {
    prop_oneof![1..=9u64, 1..=u64::MAX]
}

fn small_or_any() -> impl Strategy<Value = u64> {
    prop_oneof![0..=20u64, any::<u64>()]
}

fn entry_kind() -> impl Strategy<Value = EntryKind> {
    prop_oneof![Just(EntryKind::Normal), Just(EntryKind::Noop)]
}

fn data() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..16).prop_map(Bytes::from)
}

/// A valid AppendEntries payload sent by `from`.
fn append_entries(from: NodeId) -> impl Strategy<Value = AppendEntriesArgs> {
    (
        small_or_any(),
        prop_oneof![0..=20u64, 0..=u64::MAX - 16],
        small_or_any(),
        small_or_any(),
        0..8usize,
        small_or_any(),
    )
        .prop_flat_map(
            move |(term, prev_log_index, prev_log_term, leader_commit, n, read_round)| {
                // Terms never decrease along a log: from prev_log_term up to the message's.
                let prev_log_term = prev_log_term.min(term);
                let entries =
                    proptest::collection::vec((prev_log_term..=term, entry_kind(), data()), n)
                        .prop_map(|mut raw| {
                            raw.sort_by_key(|(t, _, _)| *t);
                            raw
                        });
                entries.prop_map(move |raw| AppendEntriesArgs {
                    term,
                    leader_id: from,
                    prev_log_index,
                    prev_log_term,
                    entries: (prev_log_index + 1..)
                        .zip(raw)
                        .map(|(index, (term, kind, data))| Entry {
                            index,
                            term,
                            kind,
                            data,
                        })
                        .collect(),
                    leader_commit,
                    read_round,
                })
            },
        )
}

/// Any valid core message.
fn message() -> impl Strategy<Value = Message> {
    (node(), node()).prop_flat_map(|(from, to)| {
        let rpc = prop_oneof![
            (
                small_or_any(),
                small_or_any(),
                small_or_any(),
                any::<bool>()
            )
                .prop_map(
                    move |(term, last_log_index, last_log_term, leadership_transfer)| {
                        Rpc::RequestVote(RequestVoteArgs {
                            term,
                            candidate_id: from,
                            last_log_index,
                            last_log_term,
                            leadership_transfer,
                        })
                    }
                ),
            (small_or_any(), any::<bool>()).prop_map(|(term, vote_granted)| {
                Rpc::RequestVoteReply(RequestVoteReply { term, vote_granted })
            }),
            (1..=u64::MAX, small_or_any(), small_or_any()).prop_map(
                move |(term, last_log_index, last_log_term)| {
                    Rpc::PreVote(RequestVoteArgs {
                        term,
                        candidate_id: from,
                        last_log_index,
                        last_log_term,
                        leadership_transfer: false,
                    })
                }
            ),
            (small_or_any(), any::<bool>()).prop_map(|(term, vote_granted)| {
                Rpc::PreVoteReply(RequestVoteReply { term, vote_granted })
            }),
            append_entries(from).prop_map(Rpc::AppendEntries),
            (
                small_or_any(),
                any::<bool>(),
                small_or_any(),
                small_or_any(),
                small_or_any(),
                small_or_any(),
                small_or_any()
            )
                .prop_map(
                    |(
                        term,
                        success,
                        prev_log_index,
                        match_index,
                        conflict_term,
                        conflict_index,
                        read_round,
                    )| {
                        Rpc::AppendEntriesReply(AppendEntriesReply {
                            term,
                            success,
                            prev_log_index,
                            match_index,
                            conflict_term,
                            conflict_index,
                            read_round,
                        })
                    }
                ),
            small_or_any().prop_map(move |term| Rpc::TimeoutNow(TimeoutNowArgs {
                term,
                leader_id: from,
            })),
        ];
        rpc.prop_map(move |rpc| Message { from, to, rpc })
    })
}

/// A protobuf message that is nearly valid: small ids (sometimes 0), named senders mostly
/// equal to `from`, entries mostly in order with known kinds and terms at most the message's.
/// Each field is off now and then, so every check is hit, and many messages pass them all.
fn pb_message() -> impl Strategy<Value = pb::RaftMessage> {
    let id = || prop_oneof![8 => 1..=3u64, 1 => Just(0u64)];
    let n = || 0..=4u64;
    (id(), id(), proptest::option::weighted(0.95, 0..9u8)).prop_flat_map(
        move |(from, to, variant)| {
            // The sender a request names: usually `from`, sometimes anyone (or 0).
            let named = move || prop_oneof![4 => Just(from), 1 => id()];
            let rpc: BoxedStrategy<Option<P>> = match variant {
                None => Just(None).boxed(),
                Some(v @ (0 | 7)) => (n(), named(), n(), n(), any::<bool>())
                    .prop_map(
                        move |(
                            term,
                            candidate_id,
                            last_log_index,
                            last_log_term,
                            leadership_transfer,
                        )| {
                            let args = pb::RequestVoteArgs {
                                term,
                                candidate_id,
                                last_log_index,
                                last_log_term,
                                leadership_transfer,
                            };
                            if v == 0 {
                                P::RequestVote(args)
                            } else {
                                P::PreVote(args)
                            }
                        },
                    )
                    .prop_map(Some)
                    .boxed(),
                Some(8) => (n(), any::<bool>())
                    .prop_map(|(term, vote_granted)| {
                        Some(P::PreVoteReply(pb::RequestVoteReply { term, vote_granted }))
                    })
                    .boxed(),
                Some(1) => (n(), any::<bool>())
                    .prop_map(|(term, vote_granted)| {
                        Some(P::RequestVoteReply(pb::RequestVoteReply {
                            term,
                            vote_granted,
                        }))
                    })
                    .boxed(),
                Some(2) => (n(), named(), n(), n(), n(), n())
                    .prop_flat_map(
                        |(
                            term,
                            leader_id,
                            prev_log_index,
                            prev_log_term,
                            leader_commit,
                            read_round,
                        )| {
                            // (index offset from the expected one, term, kind)
                            let entry = (
                                prop_oneof![8 => Just(0i8), 1 => -1..=1i8],
                                prop_oneof![8 => 0..=term, 1 => 0..=term + 1],
                                prop_oneof![8 => 1..=2i32, 1 => -1..=3i32],
                            );
                            proptest::collection::vec(entry, 0..5).prop_map(move |raw| {
                                let entries = (prev_log_index + 1..)
                                    .zip(raw)
                                    .map(|(index, (offset, term, kind))| pb::Entry {
                                        index: index.saturating_add_signed(offset.into()),
                                        term,
                                        kind,
                                        data: Bytes::from_static(b"d"),
                                    })
                                    .collect();
                                Some(P::AppendEntries(pb::AppendEntriesArgs {
                                    term,
                                    leader_id,
                                    prev_log_index,
                                    prev_log_term,
                                    entries,
                                    leader_commit,
                                    read_round,
                                }))
                            })
                        },
                    )
                    .boxed(),
                Some(3) => (n(), any::<bool>(), n(), n(), n(), n(), n())
                    .prop_map(
                        |(
                            term,
                            success,
                            prev_log_index,
                            match_index,
                            conflict_term,
                            conflict_index,
                            read_round,
                        )| {
                            Some(P::AppendEntriesReply(pb::AppendEntriesReply {
                                term,
                                success,
                                prev_log_index,
                                match_index,
                                conflict_term,
                                conflict_index,
                                read_round,
                            }))
                        },
                    )
                    .boxed(),
                Some(4) => (n(), named())
                    .prop_map(|(term, leader_id)| {
                        Some(P::InstallSnapshot(pb::InstallSnapshotArgs {
                            term,
                            leader_id,
                            ..Default::default()
                        }))
                    })
                    .boxed(),
                Some(5) => n()
                    .prop_map(|term| {
                        Some(P::InstallSnapshotReply(pb::InstallSnapshotReply {
                            term,
                            ..Default::default()
                        }))
                    })
                    .boxed(),
                Some(_) => (n(), named())
                    .prop_map(|(term, leader_id)| {
                        Some(P::TimeoutNow(pb::TimeoutNowArgs { term, leader_id }))
                    })
                    .boxed(),
            };
            rpc.prop_map(move |rpc| pb::RaftMessage { from, to, rpc })
        },
    )
}

proptest! {
    // Each case is microseconds: afford more than the default 256.
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(m) = <pb::RaftMessage as prost::Message>::decode(bytes.as_slice()) {
            let _ = to_core(m);
        }
    }

    #[test]
    fn mangled_encodings_never_panic(
        m in message(),
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let mut wire = prost::Message::encode_to_vec(&pb::RaftMessage::from(m));
        for (at, x) in flips {
            let i = at.index(wire.len());
            wire[i] ^= x;
        }
        wire.truncate(cut.index(wire.len() + 1));
        if let Ok(m) = <pb::RaftMessage as prost::Message>::decode(wire.as_slice()) {
            let _ = to_core(m);
        }
    }

    #[test]
    fn core_messages_round_trip(m in message()) {
        assert_round_trip(m);
    }

    #[test]
    fn accepted_messages_convert_back_unchanged(p in pb_message()) {
        // Whatever passes the checks loses nothing on the way in.
        if let Ok(m) = to_core(p.clone()) {
            prop_assert_eq!(pb::RaftMessage::from(m), p);
        }
    }

    #[test]
    fn hard_states_round_trip(
        term in any::<u64>(),
        voted_for in proptest::option::of(1..=u64::MAX),
        commit in any::<u64>(),
    ) {
        let hs = HardState { term, voted_for, commit };
        prop_assert_eq!(HardState::from(pb::HardState::from(hs)), hs);
    }
}
