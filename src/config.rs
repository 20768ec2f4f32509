//! The user's config file, `raftlab.toml` in the XDG config directory ([`crate::paths`]): the
//! dashboard's defaults (nodes, preset, rules, theme, how many log files to keep) and key
//! bindings, parsed into plain values that each remember where they came from.
//!
//! ```text
//!   raftlab.toml ─► DeTable (toml, with spans) ─► Config { nodes: Setting<u64>, ... , keys }
//!                                                    │  each Setting: value + Source
//!   defaults ────────────────────────────────────────┤  (default · file:line · env · flag)
//!   NO_COLOR (env) ─► with_no_color ─────────────────┤
//!   flags (cli) ─► Setting::set(.., Source::Flag) ───┘
//! ```
//!
//! This layer knows plain data only: key bindings stay strings with their position here; the
//! dashboard (`tui::action`) turns them into keys and checks them against its tables. Every
//! error names the file, the line and the column, in one line, and a file with an error changes
//! nothing: [`Config::parse`] returns either a whole config or the first error. Unknown keys are
//! errors, so a typo is never silently ignored.

use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::cluster::Preset;
use crate::node::UnsafeRule;
use crate::raft::ReadMode;

/// Nodes when neither the file nor a flag says.
pub const DEFAULT_NODES: u64 = 5;
/// Log files kept when neither the file nor a flag says (one per day).
pub const DEFAULT_LOG_FILES: usize = 7;
/// Most log files one may ask to keep.
pub const MAX_LOG_FILES: usize = 1000;

/// A line and a column in the file, both from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    /// The line.
    pub line: usize,
    /// The column, in characters.
    pub column: usize,
}

impl At {
    /// The position of byte `offset` of `text`.
    pub fn of(text: &str, offset: usize) -> At {
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        At {
            line,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Nobody set it.
    Default,
    /// The config file, at this place.
    File(At),
    /// An environment variable (`NO_COLOR`).
    Env(&'static str),
    /// A command-line flag (`--nodes`).
    Flag(&'static str),
}

impl Source {
    /// How `raftlab config` writes it: `default`, `raftlab.toml:3`, `env NO_COLOR`, `flag --nodes`.
    pub fn describe(&self, file: &Path) -> String {
        match self {
            Source::Default => "default".into(),
            Source::File(at) => format!(
                "{}:{}",
                file.file_name().map_or_else(
                    || file.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                ),
                at.line
            ),
            Source::Env(name) => format!("env {name}"),
            Source::Flag(name) => format!("flag {name}"),
        }
    }
}

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting<T> {
    /// The value in force.
    pub value: T,
    /// Who set it.
    pub source: Source,
}

impl<T> Setting<T> {
    fn default(value: T) -> Setting<T> {
        Setting {
            value,
            source: Source::Default,
        }
    }

    /// Replaces the value (a later source wins: the file over the default, a flag over both).
    pub fn set(&mut self, value: T, source: Source) {
        self.value = value;
        self.source = source;
    }
}

/// The dashboard's colours, as the file names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThemeName {
    /// Colours and symbols.
    Color,
    /// Symbols only.
    Mono,
}

impl ThemeName {
    /// The name the file and `--theme` use.
    pub fn name(self) -> &'static str {
        match self {
            ThemeName::Color => "color",
            ThemeName::Mono => "mono",
        }
    }
}

/// One `[keys.MODE]` table: new keys for some of that mode's actions, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyTable {
    /// The mode's name (`main`, `replay`, `prompt`, `help`, `detail`, `history`), unchecked.
    pub mode: String,
    /// Where the mode's name is written.
    pub at: At,
    /// The entries, in the order of the file.
    pub entries: Vec<KeyEntry>,
}

/// One `action = "KEY"` (or `action = ["KEY", ...]`) line of a `[keys.MODE]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEntry {
    /// The action's name (`kill`, `toggle-help`), unchecked.
    pub action: String,
    /// The keys as written (`K`, `Ctrl-K`, `PgUp`), unchecked; never empty.
    pub keys: Vec<String>,
    /// Where the action's name is written.
    pub at: At,
}

