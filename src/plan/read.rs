//! Statements that read one resource by id, and check that one exists.

use super::PlanError;
use super::context::{Context, write_from};
use super::scope::Scope;
use crate::mapping::sql::{write_columns, write_value};
use crate::mapping::{Mapping, Source, SourceLayout};
use crate::sql::{Caps, SqlWriter, Statement, Value};

/// A planned read.
pub struct ReadPlan<'a> {
    /// The source that serves the id.
    pub source: &'a Source,
    /// Its select layout.
    pub layout: SourceLayout,
    /// The statement.
    pub statement: Statement,
}

/// Plans the read of `resource_type`/`id`: `None` when no source can have it (another prefix,
/// letters for an integer key).
pub fn read<'a>(
    mapping: &'a Mapping,
    caps: &Caps,
    scope: &Scope,
    resource_type: &str,
    id: &str,
) -> Result<Option<ReadPlan<'a>>, PlanError> {
    let Some((source, key)) = mapping.locate(resource_type, id) else {
        return Ok(None);
    };
    let layout = SourceLayout::of(source);
    let mut w = SqlWriter::new(caps.dialect);
    write_columns(&mut w, &source.alias, &layout.columns);
    write_by_key(&mut w, &context(mapping, caps, scope, source), key)?;
    Ok(Some(ReadPlan {
        source,
        layout,
        statement: w.finish(),
    }))
}

/// `SELECT 1` when `resource_type`/`id` exists (no row otherwise); `None` when no source can
/// have it.
pub fn exists(
    mapping: &Mapping,
    caps: &Caps,
    scope: &Scope,
    resource_type: &str,
    id: &str,
) -> Result<Option<Statement>, PlanError> {
    let Some((source, key)) = mapping.locate(resource_type, id) else {
        return Ok(None);
    };
    let mut w = SqlWriter::new(caps.dialect);
    w.push("SELECT 1");
    write_by_key(&mut w, &context(mapping, caps, scope, source), key)?;
    Ok(Some(w.finish()))
}

fn context<'a>(
    mapping: &'a Mapping,
    caps: &'a Caps,
    scope: &'a Scope,
    source: &'a Source,
) -> Context<'a> {
    Context {
        mapping,
        caps,
        scope,
        source,
        subqueries: None,
    }
}

/// ` FROM <source> WHERE ... AND <key> = ?`, the key bound as the key column compares it
/// (so an index on a `CHAR(n)` key serves it on PostgreSQL too).
fn write_by_key(w: &mut SqlWriter, cx: &Context, key: Value) -> Result<(), PlanError> {
    let source = cx.source;
    write_from(w, cx)?;
    w.push(" AND ");
    write_value(w, &source.alias, &source.id.value);
    let key = key.to_param(cx.dialect());
    w.push(" = ").param_for(source.id.value.column_info(), key);
    Ok(())
}
