//! Searches on `CHAR(n)` columns use the column's index. Request values are bound as text; on
//! PostgreSQL `bpchar_col = text` compares as text (the column is cast), which a plain index
//! on the column cannot serve, so the values are cast to `bpchar` instead. The results are
//! checked on every backend by the search tests (tests/api/search.rs); here the plans.

use fhir_facade::sql::Dialect;

use crate::helpers::backend;
use crate::plans::{explain, page_statement};

/// A search, and the table and index that must serve it (index names as the sample schema
/// declares them).
struct Case {
    resource: &'static str,
    params: &'static [(&'static str, &'static str)],
    table: &'static str,
    index: &'static str,
    column: &'static str,
}

const CASES: [Case; 4] = [
    Case {
        resource: "Condition",
        params: &[("code", "E11.9")],
        table: "DIAGNOSIS",
        index: "IX_DIAGNOSIS_ICD10",
        column: "ICD10_CD",
    },
    Case {
        resource: "Observation",
        params: &[(
            "code",
            "http://hospital.example.org/fhir/CodeSystem/lab-test|HGBA1C",
        )],
        table: "LAB_RESULT",
        index: "IX_LAB_RESULT_TEST_CD",
        column: "TEST_CD",
        // The codings whose system is another constant are left out of the SQL: an OR with
        // `1=0 AND ...` kept SQLite from using any index.
    },
    // A date stored as YYYYMMDD text in CHAR(8): a range of text bounds.
    Case {
        resource: "Patient",
        params: &[("birthdate", "1974-06-25")],
        table: "PATIENT",
        index: "IX_PATIENT_BIRTH_DT",
        column: "BIRTH_DT",
    },
    Case {
        resource: "Patient",
        params: &[("birthdate", "1974-06")],
        table: "PATIENT",
        index: "IX_PATIENT_BIRTH_DT",
        column: "BIRTH_DT",
    },
];

/// Whether `plan` reads `case.table` through `case.index` with a condition on its column.
fn uses_index(dialect: Dialect, plan: &str, case: &Case) -> bool {
    match dialect {
        Dialect::Sqlite => plan.lines().any(|l| {
            l.contains(&format!(
                "SEARCH {} USING INDEX {} ({}",
                case.table, case.index, case.column
            ))
        }),
        _ => {
            let index = case.index.to_lowercase();
            // The column itself, not `(column)::text`.
            let column = format!("({} ", case.column.to_lowercase());
            let lines: Vec<&str> = plan.lines().map(str::trim).collect();
            lines.windows(2).any(|w| {
                (w[0].contains(&format!("Index Scan using {index} "))
                    || w[0].contains(&format!("Index Scan on {index} ")))
                    && w[1].starts_with("Index Cond: ")
                    && w[1].contains(&column)
            })
        }
    }
}

#[tokio::test]
async fn searches_on_char_columns_use_their_index() {
    let mut unused = Vec::new();
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let Some(b) = backend(dialect) else {
            continue;
        };
        for case in &CASES {
            let stmt = page_statement(&b.url, dialect, case.resource, case.params, None).await;
            let plan = explain(&b.url, dialect, &stmt, false).await;
            if !uses_index(dialect, &plan, case) {
                unused.push(format!(
                    "{dialect} {}?{:?}: {} is not used\n{plan}\n{}",
                    case.resource, case.params, case.index, stmt.sql
                ));
            }
        }
    }
    assert!(unused.is_empty(), "{}", unused.join("\n\n"));
}

/// The check rejects the plan of a text comparison, which filters rows read otherwise.
#[test]
fn the_check_rejects_a_cast_column() {
    let plan = "Limit  (cost=0.28..47.58 rows=2 width=238)
  ->  Index Scan using diagnosis_pkey on diagnosis  (cost=0.28..47.58 rows=2 width=238)
        Filter: ((del_flg <> 'Y'::bpchar) AND ((icd10_cd)::text = 'E11.9'::text))";
    assert!(!uses_index(Dialect::Postgres, plan, &CASES[0]));
}
