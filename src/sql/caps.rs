//! What the connected database can do, found once at start-up and given to the planner.

use super::Dialect;

/// How string searches treat accents, decided at start-up from what the database offers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Accents {
    /// As the database compares the column: exactly on SQLite and on PostgreSQL without
    /// `unaccent`; as the column's collation says on MySQL/MariaDB.
    #[default]
    AsStored,
    /// Removed on both sides with this PostgreSQL function: `unaccent`, or an IMMUTABLE
    /// wrapper of it that expression indexes can use.
    Unaccent(String),
}

impl Accents {
    /// Whether accents are removed before comparing.
    pub fn insensitive(&self) -> bool {
        matches!(self, Accents::Unaccent(_))
    }
}

/// The database the planner writes for: its dialect and what it was found to support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caps {
    /// The SQL dialect.
    pub dialect: Dialect,
    /// How string searches treat accents.
    pub accents: Accents,
}

impl Caps {
    /// A database of `dialect` with nothing optional found (accents compared as stored).
    pub fn of(dialect: Dialect) -> Caps {
        Caps {
            dialect,
            accents: Accents::AsStored,
        }
    }
}
