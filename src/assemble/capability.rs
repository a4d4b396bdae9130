//! The CapabilityStatement, generated from the mapping: it lists exactly what works.

use serde_json::{Value as Json, json};

use crate::fhir::SearchParamType;
use crate::mapping::references::links_into;
use crate::mapping::{Mapping, SearchTarget};
use crate::request::Handling;
use crate::request::compartment::{PATIENT_COMPARTMENT, patient_types};
use crate::request::everything::OPERATION_DEFINITION;
use crate::request::include::reference_params;
use crate::search::modifier::{declared_prefixes, modifiers_of, searchable};

/// Facts about this server instance that go into the statement.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// Base URL of the FHIR endpoint, e.g. `http://127.0.0.1:8080/fhir`.
    pub base_url: String,
    /// When the server started (RFC 3339), used as the statement's date.
    pub started: String,
    /// Most resources a chain or `_has` may cross.
    pub max_chain_depth: usize,
    /// How unknown parameters are handled when a request does not say.
    pub handling: Handling,
}

/// The `_include` values a search on `rt` takes (`rt:param` for each reference parameter,
/// and `rt:*`), and its `_revinclude` values (`Type:param` for each reference parameter of any
/// type that refers to `rt`).
fn include_lists(mapping: &Mapping, rt: &str) -> (Vec<String>, Vec<String>) {
    let mut includes: Vec<String> = reference_params(mapping, rt)
        .into_iter()
        .map(|p| format!("{rt}:{p}"))
        .collect();
    if !includes.is_empty() {
        includes.push(format!("{rt}:*"));
    }
    let mut revincludes: Vec<String> = Vec::new();
    for l in links_into(mapping, rt) {
        let v = format!("{}:{}", l.from_type(), l.code);
        if !revincludes.contains(&v) {
            revincludes.push(v);
        }
    }
    (includes, revincludes)
}

/// Sets `rest.security` of the CapabilityStatement `statement`.
pub fn set_security(statement: &mut Json, security: Json) {
    if let Some(rest) = statement
        .get_mut("rest")
        .and_then(|r| r.get_mut(0))
        .and_then(Json::as_object_mut)
    {
        rest.insert("security".into(), security);
    }
}

/// Advertises Bulk Data `$export` in the CapabilityStatement `statement`: it instantiates the
/// Bulk Data server capability, `rest.operation` lists system-level `export`, and Patient's
/// operations `export` (when Patient is served).
pub fn set_export(statement: &mut Json) {
    use crate::request::export::{
        BULK_DATA_CAPABILITY, EXPORT_DEFINITION, PATIENT_EXPORT_DEFINITION,
    };
    statement["instantiates"] = json!([BULK_DATA_CAPABILITY]);
    let Some(rest) = statement.get_mut("rest").and_then(|r| r.get_mut(0)) else {
        return;
    };
    rest["operation"] = json!([{
        "name": "export",
        "definition": EXPORT_DEFINITION,
        "documentation": "Bulk Data system-level export (NDJSON): every mapped type; `_outputFormat`, `_since`, `_type`, `_typeFilter` (several per type are ORed) and `_elements` are supported. Needs `Prefer: respond-async`.",
    }]);
    let patient = rest["resource"]
        .as_array_mut()
        .and_then(|rs| rs.iter_mut().find(|r| r["type"] == "Patient"));
    if let Some(p) = patient {
        let op = json!({
            "name": "export",
            "definition": PATIENT_EXPORT_DEFINITION,
            "documentation": "Bulk Data patient-level export (NDJSON): the types of the Patient compartment; the system-level parameters, and `patient` (POST Parameters body only) to restrict it to those patients' compartments.",
        });
        match p["operation"].as_array_mut() {
            Some(ops) => ops.push(op),
            None => p["operation"] = json!([op]),
        }
    }
}

