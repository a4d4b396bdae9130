//! Search semantics, one module per parameter type (pure, no I/O). Each parses its search
//! values once, into a typed value, and writes the SQL predicate that compares such a value
//! with a mapped column or expression, with bound parameters, for every dialect:
//!
//! | module | values |
//! |---|---|
//! | [`token`] | `code`, `system\|code`, `:text`, `:of-type` |
//! | [`string`] | starts-with, `:exact`, `:contains`, accents |
//! | [`date`] | precisions, prefixes, periods, time zones |
//! | [`number`] | numbers and quantities, implicit ranges, prefixes |
//! | [`reference`](mod@reference) | `Type/id`, `id`, `[base]/Type/id`, `:Type` |
//! | [`uri`] | exact, `:below`, `:above` |
//! | [`composite`] | `part$part`, each part of its component's type |
//! | [`id`] | `_id` |
//!
//! [`modifier`] is the registry of the modifiers each type takes; [`escape`] the one escaping
//! rule; [`operand`] the mapped values the predicate writers compare with. The planner
//! dispatches each criterion to these modules; it never interprets a value itself.

pub mod composite;
pub mod date;
pub mod escape;
pub mod id;
pub mod modifier;
pub mod number;
pub mod operand;
pub mod prefix;
pub mod reference;
pub mod string;
pub mod token;
pub mod uri;

use chrono_tz::Tz;

pub use modifier::Modifier;
pub use prefix::Prefix;

use crate::fhir::SearchParamType;
use crate::mapping::CompositeComponent;

/// A search value, parsed once for its parameter's type (and modifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchValue {
    /// A token value.
    Token(token::TokenSearch),
    /// A string value.
    String(string::StringSearch),
    /// A date value (a range, with its prefix).
    Date(date::DateSearch),
    /// A number (with its prefix and implicit range).
    Number(number::NumberSearch),
    /// A quantity.
    Quantity(number::QuantitySearch),
    /// A reference.
    Reference(reference::ReferenceSearch),
    /// A uri comparison.
    Uri(uri::UriMatch),
    /// One value per component of a composite parameter, in the components' order.
    Composite(Vec<SearchValue>),
    /// A logical id (`_id`).
    Id(String),
}

/// What reading a value needs besides the value itself.
#[derive(Debug, Clone, Copy)]
pub struct ValueContext<'a> {
    /// The time zone dates without one are read in.
    pub tz: Tz,
    /// The server's FHIR base URL (absolute references on it are local).
    pub base_url: &'a str,
}

/// Parses one value (`raw`, escapes intact, already split from its OR-siblings) of parameter
/// `code` of type `param_type` with `modifier` (not `:missing`, which takes no value of the
/// type). `components`: a composite parameter's components. Errors are meant for the client.
pub fn parse_value(
    cx: ValueContext,
    param_type: SearchParamType,
    code: &str,
    modifier: Option<&Modifier>,
    components: &[CompositeComponent],
    raw: &str,
) -> Result<SearchValue, String> {
    let with_code = |e: &dyn std::fmt::Display| format!("{code}: {e}");
    Ok(match param_type {
        _ if code == "_id" => SearchValue::Id(id::parse(raw)),
        SearchParamType::Token => SearchValue::Token(token::parse(code, modifier, raw)?),
        SearchParamType::String => SearchValue::String(string::parse(modifier, raw)),
        SearchParamType::Date => {
            SearchValue::Date(date::parse(raw, cx.tz).map_err(|e| with_code(&e))?)
        }
        SearchParamType::Number => {
            SearchValue::Number(number::parse_number(raw).map_err(|e| with_code(&e))?)
        }
        SearchParamType::Quantity => {
            SearchValue::Quantity(number::parse_quantity(raw).map_err(|e| with_code(&e))?)
        }
        SearchParamType::Reference => {
            SearchValue::Reference(reference::parse(cx.base_url, modifier, raw)?)
        }
        SearchParamType::Uri => SearchValue::Uri(uri::parse(code, modifier, raw)?),
        SearchParamType::Composite => {
            SearchValue::Composite(composite::parse(cx, code, components, raw)?)
        }
        SearchParamType::Special => {
            return Err(format!("{code}: special parameters are not supported"));
        }
    })
}
