//! The page query: ONE statement that returns a page of matches over every source of a type,
//! in `_sort` order with the source and the id key as stable tie-breakers, resumed after a
//! keyset (never OFFSET, so page 1000 costs what page 1 costs).
//!
//! With several sources the statement is a `UNION ALL` of one branch per source. Every branch
//! returns the same columns: `s` (the source's index), one key slot per source (`k<i>`, set
//! only by source `i`, so keys of different types never share a column), the sort values
//! (`o<j>`), and one block of column slots per source (NULL in the other branches). Each branch
//! is ordered and limited on its own, so each can be served by an index.

use sea_query::Value;

use super::layout::SourceLayout;
use super::read::{KeyValue, write_source_select_list, write_value};
use super::search::{Context, PlanError, SortSpec, write_filters};
use super::sql::{SqlWriter, Statement};
use crate::db::{Row, Value as DbValue};
use crate::dialect::Dialect;
use crate::mapping::SqlValue;
use crate::request::search::Filter;

/// One source's part of the page.
pub struct Branch<'a> {
    /// The source and what planning needs.
    pub cx: Context<'a>,
    /// Its sort values, parallel to the request's `_sort` keys (`None`: the source has no
    /// such value; it sorts last).
    pub sort: Vec<Option<SqlValue>>,
}

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    /// Index of the source of the last row served.
    pub source: usize,
    /// Its sort values.
    pub sort: Vec<DbValue>,
    /// Its key.
    pub key: KeyValue,
}

/// The planned page statement and how to read its rows.
pub struct PageQuery {
    /// The statement.
    pub statement: Statement,
    /// The select layout of each source.
    pub layouts: Vec<SourceLayout>,
    sources: usize,
    sort_len: usize,
}

/// One row of a page, split into its parts.
pub struct PageRow<'r> {
    /// Index of its source.
    pub source: usize,
    /// Its id key.
    pub key: &'r DbValue,
    /// Its sort values.
    pub sort: &'r [DbValue],
    /// The source's own columns (in its layout's order).
    pub columns: &'r [DbValue],
}

impl PageQuery {
    /// Splits a row of the page statement.
    pub fn split<'r>(&self, row: &'r Row) -> Option<PageRow<'r>> {
        let source = match row.first()? {
            DbValue::Int(i) => usize::try_from(*i).ok()?,
            DbValue::Decimal(d) | DbValue::Text(d) => d.parse().ok()?,
            DbValue::Float(f) => *f as usize,
            _ => return None,
        };
        let key = row.get(1 + source)?;
        let sort_at = 1 + self.sources;
        let sort = row.get(sort_at..sort_at + self.sort_len)?;
        let mut at = sort_at + self.sort_len;
        for l in &self.layouts[..source] {
            at += l.columns.len();
        }
        let columns = row.get(at..at + self.layouts.get(source)?.columns.len())?;
        Some(PageRow {
            source,
            key,
            sort,
            columns,
        })
    }
}

/// How rows tied with the keyset on every sort value are treated in a branch.
enum Tie {
    /// A source before the keyset's: ties were served already.
    Exclude,
    /// The keyset's source: ties after its key.
    KeyAfter,
    /// A source after the keyset's: ties not served yet.
    Include,
}

/// A NULL of the type of column `i` of `layout` (PostgreSQL resolves an untyped NULL that two
/// branches of a UNION share as text, which then clashes with a typed branch).
fn typed_null(dialect: Dialect, source: &crate::mapping::Source, i: Option<usize>) -> String {
    let ty = i.and_then(|i| source.column_types.get(i));
    match ty {
        Some(t)
            if dialect == Dialect::Postgres
                && !t.is_empty()
                && t.chars().all(|c| {
                    c.is_ascii_alphanumeric() || c == '_' || c == ' ' || c == '[' || c == ']'
                })
                && !t.eq_ignore_ascii_case("unknown")
                && !t.eq_ignore_ascii_case("void") =>
        {
            format!("CAST(NULL AS {t})")
        }
        _ => "NULL".to_string(),
    }
}

