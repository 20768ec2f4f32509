//! A learner's progress through the challenges: for each, how many times it was started and
//! when it was first solved. Kept as JSON in the user's data directory
//! (`challenges.json`, see [`crate::paths::Places`]), written atomically (a temp file, then a
//! rename) and read again before each write, so two dashboards do not undo each other.
//!
//! A file that cannot be read or parsed is never overwritten: [`ProgressFile::open`] says so in
//! one line, and progress is not saved until the file is fixed or removed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The file's name in the data directory.
pub const FILE_NAME: &str = "challenges.json";

/// One challenge's record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Times it was started.
    #[serde(default)]
    pub tries: u32,
    /// When it was first solved (UTC, "2026-12-07 18:40"), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solved: Option<String>,
    /// The fastest time to solve it, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_secs: Option<f64>,
}

/// Every challenge's record, by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The records.
    #[serde(default)]
    pub challenges: BTreeMap<String, Record>,
}

impl Progress {
    /// Whether `name` was solved.
    pub fn solved(&self, name: &str) -> bool {
        self.challenges
            .get(name)
            .is_some_and(|r| r.solved.is_some())
    }
}

/// The progress file and what was read from it.
#[derive(Clone, Debug)]
pub struct ProgressFile {
    /// Where it is (`None`: the platform gives no home directory; nothing is kept).
    pub path: Option<PathBuf>,
    /// What it holds.
    pub progress: Progress,
    /// Why it is not used, when it is unreadable: one line for the user. While set, nothing is
    /// written.
    pub warning: Option<String>,
}

impl ProgressFile {
    /// The user's progress file (in the data directory of [`crate::paths::Places::of_user`]).
    pub fn of_user() -> ProgressFile {
        match crate::paths::Places::of_user() {
            Some(p) => ProgressFile::open(&p.data.join(FILE_NAME)),
            None => ProgressFile {
                path: None,
                progress: Progress::default(),
                warning: Some(
                    "no home directory: challenge progress is not kept (set RAFTLAB_HOME)".into(),
                ),
            },
        }
    }

    /// Reads the file at `path`; a missing file is empty progress.
    pub fn open(path: &Path) -> ProgressFile {
        let (progress, warning) = match read(path) {
            Ok(p) => (p, None),
            Err(why) => (
                Progress::default(),
                Some(format!(
                    "challenge progress in {} is unreadable ({why}): it is left as it is, and \
                     progress is not saved until it is fixed or removed",
                    path.display()
                )),
            ),
        };
        ProgressFile {
            path: Some(path.to_path_buf()),
            progress,
            warning,
        }
    }

    /// Counts a start of `name`, and saves.
    pub fn record_try(&mut self, name: &str) -> Result<(), String> {
        self.update(|p| p.challenges.entry(name.to_string()).or_default().tries += 1)
    }

    /// Records that `name` was solved in `took` (the first time keeps its date; the best time
    /// is kept), and saves.
    pub fn record_solved(&mut self, name: &str, took: Duration) -> Result<(), String> {
        let now = utc_now();
        self.update(|p| {
            let r = p.challenges.entry(name.to_string()).or_default();
            r.solved.get_or_insert(now);
            let secs = (took.as_secs_f64() * 10.0).round() / 10.0;
            r.best_secs = Some(r.best_secs.map_or(secs, |b| b.min(secs)));
        })
    }

    /// Reads the file again, changes it, and writes it back atomically.
    fn update(&mut self, change: impl FnOnce(&mut Progress)) -> Result<(), String> {
        if let Some(w) = &self.warning {
            return Err(w.clone());
        }
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let mut progress = match read(&path) {
            Ok(p) => p,
            Err(why) => {
                let w = format!(
                    "challenge progress in {} became unreadable ({why}): not overwritten",
                    path.display()
                );
                self.warning = Some(w.clone());
                return Err(w);
            }
        };
        change(&mut progress);
        write_atomically(&path, &progress)
            .map_err(|e| format!("cannot save challenge progress to {}: {e}", path.display()))?;
        self.progress = progress;
        Ok(())
    }
}

fn read(path: &Path) -> Result<Progress, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress::default()),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes `progress` to a temporary file beside `path`, syncs it, and renames it over `path`.
fn write_atomically(path: &Path, progress: &Progress) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let text = serde_json::to_string_pretty(progress).map_err(std::io::Error::other)?;
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Now, in UTC, as "2026-12-07 18:40".
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

/// A Unix time in UTC, as "2026-12-07 18:40" (civil date from days: H. Hinnant's algorithm).
fn utc(secs: u64) -> String {
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let (y, mo, d) = crate::observe::format::civil_date((secs / 86_400) as i64);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_print_as_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00");
        assert_eq!(utc(1_796_668_800), "2026-12-07 18:40");
    }

    #[test]
    fn tries_and_solutions_are_kept_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join(FILE_NAME);
        let mut f = ProgressFile::open(&path);
        assert!(f.warning.is_none());
        f.record_try("split-vote").unwrap();
        f.record_try("split-vote").unwrap();
        f.record_solved("split-vote", Duration::from_millis(12_340))
            .unwrap();
        let again = ProgressFile::open(&path);
        let r = &again.progress.challenges["split-vote"];
        assert_eq!(r.tries, 2);
        assert!(r.solved.is_some());
        assert_eq!(r.best_secs, Some(12.3));
        assert!(again.progress.solved("split-vote"));
        assert!(!again.progress.solved("stale-read"));
    }

    #[test]
    fn a_corrupt_file_is_reported_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "{ not json").unwrap();
        let mut f = ProgressFile::open(&path);
        let w = f.warning.clone().unwrap();
        assert!(w.contains("unreadable") && !w.contains('\n'), "{w}");
        assert!(f.record_try("split-vote").is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
    }
}
