//! The lab's time machine: a run on the simulator as a timeline to move along, act on and fork.
//!
//! ```text
//!  branch 1  0s ──cp──cp──cp──●──────────── frontier      cp: a copy of the lab every 60 s
//!                             │ act here (in the past)
//!  branch 2                   └─ action ─── frontier      (shares branch 1's checkpoints ≤ it)
//! ```
//!
//! The state at a moment is a pure function of the branch's run and the moment: seeking copies
//! the checkpoint at or before it and plays the simulator forward from there, so a seek never
//! replays from the start and seeking back then forward again shows the same screens. Acting
//! at the frontier adds the action to the branch; acting in the past forks a new branch from
//! that moment and keeps the old one whole. An action happens on a whole millisecond (the run
//! file's unit): acting between two first moves to the next one.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::{Action, Lab, Run, RunError, SafetyBreak, Timed, FRAME_EVERY, MAX_LENGTH};
use crate::node::Event;
use crate::observe::cluster_view::{ClusterView, LogWant};

/// How far apart checkpoints are, in simulated time.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);
/// Events each moment keeps for the feed (the newest).
pub const RECENT_EVENTS: usize = 200;
/// Moments at which something happened that each moment keeps, for stepping back.
const RECENT_MARKS: usize = 256;
/// How far `.` looks for the next thing that happens before it gives up.
const STEP_LIMIT: Duration = Duration::from_secs(10);

/// The lab at one moment, with what the dashboard needs besides the cluster: the newest events
/// (the feed) and the moments at which something happened (for `,`).
#[derive(Clone)]
struct Moment {
    lab: Lab,
    recent: VecDeque<Event>,
    /// Simulated microseconds of the newest timeline records, oldest first, each once.
    marks: VecDeque<u64>,
    /// Timeline records already read into `marks`.
    marked: u64,
    /// The newest action outcome: (moment, text).
    note: Option<(Duration, String)>,
}

impl Moment {
    fn new(lab: Lab) -> Moment {
        let mut m = Moment {
            lab,
            recent: VecDeque::new(),
            marks: VecDeque::new(),
            marked: 0,
            note: None,
        };
        m.absorb();
        m
    }

    /// Plays to `to` (applying the actions due by then), a frame's length at a time so that the
    /// simulator's timeline never holds much.
    fn advance(&mut self, to: Duration) {
        loop {
            let next = (self.lab.now() + FRAME_EVERY).min(to);
            self.lab.advance(next);
            self.absorb();
            if next >= to || self.lab.broken().is_some() {
                break;
            }
        }
    }

    /// Takes the lab's new events, outcomes and timeline moments; forgets the timeline.
    fn absorb(&mut self) {
        for e in self.lab.take_events() {
            self.recent.push_back(e);
        }
        while self.recent.len() > RECENT_EVENTS {
            self.recent.pop_front();
        }
        if let Some(n) = self.lab.take_notes().pop() {
            self.note = Some(n);
        }
        let timeline = self.lab.sim.timeline();
        for r in timeline.since(self.marked) {
            if self.marks.back() != Some(&r.time) {
                self.marks.push_back(r.time);
            }
        }
        self.marked = timeline.total();
        while self.marks.len() > RECENT_MARKS {
            self.marks.pop_front();
        }
        // The lab has read everything (it reads after each step): no copy needs the records.
        self.lab.sim.forget_timeline();
    }

    /// A copy to keep as a checkpoint: without the run's actions (the branch has them).
    fn checkpoint(&self) -> Arc<Moment> {
        let mut m = self.clone();
        m.lab.run.actions = Vec::new();
        Arc::new(m)
    }
}

/// One line of history: a run and how far it has been played.
#[derive(Clone)]
pub struct Branch {
    /// The run: settings and every action of this branch.
    pub run: Run,
    /// The branch it forked from (0-based) and the moment it did, if it forked.
    pub parent: Option<(usize, Duration)>,
    /// How far it has been played.
    pub frontier: Duration,
    /// `checkpoints[k]` is the lab at `k ×` [`CHECKPOINT_EVERY`] (shared with the branches
    /// forked after that moment).
    checkpoints: Vec<Arc<Moment>>,
}

/// A run played on the simulator, kept as checkpoints, with a position and branches.
#[derive(Clone)]
pub struct TimeMachine {
    branches: Vec<Branch>,
    current: usize,
    at: Moment,
}

