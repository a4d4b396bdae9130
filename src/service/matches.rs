//! One page of matches of a search: its statements planned, run, and the rows assembled into
//! resources (with their child rows), in page order; the total when asked; where the next page
//! starts. What searches, includes, compartment searches and `$everything` all run.

use super::rows::build_resources;
use super::{Fhir, RequestContext, ServiceError};
use crate::assemble::served::Resource;
use crate::db::{Cost, Database, DbError};
use crate::plan::subquery::{SIZING_ROUNDS, Subqueries};
use crate::plan::{self, Scope, Total};
use crate::request::cursor::Cursor;
use crate::request::search::{SearchRequest, TotalMode};
use crate::sql::explain::read_estimate;
use crate::sql::{Dialect, Row, Statement};

/// Sizes the sub-selects a plan `asked` about ([`Subqueries`]): reads each one's first rows,
/// and, where the database plans sub-selects by its estimate and one is large, has its planner
/// estimate it.
pub async fn size_subqueries(
    db: &Database,
    dialect: Dialect,
    sizes: &mut Subqueries,
    asked: &[Statement],
) -> Result<(), DbError> {
    for s in asked {
        let rows = db.fetch(&Subqueries::probe(s)).await?;
        sizes.record(s, &rows);
        if let Some(e) = sizes.estimate(s, dialect)
            && let Some(n) = read_estimate(dialect, &db.fetch(&e).await?)
        {
            sizes.record_estimate(s, n);
        }
    }
    Ok(())
}

/// One request's use of the service: its database handle and scope.
pub(super) struct Session<'a> {
    /// The service.
    pub fhir: &'a Fhir,
    /// The request's database handle (counting its statements).
    pub db: Database,
    /// The request's scope.
    pub scope: &'a Scope,
    /// The matches go out whole as compact JSON: each is written as soon as it is assembled
    /// ([`Resource::written`]).
    pub compact_json: bool,
}

impl Fhir {
    /// The session of one request of `cost`.
    pub(super) fn session<'a>(&'a self, cx: &'a RequestContext, cost: Cost) -> Session<'a> {
        Session {
            fhir: self,
            db: self.db(cx, cost),
            scope: &cx.scope,
            compact_json: false,
        }
    }
}

/// One page of matches.
pub(super) struct Matches<'a> {
    /// The matching resources, in page order.
    pub resources: Vec<Resource<'a>>,
    /// Where the next page starts, if there may be one.
    pub next: Option<Cursor>,
    /// The number of matches, when asked for.
    pub total: Option<u64>,
}

impl<'a> Session<'a> {
    /// The page of `req` after `after` (the first page when `None`).
    pub async fn matches(
        &self,
        req: &SearchRequest,
        after: Option<&Cursor>,
    ) -> Result<Matches<'a>, ServiceError> {
        let fhir = self.fhir;
        // Everything is planned first: a bad request is reported before any statement runs.
        // Sub-selects of chains and `_has` are sized first where the database needs it
        // (plan::subquery): plan, size what the plan asks about, plan again; a nested
        // sub-select is asked about once the one inside it is sized.
        let (mapping, caps, scope) = (&fhir.mapping, &fhir.caps, self.scope);
        let mut sizes = Subqueries::default();
        let mut plan = plan::search_sized(mapping, caps, scope, req, after, Some(&sizes))?;
        for _ in 0..SIZING_ROUNDS {
            let asked = sizes.take_asked();
            if asked.is_empty() {
                break;
            }
            drop(plan);
            size_subqueries(&self.db, caps.dialect, &mut sizes, &asked).await?;
            plan = plan::search_sized(mapping, caps, scope, req, after, Some(&sizes))?;
        }
        let mut total = None;
        if !plan.totals.is_empty() {
            let mut n = 0;
            for t in &plan.totals {
                n += self.total(t).await?;
            }
            total = Some(n);
        }
        if req.counts_only() || req.count == 0 {
            return Ok(Matches {
                resources: Vec::new(),
                next: None,
                total,
            });
        }
        let mut rows = self.db.fetch(&plan.page.statement).await?;
        let more = rows.len() > req.count;
        if req.total == TotalMode::Estimate && after.is_none() {
            // The first page itself bounds the total: exact when it holds every match.
            let seen = rows.len() as u64;
            total = total.map(|t| if more { t.max(seen) } else { seen });
        }
        rows.truncate(req.count);
        // Rows per source (for batched child reads), and the page order.
        let mut per_source: Vec<Vec<Row>> = vec![Vec::new(); plan.sources.len()];
        let mut order = Vec::with_capacity(rows.len());
        let mut next = None;
        let last = rows.len();
        for (n, mut row) in rows.into_iter().enumerate() {
            let Some(r) = plan.page.split(&row) else {
                continue;
            };
            let (source, range) = (r.source, r.range.clone());
            if more && n + 1 == last {
                next = r.cursor();
            }
            order.push((source, per_source[source].len()));
            // The source's columns moved out of the page row, not copied.
            row.truncate(range.end);
            row.drain(..range.start);
            per_source[source].push(row);
        }
        let mut built: Vec<Vec<Option<_>>> = Vec::with_capacity(order.len());
        for (i, source) in plan.sources.iter().enumerate() {
            let layout = &plan.page.layouts[i];
            built.push(build_resources(self, source, layout, &per_source[i]).await?);
        }
        let resources = order
            .into_iter()
            .filter_map(|(s, i)| built[s][i].take())
            .collect();
        Ok(Matches {
            resources,
            next,
            total,
        })
    }

    /// The total of one source: the planner's estimate where asked and readable, else a count.
    async fn total(&self, t: &Total) -> Result<u64, DbError> {
        if let Some(e) = &t.estimate {
            let rows = self.db.fetch(e).await?;
            match read_estimate(self.fhir.caps.dialect, &rows) {
                Some(n) => return Ok(n),
                None => tracing::warn!(sql = %e.sql, "unexpected EXPLAIN output; counting instead"),
            }
        }
        let rows = self.db.fetch(&t.count).await?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_u64())
            .unwrap_or(0))
    }
}
