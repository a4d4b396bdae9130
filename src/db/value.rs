//! The one neutral value type every backend decodes its rows into.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// A decoded database value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean (or bit) column.
    Bool(bool),
    /// Any integer column.
    Int(i64),
    /// A floating-point column.
    Float(f64),
    /// An exact numeric (NUMERIC/DECIMAL), as its decimal text, precision kept (`"98.60"`).
    Decimal(String),
    /// Character data.
    Text(String),
    /// A DATE.
    Date(NaiveDate),
    /// A TIME.
    Time(NaiveTime),
    /// A timestamp without time zone.
    Timestamp(NaiveDateTime),
    /// A timestamp with time zone.
    TimestampTz(DateTime<FixedOffset>),
    /// Binary data.
    Bytes(Vec<u8>),
}

impl Value {
    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A canonical text form used to match keys across tables (`5` and `"5"` match; CHAR
    /// padding is ignored). `None` for NULL.
    pub fn key_text(&self) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Decimal(d) => d.clone(),
            Value::Text(s) => s.trim_end().to_string(),
            Value::Date(d) => d.to_string(),
            Value::Time(t) => t.to_string(),
            Value::Timestamp(t) => t.to_string(),
            Value::TimestampTz(t) => t.to_rfc3339(),
            Value::Bytes(b) => format!("{b:?}"),
        })
    }
}

/// One result row: values in select-list order.
pub type Row = Vec<Value>;
