//! Sub-selects of chains and `_has`, written by their size where the database would not
//! choose well itself ([`crate::sql::Dialect::sizes_subqueries_first`]). Pure: the executor
//! runs the sub-selects the planner asks about (at most [`MAX_LISTED`] + 1 rows each) and plans
//! again with the answers.
//!
//! `ref IN (SELECT key FROM patients WHERE <criteria>)` is what the planner writes by default.
//! SQLite and MySQL/MariaDB read such a sub-select first and whole: cheap when it selects a
//! few patients, but when it selects half of them every page reads and sorts that half. Sized
//! first, a sub-select of up to [`MAX_LISTED`] keys becomes a list of bound keys (`ref IN (?,
//! ?, ...)`, which the reference's index serves), and a larger one a correlated
//! `EXISTS (SELECT 1 FROM patients WHERE key = ref AND <criteria>)`, tested row by row while
//! the outer rows are read in page order, so a page stops after about `_count` matches.

use std::cell::RefCell;
use std::collections::HashMap;

use super::PlanError;
use super::context::Context;
use crate::sql::{ColumnInfo, Row, SqlWriter, Statement, Value};

/// Most keys a sized sub-select is replaced with (the list is padded to a power of two, so
/// statements of a few shapes are prepared and reused).
pub const MAX_LISTED: usize = 512;

/// Most rounds of sizing a search takes (one per level of nested sub-selects: a chain's
/// hops, `_has` in `_has`, a lookup inside a `_has`); deeper ones stay sub-selects.
pub const SIZING_ROUNDS: usize = 3;

/// What a sub-select was found to hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Size {
    /// These keys (at most [`MAX_LISTED`]).
    Keys(Vec<Value>),
    /// More than [`MAX_LISTED`] keys.
    Many,
}

/// The sizes known of a search's sub-selects, and the sub-selects it asked about.
#[derive(Debug, Default)]
pub struct Subqueries {
    sizes: HashMap<String, Size>,
    asked: RefCell<Vec<Statement>>,
}

impl Subqueries {
    /// The sub-selects planned without a known size (each once), emptied.
    pub fn take_asked(&self) -> Vec<Statement> {
        std::mem::take(&mut *self.asked.borrow_mut())
    }

    /// The statement that sizes sub-select `s`: its first [`MAX_LISTED`] + 1 rows.
    pub fn probe(s: &Statement) -> Statement {
        Statement {
            sql: format!("{} LIMIT {}", s.sql, MAX_LISTED + 1),
            params: s.params.clone(),
        }
    }

    /// Whether `sql` is the statement that sizes a sub-select ([`Subqueries::probe`]).
    pub fn is_probe(sql: &str) -> bool {
        sql.ends_with(&format!(" LIMIT {}", MAX_LISTED + 1))
    }

    /// Records what the probe of sub-select `s` read.
    pub fn record(&mut self, s: &Statement, rows: &[Row]) {
        let size = if rows.len() > MAX_LISTED {
            Size::Many
        } else {
            Size::Keys(rows.iter().filter_map(|r| r.first().cloned()).collect())
        };
        self.sizes.insert(key(s), size);
    }

    /// Records sub-select `s` as large (start-up probes prepare the correlated form).
    pub fn assume_many(&mut self, s: &Statement) {
        self.sizes.insert(key(s), Size::Many);
    }

    fn size(&self, s: &Statement) -> Option<&Size> {
        self.sizes.get(&key(s))
    }

    fn ask(&self, s: Statement) {
        let mut asked = self.asked.borrow_mut();
        if !asked.contains(&s) {
            asked.push(s);
        }
    }
}

fn key(s: &Statement) -> String {
    format!("{}\u{0}{:?}", s.sql, s.params)
}

/// How a sub-select is written.
#[derive(Debug, Clone, Copy)]
pub enum Form<'s> {
    /// `SELECT <key> FROM ... WHERE <key> IS NOT NULL AND <criteria>`.
    Keys,
    /// `SELECT 1 FROM ... WHERE <key> = <outer> AND <criteria>`, for `EXISTS`.
    Correlated(&'s str),
}

