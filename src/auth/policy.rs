//! What an [`Access`] may do: whether it may ask for the interaction at all (403 when not),
//! and the [`Scope`] of the request — the rules the planner writes into every statement.
//!
//! The rules of the requested type come from the scopes that allow the interaction (`r` for a
//! read and `$everything`, `s` for a search); the rules of every other type the request may
//! reach (includes, chains, `_has`, the compartment of `$everything`) from the scopes that
//! allow reading or searching it. Several scopes of a type are ORed. A patient scope
//! restricts to the compartment of the token's `patient`, and grants nothing on a type with no
//! declared link to Patient (and nothing at all without a `patient` claim); a granular scope's
//! query is parsed as a search of the type and restricts to its matches (one that cannot be
//! parsed, or that crosses resources, grants nothing).

use super::scopes::{ScopeContext, SmartScope};
use super::token::Access;
use crate::mapping::Mapping;
use crate::plan::scope::{Rule, Scope};
use crate::request::compartment::patient_params;
use crate::request::criterion::Criterion;
use crate::request::search::{SearchOptions, SearchRequest};

/// What a request asks to do with its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// Read one resource.
    Read,
    /// Search (also in a compartment).
    Search,
    /// `Patient/[id]/$everything` (reads the patient).
    Everything,
    /// Bulk Data `$export` (searches every exported type).
    Export,
}

impl Interaction {
    /// Its name in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Interaction::Read => "read",
            Interaction::Search => "search-type",
            Interaction::Everything => "operation:everything",
            Interaction::Export => "operation:export",
        }
    }

    fn allowed_by(self, s: &SmartScope) -> bool {
        match self {
            Interaction::Read | Interaction::Everything => s.read,
            Interaction::Search | Interaction::Export => s.search,
        }
    }

    /// The permission letter it needs.
    fn letter(self) -> &'static str {
        match self {
            Interaction::Read | Interaction::Everything => "r",
            Interaction::Search | Interaction::Export => "s",
        }
    }
}

/// The token does not allow the interaction (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denied {
    /// What is missing, for the client.
    pub message: String,
    /// A scope that would allow it (for `WWW-Authenticate`).
    pub needed: String,
}

/// The scope of a request of `interaction` on `resource_type` by `access` (`opts` parse
/// granular scopes' queries); [`Denied`] when no scope of the token allows it.
pub fn scope(
    access: &Access,
    mapping: &Mapping,
    opts: &SearchOptions,
    interaction: Interaction,
    resource_type: &str,
) -> Result<Scope, Denied> {
    let mut rules = Vec::new();
    let mut allowed = false;
    for s in &access.scopes {
        let types: Vec<&str> = match &s.resource_type {
            Some(t) if mapping.has_type(t) => vec![t.as_str()],
            Some(_) => Vec::new(),
            None => mapping.resource_types().collect(),
        };
        for t in types {
            let permitted = if t == resource_type {
                interaction.allowed_by(s)
            } else {
                s.read || s.search
            };
            if !permitted {
                continue;
            }
            let Some(rule) = rule(access, mapping, opts, s, t) else {
                continue;
            };
            allowed |= t == resource_type;
            rules.push(rule);
        }
    }
    if !allowed {
        let in_compartment =
            resource_type == "Patient" || !patient_params(mapping, resource_type).is_empty();
        let context = if access.patient.is_some() && in_compartment {
            "patient"
        } else {
            "user"
        };
        let needed = format!("{context}/{resource_type}.{}", interaction.letter());
        let message = if patient_only(access, resource_type, interaction) && !in_compartment {
            format!(
                "{resource_type} is not in the Patient compartment here, so patient scopes grant nothing on it (it needs a user or system scope)"
            )
        } else {
            format!(
                "the access token has no scope that allows this on {resource_type} (such as {needed})"
            )
        };
        return Err(Denied { message, needed });
    }
    Ok(Scope::rules(rules))
}

