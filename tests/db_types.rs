//! Row decoding of the column types real legacy schemas use, on every backend, into the one
//! neutral value type.

#[path = "support/servers.rs"]
mod servers;

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use fhir_facade::db::{Database, DbSettings};
use fhir_facade::sql::{Dialect, Statement, Value};

fn settings(url: &str) -> DbSettings {
    DbSettings {
        url: url.to_string(),
        replicas: vec![],
        max_connections: 2,
        connect_timeout: Duration::from_secs(3),
        statement_timeout: Duration::from_secs(5),
        budget: Default::default(),
    }
}

async fn row(db: &Database, sql: &str) -> Vec<Value> {
    let stmt = Statement {
        sql: sql.to_string(),
        params: vec![],
        parts: None,
    };
    let mut rows = db.fetch(&stmt).await.expect(sql);
    assert_eq!(rows.len(), 1);
    rows.remove(0)
}

fn ts(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

/// What every backend must decode the same way.
fn common_expectations(got: &[Value]) {
    assert_eq!(got[0], Value::Int(1), "smallint");
    assert_eq!(got[1], Value::Int(2), "integer");
    assert_eq!(got[2], Value::Int(9_000_000_000), "bigint");
    assert_eq!(
        got[3],
        Value::Decimal("12.50".into()),
        "numeric keeps its scale"
    );
    assert_eq!(got[4], Value::Float(2.25), "double");
    assert_eq!(got[5], Value::Text("cd".into()), "varchar");
    assert_eq!(
        got[6],
        Value::Date(NaiveDate::from_ymd_opt(2020, 1, 2).unwrap()),
        "date"
    );
    assert_eq!(
        got[7],
        Value::Time(NaiveTime::from_hms_opt(10, 11, 12).unwrap()),
        "time"
    );
    assert_eq!(
        got[8],
        Value::Timestamp(ts("2020-01-02 03:04:05")),
        "timestamp"
    );
    assert_eq!(got[9], Value::Null, "null");
}

#[tokio::test]
async fn postgres_types_decode() {
    let Some(url) = servers::fresh_database(Dialect::Postgres, "fhir_facade_types_test").await
    else {
        return;
    };
    let db = Database::connect(&settings(&url)).await.unwrap();
    let got = row(
        &db,
        "SELECT CAST(1 AS SMALLINT), CAST(2 AS INTEGER), CAST(9000000000 AS BIGINT), \
         CAST('12.50' AS NUMERIC(6,2)), CAST(2.25 AS DOUBLE PRECISION), CAST('cd' AS VARCHAR(5)), \
         DATE '2020-01-02', TIME '10:11:12', TIMESTAMP '2020-01-02 03:04:05', CAST(NULL AS INTEGER), \
         CAST('ab' AS CHAR(4)), TRUE, TIMESTAMPTZ '2020-01-02 03:04:05+02', CAST(1.5 AS REAL)",
    )
    .await;
    common_expectations(&got);
    assert_eq!(
        got[10],
        Value::Text("ab  ".into()),
        "char(n) keeps its padding"
    );
    assert_eq!(got[11], Value::Bool(true));
    match &got[12] {
        Value::TimestampTz(t) => assert_eq!(t.to_rfc3339(), "2020-01-02T01:04:05+00:00"),
        other => panic!("timestamptz: {other:?}"),
    }
    assert_eq!(got[13], Value::Float(1.5));
}

#[tokio::test]
async fn mysql_types_decode() {
    let Some(url) = servers::fresh_database(Dialect::Mysql, "fhir_facade_types_test").await else {
        return;
    };
    servers::exec(
        &url,
        "CREATE TABLE T (SI SMALLINT, I INT, BI BIGINT, D DECIMAL(6,2), DB DOUBLE, VC VARCHAR(5), \
         DT DATE, TM TIME, TS DATETIME, N INT NULL, C CHAR(4), B BOOLEAN, BT BIT(1), \
         TSZ TIMESTAMP NULL, U INT UNSIGNED, TI TINYINT)",
    )
    .await;
    servers::exec(
        &url,
        "INSERT INTO T VALUES (1, 2, 9000000000, 12.50, 2.25, 'cd', '2020-01-02', '10:11:12', \
         '2020-01-02 03:04:05', NULL, 'ab', TRUE, b'1', '2020-01-02 03:04:05', 7, -3)",
    )
    .await;
    let db = Database::connect(&settings(&url)).await.unwrap();
    let got = row(&db, "SELECT * FROM T").await;
    common_expectations(&got);
    assert_eq!(
        got[10],
        Value::Text("ab".into()),
        "MariaDB strips CHAR padding"
    );
    assert!(
        matches!(got[11], Value::Int(1) | Value::Bool(true)),
        "boolean: {:?}",
        got[11]
    );
    assert_eq!(got[12], Value::Int(1), "bit flag");
    assert!(
        matches!(got[13], Value::TimestampTz(_)),
        "timestamp: {:?}",
        got[13]
    );
    assert_eq!(got[14], Value::Int(7), "unsigned");
    assert_eq!(got[15], Value::Int(-3), "tinyint");
    // An expression's text comes back as text, whatever its collation.
    let got = row(&db, "SELECT CONCAT('a', 'b'), CASE WHEN 1 = 1 THEN 'y' END").await;
    assert_eq!(got, vec![Value::Text("ab".into()), Value::Text("y".into())]);
    // `||` concatenates in the mapping's SQL, as on the other databases (PIPES_AS_CONCAT).
    let got = row(&db, "SELECT 'a' || 'b' || 1").await;
    assert_eq!(got, vec![Value::Text("ab1".into())]);
}

#[tokio::test]
async fn sqlite_values_decode_by_storage_class() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    std::fs::File::create(&path).unwrap();
    let db = Database::connect(&settings(&format!("sqlite:{}", path.display())))
        .await
        .unwrap();
    let got = row(&db, "SELECT 1, 2.25, 'x', NULL, x'00ff', '2020-01-02'").await;
    assert_eq!(
        got,
        vec![
            Value::Int(1),
            Value::Float(2.25),
            Value::Text("x".into()),
            Value::Null,
            Value::Bytes(vec![0, 255]),
            Value::Text("2020-01-02".into())
        ]
    );
}
