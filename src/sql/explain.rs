//! Reading the query planner's row estimate from the answer to an `EXPLAIN` of a statement
//! prefixed with [`Dialect::explain_prefix`] (for `_total=estimate`).
//!
//! - PostgreSQL: `EXPLAIN (FORMAT JSON)`; the top plan node's `Plan Rows`.
//! - MySQL/MariaDB: `EXPLAIN`; the `rows` (times `filtered`, on MySQL) of the tables of the
//!   top-level SELECT, multiplied along the join.
//! - SQLite has no row estimate.
//!
//! Neither runs the query: the answer costs one planning of it.
//!
//! Also the plans `explain --analyze` shows: the statement each database explains a query
//! with ([`plan_prefixes`]), and the plan's lines with the tables it reads whole
//! ([`read_plan`]).

use std::collections::HashMap;

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

/// What precedes a `SELECT` to have the database show its plan, in the order to try: SQLite
/// `EXPLAIN QUERY PLAN`; PostgreSQL `EXPLAIN (ANALYZE)`; MariaDB `ANALYZE`, else MySQL
/// `EXPLAIN ANALYZE`, else `EXPLAIN`. The ANALYZE forms run the statement (on a read-only
/// connection, for a SELECT: safe).
pub fn plan_prefixes(dialect: Dialect) -> &'static [&'static str] {
    dialect.choose(
        &["EXPLAIN QUERY PLAN "],
        &["EXPLAIN (ANALYZE) "],
        &["ANALYZE ", "EXPLAIN ANALYZE ", "EXPLAIN "],
    )
}

/// A bound value written as an SQL literal of `dialect`, for reading (never run as such).
pub fn param_literal(dialect: Dialect, v: &sea_query::Value) -> String {
    use sea_query::QueryBuilder;
    match dialect {
        Dialect::Sqlite => sea_query::SqliteQueryBuilder.value_to_string(v),
        Dialect::Postgres => sea_query::PostgresQueryBuilder.value_to_string(v),
        Dialect::Mysql => sea_query::MysqlQueryBuilder.value_to_string(v),
    }
}

