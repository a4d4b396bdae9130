//! Number and quantity search (FHIR R4 search, sections "number", "quantity" and "prefix").
//!
//! # Numbers
//!
//! A search number is a decimal with an optional sign and exponent (`100`, `100.00`, `1e2`,
//! `-0.5`, `5.4e-3`), optionally preceded by a [`Prefix`]. The digits written give the
//! number an *implicit range*: half a unit of the last digit written on each side, low end
//! inclusive, high end exclusive:
//!
//! | search   | last digit | implicit range        |
//! |----------|------------|-----------------------|
//! | `100`    | 1          | [99.5, 100.5)         |
//! | `100.00` | 0.01       | [99.995, 100.005)     |
//! | `1e2`    | 100        | [50, 150)             |
//! | `1.0e2`  | 10         | [95, 105)             |
//! | `-0.5`   | 0.1        | [-0.55, -0.45)        |
//! | `5.4e-3` | 0.0001     | [0.00535, 0.00545)    |
//!
//! `1e2` has one significant figure, so its range is 100 ± 50. (The R4 page's example table
//! says "1 significant figure … 95 … 105", which contradicts its own rule; later FHIR versions
//! corrected the example to [50 … 150), which is what is implemented here. Write `1.0e2` for
//! 100 ± 5.)
//!
//! Stored values are taken as exact points (a legacy column has no notion of precision). The
//! prefixes then mean, for a stored value `t` and a search value `v` with implicit range
//! `[low, high)`:
//!
//! - `eq` (or none): `low <= t < high`;
//! - `ne`: not `eq` (`t < low` or `t >= high`);
//! - `gt`, `lt`, `ge`, `le`: compare with `v` exactly: the spec says the implicit precision is
//!   ignored for these prefixes and the number treated as arbitrarily precise;
//! - `sa`, `eb`: the same rule makes them `t > v` and `t < v` (a point starts after `v` when it
//!   is above it, ends before `v` when it is below it), i.e. like `gt` and `lt`;
//! - `ap`: within 10% of `v`: `v - d <= t <= v + d` with `d = max(|v| / 10, (high - low) / 2)`,
//!   so `ap` is never narrower than the implicit range (`ap0` is [-0.5, 0.5]).
//!
//! A row whose value is NULL (missing, or non-numeric text made NULL by the mapping) matches
//! no prefix, not even `ne`.
//!
//! # Quantities
//!
//! A quantity search is `[prefix]number|system|code`, `[prefix]number||code` or
//! `[prefix]number`. The number is matched as above; `number|system|code` also requires the
//! system and the code to be equal, `number||code` requires the code *or* the human unit to be
//! equal, and a bare number matches any unit. An empty system or code means "not given". In
//! the system and code, `\|`, `\,`, `\$` and `\\` stand for `|`, `,`, `$` and `\`. There is no
//! unit conversion: `5.4|http://unitsofmeasure.org|mg` does not find `0.0054 g`. Coded parts
//! are compared exactly; constant parts (a mapping's fixed UCUM system, say) are decided here,
//! an SQL part is compared with `=` (so with the column's collation, which on MySQL is
//! usually case-insensitive), and a value-mapped part is searched in reverse: the wanted code
//! becomes the legacy codes the map translates to it (`Q.U IN ('MG/DL')`).
//!
//! # SQL
//!
//! A target is either numeric SQL, compared as it is so an index on the column can be used, or
//! text SQL, cast to a number per dialect: `CAST(x AS REAL)` on SQLite, `CAST(x AS NUMERIC)` on
//! PostgreSQL, `CAST(x AS DECIMAL(38,10))` on MySQL/MariaDB. Guarding against non-numeric text is
//! the mapping's job (its expression yields NULL then). Search values are always bound:
//! as `NUMERIC`/`DECIMAL` on PostgreSQL and MySQL (exact), and as a double on SQLite, which has
//! no decimal type.
//!
//! Known limits of the databases, not of the semantics:
//! - SQLite compares as IEEE doubles: values and bounds that differ only beyond ~15 significant
//!   digits compare equal there, and integers beyond 2^53 lose precision.
//! - A single-precision column (PostgreSQL `real`, MySQL `FLOAT`) stores `5.7` as
//!   5.69999980926…: search bounds are rounded to single precision too, so values compare as
//!   written; `double precision`, `numeric` and integer columns are exact or as exact as the
//!   stored double.
//! - On MySQL/MariaDB text values are cast to `DECIMAL(38,10)`, so text with more than 10
//!   decimal places is rounded before the comparison.

use rust_decimal::Decimal;
use sea_query::Value;

use super::Prefix;
use super::escape::{escape, split, unescape};
use super::operand::{self, Operand};
use crate::mapping::ColumnInfo;
use crate::sql::Dialect;
use crate::sql::SqlType;
use crate::sql::SqlWriter;

/// At most this many decimal places in a search number (one more is needed for its range).
pub const MAX_DECIMAL_PLACES: u32 = 27;

/// At most this many digits in a search number written without exponent, leading zeros aside
/// (`1e25` has 26, `0.0012` has 2).
pub const MAX_DIGITS: u32 = 26;

/// Why a number or quantity search value was refused. The messages are meant for clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not a decimal number.
    #[error("'{0}' is not a number")]
    NotANumber(String),
    /// A number too large or too precise to compare exactly.
    #[error(
        "'{0}' is beyond the numbers this server can search (at most {MAX_DIGITS} digits, \
         at most {MAX_DECIMAL_PLACES} decimal places)"
    )]
    OutOfRange(String),
    /// Not one of the three forms of a quantity.
    #[error(
        "'{0}' is not a quantity: write number, number|system|code or number||code \
         (escape a '|' inside a system or code as '\\|')"
    )]
    NotAQuantity(String),
}

