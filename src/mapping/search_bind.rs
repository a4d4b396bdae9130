//! Which mapped elements back a declared search parameter.
//!
//! A standard parameter's FHIRPath expression (`Patient.birthDate`,
//! `Observation.subject.where(resolve() is Patient)`, `(Observation.value as Quantity)`) names
//! element paths; every mapped element at or under those paths becomes a search target, so the
//! mapping says once how an element is stored and search follows it (value maps included,
//! searched in reverse). Pure.

use super::model::{
    CompositeComponent, CompositeTarget, Convert, ElementMapping, ElementValue, LeafRef, Location,
    MapField, MapTarget, PathSegment, SearchParamType, SearchTarget, Source, TokenPart,
};

/// One path named by a search expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprPath {
    /// Element names below the resource, e.g. `["name", "family"]`.
    pub names: Vec<String>,
    /// `as T` / `.as(T)`: the choice type.
    pub cast: Option<String>,
    /// `.where(resolve() is T)`: the reference target type.
    pub resolve_is: Option<String>,
}

/// Parses the subset of FHIRPath used by R4 search parameter expressions: unions (`|`) of
/// dotted paths, with `as T`, `.as(T)` and `.where(resolve() is T)`.
pub fn parse_expression(expr: &str, resource_type: &str) -> Result<Vec<ExprPath>, String> {
    let mut out = Vec::new();
    for part in split_top_level(expr) {
        let mut p = part.trim();
        while p.starts_with('(') && p.ends_with(')') {
            p = p[1..p.len() - 1].trim();
        }
        let mut cast = None;
        let mut resolve_is = None;
        if let Some((path, ty)) = p.split_once(" as ") {
            cast = Some(ty.trim().to_string());
            p = path.trim();
        }
        if let Some(rest) = p.strip_suffix(')')
            && let Some((path, ty)) = rest.rsplit_once(".as(")
        {
            cast = Some(ty.trim().to_string());
            p = path;
        }
        if let Some(rest) = p.strip_suffix(')')
            && let Some((path, cond)) = rest.rsplit_once(".where(")
        {
            let ty = cond
                .trim()
                .strip_prefix("resolve() is ")
                .ok_or_else(|| format!("unsupported expression '{expr}'"))?;
            resolve_is = Some(ty.trim().to_string());
            p = path;
        }
        let mut names = p.split('.');
        // Common parameters (`_profile`: `Resource.meta.profile`) apply to every type.
        if !matches!(names.next(), Some(t) if t == resource_type || t == "Resource" || t == "DomainResource")
        {
            continue;
        }
        let names: Vec<String> = names.map(str::to_string).collect();
        if names.is_empty()
            || names
                .iter()
                .any(|n| n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(format!("unsupported expression '{expr}'"));
        }
        out.push(ExprPath {
            names,
            cast,
            resolve_is,
        });
    }
    if out.is_empty() {
        return Err(format!("no path for {resource_type} in '{expr}'"));
    }
    Ok(out)
}

fn split_top_level(expr: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in expr.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '|' if depth == 0 => {
                parts.push(&expr[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&expr[start..]);
    parts
}

/// A mapped element with its full path (child path + item path for child elements).
#[derive(Clone)]
struct Leaf<'a> {
    at: LeafRef,
    path: Vec<PathSegment>,
    el: &'a ElementMapping,
}

fn leaves(source: &Source) -> Vec<Leaf<'_>> {
    let mut out: Vec<Leaf> = source
        .elements
        .iter()
        .enumerate()
        .map(|(i, el)| Leaf {
            at: LeafRef {
                location: Location::Row,
                element: Some(i),
            },
            path: el.path.clone(),
            el,
        })
        .collect();
    for (c, child) in source.children.iter().enumerate() {
        for (j, el) in child.elements.iter().enumerate() {
            out.push(Leaf {
                at: LeafRef {
                    location: Location::Child(c),
                    element: Some(j),
                },
                path: child.path.iter().chain(&el.path).cloned().collect(),
                el,
            });
        }
        if let Some(v) = &child.value {
            out.push(Leaf {
                at: LeafRef {
                    location: Location::Child(c),
                    element: None,
                },
                path: child.path.clone(),
                el: v,
            });
        }
    }
    out
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// The number of leading segments of `path` that `expr` matches, if it matches.
fn match_len(expr: &ExprPath, path: &[PathSegment]) -> Option<usize> {
    let n = expr.names.len();
    if path.len() < n {
        return None;
    }
    for (i, name) in expr.names.iter().enumerate() {
        let seg = &path[i].name;
        if i + 1 < n {
            if seg != name {
                return None;
            }
            continue;
        }
        let ok = match &expr.cast {
            Some(ty) => *seg == format!("{name}{}", capitalized(ty)),
            None => {
                seg == name
                    || seg
                        .strip_prefix(name.as_str())
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
            }
        };
        if !ok {
            return None;
        }
    }
    Some(n)
}

/// A matched leaf, with the path below the expression's element.
struct Matched<'a> {
    leaf: &'a Leaf<'a>,
    /// Segments below the matched element (empty: the element itself).
    rel: &'a [PathSegment],
}

