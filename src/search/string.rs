//! String search: case-insensitive starts-with by default, `:contains`, `:exact`, and
//! accent-insensitive where the database allows it.
//!
//! The search value is normalized here, in Rust, the same way for every backend: Unicode NFC
//! and lower case ([`normalize`]); when the database removes accents too, Latin letters lose
//! their diacritics (`é` → `e`). What the database does to the column:
//!
//! - PostgreSQL with the `unaccent` extension ([`Accents::Unaccent`]): `unaccent(LOWER(col))`,
//!   compared with the unaccented value. Letters `unaccent` maps that are not an ASCII letter
//!   with marks (`ł`, `ø`, `ß`…) are left in the value, which then goes through the same
//!   function in SQL, so both sides are folded alike.
//! - PostgreSQL without it: `LOWER(col)`; accents must match.
//! - SQLite: `LOWER(col)`, which folds ASCII letters only; so is the value folded, so accents
//!   and the case of other letters must match.
//! - MySQL/MariaDB: `LOWER(col)`; accents are compared as the column's collation says (the
//!   usual `_ci` / `_ai_ci` collations ignore them; `_bin` and `_as_` ones do not).
//!
//! Starts-with is a range on the folded column (which an expression index serves) rechecked
//! with `LIKE` (or, with `unaccent`, `starts_with`); on PostgreSQL compared in the `"C"`
//! collation, since the range's upper bound is one in code point order only (the index must be
//! declared `COLLATE "C"` too); on MySQL/MariaDB a lower bound and the `LIKE`, whose prefix the
//! optimizer turns into a range by the column's collation.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::Modifier;
use super::escape::unescape;
use crate::mapping::ColumnInfo;
pub use crate::sql::Accents;
use crate::sql::Dialect;
use crate::sql::SqlWriter;

/// A search value as it is compared: NFC, lower case and, with `strip_accents`, every Latin
/// letter that is an ASCII letter plus combining marks (`É`, `ñ`, `ů`) replaced by that letter.
/// Other characters (`ł`, `ß`, Greek, Cyrillic) are kept as they are.
pub fn normalize(value: &str, strip_accents: bool) -> String {
    let composed: String = value.nfc().collect();
    let stripped: String = if strip_accents {
        composed.chars().map(base_letter).collect()
    } else {
        composed
    };
    stripped.to_lowercase()
}

/// The search value as the column is folded on this database: [`normalize`], except on
/// SQLite, whose `LOWER()` folds ASCII letters only (so must the value, or `É` in the data
/// could never be matched).
fn fold_value(text: &str, dialect: Dialect, accents: &Accents) -> String {
    if dialect.lower_folds_ascii_only() {
        text.nfc().collect::<String>().to_ascii_lowercase()
    } else {
        normalize(text, accents.insensitive())
    }
}

/// The ASCII letter `c` is made of, when it is one plus combining marks; else `c`.
fn base_letter(c: char) -> char {
    if c.is_ascii() {
        return c;
    }
    let mut parts = std::iter::once(c).nfd();
    match parts.next() {
        Some(base) if base.is_ascii_alphabetic() && parts.all(is_combining_mark) => base,
        _ => c,
    }
}

/// The LIKE pattern of `text` with `%`, `_` and the escape character `!` escaped.
pub fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// The smallest string above every string starting with `prefix`, if there is one.
pub fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// How a string value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringMatch {
    /// The default: the value starts with the text, ignoring case (and accents, where the
    /// database can).
    StartsWith,
    /// `:exact`: the whole value, as sent.
    Exact,
    /// `:contains`: the text anywhere in the value, ignoring case.
    Contains,
}

impl StringMatch {
    /// The comparison a string parameter's modifier asks for.
    pub fn of(modifier: Option<&Modifier>) -> StringMatch {
        match modifier {
            Some(Modifier::Exact) => StringMatch::Exact,
            Some(Modifier::Contains) => StringMatch::Contains,
            _ => StringMatch::StartsWith,
        }
    }
}

/// A parsed string search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringSearch {
    /// The text, unescaped.
    pub text: String,
    /// How it is compared.
    pub how: StringMatch,
}

/// Parses a string search value with `modifier`.
pub fn parse(modifier: Option<&Modifier>, raw: &str) -> StringSearch {
    StringSearch {
        text: unescape(raw),
        how: StringMatch::of(modifier),
    }
}

