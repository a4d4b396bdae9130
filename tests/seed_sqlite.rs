//! Seeds temporary SQLite files and checks the data's properties.

#[path = "seed_common.rs"]
mod common;

use std::collections::HashSet;

use chrono::NaiveDate;
use common::{Dump, col, dump_all, normalized_dump};
use fhir_facade::db::admin::Conn;
use fhir_facade::seed::rows::{self, TableDef};
use fhir_facade::seed::{SeedError, SeedOptions, seed_database};

fn url(dir: &tempfile::TempDir, name: &str) -> String {
    format!("sqlite://{}", dir.path().join(name).display())
}

async fn seed(dir: &tempfile::TempDir, name: &str, patients: u32) -> String {
    let url = url(dir, name);
    let opts = SeedOptions {
        patients,
        ..SeedOptions::default()
    };
    let report = seed_database(&url, &opts).await.expect("seed");
    assert_eq!(report.count("PATIENT"), u64::from(patients));
    url
}

fn column<'a>(
    dump: &'a Dump,
    table: &TableDef,
    name: &str,
) -> impl Iterator<Item = Option<&'a str>> {
    let i = col(table, name);
    dump.iter().map(move |r| r[i].as_deref())
}

fn ids(dump: &Dump, table: &TableDef, name: &str) -> HashSet<String> {
    column(dump, table, name)
        .flatten()
        .map(str::to_owned)
        .collect()
}