fn part_of(m: &Matched) -> TokenPart {
    match &m.leaf.el.value {
        ElementValue::Constant(v) => match v {
            serde_json::Value::String(s) => TokenPart::Const(s.clone()),
            other => TokenPart::Const(other.to_string()),
        },
        // A value-mapped part (e.g. an identifier system chosen by a type code) is searched
        // through its map.
        ElementValue::Sql {
            convert: Convert::Mapped { .. },
            ..
        } => TokenPart::Mapped(m.leaf.at, MapField::Code),
        ElementValue::Sql { .. } => TokenPart::Leaf(m.leaf.at),
    }
}

/// The search targets of a parameter of type `param_type` whose expression names `paths`.
pub fn targets(
    source: &Source,
    param_type: SearchParamType,
    paths: &[ExprPath],
) -> Result<Vec<SearchTarget>, String> {
    let out = targets_among(source, &leaves(source), param_type, paths)?;
    if out.is_empty() {
        return Err("none of the elements it searches is mapped".to_string());
    }
    Ok(out)
}

/// One component of a composite parameter, as its definition gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentSpec {
    /// The component parameter's code.
    pub code: String,
    /// Its type.
    pub param_type: SearchParamType,
    /// Its FHIRPath expression, relative to the composite's base expression.
    pub expression: String,
}

