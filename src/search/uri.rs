//! URI search (<http://hl7.org/fhir/R4/search.html#uri>): exact and case-sensitive on every
//! database, `:below` (the value is a prefix of the URL, as an index range) and `:above` (the
//! URL is the value or one of its parent paths). `:above` and `:below` apply to URLs only
//! (`scheme://...`), not to URNs.

use super::Modifier;
use super::escape::unescape;
use super::operand::{Part, write_bool, write_equals, write_mapped};
use super::string::write_starts_with;
use crate::sql::SqlWriter;

/// How a uri value is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriMatch {
    /// Equal to one of these (the value; with `:above`, also its parent paths).
    AnyOf(Vec<String>),
    /// Starts with this (`:below`).
    Below(String),
    /// `:above`: equal to the value (first) or one of its parent paths.
    Above(Vec<String>),
}

/// Parses the value of uri parameter `code` with `modifier`.
pub fn parse(code: &str, modifier: Option<&Modifier>, raw: &str) -> Result<UriMatch, String> {
    let value = unescape(raw);
    let modifier = match modifier {
        Some(m @ (Modifier::Above | Modifier::Below)) => m,
        _ => return Ok(UriMatch::AnyOf(vec![value])),
    };
    let Some(after_scheme) = value.find("://").map(|i| i + 3) else {
        return Err(format!(
            "{code}:{} applies to URLs (scheme://...), not to '{value}'",
            modifier.code()
        ));
    };
    if *modifier == Modifier::Below {
        return Ok(UriMatch::Below(value));
    }
    Ok(UriMatch::Above(parents(&value, after_scheme)))
}

/// `value` and its parent paths, e.g. for `http://a.org/fhir/ValueSet/1`: itself,
/// `http://a.org/fhir/ValueSet/` and `http://a.org/fhir/ValueSet`, ... `http://a.org/` and
/// `http://a.org`. The path ends at a query or fragment; parents start after the authority.
fn parents(value: &str, after_scheme: usize) -> Vec<String> {
    let path_end = value[after_scheme..]
        .find(['?', '#'])
        .map_or(value.len(), |i| after_scheme + i);
    let mut out = vec![value.to_string()];
    let slashes: Vec<usize> = value[after_scheme..path_end]
        .match_indices('/')
        .map(|(i, _)| after_scheme + i)
        .collect();
    let mut cuts: Vec<usize> = slashes.iter().flat_map(|&i| [i, i + 1]).collect();
    cuts.push(path_end);
    for cut in cuts.into_iter().rev() {
        let parent = &value[..cut];
        if cut > after_scheme && !out.iter().any(|p| p == parent) {
            out.push(parent.to_string());
        }
    }
    out
}

/// A uri part compared as `m` asks: exact and case-sensitive on every database (where the
/// usual collations ignore case, [`crate::sql::Dialect::needs_binary_recheck`], it rechecks
/// with BINARY).
pub fn write_predicate(w: &mut SqlWriter, part: &Part, m: &UriMatch) {
    let matches = |v: Option<&str>| match (m, v) {
        (_, None) => false,
        (UriMatch::AnyOf(values) | UriMatch::Above(values), Some(v)) => {
            values.iter().any(|x| x == v)
        }
        (UriMatch::Below(prefix), Some(v)) => v.starts_with(prefix.as_str()),
    };
    match part {
        // A uri is never a prefixed code or a truth.
        Part::Absent | Part::Prefixed { .. } | Part::Truth(_) => write_bool(w, false),
        Part::Const(c) => write_bool(w, matches(Some(c))),
        Part::Mapped {
            operand,
            map,
            field,
        } => write_mapped(w, operand, map, *field, matches),
        Part::Sql(op) | Part::Flag(op) => match m {
            UriMatch::AnyOf(values) | UriMatch::Above(values) => {
                write_equals(w, op, values);
                if w.dialect().needs_binary_recheck() {
                    w.push(" AND BINARY ");
                    write_equals(w, op, values);
                }
            }
            UriMatch::Below(prefix) => write_starts_with(w, &op.sql, prefix),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Dialect;
    use sea_query::Value;

    #[test]
    fn uri_parents_cut_at_path_slashes() {
        let v = "http://a.org/fhir/ValueSet/1";
        assert_eq!(
            parents(v, 7),
            [
                "http://a.org/fhir/ValueSet/1",
                "http://a.org/fhir/ValueSet/",
                "http://a.org/fhir/ValueSet",
                "http://a.org/fhir/",
                "http://a.org/fhir",
                "http://a.org/",
                "http://a.org",
            ]
        );
        assert_eq!(
            parents("urn://x/y?a=b/c", 6),
            ["urn://x/y?a=b/c", "urn://x/y", "urn://x/", "urn://x"]
        );
        assert_eq!(parents("http://a.org", 7), ["http://a.org"]);
    }

    #[test]
    fn uri_modifiers_apply_to_urls_only() {
        let below = Some(&Modifier::Below);
        assert_eq!(
            parse("url", below, "http://a.org/x").unwrap(),
            UriMatch::Below("http://a.org/x".into())
        );
        assert!(parse("url", below, "urn:oid:1.2.3").is_err());
        assert_eq!(
            parse("url", None, "urn:oid:1.2\\,3").unwrap(),
            UriMatch::AnyOf(vec!["urn:oid:1.2,3".into()])
        );
    }

    #[test]
    fn prefix_matches_per_dialect() {
        let sql = |d| {
            let mut w = SqlWriter::new(d);
            super::write_starts_with(&mut w, "O.\"SRC\"", "http://a/");
            w.finish()
        };
        let s = sql(Dialect::Sqlite);
        assert_eq!(s.sql, "O.\"SRC\" >= ? AND O.\"SRC\" < ?");
        assert_eq!(
            s.params,
            vec![Value::from("http://a/"), Value::from("http://a0")]
        );
        assert_eq!(
            sql(Dialect::Postgres).sql,
            "O.\"SRC\" COLLATE \"C\" >= $1 AND O.\"SRC\" COLLATE \"C\" < $2"
        );
        let m = sql(Dialect::Mysql);
        assert_eq!(
            m.sql,
            "O.\"SRC\" LIKE ? ESCAPE '!' AND BINARY O.\"SRC\" LIKE ? ESCAPE '!'"
        );
        assert_eq!(m.params[0], Value::from("http://a/%"));
    }
}
