//! Sub-selects of chains and `_has`, written by their size: no database chooses well itself.
//! Pure: the executor runs the sub-selects the planner asks about (at most [`MAX_LISTED`] + 1
//! rows each) and plans again with the answers.
//!
//! `ref IN (SELECT key FROM patients WHERE <criteria>)` is what the planner writes by default.
//! SQLite and MySQL/MariaDB read such a sub-select first and whole: cheap when it selects a
//! few patients, but when it selects half of them every page reads and sorts that half.
//! PostgreSQL chooses by its estimate of the sub-select, which for a name prefix can be a
//! hundredth of the truth (`Condition?patient.family=all` at a million patients: 94 estimated,
//! 9,402 read, each patient's conditions fetched and all of them sorted, 129–750 ms a page).
//! Sized first, a sub-select of up to [`MAX_LISTED`] keys becomes a list of bound keys (`ref
//! IN (?, ?, ...)`, which the reference's index serves), and a larger one a correlated
//! `EXISTS (SELECT 1 FROM patients WHERE key = ref AND <criteria> LIMIT 1 OFFSET 0)`, tested
//! row by row while the outer rows are read in page order, so a page stops after about
//! `_count` matches. The `LIMIT`/`OFFSET` keep it a sub-select tested per row: SQLite would
//! otherwise join it (building a Bloom filter of every inner match on each page), and
//! PostgreSQL pull it up into a join chosen by the same estimate (an `EXISTS` with an
//! `OFFSET` is never pulled up).
//!
//! Where the database plans by its estimate (PostgreSQL), a large sub-select whose estimate is
//! large too is left as `IN (<sub-select>)`: the planner has it right, and its semi-join costs
//! a page about half the correlated `EXISTS`. Only a large sub-select it estimates as small
//! (the case above) becomes the `EXISTS`. Keys are listed only where they can be bound as the
//! outer value compares them ([`binds_keys`]); elsewhere the sub-select stays as written.

use std::cell::RefCell;
use std::collections::HashMap;

