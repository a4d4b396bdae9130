//! The clinic sample itself: loaded on every backend with the same rows, meaning the same
//! thing, and its committed scripts up to date with their generator.

use fhir_facade::db::admin::Conn;
use fhir_facade::seed::ident;
use fhir_facade::sql::Dialect;

use crate::clinic::{self, TABLES};
use crate::servers::in_ci;

#[test]
fn every_backend_runs_under_ci() {
    if in_ci() {
        let got: Vec<Dialect> = clinic::backends().iter().map(|b| b.dialect).collect();
        assert_eq!(got, [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql]);
    }
}

/// `(column, declared type)` of `table` in the SQLite copy.
async fn columns(conn: &mut Conn, table: &str) -> Vec<(String, String)> {
    conn.fetch_strings(&format!(
        "SELECT name, upper(type) FROM pragma_table_info('{table}') ORDER BY cid"
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap_or_default()))
    .collect()
}

/// Every row of `table` (ordered by its first column), each value cast to text in SQL.
async fn dump(conn: &mut Conn, table: &str, cols: &[(String, String)]) -> Vec<Vec<Option<String>>> {
    let d = conn.dialect();
    let list: Vec<String> = cols
        .iter()
        .map(|(c, _)| d.text_cast(&ident(d, c)))
        .collect();
    // Ordered by the (integer) key itself, not by the text output column of the same name.
    let sql = format!(
        "SELECT {} FROM {table} ORDER BY {table}.{}",
        list.join(", "),
        ident(d, &cols[0].0)
    );
    conn.fetch_strings(&sql)
        .await
        .unwrap_or_else(|e| panic!("{d}: {sql}: {e}"))
}

fn is_zero_date(v: &str) -> bool {
    v == "0000-00-00" || v == "0000-00-00 00:00:00"
}

/// The value `reference` (from SQLite) has on `dialect`: PostgreSQL stores no zero dates in
/// DATE/TIMESTAMP columns (NULL instead) and spells booleans `true`/`false`.
fn same_meaning(
    dialect: Dialect,
    declared: &str,
    reference: &Option<String>,
    got: &Option<String>,
) -> bool {
    let reference = match reference {
        Some(v)
            if dialect == Dialect::Postgres && declared.starts_with("DATE") && is_zero_date(v) =>
        {
            None
        }
        other => other.clone(),
    };
    let got = got.as_deref().map(|v| match v {
        "true" => "1",
        "false" => "0",
        v => v,
    });
    match (reference.as_deref(), got) {
        (None, None) => true,
        (Some(a), Some(b)) if a == b => true,
        // Floats: the same number, whatever the digits each database prints.
        (Some(a), Some(b)) if declared == "REAL" => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(a), Ok(b)) => (a - b).abs() < 1e-3,
            _ => false,
        },
        _ => false,
    }
}

#[tokio::test]
async fn the_clinic_sample_holds_the_same_rows_on_every_backend() {
    let backends = clinic::backends();
    let mut sqlite = Conn::open(&backends[0].url).await.unwrap();
    let mut total = 0;
    for table in TABLES {
        let cols = columns(&mut sqlite, table).await;
        assert!(!cols.is_empty(), "{table} exists");
        let reference = dump(&mut sqlite, table, &cols).await;
        assert!(!reference.is_empty(), "{table} has rows");
        total += reference.len();
        for b in &backends[1..] {
            let mut conn = Conn::open(&b.url).await.unwrap();
            let got = dump(&mut conn, table, &cols).await;
            conn.close().await.ok();
            assert_eq!(got.len(), reference.len(), "{}: rows of {table}", b.dialect);
            for (want, row) in reference.iter().zip(&got) {
                for (i, (col, declared)) in cols.iter().enumerate() {
                    assert!(
                        same_meaning(b.dialect, declared, &want[i], &row[i]),
                        "{}: {table}.{col} of row {:?}: {:?} on SQLite, {:?} here",
                        b.dialect,
                        want[0],
                        want[i],
                        row[i]
                    );
                }
            }
        }
    }
    assert!(total > 400, "{total} rows");
    sqlite.close().await.ok();
}

/// The warts the tests rely on are really in the data, on every backend.
#[tokio::test]
async fn the_clinic_sample_carries_its_warts_on_every_backend() {
    for b in clinic::backends() {
        let mut conn = Conn::open(&b.url).await.unwrap();
        let d = b.dialect;
        let mut count = async |sql: &str| -> i64 {
            let sql = format!("SELECT {} FROM {sql}", d.text_cast("COUNT(*)"));
            let rows = conn
                .fetch_strings(&sql)
                .await
                .unwrap_or_else(|e| panic!("{d}: {sql}: {e}"));
            rows[0][0].as_deref().unwrap().parse().unwrap()
        };
        let zero_dob =
            count("patient_data WHERE dob IS NOT NULL AND CAST(dob AS CHAR(10)) = '0000-00-00'")
                .await;
        match d {
            // PostgreSQL cannot hold zero dates: those rows have NULL.
            Dialect::Postgres => {
                assert_eq!(zero_dob, 0);
                assert_eq!(count("patient_data WHERE dob IS NULL").await, 3);
            }
            _ => {
                assert_eq!(zero_dob, 2, "{d}: zero birth dates");
                assert_eq!(count("patient_data WHERE dob IS NULL").await, 1);
            }
        }
        // The TEXT date column keeps its zero dates everywhere.
        assert!(count("lists WHERE enddate = '0000-00-00'").await > 5, "{d}");
        assert!(count("lists WHERE enddate = ''").await > 0, "{d}");
        // 0 means "no reference".
        assert!(count("patient_data WHERE providerid = 0").await > 3, "{d}");
        assert!(
            count("form_encounter WHERE provider_id = 0").await > 5,
            "{d}"
        );
        // Blank strings.
        assert!(count("patient_data WHERE phone_home = ''").await > 3, "{d}");
        // Code-system prefixes, unknown prefixes and none.
        assert!(
            count("lists WHERE diagnosis LIKE 'ICD10:%'").await > 5,
            "{d}"
        );
        assert!(
            count("lists WHERE diagnosis LIKE 'ICD9:%'").await > 0,
            "{d}"
        );
        assert!(
            count("procedure_result WHERE result_code LIKE 'LOINC:%'").await > 20,
            "{d}"
        );
        conn.close().await.ok();
    }
}

#[test]
fn the_committed_scripts_are_those_the_generator_writes() {
    let generator = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/clinic_fixture.py");
    match std::process::Command::new("python3")
        .arg(generator)
        .arg("--check")
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if !in_ci() => eprintln!("NOTICE: python3 not found ({e}); generator check skipped"),
        Err(e) => panic!("python3 is required under CI=true: {e}"),
    }
}
