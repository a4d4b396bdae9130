//! What the database says of a column (or of an expression): its portable [`SqlType`], as the
//! planner compares and binds against it, and a column as a query's description reports it.

use std::fmt;

/// What a column or expression holds, as far as comparing and binding values go. Each backend
/// classifies its own type names into these (`tinyint(1)` and `BOOL` are `Boolean`, MySQL's
/// `TIMESTAMP` and PostgreSQL's `TIMESTAMPTZ` are `Instant`...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// Not known: the backend did not say (SQLite expressions) and the mapping did not declare it.
    #[default]
    Unknown,
    /// A boolean (or a `tinyint(1)`/`bit` used as one).
    Boolean,
    /// An integer.
    Integer,
    /// An exact number (`DECIMAL`, `NUMERIC`).
    Decimal,
    /// A double-precision floating-point number.
    Float,
    /// A single-precision floating-point number (PostgreSQL `real`, MySQL `FLOAT`): compared
    /// at that precision (5.7 is stored as 5.69999980926…).
    Real,
    /// Character data.
    Text,
    /// A calendar date.
    Date,
    /// A date and time without time zone.
    DateTime,
    /// A point in time (a timestamp with time zone).
    Instant,
    /// A time of day.
    Time,
    /// Binary data.
    Binary,
}

impl SqlType {
    /// The types a mapping may declare with `type = "..."`.
    pub const DECLARABLE: [SqlType; 8] = [
        SqlType::Text,
        SqlType::Integer,
        SqlType::Decimal,
        SqlType::Boolean,
        SqlType::Date,
        SqlType::DateTime,
        SqlType::Instant,
        SqlType::Time,
    ];

    /// The name used in the mapping file (`type = "datetime"`).
    pub fn name(self) -> &'static str {
        match self {
            SqlType::Unknown => "unknown",
            SqlType::Boolean => "boolean",
            SqlType::Integer => "integer",
            SqlType::Decimal => "decimal",
            SqlType::Float => "float",
            SqlType::Real => "real",
            SqlType::Text => "text",
            SqlType::Date => "date",
            SqlType::DateTime => "datetime",
            SqlType::Instant => "instant",
            SqlType::Time => "time",
            SqlType::Binary => "binary",
        }
    }

    /// The type a mapping declares as `name`.
    pub fn declared(name: &str) -> Option<SqlType> {
        Self::DECLARABLE
            .into_iter()
            .chain([SqlType::Float])
            .find(|t| t.name() == name)
    }

    /// Whether the type holds numbers.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            SqlType::Integer | SqlType::Decimal | SqlType::Float | SqlType::Real
        )
    }

    /// Whether the type holds dates or times of day.
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            SqlType::Date | SqlType::DateTime | SqlType::Instant | SqlType::Time
        )
    }

    /// Whether values of the two types compare with each other as values (one column of a
    /// union, a sort across sources, a declared type checked against the database's): numbers
    /// with numbers (a boolean is a number where it is a `tinyint`), dates and date-times
    /// with each other, text with text. Unknown types compare with nothing.
    pub fn comparable(self, other: SqlType) -> bool {
        let family = |t: SqlType| match t {
            SqlType::Unknown => 0,
            SqlType::Integer
            | SqlType::Decimal
            | SqlType::Float
            | SqlType::Real
            | SqlType::Boolean => 1,
            SqlType::Text => 2,
            SqlType::Date | SqlType::DateTime | SqlType::Instant => 3,
            SqlType::Time => 4,
            SqlType::Binary => 5,
        };
        family(self) != 0 && family(self) == family(other)
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A column's (or an expression's) type as the database describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The database's type name (`INTEGER`, `TIMESTAMP`, `VARCHAR`...); empty when unknown.
    pub type_name: String,
    /// What it holds.
    pub sql_type: SqlType,
    /// Width of a blank-padded `CHAR(n)` column where the database compares padding (SQLite).
    pub pad_to: Option<u32>,
    /// Read and compared through its text form, `CAST(x AS text)` (PostgreSQL types the façade
    /// does not decode as values: an enum, `json`, `interval`, `inet`, `money`, an array...;
    /// [`Self::compared_type`] is then `text`).
    pub as_text: bool,
}