/// A parsed number search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberSearch {
    /// The comparison (absent means [`Prefix::Eq`]).
    pub prefix: Prefix,
    /// The number exactly as written (`100.00` keeps its scale of 2).
    pub value: Decimal,
    /// Low end of the implicit range, inclusive.
    pub low: Decimal,
    /// High end of the implicit range, exclusive.
    pub high: Decimal,
    /// The search value normalized, as a client would write it again (for self links): the
    /// prefix (omitted for `eq`) and the number with its precision kept (`gt1.50e2`, `100.00`).
    pub text: String,
}

impl NumberSearch {
    /// The inclusive range `ap` accepts: the value ± the larger of 10% of its magnitude and
    /// half its implicit range.
    pub fn approx_range(&self) -> (Decimal, Decimal) {
        let mut tenth = self.value.abs();
        // |v| / 10, exactly; parsing keeps the scale below the limit.
        if tenth.set_scale(tenth.scale() + 1).is_err() {
            tenth = self.value.abs() / Decimal::TEN;
        }
        let half = self.high.saturating_sub(self.value);
        let d = tenth.max(half);
        (self.value.saturating_sub(d), self.value.saturating_add(d))
    }
}

/// Parses a number search value (`[prefix]number`).
pub fn parse_number(value: &str) -> Result<NumberSearch, NumberError> {
    let (prefix, number) = Prefix::split(value);
    let not_a_number = || NumberError::NotANumber(value.to_string());
    let p = Digits::parse(number).ok_or_else(not_a_number)?;
    let out_of_range = || NumberError::OutOfRange(value.to_string());

    // The value is `significant × 10^-scale`.
    let all = format!("{}{}", p.int, p.frac);
    let significant = all.trim_start_matches('0');
    let scale = p.frac.len() as i64 - p.exp;
    if scale > i64::from(MAX_DECIMAL_PLACES) {
        return Err(out_of_range());
    }
    // The bounds need one more decimal place, and `ap`'s +10% may need one more integer
    // digit: at most MAX_DIGITS + 2 digits, which a decimal's 96-bit mantissa holds.
    if significant.len() as i64 + (-scale).max(0) > i64::from(MAX_DIGITS) {
        return Err(out_of_range());
    }
    let mut m: i128 = if significant.is_empty() {
        0
    } else {
        significant.parse().map_err(|_| out_of_range())?
    };
    if p.negative {
        m = -m;
    }
    let value = scaled(m, scale).ok_or_else(out_of_range)?;
    let half = scaled(5, scale + 1).ok_or_else(out_of_range)?;
    let low = value.checked_sub(half).ok_or_else(out_of_range)?;
    let high = value.checked_add(half).ok_or_else(out_of_range)?;

    let mut text = String::new();
    if prefix != Prefix::Eq {
        text.push_str(prefix.code());
    }
    if p.negative && m != 0 {
        text.push('-');
    }
    let int = p.int.trim_start_matches('0');
    text.push_str(if int.is_empty() { "0" } else { int });
    if !p.frac.is_empty() {
        text.push('.');
        text.push_str(p.frac);
    }
    if p.exp != 0 {
        text.push_str(&format!("e{}", p.exp));
    }
    Ok(NumberSearch {
        prefix,
        value,
        low,
        high,
        text,
    })
}

/// `m × 10^-scale` as a decimal, if representable.
fn scaled(m: i128, scale: i64) -> Option<Decimal> {
    if scale >= 0 {
        Decimal::try_from_i128_with_scale(m, u32::try_from(scale).ok()?).ok()
    } else {
        let factor = 10i128.checked_pow(u32::try_from(-scale).ok()?)?;
        Decimal::try_from_i128_with_scale(m.checked_mul(factor)?, 0).ok()
    }
}

/// The parts of a written decimal: `[+-]digits[.digits][e[+-]digits]`.
struct Digits<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
    exp: i64,
}

impl<'a> Digits<'a> {
    fn parse(s: &'a str) -> Option<Digits<'a>> {
        let (negative, s) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((int, frac)) if !frac.is_empty() => (int, frac),
            Some(_) => return None,
            None => (mantissa, ""),
        };
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || !digits(frac) || (int.is_empty() && frac.is_empty()) {
            return None;
        }
        let exp = match exp {
            None => 0,
            Some(e) => {
                let body = e.strip_prefix(['+', '-']).unwrap_or(e);
                if body.is_empty() || !digits(body) {
                    return None;
                }
                let body = body.trim_start_matches('0');
                // Beyond any decimal's range; refused later as out of range.
                let n: i64 = if body.len() > 6 {
                    1_000_000
                } else {
                    body.parse().unwrap_or(0)
                };
                if e.starts_with('-') { -n } else { n }
            }
        };
        Some(Digits {
            negative,
            int,
            frac,
            exp,
        })
    }
}

/// A parsed quantity search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantitySearch {
    /// The number and its prefix.
    pub number: NumberSearch,
    /// The unit system, unescaped (`None` when absent or empty).
    pub system: Option<String>,
    /// The unit code, unescaped (`None` when absent or empty). Without a system it matches the
    /// code or the human unit.
    pub code: Option<String>,
}

impl QuantitySearch {
    /// The search value normalized, as a client would write it again (for self links), with
    /// `|`, `,`, `$` and `\` escaped in the system and code.
    pub fn text(&self) -> String {
        let mut out = self.number.text.clone();
        if self.system.is_some() || self.code.is_some() {
            for part in [&self.system, &self.code] {
                out.push('|');
                if let Some(p) = part {
                    out.push_str(&escape(p));
                }
            }
        }
        out
    }
}

