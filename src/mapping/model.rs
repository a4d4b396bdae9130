//! The checked, typed mapping the rest of the server works from.
//!
//! Built by [`super::compile`] from the raw file and completed by [`super::schema_check`]
//! (which replaces column names by the database's real spelling). Every SQL fragment in here
//! comes from the mapping file, never from a request; per-dialect SQL is already resolved for
//! the dialect the mapping was compiled for.

use super::shape::Shape;
use std::sync::Arc;

use chrono_tz::Tz;
use indexmap::IndexMap;

pub use crate::fhir::SearchParamType;
use crate::sql::Value;
pub use crate::sql::{ColumnInfo, SqlType};

/// The whole mapping: every source of every mapped resource type.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Time zone of naive timestamps.
    pub timezone: Tz,
    /// All sources, in file order.
    pub sources: Vec<Source>,
    /// Resource type → indexes into `sources`, in file order.
    pub types: IndexMap<String, Vec<usize>>,
}

impl Mapping {
    /// The mapped resource types, in file order.
    pub fn resource_types(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }

    /// Whether `resource_type` is mapped.
    pub fn has_type(&self, resource_type: &str) -> bool {
        self.types.contains_key(resource_type)
    }

    /// The sources of a resource type.
    pub fn sources_of<'a>(&'a self, resource_type: &str) -> impl Iterator<Item = &'a Source> {
        self.types
            .get(resource_type)
            .into_iter()
            .flatten()
            .map(|&i| &self.sources[i])
    }

    /// The source that serves logical id `id` of `resource_type` (longest matching prefix),
    /// with the id's remainder after the prefix.
    pub fn source_for_id<'a, 'b>(
        &'a self,
        resource_type: &str,
        id: &'b str,
    ) -> Option<(&'a Source, &'b str)> {
        self.sources_of(resource_type)
            .filter(|s| id.starts_with(&s.id.prefix) && id.len() > s.id.prefix.len())
            .max_by_key(|s| s.id.prefix.len())
            .map(|s| (s, &id[s.id.prefix.len()..]))
    }

    /// The source that serves `resource_type`/`id` and the key of its row, when a source
    /// could have it.
    pub fn locate<'a>(&'a self, resource_type: &str, id: &str) -> Option<(&'a Source, Value)> {
        let (source, rest) = self.source_for_id(resource_type, id)?;
        Some((source, source.key_for(rest)?))
    }

    /// A source by its unique name.
    pub fn source_by_name(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }
}

/// Where rows come from: a table (or view), or a SELECT query.
#[derive(Debug, Clone)]
pub enum Relation {
    /// A table or view, written as in the database (may be schema-qualified).
    Table(String),
    /// A SELECT query, used as a derived table.
    Query(String),
}

/// A column of a relation, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    /// Alias of a joined table, or `None` for the source (or child) relation itself.
    pub qualifier: Option<String>,
    /// Column name; after the schema check, the database's own spelling.
    pub name: String,
    /// What the database says of the column (filled by the schema check).
    pub info: ColumnInfo,
    /// The type the mapping declares for it (`type = "..."`), checked against the database's.
    pub declared: Option<SqlType>,
    /// Stored values that mean "no value" (`none = [0, ""]`), as text.
    pub none: Vec<String>,
}

/// An SQL expression from the mapping, and what it yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// The SQL text (the dialect's variant).
    pub sql: String,
    /// The type the mapping declares for it (`type = "..."`).
    pub declared: Option<SqlType>,
    /// What it yields: the declared type, refined (or supplied) at start-up by what the
    /// database reports of the probe query's column.
    pub info: ColumnInfo,
    /// Values it yields that mean "no value" (`none = [0, ""]`), as text.
    pub none: Vec<String>,
}

impl Expr {
    /// An expression of the declared type `declared` (if any).
    pub fn new(sql: String, declared: Option<SqlType>) -> Expr {
        Expr {
            sql,
            declared,
            info: ColumnInfo::of(declared.unwrap_or_default()),
            none: Vec::new(),
        }
    }
}