/// `sql` with the placeholder of each parameter `marked` (by position) replaced by `text`:
/// `?` counted outside quoted text (SQLite, MySQL), `$n` on PostgreSQL; a list of marked
/// placeholders (`IN (?, ?)`) becomes one `text`. For reading only.
pub fn mark_params(dialect: Dialect, sql: &str, marked: &[bool], text: &str) -> String {
    if !marked.contains(&true) {
        return sql.to_string();
    }
    let is_marked = |n: usize| marked.get(n).copied().unwrap_or(false);
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut question = 0;
    let mut chars = sql.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"' | '`') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '?') if dialect != Dialect::Postgres => {
                let n = question;
                question += 1;
                if is_marked(n) {
                    push_marked(&mut out, text);
                    continue;
                }
            }
            (None, '$') if dialect == Dialect::Postgres => {
                let digits: String = sql[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(n) = digits.parse::<usize>()
                    && n > 0
                    && is_marked(n - 1)
                {
                    push_marked(&mut out, text);
                    for _ in 0..digits.len() {
                        chars.next();
                    }
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// Appends `text`, unless it ends a list that already holds it (`<k>, ` + `<k>` is `<k>`).
fn push_marked(out: &mut String, text: &str) {
    let listed = format!("{text}, ");
    if out.ends_with(&listed) {
        out.truncate(out.len() - 2);
    } else {
        out.push_str(text);
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Text(s) | Value::Decimal(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Null => "NULL".into(),
        other => other.key_text().unwrap_or_default(),
    }
}

/// The plan's lines and its full scans, from the answer to the dialect's EXPLAIN.
pub fn read_plan(dialect: Dialect, rows: &[Row]) -> (Vec<String>, Vec<String>) {
    let mut lines = Vec::new();
    let mut scans = Vec::new();
    match dialect {
        Dialect::Sqlite => {
            // id, parent, notused, detail: indent each node under its parent.
            let mut depth: HashMap<String, usize> = HashMap::new();
            for r in rows {
                let (id, parent, detail) = (cell(&r[0]), cell(&r[1]), cell(&r[3]));
                let d = depth.get(&parent).map_or(0, |d| d + 1);
                depth.insert(id, d);
                lines.push(format!("{}{detail}", "  ".repeat(d)));
                if let Some(rest) = detail.strip_prefix("SCAN ")
                    && !rest.contains(" USING ")
                    && !rest.starts_with("CONSTANT")
                {
                    let name = rest.split_whitespace().next().unwrap_or(rest);
                    scans.push(name.to_string());
                }
            }
        }
        Dialect::Postgres => {
            for r in rows {
                let line = cell(&r[0]);
                if let Some(at) = line.find("Seq Scan on ") {
                    let rest = &line[at + "Seq Scan on ".len()..];
                    scans.push(rest.split_whitespace().next().unwrap_or(rest).to_string());
                }
                lines.push(line);
            }
        }
        Dialect::Mysql => {
            if rows.first().is_some_and(|r| r.len() == 1) {
                // MySQL's EXPLAIN ANALYZE: one text cell, a tree.
                for r in rows {
                    for line in cell(&r[0]).lines() {
                        if let Some(at) = line.find("Table scan on ") {
                            let rest = &line[at + "Table scan on ".len()..];
                            scans.push(rest.split_whitespace().next().unwrap_or(rest).to_string());
                        }
                        lines.push(line.to_string());
                    }
                }
            } else {
                // Tabular (MariaDB ANALYZE, EXPLAIN): id, select_type, table, [partitions,] type...
                let width = rows.first().map_or(0, Vec::len);
                let type_at = if width == 12 { 4 } else { 3 };
                let header = match width {
                    10 => {
                        "id | select_type | table | type | possible_keys | key | key_len | ref | rows | Extra"
                    }
                    12 => {
                        "id | select_type | table | partitions | type | possible_keys | key | key_len | ref | rows | filtered | Extra"
                    }
                    13 => {
                        "id | select_type | table | type | possible_keys | key | key_len | ref | rows | r_rows | filtered | r_filtered | Extra"
                    }
                    _ => "",
                };
                if !header.is_empty() {
                    lines.push(header.to_string());
                }
                for r in rows {
                    let table = cell(&r[2]);
                    // ALL: every row; index: the whole of an index (the table itself
                    // for InnoDB's primary key).
                    if matches!(r.get(type_at).map(cell).as_deref(), Some("ALL" | "index")) {
                        scans.push(table.clone());
                    }
                    lines.push(r.iter().map(cell).collect::<Vec<_>>().join(" | "));
                }
            }
        }
    }
    (lines, scans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn marked_parameters_are_replaced_by_their_description() {
        let keys = [false, true];
        assert_eq!(
            mark_params(
                Dialect::Sqlite,
                "a = '?' AND a = ? AND b IN (?)",
                &keys,
                "<k>"
            ),
            "a = '?' AND a = ? AND b IN (<k>)"
        );
        assert_eq!(
            mark_params(
                Dialect::Postgres,
                "a = $1 AND b IN ($2) AND c = $12",
                &keys,
                "<k>"
            ),
            "a = $1 AND b IN (<k>) AND c = $12"
        );
        assert_eq!(
            mark_params(Dialect::Mysql, "x IN (?)", &[false], "<k>"),
            "x IN (?)"
        );
        assert_eq!(
            mark_params(
                Dialect::Mysql,
                "x IN (?, ?) AND y = ?",
                &[true, true],
                "<k>"
            ),
            "x IN (<k>) AND y = ?"
        );
        assert_eq!(
            mark_params(Dialect::Postgres, "x IN ($1, $2)", &[true, true], "<k>"),
            "x IN (<k>)"
        );
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

    #[test]
    fn plans_flag_full_scans() {
        let t = |s: &str| Value::Text(s.into());
        let (_, scans) = read_plan(
            Dialect::Sqlite,
            &[
                vec![Value::Int(2), Value::Int(0), Value::Int(0), t("SCAN P")],
                vec![
                    Value::Int(3),
                    Value::Int(0),
                    Value::Int(0),
                    t("SEARCH M USING INDEX x (a=?)"),
                ],
                vec![
                    Value::Int(4),
                    Value::Int(0),
                    Value::Int(0),
                    t("SCAN R USING INDEX ix"),
                ],
            ],
        );
        assert_eq!(scans, ["P"]);
        let (_, scans) = read_plan(
            Dialect::Postgres,
            &[
                vec![t("Limit  (cost=0..1)")],
                vec![t("  ->  Seq Scan on lab_result r  (cost=0..)")],
            ],
        );
        assert_eq!(scans, ["lab_result"]);
    }
}
