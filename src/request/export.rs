//! Bulk Data `$export` kick-off (HL7 FHIR Bulk Data Access IG v2.0.0): its parameters, from the
//! query string or a `Parameters` body, parsed against the mapping. Pure.
//!
//! `_typeFilter` queries are parsed as searches of their type by [`SearchRequest::parse`], so
//! they support exactly what searches do, with the same errors.

use serde_json::Value as Json;

use super::compartment::patient_types;
use super::criterion::Criterion;
use super::search::{SearchOptions, SearchRequest, unsupported};
use super::{Limit, RequestError};
use crate::mapping::Mapping;
use crate::search::date::{self, DateSearch};

/// The canonical URL the CapabilityStatement `instantiates` when export is served.
pub const BULK_DATA_CAPABILITY: &str =
    "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data";

/// The definition of system-level export.
pub const EXPORT_DEFINITION: &str = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export";

/// The definition of patient-level export.
pub const PATIENT_EXPORT_DEFINITION: &str =
    "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export";

/// The output format written (the only one; its accepted aliases are in [`parse`]).
pub const NDJSON: &str = "application/fhir+ndjson";

/// Which resources an export is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExportLevel {
    /// `[base]/$export`: every mapped type.
    System,
    /// `[base]/Patient/$export`: the types of the Patient compartment.
    Patient,
}

/// A parsed kick-off request.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRequest {
    /// System or patient level.
    pub level: ExportLevel,
    /// The types to export, in mapping order.
    pub types: Vec<String>,
    /// Whether `_type` named the types (else they are every type of the level).
    pub explicit_types: bool,
    /// `_since` as sent.
    pub since: Option<String>,
    /// `_since` as the `_lastUpdated` range it asks for (`ge` the instant).
    pub since_date: Option<DateSearch>,
    /// `_typeFilter` per type: the criteria of each of its queries, in request order (a
    /// resource is exported when it matches any of them).
    pub filters: Vec<(String, Vec<Vec<Criterion>>)>,
    /// `patient` (POST only): the ids of the patients whose compartments a patient-level
    /// export is restricted to, in request order, without repeats (empty: every patient).
    pub patients: Vec<String>,
    /// `_elements`: per element, the type it is limited to (`Observation.code`) or `None`.
    pub elements: Vec<(Option<String>, String)>,
    /// Parameters ignored under lenient handling, with the reason.
    pub ignored: Vec<(String, String)>,
}

impl ExportRequest {
    /// The criteria of each `_typeFilter` of `resource_type` (ORed; none: no filter).
    pub fn filters_of(&self, resource_type: &str) -> &[Vec<Criterion>] {
        self.filters
            .iter()
            .find(|(t, _)| t == resource_type)
            .map(|(_, c)| c.as_slice())
            .unwrap_or(&[])
    }

    /// The `_elements` that apply to `resource_type` (`None`: the whole resource).
    pub fn elements_of(&self, resource_type: &str) -> Option<Vec<String>> {
        if self.elements.is_empty() {
            return None;
        }
        Some(
            self.elements
                .iter()
                .filter(|(t, _)| t.as_deref().is_none_or(|t| t == resource_type))
                .map(|(_, e)| e.clone())
                .collect(),
        )
    }
}

