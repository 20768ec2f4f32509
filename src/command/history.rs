//! The prompt's input history: the lines submitted, recalled with Up and Down like a shell's.
//! (Not to be confused with [`crate::check::History`], the client operations of a run.)

use std::collections::VecDeque;

/// The prompt's history, navigated with Up and Down like a shell's.
#[derive(Clone, Debug)]
pub struct InputHistory {
    entries: VecDeque<String>,
    capacity: usize,
    /// The entry shown, `None` while editing the line being typed.
    cursor: Option<usize>,
    /// The line being typed when navigation started.
    draft: String,
}

impl InputHistory {
    /// An empty history keeping at most `capacity` lines (the oldest go first).
    pub fn new(capacity: usize) -> Self {
        InputHistory {
            entries: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            cursor: None,
            draft: String::new(),
        }
    }

    /// Records a submitted line, ignoring blank lines and a repeat of the newest entry, and
    /// returns navigation to the line being typed.
    pub fn push(&mut self, line: &str) {
        self.reset_cursor();
        if line.trim().is_empty() || self.capacity == 0 {
            return;
        }
        if self.entries.back().map(String::as_str) == Some(line) {
            return;
        }
        while self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(line.to_string());
    }

    /// Up: the next older entry, remembering `current` (the line being typed) when leaving it.
    /// `None` when there is nothing older (the caller keeps the line as it is).
    pub fn prev(&mut self, current: &str) -> Option<&str> {
        let index = match self.cursor {
            None => {
                let newest = self.entries.len().checked_sub(1)?;
                self.draft = current.to_string();
                newest
            }
            Some(i) => i.checked_sub(1)?,
        };
        self.cursor = Some(index);
        self.entries.get(index).map(String::as_str)
    }

    /// Down: the next newer entry; past the newest, the line that was being typed. `None` when
    /// not navigating (the caller keeps the line as it is).
    // Named after the Down key's role, paired with `prev`; an InputHistory is not an iterator.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<&str> {
        let i = self.cursor?;
        if i + 1 < self.entries.len() {
            self.cursor = Some(i + 1);
            self.entries.get(i + 1).map(String::as_str)
        } else {
            self.cursor = None;
            Some(self.draft.as_str())
        }
    }

    /// Stops navigating: the next [`InputHistory::prev`] starts from the newest entry again.
    pub fn reset_cursor(&mut self) {
        self.cursor = None;
        self.draft.clear();
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_navigates_like_a_shell() {
        let mut h = InputHistory::new(10);
        assert_eq!(h.prev("typing"), None);
        assert_eq!(h.next(), None);
        h.push("kill 1");
        h.push("restart 1");
        h.push("heal");
        assert_eq!(h.prev("draft"), Some("heal"));
        assert_eq!(h.prev("heal"), Some("restart 1"));
        assert_eq!(h.prev("restart 1"), Some("kill 1"));
        assert_eq!(h.prev("kill 1"), None, "nothing older");
        assert_eq!(h.next(), Some("restart 1"));
        assert_eq!(h.next(), Some("heal"));
        assert_eq!(h.next(), Some("draft"), "back to the line being typed");
        assert_eq!(h.next(), None);
        assert_eq!(h.prev("draft 2"), Some("heal"));
        h.reset_cursor();
        assert_eq!(h.next(), None);
        assert_eq!(h.prev(""), Some("heal"));
        assert_eq!(h.next(), Some(""));
    }

    #[test]
    fn history_ignores_blanks_and_repeats_and_is_bounded() {
        let mut h = InputHistory::new(3);
        h.push("");
        h.push("   ");
        assert!(h.is_empty());
        h.push("a");
        h.push("a");
        assert_eq!(h.len(), 1);
        h.push("b");
        h.push("a");
        assert_eq!(h.iter().collect::<Vec<_>>(), ["a", "b", "a"]);
        h.push("c");
        assert_eq!(h.iter().collect::<Vec<_>>(), ["b", "a", "c"]);
        assert_eq!(h.len(), 3);

        let mut none = InputHistory::new(0);
        none.push("a");
        assert!(none.is_empty());
        assert_eq!(none.prev("x"), None);
    }

    #[test]
    fn push_resets_navigation() {
        let mut h = InputHistory::new(10);
        h.push("a");
        h.push("b");
        assert_eq!(h.prev(""), Some("b"));
        assert_eq!(h.prev("b"), Some("a"));
        h.push("c");
        assert_eq!(h.prev(""), Some("c"));
    }
}
