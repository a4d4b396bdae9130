//! The condition and value of a custom parameter defined by SQL (`sql = "P.MRN = ?"`): the
//! search value as plain text (a token's code, a string as written, a uri, a number as
//! written) bound to the plain condition or to the one its modifier declares. The SQL decides
//! how it compares; what the value cannot say (a code system, a prefix, an undeclared
//! modifier) is refused rather than ignored.

use sea_query::Value;

use super::PlanError;
use crate::mapping::SqlCondition;
use crate::search::Prefix;
use crate::search::SearchValue;
use crate::search::string::StringMatch;
use crate::search::token::TokenSearch;
use crate::search::uri::UriMatch;
use crate::sql::Dialect;

/// The condition of `sql` that answers `value` (the plain one, or the one its modifier
/// declares) with the value bound to each of its `?`.
pub fn condition<'a>(
    dialect: Dialect,
    code: &str,
    sql: &'a SqlCondition,
    value: &SearchValue,
) -> Result<(&'a str, Value), PlanError> {
    let refuse = |what: &str| {
        Err(PlanError::Unsupported(format!(
            "'{code}' is defined by SQL and takes a plain value: {what}"
        )))
    };
    let (modifier, bound) = match value {
        SearchValue::Token(TokenSearch::Code(tv)) => match (tv.system.as_deref(), &tv.code) {
            (None | Some(""), Some(c)) => (None, Value::from(c.clone())),
            (Some(_), _) => return refuse("it has no code system (search code, not system|code)"),
            (None, None) => return refuse("give a code"),
        },
        SearchValue::Token(TokenSearch::Text(t)) => (Some("text"), Value::from(t.clone())),
        SearchValue::Token(TokenSearch::OfType { .. }) => return refuse("no :of-type"),
        SearchValue::String(s) => {
            let modifier = match s.how {
                StringMatch::StartsWith => None,
                StringMatch::Exact => Some("exact"),
                StringMatch::Contains => Some("contains"),
            };
            (modifier, Value::from(s.text.clone()))
        }
        SearchValue::Uri(UriMatch::AnyOf(values)) if values.len() == 1 => {
            (None, Value::from(values[0].clone()))
        }
        SearchValue::Uri(UriMatch::Below(v)) => (Some("below"), Value::from(v.clone())),
        // The value itself comes first, its parents after.
        SearchValue::Uri(UriMatch::Above(values)) if !values.is_empty() => {
            (Some("above"), Value::from(values[0].clone()))
        }
        SearchValue::Number(n) if n.prefix == Prefix::Eq => (None, dialect.decimal_param(n.value)),
        SearchValue::Number(_) => return refuse("no prefix"),
        _ => return refuse("a value of its type"),
    };
    match sql.condition(modifier) {
        Some(condition) => Ok((condition, bound)),
        None => refuse(&format!(
            "no :{} (the mapping declares no condition for it)",
            modifier.unwrap_or_default()
        )),
    }
}

/// The condition that holds for resources without a value (`modifiers = { missing = "..." }`).
pub fn missing_condition(sql: &SqlCondition) -> Result<&str, PlanError> {
    sql.condition(Some("missing")).ok_or_else(|| {
        PlanError::Unsupported(
            "a parameter defined by SQL without a `missing` condition cannot decide :missing"
                .into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::SqlModifier;
    use crate::search::string::StringSearch;
    use crate::search::token::token_value;

    fn sql() -> SqlCondition {
        SqlCondition {
            sql: "N LIKE ? || '%'".into(),
            params: 1,
            modifiers: vec![
                SqlModifier {
                    code: "contains",
                    sql: "N LIKE '%' || ? || '%'".into(),
                },
                SqlModifier {
                    code: "missing",
                    sql: "N = ''".into(),
                },
            ],
        }
    }

    fn string(text: &str, how: StringMatch) -> SearchValue {
        SearchValue::String(StringSearch {
            text: text.into(),
            how,
        })
    }

    #[test]
    fn a_modifier_picks_its_declared_condition() {
        let c = sql();
        let got = |v: &SearchValue| condition(Dialect::Sqlite, "n", &c, v);
        assert_eq!(
            got(&string("ab", StringMatch::StartsWith)).unwrap(),
            ("N LIKE ? || '%'", Value::from("ab"))
        );
        assert_eq!(
            got(&string("ab", StringMatch::Contains)).unwrap(),
            ("N LIKE '%' || ? || '%'", Value::from("ab"))
        );
        // Not declared: refused, never answered by the plain condition.
        let e = got(&string("ab", StringMatch::Exact)).unwrap_err();
        assert!(e.to_string().contains("no :exact"), "{e}");
        assert_eq!(missing_condition(&c).unwrap(), "N = ''");
        let bare = SqlCondition {
            modifiers: Vec::new(),
            ..c.clone()
        };
        assert!(missing_condition(&bare).is_err());
    }

    #[test]
    fn tokens_and_uris_pass_one_plain_text() {
        let c = SqlCondition {
            modifiers: vec![SqlModifier {
                code: "above",
                sql: "? LIKE U || '%'".into(),
            }],
            ..sql()
        };
        let got = |v: &SearchValue| condition(Dialect::Postgres, "n", &c, v);
        let code = SearchValue::Token(TokenSearch::Code(token_value("007")));
        assert_eq!(got(&code).unwrap().1, Value::from("007"));
        let system = SearchValue::Token(TokenSearch::Code(token_value("http://x|007")));
        assert!(got(&system).is_err());
        let above = SearchValue::Uri(
            crate::search::uri::parse(
                "u",
                Some(&crate::search::Modifier::Above),
                "http://a.org/x/y",
            )
            .unwrap(),
        );
        assert_eq!(
            got(&above).unwrap(),
            ("? LIKE U || '%'", Value::from("http://a.org/x/y"))
        );
        let below = SearchValue::Uri(UriMatch::Below("http://a.org/".into()));
        assert!(got(&below).unwrap_err().to_string().contains("no :below"));
    }
}