fn get<'a>(all: &'a [(&'static str, Dump)], name: &str) -> &'a Dump {
    &all.iter().find(|(n, _)| *n == name).expect("table").1
}

#[tokio::test]
async fn seeded_sqlite_has_sane_consistent_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = seed(&dir, "a.db", 50).await;
    let mut conn = Conn::open(&url).await.unwrap();
    let all = dump_all(&mut conn).await.unwrap();
    for (name, dump) in &all {
        assert!(!dump.is_empty(), "{name} is empty");
    }
    let (pat, vis, dx, lab, vs, rx) = (
        get(&all, "PATIENT"),
        get(&all, "VISIT"),
        get(&all, "DIAGNOSIS"),
        get(&all, "LAB_RESULT"),
        get(&all, "VITALS"),
        get(&all, "RX_ORDER"),
    );
    assert_eq!(pat.len(), 50);
    assert!(vis.len() >= 50 && vis.len() <= 300, "visits {}", vis.len());
    assert!(lab.len() > vis.len(), "labs {}", lab.len());
    assert!(vs.len() >= vis.len() / 2);

    // No orphan foreign keys.
    let pat_ids = ids(pat, &rows::PATIENT, "PAT_ID");
    let visit_ids = ids(vis, &rows::VISIT, "VISIT_ID");
    let prov_ids = ids(get(&all, "PROVIDER"), &rows::PROVIDER, "PROV_ID");
    let dept_ids = ids(get(&all, "DEPT"), &rows::DEPT, "DEPT_ID");
    let checks: &[(&str, &TableDef, &str, &HashSet<String>)] = &[
        ("PAT_IDENT", &rows::PAT_IDENT, "PAT_ID", &pat_ids),
        ("PAT_PHONE", &rows::PAT_PHONE, "PAT_ID", &pat_ids),
        ("PAT_ADDR", &rows::PAT_ADDR, "PAT_ID", &pat_ids),
        ("VISIT", &rows::VISIT, "PAT_ID", &pat_ids),
        ("VISIT", &rows::VISIT, "ATTEND_PROV_ID", &prov_ids),
        ("VISIT", &rows::VISIT, "DEPT_ID", &dept_ids),
        ("PATIENT", &rows::PATIENT, "PCP_PROV_ID", &prov_ids),
        ("PROVIDER", &rows::PROVIDER, "DEPT_ID", &dept_ids),
        ("DEPT", &rows::DEPT, "PARENT_DEPT_ID", &dept_ids),
        ("DIAGNOSIS", &rows::DIAGNOSIS, "PAT_ID", &pat_ids),
        ("DIAGNOSIS", &rows::DIAGNOSIS, "VISIT_ID", &visit_ids),
        ("DIAGNOSIS", &rows::DIAGNOSIS, "RECORDED_BY", &prov_ids),
        ("LAB_RESULT", &rows::LAB_RESULT, "PAT_ID", &pat_ids),
        ("LAB_RESULT", &rows::LAB_RESULT, "VISIT_ID", &visit_ids),
        ("LAB_RESULT", &rows::LAB_RESULT, "ORDER_PROV_ID", &prov_ids),
        ("VITALS", &rows::VITALS, "PAT_ID", &pat_ids),
        ("VITALS", &rows::VITALS, "VISIT_ID", &visit_ids),
        ("VITALS", &rows::VITALS, "ENTERED_BY", &prov_ids),
        ("RX_ORDER", &rows::RX_ORDER, "PAT_ID", &pat_ids),
        ("RX_ORDER", &rows::RX_ORDER, "VISIT_ID", &visit_ids),
        ("RX_ORDER", &rows::RX_ORDER, "PRESC_PROV_ID", &prov_ids),
    ];
    for (name, table, column_name, parents) in checks {
        for v in column(get(&all, name), table, column_name).flatten() {
            assert!(parents.contains(v), "orphan {name}.{column_name} = {v}");
        }
    }
    // Child visit ids belong to the same patient.
    let visit_pat: std::collections::HashMap<&str, &str> = vis
        .iter()
        .map(|r| (r[0].as_deref().unwrap(), r[2].as_deref().unwrap()))
        .collect();
    for (dump, table) in [
        (dx, &rows::DIAGNOSIS),
        (lab, &rows::LAB_RESULT),
        (vs, &rows::VITALS),
        (rx, &rows::RX_ORDER),
    ] {
        let (pi, vi) = (col(table, "PAT_ID"), col(table, "VISIT_ID"));
        for r in dump {
            if let Some(v) = r[vi].as_deref() {
                assert_eq!(
                    visit_pat[v],
                    r[pi].as_deref().unwrap(),
                    "{} visit/patient mismatch",
                    table.name
                );
            }
        }
    }

    // Soft-deleted rows exist in every table that has DEL_FLG; flags are Y/N.
    for (name, table) in [
        ("PATIENT", &rows::PATIENT),
        ("VISIT", &rows::VISIT),
        ("DIAGNOSIS", &rows::DIAGNOSIS),
        ("LAB_RESULT", &rows::LAB_RESULT),
        ("VITALS", &rows::VITALS),
        ("RX_ORDER", &rows::RX_ORDER),
    ] {
        let flags: Vec<_> = column(get(&all, name), table, "DEL_FLG").collect();
        assert!(
            flags.iter().all(|f| matches!(f, Some("Y" | "N"))),
            "{name} DEL_FLG"
        );
        assert!(flags.contains(&Some("Y")), "{name} has no soft-deleted row");
    }

    // BIRTH_DT is D8 text and a valid date.
    for b in column(pat, &rows::PATIENT, "BIRTH_DT") {
        let b = b.unwrap();
        assert!(
            b.len() == 8 && b.bytes().all(|c| c.is_ascii_digit()),
            "BIRTH_DT {b}"
        );
        let d = NaiveDate::parse_from_str(b, "%Y%m%d").expect("valid BIRTH_DT");
        assert!(
            d >= NaiveDate::from_ymd_opt(1925, 1, 1).unwrap()
                && d <= NaiveDate::from_ymd_opt(2023, 12, 31).unwrap()
        );
    }
    // Timestamps are whole seconds in 'YYYY-MM-DD HH:MM:SS' form.
    for a in column(vis, &rows::VISIT, "ADMIT_TS") {
        chrono::NaiveDateTime::parse_from_str(a.unwrap(), "%Y-%m-%d %H:%M:%S")
            .expect("ADMIT_TS format");
    }
    conn.close().await.unwrap();
}

#[tokio::test]
async fn padded_codes_are_stored_padded() {
    let dir = tempfile::tempdir().unwrap();
    let url = seed(&dir, "p.db", 10).await;
    let mut conn = Conn::open(&url).await.unwrap();
    for (sql, width) in [
        ("SELECT DISTINCT ID_TYP FROM PAT_IDENT", 4),
        ("SELECT DISTINCT TEST_CD FROM LAB_RESULT", 6),
        ("SELECT LOCAL_CD FROM LAB_TEST_MAP", 6),
        ("SELECT DEPT_CD FROM DEPT", 6),
        ("SELECT DEPT_TYP FROM DEPT", 4),
        ("SELECT DISTINCT ICD10_CD FROM DIAGNOSIS", 8),
        ("SELECT SPEC_CD FROM PROVIDER WHERE SPEC_CD IS NOT NULL", 4),
    ] {
        let rows = conn.fetch_strings(sql).await.unwrap();
        assert!(!rows.is_empty(), "{sql}");
        for r in rows {
            let v = r[0].clone().unwrap();
            assert_eq!(v.len(), width, "{sql}: {v:?}");
        }
    }
    let mrn = conn
        .fetch_strings("SELECT ID_TYP FROM PAT_IDENT WHERE PAT_ID = 1 AND ID_TYP = 'MRN '")
        .await
        .unwrap();
    assert_eq!(mrn, vec![vec![Some("MRN ".to_owned())]]);
    // Declared types are what the mapping expects.
    let decl = conn
        .fetch_strings("SELECT type FROM pragma_table_info('PATIENT') WHERE name = 'BIRTH_DT'")
        .await
        .unwrap();
    assert_eq!(decl[0][0].as_deref(), Some("CHAR(8)"));
    // A legacy database has no migration-tracking table.
    let tables = conn
        .fetch_strings("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .await
        .unwrap();
    assert_eq!(tables.len(), 12, "{tables:?}");
    conn.close().await.unwrap();
}

#[tokio::test]
async fn seeding_is_deterministic_and_prefix_stable() {
    let dir = tempfile::tempdir().unwrap();
    let a = seed(&dir, "a.db", 50).await;
    let b = seed(&dir, "b.db", 50).await;
    let c = seed(&dir, "c.db", 20).await;
    let mut ca = Conn::open(&a).await.unwrap();
    let mut cb = Conn::open(&b).await.unwrap();
    let mut cc = Conn::open(&c).await.unwrap();
    let da = dump_all(&mut ca).await.unwrap();
    let db = dump_all(&mut cb).await.unwrap();
    assert_eq!(da, db, "same seed and size must give identical tables");

    let dc = dump_all(&mut cc).await.unwrap();
    for ((name, big), (_, small)) in da.iter().zip(dc.iter()) {
        assert!(small.len() <= big.len(), "{name}");
        assert_eq!(
            &big[..small.len()],
            &small[..],
            "{name}: N=20 must be a prefix of N=50"
        );
    }
    let pats = normalized_dump(&mut cc, &rows::PATIENT).await.unwrap();
    assert_eq!(pats.len(), 20);
    for c in [ca, cb, cc] {
        c.close().await.unwrap();
    }
}

#[tokio::test]
async fn well_known_rows_are_present() {
    let dir = tempfile::tempdir().unwrap();
    let url = seed(&dir, "w.db", 5).await;
    let mut conn = Conn::open(&url).await.unwrap();
    let one = |sql: &str| sql.to_owned();
    let q = [
        (
            one(
                "SELECT LAST_NM, FIRST_NM, MID_NM, SEX_CD, BIRTH_DT, DEL_FLG FROM PATIENT WHERE PAT_ID = 1",
            ),
            vec!["CHALMERS", "PETER", "JAMES", "M", "19740625", "N"],
        ),
        (
            one("SELECT DEL_FLG FROM PATIENT WHERE PAT_ID = 2"),
            vec!["Y"],
        ),
        (
            one("SELECT ID_VAL FROM PAT_IDENT WHERE PAT_ID = 1 AND ID_TYP = 'MRN '"),
            vec!["M1242486"],
        ),
        (
            one("SELECT ID_VAL FROM PAT_IDENT WHERE PAT_ID = 1 AND ID_TYP = 'SSN '"),
            vec!["900-12-3456"],
        ),
        (
            one("SELECT CAST(COUNT(*) AS TEXT) FROM PAT_PHONE WHERE PAT_ID = 1"),
            vec!["2"],
        ),
        (
            one("SELECT PHONE_NO FROM PAT_PHONE WHERE PAT_ID = 1 AND SEQ_NO = 1"),
            vec!["(555) 201-4477"],
        ),
        (
            one("SELECT CAST(COUNT(*) AS TEXT) FROM PAT_ADDR WHERE PAT_ID = 1"),
            vec!["1"],
        ),
        (
            one("SELECT LINE1, CITY, STATE_CD, ZIP FROM PAT_ADDR WHERE PAT_ID = 1"),
            vec!["1200 W JEFFERSON ST", "SPRINGFIELD", "IL", "62702"],
        ),
        (
            one("SELECT LAST_NM, NPI FROM PROVIDER WHERE PROV_ID = 1"),
            vec!["WELBY", "1234567893"],
        ),
        (
            one("SELECT DEPT_NM FROM DEPT WHERE DEPT_ID = 1"),
            vec!["RIVERSIDE GENERAL HOSPITAL"],
        ),
        (
            one(
                "SELECT VISIT_NO, CAST(PAT_ID AS TEXT), VISIT_TYP, VISIT_STAT, ADMIT_TS FROM VISIT WHERE VISIT_ID = 1",
            ),
            vec!["V10000001", "1", "O", "D", "2019-03-14 09:30:00"],
        ),
        (
            one("SELECT VISIT_STAT, COALESCE(DISCH_TS, 'null') FROM VISIT WHERE VISIT_ID = 3"),
            vec!["A", "null"],
        ),
        (
            one("SELECT ICD10_CD, DX_TYP, CLIN_STAT FROM DIAGNOSIS WHERE DX_ID = 1"),
            vec!["E11.9   ", "P", "A"],
        ),
        (
            one(
                "SELECT TEST_CD, RSLT_STAT, CAST(VISIT_ID AS TEXT) FROM LAB_RESULT WHERE RSLT_ID = 1",
            ),
            vec!["GLU   ", "F", "1"],
        ),
        (
            one("SELECT TEST_CD FROM LAB_RESULT WHERE RSLT_ID = 7"),
            vec!["XTEST "],
        ),
        (
            one("SELECT CAST(COUNT(*) AS TEXT) FROM LAB_TEST_MAP WHERE LOCAL_CD = 'XTEST '"),
            vec!["0"],
        ),
        (
            one(
                "SELECT CAST(COUNT(*) AS TEXT) FROM VITALS WHERE VS_ID = 1 AND HR IS NOT NULL AND BP_SYS IS NOT NULL AND TEMP_F IS NOT NULL AND WT_KG IS NOT NULL",
            ),
            vec!["1"],
        ),
        (
            one("SELECT RXNORM_CD, ORDER_STAT FROM RX_ORDER WHERE RX_ID = 1"),
            vec!["861007", "A"],
        ),
    ];
    for (sql, expected) in q {
        let rows = conn.fetch_strings(&sql).await.unwrap();
        let got: Vec<String> = rows[0]
            .iter()
            .map(|v| v.clone().unwrap_or_default())
            .collect();
        assert_eq!(got, expected, "{sql}");
    }
    let numeric = conn
        .fetch_strings("SELECT RSLT_VAL FROM LAB_RESULT WHERE RSLT_ID = 1")
        .await
        .unwrap();
    numeric[0][0]
        .as_deref()
        .unwrap()
        .parse::<f64>()
        .expect("numeric glucose");
    let deleted = conn
        .fetch_strings("SELECT DEL_FLG FROM LAB_RESULT WHERE PAT_ID = 1 AND DEL_FLG <> 'N'")
        .await
        .unwrap();
    assert!(deleted.is_empty());
    conn.close().await.unwrap();
}

#[tokio::test]
async fn refuses_a_non_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = seed(&dir, "twice.db", 3).await;
    let err = seed_database(
        &url,
        &SeedOptions {
            patients: 3,
            ..SeedOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SeedError::NotEmpty(_)), "{err}");
    let err = seed_database("oracle://x", &SeedOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SeedError::UnsupportedUrl(_)), "{err}");
}
