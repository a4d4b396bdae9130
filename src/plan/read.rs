//! Statements that read one resource by id, and check that one exists.
//!
//! A read is one statement, child tables included: the resource's row, read as a read without
//! children reads it (in a derived table), is cross-joined with a small table of part numbers,
//! and each child table is a derived table of its rows for the id's key, left-joined on its
//! part number only:
//!
//! ```sql
//! SELECT fhir_row.fhir_r0, …, fhir_parts.fhir_part, fhir_child0.fhir_v0, …, fhir_child1.fhir_v0, …
//! FROM (SELECT <row columns AS fhir_rN> FROM <source> LEFT JOIN <lookups>
//!       WHERE (<filter>) <scope> AND <id> = ?) fhir_row
//! CROSS JOIN (SELECT 0 AS fhir_part UNION ALL SELECT 1 UNION ALL SELECT 2) fhir_parts
//! LEFT JOIN (SELECT <child columns AS fhir_vN>, ROW_NUMBER() OVER (ORDER BY <order_by>) AS fhir_seq
//!            FROM <child relation> <alias> WHERE (<filter>) AND <alias>.<key> = ?) fhir_child0
//!   ON fhir_parts.fhir_part = 1
//! LEFT JOIN (…) fhir_child1 ON fhir_parts.fhir_part = 2
//! ORDER BY fhir_parts.fhir_part, fhir_child0.fhir_seq, fhir_child1.fhir_seq
//! ```
//!
//! Part 0 is the resource's row, part k+1 the rows of child k (one all-NULL row when it has
//! none). Each child's statement is the one [`crate::mapping::sql::child_rows`] writes for one
//! key, closed in its own derived table: its `filter`, `order_by` and `expr` resolve their
//! names in the child relation alone, as they do there, its key is bound as it binds it (so
//! its key index serves it), and its `order_by` becomes a row number. The row's own SQL
//! (filter, joins, scope) is closed in its derived table the same way, so no alias or column
//! name of the mapping meets another. Only children whose parent key is the id are read this
//! way (their key is then the one the read binds); others are read apart, as for a page of a
//! search.

use super::PlanError;
use super::context::{Context, write_from};
use super::scope::Scope;
use crate::mapping::sql::{write_columns, write_numbered_from, write_value};
use crate::mapping::{Child, ChildLayout, Mapping, Source, SourceLayout, SqlValue};
use crate::sql::{Caps, SqlWriter, Statement, Value};

/// Alias of the derived table of part numbers in a read with child tables.
pub const PARTS: &str = "fhir_parts";

/// Alias of the derived table of the resource's row in a read with child tables.
const ROW: &str = "fhir_row";

/// A planned read.
pub struct ReadPlan<'a> {
    /// The source that serves the id.
    pub source: &'a Source,
    /// Its select layout.
    pub layout: SourceLayout,
    /// The statement.
    pub statement: Statement,
    /// Where the statement's rows carry child rows (`None`: the statement reads the row alone,
    /// every child table is read apart).
    pub children: Option<ReadChildren>,
}

/// How the child rows read by a read's statement come back in its rows: each row is the
/// resource's row (the layout's columns), then the part number, then the columns of each
/// child read, in the order of `starts`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadChildren {
    /// Position of the part number: 0 for the resource's row, `k + 1` for a row of child `k`.
    pub part: usize,
    /// Per child of the source: where its layout's columns start in a row, or `None` when it
    /// is read apart.
    pub starts: Vec<Option<usize>>,
    /// The key the children were read for (the id's): a resource's row whose parent key is
    /// not this one has its children read apart.
    pub key: Value,
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
    let cx = context(mapping, caps, scope, source);
    let mut w = SqlWriter::new(caps.dialect);
    let inline: Vec<bool> = source
        .children
        .iter()
        .map(|c| c.parent_key == source.id.value)
        .collect();
    if !inline.contains(&true) {
        write_columns(&mut w, &source.alias, &layout.columns);
        write_by_key(&mut w, &cx, key)?;
        return Ok(Some(ReadPlan {
            source,
            layout,
            statement: w.finish(),
            children: None,
        }));
    }
    let part = layout.columns.len();
    w.push("SELECT ");
    for j in 0..part {
        w.push(&format!("{ROW}.fhir_r{j}, "));
    }
    w.push(PARTS).push(".fhir_part");
    let mut starts = Vec::with_capacity(inline.len());
    let mut next = part + 1;
    for (i, (child, read)) in source.children.iter().zip(&inline).enumerate() {
        if !read {
            starts.push(None);
            continue;
        }
        starts.push(Some(next));
        let n = ChildLayout::of(child).columns.len();
        for j in 0..n {
            w.push(&format!(", {}.fhir_v{j}", child_alias(i)));
        }
        next += n;
    }
    // The row is read as a read without children reads it, in a derived table of its own
    // (its scope right after its FROM, its names resolved in its own relations).
    w.push(" FROM (SELECT ");
    for (j, c) in layout.columns.iter().enumerate() {
        if j > 0 {
            w.push(", ");
        }
        write_value(&mut w, &source.alias, c);
        w.push(&format!(" AS fhir_r{j}"));
    }
    write_by_key(&mut w, &cx, key.clone())?;
    w.push(") ").push(ROW);
    w.push(" CROSS JOIN (SELECT 0 AS fhir_part");
    for (i, _) in inline.iter().enumerate().filter(|(_, r)| **r) {
        w.push(&format!(" UNION ALL SELECT {}", i + 1));
    }
    w.push(") ").push(PARTS);
    for (i, child) in source.children.iter().enumerate() {
        if inline[i] {
            w.push(" LEFT JOIN (");
            write_child(&mut w, child, &ChildLayout::of(child), &key);
            w.push(") ").push(&child_alias(i));
            w.push(&format!(" ON {PARTS}.fhir_part = {}", i + 1));
        }
    }
    w.push(" ORDER BY ").push(PARTS).push(".fhir_part");
    for (i, _) in inline.iter().enumerate().filter(|(_, r)| **r) {
        w.push(", ").push(&child_alias(i)).push(".fhir_seq");
    }
    Ok(Some(ReadPlan {
        source,
        layout,
        statement: w.finish(),
        children: Some(ReadChildren { part, starts, key }),
    }))
}

