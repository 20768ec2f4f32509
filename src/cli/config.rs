//! `raftlab config`: the dashboard's settings in force and where each came from, the config
//! file's path (`--path`), a commented default file (`--init`) and the actions the `[keys.MODE]`
//! tables can rebind (`--keys`). Also what the dashboard, `scenario` and `replay` share: loading
//! the user's config file, checking its keys, and laying the flags over it.
//!
//! ```text
//!   Places::of_user ─► raftlab.toml ─► config::Config ─► with_no_color (env) ─► flags (here)
//!                                            └─ keys ─► tui::action::keymap (checked) ─► install
//! ```
//!
//! A bad file is one line on stderr naming the file, line and column, and exit 2: nothing starts.

use std::process::ExitCode;

use super::args::{ConfigArgs, ThemeArg, UiArgs};
use crate::config::{Config, Source, ThemeName};
use crate::paths::Places;
use crate::tui::action::{self, Keymap, Mode};

/// The user's config, checked through and through.
#[derive(Debug)]
pub struct Loaded {
    /// The user's directories (`None`: the platform gives no home).
    pub places: Option<Places>,
    /// The settings: defaults, the file, NO_COLOR; flags are laid on by [`apply_ui_flags`].
    pub config: Config,
    /// The key tables with the file's keys in them.
    pub keymap: Keymap,
}

