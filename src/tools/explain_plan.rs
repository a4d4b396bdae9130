//! `explain --plan-only`: the statements a FHIR query becomes, planned and never run.
//!
//! The statements that need nothing but the request are shown exactly as the server plans
//! them, values apart: the page (and count) statement of a search, the row of a read, the
//! patient check and the page of each type of `$everything`. The statements that depend on
//! the rows of the page (child tables, `_include`/`_revinclude`, what `$everything` adds from
//! outside the compartment) are planned for one stand-in key, and shown with their key list
//! as a placeholder (`IN (<keys of the page's rows>)`) and when they run. With `analyze`, the
//! database's `EXPLAIN` (never ANALYZE: nothing is run) of the statements planned whole.

use std::collections::HashMap;

use super::ToolError;
use super::explain::{
    ExplainOptions, ExplainReport, ExplainedStatement, FullScan, Interaction, aliases, parse_query,
    unquoted,
};
use crate::db::Database;
use crate::db::introspect::row_estimate;
use crate::mapping::references::RefLink;
use crate::mapping::sql::{ChildRead, child_rows, children_rows};
use crate::mapping::{ChildLayout, Relation, Source};
use crate::plan::{self, MAX_KEYS_PER_STATEMENT, Scope};
use crate::request::compartment::Compartment;
use crate::request::criterion::Criterion;
use crate::request::everything::EverythingRequest;
use crate::request::include::Include;
use crate::request::search::{SearchRequest, TotalMode};
use crate::request::{ReadRequest, RequestError};
use crate::service::{Fhir, referenced_outside};
use crate::sql::explain::{mark_params, param_literal, read_plan};
use crate::sql::{Dialect, Statement, Value};

/// The stand-in keys the dependent statements are planned with (numbers, so that every kind
/// of key column takes them; two, so that a list is planned as the `IN` list it is), replaced
/// by a placeholder when shown.
const STAND_IN: [i64; 2] = [8_642_097_531, 8_642_097_532];

/// The placeholder of the keys of the page's rows.
pub const PAGE_KEYS: &str = "<keys of the page's rows>";
/// The placeholder of the keys of included rows.
pub const INCLUDED_KEYS: &str = "<keys of the included rows>";
/// The placeholder of the ids the page's resources refer to.
pub const REFERENCED_IDS: &str = "<ids the page's resources refer to>";
/// The placeholder of the ids of the page's resources (what `_revinclude` looks for).
pub const PAGE_IDS: &str = "<ids of the page's resources>";

/// One planned statement.
struct Planned {
    role: String,
    statement: Statement,
    runs: String,
    /// What the stand-in key stands for (`None`: planned whole, shown exactly).
    keys: Option<&'static str>,
}

/// Plans `query` through `fhir`'s mapping, running nothing; with `analyze`, asks `db` for
/// the plan (EXPLAIN only) of each statement planned whole.
pub async fn plan_only(
    fhir: &Fhir,
    db: &Database,
    query: &str,
    options: ExplainOptions,
) -> Result<ExplainReport, ToolError> {
    let dialect = fhir.caps().dialect;
    let (planned, outcome, answered) = match planned(fhir, query) {
        Ok(p) => {
            let n = p.len();
            (
                p,
                format!("planned, not run: {n} kind(s) of statement"),
                true,
            )
        }
        Err(e) => (Vec::new(), e, false),
    };
    let aliases = aliases(fhir.mapping());
    let mut estimates: HashMap<String, Option<u64>> = HashMap::new();
    let mut statements = Vec::with_capacity(planned.len());
    for (i, p) in planned.into_iter().enumerate() {
        let mut s = shown(dialect, i, &p);
        if options.analyze && p.keys.is_none() {
            let (plan, scanned) = explain_only(db, &p.statement).await;
            s.plan = plan;
            for name in scanned {
                let Some(table) = aliases.get(&unquoted(&name).to_ascii_lowercase()).cloned()
                else {
                    continue;
                };
                let rows = match estimates.get(&table) {
                    Some(n) => *n,
                    None => {
                        let n = row_estimate(db, &table).await.ok().flatten();
                        estimates.insert(table.clone(), n);
                        n
                    }
                };
                let large = rows.is_none_or(|n| n > options.large_table_rows);
                if large && !s.full_scans.iter().any(|f| f.table == table) {
                    s.full_scans.push(FullScan { table, rows });
                }
            }
        }
        statements.push(s);
    }
    let mut notes = vec![
        "--plan-only: nothing was run. Statements marked with a <placeholder> run only when the page has rows: the placeholder stands for an IN list of their keys (padded to a power of two, at most 1000 a statement)."
            .to_string(),
    ];
    if options.analyze {
        notes.push(
            dialect
                .choose(
                    "Plans: EXPLAIN QUERY PLAN of the statements planned whole (SCAN = a whole table or index read, SEARCH = an index range); a SQLite table's size is not read.",
                    "Plans: EXPLAIN (not ANALYZE: nothing ran) of the statements planned whole.",
                    "Plans: EXPLAIN (not ANALYZE: nothing ran) of the statements planned whole.",
                )
                .to_string(),
        );
    }
    Ok(ExplainReport {
        query: query.to_string(),
        database: dialect.to_string(),
        outcome,
        answered,
        statements,
        notes,
    })
}

