//! The JSON written straight from assembled rows is byte for byte the JSON of the
//! `serde_json` values the same rows build, for every source of the sample and clinic
//! mappings: resources with child tables, choice types, extensions, constants, and absent,
//! blank and unconvertible values; and the searchset Bundles around them.

use chrono::NaiveDate;
use serde_json::Value as Json;

use super::bundle::{SearchSet, searchset};
use super::outcome::{Issue, Severity};
use super::resource::{Built, ChildRows, build};
use super::served::Resource;
use crate::mapping::{ChildLayout, Mapping, Source, SourceLayout};
use crate::sql::{Dialect, Row, Value};

fn mapping(path: &str) -> Mapping {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    crate::mapping::load(&path, Dialect::Postgres).expect("the mapping loads")
}

/// A column value: every kind of value a database returns, blank and odd text included.
fn value(n: usize) -> Value {
    let day = NaiveDate::from_ymd_opt(
        1970 + (n % 50) as i32,
        1 + (n % 12) as u32,
        1 + (n % 28) as u32,
    )
    .expect("date");
    match n % 16 {
        0 => Value::Null,
        1 => Value::Int(n as i64),
        2 => Value::Text(String::new()),
        3 => Value::Text(format!("Text \"{n}\" \\ é\u{1}\n\t</x>")),
        4 => Value::Date(day),
        5 => Value::Timestamp(day.and_hms_opt(3, 4, 5).expect("time")),
        6 => Value::Decimal("98.60".into()),
        7 => Value::Float(1.5e-7),
        8 => Value::Bool(n % 32 == 8),
        9 => Value::Text("19700101".into()),
        10 => Value::Text("2024-01-02".into()),
        11 => Value::Text("F".into()),
        12 => Value::Text("M".into()),
        13 => Value::Int(0),
        14 => Value::Text("  ".into()),
        _ => Value::Text("1".into()),
    }
}

/// Parent row `i`: its id and the keys children refer to are `i`, every other column varies.
fn parent_row(layout: &SourceLayout, i: usize) -> Row {
    let mut row: Row = (0..layout.columns.len())
        .map(|c| value(i * 7 + c))
        .collect();
    row[layout.id] = Value::Int(i as i64);
    for &k in &layout.parent_keys {
        row[k] = Value::Int(i as i64);
    }
    row
}

/// Child rows of parent `i`: none to three.
fn child_rows(layout: &ChildLayout, i: usize, child: usize) -> Vec<Row> {
    (0..(i + child) % 4)
        .map(|j| {
            let mut row: Row = (0..layout.columns.len())
                .map(|c| value(i * 5 + j * 3 + c + child))
                .collect();
            row[layout.key] = Value::Int(i as i64);
            row
        })
        .collect()
}

/// The resources of rows `1..=n` of `source`, built twice over (the second for the values).
fn resources(source: &Source, n: usize) -> (Vec<Built<'_>>, Vec<Built<'_>>) {
    let layout = SourceLayout::of(source);
    let layouts: Vec<ChildLayout> = source.children.iter().map(ChildLayout::of).collect();
    let tz = chrono_tz::UTC;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 1..=n {
        let row = parent_row(&layout, i);
        let rows: Vec<Vec<Row>> = layouts
            .iter()
            .enumerate()
            .map(|(k, cl)| child_rows(cl, i, k))
            .collect();
        let children: Vec<ChildRows> = source
            .children
            .iter()
            .zip(&layouts)
            .zip(&rows)
            .map(|((child, layout), rows)| ChildRows {
                child,
                layout,
                rows: rows.iter().collect(),
            })
            .collect();
        if let Some(r) = build(source, &layout, &row, &children, tz) {
            a.push(r);
            b.push(build(source, &layout, &row, &children, tz).expect("builds again"));
        }
    }
    (a, b)
}

fn text(v: &impl serde::Serialize, pretty: bool) -> String {
    if pretty {
        serde_json::to_string_pretty(v).expect("serializes")
    } else {
        serde_json::to_string(v).expect("serializes")
    }
}

