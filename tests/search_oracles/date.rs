//! Date search (moved from `src/search/date.rs`): the predicate of [`write_predicate`] on
//! every kind of date column and period agrees with [`matches`] on SQLite, PostgreSQL and
//! MySQL/MariaDB, in time zones with daylight-saving changes and skipped days.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use chrono_tz::Tz;
use fhir_facade::search::Prefix;
use fhir_facade::search::date::{
    DateSearch, DateStorage, DateTarget, local_to_utc, matches, parse_at, write_predicate,
};
use fhir_facade::sql::{ColumnInfo, Dialect, SqlWriter};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sea_query::Value;
use sea_query_sqlx::SqlxValues;
use sqlx::{AssertSqlSafe, Connection, Database, Executor, IntoArguments};

use crate::servers;

const ZONES: [Tz; 5] = [
    chrono_tz::UTC,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Lord_Howe, // 30-minute DST
    chrono_tz::Pacific::Apia,        // skipped 2011-12-30
    chrono_tz::Asia::Kolkata,
];

/// Days near time zone changes and calendar boundaries.
const DAYS: [(i32, u32, u32); 8] = [
    (2011, 12, 30),
    (2020, 3, 8),
    (2020, 11, 1),
    (2020, 4, 5),
    (2020, 10, 4),
    (2020, 1, 1),
    (2020, 2, 29),
    (2020, 6, 30),
];

fn instant() -> impl Strategy<Value = NaiveDateTime> {
    (0..DAYS.len(), -2 * 86_400i64..2 * 86_400).prop_map(|(d, off)| {
        let (y, m, dd) = DAYS[d];
        NaiveDate::from_ymd_opt(y, m, dd)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            + TimeDelta::seconds(off)
    })
}

/// A text column's content: a date, NULL, or a blank/zero legacy value.
#[derive(Debug, Clone)]
enum Text {
    Null,
    Junk(bool),
    At(NaiveDateTime),
}

fn text() -> impl Strategy<Value = Text> {
    prop_oneof![
        1 => Just(Text::Null),
        1 => any::<bool>().prop_map(Text::Junk),
        8 => instant().prop_map(Text::At),
    ]
}

#[derive(Debug, Clone)]
struct Row {
    d: Option<NaiveDate>,
    ts: Option<NaiveDateTime>,
    tstz: Option<NaiveDateTime>,
    ymd: Text,
    ym: Text,
    y: Text,
    hm: Text,
    pds: Option<NaiveDate>,
    pde: Option<NaiveDate>,
    pts: Option<NaiveDateTime>,
    pte: Option<NaiveDateTime>,
}

fn row() -> impl Strategy<Value = Row> {
    let t = || prop::option::weighted(0.85, instant());
    let d = || prop::option::weighted(0.85, instant().prop_map(|t| t.date()));
    (
        (d(), t(), t(), text(), text(), text(), text()),
        (d(), d(), t(), t()),
    )
        .prop_map(
            |((d, ts, tstz, ymd, ym, y, hm), (pds, pde, pts, pte))| Row {
                d,
                ts,
                tstz,
                ymd,
                ym,
                y,
                hm,
                pds,
                pde,
                pts,
                pte,
            },
        )
}

/// A search value at a random precision, with a random zone form.
fn search_value(with_ap: bool) -> impl Strategy<Value = String> {
    let prefixes: Vec<Prefix> = Prefix::ALL
        .into_iter()
        .filter(|p| with_ap || *p != Prefix::Ap)
        .collect();
    (
        instant(),
        0..6usize,
        0..5usize,
        prop::sample::select(prefixes),
    )
        .prop_map(|(t, precision, zone, p)| {
            let zone = ["", "Z", "+05:30", "-05:00", "+13:45"][zone];
            let v = match precision {
                0 => t.format("%Y").to_string(),
                1 => t.format("%Y-%m").to_string(),
                2 => t.format("%Y-%m-%d").to_string(),
                3 => format!("{}{zone}", t.format("%Y-%m-%dT%H:%M")),
                4 => format!("{}{zone}", t.format("%Y-%m-%dT%H:%M:%S")),
                _ => format!("{}.5{zone}", t.format("%Y-%m-%dT%H:%M:%S")),
            };
            format!("{p}{v}")
        })
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(Default::default())
}