/// The targets of a composite parameter whose base expression is `base` (`Observation`,
/// `Observation.component`, or a union): one [`CompositeTarget`] per mapped repetition of the
/// base element in which every component is mapped.
pub fn composite_targets(
    source: &Source,
    resource_type: &str,
    base: &str,
    components: &[ComponentSpec],
) -> Result<Vec<SearchTarget>, String> {
    let all = leaves(source);
    let mut out = Vec::new();
    for base_path in split_top_level(base) {
        let base_path = base_path.trim();
        let mut names = base_path.split('.');
        if names.next() != Some(resource_type) {
            continue;
        }
        let base_names: Vec<&str> = names.collect();
        let paths = components
            .iter()
            .map(|c| {
                let full: Vec<String> = split_top_level(&c.expression)
                    .into_iter()
                    .map(|e| format!("{base_path}.{}", unparenthesized(e)))
                    .collect();
                parse_expression(&full.join(" | "), resource_type)
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (within, group) in repetitions(source, &all, &base_names) {
            let mut targets = Vec::new();
            for (c, p) in components.iter().zip(&paths) {
                targets.push(targets_among(source, &group, c.param_type, p)?);
            }
            if targets.iter().all(|t| !t.is_empty()) {
                out.push(SearchTarget::Composite(CompositeTarget {
                    components: components
                        .iter()
                        .map(|c| CompositeComponent {
                            code: c.code.clone(),
                            param_type: c.param_type,
                        })
                        .collect(),
                    within,
                    targets,
                }));
            }
        }
    }
    if out.is_empty() {
        let codes: Vec<&str> = components.iter().map(|c| c.code.as_str()).collect();
        return Err(format!(
            "no mapped '{base}' has all of its components ({}) mapped",
            codes.join(", ")
        ));
    }
    Ok(out)
}

fn unparenthesized(mut e: &str) -> &str {
    e = e.trim();
    while e.starts_with('(') && e.ends_with(')') {
        e = e[1..e.len() - 1].trim();
    }
    e
}

/// The leaves under the element `base` (names below the resource; empty: the resource),
/// grouped by repetition of that element: `component[0]` and `component[1]` of the row, or
/// each row of a child table mapped at (or above) it, which is then the location every
/// predicate of the repetition is written in.
fn repetitions<'a>(
    source: &Source,
    all: &[Leaf<'a>],
    base: &[&str],
) -> Vec<(Option<Location>, Vec<Leaf<'a>>)> {
    if base.is_empty() {
        return vec![(None, all.to_vec())];
    }
    let n = base.len();
    let mut out: Vec<(Option<Location>, Vec<PathSegment>, Vec<Leaf>)> = Vec::new();
    for leaf in all {
        if leaf.path.len() <= n || leaf.path[..n].iter().zip(base).any(|(s, b)| s.name != *b) {
            continue;
        }
        let within = match leaf.at.location {
            Location::Child(c) if source.children[c].path.len() <= n => Some(leaf.at.location),
            _ => None,
        };
        let key = &leaf.path[..n];
        match out.iter_mut().find(|(w, k, _)| *w == within && k == key) {
            Some((_, _, v)) => v.push(leaf.clone()),
            None => out.push((within, key.to_vec(), vec![leaf.clone()])),
        }
    }
    out.into_iter().map(|(w, _, v)| (w, v)).collect()
}

/// The targets of a parameter among the leaves `all` (possibly none).
fn targets_among(
    source: &Source,
    all: &[Leaf],
    param_type: SearchParamType,
    paths: &[ExprPath],
) -> Result<Vec<SearchTarget>, String> {
    let mut matched: Vec<(Matched, &ExprPath)> = Vec::new();
    for expr in paths {
        for leaf in all {
            if let Some(n) = match_len(expr, &leaf.path) {
                matched.push((
                    Matched {
                        leaf,
                        rel: &leaf.path[n..],
                    },
                    expr,
                ));
            }
        }
    }
    let mut out = Vec::new();
    match param_type {
        SearchParamType::Token => token_targets(&matched, &mut out),
        SearchParamType::String => {
            for (m, _) in &matched {
                let string_like = matches!(m.leaf.el.fhir_type.as_str(), "string" | "markdown");
                if string_like && matches!(m.leaf.el.value, ElementValue::Sql { .. }) {
                    out.push(SearchTarget::String(m.leaf.at));
                }
            }
        }
        SearchParamType::Date => {
            date_targets(&matched, &mut out);
            for t in &out {
                if let SearchTarget::Date { start, end } = t {
                    for l in std::iter::once(start).chain(end.iter()) {
                        if let Some(f) = source.leaf(*l).text_format()
                            && !super::text_date::sortable(f)
                        {
                            return Err(format!(
                                "dates stored as text in the format '{f}' cannot be compared without reading every row (use a year-month-day order such as %Y%m%d, or an `expr` that converts them)"
                            ));
                        }
                    }
                }
            }
        }
        SearchParamType::Reference => {
            for (m, expr) in &matched {
                if let ElementValue::Sql {
                    convert: Convert::Reference { resource_type, .. },
                    ..
                } = &m.leaf.el.value
                    && m.rel.is_empty()
                    && expr.resolve_is.as_ref().is_none_or(|t| t == resource_type)
                {
                    out.push(SearchTarget::Reference(m.leaf.at));
                }
            }
        }
        SearchParamType::Number => {
            for (m, _) in &matched {
                let numeric = matches!(
                    m.leaf.el.fhir_type.as_str(),
                    "decimal" | "integer" | "positiveInt" | "unsignedInt"
                );
                if numeric
                    && m.rel.is_empty()
                    && matches!(m.leaf.el.value, ElementValue::Sql { .. })
                {
                    out.push(SearchTarget::Number(m.leaf.at));
                }
            }
        }
        SearchParamType::Quantity => quantity_targets(&matched, &mut out),
        SearchParamType::Uri => {
            for (m, _) in &matched {
                let uri_like = matches!(
                    m.leaf.el.fhir_type.as_str(),
                    "uri" | "url" | "canonical" | "oid" | "uuid"
                );
                if uri_like && m.rel.is_empty() {
                    out.push(SearchTarget::Uri(part_of(m)));
                }
            }
        }
        other => return Err(format!("{other} parameters are not supported yet")),
    }
    Ok(out)
}

/// Groups matched leaves by the value they belong to (location + path above the last segment).
fn groups<'a>(matched: &'a [(Matched<'a>, &'a ExprPath)]) -> Vec<Vec<&'a Matched<'a>>> {
    let mut out: Vec<(Location, Vec<PathSegment>, Vec<&Matched>)> = Vec::new();
    for (m, _) in matched {
        if m.rel.is_empty() {
            continue;
        }
        let key_path: Vec<PathSegment> = m.leaf.path[..m.leaf.path.len() - 1].to_vec();
        match out
            .iter_mut()
            .find(|(l, p, _)| *l == m.leaf.at.location && *p == key_path)
        {
            Some((_, _, v)) => v.push(m),
            None => out.push((m.leaf.at.location, key_path, vec![m])),
        }
    }
    out.into_iter().map(|(_, _, v)| v).collect()
}

fn named<'a>(group: &[&'a Matched<'a>], names: &[&str]) -> Option<&'a Matched<'a>> {
    group
        .iter()
        .copied()
        .find(|m| names.contains(&m.leaf.path.last().map(|s| s.name.as_str()).unwrap_or("")))
}

