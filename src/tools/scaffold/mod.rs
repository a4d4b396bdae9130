//! `scaffold`: a commented starter `mapping.toml` from a database's schema.
//!
//! [`gather`] reads the catalog ([`crate::db::introspect`]) and a few facts about the data
//! (the distinct values of code columns, one value of dates stored as text); [`render`]
//! (pure) writes the file. Every guess carries a `TODO` comment; what is unsure (a reference
//! found only by a column-name suffix, a status code, a soft-delete flag, child tables) is
//! written commented out with a note, so that nothing is mapped silently wrong.

mod names;
mod render;

pub use render::render;

use std::collections::HashMap;

use super::ToolError;
use crate::db::Database;
use crate::db::introspect::{Schema, distinct_values, read_schema, sample_value};
use crate::db::sqlite::sql_type;
use crate::sql::{SqlType, Value};
use names::{date_word, is_code_column, tokens};

/// Most distinct values of a code column listed (and put into a value map).
pub const MAX_CODES: usize = 20;

/// The distinct values of a column with their counts (`None`: too many to list).
pub type Codes = Option<Vec<(String, u64)>>;

/// What the scaffold knows of the database.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The catalog.
    pub schema: Schema,
    /// (table, column) → its distinct values with their counts (`None`: too many to list).
    pub codes: HashMap<(String, String), Codes>,
    /// (table, column) → one stored value (for dates stored as text).
    pub samples: HashMap<(String, String), Value>,
}

/// Reads what [`render`] needs from `db`.
pub async fn gather(db: &Database) -> Result<Facts, ToolError> {
    let schema = read_schema(db).await?;
    let mut facts = Facts::default();
    for t in schema.tables.iter().filter(|t| !t.view) {
        for c in &t.columns {
            let key = (t.name.clone(), c.name.clone());
            let kind = sql_type(&c.declared);
            if is_code_column(c) {
                facts.codes.insert(
                    key.clone(),
                    distinct_values(db, &t.name, &c.name, MAX_CODES).await?,
                );
            }
            if kind == SqlType::Text
                && date_word(&tokens(&c.name))
                && let Some(v) = sample_value(db, &t.name, &c.name).await?
            {
                facts.samples.insert(key, v);
            }
        }
    }
    facts.schema = schema;
    Ok(facts)
}

/// Reads the database and writes the starter mapping.
pub async fn scaffold(db: &Database) -> Result<String, ToolError> {
    Ok(render(&gather(db).await?))
}