/// A value computed by SQL for each row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    /// A column.
    Column(ColumnRef),
    /// An SQL expression from the mapping.
    Expr(Expr),
}

impl SqlValue {
    /// What is known of the column or expression (filled at start-up).
    pub fn column_info(&self) -> Option<&ColumnInfo> {
        match self {
            SqlValue::Column(c) => Some(&c.info),
            SqlValue::Expr(e) => Some(&e.info),
        }
    }

    /// What the column or expression holds.
    pub fn sql_type(&self) -> SqlType {
        self.column_info().map(|i| i.sql_type).unwrap_or_default()
    }

    /// The type the mapping declares for it.
    pub fn declared(&self) -> Option<SqlType> {
        match self {
            SqlValue::Column(c) => c.declared,
            SqlValue::Expr(e) => e.declared,
        }
    }

    /// Stored values that mean "no value" (`none`), as text.
    pub fn none(&self) -> &[String] {
        match self {
            SqlValue::Column(c) => &c.none,
            SqlValue::Expr(e) => &e.none,
        }
    }

    /// The list of stored values that mean "no value", to add to.
    pub fn none_mut(&mut self) -> &mut Vec<String> {
        match self {
            SqlValue::Column(c) => &mut c.none,
            SqlValue::Expr(e) => &mut e.none,
        }
    }

    /// Whether `v`, read from this column or expression, is one of its "no value" sentinels
    /// (compared as text, blanks trimmed: the integer 0 is the sentinel `0`).
    pub fn is_none_value(&self, v: &Value) -> bool {
        let none = self.none();
        !none.is_empty()
            && v.key_str()
                .is_some_and(|t| none.iter().any(|s| s.trim() == t.trim()))
    }
}

/// A left-joined lookup table.
#[derive(Debug, Clone)]
pub struct Join {
    /// The table, as written.
    pub table: String,
    /// Its alias.
    pub alias: String,
    /// The ON condition.
    pub on: String,
}

/// How a logical id is formed: `prefix` + the value of `value`.
#[derive(Debug, Clone)]
pub struct IdMapping {
    /// The key column or expression.
    pub value: SqlValue,
    /// Text put before the key (distinguishes several sources of one type).
    pub prefix: String,
}

impl IdMapping {
    /// Whether the key is an integer (request ids that are not digits cannot match).
    pub fn integer(&self) -> bool {
        self.value.sql_type() == SqlType::Integer
    }
}

/// One segment of an element path: `name[index]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathSegment {
    /// JSON property name (choice types resolved, e.g. `valueQuantity`).
    pub name: String,
    /// Whether the element repeats (a JSON array).
    pub repeats: bool,
    /// Array index for repeating elements.
    pub index: usize,
}

/// A checked element path inside a resource or inside a repeated item.
pub type ElementPath = Vec<PathSegment>;

/// The FHIR primitive types a value can be converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    /// string, markdown, id, oid, uuid, uri, url, canonical, base64Binary, xhtml
    String,
    /// code
    Code,
    /// boolean
    Boolean,
    /// integer, unsignedInt, positiveInt
    Integer,
    /// decimal
    Decimal,
    /// date
    Date,
    /// dateTime
    DateTime,
    /// instant
    Instant,
    /// time
    Time,
}

impl Primitive {
    /// The primitive for a FHIR type code, if it is a primitive.
    pub fn from_fhir(code: &str) -> Option<Primitive> {
        Some(match code {
            "string" | "markdown" | "id" | "oid" | "uuid" | "uri" | "url" | "canonical"
            | "base64Binary" | "xhtml" => Primitive::String,
            "code" => Primitive::Code,
            "boolean" => Primitive::Boolean,
            "integer" | "unsignedInt" | "positiveInt" => Primitive::Integer,
            "decimal" => Primitive::Decimal,
            "date" => Primitive::Date,
            "dateTime" => Primitive::DateTime,
            "instant" => Primitive::Instant,
            "time" => Primitive::Time,
            _ => return None,
        })
    }
}

