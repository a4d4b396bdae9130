//! Reading the query planner's row estimate from the answer to an `EXPLAIN` of a statement
//! prefixed with [`Dialect::explain_prefix`] (for `_total=estimate`).
//!
//! - PostgreSQL: `EXPLAIN (FORMAT JSON)`; the top plan node's `Plan Rows`.
//! - MySQL/MariaDB: `EXPLAIN`; the `rows` (times `filtered`, on MySQL) of the tables of the
//!   top-level SELECT, multiplied along the join.
//! - SQLite has no row estimate.
//!
//! Neither runs the query: the answer costs one planning of it.

use serde_json::Value as Json;

use super::{Dialect, Row, Value};

/// The estimated number of rows, read from the answer to an `EXPLAIN`; `None` when the
/// answer does not have the expected shape (or the database has no estimate).
pub fn read_estimate(dialect: Dialect, rows: &[Row]) -> Option<u64> {
    let estimate = match dialect {
        Dialect::Postgres => postgres_plan_rows(rows)?,
        Dialect::Mysql => mysql_rows(rows)?,
        Dialect::Sqlite => return None,
    };
    (estimate.is_finite() && estimate >= 0.0).then(|| estimate.round() as u64)
}

/// `[{"Plan": {"Plan Rows": 1042, ...}}]`, in the one row and column of the answer.
fn postgres_plan_rows(rows: &[Row]) -> Option<f64> {
    let Value::Text(text) = rows.first()?.first()? else {
        return None;
    };
    let plan: Json = serde_json::from_str(text).ok()?;
    plan.get(0)?.get("Plan")?.get("Plan Rows")?.as_f64()
}

/// One row per table. MariaDB: `id, select_type, table, type, possible_keys, key, key_len,
/// ref, rows, Extra`; MySQL adds `partitions` (after `table`) and `filtered` (after `rows`).
/// Rows of other `id`s are subqueries, evaluated per outer row: not part of the result size.
fn mysql_rows(rows: &[Row]) -> Option<f64> {
    let (rows_at, filtered_at) = match rows.first()?.len() {
        10 => (8, None),
        12 => (9, Some(10)),
        _ => return None,
    };
    let mut product = 1.0;
    for r in rows.iter().filter(|r| r[0].as_f64() == Some(1.0)) {
        // A NULL `rows` is a table the optimizer did not need to read ("Impossible WHERE").
        let n = match &r[rows_at] {
            Value::Null => return Some(0.0),
            v => v.as_f64()?,
        };
        let filtered = match filtered_at.map(|i| &r[i]) {
            None | Some(Value::Null) => 100.0,
            Some(v) => v.as_f64()?,
        };
        product *= n * filtered / 100.0;
    }
    Some(product)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn postgres_reads_the_top_plan_rows() {
        let rows = vec![vec![text(
            r#"[{"Plan": {"Node Type": "Seq Scan", "Plan Rows": 1042, "Plans": [{"Plan Rows": 7}]}}]"#,
        )]];
        assert_eq!(read_estimate(Dialect::Postgres, &rows), Some(1042));
        assert_eq!(
            read_estimate(Dialect::Postgres, &[vec![text("nope")]]),
            None
        );
        assert_eq!(read_estimate(Dialect::Postgres, &[]), None);
    }

    fn mariadb_row(id: i64, table: &str, rows: Value) -> Row {
        vec![
            Value::Int(id),
            text("SIMPLE"),
            text(table),
            text("ALL"),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            rows,
            text("Using where"),
        ]
    }

    #[test]
    fn mariadb_multiplies_the_top_level_tables() {
        let rows = vec![
            mariadb_row(1, "P", Value::Int(2000)),
            mariadb_row(1, "M", Value::Int(1)),
            mariadb_row(2, "I", Value::Int(3)),
        ];
        assert_eq!(read_estimate(Dialect::Mysql, &rows), Some(2000));
        let rows = vec![mariadb_row(1, "P", Value::Null)];
        assert_eq!(read_estimate(Dialect::Mysql, &rows), Some(0));
    }

    #[test]
    fn mysql_applies_filtered() {
        let mut row = mariadb_row(1, "P", Value::Int(2000));
        row.insert(3, Value::Null); // partitions
        row.insert(10, Value::Float(10.0)); // filtered
        assert_eq!(read_estimate(Dialect::Mysql, &[row]), Some(200));
        assert_eq!(read_estimate(Dialect::Mysql, &[vec![Value::Int(1)]]), None);
    }
}
