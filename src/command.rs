//! Commands: the prompt's language ([`prompt`]: the commands, lexing, parsing with positions,
//! completion, input history and help) and the [`executor`] that carries commands out against a
//! cluster. The dashboard and the scenario runner both speak it.

mod complete;
pub mod executor;
mod help;
mod history;
mod lex;
mod parse;
pub mod prompt;
