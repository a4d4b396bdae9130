//! What the database says of a column: its type as the planner binds against it, and a
//! column as a query's description reports it.

/// A column's type as the database describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The database's type name (`INTEGER`, `TIMESTAMP`, `VARCHAR`...).
    pub type_name: String,
    /// Whether it holds integers (search values are bound as integers then).
    pub integer: bool,
    /// Width of a blank-padded `CHAR(n)` column where the database compares padding (SQLite).
    pub pad_to: Option<u32>,
}

impl ColumnInfo {
    /// Whether the column is a blank-padded `CHAR(n)` (PostgreSQL `bpchar`).
    pub fn is_char(&self) -> bool {
        self.type_name.eq_ignore_ascii_case("CHAR") || self.type_name.eq_ignore_ascii_case("BPCHAR")
    }

    /// Whether the column holds character data (where blank text counts as no value).
    pub fn is_text(&self) -> bool {
        let t = self.type_name.to_ascii_uppercase();
        !self.integer && (t.contains("CHAR") || t.contains("TEXT") || t.contains("CLOB"))
    }

    /// Whether the column holds numbers, compared as they are (so an index on it serves).
    pub fn is_numeric(&self) -> bool {
        let t = self.type_name.to_ascii_uppercase();
        ["INT", "DEC", "NUM", "REAL", "FLOAT", "DOUBLE"]
            .iter()
            .any(|k| t.contains(k))
    }
}

/// A column as the database describes a table or query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbColumn {
    /// Real name.
    pub name: String,
    /// The database's type name (for messages).
    pub type_name: String,
    /// Whether the column holds integers.
    pub integer: bool,
    /// Whether the façade can decode the column's type.
    pub decodable: bool,
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
            integer: self.integer,
            pad_to: self.char_len,
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
