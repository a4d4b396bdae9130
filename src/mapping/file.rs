//! The raw shape of `mapping.toml`, exactly as written by the user (serde structs).
//!
//! Nothing here is validated beyond TOML syntax and field names; [`super::compile`] turns it
//! into the checked [`super::model::Mapping`]. Values that need precise error messages keep
//! their source span ([`Spanned`]) so errors can name the line.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

/// The whole mapping file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Global settings (`[settings]`).
    #[serde(default)]
    pub settings: SettingsSection,
    /// Named value maps (`[maps.NAME]`).
    #[serde(default)]
    pub maps: IndexMap<String, Spanned<MapSection>>,
    /// One entry per source of a resource type (`[[resource]]`).
    #[serde(default)]
    pub resource: Vec<Spanned<ResourceSection>>,
}

/// `[settings]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsSection {
    /// IANA time zone of timestamps stored without a zone (default `UTC`).
    pub timezone: Option<Spanned<String>>,
    /// Stored values that mean "no value" for every date, dateTime and instant element and
    /// every `last_updated` (e.g. `["0000-00-00", "0000-00-00 00:00:00"]`).
    pub none_dates: Option<Spanned<Vec<String>>>,
}

/// `[maps.NAME]`: legacy code → FHIR value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapSection {
    /// Code system applied to every entry that does not name its own.
    pub system: Option<String>,
    /// Value used when the legacy code is not listed (otherwise the element is left out).
    pub default: Option<Spanned<toml::Value>>,
    /// The entries: legacy code → a string/number/boolean, or a table
    /// `{ code = .., system = .., display = .. }`.
    pub values: IndexMap<String, Spanned<toml::Value>>,
}

/// SQL text, either one string for every database or one per dialect.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SqlText {
    /// The same SQL for every database.
    Any(String),
    /// Per-dialect SQL; `default` is used for dialects not listed.
    PerDialect(PerDialectSql),
}

/// SQL per dialect (unknown keys, such as a misspelled dialect, are errors).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerDialectSql {
    /// SQL for SQLite.
    pub sqlite: Option<String>,
    /// SQL for PostgreSQL.
    pub postgres: Option<String>,
    /// SQL for MySQL and MariaDB.
    pub mysql: Option<String>,
    /// SQL for every dialect not listed.
    pub default: Option<String>,
}

/// `[[resource]]`: one source (table, view or query) of one FHIR resource type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSection {
    /// The FHIR resource type, e.g. `Patient`.
    #[serde(rename = "type")]
    pub resource_type: Spanned<String>,
    /// A unique name for this source (defaults to the type when only one source has it).
    pub name: Option<Spanned<String>>,
    /// The source table (or view), optionally schema-qualified.
    pub table: Option<Spanned<String>>,
    /// A SELECT query used as the source instead of a table.
    pub sql: Option<Spanned<SqlText>>,
    /// Alias of the source in generated SQL (default: the table name, or `src` for `sql`).
    pub alias: Option<Spanned<String>>,
    /// The logical id: a column name, or `{ column | expr, prefix }`.
    pub id: Spanned<toml::Value>,
    /// SQL condition a row must meet to be served (e.g. a soft-delete flag).
    pub filter: Option<Spanned<SqlText>>,
    /// Column or `{ expr }` holding the last-modified time (`meta.lastUpdated`).
    pub last_updated: Option<Spanned<toml::Value>>,
    /// Column or `{ expr }` holding a row version (`meta.versionId`, ETag).
    pub version: Option<Spanned<toml::Value>>,
    /// Lookup tables joined to the source (LEFT JOIN, at most one row each).
    #[serde(default)]
    pub join: Vec<Spanned<JoinSection>>,
    /// Element path → value.
    #[serde(default)]
    pub elements: IndexMap<String, Spanned<toml::Value>>,
    /// Repeating elements fed by child tables.
    #[serde(default)]
    pub child: Vec<Spanned<ChildSection>>,
    /// Search parameters this source supports.
    #[serde(default)]
    pub search: IndexMap<String, Spanned<toml::Value>>,
}

/// `[[resource.join]]`: a lookup table joined to the source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinSection {
    /// The joined table.
    pub table: Spanned<String>,
    /// Its alias, used to qualify its columns (`ALIAS.COLUMN`).
    pub alias: Spanned<String>,
    /// The join condition (SQL).
    pub on: Spanned<SqlText>,
}

/// `[[resource.child]]`: rows of a child table, each becoming one item of a repeating element.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildSection {
    /// Path of the repeating element, e.g. `telecom` or `identifier`.
    pub path: Spanned<String>,
    /// The child table.
    pub table: Option<Spanned<String>>,
    /// A SELECT query used instead of a table.
    pub sql: Option<Spanned<SqlText>>,
    /// Alias of the child relation (default: the table name, or `child`).
    pub alias: Option<Spanned<String>>,
    /// Column of the child relation that refers to the parent.
    pub key: Spanned<String>,
    /// Column of the parent source it refers to (default: the id column).
    pub parent_key: Option<Spanned<String>>,
    /// SQL condition on child rows.
    pub filter: Option<Spanned<SqlText>>,
    /// SQL ORDER BY expression(s) giving the item order.
    pub order_by: Option<Spanned<String>>,
    /// Element path (relative to the item) → value.
    #[serde(default)]
    pub elements: IndexMap<String, Spanned<toml::Value>>,
    /// For repeating primitives (e.g. `given`): the value of each item.
    pub value: Option<Spanned<toml::Value>>,
}
