//! What a run looks like from outside, whatever produced it: a capture of the cluster
//! ([`cluster_view::ClusterView`]) and the poller that takes it, the event feed's lines and
//! categories ([`feed`]), the last election told in one sentence ([`election`]), and how
//! numbers and sizes are written ([`format`]).
//!
//! The dashboard, recordings and their replay, and scenarios stand on this layer; it stands on
//! the cluster, its nodes and the core, and knows nothing of the screen or of files.
//!
//! ```text
//!   tui · record · scenario ──► observe ──► cluster · node · raft
//! ```

pub mod cluster_view;
pub mod election;
pub mod feed;
pub mod format;
