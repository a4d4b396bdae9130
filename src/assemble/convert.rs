//! Database values → FHIR JSON values: primitives, value-mapped codes and references.
//!
//! Strings are trimmed (legacy CHAR columns are blank-padded) and empty strings count as
//! absent. Naive timestamps are read in the mapping's time zone. Decimals keep their digits.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeZone};
use chrono_tz::Tz;
use serde_json::{Map, Value as Json};

use crate::mapping::{Convert, MapTarget, Primitive, SystemPrefix, ValueMap};
use crate::sql::Value;

/// A value that could not be converted (the element is left out and the problem logged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot convert {value} to FHIR {target}")]
pub struct ConvertError {
    /// The offending value, as text.
    pub value: String,
    /// The target.
    pub target: String,
}

fn fail(v: &Value, target: &str) -> ConvertError {
    ConvertError {
        value: format!("{v:?}"),
        target: target.to_string(),
    }
}

/// [`convert`], with the value as compact JSON where the mapping holds it written (a value
/// map's entries).
pub fn convert_with_text<'m>(
    v: &Value,
    convert: &'m Convert,
    tz: Tz,
) -> Result<(Option<Cow<'m, Json>>, Option<&'m str>), ConvertError> {
    match convert {
        Convert::Mapped { map, target } if !v.is_null() => Ok(match mapped(v, map, *target) {
            Some((json, text)) => (Some(Cow::Borrowed(json)), Some(text)),
            None => (None, None),
        }),
        _ => Ok((self::convert(v, convert, tz)?, None)),
    }
}

/// Converts `v` as `convert` says. `Ok(None)` means "absent" (NULL, empty text, unmapped code).
/// A value map's values are borrowed from the mapping.
pub fn convert<'m>(
    v: &Value,
    convert: &'m Convert,
    tz: Tz,
) -> Result<Option<Cow<'m, Json>>, ConvertError> {
    if v.is_null() {
        return Ok(None);
    }
    let owned = match convert {
        Convert::Primitive {
            to: Primitive::Decimal,
            scale: Some(scale),
            ..
        } => match v {
            Value::Int(_) | Value::Float(_) => Ok(scaled(v, *scale)),
            _ => primitive(v, Primitive::Decimal, None, tz),
        },
        // Text keeps its digits ("5.70" is a precision the source wrote down).
        Convert::Primitive {
            to: Primitive::Decimal,
            trim: true,
            ..
        } if matches!(v, Value::Decimal(_)) => {
            Ok(primitive(v, Primitive::Decimal, None, tz)?.map(trim_zeros))
        }
        Convert::Primitive { to, format, .. } => primitive(v, *to, format.as_deref(), tz),
        Convert::Mapped { map, target } => {
            return Ok(mapped(v, map, *target).map(|(json, _)| Cow::Borrowed(json)));
        }
        Convert::Prefixed { prefix, target } => Ok(prefixed(v, prefix, *target)),
        Convert::Reference {
            resource_type,
            prefix,
            ..
        } => {
            let Some(id) = id_text(v) else {
                return Ok(None);
            };
            let id = format!("{prefix}{id}");
            if !is_valid_id(&id) {
                return Err(fail(v, "Reference id"));
            }
            let mut m = Map::new();
            m.insert(
                "reference".into(),
                Json::String(format!("{resource_type}/{id}")),
            );
            Ok(Some(Json::Object(m)))
        }
    };
    owned.map(|j| j.map(Cow::Owned))
}

/// A decimal without the trailing zeros of its fraction (`6.5000` → `6.5`, `7.000` → `7`).
fn trim_zeros(j: Json) -> Json {
    let t = j.to_string();
    if !t.contains('.') || t.contains(['e', 'E']) {
        return j;
    }
    let t = t.trim_end_matches('0').trim_end_matches('.');
    decimal(t).unwrap_or(j)
}

/// A number written with `scale` decimal places (a `DECIMAL(p,s)` value stored as a plain
/// number, e.g. SQLite's 500 for 500.00).
fn scaled(v: &Value, scale: u32) -> Option<Json> {
    let text = match v {
        Value::Int(i) if scale == 0 => i.to_string(),
        Value::Int(i) => format!("{i}.{}", "0".repeat(scale as usize)),
        Value::Float(f) => format!("{f:.*}", scale as usize),
        _ => return None,
    };
    decimal(&text)
}

