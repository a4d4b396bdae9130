//! SQL snapshots of representative searches, for each dialect: what the planner sends to the
//! database, with its bound parameters. Review changes with `cargo insta review`.

use fhir_facade::mapping::Mapping;
use fhir_facade::plan::{self, Scope, SearchPlan};
use fhir_facade::request::cursor::Cursor;
use fhir_facade::request::search::{SearchOptions, SearchRequest, TotalMode};
use fhir_facade::sql::{Caps, Dialect, Value};

#[path = "support/extra_mapping.rs"]
mod extra_mapping;

const SEARCHES: &[(&str, &str)] = &[
    ("patient_family_gender", "Patient?family=smi&gender=female"),
    (
        "patient_identifier",
        "Patient?identifier=http://hospital.example.org/fhir/sid/mrn|M1242486",
    ),
    (
        "patient_birthdate_range",
        "Patient?birthdate=ge1960&birthdate=lt1970-06",
    ),
    (
        "patient_name_contains_not_gender",
        "Patient?name:contains=ann&gender:not=male",
    ),
    (
        "observation_code_value",
        "Observation?code=http://loinc.org|2339-0&value-quantity=gt150||mg/dL",
    ),
    (
        "observation_patient_date",
        "Observation?patient=Patient/1&date=ge2020-01-01T00:00:00Z",
    ),
    (
        "encounter_period_status",
        "Encounter?date=2019-03&status=finished,cancelled",
    ),
    (
        "condition_code_missing_onset",
        "Condition?code=E11.9&onset-date:missing=true",
    ),
    (
        "observation_chained_patient",
        "Observation?subject:Patient.name=smi&patient.birthdate=lt1960",
    ),
    (
        "observation_two_level_chain",
        "Observation?encounter.service-provider.name=card",
    ),
    (
        "patient_has_observation_code",
        "Patient?_has:Observation:patient:code=http://loinc.org|2339-0",
    ),
    (
        "medication_request_requester_identifier",
        "MedicationRequest?requester:identifier=http://hl7.org/fhir/sid/us-npi|1234567890",
    ),
    (
        "observation_code_value_quantity",
        "Observation?code-value-quantity=http://loinc.org|2339-0$gt150",
    ),
    (
        "observation_component_code_value_quantity",
        "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140,8462-4$lt60",
    ),
    // What _include and _revinclude read: many ids or references as one IN list per source.
    ("include_patients_by_id", "Patient?_id=1,3,lab-4"),
    (
        "revinclude_observations_by_reference",
        "Observation?patient=Patient/1,Patient/3",
    ),
    // A bare sort: the native ORDER BY an index on BIRTH_DT serves.
    ("patient_sort_birthdate", "Patient?_sort=birthdate"),
    // A value-mapped code (CASE over bound legacy codes) and a column with NULLs.
    (
        "patient_sort_gender_death",
        "Patient?_sort=gender,-death-date",
    ),
    // Several sources: a mapped code in one, a constant code in the others; a value only
    // one source has (the others' slots are NULL).
    (
        "observation_sort_status_lastupdated",
        "Observation?patient=Patient/1&_sort=-status,_lastUpdated",
    ),
];

/// Searches on the sample mapping with the additions of `support/extra_mapping.rs`.
const EXTRA_SEARCHES: &[(&str, &str)] = &[
    (
        "organization_source_below_missing",
        "Organization?_source:below=http://hospital.example.org/fhir/org/1/&_source:missing=false",
    ),
    (
        "organization_source_above_exact",
        "Organization?_source:above=http://hospital.example.org/fhir/org/1/CARD&_source=http://hospital.example.org/fhir/org/2",
    ),
    (
        "observation_value_quantity_mapped_unit",
        "Observation?value-quantity=gt100|http://unitsofmeasure.org|mg/dL",
    ),
    (
        "observation_component_rows_code_value_quantity",
        "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140&combo-code-value-quantity:missing=false",
    ),
];

fn extra_mapping(dialect: Dialect) -> Mapping {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml");
    let text = extra_mapping::extended(&std::fs::read_to_string(path).unwrap());
    fhir_facade::mapping::parse("extra mapping", &text, dialect).unwrap()
}

fn mapping(dialect: Dialect) -> Mapping {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml");
    fhir_facade::mapping::load(path, dialect).unwrap()
}

