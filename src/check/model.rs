//! The sequential specification of the key-value store, one key at a time.
//!
//! Every operation touches exactly one key, so the store is the product of independent
//! single-key registers and the checker can judge each key on its own. The state of a key is its
//! value, or `None` when it is absent; the rules are those of `state_machine::kv`:
//!
//! | op       | new state                                        | output                          |
//! |----------|--------------------------------------------------|---------------------------------|
//! | `get`    | unchanged                                        | the value                       |
//! | `put`    | `value`                                          | the previous value              |
//! | `delete` | absent                                           | whether the key existed         |
//! | `append` | the value with `value` appended (`""` if absent) | the value after                 |
//! | `cas`    | `new_value` iff the value is `expected` (`None`: iff absent) | swapped, the value before |
//!
//! The model is total: every operation can be applied in every state. Only a *known* output can
//! rule a state out, which is why an operation whose output is unknown is always acceptable.

use super::history::{KvOp, KvOutput};

/// The state of one key: its value, or `None` when the key is absent.
pub type State = Option<String>;

/// Applies `op` to `state`: the state after it and the output the store answers.
pub fn apply(state: &State, op: &KvOp) -> (State, KvOutput) {
    match op {
        KvOp::Get { .. } => (
            state.clone(),
            KvOutput::Get {
                value: state.clone(),
            },
        ),
        KvOp::Put { value, .. } => (
            Some(value.clone()),
            KvOutput::Put {
                previous: state.clone(),
            },
        ),
        KvOp::Delete { .. } => (
            None,
            KvOutput::Delete {
                existed: state.is_some(),
            },
        ),
        KvOp::Append { value, .. } => {
            let mut after = state.clone().unwrap_or_default();
            after.push_str(value);
            (Some(after.clone()), KvOutput::Append { value: after })
        }
        KvOp::Cas {
            expected,
            new_value,
            ..
        } => {
            let swapped = state == expected;
            let next = if swapped {
                Some(new_value.clone())
            } else {
                state.clone()
            };
            (
                next,
                KvOutput::Cas {
                    swapped,
                    previous: state.clone(),
                },
            )
        }
    }
}

/// One step of the model: the state after `op` if `output` is what the store answers from
/// `state`, `None` if that answer is impossible from `state`. An unknown output (`None`) accepts
/// anything, so the step always succeeds; an output of another kind than the op (a `Put` answer
/// to a `Get`) is impossible.
pub fn step(state: &State, op: &KvOp, output: Option<&KvOutput>) -> Option<State> {
    let (next, answer) = apply(state, op);
    match output {
        Some(seen) if *seen != answer => None,
        _ => Some(next),
    }
}

/// What is known of a key's state after an op applied to a state nothing was known about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum After {
    /// Still nothing (a get or an append or cas without an answer).
    Unknown,
    /// Exactly this state.
    Known(State),
}

