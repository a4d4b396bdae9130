//! Query plans of a search on a joined lookup table: `Observation?code=http://loinc.org|...`
//! compares the code-map table's `LOINC_CD`. With the sample's unique index on it the lookup is
//! one row, so the lab results are read in page order and no page sorts every match
//! (docs/mapping.md §12); without it, SQLite and MySQL/MariaDB start from the lookup table and
//! sort all the matches of the code on every page.

use fhir_facade::sql::{Dialect, Statement};
use sea_query_sqlx::SqlxValues;
use sqlx::{AssertSqlSafe, Connection, Row};

use crate::helpers::{Backend, backend};
use crate::plans::{explain, explain_mysql as explain_on, page_statement, sized_page};

async fn page(b: &Backend) -> Statement {
    let params = [("code", "http://loinc.org|2339-0")];
    page_statement(&b.url, b.dialect, "Observation", &params, None).await
}

/// MySQL/MariaDB EXPLAIN rows of `stmt`: (table, access type, Extra).
async fn explain_mysql(url: &str, stmt: &Statement) -> Vec<(String, String, String)> {
    let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
    let values = SqlxValues(sea_query::Values(stmt.params.clone()));
    let sql = format!("EXPLAIN {}", stmt.sql);
    let text = |r: &sqlx::mysql::MySqlRow, col: &str| {
        r.try_get_unchecked::<Option<String>, _>(col)
            .unwrap()
            .unwrap_or_default()
    };
    sqlx::query_with(AssertSqlSafe(sql), values)
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| (text(r, "table"), text(r, "type"), text(r, "Extra")))
        .collect()
}

