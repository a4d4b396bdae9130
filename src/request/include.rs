//! `_include` and `_revinclude`: parsed and checked against the reference parameters the
//! mapping declares. Pure.
//!
//! Forms: `_include=Type:param`, `_include=Type:param:TargetType`, `_include=Type:*` (every
//! reference parameter of `Type`), the same for `_revinclude`, each with `:iterate` (R4's older
//! `:recurse` is read as `:iterate`). A bare `*` is not supported: it would follow every
//! reference of every resource of the result. Without `:iterate`, an `_include` must name the
//! searched type and a `_revinclude` must refer to it (anything else could never include a
//! resource).

use crate::fhir::Definitions;
use crate::mapping::Mapping;
use crate::mapping::references::{RefLink, links_of};

/// One `_include` or `_revinclude`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// `_revinclude`: resources that refer to the results, rather than those they refer to.
    pub reverse: bool,
    /// `:iterate`: also applied to included resources, until nothing new is found.
    pub iterate: bool,
    /// The referring resource type (before the first `:`).
    pub source_type: String,
    /// The reference parameter, `None` for `*`.
    pub param: Option<String>,
    /// Only references to this type.
    pub target_type: Option<String>,
    /// `name=value` as it appears in links (normalized).
    pub link: String,
}

impl Include {
    /// The reference links this include follows.
    pub fn links<'a>(&self, mapping: &'a Mapping) -> Vec<RefLink<'a>> {
        links_of(mapping, &self.source_type)
            .into_iter()
            .filter(|l| self.param.as_deref().is_none_or(|p| p == l.code))
            .filter(|l| {
                self.target_type
                    .as_deref()
                    .is_none_or(|t| t == l.target_type())
            })
            .collect()
    }
}

/// Why an include cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncludeError {
    /// Not written as an include is written (always an error).
    #[error("{0}")]
    Invalid(String),
    /// Well-formed but not supported here (ignored under lenient handling).
    #[error("{0}")]
    Unsupported(String),
}

