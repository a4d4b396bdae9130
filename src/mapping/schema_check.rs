//! Checks a compiled mapping against the live database's columns (pure; the columns are
//! introspected by [`crate::db`] and passed in).
//!
//! Column names in the mapping are matched to the real columns (exactly, else
//! case-insensitively) and replaced by the database's own spelling, so generated SQL can quote
//! them safely. Unknown tables and columns become errors naming the entry and close matches.

use std::collections::HashMap;

use super::error::{MappingError, did_you_mean, suggestions};
use super::model::{ColumnRef, Convert, ElementValue, Mapping, Primitive, Relation, SqlValue};
pub use crate::sql::DbColumn;

/// Columns of each relation, keyed by [`relation_key`]; `Err` holds the database's complaint.
pub type SchemaInfo = HashMap<String, Result<Vec<DbColumn>, String>>;

/// The key of a relation in [`SchemaInfo`].
pub fn relation_key(r: &Relation) -> String {
    match r {
        Relation::Table(t) => format!("table:{t}"),
        Relation::Query(q) => format!("sql:{q}"),
    }
}

/// Every distinct relation the mapping reads (sources, joins, children).
pub fn relations(mapping: &Mapping) -> Vec<Relation> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for s in &mapping.sources {
        let rels = std::iter::once(s.relation.clone())
            .chain(s.joins.iter().map(|j| Relation::Table(j.table.clone())))
            .chain(s.children.iter().map(|c| c.relation.clone()));
        for r in rels {
            if seen.insert(relation_key(&r)) {
                out.push(r);
            }
        }
    }
    out
}

