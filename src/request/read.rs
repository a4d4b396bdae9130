//! The read interaction: `GET [base]/[type]/[id]`.

use super::subset::{Summary, check_combination, parse_elements};
use super::{FhirId, RequestError};
use crate::mapping::Mapping;

/// Parameters every interaction accepts (they shape the response, not the result).
pub const FORMAT_PARAMS: &[&str] = &["_format", "_pretty", "_elements", "_summary"];

/// A parsed read request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// The mapped resource type.
    pub resource_type: String,
    /// The logical id.
    pub id: FhirId,
    /// `_summary` (never `count`, which is for searches).
    pub summary: Summary,
    /// `_elements`: the top-level elements to return.
    pub elements: Option<Vec<String>>,
}

/// Checks that `resource_type` is mapped; the message says whether FHIR knows it at all.
pub fn check_type(mapping: &Mapping, resource_type: &str) -> Result<(), RequestError> {
    if mapping.has_type(resource_type) {
        return Ok(());
    }
    let known = crate::fhir::Definitions::r4().is_resource_type(resource_type);
    Err(RequestError::UnknownType(if known {
        format!("resource type {resource_type} is not served by this server")
    } else {
        format!("'{resource_type}' is not a FHIR R4 resource type")
    }))
}

impl ReadRequest {
    /// Parses a read from its path parts and query parameters.
    pub fn parse(
        mapping: &Mapping,
        resource_type: &str,
        id: &str,
        params: &[(String, String)],
        lenient: bool,
    ) -> Result<ReadRequest, RequestError> {
        check_type(mapping, resource_type)?;
        let id = FhirId::parse(id)?;
        if !lenient
            && let Some((name, _)) = params
                .iter()
                .find(|(n, _)| !FORMAT_PARAMS.contains(&n.as_str()))
        {
            return Err(RequestError::UnsupportedParameter(format!(
                "parameter '{name}' is not supported on read (supported: {})",
                FORMAT_PARAMS.join(", ")
            )));
        }
        let mut summary = Summary::False;
        let mut elements = None;
        for (name, value) in params {
            match name.as_str() {
                "_summary" => summary = Summary::parse(value)?,
                "_elements" => elements = Some(parse_elements(resource_type, value)?),
                _ => {}
            }
        }
        if summary == Summary::Count {
            return Err(RequestError::InvalidParameter(
                "_summary=count applies to searches only".into(),
            ));
        }
        check_combination(summary, elements.as_deref())?;
        Ok(ReadRequest {
            resource_type: resource_type.to_string(),
            id,
            summary,
            elements,
        })
    }
}