/// The day `d` in `tz`, as UTC.
fn day(d: NaiveDate, tz: Tz) -> (NaiveDateTime, NaiveDateTime) {
    let next = d.succ_opt().unwrap();
    (
        local_to_utc(midnight(d), tz),
        local_to_utc(midnight(next), tz),
    )
}

/// A local second in `tz`, as UTC.
fn second(t: NaiveDateTime, tz: Tz) -> (NaiveDateTime, NaiveDateTime) {
    (
        local_to_utc(t, tz),
        local_to_utc(t + TimeDelta::seconds(1), tz),
    )
}

type Range = (Option<NaiveDateTime>, Option<NaiveDateTime>);

/// A searchable column: its SQL name(s), storage, and the range each row holds there
/// (`None`: no value).
struct Column {
    start: &'static str,
    end: Option<&'static str>,
    storage: DateStorage,
    /// A `CHAR(n)` column (its bounds are `bpchar` on PostgreSQL).
    char: bool,
    range: fn(&Row, Tz) -> Option<Range>,
}

/// The granule of a text date coarser than a day (a test copy of the private `date::Unit`,
/// the variants this test uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// A calendar month.
    Month,
    /// A calendar year.
    Year,
}

fn text_range(t: &Text, unit: Unit, tz: Tz) -> Option<Range> {
    let Text::At(t) = t else { return None };
    let (from, to) = match unit {
        Unit::Year => {
            let y = NaiveDate::from_ymd_opt(t.year(), 1, 1).unwrap();
            (y, y.with_year(t.year() + 1).unwrap())
        }
        Unit::Month => {
            let m = t.date().with_day(1).unwrap();
            (m, m.checked_add_months(chrono::Months::new(1)).unwrap())
        }
    };
    Some((
        Some(local_to_utc(midnight(from), tz)),
        Some(local_to_utc(midnight(to), tz)),
    ))
}

fn some((a, b): (NaiveDateTime, NaiveDateTime)) -> Option<Range> {
    Some((Some(a), Some(b)))
}

fn columns() -> Vec<Column> {
    let text = |f: &str| DateStorage::Text { format: f.into() };
    vec![
        Column {
            start: "d",
            end: None,
            storage: DateStorage::Date,
            char: false,
            range: |r, tz| r.d.and_then(|d| some(day(d, tz))),
        },
        Column {
            start: "ts",
            end: None,
            storage: DateStorage::Timestamp,
            char: false,
            range: |r, tz| r.ts.and_then(|t| some(second(t, tz))),
        },
        Column {
            start: "tstz",
            end: None,
            storage: DateStorage::TimestampTz,
            char: false,
            range: |r, _| r.tstz.and_then(|t| some((t, t + TimeDelta::seconds(1)))),
        },
        Column {
            start: "ymd",
            end: None,
            storage: text("%Y%m%d"),
            char: true,
            range: |r, tz| match r.ymd {
                Text::At(t) => some(day(t.date(), tz)),
                _ => None,
            },
        },
        Column {
            start: "ym",
            end: None,
            storage: text("%Y%m"),
            char: true,
            range: |r, tz| text_range(&r.ym, Unit::Month, tz),
        },
        Column {
            start: "y",
            end: None,
            storage: text("%Y"),
            char: true,
            range: |r, tz| text_range(&r.y, Unit::Year, tz),
        },
        Column {
            start: "hm",
            end: None,
            storage: text("%Y-%m-%d %H:%M"),
            char: false,
            range: |r, tz| match r.hm {
                Text::At(t) => {
                    let t = t.with_second(0).unwrap();
                    some((
                        local_to_utc(t, tz),
                        local_to_utc(t + TimeDelta::minutes(1), tz),
                    ))
                }
                _ => None,
            },
        },
        Column {
            start: "pds",
            end: Some("pde"),
            storage: DateStorage::Date,
            char: false,
            range: |r, tz| Some((r.pds.map(|d| day(d, tz).0), r.pde.map(|d| day(d, tz).1))),
        },
        Column {
            start: "pts",
            end: Some("pte"),
            storage: DateStorage::Timestamp,
            char: false,
            range: |r, tz| {
                Some((
                    r.pts.map(|t| second(t, tz).0),
                    r.pte.map(|t| second(t, tz).1),
                ))
            },
        },
    ]
}