/// Parses the kick-off parameters of an export at `level` (`opts.lenient`: unsupported
/// parameters are ignored and reported instead of refused): `params` from the URL, `body` from
/// a POST `Parameters` body (the only place `patient` is accepted, as the IG defines it).
pub fn parse(
    mapping: &Mapping,
    opts: &SearchOptions,
    level: ExportLevel,
    params: &[(String, String)],
    body: &[(String, String)],
) -> Result<ExportRequest, RequestError> {
    let lenient = opts.lenient;
    // The URL's parameters were counted on admission; a body's are counted here, by the same
    // limits (each `_typeFilter` query is also checked as the search it is).
    opts.limits.check_params(body)?;
    let all: Vec<String> = match level {
        ExportLevel::System => mapping.resource_types().map(str::to_string).collect(),
        ExportLevel::Patient => {
            super::read::check_type(mapping, "Patient")?;
            patient_types(mapping)
        }
    };
    let mut req = ExportRequest {
        level,
        types: all.clone(),
        explicit_types: false,
        since: None,
        since_date: None,
        filters: Vec::new(),
        patients: Vec::new(),
        elements: Vec::new(),
        ignored: Vec::new(),
    };
    if params.iter().any(|(n, _)| n == "patient") {
        return Err(RequestError::InvalidParameter(
            "patient is accepted only in the Parameters body of a POST kick-off (as valueReference Patient/[id])".into(),
        ));
    }
    let mut type_filters: Vec<&str> = Vec::new();
    for (name, value) in params.iter().chain(body) {
        match name.as_str() {
            "_outputFormat" => {
                if !matches!(
                    value.as_str(),
                    "application/fhir+ndjson" | "application/ndjson" | "ndjson"
                ) {
                    return Err(RequestError::InvalidParameter(format!(
                        "_outputFormat '{value}' is not supported (supported: application/fhir+ndjson, application/ndjson, ndjson)"
                    )));
                }
            }
            "_since" => {
                if chrono::DateTime::parse_from_rfc3339(value).is_err() {
                    return Err(RequestError::InvalidParameter(format!(
                        "_since must be an instant with a time zone, e.g. 2024-01-31T08:00:00Z, not '{value}'"
                    )));
                }
                let d = date::parse(&format!("ge{value}"), mapping.timezone)
                    .map_err(|e| RequestError::InvalidParameter(format!("_since: {e}")))?;
                req.since = Some(value.clone());
                req.since_date = Some(d);
            }
            "_type" => {
                let mut wanted: Vec<&str> = Vec::new();
                for t in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    if all.iter().any(|a| a == t) {
                        wanted.push(t);
                        continue;
                    }
                    let why = format!(
                        "_type: {t} is not a type this export serves (served: {})",
                        all.join(", ")
                    );
                    unsupported(lenient, &mut req.ignored, "_type", why)?;
                }
                if !req.explicit_types {
                    req.types.clear();
                    req.explicit_types = true;
                }
                for t in all.iter().filter(|a| wanted.contains(&a.as_str())) {
                    if !req.types.contains(t) {
                        req.types.push(t.clone());
                    }
                }
                // Keep mapping order across several `_type` parameters.
                req.types.sort_by_key(|t| all.iter().position(|a| a == t));
            }
            "_typeFilter" => type_filters.push(value),
            "_elements" => {
                for e in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                    match e.split_once('.') {
                        Some((t, el)) if all.iter().any(|a| a == t) && !el.contains('.') => {
                            req.elements.push((Some(t.to_string()), el.to_string()));
                        }
                        None => req.elements.push((None, e.to_string())),
                        Some(_) => {
                            let why = format!(
                                "_elements: '{e}' is not an element of a top-level element of an exported type (e.g. Observation.code or code)"
                            );
                            unsupported(lenient, &mut req.ignored, "_elements", why)?;
                        }
                    }
                }
            }
            "patient" if level == ExportLevel::Patient => {
                let id = patient_id(opts.base_url, value).ok_or_else(|| {
                    RequestError::InvalidParameter(format!(
                        "patient '{value}' is not a reference to a Patient (Patient/[id])"
                    ))
                })?;
                if !req.patients.iter().any(|p| p == id) {
                    req.patients.push(id.to_string());
                }
            }
            "_format" | "_pretty" => {}
            other => {
                let why = format!(
                    "parameter '{other}' is not supported by this $export (supported: _outputFormat, _since, _type, _typeFilter, _elements, and patient at patient level)"
                );
                unsupported(lenient, &mut req.ignored, other, why)?;
            }
        }
    }
    if req.types.is_empty() {
        return Err(RequestError::InvalidParameter(
            "_type names no type this export serves".into(),
        ));
    }
    // The patients are one OR list in every statement: bounded like a parameter's values.
    opts.limits
        .check(Limit::ValuesPerParam, req.patients.len())
        .map_err(|e| e.in_param("patient"))?;
    for f in type_filters {
        let (t, criteria) = match type_filter(mapping, opts, f) {
            Ok(c) => c,
            Err(RequestError::UnsupportedParameter(why)) if lenient => {
                req.ignored
                    .push(("_typeFilter".into(), format!("_typeFilter '{f}': {why}")));
                continue;
            }
            Err(e) => return Err(e),
        };
        if !req.types.contains(&t) {
            let why = format!("_typeFilter '{f}': {t} is not one of the exported types");
            unsupported(lenient, &mut req.ignored, "_typeFilter", why)?;
            continue;
        }
        match req.filters.iter_mut().find(|(x, _)| *x == t) {
            Some((_, sets)) => sets.push(criteria),
            None => req.filters.push((t, vec![criteria])),
        }
    }
    Ok(req)
}