/// A planned statement as the report shows it: the stand-in's placeholders replaced by the
/// key list's description.
fn shown(dialect: Dialect, i: usize, p: &Planned) -> ExplainedStatement {
    let params: Vec<String> = p
        .statement
        .params
        .iter()
        .map(|v| param_literal(dialect, v))
        .collect();
    let stand_in = STAND_IN.map(|k| k.to_string());
    let marked: Vec<bool> = params
        .iter()
        .map(|l| p.keys.is_some() && stand_in.iter().any(|k| l.trim_matches('\'') == k))
        .collect();
    let keys = p.keys.unwrap_or_default();
    ExplainedStatement {
        number: i + 1,
        role: p.role.clone(),
        sql: mark_params(dialect, &p.statement.sql, &marked, keys),
        params: params
            .into_iter()
            .zip(&marked)
            .map(|(l, m)| if *m { keys.to_string() } else { l })
            .collect(),
        rows: None,
        error: None,
        millis: None,
        runs: Some(p.runs.clone()),
        plan: Vec::new(),
        full_scans: Vec::new(),
    }
}

/// The plan of `stmt` by the database's EXPLAIN (which does not run it).
async fn explain_only(db: &Database, stmt: &Statement) -> (Vec<String>, Vec<String>) {
    let dialect = db.dialect();
    let explain = Statement {
        sql: format!(
            "{}{}",
            dialect.choose("EXPLAIN QUERY PLAN ", "EXPLAIN ", "EXPLAIN "),
            stmt.sql
        ),
        params: stmt.params.clone(),
        parts: None,
    };
    match db.fetch(&explain).await {
        Ok(rows) => read_plan(dialect, &rows),
        Err(e) => (vec![format!("(no plan: {e})")], Vec::new()),
    }
}