fn check_mapping(path: &str) {
    let m = mapping(path);
    let mut members = 0;
    let mut served = Vec::new();
    let mut served_as_text = Vec::new();
    for source in &m.sources {
        let (written, values) = resources(source, 48);
        let (texts, _) = resources(source, 48);
        assert!(!written.is_empty(), "{}: no resource built", source.name);
        for ((w, v), t) in written.into_iter().zip(values).zip(texts) {
            let v = Json::Object(v.into_map());
            members += v.as_object().map_or(0, |o| o.len());
            for pretty in [false, true] {
                assert_eq!(text(&w, pretty), text(&v, pretty), "{}", source.name);
            }
            let r = Resource::Built(w);
            assert_eq!(r.last_updated(), v["meta"]["lastUpdated"].as_str());
            assert_eq!(text(&r.to_map(), false), text(&v, false));
            // Written as its JSON text at once: the same compact JSON, the same answers.
            let t = Resource::written(t);
            assert!(matches!(t, Resource::Text(_)));
            assert_eq!(
                (t.resource_type(), t.id(), t.last_updated()),
                (r.resource_type(), r.id(), r.last_updated())
            );
            assert_eq!(text(&t, false), text(&v, false));
            assert_eq!(text(&t.to_map(), false), text(&v, false));
            served.push(r);
            served_as_text.push(t);
        }
    }
    assert!(members > 200, "the rows built little: {members} members");
    check_bundles(served, true);
    // Text is served only in compact JSON (pretty printing does not reach into it).
    check_bundles(served_as_text, false);
}

/// A Bundle of `resources` (half matches, half included), with a total, links and an
/// outcome entry, and the same Bundle empty; compact, and pretty too where `pretty`.
fn check_bundles(mut resources: Vec<Resource<'_>>, pretty: bool) {
    // One resource subsetted, as `_elements` leaves it: a JSON object among built ones.
    if let Some(first) = resources.first_mut() {
        first.subset(Default::default(), Some(&["id".to_string()]));
        assert!(matches!(first, Resource::Value(_)));
    }
    let included = resources.split_off(resources.len() / 2);
    let set = |resources, included, warnings| SearchSet {
        base_url: "http://localhost/fhir",
        resources,
        included,
        self_link: "http://localhost/fhir/Patient?name=a%22b&_count=20".into(),
        next_link: Some("http://localhost/fhir/Patient?_cursor=x".into()),
        total: Some(12_345),
        warnings,
    };
    let warnings = || {
        vec![Issue {
            severity: Severity::Warning,
            code: "not-supported",
            diagnostics: "x \"y\"; it was ignored".into(),
        }]
    };
    let written = set(resources, included, warnings());
    let texts = [text(&written, false), text(&written, pretty)];
    let value = searchset(written);
    assert_eq!(texts, [text(&value, false), text(&value, pretty)]);
    let empty = set(Vec::new(), Vec::new(), Vec::new());
    let texts = [text(&empty, false), text(&empty, true)];
    let value = searchset(empty);
    assert_eq!(texts, [text(&value, false), text(&value, true)]);
}

#[test]
fn the_sample_mapping_writes_the_same_json_both_ways() {
    check_mapping("mapping.toml");
}

#[test]
fn the_clinic_mapping_writes_the_same_json_both_ways() {
    check_mapping("tests/fixtures/clinic/mapping.toml");
}

/// The sources of `m` that have a shape write, filled into it, what the same rows build node
/// by node; returns how many sources have one.
fn check_shapes(m: &Mapping, origin: &str) -> usize {
    let mut shaped = 0;
    for source in m.sources.iter().filter(|s| s.shape.is_some()) {
        shaped += 1;
        let mut plain = source.clone();
        plain.shape = None;
        let (filled, filled_again) = resources(source, 64);
        let (built, built_again) = resources(&plain, 64);
        assert_eq!(filled.len(), built.len());
        let what = format!("{origin}: {}", source.name);
        for ((f, b), (f2, b2)) in filled
            .iter()
            .zip(&built)
            .zip(filled_again.into_iter().zip(built_again))
        {
            for pretty in [false, true] {
                assert_eq!(text(f, pretty), text(b, pretty), "{what}");
            }
            assert_eq!(f.last_updated(), b.last_updated(), "{what}");
            // Written straight to bytes: what serde_json writes.
            assert_eq!(f.compact(), Some(text(b, false)), "{what}");
            assert_eq!(b.compact(), None, "{what}");
            assert_eq!(
                text(&f2.into_map(), false),
                text(&b2.into_map(), false),
                "{what}"
            );
        }
    }
    shaped
}