/// The text of a key value used in an id (`None` for NULL or blank).
pub fn id_text(v: &Value) -> Option<String> {
    match v.key_str()? {
        // A number's text, already made: kept (it has no blanks).
        Cow::Owned(t) if t.len() == t.trim().len() => (!t.is_empty()).then_some(t),
        t => {
            let t = t.trim();
            (!t.is_empty()).then(|| t.to_string())
        }
    }
}

/// Whether `s` is a valid FHIR id (`[A-Za-z0-9\-\.]{1,64}`).
pub fn is_valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn mapped<'m>(v: &Value, map: &'m ValueMap, target: MapTarget) -> Option<(&'m Json, &'m str)> {
    let key = v.key_str()?;
    let key = key.trim();
    if key.is_empty() {
        // Blank text is absent, as everywhere else (the default is for unlisted codes).
        return None;
    }
    // A boolean column (MariaDB's tinyint(1) is read as one) matches the keys `1`/`0` too,
    // as it does on the databases that read it as a number.
    if let Value::Bool(b) = v
        && !map.lists(key)
    {
        let number = if *b { "1" } else { "0" };
        if map.lists(number) {
            return map.lookup_with_text(number, target);
        }
    }
    map.lookup_with_text(key, target)
}

/// A code whose system is told by its prefix, as a Coding or CodeableConcept.
fn prefixed(v: &Value, prefix: &SystemPrefix, target: MapTarget) -> Option<Json> {
    let text = v.key_text()?;
    let (system, code) = prefix.split(&text);
    if code.is_empty() {
        return None;
    }
    let mut m = Map::new();
    if let Some(s) = system {
        m.insert("system".into(), Json::String(s.to_string()));
    }
    m.insert("code".into(), Json::String(code.to_string()));
    Some(match target {
        MapTarget::CodeableConcept => {
            let mut cc = Map::new();
            cc.insert("coding".into(), Json::Array(vec![Json::Object(m)]));
            cc.into()
        }
        _ => m.into(),
    })
}