fn token_targets(matched: &[(Matched, &ExprPath)], out: &mut Vec<SearchTarget>) {
    // The element itself mapped in one go: a code, a boolean, or a value-mapped coding.
    for (m, _) in matched.iter().filter(|(m, _)| m.rel.is_empty()) {
        let el = m.leaf.el;
        let target = match &el.value {
            ElementValue::Sql {
                convert: Convert::Mapped { target, .. },
                ..
            } => match target {
                MapTarget::Coding | MapTarget::CodeableConcept => SearchTarget::Token {
                    system: TokenPart::Mapped(m.leaf.at, MapField::System),
                    code: TokenPart::Mapped(m.leaf.at, MapField::Code),
                    display: TokenPart::Mapped(m.leaf.at, MapField::Display),
                    of_type: None,
                },
                MapTarget::Primitive(_) => SearchTarget::Token {
                    system: el
                        .code_system
                        .clone()
                        .map_or(TokenPart::Absent, TokenPart::Const),
                    code: TokenPart::Mapped(m.leaf.at, MapField::Code),
                    display: TokenPart::Absent,
                    of_type: None,
                },
            },
            _ if matches!(
                el.fhir_type.as_str(),
                "code" | "boolean" | "string" | "uri" | "id" | "canonical" | "url"
            ) =>
            {
                SearchTarget::Token {
                    system: el
                        .code_system
                        .clone()
                        .map_or(TokenPart::Absent, TokenPart::Const),
                    code: part_of(m),
                    display: TokenPart::Absent,
                    of_type: None,
                }
            }
            _ => continue,
        };
        out.push(target);
    }
    // Values built from parts: Coding / CodeableConcept.coding[n] (system, code, display) and
    // Identifier (system, value). Each group is one value.
    for group in groups(matched) {
        let Some(code) = named(&group, &["code", "value"]) else {
            continue;
        };
        // Only parts directly in a Coding or Identifier (not, e.g., Identifier.type.coding).
        if code.rel.len() > 3 {
            continue;
        }
        let system = named(&group, &["system"]).map_or(TokenPart::Absent, part_of);
        let display = named(&group, &["display"]).map_or(TokenPart::Absent, part_of);
        out.push(SearchTarget::Token {
            system,
            code: part_of(code),
            display,
            of_type: identifier_type(matched, code),
        });
    }
}

/// For an Identifier's `value`: its `type` as (system, code), mapped as a whole CodeableConcept
/// by a value map, or by `type.coding[0].system` / `.code`.
fn identifier_type(
    matched: &[(Matched, &ExprPath)],
    value: &Matched,
) -> Option<(TokenPart, TokenPart)> {
    if value.leaf.path.last()?.name != "value" {
        return None;
    }
    let base = &value.leaf.path[..value.leaf.path.len() - 1];
    let under_type = |m: &&Matched| {
        m.leaf.at.location == value.leaf.at.location
            && m.leaf.path.len() > base.len()
            && m.leaf.path[..base.len()] == *base
            && m.leaf.path[base.len()].name == "type"
    };
    let in_type: Vec<&Matched> = matched.iter().map(|(m, _)| m).filter(under_type).collect();
    if let Some(t) = in_type.iter().find(|m| m.leaf.path.len() == base.len() + 1)
        && let ElementValue::Sql {
            convert: Convert::Mapped { .. },
            ..
        } = &t.leaf.el.value
    {
        return Some((
            TokenPart::Mapped(t.leaf.at, MapField::System),
            TokenPart::Mapped(t.leaf.at, MapField::Code),
        ));
    }
    let part = |name: &str| {
        in_type
            .iter()
            .find(|m| {
                m.leaf.path.len() == base.len() + 3
                    && m.leaf.path[base.len() + 1].name == "coding"
                    && m.leaf.path[base.len() + 1].index == 0
                    && m.leaf.path[base.len() + 2].name == name
            })
            .map(|m| part_of(m))
    };
    let code = part("code")?;
    Some((part("system").unwrap_or(TokenPart::Absent), code))
}