/// The search `query` (`Type?params`) parsed as the server parses it.
fn request(m: &Mapping, query: &str) -> SearchRequest {
    let (rt, qs) = query.split_once('?').unwrap();
    let params: Vec<(String, String)> =
        form_urlencoded::parse(qs.as_bytes()).into_owned().collect();
    let opts = SearchOptions {
        base_url: "http://localhost/fhir",
        max_count: 1000,
        max_chain_depth: 3,
        lenient: false,
        limits: Default::default(),
    };
    SearchRequest::parse(m, &opts, rt, &params).unwrap()
}

/// The plan of `req` after `after`, as the server plans it (no scope).
fn planned<'a>(
    m: &'a Mapping,
    caps: &'a Caps,
    req: &SearchRequest,
    after: Option<&Cursor>,
) -> SearchPlan<'a> {
    plan::search(m, caps, Scope::none(), req, after).unwrap()
}

fn plan(m: &Mapping, dialect: Dialect, query: &str) -> String {
    let caps = Caps::of(dialect);
    let mut req = request(m, query);
    req.total = TotalMode::Accurate;
    let plan = planned(m, &caps, &req, None);
    let mut out = String::new();
    for (source, total) in plan.sources.iter().zip(&plan.totals) {
        out.push_str(&format!(
            "-- count, {}:\n{}\n",
            source.name, total.count.sql
        ));
    }
    let page = &plan.page.statement;
    out.push_str(&format!(
        "-- page:\n{}\n-- params: {:?}\n",
        page.sql, page.params
    ));
    out
}

#[test]
fn search_sql_per_dialect() {
    for dialect in Dialect::ALL {
        let m = mapping(dialect);
        for (name, query) in SEARCHES {
            insta::assert_snapshot!(
                format!("{name}_{}", dialect.key()),
                plan(&m, dialect, query),
                query
            );
        }
        let m = extra_mapping(dialect);
        for (name, query) in EXTRA_SEARCHES {
            insta::assert_snapshot!(
                format!("{name}_{}", dialect.key()),
                plan(&m, dialect, query),
                query
            );
        }
    }
}

#[test]
fn sorted_page_after_a_keyset_per_dialect() {
    for dialect in Dialect::ALL {
        let m = mapping(dialect);
        let caps = Caps::of(dialect);
        let req = request(&m, "Patient?family=s&_sort=-birthdate,family&_count=10");
        let after = Cursor {
            source: 0,
            sort: vec![Value::Text("19740625".into()), Value::Null],
            after: Some(Value::Int(1)),
        };
        let page = planned(&m, &caps, &req, Some(&after)).page.statement;
        insta::assert_snapshot!(
            format!("patient_sorted_after_{}", dialect.key()),
            format!("{}\n-- params: {:?}", page.sql, page.params)
        );
    }
}

/// After a keyset in the third of Observation's sources whose `_lastUpdated` is NULL (that
/// source has none): the sources before it are done, its own rows continue after the key,
/// the later sources come whole, and lab results only where NULLs sort after values.
#[test]
fn multi_source_page_after_a_null_keyset_per_dialect() {
    for dialect in Dialect::ALL {
        let m = mapping(dialect);
        let caps = Caps::of(dialect);
        let req = request(
            &m,
            "Observation?patient=Patient/1&_sort=_lastUpdated&_count=4",
        );
        let after = Cursor {
            source: 2,
            sort: vec![Value::Null],
            after: Some(Value::Int(7)),
        };
        let page = planned(&m, &caps, &req, Some(&after)).page.statement;
        insta::assert_snapshot!(
            format!("observation_after_null_{}", dialect.key()),
            format!("{}\n-- params: {:?}", page.sql, page.params)
        );
    }
}

/// Repeated chained parameters through the same reference are one subquery per source, not
/// one per parameter (3,000 of them once grew a database server to 20 GB).
#[test]
fn repeated_chains_through_one_reference_are_one_subquery() {
    for dialect in Dialect::ALL {
        let m = mapping(dialect);
        let caps = Caps::of(dialect);
        let subqueries = |query: &str| {
            let req = request(&m, query);
            let sql = planned(&m, &caps, &req, None).page.statement.sql;
            sql.matches("IN (SELECT").count()
        };
        let one = subqueries("Observation?patient.family=a");
        let many: Vec<String> = (0..8)
            .map(|i| format!("patient.family:contains=a{i}"))
            .collect();
        assert_eq!(subqueries(&format!("Observation?{}", many.join("&"))), one);
        assert_eq!(
            subqueries("Observation?patient.family=a&patient.given=b&patient.gender=male"),
            one
        );
        // Other references stay apart.
        assert!(subqueries("Observation?patient.family=a&encounter.status=finished") > one);
    }
}