/// A string criterion on the SQL value `sql` (the column `column`, when it is one):
/// case-insensitive (and, per `accents`, accent-insensitive) starts-with by default,
/// `:contains`, or `:exact` (as sent, bound as the column compares it).
pub fn write_string_match(
    w: &mut SqlWriter,
    sql: &str,
    column: Option<&ColumnInfo>,
    text: &str,
    how: StringMatch,
    accents: &Accents,
) {
    if how == StringMatch::Exact {
        w.push(sql).push(" = ").param_for(column, text.to_string());
        if w.dialect().needs_binary_recheck() {
            // MySQL's usual collations ignore case and accents; :exact must not.
            w.push(" AND BINARY ")
                .push(sql)
                .push(" = ")
                .param(text.to_string());
        }
        return;
    }
    match accents {
        Accents::AsStored => {
            let value = fold_value(text, w.dialect(), accents);
            let folded = format!("LOWER({sql})");
            if how == StringMatch::Contains {
                w.push(&folded).push(" LIKE ");
                w.param(format!("%{}%", like_escaped(&value)));
                w.push(" ESCAPE '!'");
                return;
            }
            // In code point order, whose upper bound is the next code point. Not on
            // MySQL/MariaDB: under their collations the next code point is no upper bound
            // (`ê`+1 = `ë` is equal to it where accents are ignored; punctuation sorts before
            // letters in the UCA ones), and their optimizer derives the range from the LIKE
            // prefix itself, by the collation.
            let ordered = w.dialect().code_point_order(&folded);
            let col = ordered.clone().unwrap_or(folded);
            if ordered.is_some() && w.dialect().plans_like_prefix() {
                w.push(&col).push(" LIKE ");
                w.param(format!("{}%", like_escaped(&value)));
                w.push(" ESCAPE '!'");
                return;
            }
            w.push(&col).push(" >= ").param(value.clone());
            if ordered.is_some()
                && let Some(upper) = prefix_upper_bound(&value)
            {
                // The range is the prefix test itself (a LIKE as well would only be checked
                // again on every row).
                w.push(" AND ").push(&col).push(" < ").param(upper);
                return;
            }
            w.push(" AND ").push(&col).push(" LIKE ");
            w.param(format!("{}%", like_escaped(&value)));
            w.push(" ESCAPE '!'");
        }
        Accents::Unaccent(f) => {
            let value = fold_value(text, w.dialect(), accents);
            let unaccented = format!("{f}(LOWER({sql}))");
            // An ASCII value is what unaccent() makes of it; others go through it in SQL.
            let folded = |w: &mut SqlWriter, v: String| {
                if v.is_ascii() {
                    w.param(v);
                } else {
                    w.push(f).push("(").param(v).push(")");
                }
            };
            if how == StringMatch::Contains {
                w.push("STRPOS(").push(&unaccented).push(", ");
                folded(w, value);
                w.push(") > 0");
                return;
            }
            let col = w
                .dialect()
                .code_point_order(&unaccented)
                .unwrap_or(unaccented);
            w.push(&col).push(" >= ");
            folded(w, value.clone());
            // Bounded by the value up to its last ASCII character, which unaccent() keeps.
            let kept = value
                .char_indices()
                .rfind(|(_, c)| c.is_ascii() && *c != '\x7f')
                .map_or("", |(i, c)| &value[..i + c.len_utf8()]);
            if let Some(upper) = prefix_upper_bound(kept) {
                w.push(" AND ").push(&col).push(" < ");
                folded(w, upper);
            }
            w.push(" AND STARTS_WITH(").push(&col).push(", ");
            folded(w, value);
            w.push(")");
        }
    }
}