/// The CapabilityStatement for `mapping`.
pub fn capability_statement(mapping: &Mapping, info: &ServerInfo) -> Json {
    let in_compartment = patient_types(mapping);
    let resources: Vec<Json> = mapping
        .resource_types()
        .map(|rt| {
            let sources: Vec<_> = mapping.sources_of(rt).collect();
            let versioned = sources.iter().all(|s| s.version.is_some());
            let modified = sources.iter().all(|s| s.last_updated.is_some());
            let conditional_read = match (versioned, modified) {
                (true, true) => "full-support",
                (false, true) => "modified-since",
                (true, false) => "not-match",
                (false, false) => "not-supported",
            };
            let mut params: Vec<Json> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for d in sources.iter().flat_map(|s| &s.search) {
                if !searchable(d.param_type) || !seen.insert(d.code.clone()) {
                    continue;
                }
                let modifiers = modifiers_of(mapping, rt, &d.code);
                let mut doc = if modifiers.is_empty() {
                    "No modifiers.".to_string()
                } else {
                    format!("Modifiers: {}.", modifiers.join(", "))
                };
                if declared_prefixes(d) {
                    doc.push_str(" Prefixes: eq, ne, gt, lt, ge, le, sa, eb, ap.");
                }
                if d.param_type == SearchParamType::Reference {
                    doc.push_str(&reference_doc(mapping, rt, &d.code, info.max_chain_depth));
                }
                if d.param_type == SearchParamType::Uri {
                    doc.push_str(" Exact and case-sensitive; :below and :above take URLs.");
                }
                if let Some(SearchTarget::Composite(ct)) = d.targets.first() {
                    let parts: Vec<String> = ct
                        .components
                        .iter()
                        .map(|c| format!("{} ({})", c.code, c.param_type))
                        .collect();
                    doc.push_str(&format!(
                        " Values: {}, separated by $, matched in the same repetition.",
                        parts.join(" $ ")
                    ));
                }
                if sources.len() > 1
                    && sources
                        .iter()
                        .any(|s| !s.search.iter().any(|x| x.code == d.code))
                {
                    doc.push_str(
                        " Not every source of this type declares it; those match nothing.",
                    );
                }
                params.push(json!({
                    "name": d.code,
                    "definition": d.definition,
                    "type": d.param_type.as_str(),
                    "documentation": doc,
                }));
            }
            let mut interactions = vec![json!({"code": "read"})];
            if !params.is_empty() {
                interactions.push(json!({"code": "search-type"}));
            }
            let (includes, revincludes) = include_lists(mapping, rt);
            let mut resource = json!({
                "type": rt,
                "profile": format!("http://hl7.org/fhir/StructureDefinition/{rt}"),
                "interaction": interactions,
                "searchParam": params,
                "versioning": if versioned { "versioned" } else { "no-version" },
                "readHistory": false,
                "updateCreate": false,
                "conditionalCreate": false,
                "conditionalRead": conditional_read,
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
            });
            let mut docs = Vec::new();
            let has = reverse_chains(mapping, rt);
            if !has.is_empty() {
                docs.push(format!(
                    "Reverse chaining (`_has`, at most {} levels): {}.",
                    info.max_chain_depth,
                    has.join(", ")
                ));
            }
            if in_compartment.iter().any(|t| t == rt) && rt != "Patient" {
                docs.push(format!(
                    "Searchable in the Patient compartment: `Patient/[id]/{rt}?...`."
                ));
            }
            if !docs.is_empty() {
                resource["documentation"] = json!(docs.join(" "));
            }
            if rt == "Patient" && in_compartment.len() > 1 {
                resource["operation"] = json!([{
                    "name": "everything",
                    "definition": OPERATION_DEFINITION,
                    "documentation": format!(
                        "The patient and every resource of their compartment served here ({}), paged, with the resources they refer to outside it; `_since`, `_type` and `_count` are supported.",
                        in_compartment.join(", ")
                    ),
                }]);
            }
            if !includes.is_empty() {
                resource["searchInclude"] = json!(includes);
            }
            if !revincludes.is_empty() {
                resource["searchRevInclude"] = json!(revincludes);
            }
            resource
        })
        .collect();
    let mut rest = json!({
        "mode": "server",
        "documentation": handling_doc(info.handling),
        "resource": resources,
    });
    if in_compartment.len() > 1 {
        rest["compartment"] = json!([PATIENT_COMPARTMENT]);
    }
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": info.started,
        "publisher": "fhir-facade",
        "kind": "instance",
        "software": {
            "name": "fhir-facade",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "implementation": {
            "description": "Read-only FHIR R4 façade over a relational database",
            "url": info.base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json", "xml", "application/fhir+xml"],
        "rest": [rest],
    })
}

/// How unknown and unsupported parameters are handled (FHIR search §3.1.1.4).
fn handling_doc(default: Handling) -> String {
    let (other, what) = match default {
        Handling::Lenient => (
            Handling::Strict,
            "unknown or unsupported search parameters are ignored, left out of the `self` link and reported in an OperationOutcome entry of the Bundle",
        ),
        Handling::Strict => (
            Handling::Lenient,
            "a request with an unknown or unsupported parameter is refused with a 400 OperationOutcome naming it",
        ),
    };
    format!(
        "Default handling: {default} ({what}); `Prefer: handling={other}` asks for the other. Unsupported modifiers and invalid values are refused (400) either way. `_count=0` answers the total only, like `_summary=count`."
    )
}

/// What a reference parameter's documentation adds: where it can be chained to.
fn reference_doc(mapping: &Mapping, rt: &str, code: &str, depth: usize) -> String {
    let targets = mapping.reference_types(rt, code);
    if targets.is_empty() || depth == 0 {
        return String::new();
    }
    let mut doc = format!(
        " Chaining to {} (e.g. `{code}:{}.{}`), at most {depth} levels.",
        targets.join(", "),
        targets[0],
        crate::request::search::declared(mapping, &targets[0])
            .into_iter()
            .find(|p| p != "_id" && p != "_lastUpdated")
            .unwrap_or_else(|| "_id".into())
    );
    if targets
        .iter()
        .any(|t| mapping.param_type(t, "identifier") == Some(SearchParamType::Token))
    {
        doc.push_str(&format!(
            " `{code}:identifier=system|value` matches the referenced resource's identifier."
        ));
    }
    doc
}

/// `_has:Type:param:` prefixes that reach `rt`.
fn reverse_chains(mapping: &Mapping, rt: &str) -> Vec<String> {
    let mut out = Vec::new();
    for t in mapping.resource_types() {
        for code in crate::request::search::declared(mapping, t) {
            if mapping.reference_types(t, &code).iter().any(|x| x == rt) {
                out.push(format!("`_has:{t}:{code}:[parameter]`"));
            }
        }
    }
    out
}
