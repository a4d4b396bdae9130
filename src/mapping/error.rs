//! Errors of loading and checking a mapping file. Each names the line, the entry and the fix.

use std::fmt;

/// One problem in the mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    /// 1-based line in the mapping file (0 when unknown).
    pub line: usize,
    /// The entry concerned, e.g. `resource "patient" (Patient), element "birthdate"`.
    pub entry: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
}

impl MappingError {
    /// A new error without a hint.
    pub fn new(line: usize, entry: impl Into<String>, message: impl Into<String>) -> Self {
        MappingError {
            line,
            entry: entry.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint saying how to fix the problem.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        if !self.entry.is_empty() {
            write!(f, "{}: ", self.entry)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n    fix: {hint}")?;
        }
        Ok(())
    }
}

/// Why a mapping could not be loaded. Lists every problem found, not just the first.
#[derive(Debug, thiserror::Error)]
pub enum MappingLoadError {
    /// The file could not be read.
    #[error("cannot read mapping file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file has problems.
    #[error("{}", render(.path, .errors))]
    Invalid {
        /// The path (for messages).
        path: String,
        /// Every problem found.
        errors: Vec<MappingError>,
    },
}

impl MappingLoadError {
    /// The individual problems (empty for I/O errors).
    pub fn errors(&self) -> &[MappingError] {
        match self {
            MappingLoadError::Io { .. } => &[],
            MappingLoadError::Invalid { errors, .. } => errors,
        }
    }
}

fn render(path: &str, errors: &[MappingError]) -> String {
    let mut out = format!(
        "mapping file {path} has {} problem{}:",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for e in errors {
        out.push_str(&format!("\n  {path}:{e}"));
    }
    out
}

/// Converts a byte offset in `source` to a 1-based line number.
pub fn line_of(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Up to three candidates close to `wanted` (case-insensitive equality or small edit distance).
pub fn suggestions<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let lower = wanted.to_ascii_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let cl = c.to_ascii_lowercase();
            let d = if cl == lower {
                0
            } else if cl.starts_with(&lower) || lower.starts_with(&cl) {
                // PHONE → PHONE_NO, LAST_NAME_TX → LAST_NAME
                1
            } else {
                edit_distance(&lower, &cl)
            };
            (d <= (wanted.len() / 3).max(2)).then_some((d, c))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_string())
        .collect()
}

/// " Did you mean 'x' or 'y'?" or an empty string.
pub fn did_you_mean(suggested: &[String]) -> String {
    match suggested {
        [] => String::new(),
        [one] => format!(" Did you mean '{one}'?"),
        many => format!(
            " Did you mean {}?",
            many.iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_are_one_based() {
        let src = "a\nb\nc";
        assert_eq!(line_of(src, 0), 1);
        assert_eq!(line_of(src, 2), 2);
        assert_eq!(line_of(src, 4), 3);
        assert_eq!(line_of(src, 999), 3);
    }

    #[test]
    fn suggestions_prefer_case_insensitive_matches() {
        let s = suggestions("LAST_NAME", ["LAST_NM", "FIRST_NM", "last_name"]);
        assert_eq!(s[0], "last_name");
        assert!(s.contains(&"LAST_NM".to_string()));
        assert!(!s.contains(&"FIRST_NM".to_string()));
        assert_eq!(did_you_mean(&[]), "");
        assert_eq!(did_you_mean(&["a".into()]), " Did you mean 'a'?");
    }

    #[test]
    fn display_names_line_entry_and_fix() {
        let e = MappingError::new(7, "resource \"p\" (Patient)", "bad").hint("do this");
        assert_eq!(
            e.to_string(),
            "line 7: resource \"p\" (Patient): bad\n    fix: do this"
        );
    }
}