impl TimeMachine {
    /// The run's cluster at moment 0 on branch 1, nothing played yet.
    pub fn new(run: Run) -> Result<TimeMachine, RunError> {
        let at = Moment::new(Lab::new(run.clone())?);
        let branch = Branch {
            run,
            parent: None,
            frontier: Duration::ZERO,
            checkpoints: vec![at.checkpoint()],
        };
        Ok(TimeMachine {
            branches: vec![branch],
            current: 0,
            at,
        })
    }

    /// The position: simulated time shown.
    pub fn now(&self) -> Duration {
        self.at.lab.now()
    }

    /// How far the current branch has been played.
    pub fn frontier(&self) -> Duration {
        self.branch().frontier
    }

    /// The current branch's run (settings and actions).
    pub fn run(&self) -> &Run {
        &self.branch().run
    }

    /// Every branch, the first made first.
    pub fn branches(&self) -> &[Branch] {
        &self.branches
    }

    /// The current branch (0-based).
    pub fn current(&self) -> usize {
        self.current
    }

    fn branch(&self) -> &Branch {
        &self.branches[self.current]
    }

    /// The cluster at the position.
    pub fn view(&self, want: LogWant) -> ClusterView {
        self.at.lab.view(want)
    }

    /// The newest events up to the position, oldest first (at most [`RECENT_EVENTS`]).
    pub fn recent(&self) -> impl Iterator<Item = &Event> {
        self.at.recent.iter()
    }

    /// The newest action outcome up to the position: (moment, text).
    pub fn note(&self) -> Option<&(Duration, String)> {
        self.at.note.as_ref()
    }

    /// The safety property broken by the position, if one was (time does not go past it).
    pub fn broken(&self) -> Option<&SafetyBreak> {
        self.at.lab.broken()
    }

    /// Moves to moment `t` of the current branch (at most [`MAX_LENGTH`], and not past a broken
    /// property): back from a checkpoint, forward by playing (the frontier moves with it).
    pub fn seek(&mut self, t: Duration) {
        let t = t.min(MAX_LENGTH);
        let every = CHECKPOINT_EVERY.as_micros();
        let branch = &self.branches[self.current];
        let k = usize::try_from(t.as_micros() / every).unwrap_or(usize::MAX);
        let k = k.min(branch.checkpoints.len() - 1);
        let from_checkpoint = CHECKPOINT_EVERY * k as u32;
        // Back, or forward past a checkpoint we have: start from the checkpoint.
        if t < self.now() || from_checkpoint > self.now() {
            let mut m = (*branch.checkpoints[k]).clone();
            m.lab.run = branch.run.clone();
            self.at = m;
        }
        self.play_to(t);
    }

    /// Plays forward to `t`, keeping a checkpoint at each multiple of [`CHECKPOINT_EVERY`]
    /// passed for the first time.
    fn play_to(&mut self, t: Duration) {
        loop {
            let branch = &self.branches[self.current];
            let next = CHECKPOINT_EVERY * branch.checkpoints.len() as u32;
            if next > t || self.at.lab.broken().is_some() {
                break;
            }
            self.at.advance(next);
            if self.at.lab.broken().is_some() || self.now() != next {
                break;
            }
            let cp = self.at.checkpoint();
            self.branches[self.current].checkpoints.push(cp);
        }
        if self.at.lab.broken().is_none() {
            self.at.advance(t);
        }
        let now = self.now();
        let branch = &mut self.branches[self.current];
        branch.frontier = branch.frontier.max(now);
    }

