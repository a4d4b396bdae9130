//! Parameter names that cross resources: chains (`subject:Patient.name`), reverse chains
//! (`_has:Observation:patient:code`) and `:identifier` on references. Pure.
//!
//! A name becomes a list of [`Hop`]s from the searched type to the type whose parameter is
//! finally compared, checked at every step against what the mapping declares.

use crate::fhir::SearchParamType;
use crate::mapping::Mapping;

/// One step from one resource type to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hop {
    /// Follow reference parameter `param` of the current type to resources of `targets`
    /// (`subject:Patient.name`: `param` = subject, `targets` = `[Patient]`).
    Forward {
        /// The reference parameter.
        param: String,
        /// The resource types followed (more than one when the reference may point to
        /// several types and the chain did not name one).
        targets: Vec<String>,
    },
    /// Go to the resources of `resource_type` whose reference parameter `param` points at the
    /// current resource (`_has:Observation:patient:...`).
    Reverse {
        /// The referring resource type.
        resource_type: String,
        /// Its reference parameter.
        param: String,
    },
}

/// A parameter name resolved through its hops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chained {
    /// The steps from the searched type to the compared parameter's type.
    pub hops: Vec<Hop>,
    /// The compared parameter.
    pub code: String,
    /// Its type.
    pub param_type: SearchParamType,
    /// The resource type whose parameter it is (where the hops lead).
    pub resource_type: String,
    /// Its modifier, as written (checked by the caller).
    pub modifier: Option<String>,
}

impl Chained {
    /// Whether `other` compares the same parameter the same way (whichever type it is on).
    fn same_parameter(&self, other: &Chained) -> bool {
        (&self.hops, &self.code, self.param_type, &self.modifier)
            == (&other.hops, &other.code, other.param_type, &other.modifier)
    }
}

/// Why a name cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// A parameter the mapping does not declare (ignorable with lenient handling).
    Unknown(String),
    /// A malformed or too deep name.
    Invalid(String),
}

/// Resolves `name` (without its value) on `resource_type`, allowing at most `max_hops` hops.
/// Plain names resolve too (no hops); unknown plain names are `Unknown`. Messages about a
/// part of a longer name quote the whole name.
pub fn resolve(
    mapping: &Mapping,
    resource_type: &str,
    name: &str,
    max_hops: usize,
) -> Result<Chained, ChainError> {
    let crosses = name.starts_with("_has:") || name.contains('.') || name.ends_with(":identifier");
    // Every hop is written as a `.` or a `_has:`: count them before resolving, so that a
    // crafted name cannot recurse deeper than the limit.
    let written = name.matches('.').count()
        + name.matches("_has:").count()
        + usize::from(name.ends_with(":identifier"));
    let resolved = if written > max_hops {
        Err(ChainError::Invalid(format!(
            "it crosses {written} resources; this server allows at most {max_hops}"
        )))
    } else {
        resolve_part(mapping, resource_type, name)
    };
    let resolved = resolved.and_then(|c| {
        if c.hops.len() > max_hops {
            return Err(ChainError::Invalid(format!(
                "it crosses {} resources; this server allows at most {max_hops}",
                c.hops.len()
            )));
        }
        Ok(c)
    });
    resolved.map_err(|e| {
        if !crosses {
            return e;
        }
        let wrap = |m: String| format!("'{name}': {m}");
        match e {
            ChainError::Unknown(m) => ChainError::Unknown(wrap(m)),
            ChainError::Invalid(m) => ChainError::Invalid(wrap(m)),
        }
    })
}

