//! Subsetting a resource for `_summary` and `_elements`, following the FHIR R4 definitions.
//!
//! A subsetted resource carries the `SUBSETTED` tag in `meta.tag`, as the specification asks,
//! so that nobody mistakes it for the whole resource.

use serde_json::{Map, Value as Json, json};

use crate::fhir::{Definitions, Scope};
use crate::request::subset::Summary;

type Object = Map<String, Json>;

/// Applies `_summary` (when it subsets) or else `_elements` (when given) to a resource.
pub fn subset(resource: &mut Object, summary: Summary, elements: Option<&[String]>) {
    if summary.subsets() {
        apply_summary(resource, summary);
    } else if let Some(e) = elements {
        apply_elements(resource, e);
    }
}

/// `_summary=true|text|data`; other values leave the resource alone.
///
/// - `true`: at every level, the elements whose definition says `isSummary`, plus the
///   mandatory ones (min ≥ 1); inside data types too (so `Attachment.data`, and the `id` and
///   `extension` of data types, which are not summary elements, go). A primitive's `id` and
///   extensions (`_birthDate`) are `Element.id` / `Element.extension`, not summary elements
///   either.
/// - `text`: `text`, `id`, `meta` and the top-level mandatory elements, whole.
/// - `data`: everything but `text`.
pub fn apply_summary(resource: &mut Object, summary: Summary) {
    let defs = Definitions::r4();
    let scope = resource
        .get("resourceType")
        .and_then(Json::as_str)
        .and_then(|t| defs.scope(t));
    match (summary, scope) {
        (Summary::True, Some(scope)) => {
            keep_summary(defs, scope, resource);
        }
        (Summary::Text, Some(scope)) => resource.retain(|k, _| {
            matches!(k.as_str(), "resourceType" | "id" | "meta" | "text")
                || defs.child(scope, k).is_some_and(|c| c.element.min > 0)
        }),
        (Summary::Data, _) => {
            resource.remove("text");
        }
        _ => return,
    }
    mark_subsetted(resource);
}

/// Keeps the summary and mandatory elements of `obj`, recursively.
fn keep_summary(defs: &Definitions, scope: Scope<'_>, obj: &mut Object) {
    obj.retain(|k, v| {
        if k == "resourceType" {
            return true;
        }
        let Some(child) = defs.child(scope, k) else {
            return false;
        };
        if !(child.element.is_summary || child.element.min > 0) {
            return false;
        }
        if let Some(inner) = child.scope {
            match v {
                Json::Object(o) => keep_summary(defs, inner, o),
                Json::Array(items) => {
                    for item in items.iter_mut().filter_map(Json::as_object_mut) {
                        keep_summary(defs, inner, item);
                    }
                }
                _ => {}
            }
        }
        true
    });
}

/// Keeps only the `elements` of a resource, and what it must keep: `resourceType`, `id`,
/// `meta` and its mandatory top-level elements (the specification: servers "SHOULD always
/// return mandatory elements whether they are requested or not"), marking it SUBSETTED.
pub fn apply_elements(resource: &mut Object, elements: &[String]) {
    let defs = Definitions::r4();
    let scope = resource
        .get("resourceType")
        .and_then(Json::as_str)
        .and_then(|t| defs.scope(t));
    resource.retain(|k, _| {
        // A primitive's `_name` (its id and extensions) goes with `name`.
        let name = k.strip_prefix('_').unwrap_or(k);
        matches!(name, "resourceType" | "id" | "meta")
            || elements.iter().any(|e| e == name)
            || scope.is_some_and(|s| defs.child(s, name).is_some_and(|c| c.element.min > 0))
    });
    mark_subsetted(resource);
}

