//! Query plans of sorted pages: a bare `_sort=birthdate` reads the index on `BIRTH_DT` in
//! order (no sort of the whole table), on the first page and after a keyset, as the
//! database's own EXPLAIN shows.

use std::time::Duration;

use fhir_facade::db::{Database, DbSettings, Value};
use fhir_facade::dialect::Dialect;
use fhir_facade::plan::KeyValue;
use fhir_facade::plan::Statement;
use fhir_facade::plan::search::{Branch, Context, Keyset, effective_sort, page_query, sort_values};
use fhir_facade::request::search::SearchRequest;
use sea_query_sqlx::SqlxValues;
use sqlx::{AssertSqlSafe, Connection, Row};

use crate::helpers::{Backend, MAPPING, backend};

/// The page statements of `Patient?_sort=<sort>`: the first page and the page after a
/// patient born on 1974-06-25, planned with the mapping checked against `backend`.
async fn pages(backend: &Backend, sort: &str) -> Vec<Statement> {
    let db = Database::connect(&DbSettings {
        url: backend.url.clone(),
        replicas: vec![],
        max_connections: 1,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    let mut m = fhir_facade::mapping::load(MAPPING, backend.dialect).unwrap();
    fhir_facade::startup::check_against_database(MAPPING, &mut m, &db)
        .await
        .unwrap();
    let params = vec![("_sort".to_string(), sort.to_string())];
    let req = SearchRequest::parse(&m, "Patient", &params, false, 1000, 3).unwrap();
    let source = m.sources_of("Patient").next().unwrap();
    let cx = || Context {
        source,
        dialect: backend.dialect,
        tz: m.timezone,
        base_url: "http://localhost/fhir",
        mapping: &m,
        accents: &fhir_facade::search::string::Accents::AsStored,
    };
    let (sort, key_desc) = sort_values(&cx(), &req.sort).unwrap();
    let branches = [Branch { cx: cx(), sort }];
    let after = Keyset {
        source: 0,
        sort: vec![Value::Text("19740625".into())],
        key: KeyValue::Int(1),
    };
    [None, Some(&after)]
        .into_iter()
        .map(|k| {
            page_query(
                &branches,
                effective_sort(&req.sort),
                key_desc,
                &req.filters,
                k,
                21,
            )
            .unwrap()
            .statement
        })
        .collect()
}

/// The plan of `stmt`, one line per plan node (SQLite: `id parent detail`). PostgreSQL plans
/// with sequential and bitmap scans disabled: on the small sample it would rather read the
/// whole table (or range) and sort it, and the test is whether the index can serve the
/// statement's order at all.
async fn explain(backend: &Backend, stmt: &Statement) -> String {
    let values = || SqlxValues(sea_query::Values(stmt.params.clone()));
    match backend.dialect {
        Dialect::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&backend.url).await.unwrap();
            let sql = format!("EXPLAIN QUERY PLAN {}", stmt.sql);
            sqlx::query_with(AssertSqlSafe(sql), values())
                .fetch_all(&mut c)
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    format!(
                        "{} {} {}",
                        r.get::<i64, _>(0),
                        r.get::<i64, _>(1),
                        r.get::<String, _>(3)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        Dialect::Postgres => {
            let mut c = sqlx::PgConnection::connect(&backend.url).await.unwrap();
            for set in ["SET enable_seqscan = off", "SET enable_bitmapscan = off"] {
                sqlx::query(set).execute(&mut c).await.unwrap();
            }
            let sql = format!("EXPLAIN {}", stmt.sql);
            sqlx::query_with(AssertSqlSafe(sql), values())
                .fetch_all(&mut c)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect::<Vec<_>>()
                .join("\n")
        }
        Dialect::Mysql => unreachable!("not explained here"),
    }
}

/// SQLite: every read of PATIENT goes through the index, and no temporary B-tree sorts the
/// rows read (one that sorts only the last ORDER BY term, the id within runs of one birth
/// date, or the few rows of the union's branches, is fine).
fn check_sqlite(plan: &str) -> Result<(), String> {
    let lines: Vec<(&str, &str, &str)> = plan
        .lines()
        .map(|l| {
            let mut p = l.splitn(3, ' ');
            (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
        })
        .collect();
    for (_, parent, detail) in &lines {
        if detail.contains(" PATIENT") {
            if !detail.contains("USING INDEX IX_PATIENT_BIRTH_DT") {
                return Err(format!("not through the index: {detail}"));
            }
            let sorted = lines
                .iter()
                .any(|(_, p, d)| p == parent && d.starts_with("USE TEMP B-TREE FOR ORDER BY"));
            if sorted {
                return Err("the table's rows are sorted apart".into());
            }
        }
    }
    Ok(())
}

/// PostgreSQL: PATIENT is read through the index, a keyset bound is an index condition, and
/// a full sort only ever sorts the union of the branches' few rows (`Append`).
fn check_postgres(plan: &str, keyset: bool) -> Result<(), String> {
    if !plan.contains("using ix_patient_birth_dt on patient") {
        return Err("the index is not used".into());
    }
    if keyset && !plan.contains("Index Cond: (birth_dt") {
        return Err("the keyset bound is no index condition".into());
    }
    let lines: Vec<&str> = plan
        .lines()
        .map(|l| l.trim_start().trim_start_matches("->  "))
        .collect();
    for (i, node) in lines.iter().enumerate() {
        if node.starts_with("Sort  (") {
            let mut input = lines[i + 1..]
                .iter()
                .skip_while(|l| l.starts_with("Sort Key") || l.starts_with("Presorted Key"));
            let scan = input.next().copied().unwrap_or_default();
            // Sorting the branches' rows, or the ids of the NULL birth dates (an index on
            // BIRTH_DT alone does not order them by id), is fine.
            let null_run = input
                .next()
                .is_some_and(|l| l.starts_with("Index Cond: (birth_dt IS NULL)"));
            if !scan.starts_with("Append") && !null_run {
                return Err(format!("sorts the rows read: {scan}"));
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_bare_sort_reads_the_sort_columns_index_in_order() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let Some(b) = backend(dialect) else {
            continue;
        };
        for sort in ["birthdate", "-birthdate"] {
            for (n, stmt) in pages(b, sort).await.iter().enumerate() {
                let plan = explain(b, stmt).await;
                let checked = match dialect {
                    Dialect::Sqlite => check_sqlite(&plan),
                    _ => check_postgres(&plan, n > 0),
                };
                if let Err(e) = checked {
                    panic!(
                        "{dialect} _sort={sort}, page {}: {e}\n{plan}\n{}",
                        n + 1,
                        stmt.sql
                    );
                }
            }
        }
    }
}

/// The checks fail on the plans of the former `ORDER BY (x IS NULL), x` statements.
#[test]
fn the_checks_reject_a_sort_of_the_table() {
    let sqlite = "3 0 SCAN PATIENT\n20 0 USE TEMP B-TREE FOR ORDER BY";
    assert!(check_sqlite(sqlite).is_err());
    let postgres = "Limit  (cost=1.00..2.00 rows=21 width=117)
  ->  Sort  (cost=1.00..2.00 rows=116 width=117)
        Sort Key: ((birth_dt IS NULL)), birth_dt, pat_id
        ->  Index Scan using ix_patient_birth_dt on patient  (cost=0.14..18.24 rows=116 width=117)
              Filter: (del_flg <> 'Y'::bpchar)";
    assert!(check_postgres(postgres, false).is_err());
}