fn resolve_part(mapping: &Mapping, resource_type: &str, name: &str) -> Result<Chained, ChainError> {
    if let Some(rest) = name.strip_prefix("_has:") {
        let mut parts = rest.splitn(3, ':');
        let (Some(ty), Some(param), Some(tail)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ChainError::Invalid(
                "_has takes _has:Type:reference-parameter:parameter".to_string(),
            ));
        };
        if tail.is_empty() {
            return Err(ChainError::Invalid(format!(
                "_has needs a parameter after _has:{ty}:{param}:"
            )));
        }
        if !mapping.has_type(ty) {
            return Err(ChainError::Unknown(format!(
                "{ty} is not a resource type served here"
            )));
        }
        let types = mapping.reference_types(ty, param);
        if !types.iter().any(|t| t == resource_type) {
            return Err(ChainError::Unknown(format!(
                "{ty} has no reference search parameter '{param}' pointing to {resource_type}{}",
                declared_refs(mapping, ty, Some(resource_type))
            )));
        }
        let mut inner = resolve_part(mapping, ty, tail)?;
        inner.hops.insert(
            0,
            Hop::Reverse {
                resource_type: ty.to_string(),
                param: param.to_string(),
            },
        );
        return Ok(inner);
    }
    if let Some((head, tail)) = name.split_once('.') {
        let (param, wanted) = match head.split_once(':') {
            Some((p, t)) => (p, Some(t)),
            None => (head, None),
        };
        let types = mapping.reference_types(resource_type, param);
        if types.is_empty() {
            return Err(ChainError::Unknown(format!(
                "{resource_type} has no reference search parameter '{param}' to chain from{}",
                declared_refs(mapping, resource_type, None)
            )));
        }
        let candidates: Vec<String> = match wanted {
            Some(t) if types.iter().any(|x| x == t) => vec![t.to_string()],
            Some(t) => {
                return Err(ChainError::Unknown(format!(
                    "{resource_type}.{param} does not refer to {t} here (it refers to {})",
                    types.join(", ")
                )));
            }
            None => types,
        };
        let mut resolved: Vec<(String, Chained)> = Vec::new();
        let mut first_err = None;
        for t in &candidates {
            match resolve_part(mapping, t, tail) {
                Ok(c) => resolved.push((t.clone(), c)),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        let Some((_, first)) = resolved.first().cloned() else {
            return Err(first_err.expect("one candidate failed"));
        };
        if resolved.iter().any(|(_, c)| !c.same_parameter(&first)) {
            return Err(ChainError::Invalid(format!(
                "{resource_type}.{param} can refer to {}, where '{tail}' differs; name the type, e.g. {param}:{}.{tail}",
                candidates.join(", "),
                candidates[0]
            )));
        }
        let mut out = first;
        out.hops.insert(
            0,
            Hop::Forward {
                param: param.to_string(),
                targets: resolved.into_iter().map(|(t, _)| t).collect(),
            },
        );
        return Ok(out);
    }
    let (code, modifier) = match name.split_once(':') {
        Some((c, m)) => (c, Some(m)),
        None => (name, None),
    };
    let Some(param_type) = mapping.param_type(resource_type, code) else {
        return Err(ChainError::Unknown(format!(
            "unknown search parameter '{code}' for {resource_type} (supported: {})",
            super::search::declared(mapping, resource_type).join(", ")
        )));
    };
    if param_type == SearchParamType::Reference && modifier == Some("identifier") {
        // `subject:identifier=system|value`: the referenced resource has that identifier.
        let targets: Vec<String> = mapping
            .reference_types(resource_type, code)
            .into_iter()
            .filter(|t| mapping.param_type(t, "identifier") == Some(SearchParamType::Token))
            .collect();
        if targets.is_empty() {
            return Err(ChainError::Unknown(format!(
                "the resources {resource_type}.{code} refers to declare no 'identifier' search parameter"
            )));
        }
        return Ok(Chained {
            resource_type: targets[0].clone(),
            hops: vec![Hop::Forward {
                param: code.to_string(),
                targets,
            }],
            code: "identifier".into(),
            param_type: SearchParamType::Token,
            modifier: None,
        });
    }
    Ok(Chained {
        hops: Vec::new(),
        code: code.to_string(),
        param_type,
        resource_type: resource_type.to_string(),
        modifier: modifier.map(str::to_string),
    })
}

/// ` (reference parameters: a, b)` of `resource_type`, optionally only those pointing to
/// `to`; empty when there are none.
fn declared_refs(mapping: &Mapping, resource_type: &str, to: Option<&str>) -> String {
    let refs: Vec<String> = super::search::declared(mapping, resource_type)
        .into_iter()
        .filter(|c| {
            let types = mapping.reference_types(resource_type, c);
            !types.is_empty() && to.is_none_or(|t| types.iter().any(|x| x == t))
        })
        .collect();
    if refs.is_empty() {
        String::new()
    } else {
        format!(" (reference parameters: {})", refs.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::sample;

    fn forward(param: &str, targets: &[&str]) -> Hop {
        Hop::Forward {
            param: param.into(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn plain_names_have_no_hops() {
        let m = sample();
        let c = resolve(&m, "Patient", "family:exact", 3).unwrap();
        assert_eq!(
            (c.hops.len(), c.code.as_str(), c.param_type.as_str()),
            (0, "family", "string")
        );
        assert_eq!(c.modifier.as_deref(), Some("exact"));
        assert!(matches!(
            resolve(&m, "Patient", "nope", 3),
            Err(ChainError::Unknown(_))
        ));
    }

    #[test]
    fn chains_resolve_through_declared_references() {
        let m = sample();
        let c = resolve(&m, "Observation", "subject:Patient.name:contains", 3).unwrap();
        assert_eq!(c.hops, vec![forward("subject", &["Patient"])]);
        assert_eq!(
            (c.code.as_str(), c.modifier.as_deref()),
            ("name", Some("contains"))
        );
        // Without a type: every type the reference can point to that has the parameter.
        let c = resolve(&m, "Observation", "encounter.service-provider.name", 3).unwrap();
        assert_eq!(
            c.hops,
            vec![
                forward("encounter", &["Encounter"]),
                forward("service-provider", &["Organization"])
            ]
        );
        let c = resolve(&m, "MedicationRequest", "requester:identifier", 3).unwrap();
        assert_eq!(c.hops, vec![forward("requester", &["Practitioner"])]);
        assert_eq!(
            (c.code.as_str(), c.param_type.as_str()),
            ("identifier", "token")
        );
    }

    #[test]
    fn reverse_chains_nest() {
        let m = sample();
        let c = resolve(
            &m,
            "Practitioner",
            "_has:Encounter:practitioner:_has:Observation:encounter:code:not",
            3,
        )
        .unwrap();
        assert_eq!(
            c.hops,
            vec![
                Hop::Reverse {
                    resource_type: "Encounter".into(),
                    param: "practitioner".into()
                },
                Hop::Reverse {
                    resource_type: "Observation".into(),
                    param: "encounter".into()
                },
            ]
        );
        assert_eq!(
            (c.code.as_str(), c.modifier.as_deref()),
            ("code", Some("not"))
        );
    }

    #[test]
    fn undeclared_wrong_or_deep_chains_are_refused() {
        let m = sample();
        let err = |name: &str| match resolve(&m, "Observation", name, 2) {
            Err(ChainError::Unknown(e) | ChainError::Invalid(e)) => e,
            Ok(c) => panic!("{name} resolved: {c:?}"),
        };
        assert!(err("code.name").contains("no reference search parameter 'code'"));
        assert!(err("subject:Practitioner.name").contains("does not refer to Practitioner"));
        assert!(err("subject.nope").starts_with("'subject.nope': unknown search parameter 'nope'"));
        assert!(err("encounter.service-provider.partof.name").contains("crosses 3 resources"));
        // A crafted name is refused before it is resolved (no deep recursion).
        let long = format!("{}name", "subject.".repeat(100_000));
        assert!(err(&long).contains("crosses 100000 resources"));
        assert!(err("_has:Observation").contains("_has takes"));
        assert!(err("_has:Patient:general-practitioner:name").contains("pointing to Observation"));
        assert!(matches!(
            resolve(
                &m,
                "Observation",
                "encounter.service-provider.partof.name",
                2
            ),
            Err(ChainError::Invalid(_))
        ));
        assert!(matches!(
            resolve(&m, "Observation", "subject.nope", 2),
            Err(ChainError::Unknown(_))
        ));
    }
}