fn date_targets(matched: &[(Matched, &ExprPath)], out: &mut Vec<SearchTarget>) {
    for (m, _) in matched {
        let is_date = matches!(
            m.leaf.el.fhir_type.as_str(),
            "date" | "dateTime" | "instant"
        );
        if is_date && m.rel.is_empty() && matches!(m.leaf.el.value, ElementValue::Sql { .. }) {
            out.push(SearchTarget::Date {
                start: m.leaf.at,
                end: None,
            });
        }
    }
    for group in groups(matched) {
        let sql = |m: &&Matched| matches!(m.leaf.el.value, ElementValue::Sql { .. });
        let start = named(&group, &["start"]).filter(sql);
        let end = named(&group, &["end"]).filter(sql);
        if let Some(first) = start.or(end) {
            out.push(SearchTarget::Date {
                start: first.leaf.at,
                // A period with only an end is searched as the single instant it holds.
                end: end.map(|e| e.leaf.at).filter(|e| *e != first.leaf.at),
            });
        }
    }
}

fn quantity_targets(matched: &[(Matched, &ExprPath)], out: &mut Vec<SearchTarget>) {
    for group in groups(matched) {
        let Some(value) = named(&group, &["value"]) else {
            continue;
        };
        if !matches!(value.leaf.el.value, ElementValue::Sql { .. }) {
            continue;
        }
        out.push(SearchTarget::Quantity {
            value: value.leaf.at,
            system: named(&group, &["system"]).map_or(TokenPart::Absent, part_of),
            code: named(&group, &["code"]).map_or(TokenPart::Absent, part_of),
            unit: named(&group, &["unit"]).map_or(TokenPart::Absent, part_of),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_of_r4_parameters_parse() {
        let p = parse_expression(
            "Observation.subject.where(resolve() is Patient)",
            "Observation",
        )
        .unwrap();
        assert_eq!(p[0].names, ["subject"]);
        assert_eq!(p[0].resolve_is.as_deref(), Some("Patient"));
        let p = parse_expression(
            "(Observation.value as Quantity) | (Observation.value as SampledData)",
            "Observation",
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].cast.as_deref(), Some("Quantity"));
        let p = parse_expression(
            "Condition.onset.as(dateTime) | Condition.onset.as(Period)",
            "Condition",
        )
        .unwrap();
        assert_eq!(p[1].cast.as_deref(), Some("Period"));
        let p = parse_expression("Patient.name.family", "Patient").unwrap();
        assert_eq!(p[0].names, ["name", "family"]);
        assert!(parse_expression("Patient.extension('x').value", "Patient").is_err());
        assert!(parse_expression("Practitioner.name", "Patient").is_err());
    }

    #[test]
    fn choice_names_match_with_and_without_casts() {
        let seg = |n: &str| PathSegment {
            name: n.into(),
            repeats: false,
            index: 0,
        };
        let effective = ExprPath {
            names: vec!["effective".into()],
            cast: None,
            resolve_is: None,
        };
        assert_eq!(match_len(&effective, &[seg("effectiveDateTime")]), Some(1));
        assert_eq!(
            match_len(&effective, &[seg("effectivePeriod"), seg("start")]),
            Some(1)
        );
        assert_eq!(match_len(&effective, &[seg("effects")]), None);
        let value_q = ExprPath {
            names: vec!["value".into()],
            cast: Some("Quantity".into()),
            resolve_is: None,
        };
        assert_eq!(
            match_len(&value_q, &[seg("valueQuantity"), seg("value")]),
            Some(1)
        );
        assert_eq!(match_len(&value_q, &[seg("valueString")]), None);
    }
}
