//! Mapped values as the predicate writers of every parameter type see them: the SQL of a
//! column or expression with what the database says of its column ([`Operand`]), and the
//! parts of a coded value — absent, constant, SQL, or SQL translated by a value map ([`Part`]).
//! The planner resolves the mapping's targets into these; the helpers below write the
//! comparisons every type shares, binding each value as the column compares it.

use sea_query::Value as Param;

use super::string::write_starts_with;
use crate::mapping::{ColumnInfo, MapField, SystemPrefix, ValueMap};
use crate::sql::{Dialect, SqlType, SqlWriter, decimal_text_param};

/// A mapped value in SQL.
#[derive(Debug, Clone, PartialEq)]
pub struct Operand<'a> {
    /// Trusted SQL text rendered from the mapping (`P."LAST_NM"`, `(CASE ... END)`).
    pub sql: String,
    /// What is known of the column or expression.
    pub column: Option<&'a ColumnInfo>,
    /// Stored values that mean "no value" (`none`): never equal to a search value.
    pub none: &'a [String],
}

impl<'a> Operand<'a> {
    /// A column or expression `sql` with what is known of it.
    pub fn new(sql: String, column: Option<&'a ColumnInfo>) -> Operand<'a> {
        Operand {
            sql,
            column,
            none: &[],
        }
    }

    /// The "no value" sentinels the column can hold, as SQL literals (values of the mapping
    /// file, never of a request).
    pub fn none_literals(&self, dialect: Dialect) -> Vec<String> {
        let sql_type = self.column.map(|c| c.sql_type).unwrap_or_default();
        self.none
            .iter()
            .filter_map(|s| dialect.literal(sql_type, s))
            .collect()
    }

    /// The operand with its "no value" sentinels read as NULL (`CASE WHEN sql IN (...) THEN
    /// NULL ELSE sql END`), where a NULL has a meaning of its own (an open side of a period,
    /// a sort key without value).
    pub fn none_as_null(self, dialect: Dialect) -> Operand<'a> {
        let literals = self.none_literals(dialect);
        if literals.is_empty() {
            return self;
        }
        Operand {
            sql: format!(
                "(CASE WHEN {} IN ({}) THEN NULL ELSE {} END)",
                self.sql,
                literals.join(", "),
                self.sql
            ),
            none: &[],
            ..self
        }
    }

    /// ` AND <sql> NOT IN (<sentinels>)` when the operand has "no value" sentinels that the
    /// column can hold: what a range or pattern predicate adds so that they never match.
    pub fn write_not_none(&self, w: &mut SqlWriter) {
        let literals = self.none_literals(w.dialect());
        if !literals.is_empty() {
            w.push(" AND ").push(&self.sql).push(" NOT IN (");
            w.push(&literals.join(", ")).push(")");
        }
    }

    /// Whether `v` is one of the "no value" sentinels.
    pub fn is_none_text(&self, v: &str) -> bool {
        self.none.iter().any(|s| s.trim() == v.trim())
    }
}

