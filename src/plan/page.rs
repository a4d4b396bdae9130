//! The page query: ONE statement that returns a page of matches over every source of a type,
//! in `_sort` order with the source and the id key as stable tie-breakers, resumed after a
//! keyset (never OFFSET, so page 1000 costs what page 1 costs).
//!
//! Sort keys are ordered as the database orders them natively (`ORDER BY x` / `x DESC`, NULLs
//! where the database puts them: first ascending on SQLite and MySQL, last on PostgreSQL), so
//! an index on a sort column can be read in order; the keyset continuation (see
//! [`super::keyset`]) follows exactly that order.
//!
//! With several sources, or when the rows after a keyset fall in several ranges of the first
//! sort key (values and NULLs), the statement is a `UNION ALL` of one branch per source and
//! range. Every branch returns the same columns: `s` (the source's index), one key slot per
//! source (`k<i>`, set only by source `i`, so keys of different types never share a column),
//! the sort values (`o<j>`), and one block of column slots per source (NULL in the other
//! branches). Each branch is ordered and limited on its own, so each can be served by an index.

use super::PlanError;
use super::context::{Context, write_from};
use super::criteria::{Filter, write_filter};
use super::keyset::{Atom, KeyOrder, Part, Tie, parts};
use super::sort::SortExpr;
use crate::mapping::SourceLayout;
use crate::mapping::sql::write_value;
use crate::request::cursor::Cursor;
use crate::request::search::SortKey;
use crate::sql::{ColumnInfo, Dialect, Row, SqlWriter, Statement, Value as DbValue};

/// One source's part of the page.
pub struct Branch<'a> {
    /// The source and what planning needs.
    pub cx: Context<'a>,
    /// Its sort values, parallel to the request's `_sort` keys (`None`: the source has no
    /// such value; its rows sort as NULLs).
    pub sort: Vec<Option<SortExpr>>,
}

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    /// Index of the source of the last row served.
    pub source: usize,
    /// Its sort values.
    pub sort: Vec<DbValue>,
    /// Its key.
    pub key: DbValue,
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
    /// Where `columns` are in the row.
    pub range: std::ops::Range<usize>,
}

impl PageRow<'_> {
    /// The cursor of the page that starts after this row (`None` when its key is NULL).
    pub fn cursor(&self) -> Option<Cursor> {
        Some(Cursor {
            source: self.source,
            after: Some(self.key.as_key()?),
            sort: self.sort.to_vec(),
        })
    }
}

impl PageQuery {
    /// Splits a row of the page statement.
    pub fn split<'r>(&self, row: &'r Row) -> Option<PageRow<'r>> {
        let source = usize::try_from(row.first()?.as_u64()?).ok()?;
        let key = row.get(1 + source)?;
        let sort_at = 1 + self.sources;
        let sort = row.get(sort_at..sort_at + self.sort_len)?;
        let mut at = sort_at + self.sort_len;
        for l in &self.layouts[..source] {
            at += l.columns.len();
        }
        let range = at..at + self.layouts.get(source)?.columns.len();
        let columns = row.get(range.clone())?;
        Some(PageRow {
            source,
            key,
            sort,
            columns,
            range,
        })
    }
}

/// A NULL of the type of value `i` of a source's select layout, where the database needs it
/// ([`Dialect::typed_null`]).
fn typed_null(dialect: Dialect, layout: &SourceLayout, i: Option<usize>) -> String {
    let info = i.and_then(|i| layout.columns.get(i)?.column_info());
    dialect.typed_null(
        info.map(ColumnInfo::compared_type)
            .filter(|t| !t.is_empty()),
    )
}

/// The NULL standing in for sort value `j` in a branch whose source has no such value: typed
/// like another source's value.
fn null_slot(dialect: Dialect, branches: &[Branch], layouts: &[SourceLayout], j: usize) -> String {
    branches
        .iter()
        .enumerate()
        .find_map(|(k, o)| match o.sort[j].as_ref()? {
            SortExpr::Value(v) => {
                let pos = layouts[k].columns.iter().position(|c| c == v);
                Some(typed_null(dialect, &layouts[k], pos))
            }
            // FHIR codes, bound as text; widened dates are text on the databases that widen.
            SortExpr::Mapped(_) | SortExpr::Code(_) | SortExpr::Widened(_) => {
                Some(dialect.typed_null(Some("text")))
            }
            // In the folded value's collation, so the union's column has one.
            SortExpr::Folded(_) => {
                let null = dialect.typed_null(Some("text"));
                Some(dialect.code_point_order(&null).unwrap_or(null))
            }
        })
        .unwrap_or_else(|| "NULL".into())
}

/// What one branch of the statement reads of its source.
enum Range<'p> {
    /// Every match (the first page).
    All,
    /// The matches in one part after the keyset.
    Part(&'p Keyset, &'p Part),
    /// Nothing (every source is done; the statement still needs a branch).
    Nothing,
}

/// One test of a keyset part, for the rows of `b`.
fn write_atom(
    w: &mut SqlWriter,
    b: &Branch,
    order: &[KeyOrder],
    key_desc: bool,
    after: &Keyset,
    atom: Atom,
) {
    let alias = &b.cx.source.alias;
    // Parts only test values the source has (absent ones are decided while planning).
    let sort = |j: usize| b.sort[j].as_ref().expect("a part tests present values");
    let (j, op) = match atom {
        Atom::IsNull(j) => {
            sort(j).write(w, alias);
            w.push(" IS NULL");
            return;
        }
        Atom::NotNull(j) => {
            sort(j).write(w, alias);
            w.push(" IS NOT NULL");
            return;
        }
        Atom::KeyAfter => {
            write_value(w, alias, &b.cx.source.id.value);
            w.push(if key_desc { " < " } else { " > " });
            let key = after.key.to_param(w.dialect());
            w.param_for(b.cx.source.id.value.column_info(), key);
            return;
        }
        Atom::Eq(j) => (j, " = "),
        Atom::After(j) => (j, if order[j].desc { " < " } else { " > " }),
        Atom::AtOrAfter(j) => (j, if order[j].desc { " <= " } else { " >= " }),
    };
    sort(j).write(w, alias);
    w.push(op);
    sort(j).write_bound(w, after.sort[j].to_param(w.dialect()));
}

