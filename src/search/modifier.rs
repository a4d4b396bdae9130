//! The search vocabulary this server supports, in one registry: which parameter types can be
//! searched, which modifiers each type takes, and which take prefixes. The request parser
//! checks against it, the planner relies on it, and the CapabilityStatement documents it.

use crate::fhir::{Definitions, SearchParamType};
use crate::mapping::{Mapping, SearchDecl, SearchTarget};

/// A modifier after a parameter name (`name:modifier=value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modifier {
    /// `:missing=true|false` (every type).
    Missing,
    /// `:exact` (string: the whole value, case- and accent-sensitive).
    Exact,
    /// `:contains` (string: anywhere in the value).
    Contains,
    /// `:not` (token: resources without a matching value).
    Not,
    /// `:text` (token: the display text starts with the value).
    Text,
    /// `:of-type` (token, identifiers: `type-system|type-code|value`).
    OfType,
    /// `:[Type]` (reference: a reference to that type).
    Type(String),
    /// `:below` (uri: the value is a prefix of the URL).
    Below,
    /// `:above` (uri: the URL is the value or one of its parent paths).
    Above,
}

impl Modifier {
    /// The modifier as written after `:`.
    pub fn code(&self) -> &str {
        match self {
            Modifier::Missing => "missing",
            Modifier::Exact => "exact",
            Modifier::Contains => "contains",
            Modifier::Not => "not",
            Modifier::Text => "text",
            Modifier::OfType => "of-type",
            Modifier::Type(t) => t,
            Modifier::Below => "below",
            Modifier::Above => "above",
        }
    }

    /// The modifier written `code` on a parameter of type `param_type`, when this server
    /// supports it there.
    pub fn parse(param_type: SearchParamType, code: &str) -> Option<Modifier> {
        let modifier = match code {
            "missing" => Modifier::Missing,
            "exact" => Modifier::Exact,
            "contains" => Modifier::Contains,
            "not" => Modifier::Not,
            "text" => Modifier::Text,
            "of-type" => Modifier::OfType,
            "below" => Modifier::Below,
            "above" => Modifier::Above,
            t if param_type == SearchParamType::Reference
                && Definitions::r4().is_resource_type(t) =>
            {
                Modifier::Type(t.to_string())
            }
            _ => return None,
        };
        modifier.is_valid_for(param_type).then_some(modifier)
    }

    /// Whether this server supports the modifier on parameters of type `param_type`.
    pub fn is_valid_for(&self, param_type: SearchParamType) -> bool {
        self.is_among(modifiers(param_type))
    }

    /// Whether the modifier is one of `allowed` (as [`modifiers`] lists them).
    pub fn is_among(&self, allowed: &[&str]) -> bool {
        let name = match self {
            Modifier::Type(_) => "[type]",
            other => other.code(),
        };
        allowed.contains(&name)
    }
}

/// The modifiers a declared parameter takes: its type's, except that a parameter defined by
/// SQL (`sql = "..."`) takes `:not` (tokens) and the modifiers it declares a condition for.
pub fn declared_modifiers(decl: &SearchDecl) -> Vec<&'static str> {
    let all = modifiers(decl.param_type);
    if !decl.is_sql_defined() {
        return all.to_vec();
    }
    let declared = |m: &str| {
        decl.targets.iter().all(|t| match t {
            SearchTarget::Sql(c) => c.condition(Some(m)).is_some(),
            _ => false,
        })
    };
    all.iter()
        .copied()
        .filter(|m| *m == "not" || declared(m))
        .collect()
}

/// The modifiers parameter `code` of `resource_type` takes in every source that declares it.
pub fn modifiers_of(mapping: &Mapping, resource_type: &str, code: &str) -> Vec<&'static str> {
    let mut decls = mapping
        .sources_of(resource_type)
        .filter_map(|s| s.search_decl(code));
    let Some(first) = decls.next() else {
        return Vec::new();
    };
    let mut allowed = declared_modifiers(first);
    for d in decls {
        let theirs = declared_modifiers(d);
        allowed.retain(|m| theirs.contains(m));
    }
    allowed
}

/// Whether a declared parameter takes comparison prefixes (not when defined by SQL).
pub fn declared_prefixes(decl: &SearchDecl) -> bool {
    takes_prefixes(decl.param_type) && !decl.is_sql_defined()
}

/// The modifiers parameters of type `param_type` take here (`[type]` stands for a resource
/// type on references).
pub fn modifiers(param_type: SearchParamType) -> &'static [&'static str] {
    match param_type {
        SearchParamType::Token => &["missing", "not", "text", "of-type"],
        SearchParamType::String => &["missing", "exact", "contains"],
        SearchParamType::Reference => &["missing", "[type]"],
        SearchParamType::Uri => &["missing", "below", "above"],
        SearchParamType::Date
        | SearchParamType::Number
        | SearchParamType::Quantity
        | SearchParamType::Composite => &["missing"],
        SearchParamType::Special => &[],
    }
}

/// Whether parameters of type `param_type` take comparison prefixes (`ge2020`, `lt5.4`).
pub fn takes_prefixes(param_type: SearchParamType) -> bool {
    matches!(
        param_type,
        SearchParamType::Number | SearchParamType::Quantity | SearchParamType::Date
    )
}

/// Whether parameters of type `param_type` can be searched here (what the
/// CapabilityStatement lists): every type but `special`.
pub fn searchable(param_type: SearchParamType) -> bool {
    param_type != SearchParamType::Special
}

#[cfg(test)]
mod tests {
    use super::*;
    use SearchParamType as T;

    #[test]
    fn modifiers_are_checked_per_type() {
        assert_eq!(Modifier::parse(T::Token, "not"), Some(Modifier::Not));
        assert_eq!(Modifier::parse(T::String, "not"), None);
        assert_eq!(
            Modifier::parse(T::Reference, "Patient"),
            Some(Modifier::Type("Patient".into()))
        );
        assert_eq!(Modifier::parse(T::Reference, "Nope"), None);
        assert_eq!(Modifier::parse(T::Token, "Patient"), None);
        assert_eq!(Modifier::parse(T::Date, "exact"), None);
        assert_eq!(Modifier::parse(T::Uri, "below"), Some(Modifier::Below));
        assert_eq!(Modifier::parse(T::Uri, "above"), Some(Modifier::Above));
        assert_eq!(Modifier::parse(T::Token, "below"), None);
        assert_eq!(Modifier::parse(T::Special, "missing"), None);
        // Every modifier a type lists parses for it (the registry is consistent).
        for t in SearchParamType::ALL {
            for m in modifiers(t) {
                let code = if *m == "[type]" { "Patient" } else { m };
                assert!(Modifier::parse(t, code).is_some(), "{t}:{m}");
            }
        }
    }
}
