//! The mapping's SQL fragments written out: a mapped value (a qualified column or an
//! expression), a relation, a source's `FROM ... WHERE <filter>`, and the batched read of a
//! child table's rows. Text written here comes from the mapping file only. The planner builds
//! every statement on these (adding the request's scope to every source it reads); start-up
//! probes use them as they are.

use super::layout::{ChildLayout, SourceLayout};
use super::{Child, Relation, Source, SqlValue};
use crate::sql::{Dialect, Row, SqlWriter, Statement, Value};

/// Writes a selected value: a qualified, quoted column or a parenthesized expression.
pub fn write_value(w: &mut SqlWriter, alias: &str, v: &SqlValue) {
    match v {
        SqlValue::Column(c) => {
            if c.info.as_text {
                w.push("CAST(");
            }
            // Aliases are written unquoted, exactly as the mapping's own SQL fragments (filters,
            // join conditions) refer to them; column names are the database's real spelling.
            w.push(c.qualifier.as_deref().unwrap_or(alias));
            w.push(".").ident(&c.name);
            if c.info.as_text {
                w.push(" AS text)");
            }
        }
        SqlValue::Expr(e) if e.info.as_text => {
            w.push("CAST((").push(&e.sql).push(") AS text)");
        }
        SqlValue::Expr(e) => {
            w.push("(").push(&e.sql).push(")");
        }
    }
}

/// The SQL text of a mapped value of the relation `alias` ([`write_value`]).
pub fn value_sql(dialect: Dialect, alias: &str, v: &SqlValue) -> String {
    let mut w = SqlWriter::new(dialect);
    write_value(&mut w, alias, v);
    w.finish().sql
}

/// `<table> <alias>` or `(<query>) <alias>`.
pub fn write_relation(w: &mut SqlWriter, relation: &Relation, alias: &str) {
    match relation {
        Relation::Table(t) => w.push(t),
        Relation::Query(q) => w.push("(").push(q).push(")"),
    };
    w.push(" ").push(alias);
}

/// `SELECT <columns>` of a layout, qualified with `alias`.
pub fn write_columns(w: &mut SqlWriter, alias: &str, columns: &[SqlValue]) {
    w.push("SELECT ");
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        write_value(w, alias, c);
    }
}

/// `SELECT <columns> FROM <source> LEFT JOIN <lookups> WHERE (<filter>)`, unscoped.
pub fn write_select(w: &mut SqlWriter, source: &Source, layout: &SourceLayout) {
    write_columns(w, &source.alias, &layout.columns);
    write_from(w, source);
}

/// ` FROM <source> LEFT JOIN <lookups> WHERE (<filter>)`: what follows a select list. Unscoped:
/// the planner's statements go through `plan`'s scoped writer, which adds the request's scope.
pub fn write_from(w: &mut SqlWriter, source: &Source) {
    w.push(" FROM ");
    write_relation(w, &source.relation, &source.alias);
    for j in &source.joins {
        w.push(" LEFT JOIN ")
            .push(&j.table)
            .push(" ")
            .push(&j.alias);
        w.push(" ON (").push(&j.on).push(")");
    }
    w.push(" WHERE ");
    match &source.filter {
        Some(f) => w.push("(").push(f).push(")"),
        None => w.push("1=1"),
    };
}

/// Reads the rows of `child` for every parent key in `keys`, in one statement (no key: a
/// statement that returns nothing, used as a start-up probe). The parents are read by the
/// planner, in the request's scope; their child rows are part of them.
pub fn child_rows(
    child: &Child,
    layout: &ChildLayout,
    keys: &[Value],
    dialect: Dialect,
) -> Statement {
    let mut w = SqlWriter::new(dialect);
    write_columns(&mut w, &child.alias, &layout.columns);
    w.push(" FROM ");
    write_relation(&mut w, &child.relation, &child.alias);
    w.push(" WHERE ");
    if let Some(f) = &child.filter {
        w.push("(").push(f).push(") AND ");
    }
    if keys.is_empty() {
        w.push("1=0");
    } else {
        let key = value_sql(dialect, &child.alias, &SqlValue::Column(child.key.clone()));
        let params = keys.iter().map(|k| k.to_param(dialect));
        w.in_list(&key, Some(&child.key.info), params);
    }
    if let Some(o) = &child.order_by {
        w.push(" ORDER BY ").push(o);
    }
    w.finish()
}

/// `ROW_NUMBER() OVER (ORDER BY <order_by>) AS fhir_seq FROM <relation> WHERE (<filter>) AND `:
/// the end of a child's select whose rows carry their order as a number (the database's
/// order without an `order_by`), up to its key comparison, for statements that read a child
/// with other rows (a read's, [`children_rows`]).
pub fn write_numbered_from(w: &mut SqlWriter, child: &Child) {
    w.push("ROW_NUMBER() OVER (");
    if let Some(o) = &child.order_by {
        w.push("ORDER BY ").push(o);
    }
    w.push(") AS fhir_seq FROM ");
    write_relation(w, &child.relation, &child.alias);
    w.push(" WHERE ");
    if let Some(f) = &child.filter {
        w.push("(").push(f).push(") AND ");
    }
}