impl ColumnInfo {
    /// A value of type `sql_type` whose database type name is not known.
    pub fn of(sql_type: SqlType) -> ColumnInfo {
        ColumnInfo {
            type_name: String::new(),
            sql_type,
            pad_to: None,
            as_text: false,
        }
    }

    /// The database type its values are read and compared as: `type_name`, or `text` for a
    /// value read through its text form.
    pub fn compared_type(&self) -> &str {
        match self.as_text {
            true => "text",
            false => &self.type_name,
        }
    }

    /// Whether the column is a blank-padded `CHAR(n)` (PostgreSQL `bpchar`).
    pub fn is_char(&self) -> bool {
        self.type_name.eq_ignore_ascii_case("CHAR") || self.type_name.eq_ignore_ascii_case("BPCHAR")
    }

    /// Whether it holds integers (search values are bound as integers then).
    pub fn integer(&self) -> bool {
        self.sql_type == SqlType::Integer
    }

    /// Whether it holds character data (where blank text counts as no value).
    pub fn is_text(&self) -> bool {
        self.sql_type == SqlType::Text
    }

    /// Whether it holds numbers, compared as they are (so an index on it serves).
    pub fn is_numeric(&self) -> bool {
        self.sql_type.is_numeric()
    }
}

/// A column as the database describes a table or query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbColumn {
    /// Real name.
    pub name: String,
    /// The database's type name (for messages).
    pub type_name: String,
    /// What it holds.
    pub sql_type: SqlType,
    /// Whether the façade can read the column's values (decoded as they are, or as text).
    pub decodable: bool,
    /// Read through its text form ([`ColumnInfo::as_text`]): a type with no value the façade
    /// decodes, whose text form every comparison and every read uses.
    pub as_text: bool,
    /// Decimal places of a `DECIMAL(p,s)`/`NUMERIC(p,s)` column, where the database does not
    /// keep them in the values (SQLite).
    pub scale: Option<u32>,
    /// Width of a `CHAR(n)` column whose stored padding counts in comparisons (SQLite).
    pub char_len: Option<u32>,
}

impl DbColumn {
    /// What the planner needs to know of the column.
    pub fn info(&self) -> ColumnInfo {
        ColumnInfo {
            type_name: self.type_name.clone(),
            sql_type: self.sql_type,
            pad_to: self.char_len,
            as_text: self.as_text,
        }
    }
}

/// The width `n` of a declared `CHAR(n)` / `CHARACTER(n)` type (not VARCHAR).
pub fn declared_char_len(type_text: &str) -> Option<u32> {
    let upper = type_text.trim().to_ascii_uppercase();
    if !(upper.starts_with("CHAR(")
        || upper.starts_with("CHARACTER(")
        || upper.starts_with("NCHAR("))
    {
        return None;
    }
    upper
        .split_once('(')?
        .1
        .split_once(')')?
        .0
        .trim()
        .parse()
        .ok()
}

/// The scale `s` of a declared `DECIMAL(p,s)` / `NUMERIC(p,s)` type.
pub fn declared_scale(type_text: &str) -> Option<u32> {
    let upper = type_text.to_ascii_uppercase();
    if !(upper.contains("DEC") || upper.contains("NUM")) {
        return None;
    }
    let inner = upper.split_once('(')?.1.split_once(')')?.0;
    inner.split_once(',')?.1.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_scales_are_read_from_type_text() {
        assert_eq!(declared_scale("DECIMAL(8,2)"), Some(2));
        assert_eq!(declared_scale("numeric(5, 1)"), Some(1));
        assert_eq!(declared_scale("DECIMAL"), None);
        assert_eq!(declared_scale("VARCHAR(8,2)"), None);
        assert_eq!(declared_char_len("CHAR(8)"), Some(8));
        assert_eq!(declared_char_len("VARCHAR(8)"), None);
    }
}