/// One part (system, code, display, unit) of a coded value, resolved.
#[derive(Debug, Clone)]
pub enum Part<'a> {
    /// Not mapped: the value never has it.
    Absent,
    /// A constant of the mapping.
    Const(&'a str),
    /// A mapped column or expression, compared as it is.
    Sql(Operand<'a>),
    /// A boolean element's column or expression, compared as the truth its stored value
    /// spells (`true`, 1, `'Y'`...; see [`truth`]) whatever the storage.
    Flag(Operand<'a>),
    /// A legacy code translated by a value map, searched in reverse: a wanted value becomes
    /// the legacy codes whose entry has it.
    Mapped {
        /// The legacy code.
        operand: Operand<'a>,
        /// The map.
        map: &'a ValueMap,
        /// The part of an entry this part reads.
        field: MapField,
    },
    /// The system or the code of a value whose system is told by a prefix of the stored
    /// code (`system_prefix`).
    Prefixed {
        /// The stored value (`ICD10:E11.9`).
        operand: Operand<'a>,
        /// The prefixes and their systems.
        prefix: &'a SystemPrefix,
        /// [`MapField::System`] or [`MapField::Code`].
        field: MapField,
    },
    /// A truth made of mapped values (`deceased`): true when one of the flags (`true`) is true
    /// or one of the other values (`false`) is present; else false, never absent.
    Truth(Vec<(Operand<'a>, bool)>),
}

impl Part<'_> {
    /// Whether the part can be seen, from the mapping alone, never to equal `want` (`None`:
    /// "has no such part"): a constant or absent part that differs, or a value map with no
    /// entry giving it.
    pub fn never_equals(&self, want: Option<&str>) -> bool {
        match self {
            Part::Absent => want.is_some(),
            Part::Const(k) => want != Some(*k),
            Part::Sql(_) => false,
            Part::Flag(_) => want.is_some_and(|w| w != "true" && w != "false"),
            Part::Mapped { map, field, .. } => {
                let hit = |v: &crate::mapping::MapValue| v.field(*field).as_deref() == want;
                !map.values.values().any(hit) && !map.default.as_ref().is_some_and(hit)
            }
            Part::Prefixed {
                prefix,
                field: MapField::System,
                ..
            } => want.is_some_and(|s| prefix.prefixes_of(s).next().is_none()),
            Part::Prefixed { .. } => false,
            Part::Truth(_) => !matches!(want, Some("true" | "false")),
        }
    }
}

/// The values to bind to compare a column with `v`: an integer for integer columns, a number
/// for `NUMERIC`/`DECIMAL` ones (none when `v` is not one), a boolean
/// for boolean ones (`1`/`0`, `true`/`false`, `Y`/`N`...; none when `v` is not one of those),
/// and for CHAR(n) columns whose padding counts ([`Dialect::compares_char_padding`]) the
/// blank-padded form too.
pub fn equal_binds(dialect: Dialect, column: Option<&ColumnInfo>, v: &str) -> Vec<Param> {
    match column.map(|c| c.sql_type) {
        Some(SqlType::Integer) => {
            return v
                .trim()
                .parse::<i64>()
                .map(Param::from)
                .into_iter()
                .collect();
        }
        Some(SqlType::Decimal) => {
            return decimal_text_param(dialect, v.trim()).into_iter().collect();
        }
        Some(SqlType::Boolean) => return truth(v).map(Param::from).into_iter().collect(),
        _ => {}
    }
    let mut out = vec![Param::from(v.to_string())];
    if let Some(n) = column.and_then(|i| i.pad_to)
        && dialect.compares_char_padding()
        && (v.chars().count() as u32) < n
    {
        out.push(Param::from(format!("{v:<width$}", width = n as usize)));
    }
    out
}

/// The truth a stored flag spells (`1`/`0`, `true`/`false`, `t`/`f`, `yes`/`no`, `y`/`n`, in
/// any case, blanks trimmed), as boolean elements read it.
pub fn truth(v: &str) -> Option<bool> {
    match v.trim().to_ascii_uppercase().as_str() {
        "1" | "TRUE" | "T" | "YES" | "Y" => Some(true),
        "0" | "FALSE" | "F" | "NO" | "N" => Some(false),
        _ => None,
    }
}

/// `sql IN (values...)`, bound as [`equal_binds`] says; `1=0` when no value can be in the
/// column (letters for an integer column).
pub fn write_equals(w: &mut SqlWriter, op: &Operand, values: &[String]) {
    // A value that means "no value" in this column matches nothing.
    let binds: Vec<Param> = values
        .iter()
        .filter(|v| !op.is_none_text(v))
        .flat_map(|v| equal_binds(w.dialect(), op.column, v))
        .collect();
    w.in_list(&op.sql, op.column, binds);
}

/// [`write_equals`], case-sensitively: where the usual collations ignore case
/// ([`crate::sql::Dialect::needs_binary_recheck`]) a text operand is rechecked with `BINARY`
/// (the index still finds the rows; the recheck drops `ABC` for `abc`; trailing blanks are
/// ignored, as keys are read). For ids and references, which FHIR compares exactly.
pub fn write_equals_exact(w: &mut SqlWriter, op: &Operand, values: &[String]) {
    write_equals(w, op, values);
    if w.dialect().rechecks_case(op.column) && !values.is_empty() {
        // Trailing blanks aside, as keys are read (`Value::key_text`) and as the collation
        // compares them.
        let trimmed = Operand {
            sql: format!("RTRIM({})", op.sql),
            ..*op
        };
        w.push(" AND BINARY ");
        write_equals(w, &trimmed, values);
    }
}

/// `1=1` or `1=0`.
pub fn write_bool(w: &mut SqlWriter, b: bool) {
    w.push(if b { "1=1" } else { "1=0" });
}

/// The operand holds a value: not NULL and, for a text column, not blank (blank text is absent
/// from the resources too).
pub fn write_not_blank(w: &mut SqlWriter, op: &Operand) {
    w.push(&op.sql).push(" IS NOT NULL");
    if op.column.is_some_and(ColumnInfo::is_text) {
        w.push(" AND TRIM(").push(&op.sql).push(") <> ''");
    }
}

/// A value-mapped operand whose mapped `field` satisfies `wanted` (`None`: the entry has no
/// such field), searched in reverse: the legacy codes whose entry satisfies it (and, when the
/// map's default does, every code the map does not list).
pub fn write_mapped(
    w: &mut SqlWriter,
    op: &Operand,
    map: &ValueMap,
    field: MapField,
    wanted: impl Fn(Option<&str>) -> bool,
) {
    let keys: Vec<String> = map
        .values
        .iter()
        .filter(|(_, v)| wanted(v.field(field).as_deref()))
        .map(|(k, _)| k.clone())
        .collect();
    let default_matches = map
        .default
        .as_ref()
        .is_some_and(|d| wanted(d.field(field).as_deref()));
    w.push("(");
    write_equals(w, op, &keys);
    if default_matches {
        // Codes the map does not list take the default.
        let listed: Vec<String> = map.values.keys().cloned().collect();
        w.push(" OR (");
        write_not_blank(w, op);
        w.push(" AND NOT (");
        write_equals(w, op, &listed);
        w.push("))");
    }
    w.push(")");
}

/// The spellings of a flag stored as text, upper case, that read as `b`.
const TRUE_TEXT: [&str; 5] = ["1", "TRUE", "T", "YES", "Y"];
const FALSE_TEXT: [&str; 5] = ["0", "FALSE", "F", "NO", "N"];

/// A boolean element holds `b`: compared with the boolean or number the column holds, or, for
/// text, its trimmed upper-case spelling among those that read as `b`.
pub fn write_flag(w: &mut SqlWriter, op: &Operand, b: bool) {
    match op.column.map(|c| c.sql_type).unwrap_or_default() {
        SqlType::Boolean => {
            w.push(&op.sql).push(" = ").param(b);
        }
        t if t.is_numeric() => {
            w.push(&op.sql).push(" = ").param(i64::from(b));
        }
        _ => {
            let spellings = if b { TRUE_TEXT } else { FALSE_TEXT };
            let folded = format!("UPPER(TRIM({}))", op.sql);
            w.in_list(&folded, None, spellings);
        }
    }
}

/// A part compared with `want` (`None` = "must be absent", e.g. `|code` on the system).
pub fn write_part(w: &mut SqlWriter, part: &Part, want: Option<&str>) {
    match part {
        Part::Absent => write_bool(w, want.is_none()),
        Part::Const(c) => write_bool(w, want == Some(*c)),
        Part::Sql(op) | Part::Flag(op) if want.is_none() => {
            w.push(&op.sql).push(" IS NULL");
        }
        Part::Sql(op) => write_equals(w, op, &[want.unwrap_or_default().to_string()]),
        Part::Flag(op) => match want {
            Some("true") => write_flag(w, op, true),
            Some("false") => write_flag(w, op, false),
            _ => write_bool(w, false),
        },
        Part::Mapped {
            operand,
            map,
            field,
        } => write_mapped(w, operand, map, *field, |v| v == want),
        Part::Prefixed {
            operand,
            prefix,
            field: MapField::System,
        } => write_prefixed_system(w, operand, prefix, want),
        Part::Prefixed {
            operand,
            prefix,
            field: MapField::Code,
        } => match want {
            Some(code) => write_prefixed(w, operand, prefix, None, code),
            None => write_bool(w, false),
        },
        Part::Prefixed { .. } => write_bool(w, want.is_none()),
        Part::Truth(terms) => match want {
            Some("true") => write_truth(w, terms),
            Some("false") => {
                w.push("NOT COALESCE(");
                write_truth(w, terms);
                w.push(", 1=0)");
            }
            _ => write_bool(w, false),
        },
    }
}

/// One of the flags is true or one of the values is present.
fn write_truth(w: &mut SqlWriter, terms: &[(Operand, bool)]) {
    w.push("(");
    for (i, (op, flag)) in terms.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        w.push("(");
        if *flag {
            write_flag(w, op, true);
        } else {
            write_not_blank(w, op);
            op.write_not_none(w);
        }
        w.push(")");
    }
    if terms.is_empty() {
        write_bool(w, false);
    }
    w.push(")");
}

/// A prefixed value (`system_prefix`) that stands for `code` of `system` (`None`: any system
/// or none; `Some("")`: no system): one `IN` list of its stored spellings, compared
/// case-sensitively (rechecked with BINARY where the usual collations ignore case, as the
/// prefix is read case-sensitively).
pub fn write_prefixed(
    w: &mut SqlWriter,
    op: &Operand,
    prefix: &SystemPrefix,
    system: Option<&str>,
    code: &str,
) {
    let stored = prefix.stored(system, code);
    write_equals(w, op, &stored);
    if w.dialect().needs_binary_recheck() && !stored.is_empty() {
        w.push(" AND BINARY ");
        write_equals(w, op, &stored);
    }
}

/// A prefixed value whose system is `want` (`None`: no known prefix).
fn write_prefixed_system(
    w: &mut SqlWriter,
    op: &Operand,
    prefix: &SystemPrefix,
    want: Option<&str>,
) {
    let prefixes: Vec<String> = match want {
        Some(s) => prefix.prefixes_of(s).collect(),
        None => prefix
            .systems
            .keys()
            .map(|p| format!("{p}{}", prefix.separator))
            .collect(),
    };
    if want.is_none() {
        // A code without a system: a value, none of whose prefixes are known.
        w.push("(");
        write_not_blank(w, op);
        for p in &prefixes {
            w.push(" AND NOT (");
            write_starts_with(w, &op.sql, p);
            w.push(")");
        }
        w.push(")");
        return;
    }
    if prefixes.is_empty() {
        write_bool(w, false);
        return;
    }
    w.push("(");
    for (i, p) in prefixes.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        w.push("(");
        write_starts_with(w, &op.sql, p);
        w.push(")");
    }
    w.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(type_name: &str, integer: bool, pad_to: Option<u32>) -> ColumnInfo {
        let sql_type = match type_name {
            _ if integer => SqlType::Integer,
            "DATE" => SqlType::Date,
            _ => SqlType::Text,
        };
        ColumnInfo {
            type_name: type_name.into(),
            sql_type,
            pad_to,
            as_text: false,
        }
    }

    fn icd_snomed() -> SystemPrefix {
        SystemPrefix {
            separator: ":".into(),
            systems: [
                ("ICD10".to_string(), "http://icd".to_string()),
                ("SNOMED-CT".to_string(), "http://sct".to_string()),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn prefixed_codes_split_and_spell_back() {
        let p = icd_snomed();
        assert_eq!(p.split("ICD10:E11.9"), (Some("http://icd"), "E11.9"));
        assert_eq!(
            p.split(" SNOMED-CT:44054006 "),
            (Some("http://sct"), "44054006")
        );
        // Unknown or differently cased prefixes, and a prefix alone, are codes without a system.
        assert_eq!(p.split("icd10:E11.9"), (None, "icd10:E11.9"));
        assert_eq!(p.split("FOO:1"), (None, "FOO:1"));
        assert_eq!(p.split("ICD10:"), (None, "ICD10:"));
        assert_eq!(p.stored(Some("http://icd"), "E11.9"), ["ICD10:E11.9"]);
        assert!(p.stored(Some("http://other"), "E11.9").is_empty());
        assert_eq!(p.stored(Some(""), "E11.9"), ["E11.9"]);
        assert_eq!(
            p.stored(None, "E11.9"),
            ["ICD10:E11.9", "SNOMED-CT:E11.9", "E11.9"]
        );
        // A code that reads as prefixed cannot be stored bare.
        assert_eq!(p.stored(Some(""), "ICD10:E11.9"), Vec::<String>::new());
        assert_eq!(
            p.stored(None, "ICD10:E11.9"),
            ["ICD10:ICD10:E11.9", "SNOMED-CT:ICD10:E11.9"]
        );
    }

    #[test]
    fn prefixed_searches_are_lists_and_prefix_ranges() {
        let p = icd_snomed();
        let op = Operand::new("L.DX".into(), None);
        let mut w = SqlWriter::new(Dialect::Postgres);
        write_prefixed(&mut w, &op, &p, Some("http://icd"), "E11.9");
        let s = w.finish();
        assert_eq!(s.sql, "L.DX IN ($1)");
        assert_eq!(s.params, vec![Param::from("ICD10:E11.9")]);
        // MySQL's usual collations ignore case: the list is rechecked with BINARY.
        let mut w = SqlWriter::new(Dialect::Mysql);
        write_prefixed(&mut w, &op, &p, None, "E11.9");
        assert_eq!(
            w.finish().sql,
            "L.DX IN (?, ?, ?) AND BINARY L.DX IN (?, ?, ?)"
        );
        // `system|`: a range per prefix of the system, as an index can serve it.
        let part = Part::Prefixed {
            operand: op.clone(),
            prefix: &p,
            field: MapField::System,
        };
        let mut w = SqlWriter::new(Dialect::Sqlite);
        write_part(&mut w, &part, Some("http://sct"));
        let s = w.finish();
        assert_eq!(s.sql, "((L.DX >= ? AND L.DX < ?))");
        assert_eq!(
            s.params,
            vec![Param::from("SNOMED-CT:"), Param::from("SNOMED-CT;")]
        );
        // `|code`'s system part: a value with none of the known prefixes.
        let mut w = SqlWriter::new(Dialect::Sqlite);
        write_part(&mut w, &part, None);
        assert_eq!(
            w.finish().sql,
            "(L.DX IS NOT NULL AND NOT (L.DX >= ? AND L.DX < ?) AND NOT (L.DX >= ? AND L.DX < ?))"
        );
        assert!(part.never_equals(Some("http://other")));
        assert!(!part.never_equals(Some("http://sct")));
    }

    #[test]
    fn truths_are_flags_or_present_values() {
        let flag = ColumnInfo::of(SqlType::Boolean);
        let terms = vec![
            (Operand::new("P.DEAD".into(), Some(&flag)), true),
            (Operand::new("P.DEATH_DT".into(), None), false),
        ];
        let mut w = SqlWriter::new(Dialect::Postgres);
        write_part(&mut w, &Part::Truth(terms.clone()), Some("true"));
        assert_eq!(
            w.finish().sql,
            "((P.DEAD = $1) OR (P.DEATH_DT IS NOT NULL))"
        );
        let mut w = SqlWriter::new(Dialect::Postgres);
        write_part(&mut w, &Part::Truth(terms.clone()), Some("false"));
        assert_eq!(
            w.finish().sql,
            "NOT COALESCE(((P.DEAD = $1) OR (P.DEATH_DT IS NOT NULL)), 1=0)"
        );
        assert!(Part::Truth(terms).never_equals(Some("maybe")));
    }

    #[test]
    fn blank_text_counts_as_absent() {
        let sql = |column: Option<&ColumnInfo>| {
            let mut w = SqlWriter::new(Dialect::Postgres);
            let op = Operand::new("P.C".into(), column);
            write_not_blank(&mut w, &op);
            w.finish().sql
        };
        let varchar = info("VARCHAR", false, None);
        assert_eq!(sql(Some(&varchar)), "P.C IS NOT NULL AND TRIM(P.C) <> ''");
        let bpchar = info("bpchar", false, None);
        assert_eq!(sql(Some(&bpchar)), "P.C IS NOT NULL AND TRIM(P.C) <> ''");
        let int = info("INTEGER", true, None);
        assert_eq!(sql(Some(&int)), "P.C IS NOT NULL");
        let date = info("DATE", false, None);
        assert_eq!(sql(Some(&date)), "P.C IS NOT NULL");
        let mut w = SqlWriter::new(Dialect::Sqlite);
        let expr = Operand::new("(expr)".into(), None);
        write_not_blank(&mut w, &expr);
        assert_eq!(w.finish().sql, "(expr) IS NOT NULL");
    }

    #[test]
    fn equal_values_bind_as_the_column_compares_them() {
        let char6 = info("CHAR", false, Some(6));
        let sql = |d, column| {
            let mut w = SqlWriter::new(d);
            let op = Operand::new("T.\"CD\"".into(), column);
            write_equals(&mut w, &op, &["K".into(), "HGBA1C".into()]);
            let s = w.finish();
            (s.sql, s.params)
        };
        let texts = |v: &[&str]| v.iter().map(|t| Param::from(*t)).collect::<Vec<_>>();
        assert_eq!(
            sql(Dialect::Postgres, Some(&char6)),
            (
                "T.\"CD\" IN (CAST($1 AS bpchar), CAST($2 AS bpchar))".into(),
                texts(&["K", "HGBA1C"])
            )
        );
        assert_eq!(
            sql(Dialect::Postgres, None),
            ("T.\"CD\" IN ($1, $2)".into(), texts(&["K", "HGBA1C"]))
        );
        // SQLite compares the padding: the padded form is bound too.
        assert_eq!(
            sql(Dialect::Sqlite, Some(&char6)),
            (
                "T.\"CD\" IN (?, ?, ?)".into(),
                texts(&["K", "K     ", "HGBA1C"])
            )
        );
        // Letters cannot be in an integer column.
        let int = info("INTEGER", true, None);
        assert_eq!(sql(Dialect::Sqlite, Some(&int)).0, "1=0");
    }
}