/// Converts a value to a FHIR primitive.
pub fn primitive(
    v: &Value,
    to: Primitive,
    format: Option<&str>,
    tz: Tz,
) -> Result<Option<Json>, ConvertError> {
    let text = |v: &Value| -> Option<String> {
        match v {
            Value::Text(s) => {
                let t = s.trim();
                (!t.is_empty()).then(|| t.to_string())
            }
            other => other.key_text(),
        }
    };
    match to {
        Primitive::String | Primitive::Code => match v {
            Value::Bytes(_) => Err(fail(v, "string")),
            Value::Timestamp(t) => Ok(Some(Json::String(local_datetime(*t, tz)))),
            other => Ok(text(other).map(Json::String)),
        },
        Primitive::Boolean => match v {
            Value::Bool(b) => Ok(Some(Json::Bool(*b))),
            Value::Int(0) => Ok(Some(Json::Bool(false))),
            Value::Int(1) => Ok(Some(Json::Bool(true))),
            Value::Text(_) => match text(v).map(|t| t.to_ascii_uppercase()) {
                None => Ok(None),
                Some(t) => match t.as_str() {
                    "Y" | "YES" | "T" | "TRUE" | "1" => Ok(Some(Json::Bool(true))),
                    "N" | "NO" | "F" | "FALSE" | "0" => Ok(Some(Json::Bool(false))),
                    _ => Err(fail(v, "boolean")),
                },
            },
            _ => Err(fail(v, "boolean")),
        },
        Primitive::Integer => match v {
            Value::Int(i) => Ok(Some(Json::from(*i))),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Ok(Some(Json::from(*f as i64)))
            }
            Value::Text(_) | Value::Decimal(_) => match text(v) {
                None => Ok(None),
                Some(t) => {
                    // A DECIMAL value with an all-zero fraction ("5.00") is a whole number.
                    let t = match t.split_once('.') {
                        Some((int, frac)) if frac.bytes().all(|b| b == b'0') => int,
                        _ => t.as_str(),
                    };
                    t.parse::<i64>()
                        .map(|i| Some(Json::from(i)))
                        .map_err(|_| fail(v, "integer"))
                }
            },
            _ => Err(fail(v, "integer")),
        },
        Primitive::Decimal => match v {
            Value::Int(i) => Ok(Some(Json::from(*i))),
            Value::Float(f) => crate::sql::value::float_text(*f)
                .and_then(|t| decimal(&t))
                .map(Some)
                .ok_or_else(|| fail(v, "decimal")),
            Value::Decimal(_) | Value::Text(_) => match text(v) {
                None => Ok(None),
                Some(t) => decimal(&t).map(Some).ok_or_else(|| fail(v, "decimal")),
            },
            _ => Err(fail(v, "decimal")),
        },
        Primitive::Date => match v {
            Value::Date(d) => Ok(Some(date_json(*d))),
            Value::Timestamp(t) => Ok(Some(date_json(t.date()))),
            Value::TimestampTz(t) => Ok(Some(date_json(t.date_naive()))),
            Value::Text(_) | Value::Int(_) => match text(v) {
                None => Ok(None),
                Some(t) => parse_date_text(&t, format)
                    .map(|d| Some(Json::String(d)))
                    .ok_or_else(|| fail(v, "date")),
            },
            _ => Err(fail(v, "date")),
        },
        Primitive::DateTime | Primitive::Instant => {
            let instant = to == Primitive::Instant;
            let target = if instant { "instant" } else { "dateTime" };
            match v {
                Value::Timestamp(t) => Ok(Some(Json::String(local_datetime(*t, tz)))),
                Value::TimestampTz(t) => Ok(Some(Json::String(
                    t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                ))),
                Value::Date(d) if !instant => Ok(Some(date_json(*d))),
                Value::Text(_) | Value::Int(_) => match text(v) {
                    None => Ok(None),
                    Some(t) => match parse_datetime_text(&t, format, tz) {
                        Some(DateOrTime::DateTime(s)) => Ok(Some(Json::String(s))),
                        Some(DateOrTime::Date(s)) if !instant => Ok(Some(Json::String(s))),
                        _ => Err(fail(v, target)),
                    },
                },
                _ => Err(fail(v, target)),
            }
        }
        Primitive::Time => match v {
            Value::Time(t) => Ok(Some(Json::String(t.format("%H:%M:%S").to_string()))),
            Value::Timestamp(t) => Ok(Some(Json::String(t.format("%H:%M:%S").to_string()))),
            Value::Text(_) => match text(v) {
                None => Ok(None),
                Some(t) => {
                    let formats: Vec<&str> = match format {
                        Some(f) => vec![f],
                        None => vec!["%H:%M:%S%.f", "%H:%M"],
                    };
                    formats
                        .iter()
                        .find_map(|f| NaiveTime::parse_from_str(&t, f).ok())
                        .map(|t| Some(Json::String(t.format("%H:%M:%S").to_string())))
                        .ok_or_else(|| fail(v, "time"))
                }
            },
            _ => Err(fail(v, "time")),
        },
    }
}

/// `YYYY-MM-DD` (what `%Y-%m-%d` writes, without parsing that format on every value).
fn iso_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    let year = d.year();
    if (0..=9999).contains(&year) {
        let mut out = String::with_capacity(10);
        for (n, width) in [(year as u32, 4), (d.month(), 2), (d.day(), 2)] {
            if width == 2 {
                out.push('-');
            }
            for place in (0..width).rev() {
                out.push(char::from(b'0' + (n / 10u32.pow(place) % 10) as u8));
            }
        }
        out
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

fn date_json(d: NaiveDate) -> Json {
    Json::String(iso_date(d))
}

/// A naive timestamp read in `tz`, as an RFC 3339 dateTime with offset.
pub fn local_datetime(t: NaiveDateTime, tz: Tz) -> String {
    let local = tz
        .from_local_datetime(&t)
        .earliest()
        // A time inside a daylight-saving gap does not exist locally; read it as UTC.
        .unwrap_or_else(|| tz.from_utc_datetime(&t));
    local
        .fixed_offset()
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A FHIR decimal from text, digits kept (`"5.70"` stays `5.70`).
pub fn decimal(t: &str) -> Option<Json> {
    let t = t.trim().trim_start_matches('+');
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", t),
    };
    let digits = if digits.starts_with('.') {
        format!("0{digits}")
    } else {
        digits.to_string()
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits.as_str(), None),
    };
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let ok = int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return None;
    }
    let s = match frac {
        Some(f) => format!("{sign}{int}.{f}"),
        None => format!("{sign}{int}"),
    };
    serde_json::from_str::<serde_json::Number>(&s)
        .ok()
        .map(Json::Number)
}