/// A value map entry's FHIR value.
#[derive(Debug, Clone, PartialEq)]
pub enum MapValue {
    /// A plain value (code, string, number, boolean).
    Scalar(serde_json::Value),
    /// A coding.
    Coding {
        /// Code system.
        system: Option<String>,
        /// Code.
        code: String,
        /// Display text.
        display: Option<String>,
    },
}

impl MapValue {
    /// The part of the entry a token part reads (`None`: the entry has no such part).
    pub fn field(&self, field: MapField) -> Option<String> {
        match (self, field) {
            (MapValue::Scalar(s), MapField::Code) => Some(match s {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            (MapValue::Scalar(_), _) => None,
            (MapValue::Coding { system, .. }, MapField::System) => system.clone(),
            (MapValue::Coding { code, .. }, MapField::Code) => Some(code.clone()),
            (MapValue::Coding { display, .. }, MapField::Display) => display.clone(),
        }
    }
}

/// A named value map: legacy code → FHIR value.
#[derive(Debug, Clone)]
pub struct ValueMap {
    /// The map's name.
    pub name: String,
    /// Entries, keyed by the trimmed legacy code (hashed with foldhash: a map is looked up
    /// for every mapped value of every row).
    pub values: IndexMap<String, MapValue, foldhash::fast::RandomState>,
    /// Used for codes that are not listed.
    pub default: Option<MapValue>,
    /// Each entry, then the default, as each [`MapTarget`] writes it ([`MapTarget::slot`]):
    /// made once, so that a resource borrows its mapped values instead of building them.
    rendered: Vec<[serde_json::Value; 3]>,
    /// Each rendering as compact JSON, written as it is where a resource is written straight
    /// to bytes.
    texts: Vec<[Box<str>; 3]>,
}

impl ValueMap {
    /// A map of `values` (keyed by the trimmed code) with `default` for unlisted codes.
    pub fn new(
        name: String,
        values: IndexMap<String, MapValue>,
        default: Option<MapValue>,
    ) -> ValueMap {
        let rendered = values
            .values()
            .chain(&default)
            .map(|v| {
                [
                    v.render(MapTarget::Primitive(Primitive::Code)),
                    v.render(MapTarget::Coding),
                    v.render(MapTarget::CodeableConcept),
                ]
            })
            .collect::<Vec<_>>();
        let texts = rendered
            .iter()
            .map(|r: &[serde_json::Value; 3]| r.each_ref().map(|v| v.to_string().into()))
            .collect();
        ValueMap {
            name,
            values: values.into_iter().collect(),
            default,
            rendered,
            texts,
        }
    }

    /// The FHIR value of the trimmed code `key` (its entry, else the default) at a `target`.
    pub fn lookup(&self, key: &str, target: MapTarget) -> Option<&serde_json::Value> {
        self.lookup_with_text(key, target).map(|(v, _)| v)
    }

    /// [`ValueMap::lookup`], with the value as compact JSON.
    pub fn lookup_with_text(
        &self,
        key: &str,
        target: MapTarget,
    ) -> Option<(&serde_json::Value, &str)> {
        let i = match self.values.get_index_of(key) {
            Some(i) => i,
            None if self.default.is_some() => self.values.len(),
            None => return None,
        };
        let slot = target.slot();
        Some((&self.rendered[i][slot], &self.texts[i][slot]))
    }

    /// Whether `key` has an entry of its own.
    pub fn lists(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }
}

impl MapTarget {
    /// Its place in [`ValueMap`]'s renderings.
    fn slot(self) -> usize {
        match self {
            MapTarget::Primitive(_) => 0,
            MapTarget::Coding => 1,
            MapTarget::CodeableConcept => 2,
        }
    }
}

impl MapValue {
    /// The entry as `target` writes it: its code (or scalar) for a primitive, else a Coding,
    /// or a CodeableConcept with that one coding.
    pub fn render(&self, target: MapTarget) -> serde_json::Value {
        use serde_json::{Map, Value as Json};
        let coding = || {
            let mut m = Map::new();
            match self {
                MapValue::Scalar(s) => {
                    let code = match s {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    m.insert("code".into(), Json::String(code));
                }
                MapValue::Coding {
                    system,
                    code,
                    display,
                } => {
                    if let Some(s) = system {
                        m.insert("system".into(), Json::String(s.clone()));
                    }
                    m.insert("code".into(), Json::String(code.clone()));
                    if let Some(d) = display {
                        m.insert("display".into(), Json::String(d.clone()));
                    }
                }
            }
            m
        };
        match (target, self) {
            (MapTarget::Primitive(_), MapValue::Scalar(s)) => s.clone(),
            (MapTarget::Primitive(_), MapValue::Coding { code, .. }) => Json::String(code.clone()),
            (MapTarget::Coding, _) => Json::Object(coding()),
            (MapTarget::CodeableConcept, _) => {
                let mut cc = Map::new();
                cc.insert("coding".into(), Json::Array(vec![Json::Object(coding())]));
                Json::Object(cc)
            }
        }
    }
}

/// What shape a mapped value takes at its element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapTarget {
    /// A primitive element: the entry's code (or scalar).
    Primitive(Primitive),
    /// A Coding.
    Coding,
    /// A CodeableConcept with one coding.
    CodeableConcept,
}

/// Code systems told apart by a prefix of the stored code (`system_prefix`): `ICD10:E11.9` is
/// code `E11.9` of the system the prefix `ICD10` names. A value with no known prefix is a code
/// without a system, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemPrefix {
    /// What separates the prefix from the code (`:`).
    pub separator: String,
    /// Prefix → code system URL (case-sensitive).
    pub systems: IndexMap<String, String>,
}

impl SystemPrefix {
    /// The system and code a stored value stands for (`v` trimmed).
    pub fn split<'a>(&'a self, v: &'a str) -> (Option<&'a str>, &'a str) {
        let v = v.trim();
        if let Some((prefix, code)) = v.split_once(self.separator.as_str())
            && !code.is_empty()
            && let Some(system) = self.systems.get(prefix)
        {
            return (Some(system), code);
        }
        (None, v)
    }

