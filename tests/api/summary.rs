//! `_summary=true|text|data` on read and search, on every backend. The expected element sets
//! are written out from the FHIR R4 definitions (the Σ flags and cardinalities of Patient and
//! Observation) and cross-checked against the embedded definition tables.

use std::collections::BTreeSet;

use fhir_facade::fhir::Definitions;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_apps};

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .expect("a resource")
        .keys()
        .map(String::as_str)
        .collect()
}

fn subsetted(r: &Value) -> bool {
    r["meta"]["tag"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["code"] == "SUBSETTED"))
}

/// The definition of a top-level JSON property (`deceasedBoolean` → `deceased[x]`) in the
/// embedded tables: `(isSummary, min)`.
fn flags(resource_type: &str, key: &str) -> (bool, u32) {
    let defs = Definitions::r4();
    let path = defs
        .resolve(resource_type, key)
        .unwrap_or_else(|e| panic!("{key}: {e}"))
        .leaf()
        .element_path
        .clone();
    let rel = path.split_once('.').unwrap().1;
    let e = defs
        .elements(resource_type)
        .unwrap()
        .iter()
        .find(|e| e.path == rel)
        .unwrap();
    (e.is_summary, e.min)
}

/// The top-level keys `_summary=true` keeps of `full`, by the definition tables (and `meta`,
/// which holds the SUBSETTED tag).
fn summary_keys(full: &Value) -> BTreeSet<&str> {
    let rt = full["resourceType"].as_str().unwrap();
    let mut out: BTreeSet<&str> = keys(full)
        .into_iter()
        .filter(|k| *k == "resourceType" || matches!(flags(rt, k), (true, _) | (_, 1..)))
        .collect();
    out.insert("meta");
    out
}

/// The top-level keys `_summary=text` keeps of `full`, by the definition tables.
fn text_keys(full: &Value) -> BTreeSet<&str> {
    let rt = full["resourceType"].as_str().unwrap();
    let mut out: BTreeSet<&str> = keys(full)
        .into_iter()
        .filter(|k| matches!(*k, "resourceType" | "id" | "text") || flags(rt, k).1 > 0)
        .collect();
    out.insert("meta");
    out
}

/// `full` without its SUBSETTED tag, for comparing whole elements.
fn untagged(mut r: Value) -> Value {
    let meta = r["meta"].as_object_mut().unwrap();
    let tags = meta["tag"].as_array_mut().unwrap();
    tags.retain(|t| t["code"] != "SUBSETTED");
    if tags.is_empty() {
        meta.remove("tag");
    }
    if meta.is_empty() {
        r.as_object_mut().unwrap().remove("meta");
    }
    r
}

async fn read_modes(app: &TestApp, path: &str) -> [Value; 4] {
    let full = app.resource(path).await;
    let t = app.resource(&format!("{path}?_summary=true")).await;
    let x = app.resource(&format!("{path}?_summary=text")).await;
    let d = app.resource(&format!("{path}?_summary=data")).await;
    for r in [&t, &x, &d] {
        assert!(subsetted(r), "{}: {path}: {r}", app.dialect);
        assert_eq!(r["id"], full["id"]);
    }
    assert!(!subsetted(&full));
    [full, t, x, d]
}

