//! `explain`: the SQL statements the server runs for a FHIR query, with their bound values,
//! and (with `analyze`) the database's own plan of each, full scans of large tables flagged.
//!
//! The query goes through the same service as an HTTP request ([`crate::service::Fhir`]:
//! parse, plan, run, assemble) with a database handle that records every statement, so what is
//! shown is exactly what the server runs, including the statements that depend on earlier
//! results (child rows, `_include`, the pages of `$everything`): their key values are those of
//! the rows this database returned.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;

use super::ToolError;
use crate::assemble::bundle::SearchSet;
use crate::db::introspect::row_count;
use crate::db::{Database, QueryCounter, Recorded};
use crate::mapping::{Mapping, Relation};
use crate::request::compartment::Compartment;
use crate::request::cursor::CursorCodec;
use crate::request::everything::EverythingRequest;
use crate::request::search::SearchRequest;
use crate::request::{Handling, ReadRequest, RequestLimits};
use crate::service::{Fhir, Limits, RequestContext};
use crate::sql::explain::{param_literal, plan_prefixes, read_plan};
use crate::sql::{Caps, Dialect, Statement};

/// Tables with more rows than this are "large" by default: a full scan of one is flagged.
pub const LARGE_TABLE_ROWS: u64 = 1000;

/// What `explain` does besides listing the statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainOptions {
    /// Ask the database for the plan of each statement.
    pub analyze: bool,
    /// Full scans of tables with more rows than this are flagged.
    pub large_table_rows: u64,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions {
            analyze: false,
            large_table_rows: LARGE_TABLE_ROWS,
        }
    }
}

/// One statement the query ran.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedStatement {
    /// Its place in the order they ran (1-based).
    pub number: usize,
    /// What it is for.
    pub role: String,
    /// The SQL, with the dialect's placeholders.
    pub sql: String,
    /// The bound values, in placeholder order, as SQL literals.
    pub params: Vec<String>,
    /// The rows it returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Milliseconds it took (none with `--plan-only`: nothing ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub millis: Option<f64>,
    /// When it runs (`--plan-only`, where nothing ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs: Option<String>,
    /// The database's plan, one line per node (with `analyze`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<String>,
    /// Full scans of large tables in the plan.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub full_scans: Vec<FullScan>,
}

/// A table the plan reads whole.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FullScan {
    /// The table (or the alias the plan names it by, when it is not known).
    pub table: String,
    /// Its number of rows (an estimate on PostgreSQL and MySQL/MariaDB); unknown with
    /// `--plan-only` on SQLite, where it would have to be counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// What `explain` found.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainReport {
    /// The query as given.
    pub query: String,
    /// The database kind.
    pub database: String,
    /// What the server would answer: `Bundle with N entries`, `Patient/1`, or the error.
    pub outcome: String,
    /// Whether the query was answered (not refused or failed).
    pub answered: bool,
    /// The statements, in the order they ran.
    pub statements: Vec<ExplainedStatement>,
    /// Remarks on the statements (what depends on what).
    pub notes: Vec<String>,
}

/// What a query asks.
pub(super) enum Interaction {
    Read(String, String),
    Search(String, Option<String>),
    Everything(String),
}