    /// The prefixes of code system `system`, each with its separator (`ICD10:`).
    pub fn prefixes_of<'a>(&'a self, system: &'a str) -> impl Iterator<Item = String> + 'a {
        self.systems
            .iter()
            .filter(move |(_, url)| *url == system)
            .map(|(p, _)| format!("{p}{}", self.separator))
    }

    /// The stored values that stand for `code` of `system` (`None`: any system, or none;
    /// `Some("")`: no system).
    pub fn stored(&self, system: Option<&str>, code: &str) -> Vec<String> {
        let mut out = Vec::new();
        let bare_reads_as_is = self.split(code) == (None, code.trim());
        match system {
            Some("") => {
                if bare_reads_as_is {
                    out.push(code.to_string());
                }
            }
            Some(s) => out.extend(self.prefixes_of(s).map(|p| format!("{p}{code}"))),
            None => {
                out.extend(
                    self.systems
                        .keys()
                        .map(|p| format!("{p}{}{code}", self.separator)),
                );
                if bare_reads_as_is {
                    out.push(code.to_string());
                }
            }
        }
        out
    }
}

/// How a database value becomes the element's JSON.
#[derive(Debug, Clone)]
pub enum Convert {
    /// Converted to a primitive; `format` parses text dates (chrono strftime syntax).
    Primitive {
        /// Target type.
        to: Primitive,
        /// Text date/time format, e.g. `%Y%m%d`.
        format: Option<String>,
        /// Decimal places declared by the column (`DECIMAL(8,2)`), for databases such as
        /// SQLite that store such values as plain numbers; set by the schema check.
        scale: Option<u32>,
        /// A decimal computed by an expression is written without trailing zeros: the
        /// databases disagree on the scale of computed values (`CAST(x AS DECIMAL(12,4))` is
        /// 6.5000 on PostgreSQL, 6.5 on SQLite). Text keeps its digits.
        trim: bool,
    },
    /// Looked up in a value map.
    Mapped {
        /// The map.
        map: Arc<ValueMap>,
        /// Target shape.
        target: MapTarget,
    },
    /// A Coding or CodeableConcept whose code system is told by a prefix of the stored code.
    Prefixed {
        /// The prefixes and their systems.
        prefix: Arc<SystemPrefix>,
        /// Target shape ([`MapTarget::Coding`] or [`MapTarget::CodeableConcept`]).
        target: MapTarget,
    },
    /// A Reference to another mapped resource: `{"reference": "Type/<prefix><value>"}`.
    Reference {
        /// Target resource type.
        resource_type: String,
        /// Target source's id prefix.
        prefix: String,
        /// Target source's name (the one source whose ids the values are).
        source: String,
    },
}

