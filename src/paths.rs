//! Where the files a user keeps go: the config file in the XDG config directory, progress (the
//! challenges solved) in the data directory, logs in the state directory — or wherever the
//! platform expects them. Throwaway cluster data is not here: it lives in a temp dir.
//!
//! On Linux that is `$XDG_CONFIG_HOME/raftlab` (else `~/.config/raftlab`), `$XDG_DATA_HOME/raftlab`
//! (else `~/.local/share/raftlab`) and `$XDG_STATE_HOME/raftlab` (else `~/.local/state/raftlab`).
//! `RAFTLAB_HOME`, when set, puts all three under one directory (`config/`, `data/`, `state/`),
//! which is what tests and a shared classroom machine want.

use std::path::PathBuf;

/// The environment variable that puts every user file under one directory.
pub const HOME_ENV: &str = "RAFTLAB_HOME";

/// The user's directories for raftlab, or `None` when the platform gives no home directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Places {
    /// Where `raftlab.toml` is read from.
    pub config: PathBuf,
    /// Where progress is kept.
    pub data: PathBuf,
    /// Where logs are written.
    pub state: PathBuf,
}

impl Places {
    /// The directories of this user (not created: callers create what they write into).
    pub fn of_user() -> Option<Places> {
        if let Some(home) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
            return Some(Places::under(PathBuf::from(home)));
        }
        let dirs = directories::ProjectDirs::from("", "", "raftlab")?;
        Some(Places {
            config: dirs.config_dir().to_path_buf(),
            data: dirs.data_dir().to_path_buf(),
            // Platforms without a state directory (macOS, Windows) keep logs with the data.
            state: dirs
                .state_dir()
                .map_or_else(|| dirs.data_local_dir().join("logs"), |d| d.to_path_buf()),
        })
    }

    /// All three under one directory.
    pub fn under(root: PathBuf) -> Places {
        Places {
            config: root.join("config"),
            data: root.join("data"),
            state: root.join("state"),
        }
    }

    /// The config file.
    pub fn config_file(&self) -> PathBuf {
        self.config.join("raftlab.toml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_root_holds_all_three() {
        let p = Places::under(PathBuf::from("/r"));
        assert_eq!(p.config_file(), PathBuf::from("/r/config/raftlab.toml"));
        assert_eq!(p.data, PathBuf::from("/r/data"));
        assert_eq!(p.state, PathBuf::from("/r/state"));
    }
}
