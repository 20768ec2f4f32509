//! Lexing a prompt line: words separated by whitespace, double quotes around words that hold
//! spaces (`\"` and `\\` escape inside them), and the byte [`Span`] of every word, so that an
//! error can point at the word it is about. [`Word`] writes a word back so that it lexes the same.

use std::fmt;

/// A byte range of a line: the word (or the part of a word) that something is about. An empty
/// span points between two characters, such as the end of the line where a word is missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// The first byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The bytes `start..end`.
    pub const fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// An empty span at `at`.
    pub const fn at(at: usize) -> Span {
        Span { start: at, end: at }
    }

    /// This span moved `by` bytes to the right (a span of a part of a longer text).
    pub const fn shift(self, by: usize) -> Span {
        Span {
            start: self.start + by,
            end: self.end + by,
        }
    }

    /// The column (from 0, in characters) where the span starts in `line`; past the end of the
    /// line, one column per byte beyond it (a missing word points just after the last one).
    pub fn column(self, line: &str) -> usize {
        prefix(line, self.start).chars().count() + self.start.saturating_sub(line.len())
    }

    /// The line to print under `line` to point at the span: spaces up to it, then a `^` under
    /// each of its characters (one for an empty span).
    pub fn carets(self, line: &str) -> String {
        let width = line
            .get(self.start.min(line.len())..self.end.min(line.len()))
            .map_or(0, |s| s.chars().count())
            .max(1);
        format!("{}{}", " ".repeat(self.column(line)), "^".repeat(width))
    }
}

/// The longest prefix of `line` that ends at or before byte `at` on a character boundary.
fn prefix(line: &str, at: usize) -> &str {
    let mut at = at.min(line.len());
    while !line.is_char_boundary(at) {
        at -= 1;
    }
    &line[..at]
}

/// A word of a command line, quotes removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    /// The word with quotes and escapes resolved.
    pub text: String,
    /// Whether any part of it was quoted.
    pub quoted: bool,
    /// Where the word is in the line, quotes included.
    pub span: Span,
}

impl Token {
    /// The span of the bytes `range` of the word's text: exact for an unquoted word, the whole
    /// word for a quoted one (whose text is not a slice of the line).
    pub fn part(&self, start: usize, end: usize) -> Span {
        if self.quoted {
            self.span
        } else {
            Span::new(start, end).shift(self.span.start)
        }
    }
}

/// A line split into words.
pub(crate) struct Scan {
    pub tokens: Vec<Token>,
    /// Where the quote the line ends inside opens, if it does.
    pub unterminated: Option<usize>,
    /// The line ends inside a word (no whitespace after the last one).
    pub ends_in_word: bool,
}

/// Splits `line` into words.
pub(crate) fn scan(line: &str) -> Scan {
    let mut tokens = Vec::new();
    let mut current: Option<Token> = None;
    let mut quote_at: Option<usize> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if quote_at.is_some() {
            let ch = match c {
                '"' => {
                    quote_at = None;
                    continue;
                }
                '\\' => match chars.peek() {
                    Some(&(_, next)) if next == '"' || next == '\\' => {
                        chars.next();
                        next
                    }
                    _ => '\\',
                },
                other => other,
            };
            if let Some(t) = current.as_mut() {
                t.text.push(ch);
            }
        } else if c.is_whitespace() {
            if let Some(mut t) = current.take() {
                t.span.end = i;
                tokens.push(t);
            }
        } else {
            let t = current.get_or_insert_with(|| Token {
                text: String::new(),
                quoted: false,
                span: Span::at(i),
            });
            if c == '"' {
                quote_at = Some(i);
                t.quoted = true;
            } else {
                t.text.push(c);
            }
        }
    }
    let ends_in_word = current.is_some();
    if let Some(mut t) = current {
        t.span.end = line.len();
        tokens.push(t);
    }
    Scan {
        tokens,
        unterminated: quote_at,
        ends_in_word,
    }
}

/// Writes a word so that [`scan`] reads it back unchanged, quoting when needed.
pub(crate) struct Word<'a>(pub &'a str);

impl fmt::Display for Word<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let plain = !s.is_empty()
            && s != "-"
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '\\');
        if plain {
            return f.write_str(s);
        }
        f.write_str("\"")?;
        for c in s.chars() {
            if c == '"' || c == '\\' {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(line: &str) -> Vec<(String, usize, usize)> {
        scan(line)
            .tokens
            .into_iter()
            .map(|t| (t.text, t.span.start, t.span.end))
            .collect()
    }

    #[test]
    fn words_know_where_they_are() {
        let s = |t: &str, a, b| (t.to_string(), a, b);
        assert_eq!(
            spans("partition 1,2 1,3"),
            [s("partition", 0, 9), s("1,2", 10, 13), s("1,3", 14, 17)]
        );
        assert_eq!(spans("  put\tx  "), [s("put", 2, 5), s("x", 6, 7)]);
        assert_eq!(
            spans("put k \"a b\"c"),
            [s("put", 0, 3), s("k", 4, 5), s("a bc", 6, 12)]
        );
        assert_eq!(spans("é x"), [s("é", 0, 2), s("x", 3, 4)]);
        assert_eq!(scan("put \"ab").unterminated, Some(4));
        assert_eq!(scan("put \"ab\"").unterminated, None);
    }

    #[test]
    fn carets_sit_under_the_span() {
        assert_eq!(
            Span::new(14, 15).carets("partition 1,2 1,3"),
            "              ^"
        );
        assert_eq!(Span::new(4, 7).carets("put abc"), "    ^^^");
        assert_eq!(Span::at(5).carets("kill "), "     ^");
        assert_eq!(
            Span::at(5).carets("kill"),
            "     ^",
            "past the end of the line"
        );
        assert_eq!(
            Span::new(3, 5).carets("é é x"),
            "  ^",
            "columns count characters"
        );
    }
}
