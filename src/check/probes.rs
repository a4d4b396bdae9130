//! Representative searches of every declared parameter, prepared by the database (not run).

use crate::db::Database;
use crate::fhir::SearchParamType;
use crate::mapping::{Mapping, MappingError, SearchDecl, SearchTarget};
use crate::plan::{self, Scope};
use crate::request::search::{SearchOptions, SearchRequest};
use crate::search::modifier::declared_modifiers;
use crate::sql::Caps;

/// A value of each parameter type that every mapping accepts.
fn sample_value(param_type: SearchParamType) -> Option<&'static str> {
    Some(match param_type {
        SearchParamType::Token => "http://example.org|x",
        SearchParamType::String => "x",
        SearchParamType::Date => "ge2000-01-01",
        SearchParamType::Number => "1",
        SearchParamType::Quantity => "1",
        SearchParamType::Reference => "x",
        SearchParamType::Uri => "http://example.org",
        _ => return None,
    })
}

/// The queries that exercise declared parameter `d`: a value, each modifier it takes
/// (`:missing` always: refused where it is not taken), a sort.
fn queries(d: &SearchDecl) -> Vec<Vec<(String, String)>> {
    let code = &d.code;
    let plain_value = d.is_sql_defined();
    let mut out = Vec::new();
    if let Some(v) = sample_value(d.param_type) {
        // A custom parameter defined by SQL takes a plain value (no system).
        let v = if plain_value {
            v.rsplit('|').next().unwrap_or(v)
        } else {
            v
        };
        out.push(vec![(code.to_string(), v.to_string())]);
    }
    for m in declared_modifiers(d) {
        let v = match m {
            "text" | "not" | "exact" | "contains" => "x",
            "below" | "above" => "http://example.org/x",
            _ => continue,
        };
        out.push(vec![(format!("{code}:{m}"), v.to_string())]);
    }
    out.push(vec![(format!("{code}:missing"), "true".into())]);
    out.push(vec![("_sort".into(), code.to_string())]);
    out
}

/// Plans every declared search parameter of every type with representative values and has
/// the database prepare each page statement (compiling it, not running it). Requests the
/// planner refuses (a parameter that cannot be sorted on...) are what clients would be told;
/// only statements the database refuses are problems of the mapping.
/// Types in `skip` are left out (their sources failed an earlier check).
pub async fn search_probes(
    mapping: &Mapping,
    db: &Database,
    caps: &Caps,
    skip: &std::collections::HashSet<String>,
) -> Vec<MappingError> {
    let opts = SearchOptions {
        base_url: "http://localhost/fhir",
        max_count: 10,
        max_chain_depth: 1,
        lenient: false,
        limits: Default::default(),
    };
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for source in mapping
        .sources
        .iter()
        .filter(|s| !skip.contains(&s.resource_type))
    {
        for d in &source.search {
            if !seen.insert((source.resource_type.clone(), d.code.clone())) {
                continue;
            }
            let plain = d.targets.iter().any(|t| matches!(t, SearchTarget::Sql(_)));
            for params in queries(d) {
                let Ok(req) = SearchRequest::parse(mapping, &opts, &source.resource_type, &params)
                else {
                    continue;
                };
                let Ok(plan) = plan::search(mapping, caps, Scope::none(), &req, None) else {
                    continue;
                };
                if let Err(e) = db.describe(&plan.page.statement.sql).await {
                    let query = params
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("&");
                    let mut err = MappingError::new(
                        d.line,
                        format!(
                            "resource \"{}\" ({}), search \"{}\"",
                            source.name, source.resource_type, d.code
                        ),
                        format!(
                            "the database refuses the SQL of {}?{query}: {e}",
                            source.resource_type
                        ),
                    );
                    err = err.hint(match (d.param_type, plain) {
                        (_, true) => "check the `sql` condition and its `modifiers` against your database (each ? receives the search value: a code, a string or a uri as text, a number as a decimal)",
                        (SearchParamType::Date, _) => "a date stored as text needs its `format` (e.g. format = \"%Y-%m-%d\"), or an `expr` that converts it",
                        _ => "declare the SQL type of the expressions it searches (type = \"...\") or fix them",
                    });
                    errors.push(err);
                    break;
                }
            }
        }
    }
    errors
}

/// Has the database prepare the read statement of every source whose row and child tables are
/// read in one statement (not run): it numbers child rows with a window function
/// (`ROW_NUMBER() OVER (...)`), which older databases (MySQL 5.7) lack, and that is better
/// said at start-up than by a first read.
pub async fn read_probes(
    mapping: &Mapping,
    db: &Database,
    caps: &Caps,
    skip: &std::collections::HashSet<String>,
) -> Vec<MappingError> {
    let mut errors = Vec::new();
    for source in mapping
        .sources
        .iter()
        .filter(|s| !skip.contains(&s.resource_type) && !s.children.is_empty())
    {
        let key = if source.id.integer() { "1" } else { "x" };
        let id = format!("{}{key}", source.id.prefix);
        let Ok(Some(plan)) = plan::read(mapping, caps, Scope::none(), &source.resource_type, &id)
        else {
            continue;
        };
        if plan.children.is_none() || !std::ptr::eq(plan.source, source) {
            continue;
        }
        if let Err(e) = db.describe(&plan.statement.sql).await {
            errors.push(
                MappingError::new(
                    source.line,
                    format!("resource \"{}\" ({})", source.name, source.resource_type),
                    format!(
                        "the database refuses the SQL of a read (the row and its child tables in one statement): {e}"
                    ),
                )
                .hint("reads number child rows with ROW_NUMBER() OVER (...): the database needs window functions (SQLite 3.25, MySQL 8.0, MariaDB 10.2 or later); check the child tables' `filter` and `order_by`"),
            );
        }
    }
    errors
}
