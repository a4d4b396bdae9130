//! Query plans of sorted pages: a bare `_sort=birthdate` reads the index on `BIRTH_DT` in
//! order (no sort of the whole table), on the first page and after a keyset, as the
//! database's own EXPLAIN shows.

use fhir_facade::request::cursor::Cursor;
use fhir_facade::sql::Dialect;
use fhir_facade::sql::Statement;
use fhir_facade::sql::Value;

use crate::helpers::{Backend, backend};
use crate::plans::{explain, page_statement};

/// The page statements of `Patient?_sort=<sort>`: the first page and the page after a
/// patient born on 1974-06-25, planned with the mapping checked against `backend`.
async fn pages(backend: &Backend, sort: &str) -> Vec<Statement> {
    let after = Cursor {
        source: 0,
        sort: vec![Value::Text("19740625".into())],
        after: Some(Value::Int(1)),
    };
    let mut out = Vec::new();
    for k in [None, Some(&after)] {
        let params = [("_sort", sort)];
        out.push(page_statement(&backend.url, backend.dialect, "Patient", &params, k).await);
    }
    out
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
                let plan = explain(&b.url, b.dialect, stmt, true).await;
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
