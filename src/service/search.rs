//! The search interaction: one page of matches over every source of the type, in source
//! order then key order, resumed from a keyset cursor.

use serde_json::{Map, Value as Json};

use super::rows::build_resources;
use crate::db::{Database, DbError, QueryCounter, Value};
use crate::mapping::Mapping;
use crate::plan::KeyValue;
use crate::plan::search::{
    Context, Keyset, PlanError, count_statement, order, page_layout, page_statement,
};
use crate::request::cursor::{Cursor, CursorKey, SortValue};
use crate::request::search::SearchRequest;

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
    };
    let default_order = req.sort.first().is_none_or(|k| k.code == "_id" && !k.desc);
    if sources.len() > 1 && !default_order {
        return Err(PlanError::Unsupported(format!(
            "_sort is not supported on {} yet: its resources come from several sources",
            req.resource_type
        ))
        .into());
    }
    // Plan everything first: a bad value is reported before any statement runs.
    let mut orders = Vec::new();
    for s in &sources {
        orders.push(order(&context(s), &req.sort)?);
    }
    let mut counts = Vec::new();
    if req.summary_count || req.total == crate::request::search::TotalMode::Accurate {
        for s in &sources {
            counts.push(count_statement(&context(s), &req.filters)?);
        }
    }
    let total = if counts.is_empty() {
        None
    } else {
        let mut n = 0u64;
        for stmt in &counts {
            let rows = db.fetch(stmt, counter).await?;
            n += rows
                .first()
                .and_then(|r| r.first())
                .and_then(|v| match v {
                    Value::Int(i) => u64::try_from(*i).ok(),
                    Value::Decimal(d) | Value::Text(d) => d.parse().ok(),
                    _ => None,
                })
                .unwrap_or(0);
        }
        Some(n)
    };
    if req.summary_count || req.count == 0 {
        return Ok(Page {
            resources: Vec::new(),
            next: None,
            total,
        });
    }
    let start = cursor.map_or(0, |c| c.source);
    let mut remaining = req.count;
    let mut resources = Vec::new();
    let mut next = None;
    for (i, source) in sources.iter().enumerate().skip(start) {
        let order = &orders[i];
        let after: Option<Keyset> = cursor
            .filter(|c| c.source == i)
            .and_then(|c| {
                let key = KeyValue::from(c.after.as_ref()?);
                Some(Keyset {
                    sort: c.sort.iter().map(crate::db::Value::from).collect(),
                    key,
                })
            })
            .filter(|k| k.sort.len() == order.sort.len());
        let layout = page_layout(source, order);
        let stmt = page_statement(
            &context(source),
            &layout,
            &req.filters,
            order,
            after.as_ref(),
            remaining + 1,
        )?;
        let mut rows = db.fetch(&stmt, counter).await?;
        let more_here = rows.len() > remaining;
        rows.truncate(remaining);
        remaining -= rows.len();
        if let Some(last) = rows.last() {
            let last_key = key_of(&last[layout.id]);
            if more_here || (remaining == 0 && i + 1 < sources.len()) {
                let first_sort = layout.columns.len() - order.sort.len();
                next = Some(Cursor {
                    source: i,
                    after: last_key.as_ref().map(CursorKey::from),
                    sort: last[first_sort..].iter().map(SortValue::from).collect(),
                });
            }
        }
        resources.extend(build_resources(mapping, db, source, &layout, &rows, counter).await?);
        if more_here || remaining == 0 {
            if next.is_none() && i + 1 < sources.len() {
                next = Some(Cursor {
                    source: i + 1,
                    after: None,
                    sort: Vec::new(),
                });
            }
            break;
        }
    }
    Ok(Page {
        resources,
        next,
        total,
    })
}
