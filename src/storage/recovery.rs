//! Recovery of the snapshot: which snapshot file a node restarts from, given the files and the
//! log the [`Wal`] recovered.
//!
//! ```text
//! snapshots/, newest first ──► check each fully ──► corrupt: a warning, try the next one
//!                                     │ valid
//!                                     ▼
//!   options: each valid snapshot S (+ the log if it continues S, else S alone: the log is
//!            stale), and the log alone (if it starts at 1)
//!                                     │
//!                                     ▼
//!   the option that recovers the highest last index (ties: the newest snapshot);
//!   stale log segments deleted, newer unused snapshot files deleted, warnings for each
//! ```
//!
//! The log continues S when it holds no entry, or starts at or before `S.index + 1`, reaches
//! `S.index` and, if it holds the entry at `S.index`, that entry has `S.term`.

use std::path::Path;

use super::snapshot::{self, describe, file_name};
use super::wal::{End, Wal};
use super::Disk;
use crate::raft::{Index, SnapshotMeta, StorageError};

/// What [`recover`] chose.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    /// The snapshot the node restarts from.
    pub(crate) snapshot: Option<SnapshotMeta>,
    /// What went wrong on the way, for a human.
    pub(crate) warnings: Vec<String>,
}

/// One way to restart.
#[derive(Debug)]
struct Candidate {
    /// `None`: the log alone, from index 1.
    snapshot: Option<SnapshotMeta>,
    /// Why the log does not continue the snapshot (its entries would be dropped).
    stale: Option<String>,
    /// The last index this way recovers.
    last: Index,
}

/// Whether the log continues the snapshot `meta`; if not, why.
fn fit(wal: &Wal, meta: SnapshotMeta) -> Result<Result<(), String>, StorageError> {
    if wal.is_empty() {
        return Ok(Ok(()));
    }
    let (first, last) = (wal.first_index(), wal.last_index());
    if first > meta.index.saturating_add(1) {
        return Ok(Err(format!(
            "the log starts at {first}, leaving a gap after index {}",
            meta.index
        )));
    }
    if meta.index > last {
        return Ok(Err(format!(
            "the log ends at {last}, before index {}",
            meta.index
        )));
    }
    match wal.term_at(meta.index)? {
        Some(term) if term != meta.term => Ok(Err(format!(
            "the log's entry {} has term {term}, the snapshot's term is {}",
            meta.index, meta.term
        ))),
        _ => Ok(Ok(())),
    }
}

/// Chooses the snapshot to restart from among the files of `<dir>/snapshots/` and makes the
/// log agree with it (deleting stale segments, setting where an empty log goes on); deletes the
/// `.tmp` files a crash left and newer snapshot files that lost to a longer log.
///
/// A directory without snapshot files is left exactly as it is. Fails only on I/O errors, or
/// when no choice is possible: every snapshot file is corrupt and the log does not start at 1.
pub(crate) fn recover(
    disk: &dyn Disk,
    dir: &Path,
    wal: &mut Wal,
    fsync: bool,
) -> Result<Recovered, StorageError> {
    let snap_dir = dir.join(snapshot::DIR_NAME);
    let mut warnings = Vec::new();
    for name in snapshot::remove_tmp(disk, &snap_dir, fsync)? {
        tracing::info!("deleted {name}, left by a crash while a snapshot was written");
    }
    let listing = snapshot::list(disk, &snap_dir)?;
    for name in &listing.malformed {
        warnings.push(format!(
            "ignoring {}/{name}: not a snapshot file name (snap-<index, 20 digits>-<term, 20 \
             digits>.snap)",
            snapshot::DIR_NAME
        ));
    }
    if listing.files.is_empty() {
        return Ok(Recovered {
            snapshot: None,
            warnings,
        });
    }

    let mut candidates = Vec::new();
    let mut corrupt = Vec::new();
    for listed in &listing.files {
        if let Err(why) = snapshot::read(disk, &snap_dir, listed.meta) {
            corrupt.push((listed, why));
            continue;
        }
        let stale = fit(wal, listed.meta)?.err();
        let last = match stale {
            None if !wal.is_empty() => listed.meta.index.max(wal.last_index()),
            _ => listed.meta.index,
        };
        candidates.push(Candidate {
            snapshot: Some(listed.meta),
            stale,
            last,
        });
    }
    if wal.is_empty() || wal.first_index() == 1 {
        candidates.push(Candidate {
            snapshot: None,
            stale: None,
            last: if wal.is_empty() { 0 } else { wal.last_index() },
        });
    }
    // The highest last index; among equals, the first (newest) one.
    let Some(best) = candidates
        .iter()
        .enumerate()
        .rev()
        .max_by_key(|(_, c)| c.last)
        .map(|(i, _)| i)
    else {
        let reasons: Vec<String> = corrupt
            .iter()
            .map(|(f, why)| format!("{} is corrupt ({why})", f.name))
            .collect();
        return Err(StorageError(format!(
            "no usable snapshot ({}) and the log starts at {}: entries before it are lost; \
             refusing to go on",
            reasons.join("; "),
            wal.first_index()
        )));
    };
    let chosen = candidates.get(best).and_then(|c| c.snapshot);
    let last = candidates.get(best).map_or(0, |c| c.last);
    let instead = match chosen {
        Some(meta) => format!("snapshot {} instead", file_name(meta)),
        None => "the log alone".to_string(),
    };

    for (listed, why) in &corrupt {
        let newer =
            chosen.is_none_or(|c| (listed.meta.index, listed.meta.term) > (c.index, c.term));
        warnings.push(if newer {
            format!(
                "snapshot {} is corrupt ({why}); using {instead}",
                listed.name
            )
        } else {
            format!(
                "snapshot {} is corrupt ({why}); not needed (a newer one is in use)",
                listed.name
            )
        });
    }

    // Newer snapshots that lost: the log does not continue them and a longer log was kept.
    // Deleted, so that they cannot come back once the log has moved on.
    let mut lost = Vec::new();
    for c in candidates.get(..best).unwrap_or_default() {
        let Some(meta) = c.snapshot else { continue };
        warnings.push(format!(
            "snapshot {} is not used: the log does not continue it ({}), and starting from it \
             would recover only through index {}, {instead} recovers through {last}; deleted it",
            describe(meta),
            c.stale.as_deref().unwrap_or("?"),
            c.last
        ));
        lost.push(file_name(meta));
    }
    snapshot::remove(disk, &snap_dir, &lost, fsync)?;

    if let Some(meta) = chosen {
        let next = meta.index.saturating_add(1);
        if let Some(Some(why)) = candidates.get(best).map(|c| &c.stale) {
            let (first, end) = (wal.first_index(), wal.last_index());
            for end in wal.discard_order(meta.index) {
                wal.delete_segment(end)?;
            }
            wal.restart_at(next)?;
            warnings.push(format!(
                "entries {first}..={end} of the log were dropped: they do not continue snapshot \
                 {} ({why})",
                describe(meta)
            ));
        } else if wal.is_empty() && wal.first_index() != next {
            // Only empty segment files (a crash right after one was created): nothing is lost.
            while !wal.segment_ranges().is_empty() {
                wal.delete_segment(End::Front)?;
            }
            wal.restart_at(next)?;
        }
    }
    Ok(Recovered {
        snapshot: chosen,
        warnings,
    })
}
