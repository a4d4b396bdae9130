//! `[resource.search]`: standard and custom search parameters, bound to the mapped elements
//! they search.

use super::*;

impl Compiler<'_> {
    /// A custom parameter: `{ type, definition, path }` (a path in the mapped elements) or
    /// `{ type, definition, sql }` (an SQL condition on the source row, `?` standing for the
    /// search value).
    fn custom_param(
        &mut self,
        line: usize,
        entry: &str,
        t: &toml::Table,
    ) -> Option<(SearchParamType, String, CustomParam)> {
        const KEYS: &[&str] = &["type", "definition", "path", "sql", "modifiers"];
        if let Some(k) = t.keys().find(|k| !KEYS.contains(&k.as_str())) {
            let sug = suggestions(k, KEYS.iter().copied());
            self.error(
                MappingError::new(
                    line,
                    entry,
                    format!("unknown key '{k}'.{}", did_you_mean(&sug)),
                )
                .hint(
                    "a custom parameter takes type, definition, and path or sql (with modifiers)",
                ),
            );
            return None;
        }
        let ty = t.get("type").and_then(|x| x.as_str());
        let def = t.get("definition").and_then(|x| x.as_str());
        let path = t.get("path").and_then(|x| x.as_str());
        let sql = t.get("sql").and_then(|x| x.as_str());
        let ty = ty.and_then(SearchParamType::from_code);
        let (Some(ty), Some(def), true) = (ty, def, path.is_some() != sql.is_some()) else {
            self.error(
                MappingError::new(
                    line,
                    entry,
                    "a custom search parameter needs `type`, `definition`, and one of `path` or `sql`",
                )
                .hint(format!(
                    "type is one of {}; path names the element it searches, e.g. \"code\"; sql is a condition on the row with ? for the value, e.g. \"P.MRN = ?\"",
                    SearchParamType::ALL.map(SearchParamType::as_str).join(", ")
                )),
            );
            return None;
        };
        if let Some(path) = path {
            if t.contains_key("modifiers") {
                self.error(
                    MappingError::new(
                        line,
                        entry,
                        "`modifiers` are declared for an `sql` parameter only",
                    )
                    .hint("a `path` parameter takes the modifiers of its type: remove `modifiers`"),
                );
                return None;
            }
            return Some((ty, def.to_string(), CustomParam::Path(path.to_string())));
        }
        let sql = sql.unwrap_or_default();
        if !matches!(
            ty,
            SearchParamType::Token
                | SearchParamType::String
                | SearchParamType::Number
                | SearchParamType::Uri
        ) {
            self.error(
                MappingError::new(
                    line,
                    entry,
                    format!("an `sql` parameter cannot be of type {ty}"),
                )
                .hint("use type token, string, number or uri (or map the element and use `path`)"),
            );
            return None;
        }
        let params = crate::sql::placeholders(sql);
        if params == 0 {
            self.error(
                MappingError::new(
                    line,
                    entry,
                    "the `sql` condition has no ? for the search value",
                )
                .hint("write e.g. sql = \"P.MRN = ?\" (each ? receives the value)"),
            );
            return None;
        }
        let modifiers = self.sql_modifiers(line, entry, ty, t.get("modifiers"))?;
        Some((
            ty,
            def.to_string(),
            CustomParam::Sql(SqlCondition {
                sql: sql.to_string(),
                params,
                modifiers,
            }),
        ))
    }

    /// The `modifiers = { name = "condition" }` of an `sql` parameter of type `ty`: each a
    /// modifier its type can declare, with a `?` for the value (none for `missing`).
    fn sql_modifiers(
        &mut self,
        line: usize,
        entry: &str,
        ty: SearchParamType,
        value: Option<&toml::Value>,
    ) -> Option<Vec<SqlModifier>> {
        let Some(value) = value else {
            return Some(Vec::new());
        };
        let declarable = SqlCondition::declarable(ty);
        let example = "modifiers = { missing = \"P.MRN IS NULL\", contains = \"P.MRN LIKE '%' || ? || '%'\" }";
        let Some(table) = value.as_table() else {
            self.error(
                MappingError::new(line, entry, "`modifiers` is a table of conditions")
                    .hint(format!("write e.g. {example}")),
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (name, v) in table {
            let entry = format!("{entry}, modifier \"{name}\"");
            let Some(&code) = declarable.iter().find(|m| **m == name.as_str()) else {
                let why = match name.as_str() {
                    "not" => "`:not` negates the plain condition: it is not declared".to_string(),
                    "of-type" => "`:of-type` takes three values (system|code|value): an SQL condition has one".to_string(),
                    _ if declarable.is_empty() => format!("a {ty} parameter defined by SQL takes no modifier"),
                    _ => format!(
                        "not a modifier a {ty} parameter defined by SQL can declare{}",
                        did_you_mean(&suggestions(name, declarable.iter().copied()))
                    ),
                };
                self.error(MappingError::new(line, &entry, why).hint(format!(
                    "a {ty} parameter declares {}",
                    if declarable.is_empty() {
                        "none".to_string()
                    } else {
                        declarable.join(", ")
                    }
                )));
                ok = false;
                continue;
            };
            let Some(sql) = v.as_str().filter(|s| !s.trim().is_empty()) else {
                self.error(
                    MappingError::new(line, &entry, "a modifier's condition is SQL text")
                        .hint(format!("write e.g. {example}")),
                );
                ok = false;
                continue;
            };
            let params = crate::sql::placeholders(sql);
            let problem = match (code, params) {
                ("missing", 0) => None,
                ("missing", _) => Some((
                    "the `missing` condition takes no value: it has a ?",
                    "write the condition that holds when the resource has no value, e.g. \"P.MRN IS NULL\" (`:missing=false` negates it)",
                )),
                (_, 1..) => None,
                (_, 0) => Some((
                    "the condition has no ? for the search value",
                    "write e.g. contains = \"P.MRN LIKE '%' || ? || '%'\" (each ? receives the value)",
                )),
            };
            if let Some((what, hint)) = problem {
                self.error(MappingError::new(line, &entry, what).hint(hint));
                ok = false;
                continue;
            }
            out.push(SqlModifier {
                code,
                sql: sql.to_string(),
            });
        }
        ok.then_some(out)
    }

    pub(super) fn search_decls(
        &mut self,
        rt: &str,
        entry: &str,
        search: &IndexMap<String, Spanned<toml::Value>>,
        source: &Source,
    ) -> Vec<SearchDecl> {
        let mut out = Vec::new();
        for (code, v) in search {
            let line = self.line(v);
            let entry = format!("{entry}, search \"{code}\"");
            if let Some(what) = control_parameter(code) {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("'{code}' is not a search parameter but {what}: every search takes it, with no declaration"),
                    )
                    .hint(format!("remove this line; {code} works on the parameters declared here")),
                );
                continue;
            }
            let mut components = Vec::new();
            let mut custom = None;
            let (param_type, definition, expression) = match v.get_ref() {
                toml::Value::Boolean(true) => match self.defs.search_param(rt, code) {
                    Some(sp) => {
                        // Every component must be a parameter of this type (else none is kept).
                        let resolved: Option<Vec<_>> = sp
                            .components
                            .iter()
                            .map(|c| {
                                let p = self
                                    .defs
                                    .search_params(rt)
                                    .find(|p| p.url == c.definition)?;
                                Some(search_bind::ComponentSpec {
                                    code: p.code.clone(),
                                    param_type: p.param_type,
                                    expression: c.expression.clone(),
                                })
                            })
                            .collect();
                        components = resolved.unwrap_or_default();
                        (sp.param_type, sp.url.clone(), sp.expression.clone())
                    }
                    None => {
                        let sug =
                            suggestions(code, self.defs.search_params(rt).map(|p| p.code.as_str()));
                        self.error(
                            MappingError::new(
                                line,
                                &entry,
                                format!(
                                    "'{code}' is not a standard search parameter of {rt}.{}",
                                    did_you_mean(&sug)
                                ),
                            )
                            .hint("for a custom parameter write { type = \"token\", definition = \"http://...\", path = \"element.path\" }"),
                        );
                        continue;
                    }
                },
                toml::Value::Table(t) => match self.custom_param(line, &entry, t) {
                    Some((ty, def, how)) => {
                        custom = Some(how);
                        (ty, def, None)
                    }
                    None => continue,
                },
                _ => {
                    self.error(
                        MappingError::new(line, &entry, "expected `true` or a table")
                            .hint(format!("write {code} = true for the standard parameter")),
                    );
                    continue;
                }
            };
            let is_custom = custom.is_some();
            let targets = match code.as_str() {
                "_id" => Ok(vec![SearchTarget::Id]),
                "_lastUpdated" if source.last_updated.is_some() => {
                    Ok(vec![SearchTarget::LastUpdated])
                }
                "_lastUpdated" => Err("the source has no `last_updated`".to_string()),
                _ if param_type == SearchParamType::Composite => match (&expression, components.is_empty()) {
                    (Some(base), false) => {
                        search_bind::composite_targets(source, rt, base, &components)
                    }
                    _ => Err("only standard composite parameters whose components are standard parameters of the type can be declared".to_string()),
                },
                _ => match custom {
                    Some(CustomParam::Sql(sql)) => Ok(vec![SearchTarget::Sql(sql)]),
                    Some(CustomParam::Path(path)) => search_bind::parse_custom_path(&path, rt)
                        .and_then(|paths| search_bind::targets(source, param_type, &paths)),
                    None => expression
                        .ok_or_else(|| "it has no expression".to_string())
                        .and_then(|e| search_bind::parse_expression(&e, rt))
                        .and_then(|paths| search_bind::targets(source, param_type, &paths)),
                },
            };
            match targets {
                Ok(targets) => out.push(SearchDecl {
                    code: code.clone(),
                    line,
                    param_type,
                    definition,
                    targets,
                }),
                Err(why) => {
                    // An expression the grammar does not read cannot be fixed by mapping more.
                    let unreadable = why.starts_with("unsupported expression")
                        || why.starts_with("no path for")
                        || why == "it has no expression"
                        || why.ends_with("not supported yet");
                    let hint = if unreadable && is_custom {
                        "write the path in the grammar of docs/mapping.md §12 (no indexes: pick a repetition with .where(field='value'))"
                    } else if unreadable {
                        "this standard parameter cannot be declared (docs/mapping.md §12.3); remove it"
                    } else {
                        "map the element the parameter searches (see its FHIRPath expression), or remove the parameter"
                    };
                    self.error(
                        MappingError::new(
                            line,
                            &entry,
                            format!("'{code}' cannot be searched: {why}"),
                        )
                        .hint(hint),
                    )
                }
            }
        }
        out
    }
}

/// How a custom parameter finds its values.
enum CustomParam {
    /// Paths in the mapped elements.
    Path(String),
    /// An SQL condition on the source row.
    Sql(SqlCondition),
}

/// What a search control parameter (`_sort`, `_include`...) does, when `code` is one: such
/// parameters apply to every search and are never declared.
fn control_parameter(code: &str) -> Option<&'static str> {
    Some(match code {
        "_sort" => "the sort order",
        "_count" => "the page size",
        "_include" | "_revinclude" => "a request for related resources",
        "_summary" | "_elements" => "a choice of the returned elements",
        "_total" => "a request for the total",
        "_has" => "the reverse chain",
        "_format" | "_pretty" => "a response format",
        _ => return None,
    })
}
