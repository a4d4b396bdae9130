//! The search interaction: query parameters → a typed [`SearchRequest`]. Pure.
//!
//! Parameters are checked against what the mapping declares for the type; anything unknown or
//! unsupported is dropped and reported under lenient handling, or with strict handling an
//! error naming the parameter. Unsupported modifiers and invalid values are errors either
//! way. Values are split on unescaped commas (OR); repeated parameters are ANDed.

use super::RequestError;
use super::chain::{self, ChainError};
use super::criterion::{Criterion, Test};
use super::include::{Include, IncludeError};
use super::limits::{Limit, RequestLimits};
use super::subset::{Summary, check_combination, parse_elements};
use crate::mapping::{Mapping, SearchTarget};
use crate::search::escape::split;
use crate::search::{Modifier, ValueContext, modifier, parse_value};

/// Default page size.
pub const DEFAULT_COUNT: usize = 20;

/// Default for how many resources a chained or `_has` parameter may cross.
pub const DEFAULT_MAX_CHAIN_DEPTH: usize = 3;

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
    pub criteria: Vec<Criterion>,
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
    /// Sets of criteria one of which must hold entirely, besides `criteria` (an export's
    /// several `_typeFilter`s of one type); empty for searches.
    pub any_of: Vec<Vec<Criterion>>,
}

impl SearchRequest {
    /// A search of every `resource_type`, `count` per page, with no criteria.
    pub fn new(resource_type: &str, count: usize) -> SearchRequest {
        SearchRequest {
            resource_type: resource_type.to_string(),
            criteria: Vec::new(),
            count,
            total: TotalMode::None,
            summary: Summary::False,
            cursor: None,
            elements: None,
            sort: Vec::new(),
            ignored: Vec::new(),
            compartment: None,
            includes: Vec::new(),
            any_of: Vec::new(),
        }
    }

    /// Every criterion to apply: the parameters' and the compartment's.
    pub fn all_criteria(&self) -> Vec<Criterion> {
        let mut out = self.criteria.clone();
        out.extend(self.compartment.as_ref().and_then(|c| c.criterion()));
        out
    }

    /// The path the search runs on (`Observation`, `Patient/1/Observation`), which its paging
    /// cursors are bound to.
    pub fn path(&self) -> String {
        match &self.compartment {
            Some(c) => format!("Patient/{}/{}", c.id, self.resource_type),
            None => self.resource_type.clone(),
        }
    }

    /// Whether only the total is wanted (`_summary=count`, or `_count=0` as FHIR R5 reads it).
    pub fn counts_only(&self) -> bool {
        self.summary == Summary::Count || self.count == 0
    }

    /// The normalized parameters of this search (for links and the cursor's binding).
    pub fn link_params(&self) -> Vec<String> {
        let mut out: Vec<String> = self.criteria.iter().map(|f| f.link.clone()).collect();
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

/// What parsing a search needs besides its parameters.
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions<'a> {
    /// The server's FHIR base URL (absolute references on it are local).
    pub base_url: &'a str,
    /// Largest `_count` accepted.
    pub max_count: usize,
    /// Most resources a chain or `_has` may cross.
    pub max_chain_depth: usize,
    /// Lenient handling: unknown and unsupported parameters are ignored (and reported).
    pub lenient: bool,
    /// The admission limits.
    pub limits: RequestLimits,
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

/// Under lenient handling, `name` is ignored and reported (`why`); else it is an error.
pub(super) fn unsupported(
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
        opts: &SearchOptions,
        resource_type: &str,
        params: &[(String, String)],
    ) -> Result<SearchRequest, RequestError> {
        super::read::check_type(mapping, resource_type)?;
        let limits = &opts.limits;
        limits.check_params(params)?;
        let lenient = opts.lenient;
        let mut req = SearchRequest::new(resource_type, DEFAULT_COUNT.min(opts.max_count));
        let (mut hops, mut includes) = (0, 0);
        for (name, value) in params {
            let (code, modifier) = match name.split_once(':') {
                Some((c, m)) => (c, Some(m)),
                None => (name.as_str(), None),
            };
            if code == "_include" || code == "_revinclude" {
                includes += 1;
                limits.check(Limit::Includes, includes)?;
                req.include(mapping, name, value, lenient)?;
                continue;
            }
            if RESULT_PARAMS.contains(&code) {
                if modifier.is_some() {
                    return Err(RequestError::InvalidParameter(format!(
                        "{code} takes no modifier"
                    )));
                }
                req.result_param(code, value, opts.max_count)?;
                limits.check(Limit::SortKeys, req.sort.len())?;
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
            let chained = match chain::resolve(mapping, resource_type, name, opts.max_chain_depth) {
                Ok(c) => c,
                Err(ChainError::Unknown(why)) => {
                    unsupported(lenient, &mut req.ignored, name, why)?;
                    continue;
                }
                Err(ChainError::Invalid(why)) => {
                    return Err(RequestError::InvalidParameter(why));
                }
            };
            hops += chained.hops.len();
            limits.check(Limit::Hops, hops)?;
            let code = chained.code.as_str();
            let param_type = chained.param_type;
            let modifier = match chained.modifier.as_deref() {
                None => None,
                // An unsupported modifier changes what a known parameter means: ignoring it
                // would answer another question, so it is refused whatever the handling.
                Some(m) => {
                    let allowed = modifier::modifiers_of(mapping, &chained.resource_type, code);
                    match Modifier::parse(param_type, m).filter(|m| m.is_among(&allowed)) {
                        Some(m) => Some(m),
                        None => {
                            let supported = if allowed.is_empty() {
                                "it takes none".to_string()
                            } else {
                                format!("supported: {}", allowed.join(", "))
                            };
                            return Err(RequestError::UnsupportedParameter(format!(
                                "modifier ':{m}' is not supported for '{code}' ({param_type}; {supported})"
                            )));
                        }
                    }
                }
            };
            let raw = split(value, ',');
            if raw.iter().any(|v| v.is_empty()) {
                return Err(RequestError::InvalidParameter(format!(
                    "parameter '{name}' has an empty value"
                )));
            }
            let test = if modifier == Some(Modifier::Missing) {
                if !raw.iter().all(|v| *v == "true" || *v == "false") {
                    return Err(RequestError::InvalidParameter(format!(
                        "'{name}' takes true or false"
                    )));
                }
                Test::Missing {
                    missing: raw.contains(&"true"),
                    present: raw.contains(&"false"),
                }
            } else {
                let cx = ValueContext {
                    tz: mapping.timezone,
                    base_url: opts.base_url,
                };
                let components = composite_components(mapping, &chained.resource_type, code);
                let values = raw
                    .iter()
                    .map(|v| parse_value(cx, param_type, code, modifier.as_ref(), components, v))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(RequestError::InvalidParameter)?;
                Test::AnyOf {
                    values,
                    negate: modifier == Some(Modifier::Not),
                }
            };
            req.criteria.push(Criterion {
                hops: chained.hops,
                code: code.to_string(),
                param_type,
                test,
                link: format!("{name}={}", raw.join(",")),
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

/// The components of composite parameter `code` of `resource_type` (none for other types).
fn composite_components<'a>(
    mapping: &'a Mapping,
    resource_type: &str,
    code: &str,
) -> &'a [crate::mapping::CompositeComponent] {
    mapping
        .sources_of(resource_type)
        .filter_map(|s| s.search_decl(code))
        .flat_map(|d| &d.targets)
        .find_map(|t| match t {
            SearchTarget::Composite(ct) => Some(ct.components.as_slice()),
            _ => None,
        })
        .unwrap_or_default()
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