/// The value of one mapped element.
#[derive(Debug, Clone)]
pub enum ElementValue {
    /// A constant from the mapping.
    Constant(serde_json::Value),
    /// Computed from each row.
    Sql {
        /// The column or expression.
        value: SqlValue,
        /// The conversion to FHIR.
        convert: Convert,
    },
}

/// One element of a resource (or of a child item) and where its value comes from.
#[derive(Debug, Clone)]
pub struct ElementMapping {
    /// Where it goes.
    pub path: ElementPath,
    /// The path as written in the mapping (for messages).
    pub written: String,
    /// 1-based line in the mapping file.
    pub line: usize,
    /// Where its value comes from.
    pub value: ElementValue,
    /// When the value is absent, leave out the element that contains it.
    pub required: bool,
    /// The FHIR type of the element (`date`, `code`, `CodeableConcept`, `Reference`...).
    pub fhir_type: String,
    /// For a `code` element with a required binding to one code system: that system (token
    /// searches with `system|code` compare against it).
    pub code_system: Option<String>,
}

impl ElementMapping {
    /// The column or expression its value is read from (`None` for a constant).
    pub fn sql_value(&self) -> Option<&SqlValue> {
        match &self.value {
            ElementValue::Sql { value, .. } => Some(value),
            ElementValue::Constant(_) => None,
        }
    }

    /// What the database says of its column (`None` for an expression or a constant).
    pub fn column_info(&self) -> Option<&ColumnInfo> {
        self.sql_value().and_then(SqlValue::column_info)
    }

    /// The text format of a date stored as text (`format = "%Y%m%d"`).
    pub fn text_format(&self) -> Option<&str> {
        match &self.value {
            ElementValue::Sql {
                convert: Convert::Primitive { format, .. },
                ..
            } => format.as_deref(),
            _ => None,
        }
    }

    /// The value map that translates its legacy codes.
    pub fn value_map(&self) -> Option<&ValueMap> {
        match &self.value {
            ElementValue::Sql {
                convert: Convert::Mapped { map, .. },
                ..
            } => Some(map),
            _ => None,
        }
    }

    /// The code-system prefixes of a value read as `system_prefix` says.
    pub fn system_prefix(&self) -> Option<&SystemPrefix> {
        match &self.value {
            ElementValue::Sql {
                convert: Convert::Prefixed { prefix, .. },
                ..
            } => Some(prefix),
            _ => None,
        }
    }

