//! Pictures of a recorded run a person can open: the space-time diagram of a recording (or of a
//! window of it) as a standalone SVG, one self-contained HTML page (the SVG with zoom and hover
//! details, no network), a Mermaid sequence diagram, or a log that ShiViz reads; and the history
//! report of a checked client history ([`history`]: `raftlab check FILE --html REPORT.html`).
//!
//! ```text
//!   Recording ─► diagram::build(window) ─► SpaceTime ─┬─► svg::render      FILE.svg
//!                (lanes, arrows, marks, bands)        ├─► html::render     FILE.html
//!                                                     ├─► mermaid::render  FILE.mmd
//!                                                     └─► shiviz::render   FILE.shiviz
//! ```
//!
//! `raftlab replay FILE --export OUT [--from 2s] [--to 5s]` calls [`export`]: the format comes
//! from OUT's extension, and the file is written whole or not at all.

pub mod diagram;
pub mod history;
pub mod html;
pub mod mermaid;
pub mod shiviz;
pub mod svg;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use diagram::{build, SpaceTime, Window};

use crate::record::Recording;

/// The formats, chosen by the output's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.svg`: a standalone SVG.
    Svg,
    /// `.html` (or `.htm`): one self-contained page.
    Html,
    /// `.mmd`: a Mermaid sequence diagram.
    Mermaid,
    /// `.shiviz`: ShiViz's log format.
    ShiViz,
}

impl Format {
    /// The format `path`'s extension names.
    pub fn of_path(path: &Path) -> Result<Format, ExportError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("svg") => Ok(Format::Svg),
            Some("html" | "htm") => Ok(Format::Html),
            Some("mmd") => Ok(Format::Mermaid),
            Some("shiviz") => Ok(Format::ShiViz),
            _ => Err(ExportError::Format(path.display().to_string())),
        }
    }
}

/// Why an export was not written.
#[derive(Debug)]
pub enum ExportError {
    /// The output's extension names no format.
    Format(String),
    /// The window is backwards, past the end, or holds nothing.
    Window(String),
    /// Too many messages for the format (Mermaid lays every message on its own row).
    TooMany {
        /// Messages in the window.
        messages: usize,
        /// Most the format takes.
        limit: usize,
    },
    /// The file cannot be written.
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Format(p) => write!(
                f,
                "{p}: unknown export format (the extension chooses: .svg, .html, .mmd or .shiviz)"
            ),
            ExportError::Window(why) => write!(f, "{why}"),
            ExportError::TooMany { messages, limit } => write!(
                f,
                "{messages} messages in the window, more than a Mermaid diagram can show \
                 ({limit}): choose a shorter window with --from/--to"
            ),
            ExportError::Write { path, error } => {
                write!(f, "cannot write {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for ExportError {}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Messages drawn.
    pub messages: usize,
}

impl Exported {
    /// `exported diagram.svg (12.3 KiB, 412 messages)`.
    pub fn describe(&self) -> String {
        format!(
            "exported {} ({}, {} messages)",
            self.path.display(),
            crate::observe::format::bytes(self.bytes),
            self.messages
        )
    }
}

/// The diagram in `format`.
pub fn render(st: &SpaceTime, format: Format) -> Result<String, ExportError> {
    Ok(match format {
        Format::Svg => svg::render(st, true),
        Format::Html => html::render(st),
        Format::Mermaid => mermaid::render(st)?,
        Format::ShiViz => shiviz::render(st),
    })
}

/// Draws `window` of `rec` into `path`, in the format its extension names. Nothing is written
/// unless all of it is: the text goes to a temporary file beside `path`, renamed at the end.
pub fn export(rec: &Recording, window: Window, path: &Path) -> Result<Exported, ExportError> {
    let format = Format::of_path(path)?;
    let st = build(rec, window)?;
    let text = render(&st, format)?;
    write_whole(path, text.as_bytes())?;
    Ok(Exported {
        path: path.to_path_buf(),
        bytes: text.len() as u64,
        messages: st.arrows.len(),
    })
}

/// The temporary file beside `path` that a write goes to before it is renamed to `path`, or why
/// `path` cannot be written (it is a directory).
fn partial_of(path: &Path) -> Result<std::path::PathBuf, ExportError> {
    if path.is_dir() {
        return Err(ExportError::Write {
            path: path.to_path_buf(),
            error: std::io::Error::other("it is a directory"),
        });
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    Ok(path.with_file_name(name))
}

fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let err = |error| ExportError::Write {
        path: path.to_path_buf(),
        error,
    };
    let tmp = partial_of(path)?;
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.flush()
    });
    let result = written.and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}
