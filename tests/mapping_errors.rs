//! Every error the mapping validator reports: one test per message, checking the line, the
//! entry, the message and the hint. Then the checks against the database's columns
//! (`schema_check::apply_schema`) with hand-built column lists.

use fhir_facade::mapping::schema_check::{
    DbColumn, SchemaInfo, apply_schema, relation_key, relations,
};
use fhir_facade::mapping::{
    Convert, ElementValue, Mapping, MappingError, Relation, SqlValue, parse,
};
use fhir_facade::sql::{Dialect, SqlType};

// ----------------------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------------------

/// A Patient source whose elements start at line 6.
fn patient(elements: &str) -> String {
    format!(
        "[[resource]]\ntype = \"Patient\"\ntable = \"PATIENT\"\nid = \"PAT_ID\"\n[resource.elements]\n{elements}"
    )
}

#[track_caller]
fn errors_for(text: &str, dialect: Dialect) -> Vec<MappingError> {
    match parse("t.toml", text, dialect) {
        Ok(_) => panic!("the mapping compiled but should not:\n{text}"),
        Err(e) => e.errors().to_vec(),
    }
}

#[track_caller]
fn errors(text: &str) -> Vec<MappingError> {
    errors_for(text, Dialect::Sqlite)
}

/// The only error of `text`.
#[track_caller]
fn one(text: &str) -> MappingError {
    let mut e = errors(text);
    assert_eq!(e.len(), 1, "expected one error, got {e:#?}");
    e.remove(0)
}

/// Checks an error's line, message and hint (substrings).
#[track_caller]
fn check(e: &MappingError, line: usize, message: &str, hint: Option<&str>) {
    assert_eq!(e.line, line, "line of {e}");
    assert!(
        e.message.contains(message),
        "message '{}' lacks '{message}'",
        e.message
    );
    match (hint, &e.hint) {
        (None, _) => {}
        (Some(h), Some(actual)) => {
            assert!(actual.contains(h), "hint '{actual}' lacks '{h}'")
        }
        (Some(h), None) => panic!("no hint; expected one containing '{h}' for {e}"),
    }
}

#[track_caller]
fn compiles(text: &str) -> Mapping {
    parse("t.toml", text, Dialect::Sqlite).unwrap_or_else(|e| panic!("{e}"))
}

// ----------------------------------------------------------------------------------------------
// File level
// ----------------------------------------------------------------------------------------------

#[test]
fn toml_syntax_error_names_the_line() {
    let e = one("[[resource]]\ntype = \"Patient\"\ntable = \"PATIENT\nid = \"PAT_ID\"\n");
    check(
        &e,
        3,
        "invalid basic string",
        Some("see docs/mapping.md for the file format"),
    );
    assert_eq!(e.entry, "");
}

#[test]
fn unknown_field_of_a_resource_lists_the_valid_ones() {
    let e = one("[[resource]]\ntype = \"Patient\"\ntabel = \"PATIENT\"\nid = \"PAT_ID\"\n");
    check(
        &e,
        3,
        "unknown field `tabel`, expected one of `type`, `name`, `table`",
        None,
    );
}

#[test]
fn a_missing_required_field_is_named() {
    let e = one(
        "[maps.x]\nsystem = \"http://x\"\n\n[[resource]]\ntype = \"Patient\"\ntable = \"T\"\nid = \"ID\"\n",
    );
    check(&e, 1, "missing field `values`", None);
    let e = one("[[resource]]\ntype = \"Patient\"\ntable = \"T\"\n");
    check(&e, 1, "missing field `id`", None);
}

#[test]
fn a_mapping_without_resources_is_rejected() {
    let e = one("[maps.x]\nvalues = { A = \"b\" }\n");
    check(
        &e,
        0,
        "the mapping has no [[resource]] entries",
        Some("add at least one [[resource]]"),
    );
}

#[test]
fn unknown_timezone() {
    let e = one(&format!(
        "[settings]\ntimezone = \"Europe/Pariss\"\n{}",
        patient("")
    ));
    check(
        &e,
        2,
        "unknown time zone 'Europe/Pariss'",
        Some("IANA zone name"),
    );
    assert_eq!(e.entry, "[settings] timezone");
}

