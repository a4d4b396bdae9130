//! Index advice (pure): for each declared search parameter of each source, and for `_sort` on
//! it, the column (or `LOWER(column)`) the planner compares, whether an index of the live
//! schema leads with it, and the `CREATE INDEX` statement for the dialect when none does.
//! What the planner writes, and so what an index must hold, is described in docs/mapping.md §12.

use serde::Serialize;

use crate::db::introspect::{Schema, Table};
use crate::mapping::{
    LeafRef, Location, Mapping, Relation, SearchTarget, Source, SqlValue, TokenPart,
};
use crate::plan::sort::{SortExpr, sort_values};
use crate::request::search::SortKey;
use crate::sql::Dialect;

/// What an index would serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Usage {
    /// A search on the parameter.
    Search,
    /// `_sort` on the parameter.
    Sort,
}

/// Whether an index serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// An existing index leads with the compared column or expression.
    Served,
    /// None does: `create` says what to run.
    Missing,
    /// No ordinary index can serve it (an expression, a value-mapped code, a custom SQL
    /// condition): `note` says why and what to do.
    Unindexable,
}

/// The advice for one parameter, usage and compared column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexAdvice {
    /// The resource type.
    pub resource_type: String,
    /// The source's name.
    pub source: String,
    /// The parameter code.
    pub parameter: String,
    /// Its line in the mapping file.
    pub line: usize,
    /// Search or sort.
    pub usage: Usage,
    /// The verdict.
    pub verdict: Verdict,
    /// The table compared (as the catalog spells it), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The compared key: a column, or `LOWER(column)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The index that serves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// The statement that creates an index serving it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create: Option<String>,
    /// Why no ordinary index serves it, or a caveat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How a column is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// As it is (`col = ?`, `col >= ?`, `ORDER BY col`).
    Plain,
    /// Folded to lower case and compared with a range (string searches).
    Lower,
}

/// One compared column: table, column, form, and whether it is a lookup table's (a unique
/// index is what serves it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Need {
    table: String,
    column: String,
    form: Form,
    lookup: bool,
}

/// Where a need could not be known.
type Found = Result<Need, String>;

/// Index advice for every declared search parameter (and `_sort` on it) of every source.
pub fn advise(mapping: &Mapping, schema: &Schema, dialect: Dialect) -> Vec<IndexAdvice> {
    let mut out = Vec::new();
    for source in &mapping.sources {
        let base = match &source.relation {
            Relation::Table(t) => t.clone(),
            Relation::Query(_) => {
                if let Some(d) = source.search.first() {
                    out.push(IndexAdvice {
                        note: Some(
                            "a source defined by an SQL query: index the columns of its tables that the searches compare (see `explain --analyze`)"
                                .into(),
                        ),
                        ..advice(source, &d.code, d.line, Usage::Search, Verdict::Unindexable)
                    });
                }
                continue;
            }
        };
        for d in &source.search {
            let mut needs: Vec<Found> = Vec::new();
            for t in &d.targets {
                target_needs(source, &base, t, &mut needs);
            }
            if d.code == "_id" {
                needs = vec![id_need(source, &base)];
            }
            if d.code == "_lastUpdated" {
                needs = vec![match &source.last_updated {
                    Some(v) => value_need(source, &base, None, v, Form::Plain),
                    None => Err("no last_updated is mapped".into()),
                }];
            }
            let mut seen = Vec::new();
            for n in needs {
                if seen.contains(&n) {
                    continue;
                }
                seen.push(n.clone());
                out.push(judge(
                    source,
                    &d.code,
                    d.line,
                    Usage::Search,
                    n,
                    schema,
                    dialect,
                ));
            }
            // Sorting on a reference or `_id` is rare (and `_id` is the key).
            if d.code == "_id" || d.param_type == crate::fhir::SearchParamType::Reference {
                continue;
            }
            let key = SortKey {
                code: d.code.clone(),
                desc: false,
            };
            if let Ok((values, _)) = sort_values(source, &[key]) {
                match values.first() {
                    Some(Some(SortExpr::Value(v))) => {
                        let n = value_need(source, &base, None, v, Form::Plain);
                        out.push(judge(source, &d.code, d.line, Usage::Sort, n, schema, dialect));
                    }
                    Some(Some(SortExpr::Mapped(_))) => out.push(IndexAdvice {
                        note: Some(
                            "sorted by the FHIR code its value map gives, which no ordinary index orders: cheap while a search criterion keeps the matches few"
                                .into(),
                        ),
                        ..advice(source, &d.code, d.line, Usage::Sort, Verdict::Unindexable)
                    }),
                    _ => {}
                }
            }
        }
    }
    // Sources of one type over one table (a wide table's columns) give the same advice.
    let mut seen = std::collections::HashSet::new();
    out.retain(|a| {
        a.table.is_none()
            || seen.insert((
                a.resource_type.clone(),
                a.parameter.clone(),
                a.usage,
                a.table.clone(),
                a.key.clone(),
            ))
    });
    out
}