/// The complete mappings of `docs/mapping.md` (```` ```toml ```` blocks) that compile.
fn documented_mappings() -> Vec<(usize, Mapping)> {
    let path = format!("{}/docs/mapping.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(path).expect("docs/mapping.md");
    let mut out = Vec::new();
    let mut lines = doc.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        if line.trim() != "```toml" {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let text: String = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| l.trim() != "```")
            .map(|l| format!("{}\n", l.get(indent..).unwrap_or(l.trim_start())))
            .collect();
        if let Ok(m) = crate::mapping::parse("doc", &text, Dialect::Postgres) {
            out.push((i + 1, m));
        }
    }
    out
}

#[test]
fn shapes_write_what_trees_write() {
    let sample = mapping("mapping.toml");
    assert_eq!(
        check_shapes(&sample, "mapping.toml"),
        sample.sources.len(),
        "every sample source has a shape"
    );
    let clinic = mapping("tests/fixtures/clinic/mapping.toml");
    assert!(check_shapes(&clinic, "clinic") > 0);
    let docs = documented_mappings();
    assert!(docs.len() > 30, "{} documented mappings", docs.len());
    let shaped: usize = docs
        .iter()
        .map(|(line, m)| check_shapes(m, &format!("docs/mapping.md:{line}")))
        .sum();
    assert!(shaped > 30, "{shaped} documented sources have a shape");
}

/// What the shape must get right beyond the mappings above: required values, a list with
/// items of its own and of two child tables, an item value, constants holding empty objects.
const TRICKY: &str = r#"
[[resource]]
type = "Patient"
table = "P"
id = "ID"

[resource.elements]
"name[0].family" = { column = "LAST", required = true }
"name[0].given[0]" = "FIRST"
"name[1].text" = "ALIAS"
"identifier[0].value" = "MRN"
"identifier[1]" = { constant = { value = "X", assigner = { identifier = {} } } }
"contact[0].name" = { constant = { text = "Y", period = {} } }
"contact[0].gender" = "SEX"
# Row-bound values under `communication[0]` come only from a child table's rows.
"communication[0].preferred" = { constant = true }

[[resource.child]]
path = "identifier"
table = "IDS"
key = "PID"
[resource.child.elements]
value = "VAL"
system = { column = "SYS", required = true }
"period.start" = "START_DT"

[[resource.child]]
path = "identifier"
table = "IDS2"
key = "PID"
[resource.child.elements]
value = "VAL"

[[resource.child]]
path = "name[0].given"
table = "GIVEN"
key = "PID"
value = "NM"

[[resource.child]]
path = "communication[0].language.coding"
table = "LANGS"
key = "PID"
[resource.child.elements]
code = "CD"

[[resource.child]]
path = "contact[0].telecom"
table = "PHONES"
key = "PID"
[resource.child.elements]
value = { column = "NO", required = true }
"period.end" = "END_DT"

# Two child tables (the first and the third) pass through an object that only child tables
# make, a third adds a member beside it: which is written first depends on the rows, so no
# shape.
[[resource]]
type = "Practitioner"
table = "PR"
id = "ID"

[resource.elements]
gender = "SEX"

[[resource.child]]
path = "qualification[0].code.coding"
table = "Q"
key = "PID"
[resource.child.elements]
code = "CD"

[[resource.child]]
path = "telecom"
table = "T"
key = "PID"
[resource.child.elements]
value = "NO"

[[resource.child]]
path = "qualification[0].identifier"
table = "QI"
key = "PID"
[resource.child.elements]
value = "VAL"
"#;

#[test]
fn shapes_write_what_trees_write_for_tricky_mappings() {
    let m = crate::mapping::parse("tricky", TRICKY, Dialect::Postgres).expect("compiles");
    assert_eq!(check_shapes(&m, "tricky"), 1);
    assert!(m.sources[1].shape.is_none());
}