/// SQLite EXPLAIN QUERY PLAN lines (`id parent detail`) as (parent, detail).
fn sqlite_lines(plan: &str) -> Vec<(&str, &str)> {
    plan.lines()
        .map(|l| {
            let mut p = l.splitn(3, ' ');
            p.next();
            (p.next().unwrap(), p.next().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn a_search_on_a_unique_lookup_column_reads_in_page_order() {
    let sqlite = backend(Dialect::Sqlite).unwrap();
    let plan = explain(&sqlite.url, Dialect::Sqlite, &page(sqlite).await, false).await;
    let lines = sqlite_lines(&plan);
    let (parent, _) = lines
        .iter()
        .find(|(_, d)| d.contains(" LAB_RESULT"))
        .expect("LAB_RESULT is read");
    assert!(
        lines
            .iter()
            .any(|(p, d)| p == parent && d.contains("MAP USING INDEX UX_LAB_TEST_MAP_LOINC")),
        "{plan}"
    );
    assert!(
        !lines
            .iter()
            .any(|(p, d)| p == parent && d.starts_with("USE TEMP B-TREE FOR ORDER BY")),
        "the lab results are sorted apart:\n{plan}"
    );
    if let Some(mysql) = backend(Dialect::Mysql) {
        let rows = explain_mysql(&mysql.url, &page(mysql).await).await;
        let map = rows.iter().find(|r| r.0 == "MAP").expect("MAP is read");
        assert_eq!(map.1, "const", "{rows:?}");
        for (table, _, extra) in rows.iter().filter(|r| r.0 == "MAP" || r.0 == "LAB_RESULT") {
            assert!(
                !extra.contains("filesort") && !extra.contains("temporary"),
                "{table} rows are sorted: {rows:?}"
            );
        }
    }
}

/// A copy of the seeded sample on `dialect` whose lookup column is not unique (so the lookup
/// is not one row known in advance); its URL.
async fn without_unique_lookup(dialect: Dialect) -> Option<String> {
    let url = match dialect {
        Dialect::Sqlite => {
            let dir = tempfile::tempdir().unwrap().keep();
            format!("sqlite:{}", dir.join("lookup.db").display())
        }
        _ => crate::servers::fresh_database(dialect, "fhir_facade_lookup").await?,
    };
    crate::helpers::seed(&url).await;
    let drop = match dialect {
        Dialect::Mysql => "ALTER TABLE LAB_TEST_MAP DROP INDEX UX_LAB_TEST_MAP_LOINC",
        _ => "DROP INDEX UX_LAB_TEST_MAP_LOINC",
    };
    crate::servers::exec(&url, drop).await;
    Some(url)
}

#[tokio::test]
async fn a_search_on_a_lookup_column_sized_first_reads_in_page_order() {
    let params = [("code", "http://loinc.org|2339-0")];
    for dialect in [Dialect::Sqlite, Dialect::Mysql] {
        if backend(dialect).is_none() {
            continue;
        }
        let Some(url) = without_unique_lookup(dialect).await else {
            continue;
        };
        // Written on the join, the matches of the code are sorted on every page...
        let joined = page_statement(&url, dialect, "Observation", &params, None).await;
        // ...sized first, the lookup is a list of the main table's own codes.
        let (sized, n, db) = sized_page(&url, dialect, "Observation", &params).await;
        assert!(n > 0, "{dialect}: nothing sized");
        assert!(
            sized.sql.contains("TEST_CD IN (?"),
            "{dialect}: {}",
            sized.sql
        );
        match dialect {
            Dialect::Sqlite => {
                // A sort in the lab results' own branch (the union's sort of its branches' few
                // rows is fine).
                let sorts = |plan: &str| {
                    let lines = sqlite_lines(plan);
                    let branch = lines
                        .iter()
                        .find(|(_, d)| d.contains(" LAB_RESULT") || d.contains(" MAP"))
                        .map(|(p, _)| *p);
                    lines.iter().any(|(p, d)| {
                        Some(*p) == branch && d.starts_with("USE TEMP B-TREE FOR ORDER BY")
                    })
                };
                let before = explain(&url, dialect, &joined, false).await;
                assert!(sorts(&before), "{before}");
                let after = explain(&url, dialect, &sized, false).await;
                assert!(!sorts(&after), "{after}");
            }
            _ => {
                let sorts = |rows: &[[String; 4]]| {
                    rows.iter().any(|r| {
                        (r[1] == "MAP" || r[1] == "LAB_RESULT")
                            && (r[3].contains("filesort") || r[3].contains("temporary"))
                    })
                };
                let before = explain_on(&db, &joined).await;
                assert!(sorts(&before), "{before:?}");
                let after = explain_on(&db, &sized).await;
                assert!(!sorts(&after), "{after:?}");
            }
        }
    }
}

/// Sized first on every database, a code no lookup row has asks nothing of the lab results,
/// and a code some have is a list of the lab results' own codes. (PostgreSQL, planning the
/// join from statistics, read every lab result in key order for a first match of such a code.)
#[tokio::test]
async fn a_lookup_is_sized_first_on_every_database() {
    // The conditions of the lab results' branch of the page statement of `code=<value>`.
    async fn lab_conditions(b: &Backend, value: &str, has_rows: bool) -> String {
        let params = [("code", value)];
        let (page, n, db) = sized_page(&b.url, b.dialect, "Observation", &params).await;
        assert!(n > 0, "{}: nothing sized", b.dialect);
        // The same rows as the search written on the join.
        let joined = page_statement(&b.url, b.dialect, "Observation", &params, None).await;
        let keys = |rows: Vec<fhir_facade::sql::Row>| -> Vec<String> {
            rows.iter().map(|r| format!("{:?}", &r[..2])).collect()
        };
        let (got, want) = (
            db.fetch(&page).await.unwrap(),
            db.fetch(&joined).await.unwrap(),
        );
        assert_eq!(
            !want.is_empty(),
            has_rows,
            "{}: {value}: rows to compare",
            b.dialect
        );
        assert_eq!(keys(got), keys(want), "{}: {value}", b.dialect);
        let sql = page.sql.replace(['"', '`'], "");
        let branch = sql
            .split_once("FROM LAB_RESULT")
            .expect("a lab results branch")
            .1;
        let conditions = branch.split_once(" WHERE ").unwrap().1;
        conditions.split_once(" ORDER BY").unwrap().0.to_string()
    }
    for dialect in Dialect::ALL {
        let Some(b) = backend(dialect) else {
            continue;
        };
        let some = lab_conditions(b, "http://loinc.org|2339-0", true).await;
        assert!(
            some.contains("LAB_RESULT.TEST_CD IN ("),
            "{dialect}: {some}"
        );
        assert!(!some.contains("MAP."), "{dialect}: {some}");
        let none = lab_conditions(b, "http://loinc.org|8867-4", true).await;
        assert!(
            none.contains("(1=0)") && !none.contains("MAP."),
            "{dialect}: {none}"
        );
        // Without a system the code is also the local code (a target on the row itself): the
        // lookup is still sized first, the local code compared as it is, and a code no row
        // has is `1=0 OR <local code>` (on the join, PostgreSQL read every lab result of the
        // 1M database in key order for a first match: 20 s).
        let some = lab_conditions(b, "2339-0", true).await;
        assert!(
            some.contains("LAB_RESULT.TEST_CD IN (") && some.contains(" OR "),
            "{dialect}: {some}"
        );
        assert!(!some.contains("MAP."), "{dialect}: {some}");
        let none = lab_conditions(b, "no-such-code", false).await;
        assert!(
            none.contains("1=0 OR ") && !none.contains("MAP."),
            "{dialect}: {none}"
        );
    }
}