/// One step of the model from a state nothing is known about: what the op and its answer say
/// of the state after it, or `None` if the answer is impossible from every state (an append
/// whose answer does not end with its suffix, a cas whose `swapped` contradicts its `previous`,
/// an answer of another kind). This is a relaxation: an append or a cas without an answer leaves
/// the state unknown, although it rules some states out.
pub fn step_from_unknown(op: &KvOp, output: Option<&KvOutput>) -> Option<After> {
    Some(match (op, output) {
        (KvOp::Put { value, .. }, None | Some(KvOutput::Put { .. })) => {
            After::Known(Some(value.clone()))
        }
        (KvOp::Delete { .. }, None | Some(KvOutput::Delete { .. })) => After::Known(None),
        (_, None) => After::Unknown,
        (KvOp::Get { .. }, Some(KvOutput::Get { value })) => After::Known(value.clone()),
        (KvOp::Append { value: suffix, .. }, Some(KvOutput::Append { value })) => {
            if !value.ends_with(suffix.as_str()) {
                return None;
            }
            After::Known(Some(value.clone()))
        }
        (
            KvOp::Cas {
                expected,
                new_value,
                ..
            },
            Some(KvOutput::Cas { swapped, previous }),
        ) => {
            if *swapped != (previous == expected) {
                return None;
            }
            After::Known(if *swapped {
                Some(new_value.clone())
            } else {
                previous.clone()
            })
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> State {
        Some(v.to_string())
    }

    fn put(v: &str) -> KvOp {
        KvOp::Put {
            key: "k".into(),
            value: v.into(),
        }
    }

    #[test]
    fn put_returns_the_previous_value() {
        let out = KvOutput::Put { previous: s("a") };
        assert_eq!(step(&s("a"), &put("b"), Some(&out)), Some(s("b")));
        assert_eq!(step(&None, &put("b"), Some(&out)), None);
    }

    #[test]
    fn get_sees_the_state_and_changes_nothing() {
        let get = KvOp::Get { key: "k".into() };
        let out = KvOutput::Get { value: None };
        assert_eq!(step(&None, &get, Some(&out)), Some(None));
        assert_eq!(step(&s("x"), &get, Some(&out)), None);
    }

    #[test]
    fn delete_says_whether_the_key_existed() {
        let del = KvOp::Delete { key: "k".into() };
        let existed = KvOutput::Delete { existed: true };
        assert_eq!(step(&s("x"), &del, Some(&existed)), Some(None));
        assert_eq!(step(&None, &del, Some(&existed)), None);
    }

    #[test]
    fn append_to_an_absent_key_starts_from_empty() {
        let app = KvOp::Append {
            key: "k".into(),
            value: "b".into(),
        };
        let out = KvOutput::Append { value: "b".into() };
        assert_eq!(step(&None, &app, Some(&out)), Some(s("b")));
        assert_eq!(step(&s(""), &app, Some(&out)), Some(s("b")));
        assert_eq!(step(&s("a"), &app, Some(&out)), None);
        let out = KvOutput::Append { value: "ab".into() };
        assert_eq!(step(&s("a"), &app, Some(&out)), Some(s("ab")));
    }

    #[test]
    fn cas_swaps_iff_the_value_is_expected_and_none_means_absent() {
        let cas = |expected: Option<&str>| KvOp::Cas {
            key: "k".into(),
            expected: expected.map(str::to_string),
            new_value: "n".into(),
        };
        let swapped = |previous: State| KvOutput::Cas {
            swapped: true,
            previous,
        };
        let kept = |previous: State| KvOutput::Cas {
            swapped: false,
            previous,
        };
        assert_eq!(step(&None, &cas(None), Some(&swapped(None))), Some(s("n")));
        assert_eq!(step(&s("a"), &cas(None), Some(&kept(s("a")))), Some(s("a")));
        assert_eq!(
            step(&s("a"), &cas(Some("a")), Some(&swapped(s("a")))),
            Some(s("n"))
        );
        // An empty value is not absence.
        assert_eq!(step(&None, &cas(Some("")), Some(&kept(None))), Some(None));
        assert_eq!(step(&s("a"), &cas(Some("a")), Some(&kept(s("a")))), None);
    }

    #[test]
    fn an_answer_tells_the_state_after_it_even_from_an_unknown_state() {
        let get = KvOp::Get { key: "k".into() };
        let out = KvOutput::Get { value: s("a") };
        assert_eq!(
            step_from_unknown(&get, Some(&out)),
            Some(After::Known(s("a")))
        );
        assert_eq!(step_from_unknown(&get, None), Some(After::Unknown));
        assert_eq!(
            step_from_unknown(&put("b"), None),
            Some(After::Known(s("b")))
        );
        let app = KvOp::Append {
            key: "k".into(),
            value: "b".into(),
        };
        let out = KvOutput::Append { value: "ab".into() };
        assert_eq!(
            step_from_unknown(&app, Some(&out)),
            Some(After::Known(s("ab")))
        );
        let out = KvOutput::Append { value: "ba".into() };
        assert_eq!(step_from_unknown(&app, Some(&out)), None);
        let cas = KvOp::Cas {
            key: "k".into(),
            expected: s("a"),
            new_value: "n".into(),
        };
        let lying = KvOutput::Cas {
            swapped: true,
            previous: s("z"),
        };
        assert_eq!(step_from_unknown(&cas, Some(&lying)), None);
        let kept = KvOutput::Cas {
            swapped: false,
            previous: s("z"),
        };
        assert_eq!(
            step_from_unknown(&cas, Some(&kept)),
            Some(After::Known(s("z")))
        );
    }

    #[test]
    fn an_unknown_output_is_always_accepted_and_a_wrong_kind_never() {
        assert_eq!(step(&s("a"), &put("b"), None), Some(s("b")));
        let wrong = KvOutput::Get { value: s("a") };
        assert_eq!(step(&s("a"), &put("b"), Some(&wrong)), None);
    }
}
