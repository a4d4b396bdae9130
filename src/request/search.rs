//! The search interaction: query parameters → a typed [`SearchRequest`]. Pure.
//!
//! Parameters are checked against what the mapping declares for the type; anything unknown or
//! unsupported is an error naming the parameter, or with lenient handling is dropped and
//! reported. Values are split on unescaped commas (OR); repeated parameters are ANDed.

use super::RequestError;
use super::chain::{self, ChainError, Hop};
use super::include::{Include, IncludeError};
use super::subset::{Summary, check_combination, parse_elements};
use crate::mapping::Mapping;

/// Default page size.
pub const DEFAULT_COUNT: usize = 20;

/// Default for how many resources a chained or `_has` parameter may cross.
pub const DEFAULT_MAX_CHAIN_DEPTH: usize = 3;

/// A modifier after the parameter name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modifier {
    /// `:missing=true|false`
    Missing,
    /// `:exact` (string)
    Exact,
    /// `:contains` (string)
    Contains,
    /// `:not` (token)
    Not,
    /// `:text` (token)
    Text,
    /// `:of-type` (token, identifiers: `type-system|type-code|value`)
    OfType,
    /// `:[Type]` (reference)
    Type(String),
    /// `:below` (uri: the value is a prefix of the URL)
    Below,
    /// `:above` (uri: the URL is the value or one of its parent paths)
    Above,
}

impl Modifier {
    /// The modifier as written after `:`.
    pub fn code(&self) -> String {
        match self {
            Modifier::Missing => "missing".into(),
            Modifier::Exact => "exact".into(),
            Modifier::Contains => "contains".into(),
            Modifier::Not => "not".into(),
            Modifier::Text => "text".into(),
            Modifier::OfType => "of-type".into(),
            Modifier::Type(t) => t.clone(),
            Modifier::Below => "below".into(),
            Modifier::Above => "above".into(),
        }
    }
}

/// The modifiers each parameter type supports (also documented in the CapabilityStatement).
pub fn supported_modifiers(param_type: &str) -> &'static [&'static str] {
    match param_type {
        "token" => &["missing", "not", "text", "of-type"],
        "string" => &["missing", "exact", "contains"],
        "reference" => &["missing", "[type]"],
        "uri" => &["missing", "below", "above"],
        "date" | "number" | "quantity" | "composite" => &["missing"],
        _ => &[],
    }
}

/// One token value: `code`, `system|code`, `|code`, `system|`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenValue {
    /// `None`: any system; `Some("")`: no system; `Some(s)`: that system.
    pub system: Option<String>,
    /// `None`: any code of the system.
    pub code: Option<String>,
}

/// One search criterion: a parameter with its OR-ed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The resources crossed before `code` is compared (chains, `_has`); empty for a
    /// parameter of the searched type itself.
    pub hops: Vec<Hop>,
    /// Parameter code (of the type the hops lead to).
    pub code: String,
    /// Its type (token, string, date, reference, number, quantity, uri, composite).
    pub param_type: String,
    /// The modifier.
    pub modifier: Option<Modifier>,
    /// The values (unescaped), OR-ed.
    pub values: Vec<String>,
    /// `name[:modifier]=value` as it will appear in links (normalized).
    pub link: String,
    /// Other criteria, any of which also satisfies this one (a compartment's several
    /// parameters); empty for a parameter of the request.
    pub alternatives: Vec<Filter>,
}

/// One `_sort` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// Parameter code.
    pub code: String,
    /// Descending (`-code`).
    pub desc: bool,
}

/// `_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalMode {
    /// No total (default).
    None,
    /// An exact count.
    Accurate,
    /// The database planner's estimate where it has one (else an exact count).
    Estimate,
}