fn advice(source: &Source, code: &str, line: usize, usage: Usage, verdict: Verdict) -> IndexAdvice {
    IndexAdvice {
        resource_type: source.resource_type.clone(),
        source: source.name.clone(),
        parameter: code.to_string(),
        line,
        usage,
        verdict,
        table: None,
        key: None,
        index: None,
        create: None,
        note: None,
    }
}

fn id_need(source: &Source, base: &str) -> Found {
    value_need(source, base, None, &source.id.value, Form::Plain)
}

fn leaf_need(source: &Source, base: &str, l: LeafRef, form: Form) -> Found {
    let el = source.leaf(l);
    let Some(v) = el.sql_value() else {
        return Err(format!("'{}' is a constant", el.written));
    };
    let child = match l.location {
        Location::Row => None,
        Location::Child(i) => source.children.get(i),
    };
    value_need(source, base, child, v, form)
}

fn value_need(
    source: &Source,
    base: &str,
    child: Option<&crate::mapping::Child>,
    v: &SqlValue,
    form: Form,
) -> Found {
    let SqlValue::Column(c) = v else {
        return Err("an SQL expression: index the expression itself where the database can (an expression index), or map a column".into());
    };
    if c.info.as_text {
        return Err(format!(
            "column {} ({}) is compared through its text form, CAST({} AS text), which an index on the column does not serve (docs/mapping.md section 7.3)",
            c.name, c.info.type_name, c.name
        ));
    }
    if let Some(child) = child {
        return match &child.relation {
            Relation::Table(t) => Ok(Need {
                table: t.clone(),
                column: c.name.clone(),
                form,
                lookup: false,
            }),
            Relation::Query(_) => Err("a child defined by an SQL query".into()),
        };
    }
    match &c.qualifier {
        Some(q) if *q != source.alias => match source.joins.iter().find(|j| &j.alias == q) {
            Some(j) => Ok(Need {
                table: j.table.clone(),
                column: c.name.clone(),
                form,
                lookup: true,
            }),
            None => Err(format!("column of an unknown alias {q}")),
        },
        _ => Ok(Need {
            table: base.to_string(),
            column: c.name.clone(),
            form,
            lookup: false,
        }),
    }
}

fn part_need(source: &Source, base: &str, p: &TokenPart, out: &mut Vec<Found>) {
    match p {
        TokenPart::Leaf(l) | TokenPart::Mapped(l, _) => {
            out.push(leaf_need(source, base, *l, Form::Plain))
        }
        TokenPart::Truth(leaves) => {
            for (l, _) in leaves {
                out.push(leaf_need(source, base, *l, Form::Plain));
            }
        }
        TokenPart::Absent | TokenPart::Const(_) => {}
    }
}

fn target_needs(source: &Source, base: &str, t: &SearchTarget, out: &mut Vec<Found>) {
    match t {
        SearchTarget::Id => out.push(id_need(source, base)),
        SearchTarget::LastUpdated => {}
        SearchTarget::Token { code, .. } => part_need(source, base, code, out),
        SearchTarget::String(l) => out.push(leaf_need(source, base, *l, Form::Lower)),
        SearchTarget::Date { start, end } => {
            out.push(leaf_need(source, base, *start, Form::Plain));
            if let Some(e) = end {
                out.push(leaf_need(source, base, *e, Form::Plain));
            }
        }
        SearchTarget::Reference(l) | SearchTarget::Number(l) => {
            out.push(leaf_need(source, base, *l, Form::Plain))
        }
        SearchTarget::Quantity { value, .. } => {
            out.push(leaf_need(source, base, *value, Form::Plain))
        }
        SearchTarget::Uri(p) => part_need(source, base, p, out),
        SearchTarget::Composite(c) => {
            if let Some(first) = c.targets.first() {
                for t in first {
                    target_needs(source, base, t, out);
                }
            }
        }
        SearchTarget::Guarded(g) => {
            for t in &g.targets {
                target_needs(source, base, t, out);
            }
        }
        SearchTarget::Sql(_) => out.push(Err(
            "a custom SQL condition: index what it compares, and see its plan with `explain --analyze`".into(),
        )),
    }
    // A child table is reached through its key column: that needs an index too.
    if let Some(Location::Child(i)) = child_of(t)
        && let Some(child) = source.children.get(i)
        && let (Relation::Table(table), SqlValue::Column(_)) = (&child.relation, &child.parent_key)
    {
        out.push(Ok(Need {
            table: table.clone(),
            column: child.key.name.clone(),
            form: Form::Plain,
            lookup: false,
        }));
    }
}

