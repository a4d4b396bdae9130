//! Raw mapping file → checked [`Mapping`], against the FHIR R4 definitions.
//!
//! Pure: no database access. Checks element paths and types, value maps against required
//! bindings, references between sources, ids and search parameter declarations. Every problem
//! is collected (not just the first) with its line and a suggested fix.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono_tz::Tz;
use indexmap::IndexMap;
use toml::Spanned;

use super::error::{MappingError, did_you_mean, line_of, suggestions};
use super::file::{ChildSection, MapSection, MappingFile, ResourceSection, SqlText};
use super::model::*;
use super::search_bind;
use crate::fhir::{BindingStrength, Definitions, PathError, ResolvedPath};
use crate::sql::Dialect;

/// Compiles the text of a mapping file for one SQL dialect.
pub fn compile(
    text: &str,
    defs: &Definitions,
    dialect: Dialect,
) -> Result<Mapping, Vec<MappingError>> {
    let (mapping, errors) = compile_partial(text, defs, dialect)?;
    if errors.is_empty() {
        Ok(mapping)
    } else {
        Err(errors)
    }
}

/// Compiles what can be compiled of a mapping file: the mapping without the parts that have
/// problems, and every problem (so that later checks can still run on the rest). `Err` when the
/// file is not even valid TOML of the expected shape.
pub fn compile_partial(
    text: &str,
    defs: &Definitions,
    dialect: Dialect,
) -> Result<(Mapping, Vec<MappingError>), Vec<MappingError>> {
    let file: MappingFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        vec![
            MappingError::new(line, "", e.message().trim().to_string())
                .hint("see docs/mapping.md for the file format"),
        ]
    })?;
    let mut cx = Compiler {
        text,
        defs,
        dialect,
        errors: Vec::new(),
        maps: IndexMap::new(),
        none_dates: Vec::new(),
    };
    let mapping = cx.compile_file(&file);
    Ok((mapping, cx.errors))
}

/// What a source looks like from other sources (for references).
struct SourceHead {
    name: String,
    resource_type: String,
    prefix: String,
}

struct Compiler<'a> {
    text: &'a str,
    defs: &'a Definitions,
    dialect: Dialect,
    errors: Vec<MappingError>,
    maps: IndexMap<String, Arc<ValueMap>>,
    /// `[settings] none_dates`.
    none_dates: Vec<String>,
}

/// The scope element values are read in: the relation alias and joinable aliases.
struct Scope<'s> {
    entry: String,
    own_alias: &'s str,
    join_aliases: Vec<&'s str>,
}

const ELEMENT_KEYS: &[&str] = &[
    "column",
    "expr",
    "constant",
    "type",
    "none",
    "map",
    "format",
    "reference",
    "required",
    "system_prefix",
];

impl<'a> Compiler<'a> {
    fn line<T>(&self, s: &Spanned<T>) -> usize {
        line_of(self.text, s.span().start)
    }

    fn error(&mut self, e: MappingError) {
        self.errors.push(e);
    }

    fn compile_file(&mut self, file: &MappingFile) -> Mapping {
        let timezone = match &file.settings.timezone {
            None => Tz::UTC,
            Some(tz) => tz.get_ref().parse::<Tz>().unwrap_or_else(|_| {
                let e = MappingError::new(
                    self.line(tz),
                    "[settings] timezone",
                    format!("unknown time zone '{}'", tz.get_ref()),
                )
                .hint("use an IANA zone name such as \"America/New_York\" or \"UTC\"");
                self.error(e);
                Tz::UTC
            }),
        };
        if let Some(none) = &file.settings.none_dates {
            self.none_dates = none.get_ref().clone();
        }
        for (name, section) in &file.maps {
            let map = self.compile_map(name, section);
            self.maps.insert(name.clone(), Arc::new(map));
        }
        if file.resource.is_empty() {
            self.error(
                MappingError::new(0, "", "the mapping has no [[resource]] entries")
                    .hint("add at least one [[resource]] with type, table and id"),
            );
        }
        let heads = self.source_heads(&file.resource);
        let mut sources = Vec::new();
        let mut types: IndexMap<String, Vec<usize>> = IndexMap::new();
        for (section, head) in file.resource.iter().zip(&heads) {
            if let Some(source) = self.compile_source(section, head, &heads) {
                types
                    .entry(source.resource_type.clone())
                    .or_default()
                    .push(sources.len());
                sources.push(source);
            }
        }
        Mapping {
            timezone,
            sources,
            types,
        }
    }

    /// Adds `[settings] none_dates` to the "no value" sentinels of a date value.
    fn add_none_dates(&self, v: &mut SqlValue) {
        for d in &self.none_dates {
            if !v.none().contains(d) {
                v.none_mut().push(d.clone());
            }
        }
    }

    fn compile_map(&mut self, name: &str, section: &Spanned<MapSection>) -> ValueMap {
        let entry = format!("[maps.{name}]");
        let sect = section.get_ref();
        let mut values = IndexMap::new();
        for (code, value) in &sect.values {
            if let Some(v) = self.map_value(&entry, value, sect.system.as_deref()) {
                values.insert(code.trim().to_string(), v);
            }
        }
        let default = sect
            .default
            .as_ref()
            .and_then(|d| self.map_value(&entry, d, sect.system.as_deref()));
        if values.is_empty() {
            let e = MappingError::new(self.line(section), entry, "the map has no values")
                .hint("add entries such as values = { M = \"male\", F = \"female\" }");
            self.error(e);
        }
        ValueMap {
            name: name.to_string(),
            values,
            default,
        }
    }