/// Alias of the derived table of child `i`'s rows.
fn child_alias(i: usize) -> String {
    format!("fhir_child{i}")
}

/// The rows of `child` for `key`, as [`crate::mapping::sql::child_rows`] reads them, each
/// column named `fhir_vN` (N its position in the child's layout), then their order as
/// `fhir_seq` (the database's order without an `order_by`).
fn write_child(w: &mut SqlWriter, child: &Child, layout: &ChildLayout, key: &Value) {
    w.push("SELECT ");
    for (j, c) in layout.columns.iter().enumerate() {
        write_value(w, &child.alias, c);
        w.push(&format!(" AS fhir_v{j}, "));
    }
    write_numbered_from(w, child);
    write_value(w, &child.alias, &SqlValue::Column(child.key.clone()));
    let key = key.to_param(w.dialect());
    w.push(" = ").param_for(Some(&child.key.info), key);
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
    write_from(w, cx)?;
    write_id(w, cx.source, &key, cx.caps);
    Ok(())
}

/// ` AND <id> = ?`.
fn write_id(w: &mut SqlWriter, source: &Source, key: &Value, caps: &Caps) {
    w.push(" AND ");
    write_value(w, &source.alias, &source.id.value);
    let key = key.to_param(caps.dialect);
    w.push(" = ").param_for(source.id.value.column_info(), key);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Dialect;

    fn sample(dialect: Dialect) -> Mapping {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml");
        crate::mapping::load(path, dialect).unwrap()
    }

    /// A patient with a child by its id, a child by another column of the row, and a child
    /// given as a query (whose filter and order name its columns unqualified).
    const MAPPING: &str = r#"
[[resource]]
type = "Patient"
table = "PATIENT"
alias = "P"
id = "PAT_ID"
filter = "DEL_FLG <> 'Y'"
[resource.elements]
"name[0].family" = "LAST_NM"

[[resource.child]]
path = "telecom"
table = "PAT_PHONE"
alias = "PH"
key = "PAT_ID"
filter = "PHONE_NO <> ''"
order_by = "SEQ_NO DESC, PHONE_NO"
[resource.child.elements]
value = "PHONE_NO"

[[resource.child]]
path = "identifier"
table = "MRN"
key = "MRN_NO"
parent_key = "MRN_NO"
[resource.child.elements]
value = "MRN_NO"

[[resource.child]]
path = "address"
sql = "SELECT PAT_ID, LINE1, 1 AS POS FROM PAT_ADDR"
key = "PAT_ID"
[resource.child.elements]
"line[0]" = "LINE1"
"#;

    fn plan<'a>(m: &'a Mapping, dialect: Dialect) -> ReadPlan<'a> {
        read(m, &Caps::of(dialect), Scope::none(), "Patient", "7")
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_read_of_the_sample_patient_is_one_statement_with_its_three_child_tables() {
        for dialect in Dialect::ALL {
            let m = sample(dialect);
            let p = plan(&m, dialect);
            let sql = &p.statement.sql;
            let q = |name: &str| dialect.quote_ident(name);
            let c = p.children.as_ref().expect("children read with the row");
            let n = p.layout.columns.len();
            assert_eq!(c.part, n, "{sql}");
            let widths: Vec<usize> = p
                .source
                .children
                .iter()
                .map(|c| ChildLayout::of(c).columns.len())
                .collect();
            assert_eq!(
                c.starts,
                vec![
                    Some(n + 1),
                    Some(n + 1 + widths[0]),
                    Some(n + 1 + widths[0] + widths[1])
                ],
                "{dialect}"
            );
            assert!(
                sql.contains(
                    " CROSS JOIN (SELECT 0 AS fhir_part UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) fhir_parts LEFT JOIN (SELECT "
                ),
                "{sql}"
            );
            for (i, (table, order)) in [
                ("PAT_IDENT", "ID_TYP"),
                ("PAT_PHONE", "SEQ_NO"),
                ("PAT_ADDR", "ADDR_SEQ"),
            ]
            .into_iter()
            .enumerate()
            {
                let key = format!("{table}.{}", q("PAT_ID"));
                let first = format!("LEFT JOIN (SELECT {key} AS fhir_v0, ");
                assert!(sql.contains(&first), "{first}\n{sql}");
                let derived = format!(
                    "ROW_NUMBER() OVER (ORDER BY {order}) AS fhir_seq FROM {table} {table} WHERE {key} = {}) fhir_child{i} ON fhir_parts.fhir_part = {}",
                    dialect.placeholder(i + 2),
                    i + 1
                );
                assert!(sql.contains(&derived), "{derived}\n{sql}");
            }
            // The row as a read without children reads it, in its derived table, first.
            let row = format!(
                " FROM PATIENT PATIENT WHERE (DEL_FLG <> 'Y') AND PATIENT.{} = {}) fhir_row CROSS JOIN (SELECT 0 AS fhir_part",
                q("PAT_ID"),
                dialect.placeholder(1)
            );
            assert!(sql.contains(&row), "{row}\n{sql}");
            let first = format!(" FROM (SELECT PATIENT.{} AS fhir_r0, ", q("PAT_ID"));
            assert!(
                sql.starts_with("SELECT fhir_row.fhir_r0, fhir_row.fhir_r1, ")
                    && sql.contains(&first),
                "{sql}"
            );
            assert!(
                sql.ends_with(" ORDER BY fhir_parts.fhir_part, fhir_child0.fhir_seq, fhir_child1.fhir_seq, fhir_child2.fhir_seq"),
                "{sql}"
            );
            // The id, then the children's keys, bound as the child statements bind them.
            assert_eq!(p.statement.params.len(), 4);
            assert!(
                p.statement
                    .params
                    .iter()
                    .all(|v| *v == p.statement.params[0])
            );
            assert_eq!(c.key, m.locate("Patient", "7").unwrap().1);
        }
    }

    #[test]
    fn a_child_keyed_by_another_column_of_the_row_is_read_apart() {
        let m = crate::mapping::parse("test.toml", MAPPING, Dialect::Postgres).unwrap();
        let p = plan(&m, Dialect::Postgres);
        let sql = &p.statement.sql;
        let c = p.children.as_ref().unwrap();
        let n = p.layout.columns.len();
        assert_eq!(c.starts[1], None, "{sql}");
        let phone = ChildLayout::of(&p.source.children[0]).columns.len();
        assert_eq!(c.starts, vec![Some(n + 1), None, Some(n + 1 + phone)]);
        // Parts 1 and 3: child 1 is not in the statement.
        assert!(
            sql.contains(
                "(SELECT 0 AS fhir_part UNION ALL SELECT 1 UNION ALL SELECT 3) fhir_parts"
            ),
            "{sql}"
        );
        assert!(!sql.contains("FROM MRN"), "{sql}");
        // The filter and order of a child stay in its own derived table, with its alias.
        assert!(
            sql.contains(
                "ROW_NUMBER() OVER (ORDER BY SEQ_NO DESC, PHONE_NO) AS fhir_seq FROM PAT_PHONE PH WHERE (PHONE_NO <> '') AND PH.\"PAT_ID\" = $2) fhir_child0 ON fhir_parts.fhir_part = 1"
            ),
            "{sql}"
        );
        // A child query is a derived table inside its own; without an order, the database's.
        assert!(
            sql.contains(
                "ROW_NUMBER() OVER () AS fhir_seq FROM (SELECT PAT_ID, LINE1, 1 AS POS FROM PAT_ADDR) child WHERE child.\"PAT_ID\" = $3) fhir_child2 ON fhir_parts.fhir_part = 3"
            ),
            "{sql}"
        );
        assert!(
            sql.contains(
                " FROM PATIENT P WHERE (DEL_FLG <> 'Y') AND P.\"PAT_ID\" = $1) fhir_row CROSS JOIN "
            ) && sql.ends_with(
                " ORDER BY fhir_parts.fhir_part, fhir_child0.fhir_seq, fhir_child2.fhir_seq"
            ),
            "{sql}"
        );
    }

    #[test]
    fn without_a_child_keyed_by_the_id_the_row_is_read_alone() {
        let alone = "SELECT P.\"PAT_ID\", P.\"MRN_NO\", P.\"LAST_NM\" FROM PATIENT P WHERE (DEL_FLG <> 'Y') AND P.\"PAT_ID\" = $1";
        let only_mrn = MAPPING
            .split("[[resource.child]]")
            .enumerate()
            .filter(|(i, _)| *i != 1 && *i != 3)
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join("[[resource.child]]");
        let m = crate::mapping::parse("test.toml", &only_mrn, Dialect::Postgres).unwrap();
        let p = plan(&m, Dialect::Postgres);
        assert!(p.children.is_none());
        assert_eq!(p.statement.sql, alone);
    }
}