fn sql_text(dialect: Dialect, alias: &str, v: Option<&SqlValue>) -> String {
    match v {
        None => "NULL".to_string(),
        Some(v) => {
            let mut w = SqlWriter::new(dialect);
            write_value(&mut w, alias, v);
            w.finish().sql
        }
    }
}

/// Binds a database value read from a row back into a statement (a keyset bound).
fn bind_db_value(w: &mut SqlWriter, v: &DbValue) {
    let value: Value = match v {
        DbValue::Null => Value::String(None),
        DbValue::Bool(b) => Value::from(*b),
        DbValue::Int(i) => Value::from(*i),
        DbValue::Float(f) => Value::from(*f),
        DbValue::Decimal(d) => match d.parse::<rust_decimal::Decimal>() {
            Ok(dec) if w.dialect() != Dialect::Sqlite => Value::from(dec),
            _ => Value::from(d.parse::<f64>().unwrap_or_default()),
        },
        DbValue::Text(t) => Value::from(t.clone()),
        DbValue::Date(d) => Value::from(*d),
        DbValue::Time(t) => Value::from(*t),
        DbValue::Timestamp(t) => Value::from(*t),
        DbValue::TimestampTz(t) => Value::from(t.with_timezone(&chrono::Utc)),
        DbValue::Bytes(b) => Value::from(b.clone()),
    };
    w.param(value);
}

/// Rows after the keyset in one branch: NULL sort values come last in either direction.
fn write_keyset(
    w: &mut SqlWriter,
    branch: &Branch,
    spec: &[SortSpec],
    key_desc: bool,
    after: &Keyset,
    tie: Tie,
) {
    let cx = &branch.cx;
    let alias = &cx.source.alias;
    let sorts: Vec<String> = branch
        .sort
        .iter()
        .map(|v| sql_text(cx.dialect, alias, v.as_ref()))
        .collect();
    w.push("(");
    // j runs one past the sort keys: the last disjunct is the tie-breaker.
    #[allow(clippy::needless_range_loop)]
    for j in 0..=sorts.len() {
        if j > 0 {
            w.push(" OR ");
        }
        w.push("(");
        for (i, sql) in sorts.iter().take(j).enumerate() {
            match &after.sort[i] {
                DbValue::Null => {
                    w.push(sql).push(" IS NULL");
                }
                v => {
                    w.push(sql).push(" = ");
                    bind_db_value(w, v);
                }
            }
            w.push(" AND ");
        }
        match sorts.get(j) {
            Some(sql) => match &after.sort[j] {
                DbValue::Null => {
                    w.push("1=0");
                }
                v => {
                    w.push("(").push(sql);
                    w.push(if spec[j].desc { " < " } else { " > " });
                    bind_db_value(w, v);
                    w.push(" OR ").push(sql).push(" IS NULL)");
                }
            },
            None => match tie {
                Tie::Exclude => {
                    w.push("1=0");
                }
                Tie::Include => {
                    w.push("1=1");
                }
                Tie::KeyAfter => {
                    write_value(w, alias, &cx.source.id.value);
                    w.push(if key_desc { " < " } else { " > " });
                    w.param(after.key.clone());
                }
            },
        }
        w.push(")");
    }
    w.push(")");
}