use chrono::Timelike;

/// SQL literal of an optional value.
fn lit<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or("NULL".into(), |v| format!("'{}'", f(v)))
}

fn text_lit(t: &Text, format: &str, width: usize) -> String {
    match t {
        Text::Null => "NULL".into(),
        Text::Junk(true) => "''".into(),
        Text::Junk(false) => format!("'{}'", "0".repeat(width)),
        Text::At(t) => format!("'{}'", t.format(format)),
    }
}

/// The INSERT for `rows`; `tz_suffix` marks UTC literals for TIMESTAMPTZ columns.
fn insert(table: &str, rows: &[Row], tz_suffix: &str) -> String {
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let sec = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let values: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(id, r)| {
            format!(
                "({id}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                lit(r.d, day),
                lit(r.ts, sec),
                lit(r.tstz, |t| format!("{}{tz_suffix}", sec(t))),
                text_lit(&r.ymd, "%Y%m%d", 8),
                text_lit(&r.ym, "%Y%m", 6),
                text_lit(&r.y, "%Y", 4),
                text_lit(&r.hm, "%Y-%m-%d %H:%M", 16),
                lit(r.pds, day),
                lit(r.pde, day),
                lit(r.pts, sec),
                lit(r.pte, sec),
            )
        })
        .collect();
    format!(
        "INSERT INTO {table} (id, d, ts, tstz, ymd, ym, y, hm, pds, pde, pts, pte) VALUES {}",
        values.join(", ")
    )
}

/// The ids of the rows of `table` where the predicate holds.
async fn select<DB>(
    conn: &mut DB::Connection,
    dialect: Dialect,
    table: &str,
    target: &DateTarget,
    search: &DateSearch,
    tz: Tz,
) -> Vec<i64>
where
    DB: Database,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> i64: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let mut w = SqlWriter::new(dialect);
    w.push(&format!("SELECT id FROM {table} WHERE "));
    write_predicate(&mut w, target, search, tz).unwrap();
    w.push(" ORDER BY id");
    let st = w.finish();
    let rows = sqlx::query_with(
        AssertSqlSafe(st.sql.clone()),
        SqlxValues(sea_query::Values(st.params.clone())),
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_else(|e| panic!("{}: {e}", st.sql));
    rows.iter()
        .map(|r| sqlx::Row::get::<i64, usize>(r, 0))
        .collect()
}

/// The predicate's SQL, then its parameters (a test copy of `date::sql_tests::render`).
fn render(d: Dialect, target: &DateTarget, search: &DateSearch, tz: Tz) -> String {
    let mut w = SqlWriter::new(d);
    write_predicate(&mut w, target, search, tz).unwrap();
    let st = w.finish();
    let params: Vec<String> = st
        .params
        .iter()
        .map(|v| match v {
            Value::String(Some(s)) => format!("'{s}'"),
            Value::ChronoDate(Some(d)) => format!("DATE {d}"),
            Value::ChronoDateTime(Some(t)) => format!("TS {t}"),
            Value::ChronoDateTimeUtc(Some(t)) => format!("TSTZ {}", t.naive_utc()),
            other => format!("{other:?}"),
        })
        .collect();
    format!("{} | {}", st.sql, params.join(", "))
        .trim_end()
        .to_string()
}

/// Checks every column against the oracle for `rows` and `searches`.
async fn check<DB>(
    conn: &mut DB::Connection,
    dialect: Dialect,
    table: &str,
    rows: &[Row],
    searches: &[String],
    tz: Tz,
) -> Result<(), TestCaseError>
where
    DB: Database,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> i64: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let now = NaiveDate::from_ymd_opt(2021, 6, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    for v in searches {
        let search = parse_at(v, tz, now).unwrap();
        for col in columns() {
            let target = DateTarget {
                start: col.start.into(),
                end: col.end.map(Into::into),
                start_column: col.char.then(|| ColumnInfo {
                    type_name: "CHAR".into(),
                    sql_type: fhir_facade::sql::SqlType::Text,
                    pad_to: None,
                    as_text: false,
                }),
                end_column: None,
                storage: col.storage.clone(),
            };
            let got = select::<DB>(conn, dialect, table, &target, &search, tz).await;
            let want: Vec<i64> = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| (col.range)(r, tz).is_some_and(|(a, b)| matches(a, b, &search)))
                .map(|(i, _)| i as i64)
                .collect();
            prop_assert_eq!(
                &got,
                &want,
                "{} {} in {} on {}: {}",
                dialect,
                v,
                tz,
                col.start,
                render(dialect, &target, &search, tz)
            );
        }
    }
    Ok(())
}