    /// Does `action` at the position (rounded up to the next whole millisecond). At the
    /// frontier it joins the branch; in the past it starts a new branch from there, which
    /// becomes the current one. Returns the outcome, or why nothing was done.
    pub fn act(&mut self, action: Action) -> Result<String, String> {
        if let Some(b) = self.broken() {
            return Err(format!(
                "time stopped where {} broke: go back (← or ,) to act before it",
                b.property
            ));
        }
        let nodes = self.run().settings.nodes as u64;
        if let Some(n) = action.nodes().into_iter().find(|n| *n == 0 || *n > nodes) {
            return Err(format!("there is no node {n} (nodes 1 to {nodes})"));
        }
        let at_ms = self.now().as_micros().div_ceil(1_000) as u64;
        let at = Duration::from_millis(at_ms);
        if at > MAX_LENGTH {
            return Err(format!(
                "a lab run lasts at most {} s of simulated time",
                MAX_LENGTH.as_secs()
            ));
        }
        self.seek(at);
        if self.broken().is_some() {
            return Err("safety broke before that moment".into());
        }
        let timed = Timed { at_ms, action };
        let applied = self.at.lab.next;
        let branch = &self.branches[self.current];
        let future = branch.run.actions.len() > applied || branch.frontier > at;
        if future {
            let mut run = branch.run.clone();
            run.actions.truncate(applied);
            run.actions.push(timed);
            let keep = (at.as_micros() / CHECKPOINT_EVERY.as_micros()) as usize + 1;
            let checkpoints = branch.checkpoints[..keep.min(branch.checkpoints.len())].to_vec();
            self.branches.push(Branch {
                run,
                parent: Some((self.current, at)),
                frontier: at,
                checkpoints,
            });
            self.current = self.branches.len() - 1;
        } else {
            self.branches[self.current].run.actions.push(timed);
        }
        self.at.lab.run = self.branch().run.clone();
        self.at.note = None;
        self.at.advance(at);
        let branch = &mut self.branches[self.current];
        branch.frontier = branch.frontier.max(at);
        Ok(match &self.at.note {
            Some((_, text)) => text.clone(),
            None => "done".into(),
        })
    }

    /// Switches to branch `n` (0-based), at the same moment if it has been played that far,
    /// else at its frontier.
    pub fn switch(&mut self, n: usize) -> Result<(), String> {
        if n >= self.branches.len() {
            return Err(format!(
                "there is no branch {} (branches 1 to {})",
                n + 1,
                self.branches.len()
            ));
        }
        let t = self.now().min(self.branches[n].frontier);
        self.current = n;
        // Always rebuilt from the branch's own checkpoint.
        let k = (t.as_micros() / CHECKPOINT_EVERY.as_micros()) as usize;
        let branch = &self.branches[n];
        let mut m = (*branch.checkpoints[k.min(branch.checkpoints.len() - 1)]).clone();
        m.lab.run = branch.run.clone();
        self.at = m;
        self.play_to(t);
        Ok(())
    }

    /// `.`: to the next moment at which something happens (a message arrives or is lost, a
    /// node's state changes, an action is applied), at most [`STEP_LIMIT`] ahead.
    pub fn step_forward(&mut self) {
        let limit = self.now() + STEP_LIMIT;
        loop {
            if self.broken().is_some() {
                return;
            }
            let event = self.at.lab.sim.next_event_at().map(Duration::from_micros);
            let action = self.run().actions.get(self.at.lab.next).map(Timed::at);
            let next = match (event, action) {
                (Some(e), Some(a)) => e.min(a),
                (Some(e), None) => e,
                (None, Some(a)) => a,
                (None, None) => limit,
            }
            .max(self.now());
            if next >= limit {
                self.seek(limit);
                return;
            }
            let (marked, applied) = (self.at.marked, self.at.lab.next);
            self.seek(next);
            if self.at.marked > marked || self.at.lab.next > applied {
                return;
            }
            if self.now() < next {
                // Could not get there (a broken property stopped it).
                return;
            }
        }
    }

    /// `,`: back to the moment before the last one at which something happened.
    pub fn step_back(&mut self) {
        let now = self.now().as_micros() as u64;
        let mut before = self.at.marks.iter().rev().copied().filter(|m| *m <= now);
        let last = before.next();
        let target = match (last, before.next()) {
            (_, Some(prev)) => Duration::from_micros(prev),
            // Nothing older is known here: a frame back.
            _ => self.now().saturating_sub(FRAME_EVERY),
        };
        self.seek(target);
    }

    /// What happens next at the position if nothing is done (the first `limit`), with the
    /// action that makes each happen now.
    pub fn next_events(&self, limit: usize) -> Vec<super::NextEvent> {
        self.at.lab.next_events(limit)
    }

    /// The moment of the last action on the current branch (the end of a loaded run).
    pub fn last_action(&self) -> Duration {
        self.run().actions.last().map_or(Duration::ZERO, Timed::at)
    }
}