    /// For a reference: the type it refers to and the id prefix of the target source.
    pub fn reference_target(&self) -> Option<(&str, &str)> {
        match &self.value {
            ElementValue::Sql {
                convert:
                    Convert::Reference {
                        resource_type,
                        prefix,
                        ..
                    },
                ..
            } => Some((resource_type, prefix)),
            _ => None,
        }
    }
}

/// A child table feeding a repeating element.
#[derive(Debug, Clone)]
pub struct Child {
    /// The repeating element (last segment repeats; its index is where items start).
    pub path: ElementPath,
    /// The path as written.
    pub written: String,
    /// 1-based line in the mapping file.
    pub line: usize,
    /// The child relation.
    pub relation: Relation,
    /// Alias of the child relation.
    pub alias: String,
    /// Column of the child relation referring to the parent.
    pub key: ColumnRef,
    /// Value in the parent source the key refers to.
    pub parent_key: SqlValue,
    /// Row condition.
    pub filter: Option<String>,
    /// ORDER BY text.
    pub order_by: Option<String>,
    /// Item elements (paths relative to the item).
    pub elements: Vec<ElementMapping>,
    /// For repeating primitives: the item value (its path is empty).
    pub value: Option<ElementMapping>,
}

/// A search parameter declared for a source, with the mapped values that back it.
#[derive(Debug, Clone)]
pub struct SearchDecl {
    /// Parameter code as used in URLs.
    pub code: String,
    /// 1-based line of its declaration in the mapping file (0: made by the server).
    pub line: usize,
    /// FHIR search parameter type (token, string, date, ...).
    pub param_type: SearchParamType,
    /// Canonical URL of its definition.
    pub definition: String,
    /// What the parameter searches in this source.
    pub targets: Vec<SearchTarget>,
}

impl SearchDecl {
    /// Whether the parameter is defined by SQL conditions alone (`sql = "..."`).
    pub fn is_sql_defined(&self) -> bool {
        !self.targets.is_empty()
            && self
                .targets
                .iter()
                .all(|t| matches!(t, SearchTarget::Sql(_)))
    }
}

/// Where a mapped value lives: the source row or a child table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// The source row (or its joins).
    Row,
    /// The child table at this index of `Source::children`.
    Child(usize),
}

/// A mapped element used by a search target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeafRef {
    /// Row or child table.
    pub location: Location,
    /// Index into the source's (or the child's) `elements`; `None` for a child's `value`.
    pub element: Option<usize>,
}

/// The part of a value map's entry a token part reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapField {
    /// The coding's system.
    System,
    /// The code.
    Code,
    /// The display.
    Display,
}

/// One part (system, code, display, unit) of a token or quantity target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenPart {
    /// Not mapped.
    Absent,
    /// A constant.
    Const(String),
    /// A mapped element's value as it is.
    Leaf(LeafRef),
    /// A mapped element's value translated by its value map (or its system prefix).
    Mapped(LeafRef, MapField),
    /// A truth made of mapped values (`deceased`: true when a flag is true or a value is
    /// present): each leaf with whether it is a flag (else: present means true).
    Truth(Vec<(LeafRef, bool)>),
}

/// What one search parameter compares against in one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchTarget {
    /// The logical id (`_id`).
    Id,
    /// The last-modified time (`_lastUpdated`).
    LastUpdated,
    /// A coded value: a code, Coding, CodeableConcept coding, Identifier, boolean...
    Token {
        /// Its system.
        system: TokenPart,
        /// Its code (or identifier value).
        code: TokenPart,
        /// Its display text (`:text`).
        display: TokenPart,
        /// For an Identifier: its type's system and code (`:of-type`).
        of_type: Option<(TokenPart, TokenPart)>,
    },
    /// A string (a HumanName or Address part, a plain string).
    String(LeafRef),
    /// A date, dateTime, instant, or a Period (`end`).
    Date {
        /// The value, or the start of the period.
        start: LeafRef,
        /// The end of the period.
        end: Option<LeafRef>,
    },
    /// A reference to another mapped resource.
    Reference(LeafRef),
    /// A number.
    Number(LeafRef),
    /// A Quantity.
    Quantity {
        /// Its value.
        value: LeafRef,
        /// Its system.
        system: TokenPart,
        /// Its code.
        code: TokenPart,
        /// Its unit.
        unit: TokenPart,
    },
    /// A `uri`, `url` or `canonical` (a column, an expression, a constant, or value-mapped).
    Uri(TokenPart),
    /// One repetition of a composite parameter's base element (the resource itself, or one
    /// `component`...): the composite matches when every component matches in it.
    Composite(CompositeTarget),
    /// Targets that count only in repetitions whose guard part has a value
    /// (`telecom.where(system='phone')` with the system in a column).
    Guarded(GuardedTarget),
    /// A custom parameter's SQL condition on the source row (`sql = "P.MRN = ?"`).
    Sql(SqlCondition),
}