fn parse_date_text(t: &str, format: Option<&str>) -> Option<String> {
    if let Some(d) = digits_date(t, format.unwrap_or("%Y-%m-%d")) {
        return Some(iso_date(d));
    }
    if let Some(f) = format {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return Some(iso_date(d));
        }
        return NaiveDateTime::parse_from_str(t, f)
            .ok()
            .map(|d| iso_date(d.date()));
    }
    // Without a format, accept FHIR's own partial dates and ISO timestamps.
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Some(iso_date(d));
    }
    if let Some(dt) = parse_iso_naive(t) {
        return Some(iso_date(dt.date()));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(iso_date(d.date_naive()));
    }
    partial_date(t)
}

/// `t` as a date in the two most common layouts, `%Y%m%d` (`20240131`) and `%Y-%m-%d`,
/// without chrono's format parser (which reads the format anew for every value); `None`
/// for anything else, which chrono then parses as before.
fn digits_date(t: &str, format: &str) -> Option<NaiveDate> {
    let b = t.as_bytes();
    let (y, m, d) = match (format, b.len()) {
        ("%Y%m%d", 8) => (&b[0..4], &b[4..6], &b[6..8]),
        ("%Y-%m-%d", 10) if b[4] == b'-' && b[7] == b'-' => (&b[0..4], &b[5..7], &b[8..10]),
        _ => return None,
    };
    let number = |s: &[u8]| {
        s.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(i32::try_from(number(y)?).ok()?, number(m)?, number(d)?)
}

/// `YYYY` or `YYYY-MM`, checked.
fn partial_date(t: &str) -> Option<String> {
    match t.len() {
        4 if t.bytes().all(|b| b.is_ascii_digit()) => Some(t.to_string()),
        7 => NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d")
            .ok()
            .map(|_| t.to_string()),
        _ => None,
    }
}

fn parse_iso_naive(t: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
}

enum DateOrTime {
    Date(String),
    DateTime(String),
}

fn parse_datetime_text(t: &str, format: Option<&str>, tz: Tz) -> Option<DateOrTime> {
    if let Some(f) = format {
        if let Ok(d) = DateTime::parse_from_str(t, f) {
            return Some(DateOrTime::DateTime(
                d.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ));
        }
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(DateOrTime::DateTime(local_datetime(d, tz)));
        }
        return NaiveDate::parse_from_str(t, f)
            .ok()
            .map(|d| DateOrTime::Date(iso_date(d)));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(DateOrTime::DateTime(
            d.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ));
    }
    if let Some(d) = parse_iso_naive(t) {
        return Some(DateOrTime::DateTime(local_datetime(d, tz)));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Some(DateOrTime::Date(iso_date(d)));
    }
    partial_date(t).map(DateOrTime::Date)
}

#[cfg(test)]
mod tests {
    #[test]
    fn digit_dates_agree_with_chrono() {
        use chrono::NaiveDate;
        for (t, f) in [
            ("20240131", "%Y%m%d"),
            ("20240229", "%Y%m%d"),
            ("20230229", "%Y%m%d"),
            ("20241301", "%Y%m%d"),
            ("2024013", "%Y%m%d"),
            ("2024-01-31", "%Y-%m-%d"),
            ("2024-02-30", "%Y-%m-%d"),
            ("2024/01/31", "%Y-%m-%d"),
            ("2024-1-31", "%Y-%m-%d"),
            ("00010101", "%Y%m%d"),
            ("2024-0a-31", "%Y-%m-%d"),
            ("+2024-01-31", "%Y-%m-%d"),
        ] {
            let fast = super::digits_date(t, f);
            let chrono = NaiveDate::parse_from_str(t, f).ok();
            if fast.is_some() || t.len() == 8 || t.len() == 10 {
                assert_eq!(fast, chrono, "{t} {f}");
            }
            assert_eq!(
                super::parse_date_text(t, Some(f)),
                chrono.map(super::iso_date),
                "{t} {f}"
            );
        }
    }

    use super::*;
    use crate::mapping::MapValue;
    use indexmap::IndexMap;
    use std::sync::Arc;

    fn prim(v: Value, to: Primitive, format: Option<&str>) -> Option<Json> {
        primitive(&v, to, format, chrono_tz::America::New_York).unwrap()
    }

