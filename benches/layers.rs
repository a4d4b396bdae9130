//! Micro-benchmarks of the pure layers, on the sample mapping: a search URL parsed into a
//! request, the request planned into SQL, and 1,000 rows turned into a searchset Bundle's
//! JSON text (and one row into a read's), written straight and through `serde_json` values.
//!
//! `cargo bench --bench layers` (divan; `-- --sample-count 200` and the like pass options).

use chrono::NaiveDate;
use fhir_facade::assemble::bundle::{SearchSet, searchset};
use fhir_facade::assemble::resource::{build, resource};
use fhir_facade::assemble::served::Resource;
use fhir_facade::mapping::{Mapping, SourceLayout};
use fhir_facade::plan::{self, Scope};
use fhir_facade::request::search::{SearchOptions, SearchRequest};
use fhir_facade::sql::{Caps, Dialect, Row, Value};

/// The server binary's allocator (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

const SEARCH: &str =
    "family=smi&gender=female&birthdate=ge1960&birthdate=lt1970-06&_count=20&_sort=-birthdate";

fn mapping() -> Mapping {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml");
    fhir_facade::mapping::load(path, Dialect::Postgres).expect("the sample mapping")
}

fn options() -> SearchOptions<'static> {
    SearchOptions {
        base_url: "http://localhost/fhir",
        max_count: 1000,
        max_chain_depth: 3,
        lenient: false,
        limits: Default::default(),
    }
}

fn params() -> Vec<(String, String)> {
    form_urlencoded::parse(SEARCH.as_bytes())
        .into_owned()
        .collect()
}

/// Query string → typed search request.
#[divan::bench]
fn parse_search(bencher: divan::Bencher) {
    let m = mapping();
    let opts = options();
    bencher.bench_local(|| {
        let params = params();
        SearchRequest::parse(&m, &opts, "Patient", divan::black_box(&params)).expect("parses")
    });
}

/// Typed request → the page statement's SQL and parameters.
#[divan::bench]
fn plan_search(bencher: divan::Bencher) {
    let m = mapping();
    let caps = Caps::of(Dialect::Postgres);
    let req = SearchRequest::parse(&m, &options(), "Patient", &params()).expect("parses");
    bencher.bench_local(|| {
        plan::search(&m, &caps, Scope::none(), divan::black_box(&req), None)
            .expect("plans")
            .page
            .statement
    });
}

/// A Patient row as the database returns it, in the layout's column order.
fn patient_row(layout: &SourceLayout, i: i64) -> Row {
    let mut row = vec![
        Value::Int(i),
        Value::Timestamp(
            NaiveDate::from_ymd_opt(2024, 1, 2)
                .and_then(|d| d.and_hms_opt(3, 4, 5))
                .expect("date"),
        ),
        Value::Int(3),
        Value::Text("Smith".into()),
        Value::Text("Anna".into()),
        Value::Text("Maria".into()),
        Value::Null,
        Value::Text("F".into()),
        Value::Text("19700101".into()),
        Value::Text("N".into()),
        Value::Null,
        Value::Text("M".into()),
        Value::Text("en".into()),
        Value::Int(5),
    ];
    row.resize(layout.columns.len(), Value::Null);
    row
}

/// The searchset Bundle of `resources`.
fn bundle_of(resources: Vec<Resource<'_>>) -> SearchSet<'_> {
    SearchSet {
        base_url: "http://localhost/fhir",
        resources,
        included: Vec::new(),
        self_link: "http://localhost/fhir/Patient?_count=1000".into(),
        next_link: None,
        total: None,
        warnings: Vec::new(),
    }
}

/// 1,000 rows → resources → searchset Bundle → JSON text, as the server does it: written
/// straight from the assembled rows.
#[divan::bench]
fn assemble_bundle_of_1000(bencher: divan::Bencher) {
    let m = mapping();
    let source = m.sources_of("Patient").next().expect("a Patient source");
    let layout = SourceLayout::of(source);
    let rows: Vec<Row> = (1..=1000).map(|i| patient_row(&layout, i)).collect();
    bencher.bench_local(|| {
        let resources = rows
            .iter()
            .filter_map(|r| build(source, &layout, r, &[], m.timezone))
            .map(Resource::Built)
            .collect();
        serde_json::to_vec(&bundle_of(resources)).expect("serializes")
    });
}

/// The same through `serde_json` values (each resource and the Bundle built as a value, then
/// serialized): what a tree is still built for (XML, `_summary`/`_elements`).
#[divan::bench]
fn assemble_bundle_of_1000_via_values(bencher: divan::Bencher) {
    let m = mapping();
    let source = m.sources_of("Patient").next().expect("a Patient source");
    let layout = SourceLayout::of(source);
    let rows: Vec<Row> = (1..=1000).map(|i| patient_row(&layout, i)).collect();
    bencher.bench_local(|| {
        let resources = rows
            .iter()
            .filter_map(|r| resource(source, &layout, r, &[], m.timezone))
            .map(Resource::Value)
            .collect();
        serde_json::to_vec(&searchset(bundle_of(resources))).expect("serializes")
    });
}

/// One row → a read's JSON body, written straight.
#[divan::bench]
fn assemble_read(bencher: divan::Bencher) {
    let m = mapping();
    let source = m.sources_of("Patient").next().expect("a Patient source");
    let layout = SourceLayout::of(source);
    let row = patient_row(&layout, 7);
    bencher.bench_local(|| {
        let r = build(source, &layout, divan::black_box(&row), &[], m.timezone);
        serde_json::to_vec(&r).expect("serializes")
    });
}

/// One row → a read's JSON body through a `serde_json` value.
#[divan::bench]
fn assemble_read_via_value(bencher: divan::Bencher) {
    let m = mapping();
    let source = m.sources_of("Patient").next().expect("a Patient source");
    let layout = SourceLayout::of(source);
    let row = patient_row(&layout, 7);
    bencher.bench_local(|| {
        let r = resource(source, &layout, divan::black_box(&row), &[], m.timezone);
        serde_json::to_vec(&r).expect("serializes")
    });
}
