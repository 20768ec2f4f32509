//! Text that fits its panel: word wrapping (never a cut mid-word), hanging indents, and titles
//! that shorten with meaning ([`fit`]: the longest of several wordings that fits, else whole
//! words dropped from the end). Every panel that wraps prose or has a long title uses these, so a
//! long line breaks the same way everywhere.

use ratatui::text::{Line, Span};

/// `text` word-wrapped to `width` columns (a word longer than that gets a line of its own).
pub fn word_wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(current);
    lines
}

/// `label` padded to `indent` columns, then `text` word-wrapped to `width` with every
/// continuation line indented the same (a hanging indent).
pub fn hang(indent: usize, label: &str, text: &str, width: usize) -> Vec<Line<'static>> {
    let room = width.saturating_sub(indent).max(10);
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > room {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(current);
    let label_w = label.chars().count();
    let mut out = Vec::new();
    if label_w >= indent {
        // A label too long for its column goes on a line of its own.
        out.push(Line::from(label.to_string()));
    }
    for (i, l) in lines.into_iter().enumerate() {
        if l.is_empty() && label_w >= indent {
            continue;
        }
        let lead = if i == 0 && label_w < indent {
            format!("{label}{}", " ".repeat(indent - label_w))
        } else {
            " ".repeat(indent)
        };
        out.push(Line::from(format!("{lead}{l}").trim_end().to_string()));
    }
    out
}

/// Display width of `text` in terminal columns.
pub fn width(text: &str) -> usize {
    Span::raw(text).width()
}

/// The first of `options` (most helpful first, shorter after) that fits in `room` columns; when
/// none does, the last one with whole words dropped from its end until it does ([`clip_words`]).
/// A block's title has `area.width - 2` columns between its corners.
pub fn fit(options: &[String], room: usize) -> String {
    options
        .iter()
        .find(|o| width(o) <= room)
        .cloned()
        .unwrap_or_else(|| clip_words(options.last().map_or("", String::as_str), room))
}

/// `text` with whole words dropped from its end until it fits in `room` columns; its leading
/// and trailing space (a title's padding) are kept when they fit. Never a part of a word: when
/// not even the first word fits, nothing but the padding.
pub fn clip_words(text: &str, room: usize) -> String {
    if width(text) <= room {
        return text.to_string();
    }
    let lead = if text.starts_with(' ') { " " } else { "" };
    let trail = if text.ends_with(' ') { " " } else { "" };
    let mut out = lead.to_string();
    for word in text.split_whitespace() {
        let sep = if out.trim().is_empty() { "" } else { " " };
        if width(&out) + width(sep) + width(word) + width(trail) > room {
            break;
        }
        out.push_str(sep);
        out.push_str(word);
    }
    if out.trim().is_empty() {
        return String::new();
    }
    out.push_str(trail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_never_cut() {
        assert_eq!(
            word_wrap("the leader appends its entries", 12),
            vec!["the leader", "appends its", "entries"]
        );
        assert_eq!(word_wrap("", 5), vec![""]);
        let lines = hang(4, "k", "one two three", 10);
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, vec!["k   one two", "    three"]);
    }

    #[test]
    fn titles_shorten_by_whole_words() {
        let options = [
            " 4 in flight (n/N select · x drop) ".to_string(),
            " 4 in flight ".to_string(),
        ];
        assert_eq!(fit(&options, 40), options[0]);
        assert_eq!(fit(&options, 20), " 4 in flight ");
        // None fits: words go from the end, the padding stays.
        assert_eq!(fit(&options, 10), " 4 in ");
        assert_eq!(clip_words(" state machine ", 3), "");
        assert_eq!(clip_words("a bc", 3), "a");
    }
}
