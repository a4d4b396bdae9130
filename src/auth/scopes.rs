//! SMART on FHIR scopes (v1 and v2) of an access token. Pure.
//!
//! `patient/Observation.read` (v1), `patient/Observation.rs` (v2),
//! `patient/Observation.rs?category=laboratory` (v2 granular), `user/*.read`,
//! `system/Patient.s`. Only reading and searching matter on this read-only server: write
//! permissions grant nothing. Scopes that are not about resources (`openid`, `launch/patient`,
//! `offline_access`...) and malformed ones are ignored.

/// Whose data a scope is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeContext {
    /// The patient in context (the token's `patient` claim): their compartment only.
    Patient,
    /// What the user may see.
    User,
    /// A backend system.
    System,
}

/// One resource scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartScope {
    /// `patient`, `user` or `system`.
    pub context: ScopeContext,
    /// The resource type, `None` for `*`.
    pub resource_type: Option<String>,
    /// Allows reads (`r`, v1 `read`).
    pub read: bool,
    /// Allows searches (`s`, v1 `read`).
    pub search: bool,
    /// A v2 granular scope's query (`category=laboratory`): only resources matching it.
    pub query: Option<String>,
    /// The scope as written.
    pub text: String,
}

impl SmartScope {
    /// Whether the scope is about `resource_type`.
    pub fn covers(&self, resource_type: &str) -> bool {
        self.resource_type
            .as_deref()
            .is_none_or(|t| t == resource_type)
    }
}

/// The resource scopes of a `scope` claim (space-separated).
pub fn parse_scopes(text: &str) -> Vec<SmartScope> {
    text.split_ascii_whitespace()
        .filter_map(parse_scope)
        .collect()
}

/// One scope; `None` when it is not a resource scope this server understands.
pub fn parse_scope(text: &str) -> Option<SmartScope> {
    let (context, rest) = text.split_once('/')?;
    let context = match context {
        "patient" => ScopeContext::Patient,
        "user" => ScopeContext::User,
        "system" => ScopeContext::System,
        _ => return None,
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (resource_type, permissions) = rest.split_once('.')?;
    let resource_type = match resource_type {
        "*" => None,
        t if is_type_name(t) => Some(t.to_string()),
        _ => return None,
    };
    let (read, search, v2) = match permissions {
        // v1: `read` is read and search; `*` is read and write.
        "read" | "*" => (true, true, false),
        "write" => (false, false, false),
        p => {
            let (read, search) = v2_permissions(p)?;
            (read, search, true)
        }
    };
    let query = match query {
        // Granular scopes are v2 only.
        Some(q) if !v2 || q.is_empty() => return None,
        q => q.map(str::to_string),
    };
    Some(SmartScope {
        context,
        resource_type,
        read,
        search,
        query,
        text: text.to_string(),
    })
}

/// `cruds` letters, each at most once and in that order: (read, search).
fn v2_permissions(p: &str) -> Option<(bool, bool)> {
    if p.is_empty() {
        return None;
    }
    let mut order = "cruds".chars();
    for c in p.chars() {
        // Each letter must come after the previous one in `cruds`.
        order.by_ref().find(|&o| o == c)?;
    }
    Some((p.contains('r'), p.contains('s')))
}

fn is_type_name(t: &str) -> bool {
    t.starts_with(|c: char| c.is_ascii_uppercase()) && t.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(s: &str) -> Option<(bool, bool)> {
        parse_scope(s).map(|s| (s.read, s.search))
    }

    #[test]
    fn v1_and_v2_permissions() {
        assert_eq!(perms("patient/Observation.read"), Some((true, true)));
        assert_eq!(perms("patient/Observation.*"), Some((true, true)));
        assert_eq!(perms("user/*.write"), Some((false, false)));
        assert_eq!(perms("patient/Observation.rs"), Some((true, true)));
        assert_eq!(perms("patient/Observation.r"), Some((true, false)));
        assert_eq!(perms("system/Patient.s"), Some((false, true)));
        assert_eq!(perms("user/Patient.cruds"), Some((true, true)));
        assert_eq!(perms("user/Patient.cud"), Some((false, false)));
        // Letters out of order, repeated or unknown: not a scope.
        for bad in [
            "patient/Observation.sr",
            "patient/Observation.rr",
            "patient/Observation.x",
            "patient/Observation.",
            "patient/observation.rs",
            "clinician/Observation.rs",
            "patient/Observation",
            "openid",
            "launch/patient",
            "patient/Observation.read?category=laboratory",
            "patient/Observation.rs?",
        ] {
            assert_eq!(parse_scope(bad), None, "{bad}");
        }
    }

    #[test]
    fn contexts_types_and_queries() {
        let s = parse_scope("patient/Observation.rs?category=laboratory").unwrap();
        assert_eq!(s.context, ScopeContext::Patient);
        assert_eq!(s.resource_type.as_deref(), Some("Observation"));
        assert_eq!(s.query.as_deref(), Some("category=laboratory"));
        assert!(s.covers("Observation") && !s.covers("Condition"));
        let all = parse_scope("user/*.rs").unwrap();
        assert_eq!(
            (all.context, all.resource_type.as_deref()),
            (ScopeContext::User, None)
        );
        assert!(all.covers("Condition"));
        let scopes =
            parse_scopes("openid fhirUser launch/patient patient/*.read  system/Patient.s");
        assert_eq!(scopes.len(), 2);
        assert_eq!(scopes[1].context, ScopeContext::System);
        assert_eq!(scopes[0].text, "patient/*.read");
    }
}