/// Splits `query` (`Observation?code=x`, `/Patient/1`, `Patient/1/$everything`,
/// `Patient/1/Observation?...`, a full URL ending so) into the interaction and its parameters.
pub(super) fn parse_query(query: &str) -> Result<(Interaction, Vec<(String, String)>), String> {
    let (path, qs) = query.split_once('?').unwrap_or((query, ""));
    let params: Vec<(String, String)> = form_urlencoded::parse(qs.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // A base URL before the resource type: keep from the first segment that is a type name.
    if let Some(start) = segments
        .iter()
        .rposition(|s| s.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && !s.contains(':'))
    {
        let start = match segments[..start].last() {
            // `Patient/1/Observation`: the compartment's type comes two segments earlier.
            Some(_) if start >= 2 && segments[start - 2] == "Patient" => start - 2,
            _ => start,
        };
        segments.drain(..start);
    }
    let interaction = match segments.as_slice() {
        [t] => Interaction::Search(t.to_string(), None),
        [t, "_search"] => Interaction::Search(t.to_string(), None),
        ["Patient", id, "$everything"] => Interaction::Everything(id.to_string()),
        ["Patient", id, t] => Interaction::Search(t.to_string(), Some(id.to_string())),
        [t, id] => Interaction::Read(t.to_string(), id.to_string()),
        _ => {
            return Err(format!(
                "'{query}' is not a query explain knows: [type]?params, [type]/[id], Patient/[id]/$everything or Patient/[id]/[type]?params"
            ));
        }
    };
    Ok((interaction, params))
}

/// The service `explain` runs queries through: the server's, with its default limits.
pub fn service(mapping: Mapping, db: Database, caps: Caps) -> Fhir {
    let limits = Limits {
        max_count: 1000,
        max_chain_depth: crate::request::search::DEFAULT_MAX_CHAIN_DEPTH,
        max_includes: 1000,
        request: RequestLimits::default(),
        handling: Handling::Lenient,
    };
    Fhir::new(
        Arc::new(mapping),
        db,
        caps,
        "http://localhost/fhir".into(),
        CursorCodec::new(&rand::random::<[u8; 32]>()),
        limits,
    )
}

/// Runs `query` through `fhir` recording its statements, and with `analyze` asks the database
/// for the plan of each.
pub async fn explain(
    fhir: &Fhir,
    db: &Database,
    query: &str,
    options: ExplainOptions,
) -> Result<ExplainReport, ToolError> {
    let analyze = options.analyze;
    let counter = Arc::new(QueryCounter::recording());
    let cx = RequestContext {
        counter: counter.clone(),
        ..RequestContext::default()
    };
    let (outcome, answered) = match run(fhir, &cx, query).await {
        Ok(o) => (o, true),
        Err(e) => (e, false),
    };
    let executed = counter.recorded();
    let mut statements = Vec::new();
    let aliases = aliases(fhir.mapping());
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut main_seen = false;
    for (i, e) in executed.iter().enumerate() {
        let mut s = describe(fhir.mapping(), db.dialect(), i, e, query, &mut main_seen);
        if analyze {
            let (plan, scanned) = plan_of(db, &e.statement).await;
            s.plan = plan;
            // Names the mapping does not know are the plan's own (subqueries, derived tables).
            for name in scanned {
                let Some(table) = aliases.get(&unquoted(&name).to_ascii_lowercase()).cloned()
                else {
                    continue;
                };
                let rows = match counts.get(&table) {
                    Some(n) => *n,
                    None => {
                        let n = row_count(db, &table).await.unwrap_or(0);
                        counts.insert(table.clone(), n);
                        n
                    }
                };
                if rows > options.large_table_rows && !s.full_scans.iter().any(|f| f.table == table)
                {
                    s.full_scans.push(FullScan {
                        table,
                        rows: Some(rows),
                    });
                }
            }
        }
        statements.push(s);
    }
    let mut notes = Vec::new();
    if statements.len() > 1 {
        notes.push(
            "Statements after the main one depend on the rows of earlier ones (child rows, included resources, the next types of $everything): their key values are those this database returned now; for other keys the SQL is the same with other values."
                .into(),
        );
    }
    let main = statements.iter().find(|s| !s.role.starts_with("the count"));
    if main.is_some_and(|s| s.rows == Some(0)) {
        notes.push("The main statement matched no rows, so nothing that depends on its rows ran: try a query that matches to see those statements too.".into());
    }
    if analyze {
        notes.push(
            db.dialect()
                .choose(
                    "Plans: EXPLAIN QUERY PLAN (SCAN = a whole table or index read, SEARCH = an index range).",
                    "Plans: EXPLAIN ANALYZE (each statement ran again, read-only).",
                    "Plans: ANALYZE (MariaDB) or EXPLAIN ANALYZE (MySQL): each statement ran again, read-only.",
                )
                .into(),
        );
    }
    Ok(ExplainReport {
        query: query.to_string(),
        database: db.dialect().to_string(),
        outcome,
        answered,
        statements,
        notes,
    })
}

async fn run(fhir: &Fhir, cx: &RequestContext, query: &str) -> Result<String, String> {
    let (interaction, params) = parse_query(query)?;
    let mapping = fhir.mapping();
    let bundle_size = |b: &SearchSet| {
        let n = b.entries();
        format!("a Bundle with {n} entr{}", if n == 1 { "y" } else { "ies" })
    };
    match interaction {
        Interaction::Read(t, id) => {
            let req =
                ReadRequest::parse(mapping, &t, &id, &params, true).map_err(|e| e.to_string())?;
            let found = fhir.read(cx, &req).await.map_err(|e| e.to_string())?;
            Ok(format!(
                "{t}/{} ({} elements)",
                id,
                found.resource.into_map().len()
            ))
        }
        Interaction::Search(t, compartment) => {
            let opts = fhir.search_options(true);
            let mut req =
                SearchRequest::parse(mapping, &opts, &t, &params).map_err(|e| e.to_string())?;
            if let Some(id) = compartment {
                req.compartment =
                    Some(Compartment::patient(mapping, &id, &t).map_err(|e| e.to_string())?);
            }
            let b = fhir.search(cx, &req).await.map_err(|e| e.to_string())?;
            Ok(bundle_size(&b))
        }
        Interaction::Everything(id) => {
            let req =
                EverythingRequest::parse(mapping, &id, &params, true, fhir.limits().max_count)
                    .map_err(|e| e.to_string())?;
            let b = fhir.everything(cx, &req).await.map_err(|e| e.to_string())?;
            Ok(bundle_size(&b))
        }
    }
}

/// What the main statement (the first that is neither a count nor child rows) reads.
const PAGE: &str = "the page of matches";

fn describe(
    mapping: &Mapping,
    dialect: Dialect,
    i: usize,
    e: &Recorded,
    query: &str,
    main_seen: &mut bool,
) -> ExplainedStatement {
    let sql = &e.statement.sql;
    let child = mapping.sources.iter().find_map(|src| {
        src.children.iter().find_map(|c| match &c.relation {
            Relation::Table(t) => {
                let t = unquoted(t);
                let from = [
                    format!("FROM \"{t}\" "),
                    format!("FROM `{t}` "),
                    format!("FROM {t} "),
                ];
                from.iter()
                    .any(|f| sql.contains(f.as_str()) && !sql.contains(" UNION ALL "))
                    .then(|| {
                        format!(
                            "child rows of {}.{} ({t}), for the keys of the rows above",
                            src.resource_type, c.written
                        )
                    })
            }
            Relation::Query(_) => None,
        })
    });
    let role = match child {
        _ if crate::plan::subquery::Subqueries::is_probe(sql) => format!(
            "sizes a sub-select of a chain, _has or lookup (at most {} rows): up to {} keys are listed in the statement, more make it a correlated EXISTS (on PostgreSQL only where its planner estimates fewer: see the next statement)",
            crate::plan::subquery::MAX_LISTED + 1,
            crate::plan::subquery::MAX_LISTED
        ),
        _ if sql.to_ascii_uppercase().starts_with("EXPLAIN ") => {
            "the planner's estimate of what it explains: a large sub-select (estimated as large too, it keeps the planner's own plan) or the matches (_total=estimate)".into()
        }
        Some(child) if *main_seen => child,
        _ if sql.to_ascii_uppercase().starts_with("SELECT COUNT(") => {
            "the count of matches (_total)".into()
        }
        _ if !*main_seen => {
            *main_seen = true;
            let read = !query.contains('?') && query.trim_matches('/').matches('/').count() == 1;
            if query.contains("$everything") {
                "the patient's row".into()
            } else if read {
                read_statement_role(mapping, query, sql)
            } else {
                PAGE.into()
            }
        }
        _ => "depends on the rows above: included or referenced resources, the next types of $everything".into(),
    };
    describe_as(dialect, i, e, role)
}

/// The role of a read's statement: the row, and the child tables it reads too.
fn read_statement_role(mapping: &Mapping, query: &str, sql: &str) -> String {
    let path = query
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_matches('/');
    let with: Vec<&str> = match path.split_once('/') {
        Some((t, id)) if sql.contains(crate::plan::read::PARTS) => mapping
            .locate(t, id)
            .map(|(source, _)| {
                source
                    .children
                    .iter()
                    .filter(|c| c.parent_key == source.id.value)
                    .map(|c| c.written.as_str())
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    super::explain_plan::read_role(&with)
}

fn describe_as(dialect: Dialect, i: usize, e: &Recorded, role: String) -> ExplainedStatement {
    ExplainedStatement {
        number: i + 1,
        role,
        sql: e.statement.sql.clone(),
        params: e
            .statement
            .params
            .iter()
            .map(|v| param_literal(dialect, v))
            .collect(),
        rows: e.outcome.as_ref().ok().copied(),
        error: e.outcome.as_ref().err().cloned(),
        millis: Some((e.elapsed.as_secs_f64() * 1000.0 * 100.0).round() / 100.0),
        runs: None,
        plan: Vec::new(),
        full_scans: Vec::new(),
    }
}

pub(super) fn unquoted(name: &str) -> &str {
    name.trim_matches(|c| c == '"' || c == '`')
}

/// Lower-case alias (and table name) → table name, for the aliases plans name tables by.
pub(super) fn aliases(mapping: &Mapping) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut add = |alias: &str, relation: &Relation| {
        if let Relation::Table(t) = relation {
            let t = unquoted(t).to_string();
            out.insert(alias.to_ascii_lowercase(), t.clone());
            out.insert(t.to_ascii_lowercase(), t);
        }
    };
    for s in &mapping.sources {
        add(&s.alias, &s.relation);
        for j in &s.joins {
            add(&j.alias, &Relation::Table(j.table.clone()));
        }
        for c in &s.children {
            add(&c.alias, &c.relation);
        }
    }
    out
}

/// The database's plan of `stmt`, one line per node, and the tables (or aliases) it reads
/// whole.
async fn plan_of(db: &Database, stmt: &Statement) -> (Vec<String>, Vec<String>) {
    let dialect = db.dialect();
    let mut last_error = String::new();
    for prefix in plan_prefixes(dialect) {
        let explain = Statement {
            sql: format!("{prefix}{}", stmt.sql),
            params: stmt.params.clone(),
            parts: None,
        };
        match db.fetch(&explain).await {
            Ok(rows) => return read_plan(dialect, &rows),
            Err(e) => last_error = e.to_string(),
        }
    }
    (vec![format!("(no plan: {last_error})")], Vec::new())
}

impl ExplainReport {
    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} on {}", self.query, self.database);
        let planned = self.statements.iter().any(|s| s.runs.is_some());
        let _ = writeln!(
            out,
            "{}: {}",
            match (self.answered, planned) {
                (false, _) => "refused",
                (true, true) => "plan",
                (true, false) => "answer",
            },
            self.outcome
        );
        let _ = writeln!(
            out,
            "{} SQL statement{}:",
            self.statements.len(),
            if self.statements.len() == 1 { "" } else { "s" }
        );
        for s in &self.statements {
            let _ = writeln!(out, "\n-- [{}] {}", s.number, s.role);
            let _ = writeln!(out, "{}", s.sql);
            if s.params.is_empty() {
                let _ = writeln!(out, "-- parameters: none");
            } else {
                let _ = writeln!(out, "-- parameters:");
                for (i, p) in s.params.iter().enumerate() {
                    let _ = writeln!(out, "--   {}: {p}", i + 1);
                }
            }
            let ms = s.millis.unwrap_or_default();
            match (&s.rows, &s.error) {
                (_, Some(e)) => {
                    let _ = writeln!(out, "-- failed after {ms} ms: {e}");
                }
                (Some(n), None) => {
                    let _ = writeln!(out, "-- {n} row(s) in {ms} ms");
                }
                _ => {}
            }
            if let Some(runs) = &s.runs {
                let _ = writeln!(out, "-- runs: {runs}");
            }
            if !s.plan.is_empty() {
                let _ = writeln!(out, "-- plan:");
                for l in &s.plan {
                    let _ = writeln!(out, "--   {l}");
                }
            }
            for f in &s.full_scans {
                let rows = match f.rows {
                    Some(n) => format!("{n} rows"),
                    None => "size not read".into(),
                };
                let _ = writeln!(
                    out,
                    "-- WARNING: full scan of {} ({rows}): unless a LIMIT stops it early, an index on what it compares may help (see `fhir-facade check`)",
                    f.table
                );
            }
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                let _ = writeln!(out, "Note: {n}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(q: &str) -> String {
        match parse_query(q) {
            Ok((Interaction::Read(t, id), _)) => format!("read {t} {id}"),
            Ok((Interaction::Search(t, c), p)) => format!("search {t} {c:?} {}", p.len()),
            Ok((Interaction::Everything(id), _)) => format!("everything {id}"),
            Err(_) => "error".into(),
        }
    }

    #[test]
    fn queries_are_split_into_interactions() {
        assert_eq!(
            kind("Observation?patient=12&code=8867-4&_count=5"),
            "search Observation None 3"
        );
        assert_eq!(kind("/Patient/1"), "read Patient 1");
        assert_eq!(kind("Patient/1/$everything"), "everything 1");
        assert_eq!(
            kind("http://x.org/fhir/Patient/1/Observation?code=a%7Cb"),
            "search Observation Some(\"1\") 1"
        );
        assert_eq!(kind("http://x.org/fhir/Patient"), "search Patient None 0");
        assert_eq!(kind("Patient/1/2/3"), "error");
    }
}