/// The reference parameters of `resource_type` that can be followed, sorted.
pub fn reference_params(mapping: &Mapping, resource_type: &str) -> Vec<String> {
    let mut v: Vec<String> = links_of(mapping, resource_type)
        .iter()
        .map(|l| l.code.to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

/// Parses parameter `name` (`_include`, `_revinclude`, with a modifier) with `value`, for a
/// search on `searched_type`.
pub fn parse(
    mapping: &Mapping,
    searched_type: &str,
    name: &str,
    value: &str,
) -> Result<Include, IncludeError> {
    let (base, modifier) = match name.split_once(':') {
        Some((b, m)) => (b, Some(m)),
        None => (name, None),
    };
    let reverse = match base {
        "_include" => false,
        "_revinclude" => true,
        other => {
            return Err(IncludeError::Invalid(format!(
                "'{other}' is not _include or _revinclude"
            )));
        }
    };
    let iterate = match modifier {
        None => false,
        Some("iterate" | "recurse") => true,
        Some(m) => {
            return Err(IncludeError::Invalid(format!(
                "modifier ':{m}' is not supported for {base} (supported: iterate, recurse)"
            )));
        }
    };
    if value == "*" {
        return Err(IncludeError::Unsupported(format!(
            "{base}=* is not supported: name the type, e.g. {base}={searched_type}:*"
        )));
    }
    let parts: Vec<&str> = value.split(':').collect();
    let (ty, param, target) = match parts.as_slice() {
        [t, p] if !t.is_empty() && !p.is_empty() => (*t, *p, None),
        [t, p, g] if !t.is_empty() && !p.is_empty() && !g.is_empty() => (*t, *p, Some(*g)),
        _ => {
            return Err(IncludeError::Invalid(format!(
                "{name}='{value}' must be Type:parameter or Type:parameter:TargetType"
            )));
        }
    };
    let defs = Definitions::r4();
    if !mapping.has_type(ty) {
        return Err(IncludeError::Unsupported(if defs.is_resource_type(ty) {
            format!("{name}={value}: resource type {ty} is not served by this server")
        } else {
            format!("{name}={value}: '{ty}' is not a FHIR R4 resource type")
        }));
    }
    let refs = reference_params(mapping, ty);
    if param != "*" {
        let declared = mapping
            .sources_of(ty)
            .flat_map(|s| &s.search)
            .find(|d| d.code == param);
        match declared {
            None => {
                return Err(IncludeError::Unsupported(format!(
                    "{name}={value}: {ty} has no search parameter '{param}' (reference parameters: {})",
                    list(&refs)
                )));
            }
            Some(d) if d.param_type != crate::fhir::SearchParamType::Reference => {
                return Err(IncludeError::Unsupported(format!(
                    "{name}={value}: '{param}' of {ty} is a {} parameter, not a reference (reference parameters: {})",
                    d.param_type,
                    list(&refs)
                )));
            }
            Some(_) => {}
        }
    } else if refs.is_empty() {
        return Err(IncludeError::Unsupported(format!(
            "{name}={value}: {ty} has no reference search parameter"
        )));
    }
    if let Some(t) = target
        && !defs.is_resource_type(t)
    {
        return Err(IncludeError::Unsupported(format!(
            "{name}={value}: '{t}' is not a FHIR R4 resource type"
        )));
    }
    let include = Include {
        reverse,
        iterate,
        source_type: ty.to_string(),
        param: (param != "*").then(|| param.to_string()),
        target_type: target.map(str::to_string),
        link: format!("{base}{}={value}", if iterate { ":iterate" } else { "" }),
    };
    let links = include.links(mapping);
    if links.is_empty() {
        let mut to: Vec<String> = Include {
            target_type: None,
            ..include.clone()
        }
        .links(mapping)
        .iter()
        .map(|l| l.target_type().to_string())
        .collect();
        to.sort();
        to.dedup();
        return Err(IncludeError::Unsupported(format!(
            "{name}={value}: {ty}:{param} does not refer to {} on this server (it refers to: {})",
            target.unwrap_or("anything"),
            list(&to)
        )));
    }
    if !iterate {
        if !reverse && ty != searched_type {
            return Err(IncludeError::Unsupported(format!(
                "{name}={value} names {ty}, but the search is on {searched_type}: it cannot include anything (use _include:iterate to follow it from included resources)"
            )));
        }
        if reverse && !links.iter().any(|l| l.target_type() == searched_type) {
            return Err(IncludeError::Unsupported(format!(
                "{name}={value} does not refer to {searched_type}, the type searched: it cannot include anything (use _revinclude:iterate to follow it from included resources)"
            )));
        }
    }
    Ok(include)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Dialect;

    const MAPPING: &str = r#"
[[resource]]
type = "Patient"
table = "PATIENT"
id = "PAT_ID"
[resource.elements]
"name[0].family" = "LAST_NM"
"generalPractitioner[0]" = { column = "PCP_ID", reference = "Practitioner" }
[resource.search]
family = true
general-practitioner = true

[[resource]]
type = "Practitioner"
table = "PROVIDER"
id = "PROV_ID"
[resource.elements]
"name[0].family" = "LAST_NM"

[[resource]]
type = "Observation"
table = "OBS"
id = "OBS_ID"
[resource.elements]
status = { constant = "final" }
"code.coding[0].code" = "CODE"
subject = { column = "PAT_ID", reference = "Patient" }
[resource.search]
subject = true
patient = true
code = true
"#;

    fn mapping() -> Mapping {
        crate::mapping::parse("test.toml", MAPPING, Dialect::Sqlite).unwrap()
    }

    fn unsupported(searched: &str, name: &str, value: &str) -> String {
        match parse(&mapping(), searched, name, value) {
            Err(IncludeError::Unsupported(m)) => m,
            other => panic!("{name}={value}: {other:?}"),
        }
    }

    #[test]
    fn includes_are_parsed_and_normalized() {
        let m = mapping();
        let i = parse(&m, "Observation", "_include", "Observation:subject").unwrap();
        assert!(!i.reverse && !i.iterate);
        assert_eq!(i.param.as_deref(), Some("subject"));
        assert_eq!(i.link, "_include=Observation:subject");
        assert_eq!(i.links(&m).len(), 1);
        assert_eq!(i.links(&m)[0].target_type(), "Patient");

        let i = parse(
            &m,
            "Observation",
            "_include:recurse",
            "Patient:general-practitioner",
        )
        .unwrap();
        assert!(i.iterate);
        assert_eq!(i.link, "_include:iterate=Patient:general-practitioner");

        let i = parse(&m, "Patient", "_revinclude", "Observation:patient:Patient").unwrap();
        assert!(i.reverse);
        assert_eq!(i.target_type.as_deref(), Some("Patient"));

        // `*`: every reference parameter (patient and subject read the same element).
        let i = parse(&m, "Observation", "_include", "Observation:*").unwrap();
        assert_eq!(i.param, None);
        assert_eq!(i.links(&m).len(), 2);
        assert_eq!(reference_params(&m, "Observation"), ["patient", "subject"]);
    }

    #[test]
    fn malformed_includes_are_invalid() {
        let m = mapping();
        // An unsupported modifier changes the request's meaning: never ignored.
        assert!(matches!(
            parse(&m, "Observation", "_include:deep", "Observation:subject"),
            Err(IncludeError::Invalid(e)) if e.contains("':deep'")
        ));
        for v in ["Observation", "Observation:", ":subject", "a:b:c:d", ""] {
            assert!(
                matches!(
                    parse(&m, "Observation", "_include", v),
                    Err(IncludeError::Invalid(_))
                ),
                "{v}"
            );
        }
    }

    #[test]
    fn unusable_includes_are_unsupported_and_named() {
        assert!(unsupported("Observation", "_include", "*").contains("name the type"));
        assert!(
            unsupported("Observation", "_include", "Observation:foo")
                .contains("no search parameter 'foo' (reference parameters: patient, subject)")
        );
        assert!(
            unsupported("Observation", "_include", "Observation:code")
                .contains("'code' of Observation is a token parameter")
        );
        assert!(
            unsupported("Observation", "_include", "Observation:subject:Group")
                .contains("does not refer to Group on this server (it refers to: Patient)")
        );
        assert!(
            unsupported("Observation", "_include", "Observation:subject:Nope")
                .contains("'Nope' is not a FHIR R4 resource type")
        );
        assert!(unsupported("Observation", "_include", "Encounter:subject").contains("not served"));
        assert!(
            unsupported("Observation", "_include", "Patient:general-practitioner")
                .contains("_include:iterate")
        );
        assert!(
            unsupported("Practitioner", "_revinclude", "Observation:subject")
                .contains("_revinclude:iterate")
        );
        assert!(
            unsupported("Practitioner", "_include", "Practitioner:*")
                .contains("no reference search parameter")
        );
    }
}