/// One child table read by [`children_rows`]: its rows for the parent keys `keys`.
pub struct ChildRead<'a> {
    /// The child table.
    pub child: &'a Child,
    /// Its select layout.
    pub layout: &'a ChildLayout,
    /// The parent keys whose rows are read (at least one).
    pub keys: &'a [Value],
}

/// Reads the rows of several child tables for their parent keys in one statement (one round
/// trip instead of one per child table), a `UNION ALL` of one branch per child:
///
/// ```sql
/// SELECT 0 AS fhir_part, <child 0 columns>, NULL, …, NULL,
///        ROW_NUMBER() OVER (ORDER BY <child 0 order_by>) AS fhir_seq
///   FROM <child 0 relation> WHERE (<filter>) AND <key> IN (?, …)
/// UNION ALL SELECT 1, NULL, …, <child 1 columns>, …, ROW_NUMBER() OVER (…) FROM … WHERE …
/// ```
///
/// Each branch is the statement [`child_rows`] writes for that child alone (its `filter`,
/// `order_by` and `expr`s resolve their names in its own relation), its `order_by` turned into
/// a row number: [`split_children_rows`] gives each child its rows back, in that order. On
/// PostgreSQL, which types a column that is NULL in the first two branches as text (and then
/// fails on the third's type), a first branch that returns no row types every column as its
/// child does: `SELECT 0, fhir_c0.*, fhir_c1.*, …, 0 FROM (SELECT <child 0 columns> FROM
/// <child 0 relation> WHERE 1=0) fhir_c0 CROSS JOIN …`.
pub fn children_rows(reads: &[ChildRead], dialect: Dialect) -> Statement {
    let widths: Vec<usize> = reads.iter().map(|r| r.layout.columns.len()).collect();
    let mut w = SqlWriter::new(dialect);
    if dialect.types_union_nulls_as_text() {
        w.push("SELECT 0 AS fhir_part");
        for i in 0..reads.len() {
            w.push(&format!(", fhir_c{i}.*"));
        }
        w.push(", CAST(0 AS BIGINT) AS fhir_seq FROM ");
        for (i, r) in reads.iter().enumerate() {
            if i > 0 {
                w.push(" CROSS JOIN ");
            }
            w.push("(");
            write_columns(&mut w, &r.child.alias, &r.layout.columns);
            w.push(" FROM ");
            write_relation(&mut w, &r.child.relation, &r.child.alias);
            w.push(&format!(" WHERE 1=0) fhir_c{i}"));
        }
        w.push(" UNION ALL ");
    }
    for (i, r) in reads.iter().enumerate() {
        if i > 0 {
            w.push(" UNION ALL ");
        }
        let child = r.child;
        w.push(&format!("SELECT {i} AS fhir_part"));
        for (j, width) in widths.iter().enumerate() {
            if j == i {
                for c in &r.layout.columns {
                    w.push(", ");
                    write_value(&mut w, &child.alias, c);
                }
            } else {
                for _ in 0..*width {
                    w.push(", NULL");
                }
            }
        }
        w.push(", ");
        write_numbered_from(&mut w, child);
        let key = value_sql(dialect, &child.alias, &SqlValue::Column(child.key.clone()));
        let params = r.keys.iter().map(|k| k.to_param(dialect));
        w.in_list(&key, Some(&child.key.info), params);
    }
    let mut stmt = w.finish();
    stmt.parts = Some(widths);
    stmt
}