    fn map_value(
        &mut self,
        entry: &str,
        value: &Spanned<toml::Value>,
        system: Option<&str>,
    ) -> Option<MapValue> {
        let line = self.line(value);
        match value.get_ref() {
            toml::Value::String(code) => Some(match system {
                Some(sys) => MapValue::Coding {
                    system: Some(sys.to_string()),
                    code: code.clone(),
                    display: None,
                },
                None => MapValue::Scalar(serde_json::Value::String(code.clone())),
            }),
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                Some(MapValue::Scalar(toml_to_json(value.get_ref())))
            }
            toml::Value::Table(t) => {
                let unknown: Vec<&String> = t
                    .keys()
                    .filter(|k| !["code", "system", "display"].contains(&k.as_str()))
                    .collect();
                let code = t.get("code").and_then(|c| c.as_str());
                match (code, unknown.is_empty()) {
                    (Some(code), true) => Some(MapValue::Coding {
                        system: t
                            .get("system")
                            .and_then(|s| s.as_str())
                            .or(system)
                            .map(str::to_string),
                        code: code.to_string(),
                        display: t
                            .get("display")
                            .and_then(|s| s.as_str())
                            .map(str::to_string),
                    }),
                    _ => {
                        self.error(
                            MappingError::new(
                                line,
                                entry,
                                "a map entry table needs a string `code` and only `code`, `system`, `display`",
                            )
                            .hint("write e.g. { code = \"M\", system = \"http://...\", display = \"Married\" }"),
                        );
                        None
                    }
                }
            }
            other => {
                self.error(MappingError::new(
                    line,
                    entry,
                    format!("a map entry cannot be a {}", other.type_str()),
                ));
                None
            }
        }
    }

    /// Names, types and id prefixes of every source, checked for clashes.
    fn source_heads(&mut self, sections: &[Spanned<ResourceSection>]) -> Vec<SourceHead> {
        let mut count: HashMap<&str, usize> = HashMap::new();
        for s in sections {
            *count
                .entry(s.get_ref().resource_type.get_ref().as_str())
                .or_default() += 1;
        }
        let mut seen_names: HashSet<String> = HashSet::new();
        let mut ordinal: HashMap<&str, usize> = HashMap::new();
        let mut heads = Vec::new();
        for s in sections {
            let r = s.get_ref();
            let rt = r.resource_type.get_ref().as_str();
            let n = ordinal.entry(rt).or_default();
            *n += 1;
            let name = match &r.name {
                Some(name) => name.get_ref().clone(),
                None if count[rt] == 1 => rt.to_string(),
                None => format!("{rt}#{n}"),
            };
            if !seen_names.insert(name.clone()) {
                let e = MappingError::new(
                    self.line(s),
                    format!("resource \"{name}\""),
                    "another [[resource]] has the same name",
                )
                .hint("give each [[resource]] a unique `name`");
                self.error(e);
            }
            let prefix = match r.id.get_ref() {
                toml::Value::Table(t) => t
                    .get("prefix")
                    .and_then(|p| p.as_str())
                    .unwrap_or("")
                    .to_string(),
                _ => String::new(),
            };
            heads.push(SourceHead {
                name,
                resource_type: rt.to_string(),
                prefix,
            });
        }
        // Several sources of one type must be told apart by their id prefixes.
        for (i, (s, h)) in sections.iter().zip(&heads).enumerate() {
            if count[h.resource_type.as_str()] < 2 {
                continue;
            }
            let entry = format!("resource \"{}\" ({})", h.name, h.resource_type);
            if h.prefix.is_empty() {
                let e = MappingError::new(
                    self.line(s),
                    entry,
                    format!(
                        "{} has several sources, so each needs an id prefix",
                        h.resource_type
                    ),
                )
                .hint("write id = { column = \"...\", prefix = \"lab-\" } with a distinct prefix per source");
                self.error(e);
                continue;
            }
            for other in heads.iter().skip(i + 1) {
                if other.resource_type == h.resource_type
                    && !other.prefix.is_empty()
                    && (other.prefix.starts_with(&h.prefix) || h.prefix.starts_with(&other.prefix))
                {
                    let e = MappingError::new(
                        self.line(s),
                        entry.clone(),
                        format!(
                            "id prefix '{}' overlaps the prefix '{}' of source \"{}\"",
                            h.prefix, other.prefix, other.name
                        ),
                    )
                    .hint("choose prefixes where neither starts with the other");
                    self.error(e);
                }
            }
        }
        heads
    }

    fn sql_text(&mut self, line: usize, entry: &str, text: &SqlText) -> Option<String> {
        match text {
            SqlText::Any(s) => Some(s.clone()),
            SqlText::PerDialect(super::file::PerDialectSql {
                sqlite,
                postgres,
                mysql,
                default,
            }) => {
                let pick = self.dialect.choose(sqlite, postgres, mysql);
                match pick.as_ref().or(default.as_ref()) {
                    Some(s) => Some(s.clone()),
                    None => {
                        let key = self.dialect.key();
                        self.error(
                            MappingError::new(
                                line,
                                entry,
                                format!("no SQL given for {} (the database in use)", self.dialect),
                            )
                            .hint(format!("add `{key} = \"...\"` or `default = \"...\"`")),
                        );
                        None
                    }
                }
            }
        }
    }

    fn compile_source(
        &mut self,
        section: &Spanned<ResourceSection>,
        head: &SourceHead,
        heads: &[SourceHead],
    ) -> Option<Source> {
        let r = section.get_ref();
        let line = self.line(section);
        let rt = head.resource_type.clone();
        let entry = format!("resource \"{}\" ({rt})", head.name);
        if !self.defs.is_resource_type(&rt) {
            let sug = suggestions(&rt, self.defs.resource_types());
            let e = MappingError::new(
                self.line(&r.resource_type),
                entry,
                format!(
                    "'{rt}' is not a FHIR R4 resource type.{}",
                    did_you_mean(&sug)
                ),
            )
            .hint("use the exact resource type name, e.g. \"Patient\" or \"Observation\"");
            self.error(e);
            return None;
        }
        let (relation, default_alias) =
            self.relation(line, &entry, r.table.as_ref(), r.sql.as_ref(), "src")?;
        let alias = r
            .alias
            .as_ref()
            .map(|a| a.get_ref().clone())
            .unwrap_or(default_alias);
        self.check_alias(line, &entry, &alias);
        let mut joins = Vec::new();
        let mut aliases = vec![alias.clone()];
        for j in &r.join {
            let jl = self.line(j);
            let js = j.get_ref();
            if aliases.contains(js.alias.get_ref()) {
                self.error(
                    MappingError::new(
                        jl,
                        &entry,
                        format!("alias '{}' is used twice", js.alias.get_ref()),
                    )
                    .hint("give the source and each join a distinct alias"),
                );
            }
            aliases.push(js.alias.get_ref().clone());
            self.check_alias(jl, &entry, js.alias.get_ref());
            if let Some(on) = self.sql_text(jl, &entry, js.on.get_ref()) {
                joins.push(Join {
                    table: js.table.get_ref().clone(),
                    alias: js.alias.get_ref().clone(),
                    on,
                });
            }
        }
        let scope = Scope {
            entry: entry.clone(),
            own_alias: &alias,
            join_aliases: joins.iter().map(|j| j.alias.as_str()).collect(),
        };
        let id = self.id_mapping(&r.id, &scope);
        let filter = r
            .filter
            .as_ref()
            .and_then(|f| self.sql_text(self.line(f), &entry, f.get_ref()));
        let last_updated = r
            .last_updated
            .as_ref()
            .and_then(|v| self.sql_value(v, &scope, "last_updated"))
            .map(|mut v| {
                self.add_none_dates(&mut v);
                v
            });
        let version = r
            .version
            .as_ref()
            .and_then(|v| self.sql_value(v, &scope, "version"));

        let mut elements = Vec::new();
        let mut seen_paths = HashSet::new();
        for (path, value) in &r.elements {
            if let Some(el) = self.element(&rt, path, None, value, &scope, heads) {
                if !seen_paths.insert(el.path.clone()) {
                    let e = MappingError::new(
                        self.line(value),
                        format!("{entry}, element \"{path}\""),
                        "this element is mapped twice",
                    )
                    .hint("keep one mapping per element path; use indexes like name[1] for more items");
                    self.error(e);
                }
                elements.push(el);
            }
        }
        let mut children = Vec::new();
        for c in &r.child {
            if let Some(child) = self.child(&rt, c, &scope, heads) {
                children.push(child);
            }
        }
        let id = id?;
        for child in &mut children {
            // A child without `parent_key` refers to the parent's id value.
            if matches!(&child.parent_key, SqlValue::Column(c) if c.name.is_empty()) {
                child.parent_key = id.value.clone();
            }
        }
        let mut source = Source {
            name: head.name.clone(),
            resource_type: rt.clone(),
            line,
            relation,
            alias,
            joins,
            id,
            filter,
            last_updated,
            version,
            elements,
            children,
            search: Vec::new(),
        };
        source.search = self.search_decls(&rt, &entry, &r.search, &source);
        Some(source)
    }

    /// Aliases are written into SQL as they are, so they must be plain identifiers.
    fn check_alias(&mut self, line: usize, entry: &str, alias: &str) {
        let simple = alias
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !simple || RESERVED.contains(&alias.to_ascii_uppercase().as_str()) {
            self.error(
                MappingError::new(
                    line,
                    entry,
                    format!("'{alias}' cannot be used as an SQL alias"),
                )
                .hint("set `alias` to a plain name such as \"P\" (letters, digits, _; not an SQL keyword)"),
            );
        }
    }

    fn relation(
        &mut self,
        line: usize,
        entry: &str,
        table: Option<&Spanned<String>>,
        sql: Option<&Spanned<SqlText>>,
        sql_alias: &str,
    ) -> Option<(Relation, String)> {
        match (table, sql) {
            (Some(t), None) => {
                let name = t.get_ref().clone();
                let alias = name.rsplit('.').next().unwrap_or(&name).to_string();
                Some((Relation::Table(name), alias))
            }
            (None, Some(q)) => {
                let text = self.sql_text(self.line(q), entry, q.get_ref())?;
                Some((Relation::Query(text), sql_alias.to_string()))
            }
            (Some(_), Some(_)) => {
                self.error(
                    MappingError::new(line, entry, "both `table` and `sql` are given")
                        .hint("keep one: `table` for a table or view, `sql` for a query"),
                );
                None
            }
            (None, None) => {
                self.error(
                    MappingError::new(line, entry, "no `table` or `sql` says where rows come from")
                        .hint("add table = \"YOUR_TABLE\" (or sql = \"SELECT ...\")"),
                );
                None
            }
        }
    }

    fn column_ref(
        &mut self,
        line: usize,
        what: &str,
        text: &str,
        scope: &Scope,
    ) -> Option<ColumnRef> {
        let text = text.trim();
        let (qualifier, name) = match text.rsplit_once('.') {
            Some((q, n)) => (Some(q), n),
            None => (None, text),
        };
        if name.is_empty() {
            self.error(MappingError::new(
                line,
                format!("{}, {what}", scope.entry),
                "empty column name",
            ));
            return None;
        }
        let qualifier = match qualifier {
            None => None,
            Some(q) if q == scope.own_alias => None,
            Some(q) if scope.join_aliases.contains(&q) => Some(q.to_string()),
            Some(q) => {
                let mut known = vec![scope.own_alias];
                known.extend(scope.join_aliases.iter().copied());
                self.error(
                    MappingError::new(
                        line,
                        format!("{}, {what}", scope.entry),
                        format!("'{q}' in '{text}' is not the source alias or a join alias"),
                    )
                    .hint(format!(
                        "qualify columns with one of: {} (or use `expr` for SQL)",
                        known.join(", ")
                    )),
                );
                return None;
            }
        };
        Some(ColumnRef {
            qualifier,
            name: name.to_string(),
            info: ColumnInfo::default(),
            declared: None,
            none: Vec::new(),
        })
    }

    /// A column name (string) or `{ column = .. }` / `{ expr = .. }`.
    fn sql_value(
        &mut self,
        v: &Spanned<toml::Value>,
        scope: &Scope,
        what: &str,
    ) -> Option<SqlValue> {
        let line = self.line(v);
        match v.get_ref() {
            toml::Value::String(col) => self
                .column_ref(line, what, col, scope)
                .map(SqlValue::Column),
            toml::Value::Table(t) => {
                // `id` checks its own keys (it also takes `prefix`).
                let allowed: &[&str] = &["column", "expr", "type", "none"];
                if what != "id"
                    && let Some(k) = t.keys().find(|k| !allowed.contains(&k.as_str()))
                {
                    self.error(
                        MappingError::new(
                            line,
                            format!("{}, {what}", scope.entry),
                            format!("unknown key '{k}'"),
                        )
                        .hint(format!("{what} takes: {}", allowed.join(", "))),
                    );
                    return None;
                }
                self.sql_value_of_table(line, t, scope, what)
            }
            other => {
                self.error(
                    MappingError::new(
                        line,
                        format!("{}, {what}", scope.entry),
                        format!(
                            "expected a column name or a table, found a {}",
                            other.type_str()
                        ),
                    )
                    .hint("write \"COLUMN\", { column = \"COLUMN\" } or { expr = \"SQL\" }"),
                );
                None
            }
        }
    }

    fn sql_value_of_table(
        &mut self,
        line: usize,
        t: &toml::Table,
        scope: &Scope,
        what: &str,
    ) -> Option<SqlValue> {
        let declared = match t.get("type") {
            None => None,
            Some(ty) => match ty.as_str().and_then(SqlType::declared) {
                Some(ty) => Some(ty),
                None => {
                    let names: Vec<&str> = SqlType::DECLARABLE.iter().map(|t| t.name()).collect();
                    self.error(
                        MappingError::new(
                            line,
                            format!("{}, {what}", scope.entry),
                            format!("unknown type {ty}"),
                        )
                        .hint(format!("type is one of: {}", names.join(", "))),
                    );
                    return None;
                }
            },
        };
        let none = match t.get("none") {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(s) => out.push(s.clone()),
                        toml::Value::Integer(i) => out.push(i.to_string()),
                        other => {
                            self.error(
                                MappingError::new(
                                    line,
                                    format!("{}, {what}", scope.entry),
                                    format!("`none` holds a {}: only text and whole numbers can be stored values", other.type_str()),
                                )
                                .hint("write the stored values, e.g. none = [0, \"\", \"0000-00-00\"]"),
                            );
                            return None;
                        }
                    }
                }
                out
            }
            Some(_) => {
                self.error(
                    MappingError::new(
                        line,
                        format!("{}, {what}", scope.entry),
                        "`none` must be a list of the stored values that mean no value",
                    )
                    .hint("write e.g. none = [0, \"\"]"),
                );
                return None;
            }
        };
        let mut value = match (t.get("column"), t.get("expr")) {
            (Some(toml::Value::String(c)), None) => {
                let mut column = self.column_ref(line, what, c, scope)?;
                column.declared = declared;
                SqlValue::Column(column)
            }
            (None, Some(e)) => {
                let text: SqlText = match e.clone().try_into() {
                    Ok(t) => t,
                    Err(_) => {
                        self.error(
                            MappingError::new(
                                line,
                                format!("{}, {what}", scope.entry),
                                "`expr` must be SQL text or a table of per-dialect SQL",
                            )
                            .hint("write expr = \"...\" or expr = { sqlite = \"...\", default = \"...\" }"),
                        );
                        return None;
                    }
                };
                let entry = format!("{}, {what}", scope.entry);
                SqlValue::Expr(Expr::new(self.sql_text(line, &entry, &text)?, declared))
            }
            _ => {
                self.error(
                    MappingError::new(
                        line,
                        format!("{}, {what}", scope.entry),
                        "give exactly one of `column` (a string) or `expr`",
                    )
                    .hint("write { column = \"COLUMN\" } or { expr = \"SQL\" }"),
                );
                return None;
            }
        };
        *value.none_mut() = none;
        Some(value)
    }

    fn id_mapping(&mut self, v: &Spanned<toml::Value>, scope: &Scope) -> Option<IdMapping> {
        let line = self.line(v);
        if let toml::Value::Table(t) = v.get_ref() {
            for k in t.keys() {
                if !["column", "expr", "prefix", "type"].contains(&k.as_str()) {
                    self.error(
                        MappingError::new(
                            line,
                            format!("{}, id", scope.entry),
                            format!("unknown key '{k}'"),
                        )
                        .hint("id takes `column` or `expr`, and optionally `prefix` and `type`"),
                    );
                }
            }
            if let Some(p) = t.get("prefix").and_then(|p| p.as_str())
                && !is_id_text(p)
            {
                self.error(
                    MappingError::new(
                        line,
                        format!("{}, id", scope.entry),
                        format!("prefix '{p}' has characters a FHIR id cannot have"),
                    )
                    .hint("use letters, digits, '-' and '.' only, e.g. \"lab-\""),
                );
            }
        }
        let value = self.sql_value(v, scope, "id")?;
        let prefix = match v.get_ref() {
            toml::Value::Table(t) => t.get("prefix").and_then(|p| p.as_str()).unwrap_or(""),
            _ => "",
        };
        Some(IdMapping {
            value,
            prefix: prefix.to_string(),
        })
    }

    fn child(
        &mut self,
        rt: &str,
        c: &Spanned<ChildSection>,
        parent: &Scope,
        heads: &[SourceHead],
    ) -> Option<Child> {
        let cs = c.get_ref();
        let line = self.line(c);
        let written = cs.path.get_ref().clone();
        let entry = format!("{}, child \"{written}\"", parent.entry);
        let (relation, default_alias) =
            self.relation(line, &entry, cs.table.as_ref(), cs.sql.as_ref(), "child")?;
        let alias = cs
            .alias
            .as_ref()
            .map(|a| a.get_ref().clone())
            .unwrap_or(default_alias);
        self.check_alias(line, &entry, &alias);
        let path = match self.defs.resolve(rt, &written) {
            Ok(p) => p,
            Err(err) => {
                self.error(path_error(self.line(&cs.path), &entry, &err));
                return None;
            }
        };
        let last = path.segments.last()?;
        if !last.repeats || last.index.is_some() {
            self.error(
                MappingError::new(
                    self.line(&cs.path),
                    &entry,
                    format!("'{written}' must name a repeating element without an index"),
                )
                .hint(
                    "a child table feeds a list such as `telecom`, `identifier` or `name[0].given`",
                ),
            );
            return None;
        }
        let base = to_element_path(&path);
        let scope = Scope {
            entry: entry.clone(),
            own_alias: &alias,
            join_aliases: vec![],
        };
        let key = self.column_ref(self.line(&cs.key), "key", cs.key.get_ref(), &scope)?;
        let parent_key = match &cs.parent_key {
            Some(pk) => {
                let pl = self.line(pk);
                SqlValue::Column(self.column_ref(pl, "parent_key", pk.get_ref(), parent)?)
            }
            None => SqlValue::Column(ColumnRef {
                qualifier: None,
                name: String::new(),
                info: ColumnInfo::default(),
                declared: None,
                none: Vec::new(),
            }),
        };
        let filter = cs
            .filter
            .as_ref()
            .and_then(|f| self.sql_text(self.line(f), &entry, f.get_ref()));
        let mut elements = Vec::new();
        let mut seen = HashSet::new();
        for (p, value) in &cs.elements {
            if let Some(el) =
                self.element(rt, p, Some((&written, base.len())), value, &scope, heads)
            {
                if !seen.insert(el.path.clone()) {
                    let e = MappingError::new(
                        self.line(value),
                        format!("{entry}, element \"{p}\""),
                        "this element is mapped twice",
                    );
                    self.error(e);
                }
                elements.push(el);
            }
        }
        let value = match &cs.value {
            Some(v) => {
                let mut el = self.element(rt, &written, None, v, &scope, heads)?;
                el.path.clear();
                Some(el)
            }
            None => None,
        };
        if cs.value.is_some() != cs.elements.is_empty() {
            self.error(
                MappingError::new(
                    line,
                    &entry,
                    "a child needs either `elements` (for complex items) or `value` (for primitive items)",
                )
                .hint("e.g. [resource.child.elements] value = \"PHONE_NO\"  or  value = \"GIVEN_NM\""),
            );
            return None;
        }
        Some(Child {
            path: base,
            written,
            line,
            relation,
            alias,
            key,
            parent_key,
            filter,
            order_by: cs.order_by.as_ref().map(|o| o.get_ref().clone()),
            elements,
            value,
        })
    }

    /// Compiles one element. `item` is `(child path, number of its segments)` for child items,
    /// whose paths are relative to the item.
    fn element(
        &mut self,
        rt: &str,
        written: &str,
        item: Option<(&str, usize)>,
        value: &Spanned<toml::Value>,
        scope: &Scope,
        heads: &[SourceHead],
    ) -> Option<ElementMapping> {
        let line = self.line(value);
        let entry = format!("{}, element \"{written}\"", scope.entry);
        let full = match item {
            Some((base, _)) => format!("{base}.{written}"),
            None => written.to_string(),
        };
        let resolved = match self.defs.resolve(rt, &full) {
            Ok(p) => p,
            Err(err) => {
                self.error(path_error(line, &entry, &err));
                return None;
            }
        };
        let mut path = to_element_path(&resolved);
        if let Some((_, skip)) = item {
            path.drain(..skip);
        }
        let leaf = resolved.segments.last()?;
        let fhir_type = leaf.type_code.clone();

        let spec = match value.get_ref() {
            toml::Value::String(col) => {
                let mut t = toml::Table::new();
                t.insert("column".into(), toml::Value::String(col.clone()));
                t
            }
            toml::Value::Table(t) => t.clone(),
            other => {
                self.error(
                    MappingError::new(
                        line,
                        entry,
                        format!(
                            "expected a column name or a table, found a {}",
                            other.type_str()
                        ),
                    )
                    .hint(
                        "write \"COLUMN\", or { column = .. } / { expr = .. } / { constant = .. }",
                    ),
                );
                return None;
            }
        };
        for k in spec.keys() {
            if !ELEMENT_KEYS.contains(&k.as_str()) {
                let sug = suggestions(k, ELEMENT_KEYS.iter().copied());
                if sug.is_empty()
                    && !["column", "expr", "constant"]
                        .iter()
                        .any(|s| spec.contains_key(*s))
                {
                    // `name.family = ..` without quotes is a TOML table `name = { family = .. }`.
                    self.error(
                        MappingError::new(line, &entry, format!("unknown key '{k}'")).hint(
                            format!(
                                "an element path with dots must be quoted: \"{written}.{k}\" = ..."
                            ),
                        ),
                    );
                    return None;
                }
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("unknown key '{k}'.{}", did_you_mean(&sug)),
                    )
                    .hint(format!("an element takes: {}", ELEMENT_KEYS.join(", "))),
                );
                return None;
            }
        }
        let sources = ["column", "expr", "constant"]
            .iter()
            .filter(|k| spec.contains_key(**k))
            .count();
        if sources != 1 {
            self.error(
                MappingError::new(line, &entry, "give exactly one of `column`, `expr` or `constant`")
                    .hint("e.g. { column = \"LAST_NM\" }, { expr = \"TRIM(A) || B\" }, { constant = \"final\" }"),
            );
            return None;
        }
        let binding_codes = self.required_codes(leaf);
        let code_system = self.single_code_system(leaf);
        let required = match spec.get("required") {
            None => false,
            Some(toml::Value::Boolean(true))
                if resolved.segments.len() < 2 && !spec.contains_key("constant") =>
            {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        "`required` leaves out the element that contains this one, and a top-level element has none",
                    )
                    .hint("use `required` on a part, e.g. \"valueQuantity.value\"; leave it out here"),
                );
                false
            }
            Some(toml::Value::Boolean(b)) => *b,
            Some(_) => {
                self.error(
                    MappingError::new(line, &entry, "`required` must be true or false")
                        .hint("write required = true"),
                );
                false
            }
        };

        if let Some(constant) = spec.get("constant") {
            for k in [
                "map",
                "format",
                "reference",
                "required",
                "type",
                "none",
                "system_prefix",
            ] {
                if spec.contains_key(k) {
                    self.error(MappingError::new(
                        line,
                        &entry,
                        format!("`{k}` cannot be used with `constant`"),
                    ));
                }
            }
            let json = toml_to_json(constant);
            if Primitive::from_fhir(&fhir_type).is_none() && !json.is_object() {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("'{written}' is a {fhir_type}; a constant for it must be a table"),
                    )
                    .hint(format!(
                        "write its parts, e.g. {{ constant = {{ ... }} }}, or map the primitive parts such as {written}.<part>"
                    )),
                );
                return None;
            }
            if let Some(prim) = Primitive::from_fhir(&fhir_type)
                && !constant_fits(prim, &json)
            {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("the constant {json} does not fit the FHIR type {fhir_type}"),
                    )
                    .hint(constant_hint(prim)),
                );
                return None;
            }
            if let (Some((vs, codes)), Some(code)) = (&binding_codes, json.as_str())
                && !codes.iter().any(|c| c == code)
            {
                self.error(binding_error(line, &entry, code, vs, codes));
            }
            return Some(ElementMapping {
                path,
                written: written.to_string(),
                line,
                value: ElementValue::Constant(json),
                required: false,
                fhir_type,
                code_system,
            });
        }

        for (a, b) in [
            ("map", "reference"),
            ("format", "map"),
            ("format", "reference"),
            ("system_prefix", "map"),
            ("system_prefix", "reference"),
            ("system_prefix", "format"),
        ] {
            if spec.contains_key(a) && spec.contains_key(b) {
                self.error(
                    MappingError::new(line, &entry, format!("`{a}` and `{b}` cannot be combined"))
                        .hint(format!("keep one of `{a}` or `{b}`")),
                );
                return None;
            }
        }
        let mut sql =
            self.sql_value_of_table(line, &spec, scope, &format!("element \"{written}\""))?;
        if matches!(fhir_type.as_str(), "date" | "dateTime" | "instant") {
            self.add_none_dates(&mut sql);
        }
        let format = spec
            .get("format")
            .and_then(|f| f.as_str())
            .map(str::to_string);
        let convert = if let Some(target) = spec.get("reference") {
            let target = target.as_str().unwrap_or_default();
            if fhir_type != "Reference" {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("`reference` needs a Reference element, but '{written}' is a {fhir_type}"),
                    )
                    .hint("put the reference on an element of type Reference, e.g. subject"),
                );
                return None;
            }
            let matches: Vec<&SourceHead> = heads
                .iter()
                .filter(|h| h.name == target || h.resource_type == target)
                .collect();
            let by_name: Vec<&&SourceHead> = matches.iter().filter(|h| h.name == target).collect();
            let head = match (by_name.as_slice(), matches.as_slice()) {
                ([h], _) => **h,
                ([], [h]) => *h,
                ([], []) => {
                    let sug = suggestions(target, heads.iter().map(|h| h.name.as_str()));
                    self.error(
                        MappingError::new(
                            line,
                            &entry,
                            format!(
                                "reference target '{target}' is not a mapped resource.{}",
                                did_you_mean(&sug)
                            ),
                        )
                        .hint("name a resource type mapped in this file, or a [[resource]] name"),
                    );
                    return None;
                }
                _ => {
                    self.error(
                        MappingError::new(
                            line,
                            &entry,
                            format!("'{target}' has several sources; the reference must say which"),
                        )
                        .hint("use the `name` of one [[resource]] of that type as the reference target"),
                    );
                    return None;
                }
            };
            if !leaf.target_types.is_empty()
                && !leaf
                    .target_types
                    .iter()
                    .any(|t| t == &head.resource_type || t == "Resource")
            {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!(
                            "'{written}' cannot refer to a {}; allowed: {}",
                            head.resource_type,
                            leaf.target_types.join(", ")
                        ),
                    )
                    .hint("refer to one of the allowed resource types"),
                );
                return None;
            }
            Convert::Reference {
                resource_type: head.resource_type.clone(),
                prefix: head.prefix.clone(),
                source: head.name.clone(),
            }
        } else if let Some(map_name) = spec.get("map") {
            let map_name = map_name.as_str().unwrap_or_default();
            let Some(map) = self.maps.get(map_name).cloned() else {
                let sug = suggestions(map_name, self.maps.keys().map(String::as_str));
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("there is no value map '{map_name}'.{}", did_you_mean(&sug)),
                    )
                    .hint(format!(
                        "define it: [maps.{map_name}] values = {{ LEGACY = \"fhir-code\" }}"
                    )),
                );
                return None;
            };
            let target = match fhir_type.as_str() {
                "Coding" => MapTarget::Coding,
                "CodeableConcept" => MapTarget::CodeableConcept,
                t => match Primitive::from_fhir(t) {
                    Some(p) => MapTarget::Primitive(p),
                    None => {
                        self.error(
                            MappingError::new(
                                line,
                                &entry,
                                format!("a value map cannot fill a {t} element"),
                            )
                            .hint("map a code, Coding or CodeableConcept element (or a primitive part of it)"),
                        );
                        return None;
                    }
                },
            };
            if let MapTarget::Primitive(p) = target {
                for v in map.values.values().chain(map.default.iter()) {
                    let fits = match v {
                        MapValue::Scalar(json) => constant_fits(p, json),
                        MapValue::Coding { .. } => !matches!(
                            p,
                            Primitive::Boolean | Primitive::Integer | Primitive::Decimal
                        ),
                    };
                    if !fits {
                        self.error(
                            MappingError::new(
                                line,
                                &entry,
                                format!("value map '{map_name}' has entries that do not fit the FHIR type {fhir_type}"),
                            )
                            .hint(format!("[maps.{map_name}]: {}", constant_hint(p))),
                        );
                        return None;
                    }
                }
            }
            if let Some((vs, codes)) = &binding_codes {
                for v in map.values.values().chain(map.default.iter()) {
                    let code = match v {
                        MapValue::Coding { code, .. } => Some(code.as_str()),
                        MapValue::Scalar(s) => s.as_str(),
                    };
                    if let Some(code) = code
                        && !codes.iter().any(|c| c == code)
                    {
                        self.error(binding_error(line, &entry, code, vs, codes).hint(format!(
                            "change the entry of [maps.{map_name}] to one of: {}",
                            codes.join(", ")
                        )));
                    }
                }
            }
            Convert::Mapped { map, target }
        } else if let Some(sp) = spec.get("system_prefix") {
            let target = match fhir_type.as_str() {
                "Coding" => MapTarget::Coding,
                "CodeableConcept" => MapTarget::CodeableConcept,
                t => {
                    self.error(
                        MappingError::new(
                            line,
                            &entry,
                            format!("`system_prefix` fills a Coding or CodeableConcept, but '{written}' is a {t}"),
                        )
                        .hint("put it on the Coding, e.g. \"code.coding[0]\" = { column = .., system_prefix = .. }"),
                    );
                    return None;
                }
            };
            let prefix = self.system_prefix(line, &entry, sp)?;
            Convert::Prefixed {
                prefix: Arc::new(prefix),
                target,
            }
        } else {
            let Some(to) = Primitive::from_fhir(&fhir_type) else {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("'{written}' is a {fhir_type}; a column cannot fill it directly"),
                    )
                    .hint(complex_hint(written, &fhir_type)),
                );
                return None;
            };
            if format.is_some()
                && !matches!(
                    to,
                    Primitive::Date | Primitive::DateTime | Primitive::Instant | Primitive::Time
                )
            {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        "`format` only applies to date and time elements",
                    )
                    .hint("remove `format`"),
                );
            }
            if let Some(f) = &format
                && !valid_format(f)
            {
                self.error(
                    MappingError::new(line, &entry, format!("'{f}' is not a valid date format"))
                        .hint("use chrono strftime syntax, e.g. \"%Y%m%d\" or \"%m/%d/%Y %H:%M\""),
                );
            }
            Convert::Primitive {
                to,
                format,
                scale: None,
                trim: to == Primitive::Decimal && matches!(sql, SqlValue::Expr(_)),
            }
        };
        Some(ElementMapping {
            path,
            written: written.to_string(),
            line,
            value: ElementValue::Sql {
                value: sql,
                convert,
            },
            required,
            fhir_type,
            code_system,
        })
    }

    /// `system_prefix = { separator = ":", systems = { PREFIX = "url" } }`.
    fn system_prefix(&mut self, line: usize, entry: &str, v: &toml::Value) -> Option<SystemPrefix> {
        let hint = "write system_prefix = { separator = \":\", systems = { ICD10 = \"http://hl7.org/fhir/sid/icd-10-cm\" } }";
        let fail = |this: &mut Self, what: &str| {
            this.error(MappingError::new(line, entry, what.to_string()).hint(hint));
            None
        };
        let Some(t) = v.as_table() else {
            return fail(self, "`system_prefix` must be a table");
        };
        if let Some(k) = t.keys().find(|k| *k != "separator" && *k != "systems") {
            return fail(
                self,
                &format!("unknown key '{k}' in `system_prefix` (it takes separator and systems)"),
            );
        }
        let separator = match t.get("separator").and_then(|s| s.as_str()) {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => return fail(self, "`system_prefix` needs a non-empty `separator`"),
        };
        let Some(systems) = t.get("systems").and_then(|s| s.as_table()) else {
            return fail(
                self,
                "`system_prefix` needs `systems`: prefix = code system URL",
            );
        };
        let mut out = IndexMap::new();
        for (prefix, url) in systems {
            let url = match url.as_str() {
                Some(u) if u.contains(':') && !u.chars().any(char::is_whitespace) => u,
                _ => {
                    return fail(
                        self,
                        &format!("the system of prefix '{prefix}' must be a code system URL"),
                    );
                }
            };
            if prefix.is_empty() || prefix.contains(separator.as_str()) {
                return fail(
                    self,
                    &format!("prefix '{prefix}' must be non-empty and not contain the separator"),
                );
            }
            out.insert(prefix.clone(), url.to_string());
        }
        if out.is_empty() {
            return fail(
                self,
                "`system_prefix` needs at least one prefix in `systems`",
            );
        }
        Some(SystemPrefix {
            separator,
            systems: out,
        })
    }

    /// The codes of a required binding on `leaf`, when they can be enumerated.
    fn required_codes(&self, leaf: &crate::fhir::ResolvedSegment) -> Option<(String, Vec<String>)> {
        let binding = leaf.binding.as_ref()?;
        if binding.strength != BindingStrength::Required {
            return None;
        }
        let vs = binding.value_set.as_ref()?;
        let codes = self.defs.value_set_codes(vs)?;
        Some((vs.clone(), codes.iter().map(|c| c.code.clone()).collect()))
    }

    /// The one code system of a `code` element's required binding, if there is exactly one.
    fn single_code_system(&self, leaf: &crate::fhir::ResolvedSegment) -> Option<String> {
        let vs = leaf.binding.as_ref()?.value_set.as_ref()?;
        let codes = self.defs.value_set_codes(vs)?;
        let first = &codes.first()?.system;
        codes
            .iter()
            .all(|c| &c.system == first)
            .then(|| first.clone())
    }

    /// A custom parameter: `{ type, definition, path }` (a path in the mapped elements) or
    /// `{ type, definition, sql }` (an SQL condition on the source row, `?` standing for the
    /// search value).
    fn custom_param(
        &mut self,
        line: usize,
        entry: &str,
        t: &toml::Table,
    ) -> Option<(SearchParamType, String, CustomParam)> {
        const KEYS: &[&str] = &["type", "definition", "path", "sql"];
        if let Some(k) = t.keys().find(|k| !KEYS.contains(&k.as_str())) {
            let sug = suggestions(k, KEYS.iter().copied());
            self.error(
                MappingError::new(
                    line,
                    entry,
                    format!("unknown key '{k}'.{}", did_you_mean(&sug)),
                )
                .hint("a custom parameter takes type, definition, and path or sql"),
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
        Some((
            ty,
            def.to_string(),
            CustomParam::Sql(SqlCondition {
                sql: sql.to_string(),
                params,
            }),
        ))
    }

    fn search_decls(
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
                Err(why) => self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("'{code}' cannot be searched: {why}"),
                    )
                    .hint("map the element the parameter searches (see its FHIRPath expression), or remove the parameter"),
                ),
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

/// SQL keywords that cannot serve as unquoted aliases.
const RESERVED: &[&str] = &[
    "ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "CASE", "CHECK", "COLUMN", "CREATE", "CROSS",
    "DEFAULT", "DELETE", "DESC", "DISTINCT", "DROP", "ELSE", "END", "EXISTS", "FOR", "FROM",
    "FULL", "GROUP", "HAVING", "IN", "INDEX", "INNER", "INSERT", "INTO", "IS", "JOIN", "KEY",
    "LEFT", "LIKE", "LIMIT", "NOT", "NULL", "ON", "OR", "ORDER", "OUTER", "PRIMARY", "RIGHT",
    "SELECT", "SET", "TABLE", "THEN", "TO", "UNION", "UNIQUE", "UPDATE", "USER", "USING", "VALUES",
    "WHEN", "WHERE", "WITH",
];

fn to_element_path(p: &ResolvedPath) -> ElementPath {
    p.segments
        .iter()
        .map(|s| PathSegment {
            name: s.name.clone(),
            repeats: s.repeats,
            index: s.index.unwrap_or(0),
        })
        .collect()
}

fn path_error(line: usize, entry: &str, err: &PathError) -> MappingError {
    MappingError::new(line, entry, err.to_string())
        .hint("element paths follow FHIR R4 names, e.g. name[0].family, valueQuantity.value")
}

fn binding_error(line: usize, entry: &str, code: &str, vs: &str, codes: &[String]) -> MappingError {
    MappingError::new(
        line,
        entry,
        format!("'{code}' is not in the required value set {vs}"),
    )
    .hint(format!("use one of: {}", codes.join(", ")))
}

fn complex_hint(written: &str, fhir_type: &str) -> String {
    match fhir_type {
        "Reference" => {
            format!("write {{ column = \"KEY\", reference = \"Patient\" }} for '{written}'")
        }
        "CodeableConcept" | "Coding" => format!(
            "use a value map ({{ column = \"CD\", map = \"name\" }}) or map its parts, e.g. {written}.coding[0].code"
        ),
        "Quantity" => format!("map its parts, e.g. {written}.value and {written}.unit"),
        "HumanName" => format!("map its parts, e.g. {written}.family and {written}.given[0]"),
        _ => format!("map the primitive parts of this {fhir_type}, e.g. {written}.<part>"),
    }
}

fn constant_fits(prim: Primitive, v: &serde_json::Value) -> bool {
    match prim {
        Primitive::Boolean => v.is_boolean(),
        Primitive::Integer => v.is_i64() || v.is_u64(),
        Primitive::Decimal => v.is_number(),
        _ => v.is_string(),
    }
}

fn constant_hint(prim: Primitive) -> &'static str {
    match prim {
        Primitive::Boolean => "write constant = true or constant = false",
        Primitive::Integer => "write a whole number, e.g. constant = 1",
        Primitive::Decimal => "write a number, e.g. constant = 1.5",
        _ => "write a string, e.g. constant = \"final\"",
    }
}

fn valid_format(f: &str) -> bool {
    use chrono::format::{Item, StrftimeItems};
    !StrftimeItems::new(f).any(|i| matches!(i, Item::Error))
}

/// Whether `s` only has characters allowed in a FHIR id.
pub fn is_id_text(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// TOML value → JSON value.
pub fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => serde_json::Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
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