/// Everything the config file can set, each value with its source.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file these values were read from (it may not exist).
    pub file: Option<PathBuf>,
    /// Whether the file exists.
    pub found: bool,
    /// `nodes`: nodes of the dashboard's cluster, 1 to 9.
    pub nodes: Setting<u64>,
    /// `preset`: the dashboard's timing.
    pub preset: Setting<Preset>,
    /// `rules.pre-vote` (or `rules = "paper"`).
    pub pre_vote: Setting<bool>,
    /// `rules.check-quorum` (or `rules = "paper"`).
    pub check_quorum: Setting<bool>,
    /// `rules.read-mode`.
    pub read_mode: Setting<ReadMode>,
    /// `rules.unsafe`: rules to break on purpose.
    pub unsafe_rules: Setting<Vec<UnsafeRule>>,
    /// `theme`.
    pub theme: Setting<ThemeName>,
    /// `log-files`: how many daily log files to keep.
    pub log_files: Setting<usize>,
    /// `[keys.MODE]` tables, in the order of the file.
    pub keys: Vec<KeyTable>,
}

/// What is wrong with a config file: one line naming the file, the line and the column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// Where in it, when known.
    pub at: Option<At>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Some(at) => write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                at.line,
                at.column,
                self.message
            ),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The top-level keys, in the order `raftlab config` and the errors list them.
pub const TOP_KEYS: [&str; 6] = ["nodes", "preset", "rules", "theme", "log-files", "keys"];
/// The keys of `[rules]`.
pub const RULE_KEYS: [&str; 4] = ["pre-vote", "check-quorum", "read-mode", "unsafe"];

impl Config {
    /// Every value at its default.
    pub fn defaults(file: Option<PathBuf>) -> Config {
        let rules = crate::node::Rules::default();
        Config {
            file,
            found: false,
            nodes: Setting::default(DEFAULT_NODES),
            preset: Setting::default(Preset::Teach),
            pre_vote: Setting::default(rules.pre_vote),
            check_quorum: Setting::default(rules.check_quorum),
            read_mode: Setting::default(rules.read_mode),
            unsafe_rules: Setting::default(Vec::new()),
            theme: Setting::default(ThemeName::Color),
            log_files: Setting::default(DEFAULT_LOG_FILES),
            keys: Vec::new(),
        }
    }

    /// Reads `file`: the defaults when it does not exist, an error when it cannot be read or
    /// says something wrong.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        match std::fs::read(file) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|e| ConfigError {
                    file: file.to_path_buf(),
                    at: None,
                    message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
                })?;
                Config::parse(file, &text)
            }
            // A missing file, or a file where a directory of its path should be: no file.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(Config::defaults(Some(file.to_path_buf())))
            }
            Err(e) => Err(ConfigError {
                file: file.to_path_buf(),
                at: None,
                message: format!("cannot read it: {e}"),
            }),
        }
    }

    /// Parses `text`, the contents of `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
        let fail = |span: Option<std::ops::Range<usize>>, message: String| ConfigError {
            file: file.to_path_buf(),
            at: span.map(|s| At::of(text, s.start)),
            message,
        };
        let table = DeTable::parse(text).map_err(|e| fail(e.span(), e.message().to_string()))?;
        let mut config = Config::defaults(Some(file.to_path_buf()));
        config.found = true;
        let mut reader = Reader {
            text,
            config: &mut config,
        };
        reader
            .top(table.get_ref())
            .map_err(|(span, message)| fail(Some(span), message))?;
        Ok(config)
    }

    /// Turns the theme to mono when `NO_COLOR` is set and neither the file nor a flag chose.
    pub fn with_no_color(mut self, no_color: bool) -> Config {
        if no_color && self.theme.source == Source::Default {
            self.theme.set(ThemeName::Mono, Source::Env("NO_COLOR"));
        }
        self
    }

    /// An error at `at` in this config's file.
    pub fn error_at(&self, at: At, message: String) -> ConfigError {
        ConfigError {
            file: self.file.clone().unwrap_or_default(),
            at: Some(at),
            message,
        }
    }

    /// The rules these settings select.
    pub fn rules(&self) -> crate::node::Rules {
        let mut rules = crate::node::Rules {
            pre_vote: self.pre_vote.value,
            check_quorum: self.check_quorum.value,
            read_mode: self.read_mode.value,
            ..Default::default()
        };
        for rule in &self.unsafe_rules.value {
            rules.enable(*rule);
        }
        rules
    }
}

