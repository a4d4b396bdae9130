//! The search interaction: one page of matches over every source of the type, in source
//! order then key order, resumed from a keyset cursor.

use serde_json::{Map, Value as Json};

use super::rows::build_resources;
use crate::db::{Database, DbError, QueryCounter};
use crate::mapping::Mapping;
use crate::plan::KeyValue;
use crate::plan::estimate::estimate_statement;
use crate::plan::search::{
    Branch, Context, Keyset, PlanError, check_sort_types, count_statement, effective_sort,
    page_query, sort_values,
};
use crate::request::cursor::{Cursor, CursorKey, SortValue};
use crate::request::search::{SearchRequest, TotalMode};
use crate::sql::explain::read_estimate;
use crate::sql::{Statement, Value};

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The search cannot be planned.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// One page of results.
pub struct Page {
    /// The matching resources.
    pub resources: Vec<Map<String, Json>>,
    /// Where the next page starts, if there may be one.
    pub next: Option<Cursor>,
    /// The number of matches, when asked for.
    pub total: Option<u64>,
}

fn key_of(v: &Value) -> Option<KeyValue> {
    match v {
        Value::Int(i) => Some(KeyValue::Int(*i)),
        Value::Null => None,
        other => other.key_text().map(KeyValue::Text),
    }
}

/// Runs a `SELECT COUNT(*)` statement.
async fn run_count(
    db: &Database,
    stmt: &Statement,
    counter: &QueryCounter,
) -> Result<u64, DbError> {
    let rows = db.fetch(stmt, counter).await?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(|v| match v {
            Value::Int(i) => u64::try_from(*i).ok(),
            Value::Decimal(d) | Value::Text(d) => d.parse().ok(),
            _ => None,
        })
        .unwrap_or(0))
}

/// Runs `req` from `cursor`.
pub async fn search(
    mapping: &Mapping,
    db: &Database,
    req: &SearchRequest,
    cursor: Option<&Cursor>,
    base_url: &str,
    counter: &QueryCounter,
) -> Result<Page, SearchError> {
    let sources: Vec<_> = mapping.sources_of(&req.resource_type).collect();
    let context = |source| Context {
        source,
        dialect: db.dialect(),
        tz: mapping.timezone,
        base_url,
        mapping,
        accents: db.accents(),
    };
    let criteria = req.criteria();
    // Plan everything first: a bad value is reported before any statement runs.
    let spec = effective_sort(&req.sort);
    let mut branches = Vec::new();
    let mut key_desc = false;
    for s in &sources {
        let cx = context(s);
        let (sort, desc) = sort_values(&cx, &req.sort)?;
        key_desc = desc;
        branches.push(Branch { cx, sort });
    }
    if sources.len() > 1 && key_desc {
        return Err(PlanError::Unsupported(format!(
            "_sort=-_id is not supported on {}: its resources come from several sources",
            req.resource_type
        ))
        .into());
    }
    check_sort_types(&branches, spec)?;
    let after = cursor.and_then(|c| {
        Some(Keyset {
            source: c.source,
            key: KeyValue::from(c.after.as_ref()?),
            sort: c.sort.iter().map(crate::sql::Value::from).collect(),
        })
    });
    if after
        .as_ref()
        .is_some_and(|k| k.sort.len() != spec.len() || k.source >= sources.len())
    {
        return Err(PlanError::InvalidValue("the _cursor does not fit this search".into()).into());
    }
    let page = page_query(
        &branches,
        spec,
        key_desc,
        &criteria,
        after.as_ref(),
        req.count + 1,
    )?;
    let mut counts = Vec::new();
    if req.counts_only() || req.total != TotalMode::None {
        for b in &branches {
            let count = count_statement(&b.cx, &criteria)?;
            let estimate = match req.total {
                TotalMode::Estimate => estimate_statement(&b.cx, &criteria)?,
                _ => None,
            };
            counts.push((estimate, count));
        }
    }

    let mut total = None;
    if !counts.is_empty() {
        let mut n = 0u64;
        for (estimate, count) in &counts {
            n += match estimate {
                Some(e) => match read_estimate(db.dialect(), &db.fetch(e, counter).await?) {
                    Some(rows) => rows,
                    None => {
                        tracing::warn!(sql = %e.sql, "unexpected EXPLAIN output; counting instead");
                        run_count(db, count, counter).await?
                    }
                },
                None => run_count(db, count, counter).await?,
            };
        }
        total = Some(n);
    }
    if req.counts_only() || req.count == 0 {
        return Ok(Page {
            resources: Vec::new(),
            next: None,
            total,
        });
    }

    let mut rows = db.fetch(&page.statement, counter).await?;
    let more = rows.len() > req.count;
    if req.total == TotalMode::Estimate && cursor.is_none() {
        // The first page itself bounds the total: exact when it holds every match.
        let seen = rows.len() as u64;
        total = total.map(|t| if more { t.max(seen) } else { seen });
    }
    rows.truncate(req.count);
    // Rows per source (for batched child reads), and the page order.
    let mut per_source: Vec<Vec<crate::sql::Row>> = vec![Vec::new(); sources.len()];
    let mut order = Vec::with_capacity(rows.len());
    let mut next = None;
    for (n, row) in rows.iter().enumerate() {
        let Some(r) = page.split(row) else {
            continue;
        };
        order.push((r.source, per_source[r.source].len()));
        per_source[r.source].push(r.columns.to_vec());
        if more && n + 1 == rows.len() {
            next = key_of(r.key).map(|k| Cursor {
                source: r.source,
                after: Some(CursorKey::from(&k)),
                sort: r.sort.iter().map(SortValue::from).collect(),
            });
        }
    }
    let mut built: Vec<Vec<Option<Map<String, Json>>>> = Vec::with_capacity(sources.len());
    for (i, source) in sources.iter().enumerate() {
        built.push(
            build_resources(
                mapping,
                db,
                source,
                &page.layouts[i],
                &per_source[i],
                counter,
            )
            .await?,
        );
    }
    let resources = order
        .into_iter()
        .filter_map(|(s, i)| built[s][i].take())
        .collect();
    Ok(Page {
        resources,
        next,
        total,
    })
}