/// Targets in one repetition of an element, counted only where a part of it has a value
/// (`.where(field='value')`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardedTarget {
    /// The child table whose rows are the repetitions (`None`: the source row).
    pub within: Option<Location>,
    /// The part compared (`telecom.system`).
    pub guard: TokenPart,
    /// The value it must have.
    pub equals: String,
    /// What the parameter compares in such repetitions.
    pub targets: Vec<SearchTarget>,
}

/// A custom parameter's condition: trusted SQL from the mapping file, each `?` a bound search
/// value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlCondition {
    /// The condition, as written.
    pub sql: String,
    /// How many `?` it holds (outside quotes).
    pub params: usize,
    /// The modifiers declared for it, each with its own condition (`modifiers = { contains =
    /// "..." }`); `:not` is never declared (it negates the plain condition).
    pub modifiers: Vec<SqlModifier>,
}

impl SqlCondition {
    /// The modifiers an SQL-defined parameter of `param_type` can declare a condition for:
    /// those whose value is one text (`:of-type` has three parts, `:not` negates the plain
    /// condition).
    pub fn declarable(param_type: SearchParamType) -> &'static [&'static str] {
        match param_type {
            SearchParamType::Token => &["missing", "text"],
            SearchParamType::String => &["missing", "exact", "contains"],
            SearchParamType::Uri => &["missing", "below", "above"],
            SearchParamType::Number => &["missing"],
            _ => &[],
        }
    }

    /// The condition written for `modifier` (`None`: the plain value), when declared.
    pub fn condition(&self, modifier: Option<&str>) -> Option<&str> {
        match modifier {
            None => Some(&self.sql),
            Some(m) => self
                .modifiers
                .iter()
                .find(|x| x.code == m)
                .map(|x| x.sql.as_str()),
        }
    }
}

/// A modifier of an SQL-defined parameter with its condition: `?` receives the value
/// (`:contains`, `:exact`, `:text`, `:below`, `:above`); `missing`'s condition has no `?` and
/// is true for resources without a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlModifier {
    /// The modifier as written after `:` (`contains`, `missing`...).
    pub code: &'static str,
    /// Its condition, as written.
    pub sql: String,
}

/// One repetition of a composite parameter's base element, with each component's targets in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositeTarget {
    /// Each component's parameter code and type, in the composite's order.
    pub components: Vec<CompositeComponent>,
    /// The child table whose rows are the repetitions: every component predicate is written
    /// inside one semi-join on it, so they hold on the same child row. `None`: the repetition
    /// is a part of the source row (or the whole resource).
    pub within: Option<Location>,
    /// The targets of each component (same order as `components`) in this repetition.
    pub targets: Vec<Vec<SearchTarget>>,
}

/// A component of a composite parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositeComponent {
    /// The component parameter's code (for messages), e.g. `code`.
    pub code: String,
    /// Its type: how its part of the value is read and compared.
    pub param_type: SearchParamType,
}