fn strategy(with_ap: bool) -> impl Strategy<Value = (Vec<Row>, Vec<String>, Tz)> {
    (
        prop::collection::vec(row(), 1..25),
        prop::collection::vec(search_value(with_ap), 1..4),
        prop::sample::select(ZONES.to_vec()),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The test database created afresh on each server by [`servers::fresh_database`], which
/// scopes the name to this checkout.
const SERVER_DB: &str = "fhir_facade_date_oracle";

/// Runs the property on a fresh server database: `create` creates the table `t` there, which
/// is dropped at the end.
fn server_agrees<DB>(dialect: Dialect, create: &str)
where
    DB: Database,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> i64: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let rt = runtime();
    let Some(url) = rt.block_on(servers::fresh_database(dialect, SERVER_DB)) else {
        return;
    };
    let table = "t";
    let mut conn = rt
        .block_on(DB::Connection::connect(&url))
        .unwrap_or_else(|e| panic!("{dialect} test database {url}: {e}"));
    rt.block_on(conn.execute(AssertSqlSafe(create.to_string())))
        .unwrap();
    let conn = std::cell::RefCell::new(conn);
    let suffix = if dialect == Dialect::Postgres {
        "+00"
    } else {
        ""
    };
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy(true), |(rows, searches, tz)| {
        let mut c = conn.borrow_mut();
        rt.block_on(async {
            c.execute(AssertSqlSafe(format!("DELETE FROM {table}")))
                .await
                .unwrap();
            c.execute(AssertSqlSafe(insert(table, &rows, suffix)))
                .await
                .unwrap();
            check::<DB>(&mut c, dialect, table, &rows, &searches, tz).await
        })
    });
    let mut conn = conn.into_inner();
    rt.block_on(async {
        conn.execute(AssertSqlSafe(format!("DROP TABLE {table}")))
            .await
            .unwrap();
        conn.close().await.ok();
    });
    result.unwrap();
}

#[test]
fn postgres_agrees_with_the_oracle() {
    server_agrees::<sqlx::Postgres>(
        Dialect::Postgres,
        "CREATE TABLE t (id BIGINT PRIMARY KEY, d DATE, ts TIMESTAMP, \
         tstz TIMESTAMPTZ, ymd CHAR(8), ym CHAR(6), y CHAR(4), hm VARCHAR(16), \
         pds DATE, pde DATE, pts TIMESTAMP, pte TIMESTAMP)",
    );
}

#[test]
fn mariadb_agrees_with_the_oracle() {
    server_agrees::<sqlx::MySql>(
        Dialect::Mysql,
        "CREATE TABLE t (id BIGINT PRIMARY KEY, d DATE, ts DATETIME, \
         tstz TIMESTAMP NULL DEFAULT NULL, ymd CHAR(8), ym CHAR(6), y CHAR(4), \
         hm VARCHAR(16), pds DATE, pde DATE, pts DATETIME, pte DATETIME)",
    );
}

#[test]
fn sqlite_agrees_with_the_oracle() {
    let rt = runtime();
    let conn = std::cell::RefCell::new(
        rt.block_on(sqlx::SqliteConnection::connect("sqlite::memory:"))
            .unwrap(),
    );
    rt.block_on(conn.borrow_mut().execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, d DATE, ts TIMESTAMP, tstz TIMESTAMP, \
             ymd CHAR(8), ym CHAR(6), y CHAR(4), hm VARCHAR(16), pds DATE, pde DATE, \
             pts TIMESTAMP, pte TIMESTAMP)",
    ))
    .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy(true), |(rows, searches, tz)| {
            let mut conn = conn.borrow_mut();
            rt.block_on(async {
                conn.execute("DELETE FROM t").await.unwrap();
                conn.execute(AssertSqlSafe(insert("t", &rows, "")))
                    .await
                    .unwrap();
                check::<sqlx::Sqlite>(&mut conn, Dialect::Sqlite, "t", &rows, &searches, tz).await
            })
        })
        .unwrap();
}