fn planned(fhir: &Fhir, query: &str) -> Result<Vec<Planned>, String> {
    let (interaction, params) = parse_query(query)?;
    let mapping = fhir.mapping();
    let scope = Scope::none();
    let err = |e: RequestError| e.to_string();
    let mut out = Vec::new();
    match interaction {
        Interaction::Read(t, id) => {
            let req = ReadRequest::parse(mapping, &t, &id, &params, true).map_err(err)?;
            let read = plan::read(mapping, fhir.caps(), scope, &t, req.id.as_str())
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no source of {t} can have the id {}", req.id))?;
            let inline: Vec<bool> = match &read.children {
                Some(c) => c.starts.iter().map(Option::is_some).collect(),
                None => vec![false; read.source.children.len()],
            };
            let with: Vec<&str> = read
                .source
                .children
                .iter()
                .zip(&inline)
                .filter(|(_, i)| **i)
                .map(|(c, _)| c.written.as_str())
                .collect();
            out.push(Planned {
                role: read_role(&with),
                statement: read.statement,
                runs: "once".into(),
                keys: None,
            });
            let apart: Vec<usize> = (0..inline.len()).filter(|&k| !inline[k]).collect();
            children_of(
                fhir,
                read.source,
                &apart,
                "the resource's row",
                PAGE_KEYS,
                &mut out,
            );
        }
        Interaction::Search(t, compartment) => {
            let opts = fhir.search_options(true);
            let mut req = SearchRequest::parse(mapping, &opts, &t, &params).map_err(err)?;
            if let Some(id) = compartment {
                req.compartment =
                    Some(Compartment::patient(mapping, &id, &t).map_err(|e| e.to_string())?);
            }
            let page = search(fhir, &req, "the page of matches", "once per page", &mut out)?;
            if page {
                includes(fhir, &req.includes, &mut out)?;
            }
        }
        Interaction::Everything(id) => {
            let req =
                EverythingRequest::parse(mapping, &id, &params, true, fhir.limits().max_count)
                    .map_err(err)?;
            if !req.types.iter().any(|t| t == "Patient")
                && let Some(stmt) =
                    plan::exists(mapping, fhir.caps(), scope, "Patient", req.id.as_str())
                        .map_err(|e| e.to_string())?
            {
                out.push(Planned {
                    role: "whether the patient exists".into(),
                    statement: stmt,
                    runs: "once, before the first page".into(),
                    keys: None,
                });
            }
            for (i, t) in req.types.iter().enumerate() {
                let mut of_type = SearchRequest::new(t, req.count);
                of_type.compartment = Some(
                    Compartment::patient(mapping, req.id.as_str(), t).map_err(|e| e.to_string())?,
                );
                if let Some(since) = &req.since_date
                    && mapping.sources_of(t).all(|s| s.last_updated.is_some())
                {
                    of_type
                        .criteria
                        .push(Criterion::last_updated(since.clone()));
                }
                let runs = if i == 0 {
                    "first, for the first page".to_string()
                } else {
                    format!(
                        "when the page is not full after the types before it ({} of {}); its LIMIT is then what is left of the page",
                        i + 1,
                        req.types.len()
                    )
                };
                let role = format!("the patient's {t} resources");
                search(fhir, &of_type, &role, &runs, &mut out)?;
            }
            includes(fhir, &referenced_outside(mapping, &req.types), &mut out)?;
        }
    }
    Ok(out)
}

/// The count and page statements of `req`, then the child rows of its sources; whether a page
/// statement runs at all.
fn search(
    fhir: &Fhir,
    req: &SearchRequest,
    role: &str,
    runs: &str,
    out: &mut Vec<Planned>,
) -> Result<bool, String> {
    let mapping = fhir.mapping();
    let plan =
        plan::search(mapping, fhir.caps(), Scope::none(), req, None).map_err(|e| e.to_string())?;
    for t in &plan.totals {
        if let Some(e) = &t.estimate {
            out.push(Planned {
                role: "the planner's estimate of the matches (_total=estimate)".into(),
                statement: e.clone(),
                runs: "once, on the first page".into(),
                keys: None,
            });
        }
        out.push(Planned {
            role: "the count of matches (_total)".into(),
            statement: t.count.clone(),
            runs: if req.total == TotalMode::Estimate {
                "when the estimate cannot be read".into()
            } else {
                "once per page".into()
            },
            keys: None,
        });
    }
    if req.counts_only() {
        return Ok(false);
    }
    out.push(Planned {
        role: role.to_string(),
        statement: plan.page.statement,
        runs: runs.to_string(),
        keys: None,
    });
    for source in plan.sources {
        children(fhir, source, role, PAGE_KEYS, out);
    }
    Ok(true)
}

/// The child-table statements of `source`, for the keys of its rows in what `of` reads.
fn children(fhir: &Fhir, source: &Source, of: &str, keys: &'static str, out: &mut Vec<Planned>) {
    let all: Vec<usize> = (0..source.children.len()).collect();
    children_of(fhir, source, &all, of, keys, out);
}

/// The role of a read's statement that reads the child tables `with` too.
pub fn read_role(with: &[&str]) -> String {
    if with.is_empty() {
        "the resource's row".into()
    } else {
        format!(
            "the resource's row and the rows of its child tables {}, in one statement",
            with.join(", ")
        )
    }
}