/// One source of a resource type.
#[derive(Debug, Clone)]
pub struct Source {
    /// Unique name (used in messages and by references).
    pub name: String,
    /// FHIR resource type.
    pub resource_type: String,
    /// 1-based line of the `[[resource]]` entry in the mapping file.
    pub line: usize,
    /// Where rows come from.
    pub relation: Relation,
    /// Alias of the relation in SQL.
    pub alias: String,
    /// Left-joined lookup tables.
    pub joins: Vec<Join>,
    /// The logical id.
    pub id: IdMapping,
    /// Row condition (e.g. not soft-deleted).
    pub filter: Option<String>,
    /// Last-modified time.
    pub last_updated: Option<SqlValue>,
    /// Row version.
    pub version: Option<SqlValue>,
    /// Elements from the source row.
    pub elements: Vec<ElementMapping>,
    /// Repeating elements from child tables.
    pub children: Vec<Child>,
    /// Declared search parameters.
    pub search: Vec<SearchDecl>,
    /// The leading key of each index of the source's table, lower-cased (a column name, or an
    /// expression's text such as `lower((last_nm)::text)`), as the database's catalog gave
    /// them at start-up. A search pages in an index's order only where such an index exists
    /// (empty: not known, so never).
    pub index_leads: Vec<String>,
    /// The element tree its resources share, laid out once ([`Shape::of`]); `None` where
    /// values merge, and resources are built node by node.
    pub shape: Option<Shape>,
}

impl Source {
    /// The source's table name without schema or quotes, lower-cased; `None` for a query.
    pub fn table_name(&self) -> Option<String> {
        match &self.relation {
            Relation::Table(t) => {
                let bare = t.rsplit('.').next().unwrap_or(t);
                Some(bare.trim_matches(|c| c == '"' || c == '`').to_lowercase())
            }
            Relation::Query(_) => None,
        }
    }

    /// The element a leaf refers to (leaves are made by the mapping compiler, so they exist).
    pub fn leaf(&self, l: LeafRef) -> &ElementMapping {
        super::references::leaf_element(self, l).expect("a leaf names a mapped element")
    }

    /// The key to look up for the part of a logical id after the source's prefix, or `None`
    /// when no row can have it (letters for an integer or decimal key).
    pub fn key_for(&self, rest: &str) -> Option<Value> {
        match self.id.value.sql_type() {
            SqlType::Integer => rest.parse::<i64>().ok().map(Value::Int),
            // A NUMERIC/DECIMAL key (Oracle's NUMBER(10) kept as is): bound as a number, which
            // is how the database compares it; other text names no row.
            SqlType::Decimal => {
                crate::sql::is_decimal_text(rest).then(|| Value::Decimal(rest.to_string()))
            }
            _ => Some(Value::Text(rest.to_string())),
        }
    }

    /// The key of logical id `id` in this source (its prefix, then a key), or `None` when no
    /// row of the source can have it.
    pub fn key_of_id(&self, id: &str) -> Option<Value> {
        let rest = id.strip_prefix(self.id.prefix.as_str())?;
        if rest.is_empty() {
            return None;
        }
        self.key_for(rest)
    }

    /// The declared search parameter `code`.
    pub fn search_decl(&self, code: &str) -> Option<&SearchDecl> {
        self.search.iter().find(|d| d.code == code)
    }
}

impl Mapping {
    /// The resource types reference parameter `code` of `resource_type` can point to, in
    /// mapping order, without repeats.
    pub fn reference_types(&self, resource_type: &str, code: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for link in super::references::links_of(self, resource_type) {
            if link.code == code && !out.iter().any(|t| t == link.target_type()) {
                out.push(link.target_type().to_string());
            }
        }
        out
    }

    /// The type of parameter `code` declared on `resource_type`, if declared.
    pub fn param_type(&self, resource_type: &str, code: &str) -> Option<SearchParamType> {
        self.sources_of(resource_type)
            .find_map(|s| s.search_decl(code))
            .map(|d| d.param_type)
    }
}
