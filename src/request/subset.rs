//! `_summary` and `_elements`: which part of each resource the client asks for.

use super::RequestError;

/// The `_summary` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Summary {
    /// `false` (the default): whole resources.
    #[default]
    False,
    /// `true`: the elements the definitions mark `isSummary`, and the mandatory ones.
    True,
    /// `text`: `text`, `id`, `meta` and the top-level mandatory elements.
    Text,
    /// `data`: everything but `text`.
    Data,
    /// `count` (search only): the total, no resources.
    Count,
}

impl Summary {
    /// Parses a `_summary` value.
    pub fn parse(value: &str) -> Result<Summary, RequestError> {
        Ok(match value {
            "false" => Summary::False,
            "true" => Summary::True,
            "text" => Summary::Text,
            "data" => Summary::Data,
            "count" => Summary::Count,
            _ => {
                return Err(RequestError::InvalidParameter(format!(
                    "_summary must be true, text, data, count or false, not '{value}'"
                )));
            }
        })
    }

    /// The value as written in a URL.
    pub fn code(self) -> &'static str {
        match self {
            Summary::False => "false",
            Summary::True => "true",
            Summary::Text => "text",
            Summary::Data => "data",
            Summary::Count => "count",
        }
    }

    /// Whether it returns part of each resource (`true`, `text`, `data`).
    pub fn subsets(self) -> bool {
        matches!(self, Summary::True | Summary::Text | Summary::Data)
    }
}

/// Rejects `_summary=true|text|data` together with `_elements`: the specification gives the
/// combination no meaning, and silently dropping one of them would answer another question.
pub fn check_combination(
    summary: Summary,
    elements: Option<&[String]>,
) -> Result<(), RequestError> {
    if summary.subsets() && elements.is_some() {
        return Err(RequestError::InvalidParameter(format!(
            "_summary={} cannot be combined with _elements (use one or the other)",
            summary.code()
        )));
    }
    Ok(())
}

/// Parses `_elements`: top-level element names of `resource_type`.
pub fn parse_elements(resource_type: &str, value: &str) -> Result<Vec<String>, RequestError> {
    let defs = crate::fhir::Definitions::r4();
    let mut out = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name.contains('.') || defs.resolve(resource_type, name).is_err() {
            return Err(RequestError::InvalidParameter(format!(
                "_elements: '{name}' is not a top-level element of {resource_type}"
            )));
        }
        out.push(name.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_values() {
        for s in [
            Summary::False,
            Summary::True,
            Summary::Text,
            Summary::Data,
            Summary::Count,
        ] {
            assert_eq!(Summary::parse(s.code()), Ok(s));
        }
        assert!(Summary::parse("TRUE").is_err());
        assert!(Summary::parse("").is_err());
        assert!(Summary::True.subsets() && Summary::Data.subsets());
        assert!(!Summary::Count.subsets() && !Summary::False.subsets());
    }

    #[test]
    fn summary_and_elements_do_not_mix() {
        let e = vec!["name".to_string()];
        assert!(check_combination(Summary::True, Some(&e)).is_err());
        assert!(check_combination(Summary::Data, Some(&e)).is_err());
        assert!(check_combination(Summary::Count, Some(&e)).is_ok());
        assert!(check_combination(Summary::False, Some(&e)).is_ok());
        assert!(check_combination(Summary::Text, None).is_ok());
    }
}