/// Parses a quantity search value: `[prefix]number`, `[prefix]number|system|code` or
/// `[prefix]number||code`.
pub fn parse_quantity(value: &str) -> Result<QuantitySearch, NumberError> {
    let parts = split(value, '|');
    let (number, system, code) = match parts.as_slice() {
        [n] => (n, None, None),
        [n, s, c] => (n, Some(s), Some(c)),
        _ => return Err(NumberError::NotAQuantity(value.to_string())),
    };
    let number = parse_number(number)?;
    let given = |p: Option<&&str>| p.map(|s| unescape(s)).filter(|s| !s.is_empty());
    Ok(QuantitySearch {
        number,
        system: given(system),
        code: given(code),
    })
}

/// The SQL of a number to compare: trusted text rendered by the planner, e.g. `O."HR"` or
/// `(CASE ... END)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberTarget {
    /// The SQL expression.
    pub sql: String,
    /// Whether the expression yields text (numeric text or NULL) to be cast to a number; a
    /// numeric expression is compared as it is, so an index on the column can be used.
    pub is_text: bool,
    /// Whether it holds single-precision floats: search bounds are rounded to that precision
    /// too, so that `118.4` finds the stored 118.4000015… (the database widens the column to
    /// a double to compare it with a number).
    pub single: bool,
}

impl NumberTarget {
    /// The target of a mapped value: a numeric column is compared as it is, text columns and
    /// expressions are cast to a number.
    pub fn of(op: &Operand) -> NumberTarget {
        if op.column.is_some_and(ColumnInfo::is_numeric) {
            NumberTarget {
                single: op.column.is_some_and(|c| c.sql_type == SqlType::Real),
                ..NumberTarget::numeric(op.sql.clone())
            }
        } else {
            NumberTarget::text(op.sql.clone())
        }
    }

    /// A numeric expression.
    pub fn numeric(sql: impl Into<String>) -> Self {
        NumberTarget {
            sql: sql.into(),
            is_text: false,
            single: false,
        }
    }

    /// A text expression holding numbers (or NULL).
    pub fn text(sql: impl Into<String>) -> Self {
        NumberTarget {
            sql: sql.into(),
            is_text: true,
            single: false,
        }
    }

    /// The expression to compare in `dialect`: the SQL itself, or its cast to a number.
    pub fn expr(&self, dialect: Dialect) -> String {
        if !self.is_text {
            return self.sql.clone();
        }
        dialect.number_cast(&self.sql)
    }
}

/// Writes the predicate "the target matches the number search", parenthesized. NULL targets
/// never match.
pub fn write_number_predicate(w: &mut SqlWriter, target: &NumberTarget, search: &NumberSearch) {
    let d = w.dialect();
    let e = target.expr(d);
    let p = |v: Decimal| d.decimal_param(if target.single { single(v) } else { v });
    let (op, v) = match search.prefix {
        Prefix::Eq => {
            w.push("(").push(&e).push(" >= ").param(p(search.low));
            w.push(" AND ").push(&e).push(" < ").param(p(search.high));
            w.push(")");
            return;
        }
        Prefix::Ne => {
            w.push("(").push(&e).push(" < ").param(p(search.low));
            w.push(" OR ").push(&e).push(" >= ").param(p(search.high));
            w.push(")");
            return;
        }
        Prefix::Ap => {
            let (lo, hi) = search.approx_range();
            w.push("(").push(&e).push(" BETWEEN ").param(p(lo));
            w.push(" AND ").param(p(hi)).push(")");
            return;
        }
        Prefix::Gt | Prefix::Sa => (" > ", search.value),
        Prefix::Lt | Prefix::Eb => (" < ", search.value),
        Prefix::Ge => (" >= ", search.value),
        Prefix::Le => (" <= ", search.value),
    };
    w.push("(").push(&e).push(op).param(p(v)).push(")");
}

/// `v` rounded to the nearest single-precision float, written with the fewest digits that
/// read back as that float widened to a double (what the database compares the column as).
fn single(v: Decimal) -> Decimal {
    use rust_decimal::prelude::ToPrimitive;
    v.to_f32()
        .filter(|f| f.is_finite())
        .and_then(|f| Decimal::from_str_exact(&f64::from(f).to_string()).ok())
        .unwrap_or(v)
}

/// Does a stored (non-NULL) value match the search? The pure statement of what
/// [`write_number_predicate`] selects, for tests and for values filtered in memory.
pub fn matches(stored: Decimal, search: &NumberSearch) -> bool {
    let in_range = search.low <= stored && stored < search.high;
    match search.prefix {
        Prefix::Eq => in_range,
        Prefix::Ne => !in_range,
        Prefix::Gt | Prefix::Sa => stored > search.value,
        Prefix::Lt | Prefix::Eb => stored < search.value,
        Prefix::Ge => stored >= search.value,
        Prefix::Le => stored <= search.value,
        Prefix::Ap => {
            let (lo, hi) = search.approx_range();
            lo <= stored && stored <= hi
        }
    }
}

