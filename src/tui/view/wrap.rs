//! Text that fits its panel: word wrapping (never a cut mid-word) and hanging indents. Every
//! panel that wraps prose uses these, so a long line breaks the same way everywhere.

use ratatui::text::Line;

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
}