/// What a [`TimeMachine`] holds, roughly: checkpoints stored (over every branch, shared ones
/// once) — for the benchmark.
pub fn checkpoints_stored(m: &TimeMachine) -> usize {
    let mut seen = std::collections::HashSet::new();
    for b in &m.branches {
        for c in &b.checkpoints {
            seen.insert(Arc::as_ptr(c));
        }
    }
    seen.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sim::Settings;

    fn machine(seed: u64, actions: &[&str]) -> TimeMachine {
        let mut run = Run::new(Settings::new(3, seed));
        for a in actions {
            run.actions.push(a.parse().unwrap());
        }
        TimeMachine::new(run).unwrap()
    }

    fn want() -> LogWant {
        LogWant::default()
    }

    #[test]
    fn seeking_back_and_forward_shows_the_same_moment() {
        let mut m = machine(3, &["6s put x 1", "64s kill 1", "73s restart 1"]);
        m.seek(Duration::from_secs(130));
        let mut views = Vec::new();
        for t in [5_500, 62_345, 71_000, 129_999] {
            m.seek(Duration::from_millis(t));
            views.push((
                m.view(want()),
                format!("{:?}", m.recent().collect::<Vec<_>>()),
            ));
        }
        // Forward again from the start, and backward: the same screens.
        let mut fresh = machine(3, &["6s put x 1", "64s kill 1", "73s restart 1"]);
        for (i, t) in [5_500, 62_345, 71_000, 129_999].into_iter().enumerate() {
            fresh.seek(Duration::from_millis(t));
            assert_eq!(fresh.view(want()), views[i].0, "at {t} ms");
            assert_eq!(
                format!("{:?}", fresh.recent().collect::<Vec<_>>()),
                views[i].1
            );
        }
        for (i, t) in [5_500, 62_345, 71_000, 129_999]
            .into_iter()
            .enumerate()
            .rev()
        {
            m.seek(Duration::from_millis(t));
            assert_eq!(m.view(want()), views[i].0, "back at {t} ms");
        }
        assert_eq!(checkpoints_stored(&m), 3);
    }

    #[test]
    fn acting_at_the_frontier_adds_to_the_branch_and_in_the_past_forks() {
        let mut m = machine(4, &[]);
        m.seek(Duration::from_secs(5));
        let said = m.act("put a 1".parse().unwrap()).unwrap();
        assert!(said.contains("sent to node"), "{said}");
        assert_eq!(m.branches().len(), 1);
        assert_eq!(m.run().actions.len(), 1);
        m.seek(Duration::from_secs(20));
        let at_20 = m.view(want());
        // Back to 12 s and kill a node: a new branch, the old one kept.
        m.seek(Duration::from_secs(12));
        m.act("kill 2".parse().unwrap()).unwrap();
        assert_eq!(m.branches().len(), 2);
        assert_eq!(m.current(), 1);
        assert_eq!(m.branches()[1].parent, Some((0, Duration::from_secs(12))));
        let run: Vec<String> = m.run().actions.iter().map(|t| t.to_string()).collect();
        assert_eq!(run, ["5000ms put a 1", "12000ms kill 2"]);
        m.seek(Duration::from_secs(20));
        assert!(!m.view(want()).status.nodes[1].up);
        // The first branch still draws what it drew.
        m.switch(0).unwrap();
        assert_eq!(m.now(), Duration::from_secs(20));
        assert_eq!(m.view(want()), at_20);
        assert!(m.switch(5).is_err());
    }

    #[test]
    fn a_fork_replays_as_its_own_run_from_the_start() {
        let mut m = machine(5, &["3s put a 1", "15s isolate 1"]);
        m.seek(Duration::from_secs(18));
        m.seek(Duration::from_millis(9_400));
        m.act("campaign 3".parse().unwrap()).unwrap();
        m.seek(Duration::from_secs(25));
        let forked = m.view(want());
        let mut again = TimeMachine::new(m.run().clone()).unwrap();
        again.seek(Duration::from_secs(25));
        assert_eq!(again.view(want()), forked);
    }

    #[test]
    fn steps_go_from_event_to_event_and_back() {
        let mut m = machine(6, &[]);
        m.seek(Duration::from_secs(3));
        let t0 = m.now();
        m.step_forward();
        let t1 = m.now();
        assert!(t1 > t0 && t1 < t0 + STEP_LIMIT, "{t0:?} {t1:?}");
        m.step_forward();
        let t2 = m.now();
        assert!(t2 > t1, "{t1:?} {t2:?}");
        let at_t1 = {
            let mut c = m.clone();
            c.seek(t1);
            c.view(want())
        };
        m.step_back();
        assert_eq!(m.now(), t1);
        assert_eq!(m.view(want()), at_t1);
    }

    #[test]
    fn acting_refuses_a_node_that_does_not_exist() {
        let mut m = machine(7, &[]);
        let e = m.act(Action::Kill(4)).unwrap_err();
        assert!(e.contains("no node 4"), "{e}");
        assert!(m.run().actions.is_empty());
    }
}