/// `sql` starts with `prefix`, case-sensitively, as a range an index can serve: a range in
/// code point order where the database has one ([`crate::sql::Dialect::code_point_order`]:
/// SQLite's binary order, PostgreSQL's "C" collation, served by an index on
/// `(col COLLATE "C")`); else a LIKE on the column (a range on its index) rechecked with
/// BINARY (MySQL/MariaDB).
pub fn write_starts_with(w: &mut SqlWriter, sql: &str, prefix: &str) {
    match w.dialect().code_point_order(sql) {
        None => {
            let pattern = format!("{}%", like_escaped(prefix));
            w.push(sql).push(" LIKE ").param(pattern.clone());
            w.push(" ESCAPE '!' AND BINARY ")
                .push(sql)
                .push(" LIKE ")
                .param(pattern);
            w.push(" ESCAPE '!'");
        }
        Some(col) => {
            w.push(&col).push(" >= ").param(prefix.to_string());
            match prefix_upper_bound(prefix) {
                Some(upper) => {
                    w.push(" AND ").push(&col).push(" < ").param(upper);
                }
                None => {
                    w.push(" AND ").push(sql).push(" IS NOT NULL");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_query::Value;

    #[test]
    fn values_are_composed_lowered_and_latin_letters_unaccented() {
        assert_eq!(normalize("GARCÍA", false), "garcía");
        assert_eq!(normalize("GARCÍA", true), "garcia");
        // Decomposed input is composed first.
        assert_eq!(normalize("Le\u{301}a", false), "léa");
        assert_eq!(normalize("Le\u{301}a", true), "lea");
        assert_eq!(
            normalize("Müller Ñúñez Čapek Øre Łukasz Straße", true),
            "muller nunez capek øre łukasz straße"
        );
        // Not Latin: kept (PostgreSQL's unaccent keeps them too).
        assert_eq!(normalize("Йован Ἀθῆναι", true), "йован ἀθῆναι");
        assert_eq!(normalize("\u{212B}ngstr\u{f6}m", true), "angstrom");
    }

    #[test]
    fn mysql_has_no_code_point_upper_bound() {
        let mut w = SqlWriter::new(Dialect::Mysql);
        write_string_match(
            &mut w,
            "LAST_NM",
            None,
            "Lévê",
            StringMatch::StartsWith,
            &Accents::AsStored,
        );
        assert_eq!(
            w.finish().sql,
            "LOWER(LAST_NM) >= ? AND LOWER(LAST_NM) LIKE ? ESCAPE '!'"
        );
    }

    #[test]
    fn only_postgres_compares_the_range_in_the_c_collation() {
        let mut w = SqlWriter::new(Dialect::Sqlite);
        write_string_match(
            &mut w,
            "LAST_NM",
            None,
            "smi",
            StringMatch::StartsWith,
            &Accents::AsStored,
        );
        assert_eq!(w.finish().sql, "LOWER(LAST_NM) >= ? AND LOWER(LAST_NM) < ?");
    }

    #[test]
    fn sqlite_values_fold_like_its_lower() {
        let mut w = SqlWriter::new(Dialect::Sqlite);
        write_string_match(
            &mut w,
            "LAST_NM",
            None,
            "LÉv",
            StringMatch::StartsWith,
            &Accents::AsStored,
        );
        assert_eq!(w.finish().params[0], Value::from("lÉv"));
    }

    #[test]
    fn prefix_bounds_and_like_escapes() {
        assert_eq!(prefix_upper_bound("smi").as_deref(), Some("smj"));
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(like_escaped("50%_!"), "50!%!_!!");
    }

    fn plan(text: &str, modifier: Option<&Modifier>, accents: &Accents) -> (String, Vec<Value>) {
        let mut w = SqlWriter::new(Dialect::Postgres);
        let how = StringMatch::of(modifier);
        write_string_match(&mut w, "P.\"LAST_NM\"", None, text, how, accents);
        let s = w.finish();
        (s.sql, s.params)
    }

    #[test]
    fn starts_with_is_a_like_prefix_in_code_point_order() {
        let (sql, params) = plan("Smí%", None, &Accents::AsStored);
        assert_eq!(sql, "LOWER(P.\"LAST_NM\") COLLATE \"C\" LIKE $1 ESCAPE '!'");
        assert_eq!(params, vec![Value::from("smí!%%")]);
        let (sql, params) = plan("a%", Some(&Modifier::Contains), &Accents::AsStored);
        assert_eq!(sql, "LOWER(P.\"LAST_NM\") LIKE $1 ESCAPE '!'");
        assert_eq!(params, vec![Value::from("%a!%%")]);
    }

    #[test]
    fn unaccent_folds_both_sides() {
        let ua = Accents::Unaccent("unaccent".into());
        let (sql, params) = plan("Smí", None, &ua);
        assert_eq!(
            sql,
            "unaccent(LOWER(P.\"LAST_NM\")) COLLATE \"C\" >= $1 \
             AND unaccent(LOWER(P.\"LAST_NM\")) COLLATE \"C\" < $2 \
             AND STARTS_WITH(unaccent(LOWER(P.\"LAST_NM\")) COLLATE \"C\", $3)"
        );
        assert_eq!(
            params,
            vec![Value::from("smi"), Value::from("smj"), Value::from("smi")]
        );
        // ł stays in the value and goes through unaccent() in SQL; the range stops before it.
        let (sql, params) = plan("Wł", None, &ua);
        assert_eq!(
            sql,
            "unaccent(LOWER(P.\"LAST_NM\")) COLLATE \"C\" >= unaccent($1) \
             AND unaccent(LOWER(P.\"LAST_NM\")) COLLATE \"C\" < $2 \
             AND STARTS_WITH(unaccent(LOWER(P.\"LAST_NM\")) COLLATE \"C\", unaccent($3))"
        );
        assert_eq!(
            params,
            vec![Value::from("wł"), Value::from("x"), Value::from("wł")]
        );
        let (sql, params) = plan("Włod", None, &ua);
        assert!(sql.contains(" < unaccent($2)"), "{sql}");
        assert_eq!(params[1], Value::from("włoe"));
        // Nothing ASCII to bound by: no upper bound.
        let (sql, _) = plan("Ł", None, &ua);
        assert!(!sql.contains(" < "), "{sql}");
        let (sql, params) = plan("ÉT", Some(&Modifier::Contains), &ua);
        assert_eq!(sql, "STRPOS(unaccent(LOWER(P.\"LAST_NM\")), $1) > 0");
        assert_eq!(params, vec![Value::from("et")]);
        // :exact is exact.
        let (sql, params) = plan("Léa", Some(&Modifier::Exact), &ua);
        assert_eq!(sql, "P.\"LAST_NM\" = $1");
        assert_eq!(params, vec![Value::from("Léa")]);
    }
}
