//! Helpers shared by the seed integration tests (included with `#[path]`).
#![allow(dead_code)]

use fhir_facade::db::admin::Conn;
use fhir_facade::seed::rows::{ALL_TABLES, TableDef};
use fhir_facade::seed::{SeedError, dump_table};
use rust_decimal::Decimal;
use std::str::FromStr;

/// A table's rows as normalized strings.
pub type Dump = Vec<Vec<Option<String>>>;

/// Columns of DECIMAL type (SQLite may store 98.0 as the integer 98).
const DECIMAL_COLUMNS: &[&str] = &["TEMP_F", "WT_KG", "DOSE_QTY"];

/// Dumps `table` and normalizes it so that dumps compare across backends: trailing blanks
/// trimmed (MariaDB strips CHAR padding), decimals normalized, rows sorted.
pub async fn normalized_dump(conn: &mut Conn, table: &TableDef) -> Result<Dump, SeedError> {
    let mut rows = dump_table(conn, table).await?;
    for row in &mut rows {
        for (i, v) in row.iter_mut().enumerate() {
            if let Some(s) = v {
                let mut t = s.trim_end_matches(' ').to_owned();
                if DECIMAL_COLUMNS.contains(&table.columns[i]) {
                    t = Decimal::from_str(&t)
                        .expect("decimal")
                        .normalize()
                        .to_string();
                }
                *s = t;
            }
        }
    }
    rows.sort_by_key(|r| key(r));
    Ok(rows)
}

fn key(row: &[Option<String>]) -> (i64, String) {
    let first = row[0].clone().unwrap_or_default();
    match first.parse::<i64>() {
        Ok(n) => (n, row.get(1).cloned().flatten().unwrap_or_default()),
        Err(_) => (0, first),
    }
}

/// Dumps of every seed table, by name.
pub async fn dump_all(conn: &mut Conn) -> Result<Vec<(&'static str, Dump)>, SeedError> {
    let mut out = Vec::new();
    for t in ALL_TABLES.iter() {
        out.push((t.name, normalized_dump(conn, t).await?));
    }
    Ok(out)
}

/// Index of a column in a table definition.
pub fn col(table: &TableDef, name: &str) -> usize {
    table
        .columns
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("{name} not in {}", table.name))
}

/// A random-ish suffix for per-run schema / database names.
pub fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000)
}