/// Reads the user's config file (none: the defaults) and checks its keys against the key
/// tables. The error is the one line to print.
pub fn load() -> Result<Loaded, String> {
    let places = Places::of_user();
    let config = match &places {
        Some(p) => Config::load(&p.config_file()).map_err(|e| e.to_string())?,
        None => Config::defaults(None),
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let config = config.with_no_color(no_color);
    let keymap =
        action::keymap(&config.keys).map_err(|(at, why)| config.error_at(at, why).to_string())?;
    Ok(Loaded {
        places,
        config,
        keymap,
    })
}

/// [`load`], or the error printed as `raftlab: ...` and exit 2.
pub fn load_or_exit() -> Result<Loaded, ExitCode> {
    load().map_err(|e| {
        eprintln!("raftlab: {e}");
        ExitCode::from(2)
    })
}

/// What a dashboard that brings its own cluster (a scenario, a challenge) takes from the config
/// file: the theme (the flag over it), where logs go, and the keys, installed here. `Err` is the
/// exit code after a bad file was reported.
pub fn own_cluster_settings(
    theme_flag: Option<ThemeArg>,
) -> Result<(crate::tui::app::Theme, crate::tui::LogPlace), ExitCode> {
    let loaded = load_or_exit()?;
    let mut settings = loaded.config;
    apply_theme_flag(&mut settings, theme_flag);
    let logs = log_place(loaded.places.as_ref(), &settings);
    crate::tui::action::install(loaded.keymap);
    Ok((theme(&settings), logs))
}

/// Lays the dashboard's flags over `config`: a flag given wins over the file.
pub fn apply_ui_flags(config: &mut Config, args: &UiArgs) {
    if let Some(n) = args.nodes {
        config.nodes.set(n, Source::Flag("--nodes"));
    }
    if let Some(p) = args.preset {
        config.preset.set(p, Source::Flag("--preset"));
    }
    apply_theme_flag(config, args.theme);
    let r = &args.rules;
    // --paper first: a --pre-vote or --check-quorum beside it turns that one rule back on.
    if r.paper {
        config.pre_vote.set(false, Source::Flag("--paper"));
        config.check_quorum.set(false, Source::Flag("--paper"));
    }
    if r.no_pre_vote {
        config.pre_vote.set(false, Source::Flag("--no-pre-vote"));
    }
    if r.pre_vote {
        config.pre_vote.set(true, Source::Flag("--pre-vote"));
    }
    if r.no_check_quorum {
        config
            .check_quorum
            .set(false, Source::Flag("--no-check-quorum"));
    }
    if r.check_quorum {
        config
            .check_quorum
            .set(true, Source::Flag("--check-quorum"));
    }
    if let Some(mode) = r.read_mode {
        config
            .read_mode
            .set(mode.read_mode(), Source::Flag("--read-mode"));
    }
    if !r.unsafe_rules.is_empty() {
        config
            .unsafe_rules
            .set(r.unsafe_rules.clone(), Source::Flag("--unsafe"));
    }
}

/// Lays `--theme` over `config`.
pub fn apply_theme_flag(config: &mut Config, theme: Option<ThemeArg>) {
    match theme {
        Some(ThemeArg::Color) => config.theme.set(ThemeName::Color, Source::Flag("--theme")),
        Some(ThemeArg::Mono) => config.theme.set(ThemeName::Mono, Source::Flag("--theme")),
        None => {}
    }
}

/// The dashboard's theme of a config.
pub fn theme(config: &Config) -> crate::tui::app::Theme {
    match config.theme.value {
        ThemeName::Color => crate::tui::app::Theme::Color,
        ThemeName::Mono => crate::tui::app::Theme::Mono,
    }
}

/// Where the logs of `config` go.
pub fn log_place(places: Option<&Places>, config: &Config) -> crate::tui::LogPlace {
    crate::tui::LogPlace {
        dir: places.map(|p| p.state.clone()),
        keep: config.log_files.value,
    }
}

/// The "Files" paragraph of `raftlab --help`: where the config file and the logs are.
pub fn files_help() -> String {
    let places = Places::of_user();
    let keep = load().map_or(crate::config::DEFAULT_LOG_FILES, |l| {
        l.config.log_files.value
    });
    let (config, logs) = match &places {
        Some(p) => {
            let file = p.config_file();
            let exists = if file.exists() {
                "exists"
            } else {
                "none yet: `raftlab config --init` writes one"
            };
            (
                format!("{} ({exists})", file.display()),
                crate::tui::LogPlace::file_today(&p.state)
                    .display()
                    .to_string(),
            )
        }
        None => ("none (no home directory)".into(), "none".into()),
    };
    format!(
        "Files:\n  config file  {config}\n               \
         `raftlab config` shows the settings in force and where each came from; flags override it\n  \
         log file     {logs}\n               \
         one file a day, the last {keep} kept (`log-files` in the config file); RAFTLAB_LOG=debug \
         logs more\n  \
         RAFTLAB_HOME=DIR keeps both under DIR (config/, state/)"
    )
}

/// Runs `raftlab config`.
pub fn main(args: ConfigArgs) -> ExitCode {
    if args.path {
        return match Places::of_user() {
            Some(p) => {
                println!("{}", p.config_file().display());
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "raftlab config: no home directory, so no config file (set RAFTLAB_HOME)"
                );
                ExitCode::FAILURE
            }
        };
    }
    if args.init {
        return init();
    }
    let loaded = match load_or_exit() {
        Ok(l) => l,
        Err(code) => return code,
    };
    if args.keys {
        print!("{}", keys_text(&loaded.keymap));
        return ExitCode::SUCCESS;
    }
    let mut config = loaded.config;
    apply_ui_flags(&mut config, &args.ui);
    print!(
        "{}",
        describe(loaded.places.as_ref(), &config, &loaded.keymap)
    );
    ExitCode::SUCCESS
}

