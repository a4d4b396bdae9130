//! Number search (moved from `src/search/number.rs`): the predicate of
//! [`write_number_predicate`] on numeric, floating, integer and text columns agrees with
//! [`matches`] on SQLite, PostgreSQL and MySQL/MariaDB.

use std::cell::RefCell;
use std::str::FromStr;
use std::time::Duration;

use fhir_facade::search::Prefix;
use fhir_facade::search::number::{
    NumberSearch, NumberTarget, matches, parse_number, write_number_predicate,
};
use fhir_facade::sql::{Dialect, SqlWriter, Statement};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;
use sea_query::Value;
use sea_query_sqlx::SqlxValues;
use sqlx::pool::PoolOptions;
use sqlx::{AssertSqlSafe, ColumnIndex, Connection, Decode, Executor, IntoArguments, Pool};

use crate::servers;

/// A search value: random prefix, sign, digits, decimal places and exponent.
fn search_text() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(Prefix::ALL.to_vec()),
        any::<bool>(),
        0u32..20_000,
        0usize..4,
        proptest::option::of(-3i32..=3),
    )
        .prop_map(|(prefix, negative, m, places, exp)| {
            let mut digits = format!("{m:0>width$}", width = places + 1);
            if places > 0 {
                digits.insert(digits.len() - places, '.');
            }
            let mut s = String::new();
            if prefix != Prefix::Eq {
                s.push_str(prefix.code());
            }
            if negative {
                s.push('-');
            }
            s.push_str(&digits);
            if let Some(e) = exp {
                s.push_str(&format!("e{e}"));
            }
            s
        })
}

/// Stored values: few digits, so that every one is distinct and ordered as a double.
fn stored_values() -> impl Strategy<Value = Vec<Decimal>> {
    proptest::collection::vec(
        (-30_000i64..30_000, 0u32..5).prop_map(|(m, s)| Decimal::new(m, s)),
        0..30,
    )
}

/// Values on and just beside every bound the search uses, where mistakes would show.
fn probes(search: &NumberSearch) -> Vec<Decimal> {
    let (ap_lo, ap_hi) = search.approx_range();
    let mut out = Vec::new();
    for b in [search.value, search.low, search.high, ap_lo, ap_hi] {
        let eps = Decimal::new(1, b.scale() + 2);
        out.extend([b, b - eps, b + eps]);
    }
    out
}

/// The ids a statement selects (its only column).
async fn ids<DB>(pool: &Pool<DB>, stmt: Statement) -> Vec<i64>
where
    DB: sqlx::Database,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'r> i64: Decode<'r, DB> + sqlx::Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    use sqlx::Row as _;
    let rows = sqlx::query_with(
        AssertSqlSafe(stmt.sql.clone()),
        SqlxValues(sea_query::Values(stmt.params)),
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("{}: {e}", stmt.sql));
    let mut ids: Vec<i64> = rows.iter().map(|r| r.get::<i64, _>(0)).collect();
    ids.sort_unstable();
    ids
}

/// `SELECT id FROM number_probe WHERE <predicate on column>`.
fn select(dialect: Dialect, column: &str, is_text: bool, search: &NumberSearch) -> Statement {
    let mut w = SqlWriter::new(dialect);
    w.push("SELECT id FROM number_probe WHERE ");
    let target = NumberTarget {
        sql: column.to_string(),
        is_text,
        single: false,
    };
    write_number_predicate(&mut w, &target, search);
    w.push(" ORDER BY id");
    w.finish()
}

/// Text that legacy result columns hold beside numbers, which no number search matches
/// (inserted into the text column only, with ids from [`JUNK_IDS`]).
const JUNK: &[&str] = &[
    "positive", "<5", ">100", "1-2", "1.2.3", "12abc", "abc12", "-", ".", "+.", "", "  ", "5 5",
    "++5", "5e", "0x10", "1,5", "5%", "NaN", "Infinity", "-.", "5..",
];
const JUNK_IDS: i64 = 1_000_000;

/// `INSERT` of the [`JUNK`] rows (the numeric columns NULL).
fn junk_rows(dialect: Dialect) -> Vec<Statement> {
    JUNK.iter()
        .enumerate()
        .map(|(i, text)| {
            let mut w = SqlWriter::new(dialect);
            w.push("INSERT INTO number_probe (id, s) VALUES (")
                .param(JUNK_IDS + i as i64);
            w.push(", ").param(text.to_string()).push(")");
            w.finish()
        })
        .collect()
}

fn expected(values: &[(i64, Option<Decimal>)], search: &NumberSearch) -> Vec<i64> {
    values
        .iter()
        .filter(|(_, v)| v.is_some_and(|v| matches(v, search)))
        .map(|(id, _)| *id)
        .collect()
}

