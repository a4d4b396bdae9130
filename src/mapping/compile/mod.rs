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

mod element;
mod search;
mod source;
mod value;

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
pub(super) struct SourceHead {
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
pub(super) struct Scope<'s> {
    entry: String,
    own_alias: &'s str,
    join_aliases: Vec<&'s str>,
}

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
        ValueMap::new(name.to_string(), values, default)
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
}

pub(super) fn to_element_path(p: &ResolvedPath) -> ElementPath {
    p.segments
        .iter()
        .map(|s| PathSegment {
            name: s.name.clone(),
            repeats: s.repeats,
            index: s.index.unwrap_or(0),
        })
        .collect()
}

pub(super) fn path_error(line: usize, entry: &str, err: &PathError) -> MappingError {
    MappingError::new(line, entry, err.to_string())
        .hint("element paths follow FHIR R4 names, e.g. name[0].family, valueQuantity.value")
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