/// `raftlab config --init`: writes the commented default file unless one exists.
fn init() -> ExitCode {
    let Some(places) = Places::of_user() else {
        eprintln!("raftlab config: no home directory, so no config file (set RAFTLAB_HOME)");
        return ExitCode::FAILURE;
    };
    let file = places.config_file();
    let written = std::fs::create_dir_all(&places.config).and_then(|()| {
        // create_new: never over a file that exists, even one made a moment ago.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)?;
        std::io::Write::write_all(&mut f, crate::config::template().as_bytes())
    });
    match written {
        Ok(()) => {
            println!(
                "wrote {} (every line commented out: the defaults)",
                file.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "raftlab config: {} exists; not overwritten (remove it first to start over)",
                file.display()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("raftlab config: cannot write {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}

/// What `raftlab config` prints: the files, then one line per setting with its source.
pub fn describe(places: Option<&Places>, config: &Config, keymap: &Keymap) -> String {
    let file = config.file.clone().unwrap_or_default();
    let mut out = String::new();
    match &config.file {
        Some(path) => {
            let state = if config.found {
                "exists"
            } else {
                "not found: the defaults apply; `raftlab config --init` writes one"
            };
            out.push_str(&format!("config file: {} ({state})\n", path.display()));
        }
        None => out.push_str("config file: none (no home directory; set RAFTLAB_HOME)\n"),
    }
    if std::env::var_os(crate::paths::HOME_ENV).is_some_and(|h| !h.is_empty()) {
        out.push_str(&format!(
            "             (under {} from env {})\n",
            places.map_or_else(String::new, |p| p
                .config
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default()),
            crate::paths::HOME_ENV
        ));
    }
    let log = log_place(places, config);
    match &log.dir {
        Some(dir) => out.push_str(&format!(
            "log file:    {} (daily, the last {} kept)\n",
            crate::tui::LogPlace::file_today(dir).display(),
            log.keep
        )),
        None => out.push_str("log file:    none (no home directory)\n"),
    }
    out.push('\n');
    let quote = |s: &str| format!("{s:?}");
    let unsafe_names: Vec<String> = config
        .unsafe_rules
        .value
        .iter()
        .map(|r| quote(r.name()))
        .collect();
    let read_mode = match config.read_mode.value {
        crate::raft::ReadMode::Safe => "safe",
        crate::raft::ReadMode::Lease => "lease",
    };
    let rows: Vec<(String, String, &Source)> = vec![
        (
            "nodes".into(),
            config.nodes.value.to_string(),
            &config.nodes.source,
        ),
        (
            "preset".into(),
            quote(config.preset.value.as_str()),
            &config.preset.source,
        ),
        (
            "theme".into(),
            quote(config.theme.value.name()),
            &config.theme.source,
        ),
        (
            "log-files".into(),
            config.log_files.value.to_string(),
            &config.log_files.source,
        ),
        (
            "rules.pre-vote".into(),
            config.pre_vote.value.to_string(),
            &config.pre_vote.source,
        ),
        (
            "rules.check-quorum".into(),
            config.check_quorum.value.to_string(),
            &config.check_quorum.source,
        ),
        (
            "rules.read-mode".into(),
            quote(read_mode),
            &config.read_mode.source,
        ),
        (
            "rules.unsafe".into(),
            format!("[{}]", unsafe_names.join(", ")),
            &config.unsafe_rules.source,
        ),
    ];
    let mut lines: Vec<(String, String)> = rows
        .into_iter()
        .map(|(k, v, s)| (format!("{k} = {v}"), s.describe(&file)))
        .collect();
    let changes = keymap.changes();
    for table in &config.keys {
        for e in &table.entries {
            let keys = changes
                .iter()
                .find(|(m, a, _)| m.config_name() == table.mode && *a == e.action)
                .map_or_else(String::new, |(_, _, k)| k.clone());
            lines.push((
                format!("keys.{}.{} = {keys:?}", table.mode, e.action),
                Source::File(e.at).describe(&file),
            ));
        }
    }
    let width = lines
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    for (line, source) in lines {
        let pad = width - line.chars().count();
        out.push_str(&format!("{line}{}   # {source}\n", " ".repeat(pad)));
    }
    if changes.is_empty() {
        out.push_str("\nkeys: the built-in ones (`raftlab config --keys` lists them by name)\n");
    } else {
        out.push_str(
            "\nother keys: the built-in ones (`raftlab config --keys` lists them by name)\n",
        );
    }
    out
}

/// What `raftlab config --keys` prints: per mode, each action's config name and its keys.
pub fn keys_text(keymap: &Keymap) -> String {
    let mut out = String::from(
        "Actions by the name a [keys.MODE] table of raftlab.toml gives them, with their keys in \
         force\n(a value replaces the action's keys: kill = \"K\", quit = [\"q\", \"Ctrl-C\"]).\n",
    );
    let changes = keymap.changes();
    for mode in Mode::ALL {
        out.push_str(&format!(
            "\n[keys.{}]   # {}\n",
            mode.config_name(),
            mode.title()
        ));
        let table = keymap
            .table(mode)
            .map_or_else(|| action::default_bindings(mode), <[_]>::to_vec);
        let rows: Vec<(String, String, bool)> = table
            .iter()
            .map(|b| {
                let name = action::config_name(&b.action);
                let changed = changes.iter().any(|(m, a, _)| *m == mode && *a == name);
                let keys: Vec<String> = b.keys.iter().map(|k| format!("{:?}", k.name())).collect();
                let value = if keys.len() == 1 {
                    keys[0].clone()
                } else {
                    format!("[{}]", keys.join(", "))
                };
                (format!("{name} = {value}"), b.help.to_string(), changed)
            })
            .collect();
        let width = rows
            .iter()
            .map(|(l, _, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        for (line, help, changed) in rows {
            let pad = width - line.chars().count();
            let mark = if changed {
                " (from the config file)"
            } else {
                ""
            };
            out.push_str(&format!("{line}{}   # {help}{mark}\n", " ".repeat(pad)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::At;
    use std::path::Path;

    fn parsed(text: &str) -> Config {
        Config::parse(Path::new("/h/config/raftlab.toml"), text).unwrap()
    }

    #[test]
    fn flags_override_the_file_and_say_so() {
        let mut c = parsed("nodes = 3\nrules = \"paper\"\ntheme = \"mono\"\n");
        let args = UiArgs {
            nodes: Some(7),
            theme: Some(ThemeArg::Color),
            rules: super::super::args::RulesArgs {
                check_quorum: true,
                ..Default::default()
            },
            ..Default::default()
        };
        apply_ui_flags(&mut c, &args);
        assert_eq!(
            (c.nodes.value, &c.nodes.source),
            (7, &Source::Flag("--nodes"))
        );
        assert_eq!(c.theme.value, ThemeName::Color);
        assert_eq!(c.theme.source, Source::Flag("--theme"));
        assert!(
            !c.pre_vote.value,
            "the file's paper rules stay where no flag speaks"
        );
        assert_eq!(c.pre_vote.source, Source::File(At { line: 2, column: 1 }));
        assert!(c.check_quorum.value);
        assert_eq!(c.check_quorum.source, Source::Flag("--check-quorum"));
        // No flag: the file's value.
        let mut c = parsed("nodes = 3\n");
        apply_ui_flags(&mut c, &UiArgs::default());
        assert_eq!(c.nodes.value, 3);
    }

    #[test]
    fn the_description_names_each_source() {
        let mut c = parsed("nodes = 3\n\n[keys.main]\nkill = \"K\"\n");
        apply_ui_flags(
            &mut c,
            &UiArgs {
                preset: Some(crate::cluster::Preset::Fast),
                ..Default::default()
            },
        );
        let keymap = action::keymap(&c.keys).unwrap();
        let text = describe(None, &c, &keymap);
        let line = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .unwrap_or_else(|| panic!("no {key} in\n{text}"))
                .to_string()
        };
        assert!(line("nodes = 3").ends_with("# raftlab.toml:1"), "{text}");
        assert!(
            line("preset = \"fast\"").ends_with("# flag --preset"),
            "{text}"
        );
        assert!(
            line("rules.pre-vote = true").ends_with("# default"),
            "{text}"
        );
        assert!(
            line("keys.main.kill = \"K\"").ends_with("# raftlab.toml:4"),
            "{text}"
        );
        assert!(
            text.starts_with("config file: /h/config/raftlab.toml (exists)"),
            "{text}"
        );
    }

    #[test]
    fn the_keys_list_names_every_action_and_marks_the_changed_ones() {
        let c = parsed("[keys.main]\nkill = \"K\"\n");
        let keymap = action::keymap(&c.keys).unwrap();
        let text = keys_text(&keymap);
        assert!(text.contains("\nkill = \"K\""), "{text}");
        assert!(text.contains("(from the config file)"));
        assert!(text.contains("\nrestart = \"r\""), "{text}");
        assert!(text.contains("[keys.replay]") && text.contains("\nforward-1s = \"→\""));
        assert!(text.contains("\nquit = [\"q\", \"Ctrl-C\"]"), "{text}");
    }
}