/// A parsed search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// The mapped resource type.
    pub resource_type: String,
    /// Criteria, all of which must hold.
    pub filters: Vec<Filter>,
    /// Page size.
    pub count: usize,
    /// `_total`.
    pub total: TotalMode,
    /// `_summary` (`count`: only the total).
    pub summary: Summary,
    /// The paging cursor of a next link.
    pub cursor: Option<String>,
    /// `_elements`: the top-level elements to return.
    pub elements: Option<Vec<String>>,
    /// `_sort` keys, in order.
    pub sort: Vec<SortKey>,
    /// Parameters ignored under lenient handling, with the reason.
    pub ignored: Vec<(String, String)>,
    /// The Patient compartment the search is restricted to
    /// (`GET [base]/Patient/[id]/[type]`).
    pub compartment: Option<super::compartment::Compartment>,
    /// `_include` and `_revinclude`, in request order.
    pub includes: Vec<Include>,
}

impl SearchRequest {
    /// A search of every `resource_type`, `count` per page, with no criteria.
    pub fn new(resource_type: &str, count: usize) -> SearchRequest {
        SearchRequest {
            resource_type: resource_type.to_string(),
            filters: Vec::new(),
            count,
            total: TotalMode::None,
            summary: Summary::False,
            cursor: None,
            elements: None,
            sort: Vec::new(),
            ignored: Vec::new(),
            compartment: None,
            includes: Vec::new(),
        }
    }

    /// Every criterion to apply: the parameters' and the compartment's.
    pub fn criteria(&self) -> Vec<Filter> {
        let mut out = self.filters.clone();
        if let Some(c) = &self.compartment {
            out.push(c.filter());
        }
        out
    }

    /// Whether only the total is wanted (`_summary=count`).
    pub fn counts_only(&self) -> bool {
        self.summary == Summary::Count
    }

    /// The normalized parameters of this search (for links and the cursor's binding).
    pub fn link_params(&self) -> Vec<String> {
        let mut out: Vec<String> = self.filters.iter().map(|f| f.link.clone()).collect();
        out.extend(self.includes.iter().map(|i| i.link.clone()));
        match self.total {
            TotalMode::None => {}
            TotalMode::Accurate => out.push("_total=accurate".into()),
            TotalMode::Estimate => out.push("_total=estimate".into()),
        }
        if self.summary != Summary::False {
            out.push(format!("_summary={}", self.summary.code()));
        }
        if let Some(e) = &self.elements {
            out.push(format!("_elements={}", e.join(",")));
        }
        if !self.sort.is_empty() {
            let keys: Vec<String> = self
                .sort
                .iter()
                .map(|k| format!("{}{}", if k.desc { "-" } else { "" }, k.code))
                .collect();
            out.push(format!("_sort={}", keys.join(",")));
        }
        out.push(format!("_count={}", self.count));
        out
    }
}

/// Splits on `sep` where it is not escaped with `\`, and unescapes `\,` `\|` `\$` `\\`.
pub fn split_escaped(value: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n) if n == sep => out.last_mut().unwrap().push(n),
                Some(n) => {
                    // Keep other escapes for a later split on another separator.
                    let last = out.last_mut().unwrap();
                    last.push('\\');
                    last.push(n);
                }
                None => out.last_mut().unwrap().push('\\'),
            }
        } else if c == sep {
            out.push(String::new());
        } else {
            out.last_mut().unwrap().push(c);
        }
    }
    out
}

/// Removes the remaining escapes (`\,` `\|` `\$` `\\`).
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses a token value.
pub fn token_value(raw: &str) -> TokenValue {
    let parts = split_escaped(raw, '|');
    if parts.len() >= 2 {
        let system = unescape(&parts[0]);
        let code = unescape(&parts[1..].join("|"));
        TokenValue {
            system: Some(system),
            code: (!code.is_empty()).then_some(code),
        }
    } else {
        TokenValue {
            system: None,
            code: Some(unescape(raw)),
        }
    }
}

const RESULT_PARAMS: &[&str] = &[
    "_count",
    "_total",
    "_summary",
    "_format",
    "_pretty",
    "_cursor",
    "_elements",
    "_sort",
];

fn unsupported(
    lenient: bool,
    ignored: &mut Vec<(String, String)>,
    name: &str,
    why: String,
) -> Result<(), RequestError> {
    if lenient {
        ignored.push((name.to_string(), why));
        Ok(())
    } else {
        Err(RequestError::UnsupportedParameter(why))
    }
}