/// The scope of each of `types` that a Bulk Data export reads for `access`: a system-level
/// export (`system`) counts only system scopes; a patient-level one any scope that allows
/// searching the type (patient scopes restrict it to the patient's compartment, in the SQL).
/// A type the token does not allow is left out, or refused when the client named it
/// (`explicit`); [`Denied`] when no type is left.
pub fn export_scopes(
    access: &Access,
    mapping: &Mapping,
    opts: &SearchOptions,
    system: bool,
    types: &[String],
    explicit: bool,
) -> Result<Vec<(String, Scope)>, Denied> {
    let filtered;
    let access = if system {
        filtered = Access {
            scopes: access
                .scopes
                .iter()
                .filter(|s| s.context == ScopeContext::System)
                .cloned()
                .collect(),
            ..access.clone()
        };
        &filtered
    } else {
        access
    };
    let context = if system { "system" } else { "patient" };
    let mut out = Vec::new();
    for t in types {
        match scope(access, mapping, opts, Interaction::Search, t) {
            Ok(s) => out.push((t.clone(), s)),
            Err(_) if !explicit => {}
            Err(_) => {
                return Err(Denied {
                    message: format!(
                        "the access token has no {context} scope that allows exporting {t} (such as {context}/{t}.rs)"
                    ),
                    needed: format!("{context}/{t}.rs"),
                });
            }
        }
    }
    if out.is_empty() {
        return Err(Denied {
            message: format!(
                "the access token allows exporting none of the types (a {context} export needs scopes such as {context}/*.rs)"
            ),
            needed: format!("{context}/*.rs"),
        });
    }
    Ok(out)
}

/// Whether the only scopes allowing `interaction` on `resource_type` are patient scopes.
fn patient_only(access: &Access, resource_type: &str, interaction: Interaction) -> bool {
    let mut it = access
        .scopes
        .iter()
        .filter(|s| s.covers(resource_type) && interaction.allowed_by(s))
        .peekable();
    it.peek().is_some() && it.all(|s| s.context == ScopeContext::Patient)
}

/// The rule scope `s` makes for `resource_type`; `None` when it grants nothing.
fn rule(
    access: &Access,
    mapping: &Mapping,
    opts: &SearchOptions,
    s: &SmartScope,
    resource_type: &str,
) -> Option<Rule> {
    let patients = match s.context {
        ScopeContext::Patient => {
            let patient = access.patient.as_ref()?;
            if resource_type != "Patient" && patient_params(mapping, resource_type).is_empty() {
                return None;
            }
            Some(vec![patient.clone()])
        }
        ScopeContext::User | ScopeContext::System => None,
    };
    let criteria = match &s.query {
        None => Vec::new(),
        Some(q) => match granular(mapping, opts, resource_type, q) {
            Ok(c) => c,
            Err(why) => {
                tracing::warn!(scope = %s.text, %why, "a scope's query is not supported here: it grants nothing");
                return None;
            }
        },
    };
    Some(Rule {
        resource_type: resource_type.to_string(),
        patients,
        criteria,
    })
}