/// The child table a target reads, if any.
fn child_of(t: &SearchTarget) -> Option<Location> {
    let leaf = match t {
        SearchTarget::String(l)
        | SearchTarget::Reference(l)
        | SearchTarget::Number(l)
        | SearchTarget::Date { start: l, .. }
        | SearchTarget::Quantity { value: l, .. } => Some(*l),
        SearchTarget::Token {
            code: TokenPart::Leaf(l) | TokenPart::Mapped(l, _),
            ..
        }
        | SearchTarget::Uri(TokenPart::Leaf(l) | TokenPart::Mapped(l, _)) => Some(*l),
        SearchTarget::Composite(c) => return c.within,
        SearchTarget::Guarded(g) => return g.within,
        _ => None,
    };
    leaf.map(|l| l.location)
        .filter(|l| matches!(l, Location::Child(_)))
}

fn bare(name: &str) -> String {
    name.trim_matches(|c| c == '"' || c == '`')
        .to_ascii_lowercase()
}

/// The index of `table` that leads with what `need` compares.
fn serving_index(table: &Table, need: &Need, dialect: Dialect) -> Option<String> {
    let column = bare(&need.column);
    let leads = |key: &str| -> bool {
        let key = key.to_ascii_lowercase().replace(['"', '`'], "");
        match need.form {
            Form::Plain => key == column,
            Form::Lower => {
                let folded = key.contains("lower(") && contains_word(&key, &column);
                // PostgreSQL compares the range in the "C" collation; only an index declared
                // in it serves.
                folded && (!collates(dialect) || key.contains("collate c"))
            }
        }
    };
    if need.form == Form::Plain
        && table.primary_key.first().is_some_and(|k| bare(k) == column)
        && (!need.lookup || table.primary_key.len() == 1)
    {
        return Some("primary key".into());
    }
    table
        .indexes
        .iter()
        .filter(|i| !need.lookup || (i.unique && i.keys.len() == 1))
        .find(|i| i.keys.first().is_some_and(|k| leads(k)))
        .map(|i| i.name.clone())
}

fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let edge = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        edge(before) && edge(after)
    })
}

/// Whether string ranges are compared in a collation of their own (PostgreSQL's `"C"`),
/// which an index must be declared in to serve them.
fn collates(dialect: Dialect) -> bool {
    dialect.code_point_order("x").is_some_and(|k| k != "x")
}

/// A table or column name as the catalog spells it, quoted only where it must be.
fn ident(name: &str, dialect: Dialect) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && (!dialect.folds_unquoted_to_lower() || name == name.to_ascii_lowercase());
    if plain {
        name.to_string()
    } else {
        dialect.quote_ident(name)
    }
}

/// The statement that creates an index serving `need`.
fn create_index(need: &Need, dialect: Dialect) -> String {
    let name = format!(
        "ix_{}_{}{}",
        bare(&need.table),
        bare(&need.column),
        if need.form == Form::Lower {
            "_lower"
        } else {
            ""
        }
    );
    let unique = if need.lookup { "UNIQUE " } else { "" };
    let table = &need.table;
    let column = &need.column;
    let key = match need.form {
        Form::Plain => column.clone(),
        // The range the planner compares: in code point order where the database has one
        // (an expression in parentheses unless it is a bare function call).
        Form::Lower => {
            let lower = format!("LOWER({column})");
            match dialect.code_point_order(&lower) {
                Some(k) if k == lower => k,
                Some(k) => format!("({k})"),
                None => format!("({lower})"),
            }
        }
    };
    format!("CREATE {unique}INDEX {name} ON {table} ({key});")
}