type Span = std::ops::Range<usize>;
type Failure = (Span, String);

/// Walks the parsed document into a [`Config`], first error (in file order) wins.
struct Reader<'a, 't> {
    text: &'t str,
    config: &'a mut Config,
}

/// The entries of a table in the order of the file (the map sorts them by name).
fn in_file_order<'t, 'i>(
    table: &'t DeTable<'i>,
) -> Vec<(
    &'t Spanned<std::borrow::Cow<'i, str>>,
    &'t Spanned<DeValue<'i>>,
)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

fn unknown(what: &str, key: &str, expected: &[&str]) -> String {
    format!(
        "unknown {what} {key:?} (expected one of: {})",
        expected.join(", ")
    )
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    v.type_str()
}

impl Reader<'_, '_> {
    fn at(&self, span: &Span) -> Source {
        Source::File(At::of(self.text, span.start))
    }

    fn top(&mut self, table: &DeTable<'_>) -> Result<(), Failure> {
        for (key, value) in in_file_order(table) {
            let name: &str = key.get_ref();
            let at = self.at(&key.span());
            match name {
                "nodes" => {
                    let n = integer(value, "nodes", 1, 9)?;
                    self.config.nodes.set(n, at);
                }
                "preset" => {
                    let preset = match string(value, "preset")? {
                        "teach" => Preset::Teach,
                        "fast" => Preset::Fast,
                        other => {
                            return Err((
                                value.span(),
                                format!("preset {other:?} is not one of: teach, fast"),
                            ))
                        }
                    };
                    self.config.preset.set(preset, at);
                }
                "theme" => {
                    let theme = match string(value, "theme")? {
                        "color" => ThemeName::Color,
                        "mono" => ThemeName::Mono,
                        other => {
                            return Err((
                                value.span(),
                                format!("theme {other:?} is not one of: color, mono"),
                            ))
                        }
                    };
                    self.config.theme.set(theme, at);
                }
                "log-files" => {
                    let n = integer(value, "log-files", 1, MAX_LOG_FILES as u64)?;
                    self.config.log_files.set(n as usize, at);
                }
                "rules" => self.rules(value, at)?,
                "keys" => self.keys(value)?,
                other => return Err((key.span(), unknown("key", other, &TOP_KEYS))),
            }
        }
        Ok(())
    }