/// SQLite: the same decimals stored as REAL, NUMERIC and TEXT select the rows the oracle
/// picks, for random searches of every prefix and precision; text that is no number
/// ([`JUNK`]) is never selected.
#[test]
fn sqlite_agrees_with_the_oracle() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = rt.block_on(async {
        let pool = PoolOptions::<sqlx::Sqlite>::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        pool.execute("CREATE TABLE number_probe (id INTEGER, r REAL, n NUMERIC, s TEXT)")
            .await
            .unwrap();
        pool
    });
    let pool = RefCell::new(pool);
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(search_text(), stored_values()), |(text, stored)| {
            let search = parse_number(&text).unwrap();
            let mut values = stored;
            values.extend(probes(&search));
            let rows: Vec<(i64, Option<Decimal>)> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as i64, Some(*v)))
                .collect();
            let pool = pool.borrow();
            rt.block_on(async {
                pool.execute("DELETE FROM number_probe").await.unwrap();
                for (id, v) in &rows {
                    let v = v.unwrap();
                    let mut w = SqlWriter::new(Dialect::Sqlite);
                    w.push("INSERT INTO number_probe VALUES (").param(*id);
                    w.push(", ").param(Dialect::Sqlite.decimal_param(v));
                    w.push(", ").param(v.to_string());
                    w.push(", ").param(v.to_string()).push(")");
                    ids(&pool, w.finish()).await;
                }
                for stmt in junk_rows(Dialect::Sqlite) {
                    ids(&pool, stmt).await;
                }
                let want = expected(&rows, &search);
                for (column, is_text) in [("r", false), ("n", false), ("s", true)] {
                    let got = ids(&pool, select(Dialect::Sqlite, column, is_text, &search)).await;
                    prop_assert_eq!(&got, &want, "{} on {}", text, column);
                }
                Ok(())
            })
        })
        .unwrap();
}

/// Searches of every prefix with values of several precisions and signs.
fn server_searches() -> Vec<NumberSearch> {
    let mut out = Vec::new();
    for v in [
        "100", "100.00", "1e2", "1.0e2", "-0.5", "5.4e-3", "0", "99.5", "2.50", "-12", "1.5e1",
        "7", "0.001",
    ] {
        for p in Prefix::ALL {
            out.push(parse_number(&format!("{}{v}", p.code())).unwrap());
        }
    }
    out
}

/// Rows: every probe of every search, and a grid; `id` orders them.
fn server_rows(searches: &[NumberSearch]) -> Vec<(i64, Option<Decimal>)> {
    let mut values: Vec<Decimal> = searches.iter().flat_map(probes).collect();
    values.extend((-80..=480).map(|k| Decimal::new(k, 0) / Decimal::new(4, 0)));
    values.sort();
    values.dedup();
    let mut rows: Vec<(i64, Option<Decimal>)> = values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i as i64, Some(v)))
        .collect();
    rows.push((rows.len() as i64, None));
    rows
}

/// The test database created afresh on each server by [`servers::fresh_database`], which
/// scopes the name to this checkout.
const SERVER_DB: &str = "fhir_facade_number_oracle";

/// Runs every search on NUMERIC, DOUBLE, BIGINT (integral rows only) and VARCHAR columns
/// of a temporary table in a fresh database and compares with the oracle.
async fn server_agrees_with_the_oracle<DB>(dialect: Dialect, ddl: &str)
where
    DB: sqlx::Database,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'r> i64: Decode<'r, DB> + sqlx::Type<DB>,
    usize: ColumnIndex<DB::Row>,
    DB::Connection: Connection,
{
    let Some(url) = servers::fresh_database(dialect, SERVER_DB).await else {
        return;
    };
    let pool = PoolOptions::<DB>::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{dialect} test database {url}: {e}"));
    // One connection, so the temporary table is seen by every statement.
    pool.execute(AssertSqlSafe(ddl)).await.unwrap();
    let searches = server_searches();
    let rows = server_rows(&searches);
    for (id, v) in &rows {
        let mut w = SqlWriter::new(dialect);
        w.push("INSERT INTO number_probe (id, n, d, i, s) VALUES (")
            .param(*id);
        w.push(", ").param(Value::Decimal(*v));
        w.push(", ")
            .param(Value::Double(v.map(|v| v.to_string().parse().unwrap())));
        let int = v
            .filter(|v| v.fract().is_zero())
            .map(|v| i64::try_from(v).unwrap());
        w.push(", ").param(Value::BigInt(int));
        w.push(", ").param(Value::String(v.map(|v| v.to_string())));
        w.push(")");
        ids(&pool, w.finish()).await;
    }
    for stmt in junk_rows(dialect) {
        ids(&pool, stmt).await;
    }
    let integral: Vec<(i64, Option<Decimal>)> = rows
        .iter()
        .map(|(id, v)| (*id, v.filter(|v| v.fract().is_zero())))
        .collect();
    for search in &searches {
        let want = expected(&rows, search);
        for (column, is_text) in [("n", false), ("d", false), ("s", true)] {
            let got = ids(&pool, select(dialect, column, is_text, search)).await;
            assert_eq!(got, want, "{dialect}: {} on {column}", search.text);
        }
        let got = ids(&pool, select(dialect, "i", false, search)).await;
        assert_eq!(
            got,
            expected(&integral, search),
            "{dialect}: {} on i",
            search.text
        );
    }
    pool.execute("DROP TABLE number_probe").await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn postgres_agrees_with_the_oracle() {
    server_agrees_with_the_oracle::<sqlx::Postgres>(
        Dialect::Postgres,
        "CREATE TEMPORARY TABLE number_probe (id BIGINT PRIMARY KEY, n NUMERIC(30,10), \
         d DOUBLE PRECISION, i BIGINT, s VARCHAR(64))",
    )
    .await;
}

#[tokio::test]
async fn mysql_agrees_with_the_oracle() {
    server_agrees_with_the_oracle::<sqlx::MySql>(
        Dialect::Mysql,
        "CREATE TEMPORARY TABLE number_probe (id BIGINT PRIMARY KEY, n DECIMAL(30,10), \
         d DOUBLE, i BIGINT, s VARCHAR(64))",
    )
    .await;
}

#[test]
fn decimal_text_converts_like_sqlite() {
    // The SQLite binding relies on both sides of a comparison going through a correctly
    // rounded text → double conversion.
    let d = Decimal::from_str("99.995").unwrap();
    assert_eq!(
        Dialect::Sqlite.decimal_param(d),
        Value::Double(Some(99.995))
    );
}