/// Adds the `SUBSETTED` tag to `meta.tag`.
fn mark_subsetted(resource: &mut Object) {
    let meta = resource.entry("meta").or_insert_with(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        let tags = m.entry("tag").or_insert_with(|| json!([]));
        if let Some(t) = tags.as_array_mut() {
            t.push(json!({
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                "code": "SUBSETTED",
                "display": "subsetted"
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Json) -> Object {
        v.as_object().unwrap().clone()
    }

    fn keys(o: &Object) -> Vec<&str> {
        o.keys().map(String::as_str).collect()
    }

    fn observation() -> Object {
        obj(json!({
            "resourceType": "Observation",
            "id": "x",
            "meta": {"lastUpdated": "2020-01-01T00:00:00Z"},
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
            "status": "final",
            "_status": {"extension": [{"url": "http://e", "valueString": "s"}]},
            "category": [{"text": "lab"}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "1", "id": "c1"}]},
            "valueQuantity": {"value": 1, "extension": [{"url": "http://e", "valueString": "q"}]},
            "interpretation": [{"text": "H"}],
            "component": [{
                "code": {"text": "c"},
                "valueQuantity": {"value": 2},
                "interpretation": [{"text": "L"}],
                "referenceRange": [{"text": "r"}]
            }],
            "referenceRange": [{"text": "r"}]
        }))
    }

    fn tagged(o: &Object) -> bool {
        o["meta"]["tag"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["code"] == "SUBSETTED"))
    }

    #[test]
    fn summary_true_follows_is_summary_at_every_level() {
        let mut o = observation();
        apply_summary(&mut o, Summary::True);
        assert_eq!(
            keys(&o),
            [
                "resourceType",
                "id",
                "meta",
                "status",
                "code",
                "valueQuantity",
                "component"
            ]
        );
        // Data types: their id and extensions are not summary elements.
        assert_eq!(
            o["code"],
            json!({"coding": [{"system": "http://loinc.org", "code": "1"}]})
        );
        assert_eq!(o["valueQuantity"], json!({"value": 1}));
        // Backbone elements: their own flags.
        assert_eq!(
            o["component"],
            json!([{"code": {"text": "c"}, "valueQuantity": {"value": 2}}])
        );
        assert!(tagged(&o));
        assert_eq!(o["meta"]["lastUpdated"], "2020-01-01T00:00:00Z");
    }

    #[test]
    fn summary_true_keeps_mandatory_elements_that_are_not_summary() {
        // AuditEvent.source (1..1) is not marked isSummary.
        let mut o = obj(json!({
            "resourceType": "AuditEvent",
            "type": {"code": "rest"},
            "recorded": "2020-01-01T00:00:00Z",
            "source": {"observer": {"reference": "Device/1"}},
            "period": {"start": "2020-01-01"}
        }));
        apply_summary(&mut o, Summary::True);
        assert_eq!(
            keys(&o),
            ["resourceType", "type", "recorded", "source", "meta"]
        );
    }

    #[test]
    fn summary_text_keeps_text_and_top_level_mandatory_elements() {
        let mut o = observation();
        apply_summary(&mut o, Summary::Text);
        assert_eq!(
            keys(&o),
            ["resourceType", "id", "meta", "text", "status", "code"]
        );
        assert_eq!(o["code"]["coding"][0]["id"], "c1");
        assert!(tagged(&o));
    }

    #[test]
    fn summary_data_drops_text_only() {
        let mut o = observation();
        let mut want = observation();
        want.remove("text");
        apply_summary(&mut o, Summary::Data);
        assert!(tagged(&o));
        o["meta"].as_object_mut().unwrap().remove("tag");
        assert_eq!(o, want);
    }

    #[test]
    fn elements_keep_the_mandatory_elements_too() {
        let mut o = observation();
        apply_elements(&mut o, &["category".to_string()]);
        // status (with its `_status`) and code are mandatory in Observation (1..1).
        let mut k = keys(&o);
        k.sort();
        assert_eq!(
            k,
            [
                "_status",
                "category",
                "code",
                "id",
                "meta",
                "resourceType",
                "status"
            ]
        );
        assert!(tagged(&o));
    }

    #[test]
    fn no_subsetting_leaves_the_resource_alone() {
        for s in [Summary::False, Summary::Count] {
            let mut o = observation();
            subset(&mut o, s, None);
            assert_eq!(o, observation());
        }
        let mut o = observation();
        subset(
            &mut o,
            Summary::False,
            Some(&["interpretation".to_string()]),
        );
        assert_eq!(
            keys(&o),
            [
                "resourceType",
                "id",
                "meta",
                "status",
                "_status",
                "code",
                "interpretation"
            ]
        );
        assert!(tagged(&o));
    }
}
