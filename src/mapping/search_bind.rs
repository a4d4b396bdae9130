//! Which mapped elements back a declared search parameter.
//!
//! A standard parameter's FHIRPath expression (`Patient.birthDate`,
//! `Observation.subject.where(resolve() is Patient)`, `(Observation.value as Quantity)`) names
//! element paths; every mapped element at or under those paths becomes a search target, so the
//! mapping says once how an element is stored and search follows it (value maps included,
//! searched in reverse). Pure.

use super::model::{
    CompositeComponent, CompositeTarget, Convert, ElementMapping, ElementValue, GuardedTarget,
    LeafRef, Location, MapField, MapTarget, PathSegment, SearchParamType, SearchTarget, Source,
    TokenPart,
};

/// One path named by a search expression.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExprPath {
    /// Element names below the resource, e.g. `["name", "family"]`.
    pub names: Vec<String>,
    /// `as T` / `.as(T)` / `.ofType(T)`: the choice type of the name at this index.
    pub cast: Option<(usize, String)>,
    /// `.where(resolve() is T)`: the reference target type.
    pub resolve_is: Option<String>,
    /// `.where(field='value')`: conditions on the repetitions of the element they follow.
    pub filters: Vec<PathFilter>,
    /// `X.exists() and X != false`: the truth of the element (true when it is a true boolean
    /// or a value of another type, false when absent or false), searched as a boolean token.
    pub truthy: bool,
}

/// `.where(field='value')` after the first `depth` names: only the repetitions of that element
/// whose `field` is `value` count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathFilter {
    /// How many names precede the condition (the element it filters is `names[depth - 1]`).
    pub depth: usize,
    /// The element of the repetition it compares.
    pub field: String,
    /// The value it must have.
    pub value: String,
}

/// Parses the subset of FHIRPath that R4 search parameter expressions use: unions (`|`) of
/// dotted paths, with `as T`, `.as(T)`, `.ofType(T)`, `.where(resolve() is T)`,
/// `.where(field='value')`, `(path as T).name`, and `X.exists() and X != false`.
pub fn parse_expression(expr: &str, resource_type: &str) -> Result<Vec<ExprPath>, String> {
    parse_union(expr, resource_type, false)
}

/// Parses the `path` of a custom parameter: the same grammar, with paths that start below the
/// resource (`name.family | alias`, `(deceased as dateTime)`, `telecom.where(system='fax')`).
pub fn parse_custom_path(path: &str, resource_type: &str) -> Result<Vec<ExprPath>, String> {
    parse_union(path, resource_type, true)
}

fn parse_union(expr: &str, resource_type: &str, implicit: bool) -> Result<Vec<ExprPath>, String> {
    let mut out = Vec::new();
    for part in split_top_level(expr) {
        if let Some(p) = parse_one(part, resource_type, implicit)
            .map_err(|why| format!("unsupported expression '{expr}': {why}"))?
        {
            out.push(p);
        }
    }
    if out.is_empty() {
        return Err(format!("no path for {resource_type} in '{expr}'"));
    }
    Ok(out)
}

/// One path of a union; `None` when it is a path of another resource type.
fn parse_one(p: &str, rt: &str, implicit: bool) -> Result<Option<ExprPath>, String> {
    let p = unparenthesized(p);
    if let Some((a, b)) = split_keyword(p, " and ", false) {
        let a = a.trim().strip_suffix(".exists()");
        let b = b.trim().strip_suffix("!= false").map(str::trim);
        return match (a, b) {
            (Some(a), Some(b)) if a == b => Ok(parse_one(a, rt, implicit)?.map(|mut e| {
                e.truthy = true;
                e
            })),
            _ => Err("only `X.exists() and X != false` can combine conditions".into()),
        };
    }
    if let Some((left, ty)) = split_keyword(p, " as ", true) {
        let ty = ty.trim();
        if !is_name(ty) {
            return Err(format!("'{ty}' is not a type name"));
        }
        return Ok(parse_one(left, rt, implicit)?.map(|mut e| {
            e.cast = Some((e.names.len().saturating_sub(1), ty.to_string()));
            e
        }));
    }
    let segments = split_dots(p);
    let mut rest = segments.as_slice();
    let mut e = ExprPath::default();
    match rest.first() {
        Some(first) if first.starts_with('(') => {
            match parse_one(first, rt, implicit)? {
                Some(inner) => e = inner,
                None => return Ok(None),
            }
            rest = &rest[1..];
        }
        Some(first) if !implicit => {
            // Common parameters (`_profile`: `Resource.meta.profile`) apply to every type.
            if *first != rt && *first != "Resource" && *first != "DomainResource" {
                return Ok(None);
            }
            rest = &rest[1..];
        }
        _ => {}
    }
    for seg in rest {
        if is_name(seg) {
            e.names.push(seg.to_string());
        } else if let Some(ty) = call_arg(seg, "as").or_else(|| call_arg(seg, "ofType")) {
            if e.names.is_empty() || !is_name(ty) {
                return Err(format!("'{seg}' must follow an element"));
            }
            e.cast = Some((e.names.len() - 1, ty.to_string()));
        } else if let Some(cond) = call_arg(seg, "where") {
            if let Some(ty) = cond.strip_prefix("resolve() is ") {
                e.resolve_is = Some(ty.trim().to_string());
            } else if let Some((field, value)) = cond.split_once('=')
                && let (field, Some(value)) = (
                    field.trim(),
                    value
                        .trim()
                        .strip_prefix('\'')
                        .and_then(|v| v.strip_suffix('\'')),
                )
                && is_name(field)
                && !e.names.is_empty()
            {
                e.filters.push(PathFilter {
                    depth: e.names.len(),
                    field: field.to_string(),
                    value: value.to_string(),
                });
            } else {
                return Err(format!(
                    "'{seg}' is not supported (only where(resolve() is T) and where(element='value'))"
                ));
            }
        } else {
            return Err(format!("'{seg}' is not supported"));
        }
    }
    if e.names.is_empty() {
        return Err("it names no element".into());
    }
    Ok(Some(e))
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The argument of a function call segment `name(arg)`.
fn call_arg<'a>(seg: &'a str, name: &str) -> Option<&'a str> {
    seg.strip_prefix(name)?
        .strip_prefix('(')?
        .strip_suffix(')')
        .map(str::trim)
}

