//! Start-up refuses mappings that do not fit the database, naming the line and the fix.

use fhir_facade::startup::Application;

use crate::helpers::{MAPPING, refused, sample_db, settings};

async fn build_with(mapping_text: &str) -> String {
    refused(&format!("sqlite:{}", sample_db().display()), mapping_text).await
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[tokio::test]
async fn unknown_column_is_refused_with_line_and_suggestion() {
    let original = std::fs::read_to_string(MAPPING).unwrap();
    let text = original.replacen(
        "\"name[0].family\" = \"LAST_NM\"",
        "\"name[0].family\" = \"LAST_NAME\"",
        1,
    );
    let msg = build_with(&text).await;
    let line = line_of(&text, "LAST_NAME");
    assert!(
        msg.contains(&format!(":{line}")) || msg.contains(&format!("line {line}")),
        "{msg}"
    );
    assert!(msg.contains("no column 'LAST_NAME'"), "{msg}");
    assert!(msg.contains("Did you mean 'LAST_NM'"), "{msg}");
}

#[tokio::test]
async fn unknown_table_and_bad_sql_are_refused() {
    let original = std::fs::read_to_string(MAPPING).unwrap();
    let text = original.replacen("table = \"PROVIDER\"", "table = \"PROVIDERS\"", 1);
    let msg = build_with(&text).await;
    assert!(msg.contains("table 'PROVIDERS' cannot be read"), "{msg}");
    let text = original.replacen(
        "filter = \"DEL_FLG <> 'Y'\"",
        "filter = \"DELETED_FLAG = 0\"",
        1,
    );
    let msg = build_with(&text).await;
    assert!(msg.contains("resource \"Patient\" (Patient)"), "{msg}");
    assert!(msg.contains("the generated SQL fails"), "{msg}");
}

#[tokio::test]
async fn fhir_errors_are_refused_before_touching_columns() {
    let original = std::fs::read_to_string(MAPPING).unwrap();
    let text = original.replacen("birthDate = {", "birthdate = {", 1);
    let msg = build_with(&text).await;
    assert!(msg.contains("birthDate"), "{msg}");
    let text = original.replacen(
        "M = \"male\", F = \"female\"",
        "M = \"M\", F = \"female\"",
        1,
    );
    let msg = build_with(&text).await;
    assert!(
        msg.contains("'M' is not in the required value set"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_missing_database_file_is_refused() {
    let s = settings("sqlite:/nonexistent/dir/none.db", MAPPING);
    let err = Application::build(s).await.err().expect("must fail");
    assert!(
        format!("{err:#}").contains("cannot open the database"),
        "{err:#}"
    );
}

#[tokio::test]
async fn every_problem_is_reported_at_once_with_its_line() {
    let original = std::fs::read_to_string(MAPPING).unwrap();
    // Three problems in three places: a FHIR path (compile) and columns of two sources
    // (schema). A parameter whose SQL the database refuses (search probes, which run on the
    // types whose sources pass the schema check) is checked alone below, and together with
    // the others in tests/tools.rs.
    let text = original
        .replacen("birthDate = {", "birthdate = {", 1)
        .replacen("table = \"PROVIDER\"", "table = \"PROVIDERS\"", 1);
    let text = text.replacen(
        "\"name[0].family\" = \"LAST_NM\"",
        "\"name[0].family\" = \"LAST_NAME\"",
        1,
    );
    let msg = build_with(&text).await;
    // A table is reported at its [[resource]] line.
    let provider = text[..text.find("PROVIDERS").unwrap()]
        .matches('\n')
        .count()
        + 1;
    let lines: Vec<&str> = text.lines().take(provider).collect();
    let resource_line = lines
        .iter()
        .rposition(|l| l.trim() == "[[resource]]")
        .unwrap()
        + 1;
    for (needle, line) in [
        ("birthdate = {", line_of(&text, "birthdate = {")),
        ("PROVIDERS", resource_line),
        ("LAST_NAME", line_of(&text, "LAST_NAME")),
    ] {
        assert!(
            msg.contains(&format!(":line {line}:")),
            "no problem reported at line {line} ({needle}):\n{msg}"
        );
    }
    // The problems are listed in line order.
    let at = |line: usize| msg.find(&format!(":line {line}:")).unwrap();
    let order = [
        at(line_of(&text, "LAST_NAME")),
        at(line_of(&text, "birthdate = {")),
        at(resource_line),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{msg}");
    // Nothing is reported of the unreadable table's values (no cascade).
    assert!(
        !msg.contains("does not say what this expression yields"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_search_parameter_whose_sql_the_database_refuses_is_reported() {
    let original = std::fs::read_to_string(MAPPING).unwrap();
    let decl = "chart = { type = \"token\", definition = \"http://example.org/sp/chart\", sql = \"NO_SUCH_COLUMN = ?\" }";
    let text = original.replacen(
        "[resource.search]\n_id = true\n",
        &format!("[resource.search]\n_id = true\n{decl}\n"),
        1,
    );
    let msg = build_with(&text).await;
    let line = line_of(&text, "NO_SUCH_COLUMN");
    assert!(msg.contains(&format!(":line {line}:")), "{msg}");
    assert!(msg.contains("search \"chart\""), "{msg}");
    assert!(msg.contains("the database refuses the SQL of"), "{msg}");
    assert!(msg.contains("`sql` condition"), "{msg}");
}

#[tokio::test]
async fn a_declared_modifier_whose_sql_the_database_refuses_is_reported() {
    let original = std::fs::read_to_string(MAPPING).unwrap();
    let decl = "chart = { type = \"token\", definition = \"http://example.org/sp/chart\", sql = \"1 = ?\", modifiers = { missing = \"NO_SUCH_COLUMN IS NULL\" } }";
    let text = original.replacen(
        "[resource.search]\n_id = true\n",
        &format!("[resource.search]\n_id = true\n{decl}\n"),
        1,
    );
    let msg = build_with(&text).await;
    let line = line_of(&text, "NO_SUCH_COLUMN");
    assert!(msg.contains(&format!(":line {line}:")), "{msg}");
    assert!(msg.contains("?chart:missing=true"), "{msg}");
    assert!(msg.contains("its `modifiers`"), "{msg}");
}

/// A read's one statement (the row and its child tables) is prepared at start-up too: a child
/// `order_by` that only a separate child statement accepts (here, with a LIMIT, which the
/// window that numbers the child rows refuses) is reported with the resource's line.
#[tokio::test]
async fn a_read_statement_the_database_refuses_is_reported() {
    let original = std::fs::read_to_string(MAPPING).unwrap();
    let text = original.replacen("order_by = \"SEQ_NO\"", "order_by = \"SEQ_NO LIMIT 5\"", 1);
    assert_ne!(text, original);
    let msg = build_with(&text).await;
    let line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[resource]]")
        .map(|(i, _)| i + 1)
        .take_while(|&i| i < line_of(&text, "SEQ_NO LIMIT 5"))
        .last()
        .unwrap();
    assert!(msg.contains(&format!(":line {line}:")), "{msg}");
    assert!(
        msg.contains("the database refuses the SQL of a read"),
        "{msg}"
    );
    assert!(msg.contains("window functions"), "{msg}");
}
