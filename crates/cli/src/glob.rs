//! `--include` / `--exclude` patterns: `*` (any run of characters but `/`), `?` (one character but
//! `/`) and `**` (anything, `/` included; `**/` also matches no directory at all). As in
//! `.gitignore`, a pattern without `/` is matched against the file name in every directory
//! (`*.txt`, `*`), one with `/` against the whole path relative to the source (`logs/**/*.gz`;
//! a leading `/` only anchors: `/*.txt`).

/// One compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Glob {
    pattern: Vec<char>,
    /// The pattern has no `/`: it is matched against the last segment.
    name_only: bool,
}

impl Glob {
    /// A pattern as given on the command line.
    pub(crate) fn new(pattern: &str) -> Self {
        // A leading `/` anchors the pattern at the source (`/*.txt`: top-level files only).
        match pattern.strip_prefix('/') {
            Some(anchored) => Self { pattern: anchored.chars().collect(), name_only: false },
            None => Self { pattern: pattern.chars().collect(), name_only: !pattern.contains('/') },
        }
    }

    /// Whether `path` (a key relative to the source prefix) matches the whole pattern.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let path = if self.name_only { path.rsplit('/').next().unwrap_or(path) } else { path };
        let text: Vec<char> = path.chars().collect();
        matches_at(&self.pattern, &text)
    }
}

fn matches_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => {
            let mut rest = &p[2..];
            // `**/` may also match nothing at all (`a/**/b` matches `a/b`).
            if rest.first() == Some(&'/') && matches_at(&rest[1..], t) {
                return true;
            }
            while rest.first() == Some(&'*') {
                rest = &rest[1..];
            }
            (0..=t.len()).any(|i| matches_at(rest, &t[i..]))
        }
        Some('*') => {
            let rest = &p[1..];
            for i in 0..=t.len() {
                if matches_at(rest, &t[i..]) {
                    return true;
                }
                if t.get(i) == Some(&'/') {
                    break;
                }
            }
            false
        }
        Some('?') => t.first().is_some_and(|c| *c != '/') && matches_at(&p[1..], &t[1..]),
        Some(c) => t.first() == Some(c) && matches_at(&p[1..], &t[1..]),
    }
}

/// Ordered `--include` / `--exclude` filters with the aws CLI's rule: everything is included,
/// then each filter in command-line order that matches decides, the last one winning.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filters {
    rules: Vec<(bool, Glob)>,
}

impl Filters {
    /// Filters from `(position on the command line, include?, pattern)` triples.
    pub(crate) fn new(mut rules: Vec<(usize, bool, String)>) -> Self {
        rules.sort_by_key(|(index, _, _)| *index);
        Self { rules: rules.into_iter().map(|(_, include, p)| (include, Glob::new(&p))).collect() }
    }

    /// Whether the relative path `path` is selected.
    pub(crate) fn selects(&self, path: &str) -> bool {
        let mut selected = true;
        for (include, glob) in &self.rules {
            if glob.matches(path) {
                selected = *include;
            }
        }
        selected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        assert!(Glob::new("*.txt").matches("a.txt"));
        assert!(Glob::new("*.txt").matches("d/a.txt"));
        assert!(!Glob::new("/*.txt").matches("d/a.txt"));
        assert!(Glob::new("/*.txt").matches("a.txt"));
        assert!(!Glob::new("d/*.txt").matches("d/e/a.txt"));
        assert!(Glob::new("d/*.txt").matches("d/a.txt"));
        assert!(Glob::new("*").matches("d/e/a.txt"));
        assert!(Glob::new("**.txt").matches("d/e/a.txt"));
        assert!(Glob::new("**/*.txt").matches("a.txt"));
        assert!(Glob::new("**/*.txt").matches("d/e/a.txt"));
        assert!(Glob::new("d/**").matches("d/e/f"));
        assert!(!Glob::new("d/**").matches("e/f"));
        assert!(Glob::new("a/**/b").matches("a/b"));
        assert!(Glob::new("a?c").matches("abc"));
        assert!(!Glob::new("a?c").matches("a/c"));
        assert!(Glob::new("*").matches(""));
        assert!(!Glob::new("x").matches("xy"));
        assert!(Glob::new("caf\u{e9} *").matches("caf\u{e9} au lait"));
    }

    #[test]
    fn last_matching_filter_wins() {
        let f = Filters::new(vec![(3, true, "*.txt".into()), (1, false, "*".into())]);
        assert!(f.selects("a.txt"));
        assert!(!f.selects("a.bin"));
        assert!(Filters::default().selects("anything"));
        let f = Filters::new(vec![(1, false, "tmp/**".into())]);
        assert!(!f.selects("tmp/x/y"));
        assert!(f.selects("keep/x"));
    }
}
