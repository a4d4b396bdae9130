//! `check`: every problem of a mapping against FHIR and a live database in one run (the
//! checks `serve` runs at start-up, [`crate::check::check_all`]), then index advice for every
//! declared search parameter and sort ([`super::indexes`]).

use std::fmt::Write as _;

use serde::Serialize;

use super::ToolError;
use super::indexes::{IndexAdvice, Usage, Verdict, advise};
use crate::db::Database;
use crate::db::introspect::read_schema;
use crate::sql::Caps;

/// One problem of the mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1-based line in the mapping file (0: unknown).
    pub line: usize,
    /// The entry concerned (`resource "patient" (Patient), element "gender"`).
    pub entry: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// What `check` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The mapping file checked.
    pub mapping: String,
    /// The database kind (`SQLite`, `PostgreSQL`, `MySQL/MariaDB`).
    pub database: String,
    /// Whether the mapping can be served (no problems).
    pub ok: bool,
    /// Every problem, by line.
    pub problems: Vec<Problem>,
    /// Per declared search parameter and sort: whether an index serves it.
    pub indexes: Vec<IndexAdvice>,
}

/// Checks the mapping at `path` against `db`. Index advice covers what compiled, so it is
/// given even when there are problems.
pub async fn check(path: &str, db: &Database, caps: &Caps) -> Result<CheckReport, ToolError> {
    let (mapping, errors) = crate::check::check_all(path, db, caps).await?;
    let schema = read_schema(db).await?;
    let indexes = advise(&mapping, &schema, db.dialect());
    let problems: Vec<Problem> = errors
        .into_iter()
        .map(|e| Problem {
            line: e.line,
            entry: e.entry,
            message: e.message,
            fix: e.hint,
        })
        .collect();
    Ok(CheckReport {
        mapping: path.to_string(),
        database: db.dialect().to_string(),
        ok: problems.is_empty(),
        problems,
        indexes,
    })
}

impl CheckReport {
    /// The report as JSON (for CI).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// The report for people: problems with their line and fix, then the index advice
    /// (served ones in one line each, the statements to run for the others).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.problems.is_empty() {
            let _ = writeln!(
                out,
                "{}: no problems against this {} database.",
                self.mapping, self.database
            );
        } else {
            let n = self.problems.len();
            let _ = writeln!(
                out,
                "{}: {n} problem{} against this {} database:",
                self.mapping,
                if n == 1 { "" } else { "s" },
                self.database
            );
            for p in &self.problems {
                let _ = write!(out, "\n{}:{}: ", self.mapping, p.line);
                if !p.entry.is_empty() {
                    let _ = write!(out, "{}: ", p.entry);
                }
                let _ = writeln!(out, "{}", p.message);
                if let Some(fix) = &p.fix {
                    let _ = writeln!(out, "    fix: {fix}");
                }
            }
        }
        let missing = self
            .indexes
            .iter()
            .filter(|a| a.verdict == Verdict::Missing)
            .count();
        let _ = writeln!(
            out,
            "\nIndexes ({} served, {missing} missing, {} not servable by an ordinary index):",
            self.indexes
                .iter()
                .filter(|a| a.verdict == Verdict::Served)
                .count(),
            self.indexes
                .iter()
                .filter(|a| a.verdict == Verdict::Unindexable)
                .count(),
        );
        for a in &self.indexes {
            let what = match a.usage {
                Usage::Search => format!("{}?{}=", a.resource_type, a.parameter),
                Usage::Sort => format!("{}?_sort={}", a.resource_type, a.parameter),
            };
            let on = match (&a.table, &a.key) {
                (Some(t), Some(k)) => format!(" {t}({k})"),
                _ => String::new(),
            };
            let _ = match a.verdict {
                Verdict::Served => writeln!(
                    out,
                    "  ok       line {:>4}  {what}{on}: index {}",
                    a.line,
                    a.index.as_deref().unwrap_or("?")
                ),
                Verdict::Missing => writeln!(
                    out,
                    "  MISSING  line {:>4}  {what}{on}: {}",
                    a.line,
                    a.create.as_deref().unwrap_or("")
                ),
                Verdict::Unindexable => writeln!(
                    out,
                    "  note     line {:>4}  {what}{on}: {}",
                    a.line,
                    a.note.as_deref().unwrap_or("")
                ),
            };
            if a.verdict == Verdict::Missing
                && let Some(note) = &a.note
            {
                let _ = writeln!(out, "                       ({note})");
            }
        }
        out
    }
}
