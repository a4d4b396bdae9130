//! The one neutral value type: every backend decodes its rows into it, keysets and paging
//! cursors carry it (it serializes), and it binds back as a parameter exactly.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use sea_query::Value as Param;
use serde::{Deserialize, Serialize};

use super::Dialect;

/// A database value. Its serialized form is compact (it travels in paging cursors): the
/// short variant names below are part of the cursor format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// SQL NULL.
    #[serde(rename = "N")]
    Null,
    /// A boolean (or bit) column.
    #[serde(rename = "B")]
    Bool(bool),
    /// Any integer column.
    #[serde(rename = "I")]
    Int(i64),
    /// A floating-point column.
    #[serde(rename = "F")]
    Float(f64),
    /// An exact numeric (NUMERIC/DECIMAL), as its decimal text, precision kept (`"98.60"`).
    #[serde(rename = "D")]
    Decimal(String),
    /// Character data.
    #[serde(rename = "S")]
    Text(String),
    /// A DATE.
    Date(NaiveDate),
    /// A TIME.
    Time(NaiveTime),
    /// A timestamp without time zone.
    #[serde(rename = "Ts")]
    Timestamp(NaiveDateTime),
    /// A timestamp with time zone.
    #[serde(rename = "Tz")]
    TimestampTz(DateTime<FixedOffset>),
    /// Binary data.
    #[serde(rename = "X")]
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
            Value::Int(i) => itoa::Buffer::new().format(*i).to_owned(),
            Value::Float(f) => float_text(*f)?,
            Value::Decimal(d) => d.clone(),
            Value::Text(s) => s.trim_end().to_string(),
            Value::Date(d) => d.to_string(),
            Value::Time(t) => t.to_string(),
            Value::Timestamp(t) => t.to_string(),
            Value::TimestampTz(t) => t.to_rfc3339(),
            Value::Bytes(b) => format!("{b:?}"),
        })
    }

    /// [`Self::key_text`], borrowed from a text value (which needs no copy to be compared).
    pub fn key_str(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Value::Text(s) => Some(std::borrow::Cow::Borrowed(s.trim_end())),
            other => other.key_text().map(std::borrow::Cow::Owned),
        }
    }

    /// The value as a key is compared with the keys of other tables (and kept in a paging
    /// cursor): integers as they are, other values as their [`Self::key_text`] (CHAR padding
    /// ignored); `None` for NULL.
    pub fn as_key(&self) -> Option<Value> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(Value::Int(*i)),
            other => other.key_text().map(Value::Text),
        }
    }

    /// The value as a number, when it is one (integers, floats, decimal or numeric text).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Decimal(s) | Value::Text(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as a count or index, when it is a whole number that is not negative.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Int(i) => u64::try_from(*i).ok(),
            Value::Decimal(s) | Value::Text(s) => s.trim().parse().ok(),
            Value::Float(f) if f.fract() == 0.0 && *f >= 0.0 => Some(*f as u64),
            _ => None,
        }
    }

    /// The value as a parameter bound in `dialect`, so that it compares as the value read.
    pub fn to_param(&self, dialect: Dialect) -> Param {
        match self {
            Value::Null => Param::String(None),
            Value::Bool(b) => Param::from(*b),
            Value::Int(i) => Param::from(*i),
            Value::Float(f) => Param::from(*f),
            Value::Decimal(d) => match d.parse::<rust_decimal::Decimal>() {
                Ok(dec) => dialect.decimal_param(dec),
                Err(_) => Param::from(d.parse::<f64>().unwrap_or_default()),
            },
            Value::Text(t) => Param::from(t.clone()),
            Value::Date(d) => Param::from(*d),
            Value::Time(t) => Param::from(*t),
            Value::Timestamp(t) => Param::from(*t),
            Value::TimestampTz(t) => Param::from(t.with_timezone(&chrono::Utc)),
            Value::Bytes(b) => Param::from(b.clone()),
        }
    }
}

/// The shortest decimal text of a floating-point value, so that every database gives the same
/// digits for the same number: `100` (not `100.0`), and the single-precision value of a `REAL`
/// or `FLOAT` column (`5.7`) as written, not as its double widening (`5.699999809265137`).
/// `None` for infinities and NaN.
pub fn float_text(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let single = f as f32;
    Some(if f64::from(single) == f {
        single.to_string()
    } else {
        f.to_string()
    })
}

/// One result row: values in select-list order.
pub type Row = Vec<Value>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_serialize_compactly_and_round_trip() {
        let values = vec![
            Value::Null,
            Value::Int(41),
            Value::Text("SMITH".into()),
            Value::Decimal("98.60".into()),
            Value::Date(NaiveDate::from_ymd_opt(1974, 6, 25).unwrap()),
        ];
        let json = serde_json::to_string(&values).unwrap();
        assert_eq!(
            json,
            r#"["N",{"I":41},{"S":"SMITH"},{"D":"98.60"},{"Date":"1974-06-25"}]"#
        );
        let back: Vec<Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, values);
    }

    #[test]
    fn floats_have_one_spelling() {
        assert_eq!(float_text(100.0).as_deref(), Some("100"));
        assert_eq!(float_text(98.6).as_deref(), Some("98.6"));
        assert_eq!(float_text(f64::from(5.7_f32)).as_deref(), Some("5.7"));
        assert_eq!(
            float_text(0.1 + 0.2).as_deref(),
            Some("0.30000000000000004")
        );
        assert_eq!(float_text(f64::NAN), None);
        assert_eq!(Value::Float(100.0).key_text().as_deref(), Some("100"));
    }

    #[test]
    fn decimals_bind_exactly_except_on_sqlite() {
        let d = Value::Decimal("98.60".into());
        assert_eq!(
            d.to_param(Dialect::Postgres),
            Param::Decimal(Some("98.60".parse().unwrap()))
        );
        assert_eq!(d.to_param(Dialect::Sqlite), Param::Double(Some(98.6)));
    }
}