/// The rows of a [`children_rows`] statement given back to its children, each child's own
/// columns in its `order_by`: the rows as the database layer decodes such a statement
/// ([`Statement::parts`]: the branch number, that branch's own columns, its row number).
/// `None` when a row is not one that statement returns.
pub fn split_children_rows(rows: Vec<Row>, widths: &[usize]) -> Option<Vec<Vec<Row>>> {
    let mut parts: Vec<Vec<(u64, Row)>> = widths.iter().map(|_| Vec::new()).collect();
    for mut row in rows {
        let part = usize::try_from(row.first()?.as_u64()?).ok()?;
        if row.len() != widths.get(part)? + 2 {
            return None;
        }
        let seq = row.pop()?.as_u64()?;
        row.remove(0);
        parts[part].push((seq, row));
    }
    Some(
        parts
            .into_iter()
            .map(|mut p| {
                // Stable: rows without an `order_by` (numbered in the database's order) keep
                // the order they came in.
                p.sort_by_key(|(seq, _)| *seq);
                p.into_iter().map(|(_, row)| row).collect()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Mapping;

    fn sample(dialect: Dialect) -> Mapping {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml");
        crate::mapping::load(path, dialect).unwrap()
    }

    fn patient(m: &Mapping) -> &Source {
        m.sources
            .iter()
            .find(|s| s.resource_type == "Patient")
            .unwrap()
    }

    #[test]
    fn child_tables_are_read_in_one_union_each_branch_its_own_columns_and_order() {
        for dialect in Dialect::ALL {
            let m = sample(dialect);
            let source = patient(&m);
            let layouts: Vec<ChildLayout> = source.children.iter().map(ChildLayout::of).collect();
            let keys: Vec<Vec<Value>> = vec![
                vec![Value::Int(7), Value::Int(9)],
                vec![Value::Int(7)],
                vec![Value::Int(7), Value::Int(8), Value::Int(9), Value::Int(9)],
            ];
            let reads: Vec<ChildRead> = source
                .children
                .iter()
                .zip(&layouts)
                .zip(&keys)
                .map(|((child, layout), keys)| ChildRead {
                    child,
                    layout,
                    keys,
                })
                .collect();
            let stmt = children_rows(&reads, dialect);
            let sql = &stmt.sql;
            let widths: Vec<usize> = layouts.iter().map(|l| l.columns.len()).collect();
            assert_eq!(stmt.parts.as_deref(), Some(&widths[..]), "{sql}");
            assert_eq!(stmt.params.len(), 7, "{sql}");
            let header = usize::from(dialect.types_union_nulls_as_text());
            let branches: Vec<&str> = sql.split(" UNION ALL ").collect();
            assert_eq!(branches.len(), 3 + header, "{sql}");
            assert_eq!(sql.matches("WHERE 1=0").count(), 3 * header, "{sql}");
            let total: usize = widths.iter().sum();
            for (i, (child, order)) in source
                .children
                .iter()
                .zip(["ID_TYP", "SEQ_NO", "ADDR_SEQ"])
                .enumerate()
            {
                // Child i's branch: its number, NULL for the columns of the children before
                // it, its own columns, NULL for those after it, its row number.
                let branch = branches[header + i];
                let before: String = ", NULL".repeat(widths[..i].iter().sum());
                assert!(
                    branch.starts_with(&format!(
                        "SELECT {i} AS fhir_part{before}, {}.",
                        child.alias
                    )),
                    "{branch}"
                );
                assert_eq!(
                    branch.matches("NULL").count(),
                    total - widths[i],
                    "{branch}"
                );
                assert!(
                    branch.contains(&format!(
                        "ROW_NUMBER() OVER (ORDER BY {order}) AS fhir_seq FROM "
                    )),
                    "{branch}"
                );
                let key = value_sql(dialect, &child.alias, &SqlValue::Column(child.key.clone()));
                assert!(branch.contains(&format!("{key} IN (")), "{branch}");
            }
            if dialect.types_union_nulls_as_text() {
                assert!(
                    sql.starts_with(
                        "SELECT 0 AS fhir_part, fhir_c0.*, fhir_c1.*, fhir_c2.*, CAST(0 AS BIGINT) AS fhir_seq FROM (SELECT "
                    ),
                    "{sql}"
                );
            }
        }
    }

    fn row(values: &[i64]) -> Row {
        values.iter().map(|&v| Value::Int(v)).collect()
    }

    #[test]
    fn union_rows_go_back_to_their_child_in_its_order() {
        // Branch 0 has 2 columns, branch 1 has 1: rows are [part, own…, seq].
        let rows = vec![
            row(&[1, 30, 2]),
            row(&[0, 10, 11, 2]),
            row(&[1, 31, 1]),
            row(&[0, 20, 21, 1]),
            vec![
                Value::Text("0".into()),
                Value::Int(40),
                Value::Int(41),
                Value::Decimal("3".into()),
            ],
        ];
        let parts = split_children_rows(rows, &[2, 1]).unwrap();
        assert_eq!(
            parts[0],
            vec![row(&[20, 21]), row(&[10, 11]), row(&[40, 41])]
        );
        assert_eq!(parts[1], vec![row(&[31]), row(&[30])]);
        // Equal row numbers keep the order the rows came in.
        let same = split_children_rows(vec![row(&[0, 5, 1]), row(&[0, 4, 1])], &[1]).unwrap();
        assert_eq!(same[0], vec![row(&[5]), row(&[4])]);
        // Rows of another shape: a branch that does not exist, a width that is not its own,
        // no number.
        assert!(split_children_rows(vec![row(&[2, 1, 1])], &[1, 1]).is_none());
        assert!(split_children_rows(vec![row(&[0, 1, 2, 1])], &[1, 1]).is_none());
        assert!(
            split_children_rows(vec![vec![Value::Null, Value::Int(1), Value::Int(1)]], &[1])
                .is_none()
        );
        assert!(split_children_rows(vec![vec![]], &[1]).is_none());
    }
}