#[tokio::test]
async fn summary_on_read_keeps_the_defined_elements() {
    for app in spawn_apps().await {
        // Patient: Σ identifier, active, name, telecom, gender, birthDate, deceased[x],
        // address; not maritalStatus, communication, generalPractitioner. Nothing mandatory.
        let [full, t, x, d] = read_modes(&app, "Patient/1").await;
        let want: BTreeSet<&str> = [
            "resourceType",
            "id",
            "meta",
            "active",
            "identifier",
            "name",
            "telecom",
            "gender",
            "birthDate",
            "deceasedBoolean",
            "address",
        ]
        .into();
        assert!(keys(&full).contains("maritalStatus") && keys(&full).contains("communication"));
        assert_eq!(keys(&t), want, "{}", app.dialect);
        assert_eq!(keys(&t), summary_keys(&full));
        // Data type contents are summary elements (no id or extensions in this data).
        for k in ["identifier", "name", "telecom", "address"] {
            assert_eq!(t[k], full[k], "{}: {k}", app.dialect);
        }
        assert_eq!(t["meta"]["versionId"], full["meta"]["versionId"]);
        assert_eq!(keys(&x), ["resourceType", "id", "meta"].into());
        assert_eq!(keys(&x), text_keys(&full));
        // No narrative in the mapping: data is the whole resource, tagged.
        assert_eq!(untagged(d), full);

        // Observation: status and code are mandatory; category, interpretation and
        // referenceRange are not summary elements.
        let [full, t, x, d] = read_modes(&app, "Observation/lab-1").await;
        let want: BTreeSet<&str> = [
            "resourceType",
            "id",
            "meta",
            "status",
            "code",
            "subject",
            "encounter",
            "effectiveDateTime",
            "issued",
            "valueQuantity",
        ]
        .into();
        assert!(keys(&full).contains("referenceRange") && keys(&full).contains("category"));
        assert_eq!(keys(&t), want, "{}", app.dialect);
        assert_eq!(keys(&t), summary_keys(&full));
        assert_eq!(t["code"], full["code"]);
        assert_eq!(t["valueQuantity"], full["valueQuantity"]);
        assert_eq!(
            keys(&x),
            ["resourceType", "id", "meta", "status", "code"].into()
        );
        assert_eq!(keys(&x), text_keys(&full));
        assert_eq!(x["code"], full["code"]);
        assert_eq!(untagged(d), full);

        // Components (Σ) keep their Σ children: code (1..1) and value[x].
        let [full, t, ..] = read_modes(&app, "Observation/vs-bp-1").await;
        assert_eq!(keys(&t), summary_keys(&full));
        assert!(!keys(&t).contains("category"));
        let components = t["component"].as_array().unwrap();
        assert_eq!(components.len(), 2);
        for c in components {
            assert_eq!(keys(c), ["code", "valueQuantity"].into());
        }
        assert_eq!(t["component"], full["component"]);
    }
}

#[tokio::test]
async fn summary_on_search_subsets_every_entry_and_is_echoed_in_links() {
    for app in spawn_apps().await {
        let (s, b) = app
            .get("Observation?patient=Patient/1&_summary=true&_count=3")
            .await;
        assert_eq!(s, 200, "{b}");
        crate::fhir_schema::assert_valid(&b);
        let self_url = b["link"][0]["url"].as_str().unwrap();
        assert!(self_url.contains("_summary=true"), "{self_url}");
        let next = b["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .expect("more than 3 observations of patient 1");
        let next_url = next["url"].as_str().unwrap();
        assert!(next_url.contains("_summary=true"), "{next_url}");
        let page2: Value = app
            .client
            .get(next_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for e in b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .chain(page2["entry"].as_array().unwrap())
        {
            let r = &e["resource"];
            assert!(subsetted(r), "{}: {r}", app.dialect);
            let full = app
                .resource(&format!("Observation/{}", r["id"].as_str().unwrap()))
                .await;
            assert_eq!(keys(r), summary_keys(&full), "{}: {r}", app.dialect);
        }

        // The same subset as a read.
        let (_, b) = app.get("Patient?_id=1&_summary=text").await;
        crate::fhir_schema::assert_valid(&b);
        let read = app.resource("Patient/1?_summary=text").await;
        assert_eq!(b["entry"][0]["resource"], read);
        assert!(
            b["link"][0]["url"]
                .as_str()
                .unwrap()
                .contains("_summary=text")
        );

        // count and false combine with _elements; false is the default and not echoed.
        let (s, b) = app
            .get("Patient?_id=1&_summary=false&_elements=gender")
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(
            keys(&b["entry"][0]["resource"]),
            ["resourceType", "id", "meta", "gender"].into()
        );
        assert!(!b["link"][0]["url"].as_str().unwrap().contains("_summary"));
        let (s, b) = app
            .get("Patient?_id=1&_summary=count&_elements=gender")
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["total"], 1);
    }
}