impl SearchRequest {
    /// Parses the query parameters of a search on `resource_type`.
    pub fn parse(
        mapping: &Mapping,
        resource_type: &str,
        params: &[(String, String)],
        lenient: bool,
        max_count: usize,
        max_chain_depth: usize,
    ) -> Result<SearchRequest, RequestError> {
        super::read::check_type(mapping, resource_type)?;
        let mut req = SearchRequest::new(resource_type, DEFAULT_COUNT.min(max_count));
        for (name, value) in params {
            let (code, modifier) = match name.split_once(':') {
                Some((c, m)) => (c, Some(m)),
                None => (name.as_str(), None),
            };
            if code == "_include" || code == "_revinclude" {
                req.include(mapping, name, value, lenient)?;
                continue;
            }
            if RESULT_PARAMS.contains(&code) {
                if modifier.is_some() {
                    return Err(RequestError::InvalidParameter(format!(
                        "{code} takes no modifier"
                    )));
                }
                req.result_param(code, value, max_count)?;
                continue;
            }
            if code.starts_with('_')
                && !matches!(code, "_id" | "_lastUpdated" | "_has")
                && !declared(mapping, resource_type).iter().any(|d| d == code)
            {
                unsupported(
                    lenient,
                    &mut req.ignored,
                    name,
                    format!("parameter '{name}' is not supported by this server"),
                )?;
                continue;
            }
            let chained = match chain::resolve(mapping, resource_type, name, max_chain_depth) {
                Ok(c) => c,
                Err(ChainError::Unknown(why)) => {
                    unsupported(lenient, &mut req.ignored, name, why)?;
                    continue;
                }
                Err(ChainError::Invalid(why)) => {
                    return Err(RequestError::InvalidParameter(why));
                }
            };
            let code = chained.code.as_str();
            let param_type = chained.param_type.clone();
            let modifier = match chained.modifier.as_deref() {
                None => None,
                Some(m) => match parse_modifier(&param_type, m) {
                    Some(m) => Some(m),
                    None => {
                        unsupported(
                            lenient,
                            &mut req.ignored,
                            name,
                            format!(
                                "modifier ':{m}' is not supported for '{code}' ({param_type}; supported: {})",
                                supported_modifiers(&param_type).join(", ")
                            ),
                        )?;
                        continue;
                    }
                },
            };
            let values: Vec<String> = split_escaped(value, ',');
            if values.iter().any(|v| v.is_empty()) {
                return Err(RequestError::InvalidParameter(format!(
                    "parameter '{name}' has an empty value"
                )));
            }
            if modifier == Some(Modifier::Missing)
                && !values.iter().all(|v| v == "true" || v == "false")
            {
                return Err(RequestError::InvalidParameter(format!(
                    "'{name}' takes true or false"
                )));
            }
            let link = format!(
                "{name}={}",
                values
                    .iter()
                    .map(|v| escape_kept(v))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            req.filters.push(Filter {
                hops: chained.hops,
                code: code.to_string(),
                param_type,
                modifier,
                values,
                link,
                alternatives: Vec::new(),
            });
        }
        check_combination(req.summary, req.elements.as_deref())?;
        Ok(req)
    }

    fn include(
        &mut self,
        mapping: &Mapping,
        name: &str,
        value: &str,
        lenient: bool,
    ) -> Result<(), RequestError> {
        match super::include::parse(mapping, &self.resource_type, name, value) {
            Ok(i) => {
                if !self.includes.iter().any(|x| x.link == i.link) {
                    self.includes.push(i);
                }
                Ok(())
            }
            Err(IncludeError::Invalid(m)) => Err(RequestError::InvalidParameter(m)),
            Err(IncludeError::Unsupported(m)) => unsupported(lenient, &mut self.ignored, name, m),
        }
    }

    fn result_param(&mut self, code: &str, value: &str, max: usize) -> Result<(), RequestError> {
        match code {
            "_count" => {
                let n: usize = value.parse().map_err(|_| {
                    RequestError::InvalidParameter(format!(
                        "_count must be a whole number, not '{value}'"
                    ))
                })?;
                if n > max {
                    return Err(RequestError::InvalidParameter(format!(
                        "_count must be at most {max}"
                    )));
                }
                self.count = n;
            }
            "_total" => {
                self.total = match value {
                    "none" => TotalMode::None,
                    "accurate" => TotalMode::Accurate,
                    "estimate" => TotalMode::Estimate,
                    _ => {
                        return Err(RequestError::InvalidParameter(format!(
                            "_total must be none, estimate or accurate, not '{value}'"
                        )));
                    }
                }
            }
            "_summary" => self.summary = Summary::parse(value)?,
            "_cursor" => self.cursor = Some(value.to_string()),
            "_elements" => {
                self.elements = Some(parse_elements(&self.resource_type, value)?);
            }
            "_sort" => {
                for k in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                    let (code, desc) = match k.strip_prefix('-') {
                        Some(c) => (c, true),
                        None => (k, false),
                    };
                    self.sort.push(SortKey {
                        code: code.to_string(),
                        desc,
                    });
                }
            }
            _ => {} // _format and _pretty shape the response only
        }
        Ok(())
    }
}