/// Splits `p` at the first (or `last`) occurrence of `keyword` outside parentheses and quotes.
fn split_keyword<'a>(p: &'a str, keyword: &str, last: bool) -> Option<(&'a str, &'a str)> {
    let mut found = None;
    let (mut depth, mut quoted) = (0i32, false);
    for (i, c) in p.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            _ if depth == 0 && !quoted && p[i..].starts_with(keyword) => {
                found = Some(i);
                if !last {
                    break;
                }
            }
            _ => {}
        }
    }
    found.map(|i| (&p[..i], &p[i + keyword.len()..]))
}

/// The dot-separated segments of a path, keeping calls (`where(a.b='c')`) and parenthesized
/// parts whole.
fn split_dots(p: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    for (i, c) in p.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            '.' if depth == 0 && !quoted => {
                out.push(p[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(p[start..].trim());
    out
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
        let ok = match &expr.cast {
            Some((at, ty)) if *at == i => *seg == format!("{name}{}", capitalized(ty)),
            // A choice element named without a type matches any of its types.
            _ if i + 1 == n => {
                seg == name
                    || seg
                        .strip_prefix(name.as_str())
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
            }
            _ => seg == name,
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
    let all = leaves(source);
    let out = targets_among(source, &all, param_type, paths)?;
    if out.is_empty() {
        let near: Vec<&str> = all
            .iter()
            .filter(|l| paths.iter().any(|p| match_len(p, &l.path).is_some()))
            .map(|l| l.el.written.as_str())
            .collect();
        if near.is_empty() {
            return Err("none of the elements it searches is mapped".to_string());
        }
        return Err(format!(
            "of what it searches only {} is mapped, and a {param_type} parameter does not compare that ({})",
            near.join(", "),
            compares(param_type)
        ));
    }
    Ok(out)
}

/// What a parameter of `param_type` compares, for messages.
fn compares(param_type: SearchParamType) -> &'static str {
    match param_type {
        SearchParamType::Token => {
            "it compares codes: a code, boolean, Identifier.value or Coding.code with its system, e.g. code.coding[0].code"
        }
        SearchParamType::String => "it compares string parts, e.g. name[0].family",
        SearchParamType::Date => {
            "it compares date, dateTime and instant elements, or a Period's start and end"
        }
        SearchParamType::Reference => "it compares references mapped with `reference = \"Type\"`",
        SearchParamType::Number => "it compares decimal and integer elements",
        SearchParamType::Quantity => "it compares a Quantity's value (with its system, code, unit)",
        SearchParamType::Uri => "it compares uri, url and canonical elements",
        _ => "its components",
    }
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
    while e.starts_with('(') && e.ends_with(')') && closing_of_first(e) == Some(e.len() - 1) {
        e = e[1..e.len() - 1].trim();
    }
    e
}

/// The index of the parenthesis that closes the one `e` starts with.
fn closing_of_first(e: &str) -> Option<usize> {
    let (mut depth, mut quoted) = (0i32, false);
    for (i, c) in e.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
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
    let mut out = Vec::new();
    let (plain, filtered): (Vec<&ExprPath>, Vec<&ExprPath>) =
        paths.iter().partition(|e| e.filters.is_empty());
    for expr in filtered {
        filtered_targets(source, all, param_type, expr, &mut out)?;
    }
    let mut matched: Vec<(Matched, &ExprPath)> = Vec::new();
    for expr in plain {
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
    match param_type {
        SearchParamType::Token => token_targets(&matched, &mut out)?,
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

/// The targets of a path with `.where(field='value')`: in each repetition of the element it
/// filters, the targets of the rest of the path, kept when the repetition's `field` is the
/// constant `value`, guarded when `field` is stored (a column, a value map), left out when it
/// is another constant or not mapped.
fn filtered_targets(
    source: &Source,
    all: &[Leaf],
    param_type: SearchParamType,
    expr: &ExprPath,
    out: &mut Vec<SearchTarget>,
) -> Result<(), String> {
    let filter = &expr.filters[0];
    let mut rest = expr.clone();
    rest.filters.remove(0);
    let base: Vec<&str> = expr.names[..filter.depth]
        .iter()
        .map(String::as_str)
        .collect();
    for (within, leaves) in repetitions(source, all, &base) {
        let guard = leaves.iter().find(|l| {
            l.path.len() == filter.depth + 1 && l.path[filter.depth].name == filter.field
        });
        let Some(guard) = guard else {
            continue;
        };
        let targets = targets_among(source, &leaves, param_type, std::slice::from_ref(&rest))?;
        if targets.is_empty() {
            continue;
        }
        let part = part_of(&Matched {
            leaf: guard,
            rel: &[],
        });
        match part {
            TokenPart::Const(c) if c == filter.value => out.extend(targets),
            TokenPart::Const(_) | TokenPart::Absent => {}
            _ if param_type == SearchParamType::Reference => {
                return Err(format!(
                    "its where({}='{}') compares a stored value, and chains and includes cannot follow such references (map '{}' as a constant in each repetition)",
                    filter.field, filter.value, filter.field
                ));
            }
            guard => out.push(SearchTarget::Guarded(GuardedTarget {
                within,
                guard,
                equals: filter.value.clone(),
                targets,
            })),
        }
    }
    Ok(())
}

/// `X.exists() and X != false` over the matched values of X: true when a boolean is true or
/// a value of another type is present.
fn truth_target(matched: &[(Matched, &ExprPath)]) -> Result<Option<SearchTarget>, String> {
    let leaves: Vec<(LeafRef, bool)> = matched
        .iter()
        .filter(|(m, e)| {
            e.truthy && m.rel.is_empty() && matches!(m.leaf.el.value, ElementValue::Sql { .. })
        })
        .map(|(m, _)| (m.leaf.at, m.leaf.el.fhir_type == "boolean"))
        .collect();
    let Some((first, _)) = leaves.first() else {
        return Ok(None);
    };
    if leaves.iter().any(|(l, _)| l.location != first.location) {
        return Err("its values are in different tables".into());
    }
    Ok(Some(SearchTarget::Token {
        system: TokenPart::Absent,
        code: TokenPart::Truth(leaves),
        display: TokenPart::Absent,
        of_type: None,
    }))
}

fn token_targets(
    matched: &[(Matched, &ExprPath)],
    out: &mut Vec<SearchTarget>,
) -> Result<(), String> {
    if let Some(t) = truth_target(matched)? {
        out.push(t);
    }
    let matched: Vec<(Matched, &ExprPath)> = matched
        .iter()
        .filter(|(_, e)| !e.truthy)
        .map(|(m, e)| {
            (
                Matched {
                    leaf: m.leaf,
                    rel: m.rel,
                },
                *e,
            )
        })
        .collect();
    let matched = matched.as_slice();
    // The element itself mapped in one go: a code, a boolean, or a value-mapped or prefixed
    // coding (also as the coding of a CodeableConcept the expression names).
    let whole = |m: &Matched| {
        m.rel.is_empty()
            || (m.rel.len() == 1 && m.rel[0].name == "coding" && m.leaf.el.fhir_type == "Coding")
    };
    for (m, _) in matched.iter().filter(|(m, _)| whole(m)) {
        let el = m.leaf.el;
        let target = match &el.value {
            ElementValue::Sql {
                convert: Convert::Prefixed { .. },
                ..
            } => SearchTarget::Token {
                system: TokenPart::Mapped(m.leaf.at, MapField::System),
                code: TokenPart::Mapped(m.leaf.at, MapField::Code),
                display: TokenPart::Absent,
                of_type: None,
            },
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
    Ok(())
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
        assert_eq!(p[0].cast, Some((0, "Quantity".to_string())));
        let p = parse_expression(
            "Condition.onset.as(dateTime) | Condition.onset.as(Period)",
            "Condition",
        )
        .unwrap();
        assert_eq!(p[1].cast, Some((0, "Period".to_string())));
        let p = parse_expression("Patient.name.family", "Patient").unwrap();
        assert_eq!(p[0].names, ["name", "family"]);
        assert!(parse_expression("Patient.extension('x').value", "Patient").is_err());
        assert!(parse_expression("Bundle.entry[0].resource", "Bundle").is_err());
        assert!(parse_expression("Practitioner.name", "Patient").is_err());
    }

    #[test]
    fn where_filters_truths_and_inner_casts_parse() {
        let p = parse_expression("Patient.telecom.where(system='phone')", "Patient").unwrap();
        assert_eq!(p[0].names, ["telecom"]);
        assert_eq!(
            p[0].filters,
            [PathFilter {
                depth: 1,
                field: "system".into(),
                value: "phone".into()
            }]
        );
        let p = parse_expression(
            "PlanDefinition.relatedArtifact.where(type='composed-of').resource",
            "PlanDefinition",
        )
        .unwrap();
        assert_eq!(p[0].names, ["relatedArtifact", "resource"]);
        assert_eq!(p[0].filters[0].depth, 1);
        let p = parse_expression(
            "Patient.deceased.exists() and Patient.deceased != false",
            "Patient",
        )
        .unwrap();
        assert!(p[0].truthy);
        assert_eq!(p[0].names, ["deceased"]);
        let p =
            parse_expression("(Observation.value as CodeableConcept).text", "Observation").unwrap();
        assert_eq!(p[0].names, ["value", "text"]);
        assert_eq!(p[0].cast, Some((0, "CodeableConcept".to_string())));
        let p = parse_expression("Condition.onset.ofType(Age)", "Condition").unwrap();
        assert_eq!(p[0].cast, Some((0, "Age".to_string())));
        // Custom paths start below the resource, in the same grammar.
        let p = parse_custom_path("(deceased as dateTime) | name.family", "Patient").unwrap();
        assert_eq!(p[0].names, ["deceased"]);
        assert_eq!(p[0].cast, Some((0, "dateTime".to_string())));
        assert_eq!(p[1].names, ["name", "family"]);
        let p = parse_custom_path("telecom.where(system = 'fax').value", "Patient").unwrap();
        assert_eq!(p[0].filters[0].value, "fax");
        assert!(parse_custom_path("telecom.where(system != 'fax')", "Patient").is_err());
        assert!(
            parse_expression("Patient.deceased.exists() and Patient.active", "Patient").is_err()
        );
    }

    #[test]
    fn every_r4_expression_parses_but_bundle_entry_indexes() {
        let defs = crate::fhir::Definitions::r4();
        let mut failed = Vec::new();
        for rt in defs.resource_types() {
            for p in defs.search_params(rt) {
                // Composites are read by `composite_targets`.
                if let Some(e) = &p.expression
                    && p.param_type != SearchParamType::Composite
                    && let Err(why) = parse_expression(e, rt)
                {
                    failed.push(format!("{rt}.{}: {why}", p.code));
                }
            }
        }
        // R4's own slips: Bundle's entry indexes, and InsurancePlan.name's `name | alias`
        // without the type.
        assert!(
            failed
                .iter()
                .all(|f| f.starts_with("Bundle.") || f.starts_with("InsurancePlan.name:")),
            "{failed:#?}"
        );
    }

    #[test]
    fn inner_casts_match_the_typed_choice_name() {
        let seg = |n: &str| PathSegment {
            name: n.into(),
            repeats: false,
            index: 0,
        };
        let p =
            parse_expression("(Observation.value as CodeableConcept).text", "Observation").unwrap();
        let cc_text = [seg("valueCodeableConcept"), seg("text")];
        assert_eq!(match_len(&p[0], &cc_text), Some(2));
        assert_eq!(match_len(&p[0], &[seg("valueString")]), None);
        assert_eq!(match_len(&p[0], &[seg("valueQuantity"), seg("text")]), None);
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
            ..ExprPath::default()
        };
        assert_eq!(match_len(&effective, &[seg("effectiveDateTime")]), Some(1));
        assert_eq!(
            match_len(&effective, &[seg("effectivePeriod"), seg("start")]),
            Some(1)
        );
        assert_eq!(match_len(&effective, &[seg("effects")]), None);
        let value_q = ExprPath {
            names: vec!["value".into()],
            cast: Some((0, "Quantity".into())),
            ..ExprPath::default()
        };
        assert_eq!(
            match_len(&value_q, &[seg("valueQuantity"), seg("value")]),
            Some(1)
        );
        assert_eq!(match_len(&value_q, &[seg("valueString")]), None);
    }
}