use super::PlanError;
use super::context::Context;
use crate::sql::{ColumnInfo, Dialect, Row, SqlType, SqlWriter, Statement, Value};

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
    /// More than [`MAX_LISTED`] keys, and the planner of a database that chooses by its
    /// estimate ([`Dialect::plans_subselects_by_estimate`]) estimates more than that too: its
    /// own plan of `IN (<sub-select>)` is then left to it (a correlated `EXISTS` tests the
    /// outer rows one by one, about twice the work of PostgreSQL's semi-join for a sub-select
    /// of 1 % of a table).
    ManyAsEstimated,
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
            parts: None,
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

    /// The statement that has the planner estimate the rows of sub-select `s`, once its probe
    /// found it large, where the database plans sub-selects by their estimate.
    pub fn estimate(&self, s: &Statement, dialect: Dialect) -> Option<Statement> {
        let prefix = dialect.explain_prefix()?;
        (dialect.plans_subselects_by_estimate() && self.size(s) == Some(&Size::Many)).then(|| {
            Statement {
                sql: format!("{prefix}{}", s.sql),
                params: s.params.clone(),
                parts: None,
            }
        })
    }

    /// Records the planner's estimate of the rows of large sub-select `s`.
    pub fn record_estimate(&mut self, s: &Statement, estimated: u64) {
        if estimated > MAX_LISTED as u64 && self.size(s) == Some(&Size::Many) {
            self.sizes.insert(key(s), Size::ManyAsEstimated);
        }
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
    /// [`Form::Keys`] to be sized: its first [`MAX_LISTED`] + 1 rows are read, so it may be
    /// read in the order of an index that serves its criteria (`ORDER BY LOWER(name)` for a
    /// name prefix), which stops after those rows where a scan of the table would read until
    /// it has found them (PostgreSQL chooses the scan when many rows match).
    Probe,
    /// `SELECT 1 FROM ... WHERE <key> = <outer> AND <criteria>`, for `EXISTS`.
    Correlated(&'s str),
}

/// Whether keys read from a sub-select can be bound where `outer_info` describes the value
/// they are compared with: anywhere on databases that convert; on PostgreSQL
/// ([`Dialect::strict_param_types`]) where it is known as an integer or a character column (a
/// `CHAR(n)` one with its keys cast: [`SqlWriter::param_for`]; text would not match its
/// padded values), not, e.g., a `uuid` or `numeric` one.
pub fn binds_keys(dialect: Dialect, outer_info: Option<&ColumnInfo>) -> bool {
    if !dialect.strict_param_types() {
        return true;
    }
    outer_info.is_some_and(|c| {
        c.integer()
            || ["TEXT", "VARCHAR", "BPCHAR", "CHAR"]
                .iter()
                .any(|t| c.compared_type().eq_ignore_ascii_case(t))
    })
}

/// The type of an expression cast to text, for [`binds_keys`].
pub fn text_info() -> ColumnInfo {
    ColumnInfo {
        type_name: "TEXT".into(),
        ..ColumnInfo::of(SqlType::Text)
    }
}

/// `<outer> IN (<sub-select>)`, or, once its size is known, `<outer> IN (<its keys>)` or
/// `EXISTS (<it, correlated>)`. `outer_info`: the type of `outer`, as listed keys are bound
/// (see [`binds_keys`]: where they cannot be, the sub-select stays). `sub` writes the
/// sub-select in a form; `correlated`: whether it may be correlated (its aliases cannot
/// capture `outer`'s).
pub fn write_membership(
    w: &mut SqlWriter,
    cx: &Context,
    outer: &str,
    outer_info: Option<&ColumnInfo>,
    correlated: bool,
    sub: impl Fn(&mut SqlWriter, Form) -> Result<(), PlanError>,
) -> Result<(), PlanError> {
    match binds_keys(cx.dialect(), outer_info) {
        true => write_sized_membership(w, cx, outer, outer_info, correlated, sub),
        false => write_in(w, outer, &sub),
    }
}

/// [`write_membership`] where the keys are known to bind (a lookup table's few rows:
/// [`super::lookup`], whose size no planner estimates well from statistics: a code no row
/// maps to is estimated as a typical one, and PostgreSQL then reads the whole main table in
/// key order looking for the first match).
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
    sub(&mut alone, Form::Probe)?;
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
            let dialect = cx.dialect();
            let padded = keys.len().next_power_of_two();
            let list = |w: &mut SqlWriter, sql: &str| {
                w.push(sql).push(" IN (");
                for i in 0..padded {
                    if i > 0 {
                        w.push(", ");
                    }
                    w.param_for(outer_info, keys[i.min(keys.len() - 1)].to_param(dialect));
                }
                w.push(")");
            };
            if !dialect.rechecks_case(outer_info) {
                list(w, outer);
                return Ok(());
            }
            // As `write_equals_exact`: the index finds the rows, the binary recheck drops
            // the keys that differ only in case. (Not in the correlated EXISTS: MariaDB's
            // subquery cache keys it by the outer value in its collation, so a case variant
            // seen first would answer for the other.)
            w.push("(");
            list(w, outer);
            w.push(" AND BINARY ");
            list(w, &format!("RTRIM({outer})"));
            w.push(")");
            Ok(())
        }
        Some(Size::Many) if correlated => {
            w.push("EXISTS (");
            sub(w, Form::Correlated(outer))?;
            // Kept a sub-select tested per row (see the module's documentation).
            w.push(" LIMIT 1 OFFSET 0)");
            Ok(())
        }
        Some(Size::Many | Size::ManyAsEstimated) => write_in(w, outer, &sub),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn info(type_name: &str, sql_type: SqlType) -> ColumnInfo {
        ColumnInfo {
            type_name: type_name.into(),
            ..ColumnInfo::of(sql_type)
        }
    }

    #[test]
    fn keys_are_listed_on_postgresql_only_against_integer_and_character_columns() {
        let pg = Dialect::Postgres;
        for (t, ty) in [
            ("INT4", SqlType::Integer),
            ("INT8", SqlType::Integer),
            ("VARCHAR", SqlType::Text),
            ("BPCHAR", SqlType::Text),
            ("TEXT", SqlType::Text),
        ] {
            assert!(binds_keys(pg, Some(&info(t, ty))), "{t}");
        }
        assert!(binds_keys(pg, Some(&text_info())));
        for (t, ty) in [
            ("UUID", SqlType::Text),
            ("NUMERIC", SqlType::Decimal),
            ("", SqlType::Unknown),
            ("", SqlType::Text),
        ] {
            assert!(!binds_keys(pg, Some(&info(t, ty))), "{t}");
        }
        assert!(!binds_keys(pg, None));
        // SQLite and MySQL/MariaDB convert: any column, known or not.
        for d in [Dialect::Sqlite, Dialect::Mysql] {
            assert!(binds_keys(d, None));
            assert!(binds_keys(d, Some(&info("UUID", SqlType::Text))));
        }
    }
}
