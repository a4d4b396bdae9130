//! Reference search (<http://hl7.org/fhir/R4/search.html#reference>): `Type/id`, `id` (with
//! `:Type`, or any type the parameter refers to), or an absolute `[base]/Type/id` on this
//! server's base. A reference elsewhere matches nothing here. `:identifier` and chains are
//! resolved into hops by the request parser.

use super::Modifier;
use super::escape::unescape;
use super::operand::{Operand, write_equals_exact};
use crate::sql::SqlWriter;

/// A parsed reference search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceSearch {
    /// A resource of this server.
    Local {
        /// Its type, when the value or the `:Type` modifier names one.
        resource_type: Option<String>,
        /// Its logical id.
        id: String,
    },
    /// A resource elsewhere (another server, or another type than `:Type` asks for): nothing
    /// here refers to it.
    Elsewhere,
}

impl ReferenceSearch {
    /// A reference to `resource_type`/`id`.
    pub fn to(resource_type: &str, id: &str) -> ReferenceSearch {
        ReferenceSearch::Local {
            resource_type: Some(resource_type.to_string()),
            id: id.to_string(),
        }
    }

    /// The key a reference element to `resource_type`, whose target ids are `prefix` + key,
    /// holds when it refers to this value; `None` when it cannot.
    pub fn key_in(&self, resource_type: &str, prefix: &str) -> Option<&str> {
        let ReferenceSearch::Local {
            resource_type: ty,
            id,
        } = self
        else {
            return None;
        };
        if ty.as_deref().is_some_and(|t| t != resource_type) {
            return None;
        }
        id.strip_prefix(prefix).filter(|key| !key.is_empty())
    }
}

/// Parses a reference value (`Type/id`, `id`, or `base_url/Type/id`); `modifier` may name the
/// wanted type (`:Patient`).
pub fn parse(
    base_url: &str,
    modifier: Option<&Modifier>,
    raw: &str,
) -> Result<ReferenceSearch, String> {
    let value = unescape(raw);
    let wanted_type = match modifier {
        Some(Modifier::Type(t)) => Some(t.as_str()),
        _ => None,
    };
    let local = match value.strip_prefix(base_url) {
        Some(rest) => rest.trim_start_matches('/'),
        None if value.contains("://") => return Ok(ReferenceSearch::Elsewhere),
        None => value.as_str(),
    };
    let (ty, id) = match local.split_once('/') {
        Some((t, i)) => (Some(t.to_string()), i.to_string()),
        None => (wanted_type.map(str::to_string), local.to_string()),
    };
    if let (Some(t), Some(w)) = (&ty, wanted_type)
        && t != w
    {
        return Ok(ReferenceSearch::Elsewhere);
    }
    if id.is_empty() || id.contains('/') {
        return Err(format!(
            "'{value}' is not a reference (use Type/id, id, or {base_url}/Type/id)"
        ));
    }
    Ok(ReferenceSearch::Local {
        resource_type: ty,
        id,
    })
}

/// `op` (a reference element's key) holds `key` (from [`ReferenceSearch::key_in`]), bound as
/// the column compares it, case-sensitively as ids are.
pub fn write_predicate(w: &mut SqlWriter, op: &Operand, key: &str) {
    write_equals_exact(w, op, &[key.to_string()]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values() {
        let base = "http://h/fhir";
        let patient = |t: &str| Some(&Modifier::Type(t.into())).cloned();
        assert_eq!(
            parse(base, None, "Patient/1").unwrap(),
            ReferenceSearch::to("Patient", "1")
        );
        assert_eq!(
            parse(base, None, "http://h/fhir/Patient/1").unwrap(),
            ReferenceSearch::to("Patient", "1")
        );
        assert_eq!(
            parse(base, None, "http://other/fhir/Patient/1").unwrap(),
            ReferenceSearch::Elsewhere
        );
        assert_eq!(
            parse(base, patient("Patient").as_ref(), "1").unwrap(),
            ReferenceSearch::to("Patient", "1")
        );
        assert_eq!(
            parse(base, patient("Patient").as_ref(), "Practitioner/1").unwrap(),
            ReferenceSearch::Elsewhere
        );
        assert!(parse(base, None, "Patient/").is_err());
        assert_eq!(
            parse(base, None, "7").unwrap(),
            ReferenceSearch::Local {
                resource_type: None,
                id: "7".into()
            }
        );
    }

    #[test]
    fn keys_follow_the_target_type_and_prefix() {
        let r = ReferenceSearch::to("Observation", "lab-12");
        assert_eq!(r.key_in("Observation", "lab-"), Some("12"));
        assert_eq!(r.key_in("Observation", "vs-"), None);
        assert_eq!(r.key_in("Patient", "lab-"), None);
        assert_eq!(
            ReferenceSearch::to("Observation", "lab-").key_in("Observation", "lab-"),
            None
        );
        assert_eq!(ReferenceSearch::Elsewhere.key_in("Patient", ""), None);
    }
}
