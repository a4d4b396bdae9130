//! `_total=estimate` on every backend: the planner's estimate on PostgreSQL and MySQL/MariaDB
//! (no exact value to expect there), the exact count on SQLite, and exact whenever the first
//! page holds every match.

use fhir_facade::sql::Dialect;
use serde_json::Value;
use sqlx::Row;

use crate::helpers::{TestApp, backend, spawn_apps};
use crate::servers;

async fn total(app: &TestApp, query: &str) -> (u64, Value) {
    let (s, b) = app.get(query).await;
    assert_eq!(s, 200, "{}: {query}: {b}", app.dialect);
    crate::fhir_schema::assert_valid(&b);
    let t = b["total"].as_u64().unwrap_or_else(|| {
        panic!(
            "{}: {query}: total is not a non-negative integer: {b}",
            app.dialect
        )
    });
    (t, b)
}

async fn count(app: &TestApp, sql: &str) -> u64 {
    let n: i64 = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&app.db)
        .await
        .unwrap()
        .get(0);
    n.try_into().unwrap()
}

/// Matches of `Observation` (no criteria) in the sample: every lab result and one per vital
/// sign present in a VITALS row.
async fn observations(app: &TestApp) -> u64 {
    let mut n = count(app, "SELECT COUNT(*) FROM LAB_RESULT WHERE DEL_FLG <> 'Y'").await;
    for col in ["HR", "BP_SYS", "TEMP_F", "WT_KG"] {
        n += count(
            app,
            &format!("SELECT COUNT(*) FROM VITALS WHERE DEL_FLG <> 'Y' AND {col} IS NOT NULL"),
        )
        .await;
    }
    n
}

#[tokio::test]
async fn estimated_totals() {
    // Estimates come from the planner's statistics; a freshly loaded database has none yet.
    if let Some(pg) = backend(Dialect::Postgres) {
        servers::exec(&pg.url, "ANALYZE").await;
    }
    for app in spawn_apps().await {
        let all = observations(&app).await;
        let (n, b) = total(&app, "Observation?_total=estimate&_count=0").await;
        assert!(
            b["link"][0]["url"]
                .as_str()
                .unwrap()
                .contains("_total=estimate")
        );
        match app.dialect {
            Dialect::Sqlite => assert_eq!(n, all, "SQLite has no estimate: it counts"),
            // Row estimates from fresh statistics of whole tables: the right order.
            Dialect::Postgres => assert!(
                n >= all / 2 && n <= all * 2,
                "PostgreSQL estimated {n} for {all} observations"
            ),
            // MariaDB estimates without histograms: only a usable number.
            Dialect::Mysql => {}
        }
        let (n, _) = total(&app, "Observation?_total=estimate&_summary=count").await;
        if app.dialect == Dialect::Sqlite {
            assert_eq!(n, all);
        }

        // A first page that holds every match makes the total exact, on every backend.
        let females = count(
            &app,
            "SELECT COUNT(*) FROM PATIENT WHERE DEL_FLG <> 'Y' AND SEX_CD = 'F'",
        )
        .await;
        let (n, b) = total(&app, "Patient?gender=female&_total=estimate&_count=1000").await;
        assert_eq!(n, females, "{}", app.dialect);
        assert_eq!(b["entry"].as_array().unwrap().len() as u64, females);
        let (n, _) = total(&app, "Patient?family=zzz&_total=estimate").await;
        assert_eq!(n, 0, "{}", app.dialect);
        // Otherwise it is at least what the first page saw, and the next link keeps asking
        // for an estimate.
        let (n, b) = total(&app, "Patient?gender=female&_total=estimate&_count=2").await;
        assert!(n > 2, "{}: {n}", app.dialect);
        let next = b["link"][1]["url"].as_str().unwrap();
        assert!(next.contains("_total=estimate"), "{next}");
        let page2: Value = app
            .client
            .get(next)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(page2["total"].is_u64(), "{page2}");
        if app.dialect == Dialect::Sqlite {
            assert_eq!(n, females);
            assert_eq!(page2["total"], females);
        }
    }
}