/// The id of the patient `reference` names: `Patient/[id]`, or the same under this server's
/// base URL; `None` for anything else.
fn patient_id<'a>(base_url: &str, reference: &'a str) -> Option<&'a str> {
    let local = reference
        .strip_prefix(base_url)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(reference);
    let id = local.strip_prefix("Patient/")?;
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    valid.then_some(id)
}

/// One `_typeFilter` (`Observation?code=...`): its type and the criteria of its query, parsed
/// as a search of that type (search criteria only: no result or paging parameters).
fn type_filter(
    mapping: &Mapping,
    opts: &SearchOptions,
    filter: &str,
) -> Result<(String, Vec<Criterion>), RequestError> {
    let Some((t, query)) = filter.split_once('?') else {
        return Err(RequestError::InvalidParameter(format!(
            "_typeFilter '{filter}' must be a type and a search query, e.g. Observation?status=final"
        )));
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let strict = SearchOptions {
        lenient: false,
        ..*opts
    };
    let search = SearchRequest::parse(mapping, &strict, t, &params)?;
    let bare = SearchRequest {
        criteria: Vec::new(),
        ..search.clone()
    };
    if bare != SearchRequest::new(t, bare.count) || params.iter().any(|(n, _)| n == "_count") {
        return Err(RequestError::UnsupportedParameter(format!(
            "_typeFilter '{filter}': only search criteria are supported in a _typeFilter (no _count, _sort, _include, _summary, _elements...)"
        )));
    }
    Ok((t.to_string(), search.criteria))
}

/// The `name=value` pairs of a kick-off `Parameters` body (POST): every `valueX` as text
/// (`_type` and `_typeFilter` may repeat).
pub fn parameters_body(body: &Json) -> Result<Vec<(String, String)>, RequestError> {
    let bad = |why: &str| RequestError::InvalidParameter(format!("the $export body {why}"));
    if body.get("resourceType").and_then(Json::as_str) != Some("Parameters") {
        return Err(bad("must be a Parameters resource"));
    }
    let mut out = Vec::new();
    let Some(list) = body.get("parameter") else {
        return Ok(out);
    };
    let list = list
        .as_array()
        .ok_or_else(|| bad("has a parameter that is not a list"))?;
    for p in list {
        let name = p
            .get("name")
            .and_then(Json::as_str)
            .ok_or_else(|| bad("has a parameter without a name"))?;
        let value = p.as_object().and_then(|o| {
            o.iter()
                .find(|(k, _)| k.starts_with("value"))
                .map(|(_, v)| v)
        });
        let text = match value {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Object(o)) if o.contains_key("reference") => {
                o["reference"].as_str().unwrap_or_default().to_string()
            }
            Some(v) => v.to_string(),
            None => {
                return Err(bad(&format!("parameter '{name}' has no value[x]")));
            }
        };
        out.push((name.to_string(), text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::sample;

    fn opts(lenient: bool) -> SearchOptions<'static> {
        SearchOptions {
            base_url: "http://h/fhir",
            max_count: 1000,
            max_chain_depth: 3,
            lenient,
            limits: Default::default(),
        }
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parameters_are_parsed_and_checked() {
        let m = sample();
        let r = parse(&m, &opts(false), ExportLevel::System, &[], &[]).unwrap();
        assert_eq!(
            r.types,
            m.resource_types().map(str::to_string).collect::<Vec<_>>()
        );
        let r = parse(
            &m,
            &opts(false),
            ExportLevel::Patient,
            &p(&[
                ("_type", "Observation,Patient"),
                ("_outputFormat", "ndjson"),
                ("_since", "2020-01-01T00:00:00Z"),
                ("_typeFilter", "Observation?status=final"),
                ("_elements", "Observation.status,id"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(r.types, ["Patient", "Observation"]);
        assert!(r.since_date.is_some());
        assert_eq!(
            r.filters_of("Observation"),
            [vec![r.filters_of("Observation")[0][0].clone()]]
        );
        assert!(r.filters_of("Patient").is_empty());
        assert_eq!(
            r.elements_of("Observation").unwrap(),
            ["status".to_string(), "id".to_string()]
        );
        assert_eq!(r.elements_of("Patient").unwrap(), ["id".to_string()]);
        // Refused: bad values always, unsupported parameters when strict.
        for bad in [
            ("_outputFormat", "text/csv"),
            ("_since", "2020-01-01"),
            ("_typeFilter", "Observation"),
            ("_typeFilter", "Observation?nope=1"),
            ("_typeFilter", "Observation?_count=3"),
            ("_typeFilter", "Practitioner?name=x"),
            ("_type", "Nope"),
            ("patient", "Patient/1"),
        ] {
            let e = parse(&m, &opts(false), ExportLevel::Patient, &p(&[bad]), &[]);
            assert!(e.is_err(), "{bad:?}");
        }
        // Lenient: ignored and reported.
        let r = parse(
            &m,
            &opts(true),
            ExportLevel::System,
            &p(&[
                ("includeAssociatedData", "LatestProvenanceResources"),
                ("_typeFilter", "Observation?nope=1"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(r.ignored.len(), 2, "{:?}", r.ignored);
        assert!(r.filters.is_empty());
    }

    #[test]
    fn several_type_filters_of_a_type_are_kept_in_order() {
        let m = sample();
        let r = parse(
            &m,
            &opts(false),
            ExportLevel::System,
            &p(&[
                ("_typeFilter", "Observation?status=final"),
                ("_typeFilter", "Patient?gender=female"),
                ("_typeFilter", "Observation?status=amended&code=x"),
            ]),
            &[],
        )
        .unwrap();
        let sets = r.filters_of("Observation");
        assert_eq!(sets.len(), 2);
        assert_eq!((sets[0].len(), sets[1].len()), (1, 2));
        assert_eq!(sets[1][0].link, "status=amended");
        assert_eq!(r.filters_of("Patient").len(), 1);
    }

    #[test]
    fn patient_is_taken_from_a_post_body_at_patient_level_only() {
        let m = sample();
        let body = p(&[
            ("patient", "Patient/7"),
            ("patient", "http://h/fhir/Patient/8"),
            ("patient", "Patient/7"),
        ]);
        let r = parse(&m, &opts(false), ExportLevel::Patient, &[], &body).unwrap();
        assert_eq!(r.patients, ["7", "8"]);
        // Not in the URL (GET), even when lenient.
        for lenient in [false, true] {
            let e = parse(&m, &opts(lenient), ExportLevel::Patient, &body, &[]);
            assert!(e.is_err());
        }
        // Not a Patient reference.
        for bad in ["Observation/1", "Patient/", "Patient/a b", "7"] {
            let e = parse(
                &m,
                &opts(false),
                ExportLevel::Patient,
                &[],
                &p(&[("patient", bad)]),
            );
            assert!(e.is_err(), "{bad}");
        }
        // At most --max-values-per-param patients.
        let many: Vec<(String, String)> = (0..=opts(false).limits.max_values_per_param)
            .map(|i| ("patient".to_string(), format!("Patient/{i}")))
            .collect();
        let e = parse(&m, &opts(false), ExportLevel::Patient, &[], &many).unwrap_err();
        assert!(matches!(e, RequestError::LimitExceeded { .. }), "{e:?}");
        // Not at system level: refused, or ignored under lenient handling.
        assert!(parse(&m, &opts(false), ExportLevel::System, &[], &body).is_err());
        let r = parse(&m, &opts(true), ExportLevel::System, &[], &body).unwrap();
        assert!(r.patients.is_empty() && r.ignored.len() == 3);
    }

    #[test]
    fn a_parameters_body_becomes_pairs() {
        let body = serde_json::json!({
            "resourceType": "Parameters",
            "parameter": [
                {"name": "_type", "valueString": "Patient"},
                {"name": "_since", "valueInstant": "2020-01-01T00:00:00Z"},
                {"name": "patient", "valueReference": {"reference": "Patient/1"}},
            ]
        });
        assert_eq!(
            parameters_body(&body).unwrap(),
            p(&[
                ("_type", "Patient"),
                ("_since", "2020-01-01T00:00:00Z"),
                ("patient", "Patient/1")
            ])
        );
        assert!(parameters_body(&serde_json::json!({"resourceType": "Bundle"})).is_err());
    }
}