/// The criteria of a granular scope's query on `resource_type`: search parameters of the type
/// itself only (no chains, `_has`, paging or result parameters).
pub fn granular(
    mapping: &Mapping,
    opts: &SearchOptions,
    resource_type: &str,
    query: &str,
) -> Result<Vec<Criterion>, String> {
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if let Some((name, _)) = params.iter().find(|(n, _)| n == "_count") {
        return Err(format!("{name} is not a criterion"));
    }
    let opts = SearchOptions {
        lenient: false,
        ..*opts
    };
    let req =
        SearchRequest::parse(mapping, &opts, resource_type, &params).map_err(|e| e.to_string())?;
    let criteria = req.criteria.clone();
    let bare = SearchRequest {
        criteria: Vec::new(),
        ..req
    };
    if bare != SearchRequest::new(resource_type, bare.count) {
        return Err("only search criteria can restrict a scope".into());
    }
    if criteria.iter().any(|c| !c.hops.is_empty()) {
        return Err("a scope's criteria cannot cross resources".into());
    }
    if criteria.is_empty() {
        return Err("the query has no criteria".into());
    }
    Ok(criteria)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::scopes::parse_scopes;
    use crate::mapping::sample;

    fn opts() -> SearchOptions<'static> {
        SearchOptions {
            base_url: "http://h/fhir",
            max_count: 1000,
            max_chain_depth: 3,
            lenient: false,
            limits: Default::default(),
        }
    }

    fn access(patient: Option<&str>, scopes: &str) -> Access {
        Access {
            patient: patient.map(str::to_string),
            scopes: parse_scopes(scopes),
            ..Access::default()
        }
    }

    fn rules(s: &Scope, t: &str) -> Vec<Rule> {
        s.rules_for(t).cloned().collect()
    }

    #[test]
    fn the_interaction_needs_its_permission() {
        let m = sample();
        let o = opts();
        let a = access(Some("7"), "patient/Observation.r patient/Condition.s");
        assert!(scope(&a, &m, &o, Interaction::Read, "Observation").is_ok());
        assert!(scope(&a, &m, &o, Interaction::Search, "Observation").is_err());
        assert!(scope(&a, &m, &o, Interaction::Search, "Condition").is_ok());
        assert!(scope(&a, &m, &o, Interaction::Read, "Condition").is_err());
        let denied = scope(&a, &m, &o, Interaction::Search, "Encounter").unwrap_err();
        assert_eq!(denied.needed, "patient/Encounter.s");
        // Write scopes grant nothing; v1 read grants both.
        let w = access(Some("7"), "patient/*.write user/Observation.cud");
        assert!(scope(&w, &m, &o, Interaction::Read, "Observation").is_err());
        let v1 = access(Some("7"), "patient/Observation.read");
        assert!(scope(&v1, &m, &o, Interaction::Search, "Observation").is_ok());
        // $everything reads the patient.
        let p = access(Some("7"), "patient/Patient.s");
        assert!(scope(&p, &m, &o, Interaction::Everything, "Patient").is_err());
    }

    #[test]
    fn patient_scopes_restrict_to_the_compartment() {
        let m = sample();
        let o = opts();
        let a = access(Some("7"), "patient/*.rs");
        let s = scope(&a, &m, &o, Interaction::Search, "Observation").unwrap();
        assert_eq!(
            rules(&s, "Observation"),
            [Rule::patients("Observation", vec!["7".into()])]
        );
        assert!(s.restricts("Observation") && s.restricts("Practitioner"));
        // No link to Patient: patient scopes grant nothing on Practitioner.
        assert!(rules(&s, "Practitioner").is_empty());
        let denied = scope(&a, &m, &o, Interaction::Read, "Practitioner").unwrap_err();
        assert!(
            denied.message.contains("not in the Patient compartment"),
            "{denied}"
        );
        // Without a patient claim patient scopes grant nothing.
        let none = access(None, "patient/*.rs");
        assert!(scope(&none, &m, &o, Interaction::Search, "Observation").is_err());
        // User scopes are not restricted to a compartment; other types are reached with
        // the scopes that read or search them.
        let u = access(Some("7"), "user/Practitioner.r patient/Observation.s");
        let s = scope(&u, &m, &o, Interaction::Search, "Observation").unwrap();
        assert_eq!(rules(&s, "Practitioner"), [Rule::all("Practitioner")]);
        assert!(!s.restricts("Practitioner"));
        assert!(s.restricts("Patient") && rules(&s, "Patient").is_empty());
    }

    #[test]
    fn exports_need_system_scopes_or_follow_patient_scopes() {
        let m = sample();
        let o = opts();
        let all: Vec<String> = m.resource_types().map(str::to_string).collect();
        let names = |v: &[(String, Scope)]| v.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>();
        // A system export counts system scopes only.
        let user = access(None, "user/*.rs");
        assert_eq!(
            export_scopes(&user, &m, &o, true, &all, false)
                .unwrap_err()
                .needed,
            "system/*.rs"
        );
        let system = access(None, "system/Patient.rs system/Observation.read user/*.rs");
        let got = export_scopes(&system, &m, &o, true, &all, false).unwrap();
        assert_eq!(names(&got), ["Patient", "Observation"]);
        assert!(got.iter().all(|(t, s)| !s.restricts(t)));
        // Naming a type the token does not cover is refused.
        let e = export_scopes(&system, &m, &o, true, &all, true).unwrap_err();
        assert_eq!(e.needed, "system/Practitioner.rs");
        // Patient scopes: the compartment of the patient, in every type's scope.
        let compartment = crate::request::compartment::patient_types(&m);
        let patient = access(Some("7"), "patient/*.rs");
        let got = export_scopes(&patient, &m, &o, false, &compartment, false).unwrap();
        assert_eq!(names(&got), compartment);
        assert!(got.iter().all(|(t, s)| s.restricts(t)));
    }

    #[test]
    fn granular_scopes_add_their_criteria_ored() {
        let m = sample();
        let o = opts();
        let a = access(
            Some("7"),
            "patient/Observation.rs?category=laboratory patient/Observation.rs?code=http://loinc.org|8867-4",
        );
        let s = scope(&a, &m, &o, Interaction::Search, "Observation").unwrap();
        let r = rules(&s, "Observation");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].criteria[0].code, "category");
        assert_eq!(r[1].criteria[0].code, "code");
        assert_eq!(r[0].patients, Some(vec!["7".to_string()]));
        // Queries that cannot restrict: nothing granted.
        for bad in [
            "patient/Observation.rs?patient.name=x",
            "patient/Observation.rs?_count=5",
            "patient/Observation.rs?_include=Observation:patient",
            "patient/Observation.rs?nope=1",
            "patient/Observation.rs?_sort=date",
        ] {
            let a = access(Some("7"), bad);
            assert!(
                scope(&a, &m, &o, Interaction::Search, "Observation").is_err(),
                "{bad}"
            );
        }
    }
}