/// `<outer> IN (<sub-select>)`, or, where the database sizes sub-selects first and this one's
/// size is known, `<outer> IN (<its keys>)` or `EXISTS (<it, correlated>)`. `sub` writes the
/// sub-select in a form; `correlated`: whether it may be correlated (its aliases cannot
/// capture `outer`'s).
pub fn write_membership(
    w: &mut SqlWriter,
    cx: &Context,
    outer: &str,
    correlated: bool,
    sub: impl Fn(&mut SqlWriter, Form) -> Result<(), PlanError>,
) -> Result<(), PlanError> {
    match cx.dialect().sizes_subqueries_first() {
        true => write_sized_membership(w, cx, outer, None, correlated, sub),
        false => write_in(w, outer, &sub),
    }
}

/// [`write_membership`] sized on every database: for a lookup table's few rows
/// ([`super::lookup`]), whose size no planner estimates well from statistics (a code no row
/// maps to is estimated as a typical one, and PostgreSQL then reads the whole main table in
/// key order looking for the first match). `outer_info`: the type of `outer`, as listed keys
/// are bound ([`SqlWriter::param_for`]: a `CHAR(n)` column compares them as `CHAR` on
/// PostgreSQL, where text would not match its padded values).
pub fn write_sized_membership(
    w: &mut SqlWriter,
    cx: &Context,
    outer: &str,
    outer_info: Option<&ColumnInfo>,
    correlated: bool,
    sub: impl Fn(&mut SqlWriter, Form) -> Result<(), PlanError>,
) -> Result<(), PlanError> {
    let Some(subqueries) = cx.subqueries else {
        return write_in(w, outer, &sub);
    };
    let asked_before = subqueries.asked.borrow().len();
    let mut alone = SqlWriter::new(cx.dialect());
    sub(&mut alone, Form::Keys)?;
    let alone = alone.finish();
    // Innermost first: a sub-select holding one not sized yet is asked about in the next
    // round, once that one is written from its size.
    let nested_unsized = subqueries.asked.borrow().len() > asked_before;
    match subqueries.size(&alone) {
        Some(Size::Keys(keys)) if keys.is_empty() => {
            w.push("1=0");
            Ok(())
        }
        Some(Size::Keys(keys)) => {
            w.push(outer).push(" IN (");
            let dialect = cx.dialect();
            let padded = keys.len().next_power_of_two();
            for i in 0..padded {
                if i > 0 {
                    w.push(", ");
                }
                w.param_for(outer_info, keys[i.min(keys.len() - 1)].to_param(dialect));
            }
            w.push(")");
            Ok(())
        }
        Some(Size::Many) if correlated => {
            w.push("EXISTS (");
            sub(w, Form::Correlated(outer))?;
            // Kept a subquery tested per row: SQLite would otherwise join it and build a
            // Bloom filter of every inner match on each page.
            w.push(" LIMIT 1)");
            Ok(())
        }
        Some(Size::Many) => write_in(w, outer, &sub),
        None => {
            if !nested_unsized {
                subqueries.ask(alone);
            }
            write_in(w, outer, &sub)
        }
    }
}

fn write_in(
    w: &mut SqlWriter,
    outer: &str,
    sub: &impl Fn(&mut SqlWriter, Form) -> Result<(), PlanError>,
) -> Result<(), PlanError> {
    w.push(outer).push(" IN (");
    sub(w, Form::Keys)?;
    w.push(")");
    Ok(())
}

/// Whether a sub-select over `inner` may refer to a value of `outer`'s row: none of the
/// aliases it reads (the source's and its joins') is one of `outer`'s.
pub fn can_correlate(outer: &crate::mapping::Source, inner: &crate::mapping::Source) -> bool {
    let aliases = |s: &crate::mapping::Source| {
        std::iter::once(s.alias.to_lowercase())
            .chain(s.joins.iter().map(|j| j.alias.to_lowercase()))
            .collect::<Vec<_>>()
    };
    let theirs = aliases(inner);
    !aliases(outer).iter().any(|a| theirs.contains(a))
}