#[test]
fn sets_of_criteria_are_ored_per_dialect() {
    // An export's several `_typeFilter`s of one type: `AND ((1=1 AND a) OR (1=1 AND b))`
    // after the request's own criteria, binding the same values as the criteria ANDed.
    for dialect in Dialect::ALL {
        let m = mapping(dialect);
        let caps = Caps::of(dialect);
        let mut req = request(&m, "Observation?status=final");
        req.any_of = vec![
            request(&m, "Observation?code=http://loinc.org|8867-4").criteria,
            request(&m, "Observation?subject:Patient.gender=male&date=ge2020").criteria,
        ];
        let planned_sets = planned(&m, &caps, &req, None);
        let sources = planned_sets.sources.len();
        let page = planned_sets.page.statement;
        let anded = request(
            &m,
            "Observation?status=final&code=http://loinc.org|8867-4&subject:Patient.gender=male&date=ge2020",
        );
        let plain = planned(&m, &caps, &anded, None).page.statement;
        // The sets' OR, once per source, only where there are sets.
        let or = ") OR (1=1 AND ";
        assert!(sources > 1);
        assert_eq!(page.sql.matches(or).count(), sources, "{}", page.sql);
        assert!(!plain.sql.contains(or), "{}", plain.sql);
        assert_eq!(page.params.len(), plain.params.len(), "{dialect:?}");
    }
}

/// `m` with the leading index keys the sample's tables have for its name and date searches.
fn with_indexes(mut m: Mapping) -> Mapping {
    for s in &mut m.sources {
        s.index_leads = match s.table_name().as_deref() {
            Some("patient") => vec![
                "birth_dt".into(),
                "lower((last_nm)::text) collate \"c\"".into(),
            ],
            Some("lab_result") => vec!["collect_ts".into()],
            Some("vitals") => vec!["taken_ts".into()],
            _ => vec![],
        };
    }
    m
}

/// The ORDER BY of the page statement of `query`.
fn page_order(m: &Mapping, dialect: Dialect, query: &str) -> String {
    let caps = Caps::of(dialect);
    let sql = planned(m, &caps, &request(m, query), None)
        .page
        .statement
        .sql;
    let order = sql.rsplit_once("ORDER BY ").expect("an ORDER BY").1;
    order.split(" LIMIT").next().unwrap().to_string()
}

#[test]
fn a_search_pages_in_the_order_of_an_index_only_where_one_exists() {
    for dialect in Dialect::ALL {
        let bare = mapping(dialect);
        let indexed = with_indexes(mapping(dialect));
        let key_order = page_order(&bare, dialect, "Patient?gender=male");
        // Dates: one date parameter, once or as a range; the column, then the key.
        for q in [
            "Patient?birthdate=lt1950",
            "Patient?birthdate=ge1950&birthdate=lt1960",
        ] {
            let order = page_order(&indexed, dialect, q);
            assert!(
                order.to_lowercase().contains("birth_dt"),
                "{dialect} {q}: {order}"
            );
            assert_eq!(page_order(&bare, dialect, q), key_order, "{dialect} {q}");
        }
        // Several sources merge in one order only when their columns' types are known to
        // compare (here, without a database, they are not known).
        let merged = page_order(&indexed, dialect, "Observation?date=ge2020&date=lt2021");
        assert_eq!(
            merged,
            page_order(&bare, dialect, "Observation?date=ge2020")
        );
        // Anything else keeps the key order: another criterion, `_sort`, a chain.
        for q in [
            "Patient?birthdate=lt1950&gender=male",
            "Patient?birthdate=lt1950&_sort=_id",
            "Observation?patient.birthdate=lt1950",
        ] {
            let plain = page_order(&bare, dialect, q);
            assert_eq!(page_order(&indexed, dialect, q), plain, "{dialect} {q}");
        }
        // A name prefix: the folded name where the database has a code point order.
        let name = page_order(&indexed, dialect, "Patient?family=smi");
        match dialect {
            Dialect::Mysql => assert_eq!(name, key_order),
            _ => assert!(name.starts_with("LOWER("), "{dialect}: {name}"),
        }
        assert_eq!(page_order(&bare, dialect, "Patient?family=smi"), key_order);
    }
    // PostgreSQL's folded order is served only by an index in the "C" collation.
    let mut m = with_indexes(mapping(Dialect::Postgres));
    for s in &mut m.sources {
        for k in &mut s.index_leads {
            *k = k.replace(" collate \"c\"", "");
        }
    }
    let key_order = page_order(&m, Dialect::Postgres, "Patient?gender=male");
    assert_eq!(
        page_order(&m, Dialect::Postgres, "Patient?family=smi"),
        key_order
    );
}
