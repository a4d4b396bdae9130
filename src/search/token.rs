//! Token search (<http://hl7.org/fhir/R4/search.html#token>): `code`, `system|code`, `|code`
//! (no system) and `system|` (any code of the system), `:text` on the display and `:of-type`
//! on identifiers (`type-system|type-code|value`); `:not` and `:missing` are decided by the
//! planner around these.
//!
//! A target's system, code and display are [`Part`]s: a constant or absent part is decided
//! here, a column is compared with `IN` (bound as the column compares it), and a value-mapped
//! code is searched in reverse (the legacy codes whose entry has the wanted code).

use super::Modifier;
use super::escape::{split, unescape};
use super::operand::{Part, write_bool, write_part, write_prefixed};
use super::string::{StringMatch, normalize, write_string_match};
use crate::sql::{Accents, SqlWriter};

/// A parsed token search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSearch {
    /// `code`, `system|code`, `|code` or `system|`.
    Code(TokenValue),
    /// `:text`: the display starts with this text (as string searches compare).
    Text(String),
    /// `:of-type`: an identifier with this type and value.
    OfType {
        /// The type's system.
        system: String,
        /// The type's code.
        code: String,
        /// The identifier's value.
        value: String,
    },
}

/// One token value: `code`, `system|code`, `|code`, `system|`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenValue {
    /// `None`: any system; `Some("")`: no system; `Some(s)`: that system.
    pub system: Option<String>,
    /// `None`: any code of the system.
    pub code: Option<String>,
}

/// Parses a plain token value.
pub fn token_value(raw: &str) -> TokenValue {
    let parts = split(raw, '|');
    if parts.len() >= 2 {
        let code = unescape(&parts[1..].join("|"));
        TokenValue {
            system: Some(unescape(parts[0])),
            code: (!code.is_empty()).then_some(code),
        }
    } else {
        TokenValue {
            system: None,
            code: Some(unescape(raw)),
        }
    }
}

/// Parses the value of token parameter `code` with `modifier`.
pub fn parse(code: &str, modifier: Option<&Modifier>, raw: &str) -> Result<TokenSearch, String> {
    Ok(match modifier {
        Some(Modifier::Text) => TokenSearch::Text(unescape(raw)),
        Some(Modifier::OfType) => {
            let [system, type_code, value] = split(raw, '|')[..] else {
                return Err(format!(
                    "{code}:of-type takes type-system|type-code|value, not '{raw}'"
                ));
            };
            TokenSearch::OfType {
                system: unescape(system),
                code: unescape(type_code),
                value: unescape(value),
            }
        }
        _ => TokenSearch::Code(token_value(raw)),
    })
}

/// A token target with its parts resolved.
pub struct TokenTarget<'a> {
    /// Its system.
    pub system: Part<'a>,
    /// Its code (or identifier value).
    pub code: Part<'a>,
    /// Its display text.
    pub display: Part<'a>,
    /// For an identifier: its type's system and code.
    pub of_type: Option<(Part<'a>, Part<'a>)>,
}

impl TokenSearch {
    /// Whether the target can be seen, from the mapping alone, never to match: a constant or
    /// absent system or code that differs, or a value map with no entry for it. Such targets
    /// are left out of the SQL rather than written as `1=0 AND ...` (SQLite does not simplify
    /// them away, and an OR with them keeps it from using an index).
    pub fn never_matches(&self, t: &TokenTarget) -> bool {
        let TokenSearch::Code(tv) = self else {
            return false;
        };
        let system_misses = match tv.system.as_deref() {
            None => false,
            Some("") => t.system.never_equals(None),
            Some(s) => t.system.never_equals(Some(s)),
        };
        system_misses
            || tv
                .code
                .as_deref()
                .is_some_and(|v| t.code.never_equals(Some(v)))
    }
}

/// Writes "the target matches the search" (parenthesize it where it is combined).
pub fn write_predicate(
    w: &mut SqlWriter,
    target: &TokenTarget,
    search: &TokenSearch,
    accents: &Accents,
) {
    match search {
        TokenSearch::Text(text) => match &target.display {
            Part::Sql(op) => {
                let how = StringMatch::StartsWith;
                write_string_match(w, &op.sql, op.column, text, how, accents);
            }
            Part::Const(c) => {
                let strip = accents.insensitive();
                write_bool(w, normalize(c, strip).starts_with(&normalize(text, strip)));
            }
            _ => write_bool(w, false),
        },
        TokenSearch::OfType {
            system,
            code,
            value,
        } => {
            let Some((ts, tc)) = &target.of_type else {
                write_bool(w, false);
                return;
            };
            write_part(w, ts, Some(system));
            w.push(" AND ");
            write_part(w, tc, Some(code));
            w.push(" AND ");
            write_part(w, &target.code, Some(value));
        }
        TokenSearch::Code(tv) => {
            // A prefixed code (`ICD10:E11.9`) with a code: one list of its stored spellings.
            if let (
                Part::Prefixed {
                    operand, prefix, ..
                },
                Some(code),
            ) = (&target.code, tv.code.as_deref())
            {
                write_prefixed(w, operand, prefix, tv.system.as_deref(), code);
                return;
            }
            match tv.system.as_deref() {
                None => write_bool(w, true),
                Some("") => write_part(w, &target.system, None),
                Some(s) => write_part(w, &target.system, Some(s)),
            }
            w.push(" AND ");
            match tv.code.as_deref() {
                None => write_bool(w, true),
                Some(c) => write_part(w, &target.code, Some(c)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_values_split_on_unescaped_bars() {
        assert_eq!(
            token_value("http://loinc.org|2339-0"),
            TokenValue {
                system: Some("http://loinc.org".into()),
                code: Some("2339-0".into())
            }
        );
        assert_eq!(
            token_value("|x"),
            TokenValue {
                system: Some(String::new()),
                code: Some("x".into())
            }
        );
        assert_eq!(
            token_value("http://s|"),
            TokenValue {
                system: Some("http://s".into()),
                code: None
            }
        );
        assert_eq!(
            token_value("a\\|b"),
            TokenValue {
                system: None,
                code: Some("a|b".into())
            }
        );
        assert_eq!(
            token_value("s|a|b\\,c"),
            TokenValue {
                system: Some("s".into()),
                code: Some("a|b,c".into())
            }
        );
    }

    #[test]
    fn of_type_takes_three_parts() {
        assert_eq!(
            parse("identifier", Some(&Modifier::OfType), "http://t|MR|123").unwrap(),
            TokenSearch::OfType {
                system: "http://t".into(),
                code: "MR".into(),
                value: "123".into()
            }
        );
        assert_eq!(
            parse("identifier", Some(&Modifier::OfType), "MR|123").unwrap_err(),
            "identifier:of-type takes type-system|type-code|value, not 'MR|123'"
        );
        assert_eq!(
            parse("code", Some(&Modifier::Text), "gluc\\,ose").unwrap(),
            TokenSearch::Text("gluc,ose".into())
        );
    }
}