/// ` AND <range> AND (<alternative> OR ...)`.
fn write_part(
    w: &mut SqlWriter,
    b: &Branch,
    order: &[KeyOrder],
    key_desc: bool,
    after: &Keyset,
    part: &Part,
) {
    for a in &part.range {
        w.push(" AND ");
        write_atom(w, b, order, key_desc, after, *a);
    }
    if let Some(alts) = &part.any {
        w.push(" AND (");
        for (n, alt) in alts.iter().enumerate() {
            if n > 0 {
                w.push(" OR ");
            }
            w.push("(");
            for (m, a) in alt.iter().enumerate() {
                if m > 0 {
                    w.push(" AND ");
                }
                write_atom(w, b, order, key_desc, after, *a);
            }
            w.push(")");
        }
        w.push(")");
    }
}

/// Plans the page: `limit` rows at most, matching `filter`, after `after`.
pub fn page_query(
    branches: &[Branch],
    spec: &[SortKey],
    key_desc: bool,
    filter: Filter,
    after: Option<&Keyset>,
    limit: usize,
) -> Result<PageQuery, PlanError> {
    let dialect = branches
        .first()
        .map(|b| b.cx.dialect())
        .ok_or_else(|| PlanError::Unsupported("no source to search".into()))?;
    let n = branches.len();
    let layouts: Vec<SourceLayout> = branches
        .iter()
        .map(|b| SourceLayout::of(b.cx.source))
        .collect();
    let order: Vec<KeyOrder> = spec
        .iter()
        .map(|s| KeyOrder::native(dialect, s.desc))
        .collect();
    // The parts of each source after the keyset.
    let planned: Vec<Vec<Part>> = match after {
        None => Vec::new(),
        Some(k) => {
            let cursor_null: Vec<bool> = k.sort.iter().map(DbValue::is_null).collect();
            branches
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let tie = match i.cmp(&k.source) {
                        std::cmp::Ordering::Less => Tie::Exclude,
                        std::cmp::Ordering::Equal => Tie::KeyAfter,
                        std::cmp::Ordering::Greater => Tie::Include,
                    };
                    let absent: Vec<bool> = b.sort.iter().map(Option::is_none).collect();
                    parts(&order, &cursor_null, &absent, tie)
                })
                .collect()
        }
    };
    let mut selects: Vec<(usize, Range)> = Vec::new();
    match after {
        None => selects.extend((0..n).map(|i| (i, Range::All))),
        Some(k) => {
            for (i, ps) in planned.iter().enumerate() {
                selects.extend(ps.iter().map(|p| (i, Range::Part(k, p))));
            }
            if selects.is_empty() {
                selects.push((k.source.min(n - 1), Range::Nothing));
            }
        }
    }
    let mut w = SqlWriter::new(dialect);
    let union = selects.len() > 1;
    if union {
        w.push("SELECT * FROM (");
    }
    for (at, (i, range)) in selects.iter().enumerate() {
        let (i, b) = (*i, &branches[*i]);
        if at > 0 {
            w.push(" UNION ALL ");
        }
        if union {
            w.push(dialect.union_branch_open());
        }
        let cx = &b.cx;
        let alias = &cx.source.alias;
        w.push("SELECT ").push(&i.to_string()).push(" AS s");
        for (k, layout) in layouts.iter().enumerate() {
            w.push(", ");
            if k == i {
                write_value(&mut w, alias, &cx.source.id.value);
            } else {
                w.push(&typed_null(dialect, layout, Some(layout.id)));
            }
            w.push(" AS k").push(&k.to_string());
        }
        for (j, v) in b.sort.iter().enumerate() {
            w.push(", ");
            match v {
                Some(v) => v.write(&mut w, alias),
                None => {
                    w.push(&null_slot(dialect, branches, &layouts, j));
                }
            }
            w.push(" AS o").push(&j.to_string());
        }
        for (p, l) in layouts.iter().enumerate() {
            for c in 0..l.columns.len() {
                w.push(", ");
                if p == i {
                    write_value(&mut w, alias, &l.columns[c]);
                } else {
                    w.push(&typed_null(dialect, l, Some(c)));
                }
                w.push(" AS c")
                    .push(&p.to_string())
                    .push("_")
                    .push(&c.to_string());
            }
        }
        write_from(&mut w, cx)?;
        write_filter(&mut w, cx, filter)?;
        match range {
            Range::All => {}
            Range::Part(k, p) => write_part(&mut w, b, &order, key_desc, k, p),
            Range::Nothing => {
                w.push(" AND 1=0");
            }
        }
        // The database's own order (no NULLS FIRST/LAST, no `x IS NULL` key): what an index
        // on the sort column serves. Values the source does not have, or constants, are left out.
        w.push(" ORDER BY ");
        for (j, v) in b.sort.iter().enumerate() {
            if let Some(v) = v
                && !v.is_constant()
            {
                v.write(&mut w, alias);
                w.push(if spec[j].desc { " DESC, " } else { ", " });
            }
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
            w.push("o").push(&j.to_string());
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