/// A coded part of a quantity target: a constant of the mapping, SQL, or SQL translated by a
/// value map.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// A fixed value (`None`: the target never has this part).
    Const(Option<String>),
    /// Trusted SQL yielding the part (text or NULL), and what is known of its column (`None`
    /// for an expression), for binding.
    Sql(String, Option<ColumnInfo>),
    /// Trusted SQL yielding a legacy code that a value map translates, searched in reverse: a
    /// wanted value becomes the codes that map to it.
    Mapped {
        /// SQL of the stored code.
        sql: String,
        /// What is known of its column, for binding.
        column: Option<ColumnInfo>,
        /// Each listed code, as the values to bind for it (e.g. the integer for an integer
        /// column; none when it cannot be stored), and what it maps to (`None`: nothing).
        entries: Vec<(Vec<Value>, Option<String>)>,
        /// What a code the map does not list maps to (`None`: the map has no default).
        default: Option<Option<String>>,
    },
}

impl Part {
    /// A resolved part of a mapped quantity, with the binds of each legacy code of a value map
    /// computed for `dialect`.
    pub fn of(dialect: Dialect, part: &operand::Part) -> Part {
        match part {
            // A quantity's unit or system is never a prefixed code or a truth.
            operand::Part::Absent | operand::Part::Prefixed { .. } | operand::Part::Truth(_) => {
                Part::Const(None)
            }
            operand::Part::Const(c) => Part::Const(Some(c.to_string())),
            operand::Part::Sql(op) | operand::Part::Flag(op) => {
                Part::Sql(op.sql.clone(), op.column.cloned())
            }
            operand::Part::Mapped {
                operand,
                map,
                field,
            } => Part::Mapped {
                entries: map
                    .values
                    .iter()
                    .map(|(k, v)| {
                        (
                            operand::equal_binds(dialect, operand.column, k),
                            v.field(*field),
                        )
                    })
                    .collect(),
                default: map.default.as_ref().map(|d| d.field(*field)),
                column: operand.column.cloned(),
                sql: operand.sql.clone(),
            },
        }
    }
}

/// Where a quantity lives: its value and coded parts.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantityTarget {
    /// The number.
    pub value: NumberTarget,
    /// The unit system (`Quantity.system`).
    pub system: Part,
    /// The unit code (`Quantity.code`).
    pub code: Part,
    /// The human-readable unit (`Quantity.unit`).
    pub unit: Part,
}

/// A condition on the coded parts: decided here, or conditions of which one must hold.
enum Check<'a> {
    Const(bool),
    Any(Vec<Cond<'a>>),
}

/// One SQL condition on a coded part.
enum Cond<'a> {
    /// `sql = wanted`, `sql` being the column described (if known).
    Eq(&'a str, Option<&'a ColumnInfo>, &'a str),
    /// `sql IN (codes)`, or (`others`) a code the map does not list: not in these.
    Codes {
        sql: &'a str,
        column: Option<&'a ColumnInfo>,
        codes: Vec<Value>,
        others: Option<Vec<Value>>,
    },
}

impl<'a> Check<'a> {
    fn part(part: &'a Part, wanted: &'a str) -> Check<'a> {
        match part {
            Part::Const(c) => Check::Const(c.as_deref() == Some(wanted)),
            Part::Sql(sql, column) => {
                Check::Any(vec![Cond::Eq(sql.as_str(), column.as_ref(), wanted)])
            }
            Part::Mapped {
                sql,
                column,
                entries,
                default,
            } => {
                let codes: Vec<Value> = entries
                    .iter()
                    .filter(|(_, to)| to.as_deref() == Some(wanted))
                    .flat_map(|(binds, _)| binds.iter().cloned())
                    .collect();
                let others = default
                    .as_ref()
                    .is_some_and(|d| d.as_deref() == Some(wanted))
                    .then(|| {
                        entries
                            .iter()
                            .flat_map(|(b, _)| b.iter().cloned())
                            .collect()
                    });
                if codes.is_empty() && others.is_none() {
                    return Check::Const(false);
                }
                Check::Any(vec![Cond::Codes {
                    sql: sql.as_str(),
                    column: column.as_ref(),
                    codes,
                    others,
                }])
            }
        }
    }

    fn or(self, other: Check<'a>) -> Check<'a> {
        match (self, other) {
            (Check::Const(true), _) | (_, Check::Const(true)) => Check::Const(true),
            (Check::Const(false), c) | (c, Check::Const(false)) => c,
            (Check::Any(mut a), Check::Any(b)) => {
                a.extend(b);
                Check::Any(a)
            }
        }
    }
}

/// Writes the predicate "the target matches the quantity search", parenthesized: the number as
/// in [`write_number_predicate`], and the system and code (or code or unit) when given. Parts
/// that are constants are decided here (`1=0` when one can never match).
pub fn write_quantity_predicate(
    w: &mut SqlWriter,
    target: &QuantityTarget,
    search: &QuantitySearch,
) {
    let mut checks = Vec::new();
    if let Some(system) = &search.system {
        checks.push(Check::part(&target.system, system));
    }
    if let Some(code) = &search.code {
        let check = Check::part(&target.code, code);
        checks.push(if search.system.is_some() {
            check
        } else {
            check.or(Check::part(&target.unit, code))
        });
    }
    if checks.iter().any(|c| matches!(c, Check::Const(false))) {
        w.push("1=0");
        return;
    }
    checks.retain(|c| !matches!(c, Check::Const(true)));
    if checks.is_empty() {
        write_number_predicate(w, &target.value, &search.number);
        return;
    }
    w.push("(");
    write_number_predicate(w, &target.value, &search.number);
    for check in checks {
        let Check::Any(conds) = check else {
            unreachable!("constant checks were decided above")
        };
        let several = conds.len() > 1;
        w.push(if several { " AND (" } else { " AND " });
        for (i, cond) in conds.into_iter().enumerate() {
            if i > 0 {
                w.push(" OR ");
            }
            write_cond(w, cond);
        }
        if several {
            w.push(")");
        }
    }
    w.push(")");
}