    fn rules(&mut self, value: &Spanned<DeValue<'_>>, at: Source) -> Result<(), Failure> {
        match value.get_ref() {
            DeValue::String(s) => {
                let (pre_vote, check_quorum) = match s.as_ref() {
                    // Figure 2 of the paper: neither PreVote nor CheckQuorum.
                    "paper" => (false, false),
                    "default" => (true, true),
                    other => {
                        return Err((
                            value.span(),
                            format!(
                                "rules {other:?} is not one of: \"paper\" (Figure 2 only: no \
                                 PreVote, no CheckQuorum), \"default\", or a [rules] table"
                            ),
                        ))
                    }
                };
                self.config.pre_vote.set(pre_vote, at.clone());
                self.config.check_quorum.set(check_quorum, at);
                Ok(())
            }
            DeValue::Table(table) => {
                for (key, value) in in_file_order(table) {
                    let at = self.at(&key.span());
                    match key.get_ref().as_ref() {
                        "pre-vote" => {
                            let b = boolean(value, "rules.pre-vote")?;
                            self.config.pre_vote.set(b, at);
                        }
                        "check-quorum" => {
                            let b = boolean(value, "rules.check-quorum")?;
                            self.config.check_quorum.set(b, at);
                        }
                        "read-mode" => {
                            let mode = match string(value, "rules.read-mode")? {
                                "safe" => ReadMode::Safe,
                                "lease" => ReadMode::Lease,
                                other => {
                                    return Err((
                                        value.span(),
                                        format!("read-mode {other:?} is not one of: safe, lease"),
                                    ))
                                }
                            };
                            self.config.read_mode.set(mode, at);
                        }
                        "unsafe" => {
                            let names = strings(value, "rules.unsafe", true)?;
                            let mut rules = Vec::new();
                            for (name, span) in names {
                                let rule = UnsafeRule::from_name(&name).map_err(|e| (span, e))?;
                                if !rules.contains(&rule) {
                                    rules.push(rule);
                                }
                            }
                            self.config.unsafe_rules.set(rules, at);
                        }
                        other => {
                            return Err((key.span(), unknown("key of [rules]", other, &RULE_KEYS)))
                        }
                    }
                }
                Ok(())
            }
            other => Err((
                value.span(),
                format!(
                    "rules must be \"paper\", \"default\" or a [rules] table, not a {}",
                    type_name(other)
                ),
            )),
        }
    }

    fn keys(&mut self, value: &Spanned<DeValue<'_>>) -> Result<(), Failure> {
        let DeValue::Table(modes) = value.get_ref() else {
            return Err((
                value.span(),
                format!(
                    "keys must be tables such as [keys.main], not a {}",
                    type_name(value.get_ref())
                ),
            ));
        };
        for (mode, table) in in_file_order(modes) {
            let mode_name: &str = mode.get_ref();
            let DeValue::Table(actions) = table.get_ref() else {
                return Err((
                    table.span(),
                    format!(
                        "keys.{mode_name} must be a table of action = \"KEY\", not a {}",
                        type_name(table.get_ref())
                    ),
                ));
            };
            let mut entries = Vec::new();
            for (action, keys) in in_file_order(actions) {
                let what = format!("keys.{mode_name}.{}", action.get_ref());
                let keys = strings(keys, &what, false)?;
                entries.push(KeyEntry {
                    action: action.get_ref().to_string(),
                    keys: keys.into_iter().map(|(k, _)| k).collect(),
                    at: At::of(self.text, action.span().start),
                });
            }
            self.config.keys.push(KeyTable {
                mode: mode_name.to_string(),
                at: At::of(self.text, mode.span().start),
                entries,
            });
        }
        Ok(())
    }
}

fn integer(value: &Spanned<DeValue<'_>>, what: &str, min: u64, max: u64) -> Result<u64, Failure> {
    let out_of_range = || (value.span(), format!("{what} must be from {min} to {max}"));
    match value.get_ref() {
        DeValue::Integer(i) => {
            let n = i64::from_str_radix(i.as_str(), i.radix()).map_err(|_| out_of_range())?;
            u64::try_from(n)
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(out_of_range)
        }
        other => Err((
            value.span(),
            format!(
                "{what} must be an integer from {min} to {max}, not a {}",
                type_name(other)
            ),
        )),
    }
}

fn boolean(value: &Spanned<DeValue<'_>>, what: &str) -> Result<bool, Failure> {
    match value.get_ref() {
        DeValue::Boolean(b) => Ok(*b),
        other => Err((
            value.span(),
            format!("{what} must be true or false, not a {}", type_name(other)),
        )),
    }
}

fn string<'v>(value: &'v Spanned<DeValue<'_>>, what: &str) -> Result<&'v str, Failure> {
    match value.get_ref() {
        DeValue::String(s) => Ok(s.as_ref()),
        other => Err((
            value.span(),
            format!("{what} must be a string, not a {}", type_name(other)),
        )),
    }
}

