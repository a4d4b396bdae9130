//! The value a custom parameter defined by SQL (`sql = "P.MRN = ?"`) receives: the search
//! value as plain text (a token's code, a string as written, a uri, a number as written). Its
//! SQL decides how it compares; what the value cannot say (a code system, a prefix, a
//! modifier) is refused rather than ignored.

use sea_query::Value;

use super::PlanError;
use crate::search::Prefix;
use crate::search::SearchValue;
use crate::search::string::StringMatch;
use crate::search::token::TokenSearch;
use crate::search::uri::UriMatch;
use crate::sql::Dialect;

/// The value bound to each `?` of the condition of parameter `code`.
pub fn value_of(dialect: Dialect, code: &str, value: &SearchValue) -> Result<Value, PlanError> {
    let refuse = |what: &str| {
        Err(PlanError::Unsupported(format!(
            "'{code}' is defined by SQL and takes a plain value: {what}"
        )))
    };
    match value {
        SearchValue::Token(TokenSearch::Code(tv)) => match (tv.system.as_deref(), &tv.code) {
            (None | Some(""), Some(c)) => Ok(Value::from(c.clone())),
            (Some(_), _) => refuse("it has no code system (search code, not system|code)"),
            (None, None) => refuse("give a code"),
        },
        SearchValue::Token(_) => refuse("no modifier"),
        SearchValue::String(s) if s.how == StringMatch::StartsWith => {
            Ok(Value::from(s.text.clone()))
        }
        SearchValue::String(_) => refuse("no modifier"),
        SearchValue::Uri(UriMatch::AnyOf(values)) if values.len() == 1 => {
            Ok(Value::from(values[0].clone()))
        }
        SearchValue::Uri(_) => refuse("no modifier"),
        SearchValue::Number(n) if n.prefix == Prefix::Eq => Ok(dialect.decimal_param(n.value)),
        SearchValue::Number(_) => refuse("no prefix"),
        _ => refuse("a value of its type"),
    }
}