fn write_in(w: &mut SqlWriter, sql: &str, column: Option<&ColumnInfo>, values: Vec<Value>) {
    w.push(sql).push(" IN (");
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.param_for(column, v);
    }
    w.push(")");
}

fn write_cond(w: &mut SqlWriter, cond: Cond) {
    match cond {
        Cond::Eq(sql, column, wanted) => {
            w.push(sql).push(" = ").param_for(column, wanted);
        }
        Cond::Codes {
            sql,
            column,
            codes,
            others,
        } => {
            w.push("(");
            let listed = !codes.is_empty();
            if listed {
                write_in(w, sql, column, codes);
            }
            if let Some(others) = others {
                if listed {
                    w.push(" OR ");
                }
                w.push("(").push(sql).push(" IS NOT NULL");
                if !others.is_empty() {
                    w.push(" AND NOT ");
                    write_in(w, sql, column, others);
                }
                w.push(")");
            }
            w.push(")");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::sql::Statement;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn single_precision_columns_get_single_precision_bounds() {
        let mut w = SqlWriter::new(Dialect::Postgres);
        let target = NumberTarget {
            single: true,
            ..NumberTarget::numeric("t.w")
        };
        write_number_predicate(&mut w, &target, &parse_number("le118.4").unwrap());
        let s = w.finish();
        let bound: Decimal = "118.4000015258789".parse().unwrap();
        assert_eq!(s.params, vec![Dialect::Postgres.decimal_param(bound)]);
        assert_eq!(
            bound.to_string().parse::<f64>().unwrap(),
            f64::from(118.4f32)
        );
    }

    #[test]
    fn precision_gives_the_implicit_range() {
        for (input, prefix, value, low, high, text) in [
            ("100", Prefix::Eq, "100", "99.5", "100.5", "100"),
            (
                "100.00",
                Prefix::Eq,
                "100.00",
                "99.995",
                "100.005",
                "100.00",
            ),
            ("1e2", Prefix::Eq, "100", "50", "150", "1e2"),
            ("1.0e2", Prefix::Eq, "100", "95", "105", "1.0e2"),
            ("1.5E+02", Prefix::Eq, "150", "145", "155", "1.5e2"),
            ("-0.5", Prefix::Eq, "-0.5", "-0.55", "-0.45", "-0.5"),
            (
                "5.4e-3",
                Prefix::Eq,
                "0.0054",
                "0.00535",
                "0.00545",
                "5.4e-3",
            ),
            ("0", Prefix::Eq, "0", "-0.5", "0.5", "0"),
            ("-0", Prefix::Eq, "0", "-0.5", "0.5", "0"),
            ("0.000", Prefix::Eq, "0.000", "-0.0005", "0.0005", "0.000"),
            (".5", Prefix::Eq, "0.5", "0.45", "0.55", "0.5"),
            ("007.50", Prefix::Eq, "7.50", "7.495", "7.505", "7.50"),
            ("+3", Prefix::Eq, "3", "2.5", "3.5", "3"),
            ("12e0", Prefix::Eq, "12", "11.5", "12.5", "12"),
            (
                "2.50e-1",
                Prefix::Eq,
                "0.250",
                "0.2495",
                "0.2505",
                "2.50e-1",
            ),
            ("-1e-2", Prefix::Eq, "-0.01", "-0.015", "-0.005", "-1e-2"),
            ("-12", Prefix::Eq, "-12", "-12.5", "-11.5", "-12"),
            ("eq5", Prefix::Eq, "5", "4.5", "5.5", "5"),
            ("gt100", Prefix::Gt, "100", "99.5", "100.5", "gt100"),
            (
                "le-3.25",
                Prefix::Le,
                "-3.25",
                "-3.255",
                "-3.245",
                "le-3.25",
            ),
            ("ap.5", Prefix::Ap, "0.5", "0.45", "0.55", "ap0.5"),
            (
                "sa1e-27",
                Prefix::Sa,
                "0.000000000000000000000000001",
                "0.0000000000000000000000000005",
                "0.0000000000000000000000000015",
                "sa1e-27",
            ),
            (
                "1e25",
                Prefix::Eq,
                "10000000000000000000000000",
                "5000000000000000000000000",
                "15000000000000000000000000",
                "1e25",
            ),
        ] {
            let s = parse_number(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(s.prefix, prefix, "{input}");
            assert_eq!(s.value.to_string(), value, "{input}");
            assert_eq!(s.low, dec(low), "{input}");
            assert_eq!(s.high, dec(high), "{input}");
            assert_eq!(s.text, text, "{input}");
            // The text parses back to the same search.
            assert_eq!(parse_number(&s.text).unwrap(), s, "{input}");
        }
    }

    #[test]
    fn bad_numbers_are_explained() {
        for bad in [
            "", "abc", "1.", "1e", "1e+", "e5", "--1", "-", ".", "1..2", "1.2.3", "0x10", "1,5",
            " 5", "5 ", "gt", "gt+", "NaN", "inf", "1_000", "1e2.5", "١٢",
        ] {
            assert_eq!(
                parse_number(bad).unwrap_err().to_string(),
                format!("'{bad}' is not a number"),
            );
        }
        for huge in [
            "1e-28",
            "0.0000000000000000000000000001",
            "1e26",
            "0e30",
            "1e40",
            "1e-99999999999",
            "1e99999999999",
            "12345678901234567890123456789",
        ] {
            let e = parse_number(huge).unwrap_err();
            assert_eq!(e, NumberError::OutOfRange(huge.into()));
            assert!(
                e.to_string().starts_with(&format!(
                    "'{huge}' is beyond the numbers this server can search"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn ap_is_ten_percent_or_the_implicit_range() {
        for (input, lo, hi) in [
            ("ap100", "90", "110"),
            ("ap-3.0", "-3.3", "-2.7"),
            ("ap0", "-0.5", "0.5"),
            ("ap1e2", "50", "150"),
            ("ap5.4e-3", "0.00486", "0.00594"),
        ] {
            let (l, h) = parse_number(input).unwrap().approx_range();
            assert_eq!((l, h), (dec(lo), dec(hi)), "{input}");
        }
    }

    #[test]
    fn the_oracle_follows_the_spec_examples() {
        let m = |search: &str, stored: &str| matches(dec(stored), &parse_number(search).unwrap());
        assert!(m("100", "99.5") && m("100", "100.4999") && m("100", "100"));
        assert!(!m("100", "100.5") && !m("100", "99.4999"));
        assert!(m("100.00", "100.004") && !m("100.00", "100.005") && !m("100.00", "99.99"));
        assert!(m("1e2", "50") && m("1e2", "149.9") && !m("1e2", "150"));
        assert!(m("ne100", "100.5") && m("ne100", "99") && !m("ne100", "99.5"));
        assert!(m("gt100", "100.0001") && !m("gt100", "100") && !m("gt100", "99"));
        assert!(m("ge100", "100") && !m("ge100", "99.9999"));
        assert!(m("lt100", "99.9999") && !m("lt100", "100"));
        assert!(m("le100", "100") && !m("le100", "100.0001"));
        assert!(m("sa100", "100.0001") && !m("sa100", "100"));
        assert!(m("eb100", "99.9999") && !m("eb100", "100"));
        assert!(m("ap100", "90") && m("ap100", "110") && !m("ap100", "110.01"));
        assert!(m("-0.5", "-0.55") && !m("-0.5", "-0.45"));
    }

    #[test]
    fn quantities_parse_in_all_three_forms() {
        let q = parse_quantity("5.4|http://unitsofmeasure.org|mg").unwrap();
        assert_eq!(q.number, parse_number("5.4").unwrap());
        assert_eq!(q.system.as_deref(), Some("http://unitsofmeasure.org"));
        assert_eq!(q.code.as_deref(), Some("mg"));
        assert_eq!(q.text(), "5.4|http://unitsofmeasure.org|mg");

        let q = parse_quantity("ap5.4||mg").unwrap();
        assert_eq!(q.number.prefix, Prefix::Ap);
        assert_eq!((q.system, q.code.as_deref()), (None, Some("mg")));

        let q = parse_quantity("le1.5e2").unwrap();
        assert_eq!(q.number, parse_number("le1.5e2").unwrap());
        assert_eq!((q.system.as_deref(), q.code.as_deref()), (None, None));
        assert_eq!(q.text(), "le1.5e2");

        let q = parse_quantity("5|http://unitsofmeasure.org|").unwrap();
        assert_eq!(
            (q.system.as_deref(), q.code.as_deref()),
            (Some("http://unitsofmeasure.org"), None)
        );
        assert_eq!(q.text(), "5|http://unitsofmeasure.org|");

        let q = parse_quantity("5||").unwrap();
        assert_eq!((&q.system, &q.code), (&None, &None));
        assert_eq!(q.text(), "5");
    }

    #[test]
    fn quantity_codes_unescape() {
        let q = parse_quantity(r"5|urn:a\|b|m\,g\$\\x\y").unwrap();
        assert_eq!(q.system.as_deref(), Some("urn:a|b"));
        assert_eq!(q.code.as_deref(), Some(r"m,g$\x\y"));
        assert_eq!(q.text(), r"5|urn:a\|b|m\,g\$\\x\\y");
        assert_eq!(parse_quantity(&q.text()).unwrap(), q);
        // An escaped backslash does not escape the bar after it.
        let q = parse_quantity(r"5|s\\|c").unwrap();
        assert_eq!(
            (q.system.as_deref(), q.code.as_deref()),
            (Some("s\\"), Some("c"))
        );
    }

    #[test]
    fn bad_quantities_are_explained() {
        for bad in ["5|mg", "5|a|b|c", "|", r"5\|a|b"] {
            assert_eq!(
                parse_quantity(bad).unwrap_err(),
                NumberError::NotAQuantity(bad.into()),
                "{bad}"
            );
        }
        assert_eq!(
            parse_quantity("abc||mg").unwrap_err().to_string(),
            "'abc' is not a number"
        );
        assert_eq!(
            parse_quantity("5|mg").unwrap_err().to_string(),
            "'5|mg' is not a quantity: write number, number|system|code or number||code \
             (escape a '|' inside a system or code as '\\|')"
        );
    }

    /// The statement as one line: SQL, then the parameters (`d` decimal, `f` double).
    fn render(stmt: &Statement) -> String {
        let params: Vec<String> = stmt
            .params
            .iter()
            .map(|v| match v {
                Value::Decimal(Some(d)) => format!("{d}d"),
                Value::Double(Some(f)) => format!("{f}f"),
                Value::String(Some(s)) => format!("'{s}'"),
                other => format!("{other:?}"),
            })
            .collect();
        format!("{} ; {}", stmt.sql, params.join(", "))
    }

    fn number_sql(dialect: Dialect, target: &NumberTarget, search: &str) -> String {
        let mut w = SqlWriter::new(dialect);
        write_number_predicate(&mut w, target, &parse_number(search).unwrap());
        render(&w.finish())
    }

    #[test]
    fn number_sql_on_postgres() {
        let t = NumberTarget::numeric(r#"O."HR""#);
        let cases = [
            ("100", r#"(O."HR" >= $1 AND O."HR" < $2) ; 99.5d, 100.5d"#),
            (
                "eq100.00",
                r#"(O."HR" >= $1 AND O."HR" < $2) ; 99.995d, 100.005d"#,
            ),
            ("ne1e2", r#"(O."HR" < $1 OR O."HR" >= $2) ; 50d, 150d"#),
            ("gt100", r#"(O."HR" > $1) ; 100d"#),
            ("lt-0.5", r#"(O."HR" < $1) ; -0.5d"#),
            ("ge5.4e-3", r#"(O."HR" >= $1) ; 0.0054d"#),
            ("le100", r#"(O."HR" <= $1) ; 100d"#),
            ("sa100", r#"(O."HR" > $1) ; 100d"#),
            ("eb100", r#"(O."HR" < $1) ; 100d"#),
            ("ap100", r#"(O."HR" BETWEEN $1 AND $2) ; 90.0d, 110.0d"#),
        ];
        for (search, expected) in cases {
            assert_eq!(
                number_sql(Dialect::Postgres, &t, search),
                expected,
                "{search}"
            );
        }
        let t = NumberTarget::text("L.RESULT");
        let e = Dialect::Postgres.number_cast("L.RESULT");
        assert_eq!(
            number_sql(Dialect::Postgres, &t, "5.70"),
            format!("({e} >= $1 AND {e} < $2) ; 5.695d, 5.705d")
        );
    }

    #[test]
    fn number_sql_on_sqlite_and_mysql() {
        let t = NumberTarget::text("L.RESULT");
        let e = Dialect::Sqlite.number_cast("L.RESULT");
        assert!(e.ends_with("THEN CAST(L.RESULT AS REAL) END"), "{e}");
        assert_eq!(
            number_sql(Dialect::Sqlite, &t, "5.70"),
            format!("({e} >= ? AND {e} < ?) ; 5.695f, 5.705f")
        );
        let e = Dialect::Mysql.number_cast("L.RESULT");
        assert!(
            e.ends_with("THEN CAST(L.RESULT AS DECIMAL(38,10)) END"),
            "{e}"
        );
        assert_eq!(
            number_sql(Dialect::Mysql, &t, "ne5.70"),
            format!("({e} < ? OR {e} >= ?) ; 5.695d, 5.705d")
        );
        let t = NumberTarget::numeric("`O`.`HR`");
        assert_eq!(
            number_sql(Dialect::Mysql, &t, "ap-3.0"),
            "(`O`.`HR` BETWEEN ? AND ?) ; -3.30d, -2.70d"
        );
        let t = NumberTarget::numeric(r#"O."HR""#);
        assert_eq!(
            number_sql(Dialect::Sqlite, &t, "gt1.5e2"),
            r#"(O."HR" > ?) ; 150f"#
        );
    }

    #[test]
    fn number_sql_for_every_prefix_dialect_and_kind() {
        // The shape of each prefix's predicate: `{e}` the compared expression, `{p}` a placeholder.
        let shapes = [
            ("eq", "({e} >= {p} AND {e} < {p})", vec!["99.5", "100.5"]),
            ("ne", "({e} < {p} OR {e} >= {p})", vec!["99.5", "100.5"]),
            ("gt", "({e} > {p})", vec!["100"]),
            ("lt", "({e} < {p})", vec!["100"]),
            ("ge", "({e} >= {p})", vec!["100"]),
            ("le", "({e} <= {p})", vec!["100"]),
            ("sa", "({e} > {p})", vec!["100"]),
            ("eb", "({e} < {p})", vec!["100"]),
            ("ap", "({e} BETWEEN {p} AND {p})", vec!["90", "110"]),
        ];
        let kinds = [
            (Dialect::Sqlite, false, "t.v".to_string()),
            (Dialect::Sqlite, true, Dialect::Sqlite.number_cast("t.v")),
            (Dialect::Postgres, false, "t.v".into()),
            (
                Dialect::Postgres,
                true,
                Dialect::Postgres.number_cast("t.v"),
            ),
            (Dialect::Mysql, false, "t.v".into()),
            (Dialect::Mysql, true, Dialect::Mysql.number_cast("t.v")),
        ];
        for (dialect, is_text, expr) in kinds {
            let target = NumberTarget {
                sql: "t.v".into(),
                is_text,
                single: false,
            };
            for (prefix, shape, values) in &shapes {
                let mut w = SqlWriter::new(dialect);
                write_number_predicate(
                    &mut w,
                    &target,
                    &parse_number(&format!("{prefix}100")).unwrap(),
                );
                let stmt = w.finish();
                let mut expected = shape.replace("{e}", &expr);
                for n in 1..=values.len() {
                    expected = expected.replacen("{p}", &dialect.placeholder(n), 1);
                }
                assert_eq!(stmt.sql, expected, "{dialect} {prefix} text={is_text}");
                let params: Vec<Value> = values
                    .iter()
                    .map(|v| dialect.decimal_param(dec(v)))
                    .collect();
                assert_eq!(stmt.params, params, "{dialect} {prefix} text={is_text}");
                for p in &stmt.params {
                    match dialect {
                        Dialect::Sqlite => assert!(matches!(p, Value::Double(Some(_)))),
                        _ => assert!(matches!(p, Value::Decimal(Some(_)))),
                    }
                }
            }
        }
    }

    fn quantity_sql(dialect: Dialect, target: &QuantityTarget, search: &str) -> String {
        let mut w = SqlWriter::new(dialect);
        write_quantity_predicate(&mut w, target, &parse_quantity(search).unwrap());
        render(&w.finish())
    }

    #[test]
    fn quantity_sql_decides_constant_parts() {
        let ucum = "http://unitsofmeasure.org";
        let t = QuantityTarget {
            value: NumberTarget::text("Q.VAL"),
            system: Part::Const(Some(ucum.into())),
            code: Part::Sql("Q.UCUM".into(), None),
            unit: Part::Sql("Q.UNIT".into(), None),
        };
        let pg = |s: &str| quantity_sql(Dialect::Postgres, &t, s);
        let e = Dialect::Postgres.number_cast("Q.VAL");
        let num = format!("({e} >= $1 AND {e} < $2)");
        assert_eq!(pg("5.4"), format!("{num} ; 5.35d, 5.45d"));
        assert_eq!(pg("5.4||"), format!("{num} ; 5.35d, 5.45d"));
        assert_eq!(
            pg("5.4|http://unitsofmeasure.org|mg"),
            format!("({num} AND Q.UCUM = $3) ; 5.35d, 5.45d, 'mg'")
        );
        assert_eq!(
            pg("5.4|http://unitsofmeasure.org|"),
            format!("{num} ; 5.35d, 5.45d")
        );
        assert_eq!(pg("5.4|http://loinc.org|mg"), "1=0 ; ");
        assert_eq!(pg("5.4|http://loinc.org|"), "1=0 ; ");
        assert_eq!(
            pg("5.4||mg"),
            format!("({num} AND (Q.UCUM = $3 OR Q.UNIT = $4)) ; 5.35d, 5.45d, 'mg', 'mg'")
        );
        let e = Dialect::Mysql.number_cast("Q.VAL");
        assert_eq!(
            quantity_sql(Dialect::Mysql, &t, "gt5||m\\|g"),
            format!("(({e} > ?) AND (Q.UCUM = ? OR Q.UNIT = ?)) ; 5d, 'm|g', 'm|g'")
        );

        // A fixed code and a unit column; no system at all.
        let t = QuantityTarget {
            value: NumberTarget::numeric("Q.VAL"),
            system: Part::Const(None),
            code: Part::Const(Some("mg".into())),
            unit: Part::Sql("Q.UNIT".into(), None),
        };
        let lite = |s: &str| quantity_sql(Dialect::Sqlite, &t, s);
        assert_eq!(lite("lt5||mg"), "(Q.VAL < ?) ; 5f");
        assert_eq!(lite("lt5||g"), "((Q.VAL < ?) AND Q.UNIT = ?) ; 5f, 'g'");
        assert_eq!(lite("lt5|http://unitsofmeasure.org|mg"), "1=0 ; ");

        // Everything in columns.
        let t = QuantityTarget {
            value: NumberTarget::numeric("Q.VAL"),
            system: Part::Sql("Q.SYS".into(), None),
            code: Part::Sql("Q.CODE".into(), None),
            unit: Part::Const(None),
        };
        let lite = |s: &str| quantity_sql(Dialect::Sqlite, &t, s);
        assert_eq!(
            lite("ge5|urn:s|c"),
            "((Q.VAL >= ?) AND Q.SYS = ? AND Q.CODE = ?) ; 5f, 'urn:s', 'c'"
        );
        assert_eq!(lite("ge5||c"), "((Q.VAL >= ?) AND Q.CODE = ?) ; 5f, 'c'");
        assert_eq!(
            lite("ge5|urn:s|"),
            "((Q.VAL >= ?) AND Q.SYS = ?) ; 5f, 'urn:s'"
        );
    }

    #[test]
    fn quantity_sql_searches_mapped_codes_in_reverse() {
        let code = |default: Option<&str>| Part::Mapped {
            sql: "Q.U".into(),
            column: None,
            entries: vec![
                (vec![Value::from("MG")], Some("mg".into())),
                (vec![Value::from("G"), Value::from("G ")], Some("g".into())),
                (vec![Value::from("MILLIG")], Some("mg".into())),
                (vec![Value::from("X")], None),
            ],
            default: default.map(|d| Some(d.to_string())),
        };
        let t = |default| QuantityTarget {
            value: NumberTarget::numeric("Q.VAL"),
            system: Part::Const(Some("http://unitsofmeasure.org".into())),
            code: code(default),
            unit: Part::Const(None),
        };
        let lite = |target: &QuantityTarget, s: &str| quantity_sql(Dialect::Sqlite, target, s);
        assert_eq!(
            lite(&t(None), "gt5||mg"),
            "((Q.VAL > ?) AND (Q.U IN (?, ?))) ; 5f, 'MG', 'MILLIG'"
        );
        assert_eq!(
            lite(&t(None), "gt5|http://unitsofmeasure.org|g"),
            "((Q.VAL > ?) AND (Q.U IN (?, ?))) ; 5f, 'G', 'G '"
        );
        assert_eq!(lite(&t(None), "gt5||kg"), "1=0 ; ");
        assert_eq!(
            lite(&t(Some("kg")), "gt5||kg"),
            "((Q.VAL > ?) AND ((Q.U IS NOT NULL AND NOT Q.U IN (?, ?, ?, ?, ?)))) ; \
             5f, 'MG', 'G', 'G ', 'MILLIG', 'X'"
        );
        assert_eq!(
            lite(&t(Some("g")), "gt5||g"),
            "((Q.VAL > ?) AND (Q.U IN (?, ?) OR (Q.U IS NOT NULL AND NOT Q.U IN (?, ?, ?, ?, ?)))) ; \
             5f, 'G', 'G ', 'MG', 'G', 'G ', 'MILLIG', 'X'"
        );
    }
}