    fn ts(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn text_is_trimmed_and_blank_is_absent() {
        assert_eq!(
            prim(Value::Text("MRN ".into()), Primitive::Code, None),
            Some(Json::from("MRN"))
        );
        assert_eq!(
            prim(Value::Text("   ".into()), Primitive::String, None),
            None
        );
        assert_eq!(
            prim(Value::Int(42), Primitive::String, None),
            Some(Json::from("42"))
        );
    }

    #[test]
    fn yyyymmdd_text_becomes_a_date() {
        let d = prim(
            Value::Text("19630415".into()),
            Primitive::Date,
            Some("%Y%m%d"),
        );
        assert_eq!(d, Some(Json::from("1963-04-15")));
        let from_int = prim(Value::Int(19630415), Primitive::Date, Some("%Y%m%d"));
        assert_eq!(from_int, Some(Json::from("1963-04-15")));
        let bad = primitive(
            &Value::Text("19631345".into()),
            Primitive::Date,
            Some("%Y%m%d"),
            Tz::UTC,
        );
        assert!(bad.is_err());
        assert_eq!(
            prim(Value::Text("2001-02-03".into()), Primitive::Date, None),
            Some(Json::from("2001-02-03"))
        );
        assert_eq!(
            prim(Value::Text("2001-02".into()), Primitive::Date, None),
            Some(Json::from("2001-02"))
        );
    }

    #[test]
    fn naive_timestamps_take_the_configured_zone() {
        let winter = prim(
            Value::Timestamp(ts("2020-01-15 08:30:00")),
            Primitive::DateTime,
            None,
        );
        assert_eq!(winter, Some(Json::from("2020-01-15T08:30:00-05:00")));
        let summer = prim(
            Value::Text("2020-07-15 08:30:00".into()),
            Primitive::Instant,
            None,
        );
        assert_eq!(summer, Some(Json::from("2020-07-15T08:30:00-04:00")));
        let utc = primitive(
            &Value::Timestamp(ts("2020-07-15 08:30:00")),
            Primitive::Instant,
            None,
            Tz::UTC,
        )
        .unwrap();
        assert_eq!(utc, Some(Json::from("2020-07-15T08:30:00Z")));
    }

    #[test]
    fn iso_dates_are_written_as_chrono_writes_them() {
        for (y, m, d) in [
            (1, 1, 1),
            (999, 12, 31),
            (1969, 7, 20),
            (2024, 2, 29),
            (9999, 1, 9),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(iso_date(date), date.format("%Y-%m-%d").to_string());
        }
        // Outside 0..=9999 chrono's own format (with a sign) is kept.
        let far = NaiveDate::from_ymd_opt(12345, 6, 7).unwrap();
        assert_eq!(iso_date(far), far.format("%Y-%m-%d").to_string());
    }

    #[test]
    fn dates_are_not_instants() {
        let d = NaiveDate::from_ymd_opt(2020, 1, 2).unwrap();
        assert_eq!(
            prim(Value::Date(d), Primitive::DateTime, None),
            Some(Json::from("2020-01-02"))
        );
        assert!(primitive(&Value::Date(d), Primitive::Instant, None, Tz::UTC).is_err());
    }

    #[test]
    fn decimals_keep_their_digits() {
        let j = prim(Value::Text("5.70".into()), Primitive::Decimal, None).unwrap();
        assert_eq!(serde_json::to_string(&j).unwrap(), "5.70");
        let j = prim(Value::Decimal("0.90".into()), Primitive::Decimal, None).unwrap();
        assert_eq!(serde_json::to_string(&j).unwrap(), "0.90");
        let j = prim(Value::Text(".5".into()), Primitive::Decimal, None).unwrap();
        assert_eq!(serde_json::to_string(&j).unwrap(), "0.5");
        assert!(
            primitive(
                &Value::Text("<0.1".into()),
                Primitive::Decimal,
                None,
                Tz::UTC
            )
            .is_err()
        );
        assert!(primitive(&Value::Text("1.".into()), Primitive::Decimal, None, Tz::UTC).is_err());
    }

    #[test]
    fn computed_decimals_lose_trailing_zeros() {
        let c = Convert::Primitive {
            to: Primitive::Decimal,
            format: None,
            scale: None,
            trim: true,
        };
        for (v, want) in [
            (Value::Decimal("6.5000".into()), "6.5"),
            (Value::Decimal("7.000".into()), "7"),
            (Value::Float(98.6), "98.6"),
            (Value::Int(120), "120"),
            (Value::Decimal("100".into()), "100"),
            (Value::Text("5.70".into()), "5.70"),
        ] {
            let j = convert(&v, &c, Tz::UTC).unwrap().unwrap();
            assert_eq!(serde_json::to_string(&j).unwrap(), want);
        }
    }

    #[test]
    fn declared_scale_restores_decimal_places() {
        let c = Convert::Primitive {
            to: Primitive::Decimal,
            format: None,
            scale: Some(2),
            trim: false,
        };
        for (v, want) in [
            (Value::Int(500), "500.00"),
            (Value::Float(98.6), "98.60"),
            (Value::Decimal("7.5".into()), "7.5"),
        ] {
            let j = convert(&v, &c, Tz::UTC).unwrap().unwrap();
            assert_eq!(serde_json::to_string(&j).unwrap(), want);
        }
    }

    #[test]
    fn whole_decimals_fill_integers() {
        assert_eq!(
            prim(Value::Decimal("5.00".into()), Primitive::Integer, None),
            Some(Json::from(5))
        );
        assert!(
            primitive(
                &Value::Decimal("5.50".into()),
                Primitive::Integer,
                None,
                Tz::UTC
            )
            .is_err()
        );
    }

    #[test]
    fn flags_become_booleans() {
        for (t, b) in [("Y", true), ("n", false), ("1", true), ("F", false)] {
            assert_eq!(
                prim(Value::Text(t.into()), Primitive::Boolean, None),
                Some(Json::Bool(b))
            );
        }
        assert_eq!(
            prim(Value::Int(1), Primitive::Boolean, None),
            Some(Json::Bool(true))
        );
        assert!(
            primitive(
                &Value::Text("MAYBE".into()),
                Primitive::Boolean,
                None,
                Tz::UTC
            )
            .is_err()
        );
    }

    #[test]
    fn value_maps_fill_codes_and_codings() {
        let mut values = IndexMap::new();
        values.insert("M".to_string(), MapValue::Scalar(Json::from("male")));
        values.insert(
            "S".to_string(),
            MapValue::Coding {
                system: Some("http://sys".into()),
                code: "S".into(),
                display: Some("Single".into()),
            },
        );
        values.insert("1".to_string(), MapValue::Scalar(Json::from("yes")));
        let map = Arc::new(ValueMap::new("m".into(), values.clone(), None));
        let code = Convert::Mapped {
            map: map.clone(),
            target: MapTarget::Primitive(Primitive::Code),
        };
        assert_eq!(
            convert(&Value::Text("M ".into()), &code, Tz::UTC).unwrap(),
            Some(Cow::Borrowed(&Json::from("male")))
        );
        assert_eq!(
            convert(&Value::Text("X".into()), &code, Tz::UTC).unwrap(),
            None
        );
        assert_eq!(
            convert(&Value::Text(" ".into()), &code, Tz::UTC).unwrap(),
            None
        );
        // A boolean column matches the key 1 or 0.
        assert_eq!(
            convert(&Value::Bool(true), &code, Tz::UTC).unwrap(),
            Some(Cow::Borrowed(&Json::from("yes")))
        );
        // Unlisted codes take the default, when there is one.
        let with_default = Convert::Mapped {
            map: Arc::new(ValueMap::new(
                "d".into(),
                values,
                Some(MapValue::Scalar(Json::from("unknown"))),
            )),
            target: MapTarget::Primitive(Primitive::Code),
        };
        assert_eq!(
            convert(&Value::Text("X".into()), &with_default, Tz::UTC).unwrap(),
            Some(Cow::Borrowed(&Json::from("unknown")))
        );
        assert_eq!(
            convert(&Value::Text("S".into()), &with_default, Tz::UTC).unwrap(),
            Some(Cow::Borrowed(&Json::from("S")))
        );
        let cc = Convert::Mapped {
            map,
            target: MapTarget::CodeableConcept,
        };
        assert_eq!(
            convert(&Value::Text("S".into()), &cc, Tz::UTC)
                .unwrap()
                .map(Cow::into_owned),
            Some(
                serde_json::json!({"coding": [{"system": "http://sys", "code": "S", "display": "Single"}]})
            )
        );
    }

    #[test]
    fn references_carry_type_and_prefix() {
        let r = Convert::Reference {
            resource_type: "Observation".into(),
            prefix: "lab-".into(),
            source: "lab".into(),
        };
        assert_eq!(
            convert(&Value::Int(7), &r, Tz::UTC)
                .unwrap()
                .map(Cow::into_owned),
            Some(serde_json::json!({"reference": "Observation/lab-7"}))
        );
        assert!(convert(&Value::Text("a b".into()), &r, Tz::UTC).is_err());
    }
}