/// A value as sent, its escapes intact, for links.
fn escape_kept(v: &str) -> String {
    // `split_escaped` removed only the comma escapes; put them back.
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(c);
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else if c == ',' {
            out.push_str("\\,");
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_modifier(param_type: &str, m: &str) -> Option<Modifier> {
    let modifier = match m {
        "missing" => Modifier::Missing,
        "exact" => Modifier::Exact,
        "contains" => Modifier::Contains,
        "not" => Modifier::Not,
        "text" => Modifier::Text,
        "of-type" => Modifier::OfType,
        "below" => Modifier::Below,
        "above" => Modifier::Above,
        t if param_type == "reference" && crate::fhir::Definitions::r4().is_resource_type(t) => {
            Modifier::Type(t.to_string())
        }
        _ => return None,
    };
    let code = match &modifier {
        Modifier::Type(_) => "[type]".to_string(),
        other => other.code(),
    };
    supported_modifiers(param_type)
        .contains(&code.as_str())
        .then_some(modifier)
}

/// The parameter codes declared for a type, sorted.
pub fn declared(mapping: &Mapping, resource_type: &str) -> Vec<String> {
    let mut v: Vec<String> = mapping
        .sources_of(resource_type)
        .flat_map(|s| s.search.iter().map(|d| d.code.clone()))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_separators_stay_in_values() {
        assert_eq!(split_escaped("a,b\\,c", ','), vec!["a", "b,c"]);
        assert_eq!(split_escaped("x", ','), vec!["x"]);
        assert_eq!(
            token_value("http://loinc.org|2339-0"),
            TokenValue {
                system: Some("http://loinc.org".into()),
                code: Some("2339-0".into())
            }
        );
        assert_eq!(
            token_value("|x"),
            TokenValue {
                system: Some(String::new()),
                code: Some("x".into())
            }
        );
        assert_eq!(
            token_value("http://s|"),
            TokenValue {
                system: Some("http://s".into()),
                code: None
            }
        );
        assert_eq!(
            token_value("a\\|b"),
            TokenValue {
                system: None,
                code: Some("a|b".into())
            }
        );
    }

    #[test]
    fn modifiers_are_checked_per_type() {
        assert_eq!(parse_modifier("token", "not"), Some(Modifier::Not));
        assert_eq!(parse_modifier("string", "not"), None);
        assert_eq!(
            parse_modifier("reference", "Patient"),
            Some(Modifier::Type("Patient".into()))
        );
        assert_eq!(parse_modifier("reference", "Nope"), None);
        assert_eq!(parse_modifier("date", "exact"), None);
        assert_eq!(parse_modifier("uri", "below"), Some(Modifier::Below));
        assert_eq!(parse_modifier("uri", "above"), Some(Modifier::Above));
        assert_eq!(parse_modifier("token", "below"), None);
    }
}
