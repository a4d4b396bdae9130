//! `_total=estimate`: the query planner's row estimate for a search, where the database has
//! one, instead of counting.
//!
//! - PostgreSQL: `EXPLAIN (FORMAT JSON)` of the search's FROM/WHERE; the top plan node's
//!   `Plan Rows`.
//! - MySQL/MariaDB: `EXPLAIN` of the same; the `rows` (times `filtered`, on MySQL) of the
//!   tables of the top-level SELECT, multiplied along the join.
//! - SQLite has no row estimate: [`estimate_statement`] answers `None` and the caller counts.
//!
//! Neither runs the query: the answer costs one planning of it.

use super::read::write_source_select_list;
use super::search::{Context, PlanError, write_filters};
use crate::request::search::Filter;
use crate::sql::{SqlWriter, Statement};

/// The statement that asks the planner how many rows of `cx.source` match every filter;
/// `None` when the database cannot estimate (SQLite).
pub fn estimate_statement(
    cx: &Context,
    filters: &[Filter],
) -> Result<Option<Statement>, PlanError> {
    let Some(explain) = cx.dialect.explain_prefix() else {
        return Ok(None);
    };
    let mut w = SqlWriter::new(cx.dialect);
    w.push(explain).push("SELECT 1");
    write_source_select_list(&mut w, cx.source);
    write_filters(&mut w, cx, filters)?;
    Ok(Some(w.finish()))
}