/// A string or an array of strings, with the span of each; `may_be_empty` for `[]`.
fn strings(
    value: &Spanned<DeValue<'_>>,
    what: &str,
    may_be_empty: bool,
) -> Result<Vec<(String, Span)>, Failure> {
    match value.get_ref() {
        DeValue::String(s) => Ok(vec![(s.to_string(), value.span())]),
        DeValue::Array(items) => {
            if items.is_empty() && !may_be_empty {
                return Err((value.span(), format!("{what} needs at least one key")));
            }
            items
                .iter()
                .map(|item| match item.get_ref() {
                    DeValue::String(s) => Ok((s.to_string(), item.span())),
                    other => Err((
                        item.span(),
                        format!("{what} must list strings, not a {}", type_name(other)),
                    )),
                })
                .collect()
        }
        other => Err((
            value.span(),
            format!(
                "{what} must be a string or an array of strings, not a {}",
                type_name(other)
            ),
        )),
    }
}

/// The commented file `raftlab config --init` writes: every setting at its default, commented
/// out, so uncommenting a line is all a change takes.
pub fn template() -> String {
    format!(
        "\
# raftlab's config file. Every line is commented out: the values shown are the defaults.
# Flags on the command line override this file; `raftlab config` shows what is in force and
# where each value came from. A mistake here is an error naming its line: nothing starts.
# The file applies to the dashboard (`raftlab`, `raftlab ui`); `raftlab scenario` and
# `raftlab replay` take only the theme and the keys (a scenario brings its own cluster), and
# `serve`, `bench` and `chaos` ignore it, so that scripts stay reproducible.

# Nodes in the dashboard's cluster, 1 to 9.
# nodes = {DEFAULT_NODES}

# Timing: \"teach\" (2-4 s elections, messages visibly in flight) or \"fast\" (150-300 ms).
# preset = \"teach\"

# Colours: \"color\" or \"mono\" (NO_COLOR chooses mono when this line is commented out).
# theme = \"color\"

# How many daily log files to keep in the state directory (`raftlab config` prints where).
# log-files = {DEFAULT_LOG_FILES}

# The rules: rules = \"paper\" is Figure 2 of the Raft paper alone (no PreVote, no CheckQuorum),
# so a leader cut off from a majority goes on believing it leads. Or set them one by one:
# [rules]
# pre-vote = true          # a node asks whether it could win before raising the term
# check-quorum = true      # a leader that has not heard from a majority steps down
# read-mode = \"safe\"       # \"safe\" (ReadIndex) or \"lease\" (trusts bounded clock drift)
# unsafe = []              # UNSAFE, to watch Raft break: \"vote-without-log-check\",
#                          # \"commit-by-counting\", \"forget-vote\", \"local-reads\"

# Keys, one table per mode: main, replay, prompt, help, detail, history. An action's name is
# the one `raftlab config --keys` lists; a value is a key or a list of keys (\"K\", \"Ctrl-K\",
# \"space\", \"Enter\", \"PgUp\", \"F2\", [\"q\", \"Ctrl-C\"]) and replaces that action's keys.
# A key another action of the same mode already has is an error naming both.
# [keys.main]
# kill = \"K\"
# restart = \"R\"
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/home/u/.config/raftlab/raftlab.toml"), text)
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("an error").to_string()
    }

    #[test]
    fn an_empty_file_is_every_default() {
        let c = parse("").unwrap();
        assert!(c.found);
        assert_eq!(c.nodes, Setting::default(5));
        assert_eq!(c.preset.value, Preset::Teach);
        assert!(c.pre_vote.value && c.check_quorum.value);
        assert_eq!(c.rules(), crate::node::Rules::default());
        assert_eq!(c.theme.source, Source::Default);
        assert!(c.keys.is_empty());
    }

    #[test]
    fn values_remember_their_line() {
        let c = parse(
            "# a comment\nnodes = 3\npreset = \"fast\"\ntheme = \"mono\"\nlog-files = 2\n\n\
             [rules]\ncheck-quorum = false\nread-mode = \"lease\"\nunsafe = [\"local-reads\", \
             \"forget-vote\"]\n",
        )
        .unwrap();
        let line = |s: &Source| match s {
            Source::File(at) => at.line,
            other => panic!("{other:?}"),
        };
        assert_eq!((c.nodes.value, line(&c.nodes.source)), (3, 2));
        assert_eq!((c.preset.value, line(&c.preset.source)), (Preset::Fast, 3));
        assert_eq!((c.theme.value, line(&c.theme.source)), (ThemeName::Mono, 4));
        assert_eq!((c.log_files.value, line(&c.log_files.source)), (2, 5));
        assert_eq!(c.pre_vote.source, Source::Default);
        assert_eq!(
            (c.check_quorum.value, line(&c.check_quorum.source)),
            (false, 8)
        );
        assert_eq!(c.read_mode.value, ReadMode::Lease);
        assert_eq!(
            c.unsafe_rules.value,
            vec![UnsafeRule::LocalReads, UnsafeRule::ForgetVote]
        );
        let rules = c.rules();
        assert!(rules.pre_vote && !rules.check_quorum && rules.local_reads);
        assert_eq!(
            c.nodes.source.describe(Path::new("/x/raftlab.toml")),
            "raftlab.toml:2"
        );
    }

    #[test]
    fn paper_rules_turn_off_prevote_and_checkquorum() {
        let c = parse("rules = \"paper\"\n").unwrap();
        assert!(!c.pre_vote.value && !c.check_quorum.value);
        assert_eq!(c.pre_vote.source, Source::File(At { line: 1, column: 1 }));
        let c = parse("rules = \"default\"").unwrap();
        assert!(c.pre_vote.value && c.check_quorum.value);
        assert!(error("rules = \"figure2\"").contains("raftlab.toml:1:9: rules \"figure2\""));
        assert!(
            error("rules = 3").contains("not a integer") || error("rules = 3").contains("not a")
        );
    }

    #[test]
    fn key_tables_keep_their_entries_in_file_order() {
        let c = parse(
            "[keys.main]\nrestart = \"R\"\nkill = [\"K\", \"Ctrl-K\"]\n[keys.replay]\nplay-pause = \"p\"\n",
        )
        .unwrap();
        assert_eq!(c.keys.len(), 2);
        assert_eq!(c.keys[0].mode, "main");
        assert_eq!(c.keys[0].at, At { line: 1, column: 7 });
        let names: Vec<&str> = c.keys[0]
            .entries
            .iter()
            .map(|e| e.action.as_str())
            .collect();
        assert_eq!(names, ["restart", "kill"]);
        assert_eq!(c.keys[0].entries[1].keys, ["K", "Ctrl-K"]);
        assert_eq!(c.keys[0].entries[1].at, At { line: 3, column: 1 });
        assert_eq!(c.keys[1].entries[0].keys, ["p"]);
    }

    #[test]
    fn every_mistake_is_one_line_with_file_line_and_column() {
        let cases = [
            ("nodez = 3", "raftlab.toml:1:1: unknown key \"nodez\""),
            ("nodes = 12", "raftlab.toml:1:9: nodes must be from 1 to 9"),
            ("nodes = -1", "raftlab.toml:1:9: nodes must be from 1 to 9"),
            (
                "nodes = \"3\"",
                "raftlab.toml:1:9: nodes must be an integer",
            ),
            (
                "\n\npreset = \"slow\"",
                "raftlab.toml:3:10: preset \"slow\"",
            ),
            ("theme = \"dark\"", "raftlab.toml:1:9: theme \"dark\""),
            (
                "[rules]\nprevote = true",
                "raftlab.toml:2:1: unknown key of [rules] \"prevote\"",
            ),
            (
                "[rules]\npre-vote = 1",
                "raftlab.toml:2:12: rules.pre-vote must be true or false",
            ),
            (
                "[rules]\nunsafe = [\"fast\"]",
                "raftlab.toml:2:11: unknown unsafe rule \"fast\"",
            ),
            (
                "[rules]\nread-mode = \"fast\"",
                "raftlab.toml:2:13: read-mode \"fast\"",
            ),
            ("keys = 1", "raftlab.toml:1:8: keys must be tables"),
            (
                "[keys]\nmain = \"k\"",
                "raftlab.toml:2:8: keys.main must be a table",
            ),
            (
                "[keys.main]\nkill = []",
                "raftlab.toml:2:8: keys.main.kill needs at least one key",
            ),
            (
                "[keys.main]\nkill = 1",
                "raftlab.toml:2:8: keys.main.kill must be a string",
            ),
            (
                "log-files = 0",
                "raftlab.toml:1:13: log-files must be from 1 to 1000",
            ),
            ("nodes = 3\nnodes = 4", "raftlab.toml:2:1: duplicate key"),
            ("nodes = ", "raftlab.toml:1:"),
            ("[rules\n", "raftlab.toml:1:"),
        ];
        for (text, want) in cases {
            let got = error(text);
            assert!(got.contains(want), "{text:?}: {got:?} lacks {want:?}");
            assert!(!got.contains('\n'), "{text:?}: not one line: {got:?}");
            assert!(
                got.starts_with("/home/u/.config/raftlab/raftlab.toml:"),
                "{got}"
            );
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(At::of("é = 1\nab", 7), At { line: 2, column: 1 });
        assert_eq!(At::of("ééx", 4), At { line: 1, column: 3 });
        assert_eq!(At::of("ab", 99), At { line: 1, column: 3 });
    }

    #[test]
    fn no_color_decides_only_when_nobody_else_did() {
        let c = parse("").unwrap().with_no_color(true);
        assert_eq!(c.theme.value, ThemeName::Mono);
        assert_eq!(c.theme.source, Source::Env("NO_COLOR"));
        let c = parse("theme = \"color\"").unwrap().with_no_color(true);
        assert_eq!(c.theme.value, ThemeName::Color);
        let c = parse("").unwrap().with_no_color(false);
        assert_eq!(c.theme.value, ThemeName::Color);
    }

    #[test]
    fn the_template_parses_commented_and_uncommented() {
        let text = template();
        let c = parse(&text).unwrap();
        assert_eq!(
            c,
            Config {
                found: true,
                ..Config::defaults(c.file.clone())
            }
        );
        // Uncomment every `# key = value` and `# [table]` line: still a valid file, and it
        // sets what it says.
        let uncommented: String = text
            .lines()
            .map(|l| {
                let body = l.strip_prefix("# ").unwrap_or(l);
                let setting = body.starts_with('[')
                    || body.split_once(" = ").is_some_and(|(k, _)| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    });
                if setting {
                    format!("{body}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let c = parse(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert!(matches!(c.nodes.source, Source::File(_)));
        assert!(matches!(c.read_mode.source, Source::File(_)));
        assert_eq!(c.keys[0].entries.len(), 2);
        assert_eq!(c.rules(), crate::node::Rules::default());
    }

    #[test]
    fn a_missing_file_is_the_defaults_and_an_unreadable_one_an_error() {
        let dir = std::env::temp_dir().join(format!("raftlab-config-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = Config::load(&dir.join("nothing.toml")).unwrap();
        assert!(!c.found);
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, [b'n', 0xff, b'\n']).unwrap();
        assert!(Config::load(&bad)
            .unwrap_err()
            .to_string()
            .contains("not UTF-8"));
        // A directory where the file should be.
        assert!(Config::load(&dir)
            .unwrap_err()
            .to_string()
            .contains("cannot read"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