/// [`children`] for the children of `source` at the indexes `which`.
fn children_of(
    fhir: &Fhir,
    source: &Source,
    which: &[usize],
    of: &str,
    keys: &'static str,
    out: &mut Vec<Planned>,
) {
    let dialect = fhir.caps().dialect;
    if which.len() > 1 && !dialect.reads_children_in_one_union() {
        // One statement per child table, as the server reads them on this database.
        for &k in which {
            children_of(fhir, source, &[k], of, keys, out);
        }
        return;
    }
    let layouts: Vec<ChildLayout> = which
        .iter()
        .map(|&k| ChildLayout::of(&source.children[k]))
        .collect();
    let keys_in = [Value::Int(STAND_IN[0])];
    let names: Vec<String> = which
        .iter()
        .map(|&k| {
            let child = &source.children[k];
            let table = match &child.relation {
                Relation::Table(t) => unquoted(t).to_string(),
                Relation::Query(_) => "its query".to_string(),
            };
            format!("{}.{} ({table})", source.resource_type, child.written)
        })
        .collect();
    let statement = match which {
        [] => return,
        [k] => child_rows(&source.children[*k], &layouts[0], &keys_in, dialect),
        _ => {
            let reads: Vec<ChildRead> = which
                .iter()
                .zip(&layouts)
                .map(|(&k, layout)| ChildRead {
                    child: &source.children[k],
                    layout,
                    keys: &keys_in,
                })
                .collect();
            children_rows(&reads, dialect)
        }
    };
    out.push(Planned {
        role: format!(
            "child rows of {}, for the keys of the {} rows of {of}",
            names.join(", "),
            source.resource_type
        ),
        statement,
        runs: format!(
            "after it, when it returned {} rows (one statement per {MAX_KEYS_PER_STATEMENT} keys)",
            source.resource_type
        ),
        keys: Some(keys),
    });
}

/// The statements of `_include` and `_revinclude` (one search per type they read, and its
/// child rows).
fn includes(fhir: &Fhir, includes: &[Include], out: &mut Vec<Planned>) -> Result<(), String> {
    let mapping = fhir.mapping();
    let cap = fhir.limits().max_includes;
    let mut seen: Vec<(bool, String, String)> = Vec::new();
    for include in includes {
        for link in include.links(mapping) {
            let (ty, criterion, keys, what) = included_search(&link, include.reverse);
            let key = (include.reverse, ty.clone(), link.code.to_string());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let mut req = SearchRequest::new(&ty, cap + 1);
            req.criteria.push(criterion);
            let plan = plan::search(mapping, fhir.caps(), Scope::none(), &req, None)
                .map_err(|e| e.to_string())?;
            let role = if include.link.is_empty() {
                what
            } else {
                format!("{what} ({})", include.link)
            };
            out.push(Planned {
                role: role.clone(),
                statement: plan.page.statement,
                runs: format!(
                    "after the page, when it has resources{} (one statement per {MAX_KEYS_PER_STATEMENT} keys; its LIMIT is what may still be included, plus one)",
                    if include.iterate {
                        ", and again for what each round adds (:iterate)"
                    } else {
                        ""
                    }
                ),
                keys: Some(keys),
            });
            for source in plan.sources {
                children(fhir, source, &role, INCLUDED_KEYS, out);
            }
        }
    }
    Ok(())
}

/// The type an include reads, its criterion for the stand-in key, what the key stands for,
/// and a description.
fn included_search(link: &RefLink<'_>, reverse: bool) -> (String, Criterion, &'static str, String) {
    let ids = STAND_IN.map(|k| format!("{}{k}", link.target.id.prefix));
    if reverse {
        (
            link.from_type().to_string(),
            Criterion::references(
                link.code,
                ids.iter().map(|id| (link.target_type(), id.as_str())),
            ),
            PAGE_IDS,
            format!(
                "the {} resources whose {} refers to the page's {}",
                link.from_type(),
                link.code,
                link.target_type()
            ),
        )
    } else {
        (
            link.target_type().to_string(),
            Criterion::ids(ids),
            REFERENCED_IDS,
            format!(
                "the {} resources the page's {} refer to by {}",
                link.target_type(),
                link.from_type(),
                link.code
            ),
        )
    }
}
