//! Criteria on a joined lookup table (`[[resource.join]]`: a code-map or concept table),
//! looked up first on every database.
//!
//! `Observation?code=http://loinc.org|2339-0` compares `MAP.LOINC_CD` of the joined
//! `LAB_TEST_MAP MAP ON MAP.LOCAL_CD = LAB_RESULT.TEST_CD`. Written on the join, SQLite and
//! MySQL/MariaDB start from the lookup table and sort every match of the code on every page
//! (unless a unique index makes the lookup one known row). Written as
//! `LAB_RESULT.TEST_CD IN (SELECT MAP.LOCAL_CD FROM LAB_TEST_MAP MAP WHERE <criterion>)` and
//! sized first ([`super::subquery`]), it becomes `LAB_RESULT.TEST_CD IN (?)`: the main table is
//! read through its index on the join column, in key order, and a page stops after `_count`
//! rows. The same rows match: a row matches the criterion on its joined lookup row exactly
//! when its join column is one of the lookup rows' that match. PostgreSQL plans the join well
//! for a code that many rows have, but from statistics alone it cannot tell a code that no
//! lookup row has: it then reads the whole main table in key order for a first match that
//! never comes (87,124 rows for one page on a 5,000-patient database); sized first, that
//! search is `1=0`.

use crate::mapping::{Join, Location, SearchTarget, Source, SqlValue, TokenPart};
use crate::sql::ColumnInfo;

/// A criterion's lookup table, and the columns its join equates.
pub struct Lookup<'a> {
    /// The joined table.
    pub join: &'a Join,
    /// The column of the source row (`LAB_RESULT.TEST_CD`), as the mapping writes it.
    pub source_column: &'a str,
    /// The lookup table's column (`MAP.LOCAL_CD`), as the mapping writes it.
    pub join_column: &'a str,
    /// The source column's type, where the mapping maps it (so that the looked-up keys bind
    /// as it compares them: a `CHAR(n)` on PostgreSQL).
    pub source_info: Option<&'a ColumnInfo>,
}

/// The lookup table every mapped value of `targets` is a column of, when it is one table
/// joined by one equality of columns (`on = "MAP.LOCAL_CD = LAB_RESULT.TEST_CD"`).
pub fn lookup_of<'a>(source: &'a Source, targets: &[&SearchTarget]) -> Option<Lookup<'a>> {
    let mut leaves = Vec::new();
    for t in targets {
        match t {
            SearchTarget::Token {
                system,
                code,
                display,
                of_type,
            } => {
                let of_type = of_type.iter().flat_map(|(s, c)| [s, c]);
                for p in [system, code, display].into_iter().chain(of_type) {
                    match p {
                        TokenPart::Leaf(l) | TokenPart::Mapped(l, _) => leaves.push(*l),
                        TokenPart::Const(_) | TokenPart::Absent => {}
                        TokenPart::Truth(_) => return None,
                    }
                }
            }
            SearchTarget::String(l) => leaves.push(*l),
            SearchTarget::Uri(TokenPart::Leaf(l) | TokenPart::Mapped(l, _)) => leaves.push(*l),
            _ => return None,
        }
    }
    let mut alias: Option<&str> = None;
    for l in &leaves {
        if l.location != Location::Row {
            return None;
        }
        let Some(SqlValue::Column(c)) = source.leaf(*l).sql_value() else {
            return None;
        };
        let q = c.qualifier.as_deref()?;
        match alias {
            Some(a) if !a.eq_ignore_ascii_case(q) => return None,
            _ => alias = Some(q),
        }
    }
    let alias = alias?;
    let join = source
        .joins
        .iter()
        .find(|j| j.alias.eq_ignore_ascii_case(alias))?;
    let (a, b) = join.on.split_once('=')?;
    let (a, b) = (a.trim(), b.trim());
    let (qa, qb) = (qualifier(a)?, qualifier(b)?);
    let is_join = |q: Option<&str>| {
        q.is_some_and(|q| {
            q.trim_matches(|c| c == '"' || c == '`')
                .eq_ignore_ascii_case(alias)
        })
    };
    let (join_column, source_column) = match (is_join(qa), is_join(qb)) {
        (true, false) => (a, b),
        (false, true) => (b, a),
        _ => return None,
    };
    // The other side is the source row's own column.
    let own = |q: Option<&str>| {
        q.is_none_or(|q| {
            q.trim_matches(|c| c == '"' || c == '`')
                .eq_ignore_ascii_case(&source.alias)
        })
    };
    let source_q = if source_column == a { qa } else { qb };
    own(source_q).then(|| Lookup {
        join,
        source_column,
        join_column,
        source_info: column_info(source, source_column),
    })
}

/// The type of the source row's own column `written` (`LAB_RESULT.TEST_CD`), from a mapped
/// value of it.
fn column_info<'a>(source: &'a Source, written: &str) -> Option<&'a ColumnInfo> {
    let name = written
        .rsplit('.')
        .next()?
        .trim_matches(|c| c == '"' || c == '`');
    let values = source
        .elements
        .iter()
        .filter_map(|e| e.sql_value())
        .chain(std::iter::once(&source.id.value));
    values.into_iter().find_map(|v| match v {
        SqlValue::Column(c) if c.qualifier.is_none() && c.name.eq_ignore_ascii_case(name) => {
            Some(&c.info)
        }
        _ => None,
    })
}

/// The qualifier of a column reference (`MAP.LOCAL_CD`: `Some(Some("MAP"))`, `TEST_CD`:
/// `Some(None)`); `None` when `s` is not a plain (optionally quoted) column reference.
fn qualifier(s: &str) -> Option<Option<&str>> {
    let (q, col) = match s.split_once('.') {
        Some((q, col)) => (Some(q), col),
        None => (None, s),
    };
    let plain = |x: &str| {
        let x = x.trim_matches(|c| c == '"' || c == '`');
        !x.is_empty() && x.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    (plain(col) && q.is_none_or(plain)).then_some(q)
}

#[cfg(test)]
mod tests {
    use super::qualifier;

    #[test]
    fn column_references_are_plain_identifiers() {
        assert_eq!(qualifier("MAP.LOCAL_CD"), Some(Some("MAP")));
        assert_eq!(qualifier("TEST_CD"), Some(None));
        assert_eq!(qualifier("\"m\".\"code\""), Some(Some("\"m\"")));
        assert_eq!(qualifier("UPPER(MAP.CD)"), None);
        assert_eq!(qualifier("MAP.CD || 'x'"), None);
        assert_eq!(qualifier(""), None);
    }
}