/// Plans the page: `limit` rows at most, matching `filters`, after `after`.
pub fn page_query(
    branches: &[Branch],
    spec: &[SortSpec],
    key_desc: bool,
    filters: &[Filter],
    after: Option<&Keyset>,
    limit: usize,
) -> Result<PageQuery, PlanError> {
    let dialect = branches
        .first()
        .map(|b| b.cx.dialect)
        .ok_or_else(|| PlanError::Unsupported("no source to search".into()))?;
    let n = branches.len();
    let layouts: Vec<SourceLayout> = branches
        .iter()
        .map(|b| SourceLayout::of(b.cx.source))
        .collect();
    let mut w = SqlWriter::new(dialect);
    let union = n > 1;
    if union {
        w.push("SELECT * FROM (");
    }
    for (i, b) in branches.iter().enumerate() {
        let tie = match after {
            Some(k) if i < k.source => Tie::Exclude,
            Some(k) if i == k.source => Tie::KeyAfter,
            _ => Tie::Include,
        };
        // Without sort keys a source before the keyset's has nothing left to serve.
        let skip = matches!(tie, Tie::Exclude) && spec.is_empty() && after.is_some();
        if i > 0 {
            w.push(" UNION ALL ");
        }
        if union {
            w.push(if dialect == Dialect::Sqlite {
                "SELECT * FROM ("
            } else {
                "("
            });
        }
        let cx = &b.cx;
        let alias = &cx.source.alias;
        w.push("SELECT ").push(&i.to_string()).push(" AS s");
        for (k, other) in branches.iter().enumerate() {
            w.push(", ");
            if k == i {
                write_value(&mut w, alias, &cx.source.id.value);
            } else {
                w.push(&typed_null(dialect, other.cx.source, Some(layouts[k].id)));
            }
            w.push(" AS k").push(&k.to_string());
        }
        for (j, v) in b.sort.iter().enumerate() {
            let text = match v {
                Some(v) => sql_text(dialect, alias, Some(v)),
                // This source has no such value: a NULL typed like another source's.
                None => branches
                    .iter()
                    .enumerate()
                    .find_map(|(k, o)| {
                        let v = o.sort[j].as_ref()?;
                        let pos = layouts[k].columns.iter().position(|c| c == v);
                        Some(typed_null(dialect, o.cx.source, pos))
                    })
                    .unwrap_or_else(|| "NULL".into()),
            };
            w.push(", ").push(&text);
            w.push(" AS o").push(&j.to_string());
        }
        for (p, l) in layouts.iter().enumerate() {
            for c in 0..l.columns.len() {
                w.push(", ");
                if p == i {
                    write_value(&mut w, alias, &l.columns[c]);
                } else {
                    w.push(&typed_null(dialect, branches[p].cx.source, Some(c)));
                }
                w.push(" AS c")
                    .push(&p.to_string())
                    .push("_")
                    .push(&c.to_string());
            }
        }
        write_source_select_list(&mut w, cx.source);
        if skip {
            w.push(" AND 1=0");
        }
        write_filters(&mut w, cx, filters)?;
        if let Some(k) = after {
            w.push(" AND ");
            write_keyset(&mut w, b, spec, key_desc, k, tie);
        }
        w.push(" ORDER BY ");
        for (j, v) in b.sort.iter().enumerate() {
            let sql = sql_text(dialect, alias, v.as_ref());
            w.push("(").push(&sql).push(" IS NULL), ").push(&sql);
            w.push(if spec[j].desc { " DESC, " } else { ", " });
        }
        write_value(&mut w, alias, &cx.source.id.value);
        if key_desc {
            w.push(" DESC");
        }
        w.push(" LIMIT ").param(limit as i64);
        if union {
            w.push(")");
        }
    }
    if union {
        w.push(") u ORDER BY ");
        for (j, s) in spec.iter().enumerate() {
            w.push("(o")
                .push(&j.to_string())
                .push(" IS NULL), o")
                .push(&j.to_string());
            w.push(if s.desc { " DESC, " } else { ", " });
        }
        w.push("s");
        for k in 0..n {
            w.push(", k").push(&k.to_string());
            if key_desc {
                w.push(" DESC");
            }
        }
        w.push(" LIMIT ").param(limit as i64);
    }
    Ok(PageQuery {
        statement: w.finish(),
        layouts,
        sources: n,
        sort_len: spec.len(),
    })
}
