//! `GET [base]/Patient/[id]/$everything`: the operation's parameters. Pure.

use super::compartment::{patient_types, unreachable_types};
use super::search::DEFAULT_COUNT;
use super::{FhirId, RequestError};
use crate::mapping::Mapping;
use crate::search::date::{self, DateSearch};

/// The canonical URL of the operation's definition.
pub const OPERATION_DEFINITION: &str = "http://hl7.org/fhir/OperationDefinition/Patient-everything";

/// A parsed `$everything`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EverythingRequest {
    /// The patient.
    pub id: FhirId,
    /// `_since`: only resources updated at or after this instant (as sent).
    pub since: Option<String>,
    /// `_since` as the `_lastUpdated` range it asks for (`ge` the instant).
    pub since_date: Option<DateSearch>,
    /// The types to return, in the order they are returned (Patient first).
    pub types: Vec<String>,
    /// `_type` as sent (normalized), when given.
    pub type_param: Option<String>,
    /// Page size.
    pub count: usize,
    /// The paging cursor of a next link.
    pub cursor: Option<String>,
    /// Parameters ignored under lenient handling, with the reason.
    pub ignored: Vec<(String, String)>,
}

impl EverythingRequest {
    /// Parses the operation on `Patient/id`.
    pub fn parse(
        mapping: &Mapping,
        id: &str,
        params: &[(String, String)],
        lenient: bool,
        max_count: usize,
    ) -> Result<EverythingRequest, RequestError> {
        super::read::check_type(mapping, "Patient")?;
        let all = patient_types(mapping);
        let mut req = EverythingRequest {
            id: FhirId::parse(id)?,
            since: None,
            since_date: None,
            types: all.clone(),
            type_param: None,
            count: DEFAULT_COUNT.min(max_count),
            cursor: None,
            ignored: Vec::new(),
        };
        for (name, value) in params {
            match name.as_str() {
                "_since" => {
                    if chrono::DateTime::parse_from_rfc3339(value).is_err() {
                        return Err(RequestError::InvalidParameter(format!(
                            "_since must be an instant with a time zone, e.g. 2024-01-31T08:00:00Z, not '{value}'"
                        )));
                    }
                    let date = date::parse(&format!("ge{value}"), mapping.timezone)
                        .map_err(|e| RequestError::InvalidParameter(format!("_since: {e}")))?;
                    req.since = Some(value.clone());
                    req.since_date = Some(date);
                }
                "_type" => {
                    let wanted: Vec<&str> = value
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .collect();
                    for t in &wanted {
                        if all.iter().any(|a| a == t) {
                            continue;
                        }
                        let why = unreachable_types(mapping)
                            .into_iter()
                            .find(|u| u.resource_type == *t)
                            .map(|u| format!(" ({})", u.advice()))
                            .unwrap_or_default();
                        return Err(RequestError::InvalidParameter(format!(
                            "_type: {t} is not a type of the Patient compartment served here (served: {}){why}",
                            all.join(", ")
                        )));
                    }
                    req.types = all
                        .iter()
                        .filter(|a| wanted.contains(&a.as_str()))
                        .cloned()
                        .collect();
                    req.type_param = Some(req.types.join(","));
                }
                "_count" => {
                    let n: usize = value.parse().map_err(|_| {
                        RequestError::InvalidParameter(format!(
                            "_count must be a whole number, not '{value}'"
                        ))
                    })?;
                    if n == 0 || n > max_count {
                        return Err(RequestError::InvalidParameter(format!(
                            "_count must be between 1 and {max_count}"
                        )));
                    }
                    req.count = n;
                }
                "_cursor" => req.cursor = Some(value.clone()),
                "_format" | "_pretty" => {}
                other => {
                    let why = format!(
                        "parameter '{other}' is not supported by $everything (supported: _since, _type, _count)"
                    );
                    if lenient {
                        req.ignored.push((other.to_string(), why));
                    } else {
                        return Err(RequestError::UnsupportedParameter(why));
                    }
                }
            }
        }
        Ok(req)
    }

    /// The normalized parameters (for links and the cursor's binding).
    pub fn link_params(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(s) = &self.since {
            out.push(format!("_since={s}"));
        }
        if let Some(t) = &self.type_param {
            out.push(format!("_type={t}"));
        }
        out.push(format!("_count={}", self.count));
        out
    }
}
