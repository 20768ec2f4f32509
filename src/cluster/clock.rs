//! The cluster's clock: one tick source for every node, with a speed factor (how long a tick
//! lasts), pause and single step, and a per-node rate factor to model clock drift (a node whose
//! clock runs at 2× ticks twice per cluster tick, and so times out twice as fast).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use crate::raft::NodeId;

struct State {
    tick: Duration,
    speed: f64,
    paused: bool,
    rates: BTreeMap<NodeId, f64>,
    credit: BTreeMap<NodeId, f64>,
}

/// The clock's settings and per-node drift.
pub struct Clock {
    state: Mutex<State>,
    /// Woken when the clock's settings change.
    pub changed: Notify,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock").finish_non_exhaustive()
    }
}

/// Slowest and fastest speed and rate factors accepted.
pub const FACTOR_RANGE: (f64, f64) = (0.05, 20.0);

impl Clock {
    /// A running clock whose ticks last `tick` at speed 1.
    pub fn new(tick: Duration) -> Self {
        Clock {
            state: Mutex::new(State {
                tick,
                speed: 1.0,
                paused: false,
                rates: BTreeMap::new(),
                credit: BTreeMap::new(),
            }),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long one tick lasts now.
    pub fn interval(&self) -> Duration {
        let s = self.state();
        s.tick.mul_f64(s.speed)
    }

    /// The speed factor: 2.0 makes ticks twice as long (everything slower).
    pub fn speed(&self) -> f64 {
        self.state().speed
    }

    /// Sets the speed factor (clamped to [`FACTOR_RANGE`]).
    pub fn set_speed(&self, speed: f64) -> f64 {
        let speed = clamp(speed);
        self.state().speed = speed;
        self.changed.notify_one();
        speed
    }

    /// Whether the clock is paused.
    pub fn is_paused(&self) -> bool {
        self.state().paused
    }

    /// Pauses or resumes.
    pub fn set_paused(&self, paused: bool) {
        self.state().paused = paused;
        self.changed.notify_one();
    }

    /// A node's clock rate (1.0 unless drifted).
    pub fn rate(&self, node: NodeId) -> f64 {
        self.state().rates.get(&node).copied().unwrap_or(1.0)
    }

    /// Sets a node's clock rate (clamped to [`FACTOR_RANGE`]).
    pub fn set_rate(&self, node: NodeId, rate: f64) -> f64 {
        let rate = clamp(rate);
        let mut s = self.state();
        if (rate - 1.0).abs() < f64::EPSILON {
            s.rates.remove(&node);
        } else {
            s.rates.insert(node, rate);
        }
        rate
    }

    /// Forgets a node that left the cluster: its drift and its tick credit.
    pub fn forget(&self, node: NodeId) {
        let mut s = self.state();
        s.rates.remove(&node);
        s.credit.remove(&node);
    }

    /// Clears every drift.
    pub fn reset_rates(&self) {
        self.state().rates.clear();
    }

    /// One cluster tick: how many ticks each of `nodes` gets (its rate, accumulated).
    pub fn ticks_for(&self, nodes: &[NodeId]) -> Vec<(NodeId, u32)> {
        let mut s = self.state();
        let mut out = Vec::with_capacity(nodes.len());
        for id in nodes {
            let rate = s.rates.get(id).copied().unwrap_or(1.0);
            let credit = s.credit.entry(*id).or_insert(0.0);
            *credit += rate;
            let whole = credit.floor();
            *credit -= whole;
            out.push((*id, whole as u32));
        }
        out
    }
}

fn clamp(f: f64) -> f64 {
    if f.is_finite() {
        f.clamp(FACTOR_RANGE.0, FACTOR_RANGE.1)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_accumulates_fractional_ticks() {
        let c = Clock::new(Duration::from_millis(10));
        c.set_rate(2, 2.0);
        c.set_rate(3, 0.5);
        let mut totals = BTreeMap::new();
        for _ in 0..10 {
            for (id, n) in c.ticks_for(&[1, 2, 3]) {
                *totals.entry(id).or_insert(0) += n;
            }
        }
        assert_eq!(totals[&1], 10);
        assert_eq!(totals[&2], 20);
        assert_eq!(totals[&3], 5);
    }

    #[test]
    fn speed_and_rates_are_clamped() {
        let c = Clock::new(Duration::from_millis(10));
        assert_eq!(c.set_speed(1000.0), FACTOR_RANGE.1);
        assert_eq!(c.set_speed(f64::NAN), 1.0);
        assert_eq!(c.set_rate(1, 0.0), FACTOR_RANGE.0);
        assert_eq!(c.interval(), Duration::from_millis(10));
    }
}