#[test]
fn the_rendered_message_names_file_line_entry_and_fix() {
    let err = parse(
        "t.toml",
        &patient("gender = { colum = \"SEX_CD\" }\n"),
        Dialect::Sqlite,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "mapping file t.toml has 1 problem:\n  t.toml:line 6: resource \"Patient\" (Patient), \
         element \"gender\": unknown key 'colum'. Did you mean 'column'?\n    \
         fix: an element takes: column, expr, constant, type, none, map, format, reference, required, \
         system_prefix"
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let e = errors(&patient(
        "birthdate = \"BIRTH_DT\"\ngender = { constant = \"M\" }\nactive = { constant = \"yes\" }\n",
    ));
    assert_eq!(e.len(), 3, "{e:#?}");
    assert_eq!(e.iter().map(|e| e.line).collect::<Vec<_>>(), [6, 7, 8]);
}

// ----------------------------------------------------------------------------------------------
// Value maps
// ----------------------------------------------------------------------------------------------

#[test]
fn an_empty_map_is_rejected() {
    let e = one(&format!("[maps.x]\nvalues = {{}}\n{}", patient("")));
    check(
        &e,
        1,
        "the map has no values",
        Some("values = { M = \"male\""),
    );
    assert_eq!(e.entry, "[maps.x]");
}

#[test]
fn malformed_map_entries_are_rejected() {
    let e = errors(&format!(
        "[maps.x]\nvalues = {{ A = {{ cod = \"b\" }}, B = [1] }}\n{}",
        patient("")
    ));
    assert_eq!(e.len(), 3, "{e:#?}");
    check(
        &e[0],
        2,
        "a map entry table needs a string `code` and only `code`, `system`, `display`",
        Some("{ code = \"M\""),
    );
    check(&e[1], 2, "a map entry cannot be a array", None);
    check(&e[2], 1, "the map has no values", None);
}

#[test]
fn map_keys_are_trimmed_and_system_applies_to_plain_entries() {
    let m = compiles(&format!(
        "[maps.m]\nsystem = \"http://s\"\nvalues = {{ \" A \" = \"a\", B = {{ code = \"b\", system = \"http://other\" }} }}\n{}",
        patient("maritalStatus = { column = \"MS\", map = \"m\" }\n")
    ));
    let ElementValue::Sql {
        convert: Convert::Mapped { map, .. },
        ..
    } = &m.sources[0].elements[0].value
    else {
        panic!("not mapped")
    };
    assert_eq!(map.values.keys().collect::<Vec<_>>(), ["A", "B"]);
    assert_eq!(
        map.values["A"],
        fhir_facade::mapping::MapValue::Coding {
            system: Some("http://s".into()),
            code: "a".into(),
            display: None
        }
    );
    assert_eq!(
        map.values["B"],
        fhir_facade::mapping::MapValue::Coding {
            system: Some("http://other".into()),
            code: "b".into(),
            display: None
        }
    );
}

#[test]
fn map_missing_with_suggestion() {
    let e = one(&format!(
        "[maps.sex]\nvalues = {{ M = \"male\" }}\n{}",
        patient("gender = { column = \"SEX_CD\", map = \"sexe\" }\n")
    ));
    check(
        &e,
        8,
        "there is no value map 'sexe'. Did you mean 'sex'?",
        Some("define it: [maps.sexe]"),
    );
}

#[test]
fn map_on_an_element_that_cannot_take_it() {
    let e = one(&format!(
        "[maps.sex]\nvalues = {{ M = \"male\" }}\n{}",
        patient("\"name[0]\" = { column = \"SEX_CD\", map = \"sex\" }\n")
    ));
    check(
        &e,
        8,
        "a value map cannot fill a HumanName element",
        Some("map a code, Coding or CodeableConcept element"),
    );
}

#[test]
fn map_entry_outside_a_required_binding() {
    let e = errors(&format!(
        "[maps.sex]\nvalues = {{ M = \"M\", F = \"female\" }}\ndefault = \"X\"\n{}",
        patient("gender = { column = \"SEX_CD\", map = \"sex\" }\n")
    ));
    assert_eq!(e.len(), 2, "{e:#?}");
    check(
        &e[0],
        9,
        "'M' is not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender",
        Some("change the entry of [maps.sex] to one of: male, female, other, unknown"),
    );
    check(&e[1], 9, "'X' is not in the required value set", None);
}

// ----------------------------------------------------------------------------------------------
// Resources: type, table/sql, names, ids, prefixes, dialects
// ----------------------------------------------------------------------------------------------

#[test]
fn unknown_resource_type_with_suggestion() {
    let e = one("[[resource]]\ntype = \"Patinet\"\ntable = \"PATIENT\"\nid = \"PAT_ID\"\n");
    check(
        &e,
        2,
        "'Patinet' is not a FHIR R4 resource type. Did you mean 'Patient'?",
        Some("use the exact resource type name"),
    );
    assert_eq!(e.entry, "resource \"Patinet\" (Patinet)");
}

#[test]
fn table_and_sql_together() {
    let e = one(
        "[[resource]]\ntype = \"Patient\"\ntable = \"PATIENT\"\nsql = \"SELECT 1\"\nid = \"PAT_ID\"\n",
    );
    check(&e, 1, "both `table` and `sql` are given", Some("keep one"));
}

#[test]
fn neither_table_nor_sql() {
    let e = one("[[resource]]\ntype = \"Patient\"\nid = \"PAT_ID\"\n");
    check(
        &e,
        1,
        "no `table` or `sql` says where rows come from",
        Some("add table = \"YOUR_TABLE\""),
    );
}

#[test]
fn default_aliases() {
    let m = compiles(
        "[[resource]]\ntype = \"Patient\"\ntable = \"dbo.PATIENT\"\nid = \"PAT_ID\"\n\
         [[resource.child]]\npath = \"telecom\"\nsql = \"SELECT 1 AS K, 2 AS V\"\nkey = \"K\"\nvalue = { constant = { value = \"x\" } }\n",
    );
    assert_eq!(m.sources[0].alias, "PATIENT");
    assert!(matches!(&m.sources[0].relation, Relation::Table(t) if t == "dbo.PATIENT"));
    assert_eq!(m.sources[0].children[0].alias, "child");
    let m = compiles("[[resource]]\ntype = \"Patient\"\nsql = \"SELECT 1 AS ID\"\nid = \"ID\"\n");
    assert_eq!(m.sources[0].alias, "src");
}

#[test]
fn duplicate_source_names() {
    let e = one(
        "[[resource]]\ntype = \"Observation\"\nname = \"a\"\ntable = \"LAB\"\nid = \"ID\"\n\
         [[resource]]\ntype = \"Patient\"\nname = \"a\"\ntable = \"P\"\nid = \"ID\"\n",
    );
    check(
        &e,
        6,
        "another [[resource]] has the same name",
        Some("give each [[resource]] a unique `name`"),
    );
    assert_eq!(e.entry, "resource \"a\"");
}

#[test]
fn several_sources_need_prefixes() {
    let e = one(
        "[[resource]]\ntype = \"Observation\"\ntable = \"LAB\"\nid = \"ID\"\n\
         [[resource]]\ntype = \"Observation\"\ntable = \"VITALS\"\nid = { column = \"ID\", prefix = \"vs-\" }\n",
    );
    check(
        &e,
        1,
        "Observation has several sources, so each needs an id prefix",
        Some("prefix = \"lab-\""),
    );
    assert_eq!(e.entry, "resource \"Observation#1\" (Observation)");
}

#[test]
fn overlapping_prefixes() {
    let e = one(
        "[[resource]]\ntype = \"Observation\"\nname = \"a\"\ntable = \"LAB\"\nid = { column = \"ID\", prefix = \"vs-\" }\n\
         [[resource]]\ntype = \"Observation\"\nname = \"b\"\ntable = \"V\"\nid = { column = \"ID\", prefix = \"vs-hr-\" }\n",
    );
    check(
        &e,
        1,
        "id prefix 'vs-' overlaps the prefix 'vs-hr-' of source \"b\"",
        Some("neither starts with the other"),
    );
}

#[test]
fn ids_are_found_by_their_prefix() {
    let m = compiles(
        "[[resource]]\ntype = \"Observation\"\nname = \"a\"\ntable = \"LAB\"\nid = { column = \"ID\", prefix = \"lab-\" }\n\
         [[resource]]\ntype = \"Observation\"\nname = \"b\"\ntable = \"V\"\nid = { column = \"ID\", prefix = \"vs-\" }\n",
    );
    let (s, rest) = m.source_for_id("Observation", "vs-12").unwrap();
    assert_eq!((s.name.as_str(), rest), ("b", "12"));
    assert!(m.source_for_id("Observation", "12").is_none());
    assert!(m.source_for_id("Observation", "vs-").is_none());
}

#[test]
fn id_with_unknown_key_and_bad_prefix() {
    let e = errors(
        "[[resource]]\ntype = \"Patient\"\ntable = \"P\"\nid = { column = \"PAT_ID\", prefix = \"p_\", start = 1 }\n",
    );
    assert_eq!(e.len(), 2, "{e:#?}");
    check(
        &e[0],
        4,
        "unknown key 'start'",
        Some("id takes `column` or `expr`, and optionally `prefix`"),
    );
    check(
        &e[1],
        4,
        "prefix 'p_' has characters a FHIR id cannot have",
        Some("letters, digits, '-' and '.'"),
    );
    assert_eq!(e[0].entry, "resource \"Patient\" (Patient), id");
}

#[test]
fn id_of_the_wrong_kind() {
    let e = one("[[resource]]\ntype = \"Patient\"\ntable = \"P\"\nid = 5\n");
    check(
        &e,
        4,
        "expected a column name or a table, found a integer",
        Some("{ expr = \"SQL\" }"),
    );
    let e = one("[[resource]]\ntype = \"Patient\"\ntable = \"P\"\nid = { prefix = \"p-\" }\n");
    check(
        &e,
        4,
        "give exactly one of `column` (a string) or `expr`",
        None,
    );
}

#[test]
fn missing_per_dialect_sql() {
    let text = "[[resource]]\ntype = \"Patient\"\ntable = \"PATIENT\"\nid = \"PAT_ID\"\n\
                filter = { postgres = \"x\" }\n";
    let e = one(text);
    check(
        &e,
        5,
        "no SQL given for SQLite (the database in use)",
        Some("add `sqlite = \"...\"` or `default = \"...\"`"),
    );
    let e = errors_for(text, Dialect::Mysql);
    check(
        &e[0],
        5,
        "no SQL given for MySQL/MariaDB",
        Some("`mysql = "),
    );
    let m = parse("t.toml", text, Dialect::Postgres).unwrap();
    assert_eq!(m.sources[0].filter.as_deref(), Some("x"));
    // `default` covers the others.
    let m = parse(
        "t.toml",
        &text.replace(
            "{ postgres = \"x\" }",
            "{ postgres = \"x\", default = \"y\" }",
        ),
        Dialect::Mysql,
    )
    .unwrap();
    assert_eq!(m.sources[0].filter.as_deref(), Some("y"));
}

#[test]
fn missing_per_dialect_sql_in_sql_expr_and_join() {
    let e =
        errors("[[resource]]\ntype = \"Patient\"\nsql = { mysql = \"SELECT 1\" }\nid = \"ID\"\n");
    check(&e[0], 3, "no SQL given for SQLite", None);
    let e = errors(&patient("gender = { expr = { postgres = \"'male'\" } }\n"));
    check(&e[0], 6, "no SQL given for SQLite", None);
    let e = errors(
        "[[resource]]\ntype = \"Patient\"\ntable = \"P\"\nid = \"ID\"\n\
         [[resource.join]]\ntable = \"X\"\nalias = \"X\"\non = { postgres = \"a\" }\n",
    );
    check(&e[0], 5, "no SQL given for SQLite", None);
}

#[test]
fn expr_of_the_wrong_kind() {
    let e = one(&patient("gender = { expr = 5 }\n"));
    check(
        &e,
        6,
        "`expr` must be SQL text or a table of per-dialect SQL",
        Some("expr = { sqlite = \"...\", default = \"...\" }"),
    );
}

// ----------------------------------------------------------------------------------------------
// Element paths
// ----------------------------------------------------------------------------------------------

#[test]
fn unknown_element_path_with_did_you_mean() {
    let e = one(&patient("birthdate = \"BIRTH_DT\"\n"));
    check(
        &e,
        6,
        "Patient has no element `birthdate`; did you mean `birthDate`?",
        Some("element paths follow FHIR R4 names"),
    );
    assert_eq!(
        e.entry,
        "resource \"Patient\" (Patient), element \"birthdate\""
    );
}

#[test]
fn bare_choice_element() {
    let e = one(&patient("deceased = \"DECEASED_FLG\"\n"));
    check(
        &e,
        6,
        "`deceased` in Patient is a choice element (deceased[x]); write one of: deceasedBoolean, deceasedDateTime",
        None,
    );
}

#[test]
fn choice_element_with_a_type_it_does_not_allow() {
    let e = one(&patient("deceasedString = \"X\"\n"));
    check(&e, 6, "Patient has no element `deceasedString`", None);
    assert!(e.message.contains("deceasedDateTime"), "{e}");
}

#[test]
fn index_on_a_single_element() {
    let e = one(&patient("\"gender[0]\" = \"SEX_CD\"\n"));
    check(
        &e,
        6,
        "Patient.gender is a single element (max 1) and cannot be indexed; remove `[0]`",
        None,
    );
}

#[test]
fn path_into_a_primitive() {
    let e = one(&patient("\"birthDate.value\" = \"X\"\n"));
    check(
        &e,
        6,
        "`birthDate` is a primitive (date) and has no child element `value`",
        None,
    );
}

#[test]
fn path_syntax_error() {
    let e = one(&patient("\"name..family\" = \"X\"\n"));
    check(
        &e,
        6,
        "invalid element path `name..family`: empty segment",
        None,
    );
    let e = one(&patient("\"name[a].family\" = \"X\"\n"));
    check(&e, 6, "the index must be a number", None);
}

#[test]
fn unquoted_dotted_path_is_a_toml_table() {
    let e = one(&patient("name.family = \"LAST_NM\"\n"));
    check(&e, 6, "unknown key 'family'", None);
    assert!(e.entry.ends_with("element \"name\""), "{e}");
}

#[test]
fn duplicate_element_path() {
    let e = one(&patient(
        "\"name[0].family\" = \"LAST_NM\"\n\"name.family\" = \"LAST_NM\"\n",
    ));
    check(
        &e,
        7,
        "this element is mapped twice",
        Some("use indexes like name[1] for more items"),
    );
}

#[test]
fn a_repeating_element_without_index_means_the_first() {
    let m = compiles(&patient("\"name.given\" = \"FIRST_NM\"\n"));
    let p = &m.sources[0].elements[0].path;
    assert_eq!(
        p.iter()
            .map(|s| (s.name.as_str(), s.repeats, s.index))
            .collect::<Vec<_>>(),
        [("name", true, 0), ("given", true, 0)]
    );
}

// ----------------------------------------------------------------------------------------------
// Element values
// ----------------------------------------------------------------------------------------------

#[test]
fn unknown_key_in_an_element_with_suggestion() {
    let e = one(&patient("gender = { colum = \"SEX_CD\" }\n"));
    check(
        &e,
        6,
        "unknown key 'colum'. Did you mean 'column'?",
        Some(
            "an element takes: column, expr, constant, type, none, map, format, reference, required",
        ),
    );
}

#[test]
fn not_exactly_one_of_column_expr_constant() {
    for value in [
        "{ column = \"SEX_CD\", constant = \"male\" }",
        "{ column = \"SEX_CD\", expr = \"SEX_CD\" }",
        "{ map = \"sex\" }",
        "{ }",
    ] {
        let e = one(&patient(&format!("gender = {value}\n")));
        check(
            &e,
            6,
            "give exactly one of `column`, `expr` or `constant`",
            Some("{ constant = \"final\" }"),
        );
    }
}

#[test]
fn element_value_of_the_wrong_kind() {
    let e = one(&patient("gender = 5\n"));
    check(
        &e,
        6,
        "expected a column name or a table, found a integer",
        Some("{ constant = .. }"),
    );
}

#[test]
fn empty_column_name() {
    let e = one(&patient("gender = \"\"\n"));
    check(&e, 6, "empty column name", None);
}

#[test]
fn column_qualified_by_an_unknown_alias() {
    let e = one(&patient("gender = \"P.SEX_CD\"\n"));
    check(
        &e,
        6,
        "'P' in 'P.SEX_CD' is not the source alias or a join alias",
        Some("qualify columns with one of: PATIENT"),
    );
}

#[test]
fn column_qualified_by_own_or_join_alias() {
    let m = compiles(
        "[[resource]]\ntype = \"Patient\"\ntable = \"PATIENT\"\nalias = \"P\"\nid = \"P.PAT_ID\"\n\
         [[resource.join]]\ntable = \"LANG\"\nalias = \"L\"\non = \"L.CD = P.LANG_CD\"\n\
         [resource.elements]\n\"communication[0].language.text\" = \"L.NAME\"\n",
    );
    let s = &m.sources[0];
    let SqlValue::Column(id) = &s.id.value else {
        panic!()
    };
    assert_eq!(
        (id.qualifier.as_deref(), id.name.as_str()),
        (None, "PAT_ID")
    );
    let ElementValue::Sql {
        value: SqlValue::Column(c),
        ..
    } = &s.elements[0].value
    else {
        panic!()
    };
    assert_eq!(
        (c.qualifier.as_deref(), c.name.as_str()),
        (Some("L"), "NAME")
    );
}

#[test]
fn a_column_cannot_fill_a_complex_element() {
    let e = one(&patient("maritalStatus = \"MARITAL_CD\"\n"));
    check(
        &e,
        6,
        "'maritalStatus' is a CodeableConcept; a column cannot fill it directly",
        Some("use a value map"),
    );
    let e = one(&patient("\"name[0]\" = \"LAST_NM\"\n"));
    check(
        &e,
        6,
        "is a HumanName",
        Some("name[0].family and name[0].given[0]"),
    );
}

#[test]
fn constant_of_the_wrong_type() {
    let e = one(&patient("active = { constant = \"yes\" }\n"));
    check(
        &e,
        6,
        "the constant \"yes\" does not fit the FHIR type boolean",
        Some("write constant = true or constant = false"),
    );
    let e = one(&patient("multipleBirthInteger = { constant = 1.5 }\n"));
    check(
        &e,
        6,
        "the constant 1.5 does not fit the FHIR type integer",
        Some("whole number"),
    );
    let e = one(&patient("\"name[0].family\" = { constant = 3 }\n"));
    check(
        &e,
        6,
        "the constant 3 does not fit the FHIR type string",
        Some("write a string"),
    );
    let e = one(
        "[[resource]]\ntype = \"Observation\"\ntable = \"O\"\nid = \"ID\"\n[resource.elements]\n\
         \"valueQuantity.value\" = { constant = \"1\" }\n",
    );
    check(
        &e,
        6,
        "does not fit the FHIR type decimal",
        Some("write a number"),
    );
}

#[test]
fn constants_that_fit() {
    let m = compiles(&patient(
        "active = { constant = true }\nmultipleBirthInteger = { constant = 2 }\n\
         birthDate = { constant = 1970-01-02 }\n\"name[0]\" = { constant = { family = \"Doe\" } }\n",
    ));
    let values: Vec<String> = m.sources[0]
        .elements
        .iter()
        .map(|e| match &e.value {
            ElementValue::Constant(c) => c.to_string(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        values,
        ["true", "2", "\"1970-01-02\"", "{\"family\":\"Doe\"}"]
    );
}

#[test]
fn constant_outside_a_required_binding() {
    let e = one(&patient("gender = { constant = \"M\" }\n"));
    check(
        &e,
        6,
        "'M' is not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender",
        Some("use one of: male, female, other, unknown"),
    );
}

#[test]
fn keys_that_cannot_go_with_a_constant() {
    for key in [
        "map = \"x\"",
        "format = \"%Y\"",
        "reference = \"Patient\"",
        "required = true",
    ] {
        let e = one(&patient(&format!(
            "gender = {{ constant = \"male\", {key} }}\n"
        )));
        let name = key.split(' ').next().unwrap();
        check(
            &e,
            6,
            &format!("`{name}` cannot be used with `constant`"),
            None,
        );
    }
}

#[test]
fn required_must_be_a_boolean() {
    let e = one(&patient(
        "gender = { column = \"X\", required = \"yes\" }\n",
    ));
    check(
        &e,
        6,
        "`required` must be true or false",
        Some("required = true"),
    );
}

#[test]
fn format_on_a_non_date() {
    let e = one(&patient(
        "\"name[0].family\" = { column = \"LAST_NM\", format = \"%Y\" }\n",
    ));
    check(
        &e,
        6,
        "`format` only applies to date and time elements",
        Some("remove `format`"),
    );
}

#[test]
fn invalid_format() {
    let e = one(&patient(
        "birthDate = { column = \"BIRTH_DT\", format = \"%Y%m%Q\" }\n",
    ));
    check(
        &e,
        6,
        "'%Y%m%Q' is not a valid date format",
        Some("chrono strftime syntax"),
    );
}

// ----------------------------------------------------------------------------------------------
// References
// ----------------------------------------------------------------------------------------------

const PRACTITIONERS: &str = "[[resource]]\ntype = \"Practitioner\"\nname = \"doctors\"\ntable = \"DOC\"\n\
     id = { column = \"ID\", prefix = \"d-\" }\n[[resource]]\ntype = \"Practitioner\"\nname = \"nurses\"\n\
     table = \"NURSE\"\nid = { column = \"ID\", prefix = \"n-\" }\n";

#[test]
fn reference_on_a_non_reference_element() {
    let e = one(&patient(
        "gender = { column = \"PCP\", reference = \"Patient\" }\n",
    ));
    check(
        &e,
        6,
        "`reference` needs a Reference element, but 'gender' is a code",
        Some("e.g. subject"),
    );
}

#[test]
fn reference_target_unknown() {
    let e = one(&patient(
        "\"generalPractitioner[0]\" = { column = \"PCP\", reference = \"Practitioner\" }\n",
    ));
    check(
        &e,
        6,
        "reference target 'Practitioner' is not a mapped resource.",
        Some("name a resource type mapped in this file, or a [[resource]] name"),
    );
    let e = one(&patient(
        "\"link[0].other\" = { column = \"X\", reference = \"patient\" }\n",
    ));
    check(
        &e,
        6,
        "reference target 'patient' is not a mapped resource. Did you mean 'Patient'?",
        None,
    );
}

#[test]
fn reference_target_ambiguous() {
    let e = one(&format!(
        "{}{PRACTITIONERS}",
        patient(
            "\"generalPractitioner[0]\" = { column = \"PCP\", reference = \"Practitioner\" }\n"
        )
    ));
    check(
        &e,
        6,
        "'Practitioner' has several sources; the reference must say which",
        Some("use the `name` of one [[resource]]"),
    );
}

#[test]
fn reference_by_source_name_takes_its_prefix() {
    let m = compiles(&format!(
        "{}{PRACTITIONERS}",
        patient("\"generalPractitioner[0]\" = { column = \"PCP\", reference = \"nurses\" }\n")
    ));
    let ElementValue::Sql {
        convert:
            Convert::Reference {
                resource_type,
                prefix,
                source,
            },
        ..
    } = &m.sources[0].elements[0].value
    else {
        panic!()
    };
    assert_eq!(
        (resource_type.as_str(), prefix.as_str(), source.as_str()),
        ("Practitioner", "n-", "nurses")
    );
}

#[test]
fn reference_to_a_type_the_element_does_not_allow() {
    let e = one(&patient(
        "\"generalPractitioner[0]\" = { column = \"PCP\", reference = \"Patient\" }\n",
    ));
    check(
        &e,
        6,
        "'generalPractitioner[0]' cannot refer to a Patient; allowed: Organization, Practitioner, PractitionerRole",
        Some("refer to one of the allowed resource types"),
    );
}

// ----------------------------------------------------------------------------------------------
// Children
// ----------------------------------------------------------------------------------------------

fn patient_child(child: &str) -> String {
    // The [[resource.child]] header is at line 5.
    format!(
        "[[resource]]\ntype = \"Patient\"\ntable = \"PATIENT\"\nid = \"PAT_ID\"\n[[resource.child]]\n{child}"
    )
}

#[test]
fn child_path_not_repeating() {
    let e = one(&patient_child(
        "path = \"maritalStatus\"\ntable = \"X\"\nkey = \"PAT_ID\"\nvalue = \"V\"\n",
    ));
    check(
        &e,
        6,
        "'maritalStatus' must name a repeating element without an index",
        Some("a child table feeds a list such as `telecom`"),
    );
    assert_eq!(
        e.entry,
        "resource \"Patient\" (Patient), child \"maritalStatus\""
    );
}

#[test]
fn child_order_by_a_column_position() {
    for order_by in ["2", "SEQ_NO, 1 DESC"] {
        let e = one(&patient_child(&format!(
            "path = \"telecom\"\ntable = \"X\"\nkey = \"PAT_ID\"\norder_by = \"{order_by}\"\n[resource.child.elements]\nvalue = \"V\"\n"
        )));
        check(
            &e,
            9,
            "`order_by` orders by column position",
            Some("name the column or expression instead"),
        );
    }
    // Numbers inside an expression are not positions.
    compiles(&patient_child(
        "path = \"telecom\"\ntable = \"X\"\nkey = \"PAT_ID\"\norder_by = \"COALESCE(SEQ_NO, 0), V\"\n[resource.child.elements]\nvalue = \"V\"\n",
    ));
}

#[test]
fn child_path_with_an_index() {
    let e = one(&patient_child(
        "path = \"telecom[0]\"\ntable = \"X\"\nkey = \"PAT_ID\"\n[resource.child.elements]\nvalue = \"V\"\n",
    ));
    check(
        &e,
        6,
        "'telecom[0]' must name a repeating element without an index",
        None,
    );
}

#[test]
fn child_path_unknown() {
    let e = one(&patient_child(
        "path = \"telecoms\"\ntable = \"X\"\nkey = \"PAT_ID\"\nvalue = \"V\"\n",
    ));
    check(&e, 6, "Patient has no element `telecoms`", None);
}

#[test]
fn child_with_both_elements_and_value() {
    let e = one("[maps.cat]\nvalues = { A = \"x\" }\n\
         [[resource]]\ntype = \"Condition\"\ntable = \"DX\"\nid = \"ID\"\n[[resource.child]]\n\
         path = \"category\"\ntable = \"X\"\nkey = \"DX_ID\"\nvalue = { column = \"CAT\", map = \"cat\" }\n\
         [resource.child.elements]\ntext = \"T\"\n");
    check(
        &e,
        7,
        "a child needs either `elements` (for complex items) or `value` (for primitive items)",
        Some("[resource.child.elements]"),
    );
}

#[test]
fn child_with_neither_elements_nor_value() {
    let e = one(&patient_child(
        "path = \"telecom\"\ntable = \"X\"\nkey = \"PAT_ID\"\n",
    ));
    check(
        &e,
        5,
        "a child needs either `elements` (for complex items) or `value` (for primitive items)",
        None,
    );
}

#[test]
fn child_table_and_sql() {
    let e = one(&patient_child(
        "path = \"telecom\"\ntable = \"X\"\nsql = \"SELECT 1\"\nkey = \"PAT_ID\"\nvalue = \"V\"\n",
    ));
    check(&e, 5, "both `table` and `sql` are given", None);
}

#[test]
fn child_value_is_checked_like_an_element() {
    let e = one(&patient_child(
        "path = \"telecom\"\ntable = \"X\"\nkey = \"PAT_ID\"\nvalue = \"V\"\n",
    ));
    check(
        &e,
        9,
        "'telecom' is a ContactPoint; a column cannot fill it directly",
        None,
    );
}

#[test]
fn child_element_errors_name_the_child() {
    let e = one(&patient_child(
        "path = \"telecom\"\ntable = \"X\"\nkey = \"PAT_ID\"\n[resource.child.elements]\nvalu = \"V\"\n",
    ));
    check(&e, 10, "ContactPoint has no element `valu`", None);
    assert_eq!(
        e.entry,
        "resource \"Patient\" (Patient), child \"telecom\", element \"valu\""
    );
}

#[test]
fn child_duplicate_element() {
    let e = one(&patient_child(
        "path = \"address\"\ntable = \"X\"\nkey = \"PAT_ID\"\n[resource.child.elements]\n\
         \"line[0]\" = \"A\"\nline = \"B\"\n",
    ));
    check(&e, 11, "this element is mapped twice", None);
}

#[test]
fn child_key_qualified_by_a_foreign_alias() {
    let e = one(&patient_child(
        "path = \"telecom\"\ntable = \"X\"\nkey = \"Y.PAT_ID\"\n[resource.child.elements]\nvalue = \"V\"\n",
    ));
    check(
        &e,
        8,
        "'Y' in 'Y.PAT_ID' is not the source alias or a join alias",
        Some("qualify columns with one of: X"),
    );
    assert!(e.entry.ends_with("child \"telecom\", key"), "{e}");
}

#[test]
fn child_parent_key_defaults_to_the_id() {
    let m = compiles(&patient_child(
        "path = \"name[0].given\"\ntable = \"GIVEN\"\nkey = \"PID\"\nvalue = \"NM\"\n",
    ));
    let c = &m.sources[0].children[0];
    assert_eq!(c.parent_key, m.sources[0].id.value);
    assert_eq!(
        c.path
            .iter()
            .map(|s| (s.name.as_str(), s.index))
            .collect::<Vec<_>>(),
        [("name", 0), ("given", 0)]
    );
}

// ----------------------------------------------------------------------------------------------
// Search declarations
// ----------------------------------------------------------------------------------------------

fn patient_search(search: &str) -> String {
    format!(
        "[[resource]]\ntype = \"Patient\"\ntable = \"PATIENT\"\nid = \"PAT_ID\"\n[resource.search]\n{search}"
    )
}

#[test]
fn control_parameters_need_no_declaration() {
    let e = one(&patient_search("_sort = true\n"));
    check(
        &e,
        6,
        "'_sort' is not a search parameter but the sort order: every search takes it, with no declaration",
        Some("remove this line"),
    );
    let e = one(&patient_search(
        "_include = { type = \"token\", definition = \"http://x\", path = \"id\" }\n",
    ));
    check(&e, 6, "'_include' is not a search parameter", None);
}

#[test]
fn unknown_standard_search_parameter_with_suggestion() {
    let e = one(&patient_search("birthDate = true\n"));
    check(
        &e,
        6,
        "'birthDate' is not a standard search parameter of Patient. Did you mean 'birthdate'?",
        Some(
            "for a custom parameter write { type = \"token\", definition = \"http://...\", path = \"element.path\" }",
        ),
    );
    assert_eq!(
        e.entry,
        "resource \"Patient\" (Patient), search \"birthDate\""
    );
}

#[test]
fn custom_search_parameter_needs_type_and_definition() {
    for v in [
        "{ type = \"token\" }",
        "{ definition = \"http://x\" }",
        "{ type = \"text\", definition = \"http://x\" }",
    ] {
        let e = one(&patient_search(&format!("mrn = {v}\n")));
        check(
            &e,
            6,
            "a custom search parameter needs `type`, `definition`, and one of `path` or `sql`",
            Some("type is one of number, date, string, token, reference"),
        );
    }
}

#[test]
fn search_parameter_of_the_wrong_kind() {
    for v in ["false", "\"yes\""] {
        let e = one(&patient_search(&format!("gender = {v}\n")));
        check(
            &e,
            6,
            "expected `true` or a table",
            Some("write gender = true for the standard parameter"),
        );
    }
}

#[test]
fn search_declarations_are_bound_to_mapped_elements() {
    let text = "[[resource]]\ntype = \"Patient\"\ntable = \"PATIENT\"\nid = \"PAT_ID\"\n\
                [resource.elements]\nbirthDate = { column = \"BIRTH_DT\", format = \"%Y%m%d\" }\n\
                \"identifier[0].value\" = \"MRN\"\n\
                [resource.search]\n_id = true\nbirthdate = true\n\
                mrn = { type = \"token\", definition = \"http://h/sp/mrn\", path = \"identifier\" }\n";
    let m = compiles(text);
    let s: Vec<(&str, &str)> = m.sources[0]
        .search
        .iter()
        .map(|s| (s.code.as_str(), s.param_type.as_str()))
        .collect();
    assert_eq!(
        s,
        [("_id", "token"), ("birthdate", "date"), ("mrn", "token")]
    );
    assert_eq!(m.sources[0].search[2].definition, "http://h/sp/mrn");
}

#[test]
fn a_search_parameter_needs_its_element_mapped() {
    let e = one(&patient_search("family = true\n"));
    check(
        &e,
        6,
        "'family' cannot be searched: none of the elements it searches is mapped",
        Some("map the element the parameter searches"),
    );
    // A path the grammar does not read, or a parameter no mapping can serve, is told so.
    let e = one(&patient_search(
        "cell = { type = \"string\", definition = \"http://h/sp/cell\", path = \"telecom[1].value\" }\n",
    ));
    check(
        &e,
        6,
        "'cell' cannot be searched: unsupported expression 'telecom[1].value'",
        Some("no indexes: pick a repetition with .where(field='value')"),
    );
    let e = one(&patient_search("_text = true\n"));
    check(
        &e,
        6,
        "'_text' cannot be searched: it has no expression",
        Some("cannot be declared (docs/mapping.md §12.3)"),
    );
}

#[test]
fn a_composite_needs_every_component_mapped_in_one_repetition() {
    let obs = |elements: &str, search: &str| {
        format!(
            "[[resource]]\ntype = \"Observation\"\ntable = \"OBS\"\nid = \"OBS_ID\"\n\
             [resource.elements]\nstatus = {{ constant = \"final\" }}\n{elements}\
             [resource.search]\n{search}"
        )
    };
    // A code but no value.
    let text = obs(
        "\"code.coding[0].code\" = \"CD\"\n",
        "code-value-quantity = true\n",
    );
    let e = one(&text);
    check(
        &e,
        9,
        "'code-value-quantity' cannot be searched: no mapped 'Observation' has all of its components (code, value-quantity) mapped",
        None,
    );
    // The code of one component, the value of another.
    let text = obs(
        "\"component[0].code.coding[0].code\" = \"CD\"\n\
         \"component[1].valueQuantity.value\" = \"VAL\"\n",
        "component-code-value-quantity = true\n",
    );
    let e = one(&text);
    check(
        &e,
        10,
        "no mapped 'Observation.component' has all of its components",
        None,
    );
    // Custom composites are not supported.
    let text = obs(
        "\"code.coding[0].code\" = \"CD\"\n",
        "x = { type = \"composite\", definition = \"http://h/sp/x\", path = \"code\" }\n",
    );
    let e = one(&text);
    check(&e, 9, "only standard composite parameters", None);
    // Both in one component: compiles, one repetition.
    let text = obs(
        "\"component[1].code.coding[0].code\" = \"CD\"\n\
         \"component[1].valueQuantity.value\" = \"VAL\"\n",
        "component-code-value-quantity = true\n",
    );
    let m = parse("t.toml", &text, Dialect::Sqlite).unwrap();
    assert_eq!(m.sources[0].search[0].targets.len(), 1);
}

#[test]
fn dates_in_unsortable_text_formats_cannot_be_searched() {
    let text = "[[resource]]\ntype = \"Patient\"\ntable = \"PATIENT\"\nid = \"PAT_ID\"\n\
                [resource.elements]\nbirthDate = { column = \"BIRTH_DT\", format = \"%m/%d/%Y\" }\n\
                [resource.search]\nbirthdate = true\n";
    let e = one(text);
    check(&e, 8, "cannot be compared without reading every row", None);
}

// ----------------------------------------------------------------------------------------------
// Against the database's columns: schema_check::apply_schema
// ----------------------------------------------------------------------------------------------

fn col(name: &str, integer: bool) -> DbColumn {
    DbColumn {
        name: name.to_string(),
        type_name: if integer { "INTEGER" } else { "TEXT" }.to_string(),
        sql_type: if integer {
            SqlType::Integer
        } else {
            SqlType::Text
        },
        decodable: true,
        as_text: false,
        scale: None,
        char_len: None,
    }
}

fn table(schema: &mut SchemaInfo, name: &str, cols: &[(&str, bool)]) {
    schema.insert(
        relation_key(&Relation::Table(name.to_string())),
        Ok(cols.iter().map(|(n, i)| col(n, *i)).collect()),
    );
}

fn hospital() -> SchemaInfo {
    let mut s = SchemaInfo::new();
    table(
        &mut s,
        "PATIENT",
        &[
            ("PAT_ID", true),
            ("LAST_NM", false),
            ("SEX_CD", false),
            ("MRN", false),
        ],
    );
    table(
        &mut s,
        "PAT_PHONE",
        &[("PAT_ID", true), ("SEQ_NO", true), ("PHONE_NO", false)],
    );
    table(
        &mut s,
        "LAB_RESULT",
        &[("RSLT_ID", true), ("TEST_CD", false)],
    );
    table(
        &mut s,
        "LAB_TEST_MAP",
        &[("LOCAL_CD", false), ("LOINC_CD", false)],
    );
    s
}

#[track_caller]
fn schema_errors(text: &str, schema: &SchemaInfo) -> Vec<MappingError> {
    let mut m = compiles(text);
    apply_schema(&mut m, schema).expect_err("the schema check should fail")
}

#[test]
fn unknown_column_with_suggestion() {
    let e = schema_errors(
        &patient("\"name[0].family\" = \"LAST_NAME\"\n"),
        &hospital(),
    );
    assert_eq!(e.len(), 1, "{e:#?}");
    check(
        &e[0],
        6,
        "table PATIENT has no column 'LAST_NAME'. Did you mean 'LAST_NM'?",
        Some("use one of its columns: PAT_ID, LAST_NM, SEX_CD, MRN"),
    );
    assert_eq!(
        e[0].entry,
        "resource \"Patient\" (Patient), element \"name[0].family\""
    );
}

#[test]
fn case_insensitive_match_takes_the_real_spelling() {
    let mut m = compiles(&format!(
        "{}[[resource.child]]\npath = \"telecom\"\ntable = \"PAT_PHONE\"\nkey = \"pat_id\"\n\
         [resource.child.elements]\nvalue = \"phone_no\"\n",
        patient("\"name[0].family\" = \"last_nm\"\n").replace("id = \"PAT_ID\"", "id = \"Pat_Id\"")
    ));
    apply_schema(&mut m, &hospital()).unwrap();
    let s = &m.sources[0];
    let name = |v: &SqlValue| match v {
        SqlValue::Column(c) => c.name.clone(),
        SqlValue::Expr(e) => e.sql.clone(),
    };
    assert_eq!(name(&s.id.value), "PAT_ID");
    assert!(s.id.integer());
    let ElementValue::Sql { value, .. } = &s.elements[0].value else {
        panic!()
    };
    assert_eq!(name(value), "LAST_NM");
    let c = &s.children[0];
    assert_eq!(c.key.name, "PAT_ID");
    assert_eq!(name(&c.parent_key), "PAT_ID");
    let ElementValue::Sql { value, .. } = &c.elements[0].value else {
        panic!()
    };
    assert_eq!(name(value), "PHONE_NO");
}

#[test]
fn two_columns_differing_only_in_case_are_not_guessed() {
    let mut s = SchemaInfo::new();
    table(
        &mut s,
        "PATIENT",
        &[("PAT_ID", true), ("Name", false), ("NAME", false)],
    );
    let e = schema_errors(&patient("\"name[0].family\" = \"name\"\n"), &s);
    check(&e[0], 6, "table PATIENT has no column 'name'", None);
}

#[test]
fn unknown_table_message() {
    let mut s = hospital();
    s.insert(
        relation_key(&Relation::Table("PATIENT".into())),
        Err("no such table: PATIENT".into()),
    );
    let e = schema_errors(&patient(""), &s);
    check(
        &e[0],
        1,
        "table 'PATIENT' cannot be read: no such table: PATIENT",
        Some("schema-qualify it if needed, e.g. dbo.PATIENT"),
    );
}

#[test]
fn failing_sql_source_message() {
    let text = "[[resource]]\ntype = \"Patient\"\nsql = \"SELECT * FROM NOPE\"\nid = \"ID\"\n";
    let mut s = SchemaInfo::new();
    s.insert(
        relation_key(&Relation::Query("SELECT * FROM NOPE".into())),
        Err("no such table: NOPE".into()),
    );
    let e = schema_errors(text, &s);
    check(
        &e[0],
        1,
        "the `sql` query fails: no such table: NOPE",
        Some("run the query in your database client"),
    );
}

#[test]
fn undecodable_column_type() {
    let mut s = hospital();
    s.insert(
        relation_key(&Relation::Table("PATIENT".into())),
        Ok(vec![
            col("PAT_ID", true),
            DbColumn {
                name: "PHOTO".into(),
                type_name: "GEOMETRY".into(),
                sql_type: SqlType::Unknown,
                decodable: false,
                as_text: false,
                scale: None,
                char_len: None,
            },
        ]),
    );
    let e = schema_errors(&patient("\"name[0].text\" = \"PHOTO\"\n"), &s);
    check(
        &e[0],
        6,
        "column 'PHOTO' has type GEOMETRY, which the façade cannot read",
        Some("CAST(COL AS VARCHAR(50))"),
    );
}

#[test]
fn id_integer_detection() {
    let schema = hospital();
    let mut m = compiles(&patient(""));
    apply_schema(&mut m, &schema).unwrap();
    assert!(m.sources[0].id.integer(), "integer column");

    let mut m = compiles(&patient("").replace("id = \"PAT_ID\"", "id = \"MRN\""));
    apply_schema(&mut m, &schema).unwrap();
    assert!(!m.sources[0].id.integer(), "text column");

    let mut m = compiles(&patient("").replace("id = \"PAT_ID\"", "id = { expr = \"PAT_ID\" }"));
    apply_schema(&mut m, &schema).unwrap();
    assert!(
        !m.sources[0].id.integer(),
        "an expression is compared as text"
    );
}

#[test]
fn join_alias_columns_are_checked_in_the_joined_table() {
    let text = "[[resource]]\ntype = \"Observation\"\ntable = \"LAB_RESULT\"\nid = \"RSLT_ID\"\n\
                [[resource.join]]\ntable = \"LAB_TEST_MAP\"\nalias = \"MAP\"\non = \"MAP.LOCAL_CD = LAB_RESULT.TEST_CD\"\n\
                [resource.elements]\nstatus = { constant = \"final\" }\n\"code.coding[0].code\" = \"MAP.LOINC_CODE\"\n\
                \"code.coding[1].code\" = \"MAP.loinc_cd\"\n\"code.text\" = \"LOINC_CD\"\n";
    let e = schema_errors(text, &hospital());
    assert_eq!(e.len(), 2, "{e:#?}");
    check(
        &e[0],
        11,
        "table LAB_TEST_MAP has no column 'LOINC_CODE'. Did you mean 'LOINC_CD'?",
        Some("use one of its columns: LOCAL_CD, LOINC_CD"),
    );
    // An unqualified column is looked up in the source table only.
    check(&e[1], 13, "table LAB_RESULT has no column 'LOINC_CD'", None);

    let mut m = compiles(
        &text
            .replace("MAP.LOINC_CODE\"", "MAP.LOINC_CD\"")
            .replace("\"code.text\" = \"LOINC_CD\"\n", ""),
    );
    apply_schema(&mut m, &hospital()).unwrap();
    let ElementValue::Sql {
        value: SqlValue::Column(c),
        ..
    } = &m.sources[0].elements[2].value
    else {
        panic!()
    };
    assert_eq!(
        (c.qualifier.as_deref(), c.name.as_str()),
        (Some("MAP"), "LOINC_CD")
    );
}

#[test]
fn unknown_join_table() {
    let text = "[[resource]]\ntype = \"Observation\"\ntable = \"LAB_RESULT\"\nid = \"RSLT_ID\"\n\
                [[resource.join]]\ntable = \"LAB_MAP\"\nalias = \"MAP\"\non = \"1=1\"\n";
    let mut s = hospital();
    s.insert(
        relation_key(&Relation::Table("LAB_MAP".into())),
        Err("no such table: LAB_MAP".into()),
    );
    let e = schema_errors(text, &s);
    check(&e[0], 1, "table 'LAB_MAP' cannot be read", None);
}

#[test]
fn child_key_and_columns_are_checked_in_the_child_table() {
    let text = format!(
        "{}[[resource.child]]\npath = \"telecom\"\ntable = \"PAT_PHONE\"\nkey = \"PATIENT_ID\"\n\
         parent_key = \"PAT_NO\"\n[resource.child.elements]\nvalue = \"PHONE_NUM\"\n",
        patient("")
    );
    let e = schema_errors(&text, &hospital());
    assert_eq!(e.len(), 3, "{e:#?}");
    check(
        &e[0],
        6,
        "table PATIENT has no column 'PAT_NO'",
        Some("use one of its columns"),
    );
    assert!(
        e[0].entry.ends_with("child \"telecom\", parent_key"),
        "{}",
        e[0]
    );
    check(
        &e[1],
        6,
        "table PAT_PHONE has no column 'PATIENT_ID'",
        Some("use one of its columns: PAT_ID, SEQ_NO, PHONE_NO"),
    );
    assert!(e[1].entry.ends_with("child \"telecom\", key"), "{}", e[1]);
    check(
        &e[2],
        12,
        "table PAT_PHONE has no column 'PHONE_NUM'. Did you mean 'PHONE_NO'?",
        None,
    );
}

#[test]
fn relations_lists_each_table_once() {
    let m = compiles(&format!(
        "{}[[resource.child]]\npath = \"telecom\"\ntable = \"PAT_PHONE\"\nkey = \"PAT_ID\"\nvalue = {{ constant = {{ value = \"1\" }} }}\n\
         [[resource]]\ntype = \"Observation\"\ntable = \"LAB_RESULT\"\nid = \"RSLT_ID\"\n\
         [[resource.join]]\ntable = \"PATIENT\"\nalias = \"P\"\non = \"1=1\"\n",
        patient("")
    ));
    let keys: Vec<String> = relations(&m).iter().map(relation_key).collect();
    assert_eq!(
        keys,
        ["table:PATIENT", "table:PAT_PHONE", "table:LAB_RESULT"]
    );
}

// ----------------------------------------------------------------------------------------------
// Combinations and shapes that used to be accepted silently
// ----------------------------------------------------------------------------------------------

#[test]
fn a_constant_for_a_complex_element_must_be_a_table() {
    let e = one(&patient("maritalStatus = { constant = \"M\" }\n"));
    check(
        &e,
        6,
        "a constant for it must be a table",
        Some("maritalStatus"),
    );
    compiles(&patient(
        "maritalStatus = { constant = { coding = [{ system = \"http://x\", code = \"M\" }] } }\n",
    ));
}

#[test]
fn value_map_entries_must_fit_the_element_type() {
    let text = format!(
        "[maps.yn]\nvalues = {{ Y = \"true\", N = \"false\" }}\n{}",
        patient("active = { column = \"ACT\", map = \"yn\" }\n")
    );
    let e = one(&text);
    check(
        &e,
        8,
        "do not fit the FHIR type boolean",
        Some("constant = true"),
    );
    compiles(&format!(
        "[maps.yn]\nvalues = {{ Y = true, N = false }}\n{}",
        patient("active = { column = \"ACT\", map = \"yn\" }\n")
    ));
}

#[test]
fn keys_that_cannot_be_combined() {
    for (spec, a, b) in [
        ("map = \"m\", reference = \"Patient\"", "map", "reference"),
        ("format = \"%Y\", map = \"m\"", "format", "map"),
        (
            "format = \"%Y\", reference = \"Patient\"",
            "format",
            "reference",
        ),
    ] {
        let text = format!(
            "[maps.m]\nvalues = {{ A = \"x\" }}\n{}",
            patient(&format!(
                "\"generalPractitioner[0]\" = {{ column = \"PCP\", {spec} }}\n"
            ))
        );
        let e = one(&text);
        check(
            &e,
            8,
            &format!("`{a}` and `{b}` cannot be combined"),
            Some("keep one"),
        );
    }
}

#[test]
fn unknown_keys_of_last_updated_and_version() {
    let text = "[[resource]]\ntype = \"Patient\"\ntable = \"P\"\nid = \"PAT_ID\"\n\
                last_updated = { column = \"TS\", format = \"%Y\" }\n";
    let e = one(text);
    check(
        &e,
        5,
        "unknown key 'format'",
        Some("last_updated takes: column, expr"),
    );
}

#[test]
fn a_misspelled_dialect_is_an_error() {
    let text = "[[resource]]\ntype = \"Patient\"\ntable = \"P\"\nid = \"PAT_ID\"\n\
                filter = { sqlit = \"1=1\", default = \"1=1\" }\n";
    let e = errors(text);
    assert!(!e.is_empty());
}

#[test]
fn required_on_a_top_level_element_is_refused() {
    let e = one(&patient("gender = { column = \"SEX\", required = true }\n"));
    check(
        &e,
        6,
        "a top-level element has none",
        Some("valueQuantity.value"),
    );
}

#[test]
fn an_unquoted_dotted_path_gets_a_hint() {
    let e = one(&patient("name.family = \"LAST_NM\"\n"));
    check(&e, 6, "unknown key 'family'", Some("\"name.family\""));
}

#[test]
fn a_join_alias_cannot_be_used_twice() {
    let text = "[[resource]]\ntype = \"Patient\"\ntable = \"P\"\nid = \"PAT_ID\"\n\
                [[resource.join]]\ntable = \"A\"\nalias = \"X\"\non = \"1=1\"\n\
                [[resource.join]]\ntable = \"B\"\nalias = \"X\"\non = \"1=1\"\n";
    let e = one(text);
    check(&e, 9, "alias 'X' is used twice", Some("distinct alias"));
}

#[test]
fn column_suggestions_include_prefixes() {
    let mut s = SchemaInfo::new();
    s.insert(
        relation_key(&Relation::Table("PATIENT".into())),
        Ok(vec![col("PAT_ID", true), col("PHONE_NO", false)]),
    );
    let e = schema_errors(&patient("\"telecom[0].value\" = \"PHONE\"\n"), &s);
    assert!(e[0].message.contains("Did you mean 'PHONE_NO'"), "{}", e[0]);
}

#[test]
fn sql_parameters_need_a_placeholder_a_plain_type_and_one_definition() {
    let def = "definition = \"http://x\"";
    for (v, message, hint) in [
        (
            format!("{{ type = \"token\", {def}, sql = \"PAT_ID = 1\" }}"),
            "the `sql` condition has no ? for the search value",
            "each ? receives the value",
        ),
        (
            format!("{{ type = \"date\", {def}, sql = \"BIRTH_DT = ?\" }}"),
            "an `sql` parameter cannot be of type date",
            "use type token, string, number or uri",
        ),
        (
            format!("{{ type = \"token\", {def}, sql = \"PAT_ID = ?\", path = \"id\" }}"),
            "one of `path` or `sql`",
            "sql is a condition on the row",
        ),
        (
            format!("{{ type = \"token\", {def}, sq = \"PAT_ID = ?\" }}"),
            "unknown key 'sq'. Did you mean 'sql'?",
            "a custom parameter takes type, definition, and path or sql",
        ),
    ] {
        let e = one(&patient_search(&format!("mrn = {v}\n")));
        check(&e, 6, message, Some(hint));
    }
    // A ? inside quotes is text, not a placeholder.
    let e = one(&patient_search(&format!(
        "mrn = {{ type = \"token\", {def}, sql = \"PAT_ID = '?'\" }}\n"
    )));
    check(&e, 6, "has no ? for the search value", None);
}

#[test]
fn sql_parameters_declare_modifiers_their_type_takes_with_a_placeholder() {
    let head = "type = \"string\", definition = \"http://x\", sql = \"NAME LIKE ?\"";
    for (modifiers, message, hint) in [
        (
            "{ contains = \"NAME LIKE '%'\" }",
            "the condition has no ? for the search value",
            "each ? receives the value",
        ),
        (
            "{ missing = \"NAME = ?\" }",
            "the `missing` condition takes no value",
            "`:missing=false` negates it",
        ),
        (
            "{ not = \"NAME <> ?\" }",
            "`:not` negates the plain condition",
            "declares missing, exact, contains",
        ),
        (
            "{ contain = \"NAME LIKE ?\" }",
            "Did you mean 'contains'?",
            "declares missing, exact, contains",
        ),
        (
            "{ exact = 1 }",
            "a modifier's condition is SQL text",
            "modifiers = {",
        ),
        ("\"NAME IS NULL\"", "`modifiers` is a table", "missing = "),
    ] {
        let e = one(&patient_search(&format!(
            "nm = {{ {head}, modifiers = {modifiers} }}\n"
        )));
        check(&e, 6, message, Some(hint));
        assert!(e.entry.contains("search \"nm\""), "{}", e.entry);
    }
    // A path parameter takes its type's modifiers: none is declared.
    let e = one(&patient_search(
        "nm = { type = \"string\", definition = \"http://x\", path = \"name\", modifiers = { exact = \"A = ?\" } }\n",
    ));
    check(
        &e,
        6,
        "`modifiers` are declared for an `sql` parameter only",
        None,
    );
    // Tokens take :text, never :of-type.
    let e = one(&patient_search(
        "mrn = { type = \"token\", definition = \"http://x\", sql = \"MRN = ?\", modifiers = { of-type = \"MRN = ?\" } }\n",
    ));
    check(&e, 6, "three values", Some("declares missing, text"));
    // Declared, they are what the parameter takes (with :not on tokens).
    let m = compiles(&patient_search(
        "mrn = { type = \"token\", definition = \"http://x\", sql = \"MRN = ?\", modifiers = { text = \"MRN LIKE ?\", missing = \"MRN IS NULL\" } }\n",
    ));
    let d = m.sources[0].search_decl("mrn").unwrap();
    assert_eq!(
        fhir_facade::search::modifier::declared_modifiers(d),
        ["missing", "not", "text"]
    );
}

#[test]
fn system_prefixes_need_a_coding_a_separator_and_urls() {
    let sp = "system_prefix = { separator = \":\", systems = { ICD10 = \"http://hl7.org/fhir/sid/icd-10-cm\" } }";
    let e = one(&patient(&format!(
        "gender = {{ column = \"SEX_CD\", {sp} }}\n"
    )));
    check(
        &e,
        6,
        "`system_prefix` fills a Coding or CodeableConcept, but 'gender' is a code",
        Some("put it on the Coding"),
    );
    for (v, message) in [
        (
            "{ separator = \"\", systems = { A = \"http://a\" } }",
            "non-empty `separator`",
        ),
        ("{ separator = \":\" }", "needs `systems`"),
        ("{ separator = \":\", systems = {} }", "at least one prefix"),
        (
            "{ separator = \":\", systems = { A = \"not a url\" } }",
            "must be a code system URL",
        ),
        (
            "{ separator = \":\", systems = { \"A:B\" = \"http://a\" } }",
            "not contain the separator",
        ),
        (
            "{ separator = \":\", system = { A = \"http://a\" } }",
            "unknown key 'system'",
        ),
    ] {
        let e = one(&patient(&format!(
            "\"maritalStatus.coding[0]\" = {{ column = \"MARITAL_CD\", system_prefix = {v} }}\n"
        )));
        check(&e, 6, message, Some("system_prefix = { separator"));
    }
    let e = one(&patient(&format!(
        "\"maritalStatus.coding[0]\" = {{ column = \"MARITAL_CD\", map = \"m\", {sp} }}\n"
    )));
    check(&e, 6, "`system_prefix` and `map` cannot be combined", None);
}