fn judge(
    source: &Source,
    code: &str,
    line: usize,
    usage: Usage,
    need: Found,
    schema: &Schema,
    dialect: Dialect,
) -> IndexAdvice {
    let need = match need {
        Ok(n) => n,
        Err(note) => {
            return IndexAdvice {
                note: Some(note),
                ..advice(source, code, line, usage, Verdict::Unindexable)
            };
        }
    };
    let key = match need.form {
        Form::Plain => need.column.clone(),
        Form::Lower => format!("LOWER({})", need.column),
    };
    let Some(table) = schema.table(&need.table) else {
        return IndexAdvice {
            table: Some(need.table.clone()),
            key: Some(key),
            note: Some("not a table of the current schema (a view, or another schema): index its base table".into()),
            ..advice(source, code, line, usage, Verdict::Unindexable)
        };
    };
    let need = Need {
        table: ident(&table.name, dialect),
        column: table
            .column(&bare(&need.column))
            .map_or(need.column.clone(), |c| ident(&c.name, dialect)),
        ..need
    };
    let mut a = IndexAdvice {
        table: Some(table.name.clone()),
        key: Some(key),
        ..advice(source, code, line, usage, Verdict::Missing)
    };
    if table.view {
        a.verdict = Verdict::Unindexable;
        a.note = Some("a view: index the column in its base table".into());
        return a;
    }
    match serving_index(table, &need, dialect) {
        Some(index) => {
            a.verdict = Verdict::Served;
            a.index = Some(index);
        }
        None => {
            a.create = Some(create_index(&need, dialect));
            if need.lookup {
                a.note = Some("a lookup table: a unique index on the searched code makes the lookup one row (docs/mapping.md §12); if the code is not unique there, index it without UNIQUE".into());
            } else if need.form == Form::Lower && dialect.code_point_order("x").is_none() {
                a.note = Some("MySQL 8 syntax; on MariaDB index a virtual column of LOWER(column); such indexes do not show in the catalog: ignore this if you made one".into());
            }
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect(url: &str) -> Dialect {
        Dialect::from_url(url).unwrap()
    }

    #[test]
    fn index_statements_per_dialect() {
        let need = Need {
            table: "PATIENT".into(),
            column: "LAST_NM".into(),
            form: Form::Lower,
            lookup: false,
        };
        assert_eq!(
            create_index(&need, dialect("postgres:")),
            "CREATE INDEX ix_patient_last_nm_lower ON PATIENT ((LOWER(LAST_NM) COLLATE \"C\"));"
        );
        assert_eq!(
            create_index(&need, dialect("sqlite:")),
            "CREATE INDEX ix_patient_last_nm_lower ON PATIENT (LOWER(LAST_NM));"
        );
        let lookup = Need {
            table: "LAB_TEST_MAP".into(),
            column: "LOINC_CD".into(),
            form: Form::Plain,
            lookup: true,
        };
        assert_eq!(
            create_index(&lookup, dialect("mysql:")),
            "CREATE UNIQUE INDEX ix_lab_test_map_loinc_cd ON LAB_TEST_MAP (LOINC_CD);"
        );
    }

    #[test]
    fn lower_indexes_are_recognised() {
        let table = Table {
            name: "patient".into(),
            indexes: vec![
                crate::db::introspect::Index {
                    name: "plain_lower".into(),
                    unique: false,
                    keys: vec!["lower((last_nm)::text)".into()],
                },
                crate::db::introspect::Index {
                    name: "c_lower".into(),
                    unique: false,
                    keys: vec!["lower((first_nm)::text) COLLATE \"C\"".into()],
                },
            ],
            ..Table::default()
        };
        let need = |c: &str| Need {
            table: "PATIENT".into(),
            column: c.into(),
            form: Form::Lower,
            lookup: false,
        };
        assert_eq!(
            serving_index(&table, &need("LAST_NM"), dialect("postgres:")),
            None
        );
        assert_eq!(
            serving_index(&table, &need("LAST_NM"), dialect("sqlite:")).as_deref(),
            Some("plain_lower")
        );
        assert_eq!(
            serving_index(&table, &need("FIRST_NM"), dialect("postgres:")).as_deref(),
            Some("c_lower")
        );
        assert_eq!(serving_index(&table, &need("NM"), dialect("sqlite:")), None);
    }
}