/// Resolves every column of `mapping` against `schema`, or lists every problem.
pub fn apply_schema(mapping: &mut Mapping, schema: &SchemaInfo) -> Result<(), Vec<MappingError>> {
    let (errors, _) = apply_schema_each(mapping, schema);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Resolves every column of `mapping` against `schema`: every problem, and the indexes of the
/// sources that have one (their SQL cannot be checked further).
pub fn apply_schema_each(
    mapping: &mut Mapping,
    schema: &SchemaInfo,
) -> (Vec<MappingError>, Vec<usize>) {
    let mut errors = Vec::new();
    let mut failed = Vec::new();
    for (index, source) in mapping.sources.iter_mut().enumerate() {
        let before = errors.len();
        resolve_source(source, schema, &mut errors);
        if errors.len() > before {
            failed.push(index);
        }
    }
    (errors, failed)
}

fn resolve_source(source: &mut super::Source, schema: &SchemaInfo, errors: &mut Vec<MappingError>) {
    let entry = format!("resource \"{}\" ({})", source.name, source.resource_type);
    let mut tables: HashMap<Option<String>, (String, &[DbColumn])> = HashMap::new();
    let own = lookup(schema, &source.relation, source.line, &entry, errors);
    let Some(own) = own else { return };
    tables.insert(None, (describe(&source.relation), own));
    let mut joins_ok = true;
    for j in &source.joins {
        let rel = Relation::Table(j.table.clone());
        match lookup(schema, &rel, source.line, &entry, errors) {
            Some(cols) => {
                tables.insert(Some(j.alias.clone()), (describe(&rel), cols));
            }
            None => joins_ok = false,
        }
    }
    if !joins_ok {
        return;
    }
    let line = source.line;
    let fix = |v: &mut SqlValue, what: &str, line: usize, errors: &mut Vec<MappingError>| {
        if let SqlValue::Column(c) = v {
            resolve(c, &tables, &format!("{entry}, {what}"), line, errors);
        }
    };
    fix(&mut source.id.value, "id", line, errors);
    if let Some(v) = &mut source.last_updated {
        fix(v, "last_updated", line, errors);
    }
    if let Some(v) = &mut source.version {
        fix(v, "version", line, errors);
    }
    for el in &mut source.elements {
        if let ElementValue::Sql { value, convert } = &mut el.value {
            fix(
                value,
                &format!("element \"{}\"", el.written),
                el.line,
                errors,
            );
            set_scale(value, convert, &tables);
        }
    }
    for child in &mut source.children {
        fix(
            &mut child.parent_key,
            &format!("child \"{}\", parent_key", child.written),
            child.line,
            errors,
        );
        let centry = format!("{entry}, child \"{}\"", child.written);
        let Some(ccols) = lookup(schema, &child.relation, child.line, &centry, errors) else {
            continue;
        };
        let child_tables: HashMap<Option<String>, (String, &[DbColumn])> =
            HashMap::from([(None, (describe(&child.relation), ccols))]);
        resolve(
            &mut child.key,
            &child_tables,
            &format!("{centry}, key"),
            child.line,
            errors,
        );
        let values = child
            .elements
            .iter_mut()
            .map(|e| (format!("element \"{}\"", e.written), e.line, &mut e.value))
            .chain(
                child
                    .value
                    .iter_mut()
                    .map(|v| ("value".to_string(), child.line, &mut v.value)),
            );
        for (what, line, value) in values {
            if let ElementValue::Sql { value, convert } = value {
                if let SqlValue::Column(c) = value {
                    resolve(c, &child_tables, &format!("{centry}, {what}"), line, errors);
                }
                set_scale(value, convert, &child_tables);
            }
        }
    }
}

/// Carries a column's declared decimal places over to a decimal conversion.
fn set_scale(
    value: &SqlValue,
    convert: &mut Convert,
    tables: &HashMap<Option<String>, (String, &[DbColumn])>,
) {
    if let (
        SqlValue::Column(c),
        Convert::Primitive {
            to: Primitive::Decimal,
            scale,
            ..
        },
    ) = (value, convert)
        && let Some((_, cols)) = tables.get(&c.qualifier)
    {
        *scale = cols.iter().find(|d| d.name == c.name).and_then(|d| d.scale);
    }
}

fn describe(r: &Relation) -> String {
    match r {
        Relation::Table(t) => format!("table {t}"),
        Relation::Query(_) => "the source query".to_string(),
    }
}

fn lookup<'s>(
    schema: &'s SchemaInfo,
    rel: &Relation,
    line: usize,
    entry: &str,
    errors: &mut Vec<MappingError>,
) -> Option<&'s [DbColumn]> {
    match schema.get(&relation_key(rel)) {
        Some(Ok(cols)) => Some(cols),
        Some(Err(msg)) => {
            let (what, hint) = match rel {
                Relation::Table(t) => (
                    format!("table '{t}' cannot be read: {msg}"),
                    "check the table name (schema-qualify it if needed, e.g. dbo.PATIENT) and that the database user may SELECT from it",
                ),
                Relation::Query(_) => (
                    format!("the `sql` query fails: {msg}"),
                    "run the query in your database client and fix it",
                ),
            };
            errors.push(MappingError::new(line, entry, what).hint(hint));
            None
        }
        None => None,
    }
}

fn resolve(
    c: &mut ColumnRef,
    tables: &HashMap<Option<String>, (String, &[DbColumn])>,
    entry: &str,
    line: usize,
    errors: &mut Vec<MappingError>,
) {
    let Some((what, cols)) = tables.get(&c.qualifier) else {
        return;
    };
    if let Some(col) = cols.iter().find(|d| d.name == c.name) {
        check_decodable(col, entry, line, errors);
        c.info = col.info();
        return;
    }
    let ci: Vec<&DbColumn> = cols
        .iter()
        .filter(|d| d.name.eq_ignore_ascii_case(&c.name))
        .collect();
    if let [col] = ci.as_slice() {
        check_decodable(col, entry, line, errors);
        c.name = col.name.clone();
        c.info = col.info();
        return;
    }
    let sug = suggestions(&c.name, cols.iter().map(|d| d.name.as_str()));
    errors.push(
        MappingError::new(
            line,
            entry,
            format!("{what} has no column '{}'.{}", c.name, did_you_mean(&sug)),
        )
        .hint(format!(
            "use one of its columns: {}",
            cols.iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    );
}

fn check_decodable(col: &DbColumn, entry: &str, line: usize, errors: &mut Vec<MappingError>) {
    if !col.decodable {
        errors.push(
            MappingError::new(
                line,
                entry,
                format!(
                    "column '{}' has type {}, which the façade cannot read",
                    col.name, col.type_name
                ),
            )
            .hint("use an `expr` that casts it to text or a number, e.g. CAST(COL AS VARCHAR(50))"),
        );
    }
}
