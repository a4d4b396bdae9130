//! FHIR date search (<http://hl7.org/fhir/R4/search.html#date>): parsing search values into
//! ranges, and the SQL predicate that compares them with a mapped date column or period.
//!
//! # Ranges
//!
//! Every date is a half-open range of instants `[start, end)`, kept as UTC naive date-times:
//!
//! * a search value covers its precision: `2020` is the year 2020, `2020-01-02T10:00Z` the
//!   minute `[10:00:00Z, 10:01:00Z)`, `…T10:00:05.25Z` the hundredth of a second. Dates, and
//!   date-times with a time but no zone, are read in the server time zone `tz`;
//! * a stored `DATE` (or a text date with day precision) is its local day in `tz`, a text
//!   date with month or year precision its local month or year; a timestamp is the second it
//!   falls in (`[t, t + 1s)`, fractional seconds truncated), in `tz` for naive timestamps;
//! * a period (start and end columns) runs from the start of its start to the end of its end;
//!   a NULL start or end is open on that side; both NULL means no value.
//!
//! A local date-time maps to the *earliest* instant whose local time is at or after it: an
//! ambiguous time (the repeated hour when clocks go back) is its first occurrence, and a time
//! that does not exist (skipped when clocks go forward) is the instant of the change. So local
//! days and seconds tile the time line without holes or overlaps (a skipped second is an
//! empty range). Note that [`crate::assemble::convert::local_datetime`] *displays* a skipped
//! naive timestamp as UTC; searches place it at the change instead, on the day it is stored on.
//!
//! # Prefixes
//!
//! With the search range `S` and the target range `T` (spec wording in quotes):
//!
//! | prefix | meaning | condition |
//! |---|---|---|
//! | `eq` | S fully contains T | `S.start <= T.start && T.end <= S.end` |
//! | `ne` | not `eq` | |
//! | `gt` | "the range above the search value intersects the range of the target" | `T.end > S.end` |
//! | `lt` | the range below S intersects T | `T.start < S.start` |
//! | `ge` | `gt` or `eq` | `T.start >= S.start \|\| T.end > S.end` |
//! | `le` | `lt` or `eq` | `T.start < S.start \|\| T.end <= S.end` |
//! | `sa` | T starts after S ends | `T.start >= S.end` |
//! | `eb` | T ends before S starts | `T.end <= S.start` |
//! | `ap` | T overlaps S widened by the tolerance | see [`DateSearch::tolerance`] |
//!
//! A target without a value (NULL) matches no prefix, not even `ne`; `:missing` is handled
//! elsewhere.
//!
//! # SQL
//!
//! The stored values are discrete (days, seconds, …), so each condition on `T` becomes a
//! comparison of the bare column with a bound computed here: `T.start >= X` is
//! `col >= first value starting at or after X`, `T.end <= X` is
//! `col < last value starting at or before X`. Bounds are bound parameters, typed for the
//! column: text in the stored format for text dates and for everything on SQLite (which keeps
//! `DATE` as `'YYYY-MM-DD'` and `TIMESTAMP` as `'YYYY-MM-DD HH:MM:SS'`), `DATE`, naive
//! `TIMESTAMP` and UTC `TIMESTAMPTZ` values on PostgreSQL and MySQL (whose `TIMESTAMP`
//! columns are read in the session zone, `+00:00` for sqlx connections). Only years 0001 to
//! 9999 are compared; bounds beyond fold into constants. Text columns also exclude values
//! below `0001-01-01` in their format (blank or zero legacy dates), which count as missing.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use sea_query::Value;

use super::Prefix;
use super::operand::Operand;
use crate::mapping::ColumnInfo;
use crate::mapping::text_date::{self, Unit};
use crate::sql::SqlType;
use crate::sql::SqlWriter;

/// A parsed date search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateSearch {
    /// The comparison prefix (`eq` when none was given).
    pub prefix: Prefix,
    /// Start of the value's range, UTC, inclusive.
    pub start: NaiveDateTime,
    /// End of the value's range, UTC, exclusive.
    pub end: NaiveDateTime,
    /// How far `ap` widens the range on each side: 10% of the time between the value and the
    /// moment it was parsed, and at least one day. Zero for the other prefixes.
    pub tolerance: TimeDelta,
    /// The normalized value for self links: prefix (left out for `eq`) and value, with a `+`
    /// restored in a time zone offset that arrived as a space (`"ge2020-01"`).
    pub text: String,
}

impl DateSearch {
    /// The range `ap` matches against: `[start - tolerance, end + tolerance)`.
    pub fn approx_range(&self) -> (NaiveDateTime, NaiveDateTime) {
        (
            self.start
                .checked_sub_signed(self.tolerance)
                .unwrap_or(self.start),
            self.end
                .checked_add_signed(self.tolerance)
                .unwrap_or(self.end),
        )
    }
}

/// Why a date search value or a target cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// The search value is not a FHIR date.
    #[error("'{value}' is not a valid date: {reason}")]
    Invalid {
        /// The value as received (without its prefix).
        value: String,
        /// What is wrong, for the client.
        reason: String,
    },
    /// A text date in a format that does not sort like the dates it holds.
    #[error(
        "dates stored as text in the format '{0}' cannot be searched: the format must give \
         year, month, day, hour, minute and second in that order, each with a fixed width"
    )]
    UnsortableFormat(String),
}

/// How a date is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateStorage {
    /// A `DATE`: a local calendar day in the server time zone.
    Date,
    /// A timestamp without time zone, holding local time in the server time zone.
    Timestamp,
    /// A timestamp with time zone (PostgreSQL `TIMESTAMPTZ`, MySQL `TIMESTAMP`), compared as
    /// UTC; on SQLite, text `'YYYY-MM-DD HH:MM:SS'` in UTC.
    TimestampTz,
    /// Text in a chrono strftime `format` (`%Y%m%d`), local time in the server time zone. Its
    /// precision is its finest field (`%Y%m` is a month). The format must be
    /// [sortable](crate::mapping::text_date::sortable). Bounds are bound as text, as the
    /// column compares them ([`SqlWriter::param_for`]: `bpchar` for a `CHAR(n)` column on
    /// PostgreSQL).
    Text {
        /// The strftime format.
        format: String,
    },
}

impl DateStorage {
    /// How a date is stored, from the SQL type of the column or expression: a `DATE`, a
    /// timestamp, an instant; text in the mapping's `format` (a format applies to text only:
    /// where the same mapping reads a `DATE` on another database, that is compared as one).
    /// Text without a format is taken as ISO text, which compares as timestamps do.
    pub fn of(column: Option<&ColumnInfo>, format: Option<&str>) -> DateStorage {
        match column.map(|c| c.sql_type).unwrap_or_default() {
            SqlType::Date => DateStorage::Date,
            SqlType::Instant => DateStorage::TimestampTz,
            SqlType::DateTime | SqlType::Time => DateStorage::Timestamp,
            _ => match format {
                Some(f) => DateStorage::Text {
                    format: f.to_string(),
                },
                None => DateStorage::Timestamp,
            },
        }
    }
}

/// The column(s) to compare with a date search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTarget {
    /// SQL of the (start) column, trusted text rendered by the planner (`P."BIRTH_DT"`).
    pub start: String,
    /// SQL of the end column for a Period (`None` for a single date).
    pub end: Option<String>,
    /// What the database says of the start column (`None` for an expression), for binding.
    pub start_column: Option<ColumnInfo>,
    /// What the database says of the end column.
    pub end_column: Option<ColumnInfo>,
    /// How the column(s) store dates.
    pub storage: DateStorage,
}

impl DateTarget {
    /// The target of a mapped date (`start`) or period (`start`, `end`), `format` being the
    /// text format of dates stored as text.
    pub fn of(start: &Operand, end: Option<&Operand>, format: Option<&str>) -> DateTarget {
        DateTarget {
            start: start.sql.clone(),
            end: end.map(|e| e.sql.clone()),
            start_column: start.column.cloned(),
            end_column: end.and_then(|e| e.column).cloned(),
            storage: DateStorage::of(start.column, format),
        }
    }
}

/// Parses a date search value, with an optional prefix (`"ge2020-01"`), reading dates and
/// zone-less date-times in `tz`. The `ap` tolerance is measured from now.
pub fn parse(value: &str, tz: Tz) -> Result<DateSearch, DateError> {
    parse_at(value, tz, Utc::now().naive_utc())
}

/// [`parse`], with `now` (UTC) as the present for the `ap` tolerance.
pub fn parse_at(value: &str, tz: Tz, now: NaiveDateTime) -> Result<DateSearch, DateError> {
    let (prefix, raw) = Prefix::split(value);
    let normalized = normalize(raw);
    let (start, end) = parse_range(&normalized, tz).map_err(|reason| DateError::Invalid {
        value: raw.to_string(),
        reason,
    })?;
    let tolerance = if prefix == Prefix::Ap {
        let distance = if now < start {
            start - now
        } else if now >= end {
            now - end
        } else {
            TimeDelta::zero()
        };
        (distance / 10).max(TimeDelta::days(1))
    } else {
        TimeDelta::zero()
    };
    let text = match prefix {
        Prefix::Eq => normalized,
        p => format!("{p}{normalized}"),
    };
    Ok(DateSearch {
        prefix,
        start,
        end,
        tolerance,
        text,
    })
}

/// A `+` in a zone offset arrives as a space when a client forgets to encode it.
fn normalize(raw: &str) -> String {
    match raw.find('T') {
        Some(t) => {
            let (date, time) = raw.split_at(t);
            format!("{date}{}", time.replace(' ', "+"))
        }
        None => raw.to_string(),
    }
}

const EXPECTED: &str = "expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]] \
                        with an optional zone (Z or +hh:mm)";

/// Reads `n` ASCII digits at `*pos`.
fn digits(s: &[u8], pos: &mut usize, n: usize) -> Option<u32> {
    let part = s.get(*pos..*pos + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    *pos += n;
    Some(part.iter().fold(0, |acc, b| acc * 10 + u32::from(b - b'0')))
}

/// The UTC range of a search value (without prefix).
fn parse_range(v: &str, tz: Tz) -> Result<(NaiveDateTime, NaiveDateTime), String> {
    if v.is_empty() {
        return Err("the value is empty".into());
    }
    let s = v.as_bytes();
    let mut pos = 0;
    let expected = || EXPECTED.to_string();
    let year = digits(s, &mut pos, 4).ok_or_else(expected)? as i32;
    if pos < s.len() && s[pos].is_ascii_digit() {
        return Err(if s.len() == 8 && s.iter().all(u8::is_ascii_digit) {
            "expected YYYY-MM-DD, with dashes".into()
        } else {
            expected()
        });
    }
    if year == 0 {
        return Err("there is no year 0000".into());
    }
    let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).map(|d| d.and_time(Default::default()));
    if pos == s.len() {
        let from = ymd(year, 1, 1).ok_or_else(expected)?;
        let to = ymd(year + 1, 1, 1).ok_or_else(expected)?;
        return Ok((local_to_utc(from, tz), local_to_utc(to, tz)));
    }
    if s[pos] != b'-' {
        return Err(expected());
    }
    pos += 1;
    let month = digits(s, &mut pos, 2).ok_or_else(expected)?;
    if !(1..=12).contains(&month) {
        return Err(format!("month {month}"));
    }
    if pos == s.len() {
        let from = ymd(year, month, 1).ok_or_else(expected)?;
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let to = ymd(ny, nm, 1).ok_or_else(expected)?;
        return Ok((local_to_utc(from, tz), local_to_utc(to, tz)));
    }
    if s[pos] != b'-' {
        return Err(expected());
    }
    pos += 1;
    let day = digits(s, &mut pos, 2).ok_or_else(expected)?;
    let date = NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| format!("{year:04}-{month:02} has no day {day}"))?;
    if pos == s.len() {
        let from = date.and_time(Default::default());
        return Ok((
            local_to_utc(from, tz),
            local_to_utc(from + TimeDelta::days(1), tz),
        ));
    }
    if s[pos] != b'T' {
        return Err(expected());
    }
    pos += 1;
    let hour = digits(s, &mut pos, 2).ok_or_else(expected)?;
    if s.get(pos) != Some(&b':') {
        return Err(expected());
    }
    pos += 1;
    let minute = digits(s, &mut pos, 2).ok_or_else(expected)?;
    if hour > 23 {
        return Err(format!("hour {hour}"));
    }
    if minute > 59 {
        return Err(format!("minute {minute}"));
    }
    let mut second = 0;
    let mut nanos = 0;
    let mut width = TimeDelta::minutes(1);
    if s.get(pos) == Some(&b':') {
        pos += 1;
        second = digits(s, &mut pos, 2).ok_or_else(expected)?;
        if second == 60 {
            return Err("leap seconds (second 60) are not supported".into());
        }
        if second > 59 {
            return Err(format!("second {second}"));
        }
        width = TimeDelta::seconds(1);
        if s.get(pos) == Some(&b'.') {
            pos += 1;
            let n = s[pos..].iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return Err("expected 1 to 9 digits of fractional seconds".into());
            }
            let frac = digits(s, &mut pos, n).ok_or_else(expected)?;
            nanos = frac * 10u32.pow(9 - n as u32);
            width = TimeDelta::nanoseconds(10i64.pow(9 - n as u32));
        }
    }
    let local = date
        .and_hms_nano_opt(hour, minute, second, nanos)
        .ok_or_else(expected)?;
    let zone = &s[pos..];
    if zone.is_empty() {
        return Ok((local_to_utc(local, tz), local_to_utc(local + width, tz)));
    }
    let offset = if zone == b"Z" {
        0
    } else {
        let sign = match zone[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(expected()),
        };
        let mut p = 1;
        let oh = digits(zone, &mut p, 2).ok_or_else(expected)?;
        if zone.get(p) != Some(&b':') {
            return Err(expected());
        }
        p += 1;
        let om = digits(zone, &mut p, 2).ok_or_else(expected)?;
        if p != zone.len() {
            return Err(expected());
        }
        if om > 59 || oh > 14 || (oh == 14 && om > 0) {
            return Err(format!("time zone offset {oh:02}:{om:02}"));
        }
        sign * (oh * 3600 + om * 60) as i64
    };
    let start = local - TimeDelta::seconds(offset);
    Ok((start, start + width))
}

/// The UTC instant of a local date-time in `tz`: the earliest instant whose local time is at
/// or after `local` (the first occurrence of an ambiguous time; the moment of the change for
/// a time skipped by a daylight-saving change).
pub fn local_to_utc(local: NaiveDateTime, tz: Tz) -> NaiveDateTime {
    use chrono::LocalResult;
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.naive_utc(),
        LocalResult::Ambiguous(a, b) => a.naive_utc().min(b.naive_utc()),
        LocalResult::None => {
            // In a gap: find the change by bisection over UTC seconds (offsets stay within
            // ±15 hours and gaps within a day).
            // Changes happen on whole seconds.
            let to_local = |u: i64| {
                let u = DateTime::from_timestamp(u, 0).expect("instant within chrono's range");
                tz.from_utc_datetime(&u.naive_utc()).naive_local()
            };
            let at = local.and_utc().timestamp();
            let (mut lo, mut hi) = (at - 40 * 3600, at + 40 * 3600); // before, after `local`
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if to_local(mid) >= local {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            DateTime::from_timestamp(hi, 0)
                .expect("instant within chrono's range")
                .naive_utc()
        }
    }
}

/// Whether the range `[target_start, target_end)` (UTC; `None` is open on that side, both
/// `None` is no value) matches `search`. The same semantics as [`write_predicate`], in Rust.
pub fn matches(
    target_start: Option<NaiveDateTime>,
    target_end: Option<NaiveDateTime>,
    search: &DateSearch,
) -> bool {
    if target_start.is_none() && target_end.is_none() {
        return false;
    }
    let (s0, s1) = (search.start, search.end);
    // Open ends compare as minus and plus infinity.
    let start_ge = |x| target_start.is_some_and(|t| t >= x);
    let end_le = |x| target_end.is_some_and(|t| t <= x);
    let eq = start_ge(s0) && end_le(s1);
    match search.prefix {
        Prefix::Eq => eq,
        Prefix::Ne => !eq,
        Prefix::Gt => !end_le(s1),
        Prefix::Lt => !start_ge(s0),
        Prefix::Ge => start_ge(s0) || !end_le(s1),
        Prefix::Le => !start_ge(s0) || end_le(s1),
        Prefix::Sa => start_ge(s1),
        Prefix::Eb => end_le(s0),
        Prefix::Ap => {
            let (w0, w1) = search.approx_range();
            !start_ge(w1) && !end_le(w0)
        }
    }
}

/// Writes a boolean SQL condition, true when `target` matches `search` (false for NULL
/// targets). Bounds are bound parameters ([`SqlWriter::param_for`]); the column expressions are written bare so
/// their indexes stay usable. A composite condition is parenthesized. `tz` is the time zone
/// of local dates and naive timestamps.
pub fn write_predicate(
    w: &mut SqlWriter,
    target: &DateTarget,
    search: &DateSearch,
    tz: Tz,
) -> Result<(), DateError> {
    let scale = Scale::of(&target.storage, tz)?;
    let text_guard =
        matches!(target.storage, DateStorage::Text { .. }) || w.dialect().dates_are_text();
    let period = target.end.is_some();
    let (s, e) = (0, usize::from(period));
    let (s0, s1) = (search.start, search.end);
    let full = || vec![(i64::MIN, i64::MAX)];
    let is = |c, set| Expr::In(c, set, false);
    // The four conditions on the target range, as conditions on the stored values; a
    // period's missing start or end is open.
    let start_ge = |x| is(s, vec![(scale.ceil(x), i64::MAX)]);
    let start_lt = |x| Expr::In(s, vec![(i64::MIN, scale.ceil(x))], period);
    let end_le = |x| is(e, vec![(i64::MIN, scale.floor(x))]);
    let end_gt = |x| Expr::In(e, vec![(scale.floor(x), i64::MAX)], period);
    let (cond, open) = match search.prefix {
        Prefix::Eq => (Expr::And(vec![start_ge(s0), end_le(s1)]), false),
        Prefix::Ne => (Expr::Or(vec![start_lt(s0), end_gt(s1)]), true),
        Prefix::Gt => (end_gt(s1), true),
        Prefix::Lt => (start_lt(s0), true),
        Prefix::Ge => (Expr::Or(vec![start_ge(s0), end_gt(s1)]), true),
        Prefix::Le => (Expr::Or(vec![start_lt(s0), end_le(s1)]), true),
        Prefix::Sa => (start_ge(s1), false),
        Prefix::Eb => (end_le(s0), false),
        Prefix::Ap => {
            let (w0, w1) = search.approx_range();
            (Expr::And(vec![start_lt(w1), end_gt(w0)]), true)
        }
    };
    // A period with neither start nor end has no value.
    let cond = if period && open {
        Expr::And(vec![Expr::Or(vec![is(s, full()), is(e, full())]), cond])
    } else {
        cond
    };
    let domain = (scale.min(), scale.max() + 1);
    let cond = cond.simplify(domain);
    let r = Render {
        scale: &scale,
        storage: &target.storage,
        columns: [target.start.as_str(), target.end.as_deref().unwrap_or("")],
        infos: [target.start_column.as_ref(), target.end_column.as_ref()],
        text_guard,
        domain,
    };
    r.write(w, &cond, true);
    Ok(())
}

/// Stored values as indexes of granules (seconds since 1970, days since 0001-01-01, …) in
/// local time (`tz`) or UTC.
struct Scale {
    unit: Unit,
    tz: Option<Tz>,
}

impl Scale {
    fn of(storage: &DateStorage, tz: Tz) -> Result<Scale, DateError> {
        Ok(match storage {
            DateStorage::Date => Scale {
                unit: Unit::Day,
                tz: Some(tz),
            },
            DateStorage::Timestamp => Scale {
                unit: Unit::Seconds(1),
                tz: Some(tz),
            },
            DateStorage::TimestampTz => Scale {
                unit: Unit::Seconds(1),
                tz: None,
            },
            DateStorage::Text { format } => Scale {
                unit: text_date::unit(format)
                    .ok_or_else(|| DateError::UnsortableFormat(format.clone()))?,
                tz: Some(tz),
            },
        })
    }

    /// The granule holding a naive date-time.
    fn index(&self, t: NaiveDateTime) -> i64 {
        match self.unit {
            Unit::Seconds(n) => t.and_utc().timestamp().div_euclid(n),
            Unit::Day => i64::from(t.date().num_days_from_ce()),
            Unit::Month => i64::from(t.year()) * 12 + i64::from(t.month0()),
            Unit::Year => i64::from(t.year()),
        }
    }

    /// The naive date-time starting granule `i`.
    fn naive(&self, i: i64) -> NaiveDateTime {
        let date = match self.unit {
            Unit::Seconds(n) => {
                return DateTime::from_timestamp(i * n, 0)
                    .expect("granule within chrono's range")
                    .naive_utc();
            }
            Unit::Day => NaiveDate::from_num_days_from_ce_opt(i as i32),
            Unit::Month => {
                NaiveDate::from_ymd_opt(i.div_euclid(12) as i32, i.rem_euclid(12) as u32 + 1, 1)
            }
            Unit::Year => NaiveDate::from_ymd_opt(i as i32, 1, 1),
        };
        date.expect("granule within chrono's range")
            .and_time(Default::default())
    }

    /// The first granule of the searchable years (0001-01-01).
    fn min(&self) -> i64 {
        self.index(
            NaiveDate::from_ymd_opt(1, 1, 1)
                .unwrap()
                .and_time(Default::default()),
        )
    }

    /// The last granule of the searchable years (9999-12-31T23:59:59).
    fn max(&self) -> i64 {
        self.index(
            NaiveDate::from_ymd_opt(9999, 12, 31)
                .unwrap()
                .and_hms_opt(23, 59, 59)
                .unwrap(),
        )
    }

    /// The UTC instant granule `i` starts at.
    fn lo(&self, i: i64) -> NaiveDateTime {
        let t = self.naive(i);
        match self.tz {
            Some(tz) => local_to_utc(t, tz),
            None => t,
        }
    }

    /// The first granule `i` (within one granule beyond the searchable years) for which
    /// `pred(lo(i))` holds; `pred` must be monotone.
    fn first(&self, pred: impl Fn(NaiveDateTime) -> bool) -> i64 {
        let (mut lo, mut hi) = (self.min() - 1, self.max() + 2);
        if pred(self.lo(lo)) {
            return lo;
        }
        if !pred(self.lo(hi)) {
            return hi;
        }
        // pred(lo(lo)) is false, pred(lo(hi)) is true.
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if pred(self.lo(mid)) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    /// The first granule starting at or after `x`: `T.start >= x` iff `value >= ceil(x)`.
    fn ceil(&self, x: NaiveDateTime) -> i64 {
        self.first(|t| t >= x)
    }

    /// The last granule starting at or before `x`: `T.end <= x` iff `value < floor(x)`.
    fn floor(&self, x: NaiveDateTime) -> i64 {
        self.first(|t| t > x) - 1
    }
}

/// A set of granules: sorted, disjoint, half-open `[from, to)` intervals.
type Set = Vec<(i64, i64)>;

fn intersect(a: &Set, b: &Set) -> Set {
    let mut out = Vec::new();
    for &(a0, a1) in a {
        for &(b0, b1) in b {
            let (lo, hi) = (a0.max(b0), a1.min(b1));
            if lo < hi {
                out.push((lo, hi));
            }
        }
    }
    out.sort_unstable();
    out
}

fn union(a: &Set, b: &Set) -> Set {
    let mut all: Set = a
        .iter()
        .chain(b)
        .copied()
        .filter(|(lo, hi)| lo < hi)
        .collect();
    all.sort_unstable();
    let mut out: Set = Vec::new();
    for (lo, hi) in all {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// A condition on the stored value(s): column 0 is the (start) column, 1 the end column.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    /// Always true.
    True,
    /// Always false.
    False,
    /// The column holds a value in this set of granules, or (when the flag is set) no value.
    In(usize, Set, bool),
    /// All of these.
    And(Vec<Expr>),
    /// Any of these.
    Or(Vec<Expr>),
}

impl Expr {
    /// Restricts sets to `domain`, merges conditions on the same column, folds constants.
    fn simplify(self, domain: (i64, i64)) -> Expr {
        let and = matches!(self, Expr::And(_));
        match self {
            Expr::In(c, set, absent) => {
                let set = intersect(&set, &vec![domain]);
                match (set.is_empty(), absent) {
                    (true, false) => Expr::False,
                    (false, true) if set == vec![domain] => Expr::True,
                    _ => Expr::In(c, set, absent),
                }
            }
            Expr::And(items) | Expr::Or(items) => {
                // The constant that decides the whole (false for AND), and the neutral one.
                let (decisive, neutral) = if and {
                    (Expr::False, Expr::True)
                } else {
                    (Expr::True, Expr::False)
                };
                let mut out: Vec<Expr> = Vec::new();
                let mut pending: Vec<Expr> = items;
                while let Some(item) = pending.pop() {
                    let item = item.simplify(domain);
                    if item == decisive {
                        return decisive;
                    }
                    match item {
                        x if x == neutral => {}
                        Expr::And(inner) if and => pending.extend(inner),
                        Expr::Or(inner) if !and => pending.extend(inner),
                        Expr::In(c, set, absent) => {
                            let same = out
                                .iter_mut()
                                .find(|e| matches!(e, Expr::In(d, ..) if *d == c));
                            match same {
                                Some(Expr::In(_, have, have_absent)) => {
                                    if and {
                                        *have = intersect(have, &set);
                                        *have_absent &= absent;
                                    } else {
                                        *have = union(have, &set);
                                        *have_absent |= absent;
                                    }
                                }
                                _ => out.push(Expr::In(c, set, absent)),
                            }
                        }
                        other => out.push(other),
                    }
                }
                // Merging may have produced constants; written order follows the input.
                out.reverse();
                let out: Vec<Expr> = out.into_iter().map(|e| e.simplify(domain)).collect();
                if out.contains(&decisive) {
                    return decisive;
                }
                let mut out: Vec<Expr> = out.into_iter().filter(|e| *e != neutral).collect();
                match out.len() {
                    0 => neutral,
                    1 => out.pop().unwrap(),
                    _ if and => Expr::And(out),
                    _ => Expr::Or(out),
                }
            }
            constant => constant,
        }
    }
}

/// Writes one operand of an AND or OR.
type Part<'a> = Box<dyn Fn(&mut SqlWriter) + 'a>;

/// Writes an [`Expr`] for one target.
struct Render<'a> {
    scale: &'a Scale,
    storage: &'a DateStorage,
    columns: [&'a str; 2],
    /// What is known of the columns, for binding.
    infos: [Option<&'a ColumnInfo>; 2],
    /// Values are text in which blanks and zeros (below 0001-01-01) mean "no date".
    text_guard: bool,
    domain: (i64, i64),
}

impl Render<'_> {
    /// Writes `e`, in parentheses if it is composite and `paren` is set.
    fn write(&self, w: &mut SqlWriter, e: &Expr, paren: bool) {
        let mut parts: Vec<Part<'_>> = Vec::new();
        let op = match e {
            Expr::True => {
                w.push("1 = 1");
                return;
            }
            Expr::False => {
                w.push("1 = 0");
                return;
            }
            Expr::In(c, set, absent) => {
                let col = self.columns[*c];
                let mut set = set.clone();
                if *absent {
                    parts.push(Box::new(move |w| {
                        w.push(col).push(" IS NULL");
                    }));
                    if self.text_guard {
                        // Blank or zero text is missing too: below the first date.
                        match set.first_mut() {
                            Some(first) if first.0 == self.domain.0 => first.0 = i64::MIN,
                            _ => set.insert(0, (i64::MIN, self.domain.0)),
                        }
                    }
                }
                let many = set.len() > 1 || *absent;
                for (lo, hi) in set {
                    let lower = lo > self.domain.0 || (self.text_guard && lo == self.domain.0);
                    let upper = hi < self.domain.1;
                    parts.push(Box::new(move |w| {
                        let both = many && lower && upper;
                        if both {
                            w.push("(");
                        }
                        if lower {
                            w.push(col).push(" >= ");
                            self.bound(w, *c, lo);
                        }
                        if lower && upper {
                            w.push(" AND ");
                        }
                        if upper {
                            w.push(col).push(" < ");
                            self.bound(w, *c, hi);
                        }
                        if !lower && !upper {
                            w.push(col).push(" IS NOT NULL");
                        }
                        if both {
                            w.push(")");
                        }
                    }));
                }
                if parts.len() == 1 {
                    // One interval: "a AND b" at most, parenthesized when asked.
                    let (lo, hi) = match e {
                        Expr::In(_, set, _) => set[0],
                        _ => unreachable!(),
                    };
                    let both = (lo > self.domain.0 || self.text_guard) && hi < self.domain.1;
                    if both && paren {
                        w.push("(");
                    }
                    parts[0](w);
                    if both && paren {
                        w.push(")");
                    }
                    return;
                }
                " OR "
            }
            Expr::And(items) | Expr::Or(items) => {
                for item in items {
                    parts.push(Box::new(move |w| self.write(w, item, true)));
                }
                if matches!(e, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                }
            }
        };
        if paren {
            w.push("(");
        }
        for (n, part) in parts.iter().enumerate() {
            if n > 0 {
                w.push(op);
            }
            part(w);
        }
        if paren {
            w.push(")");
        }
    }

    /// Binds the value starting granule `i`, in the terms of column `c`.
    fn bound(&self, w: &mut SqlWriter, c: usize, i: i64) {
        let t = self.scale.naive(i);
        let sqlite = w.dialect().dates_are_text();
        let value: Value = match self.storage {
            DateStorage::Text { format } => t.format(format).to_string().into(),
            DateStorage::Date if sqlite => t.format("%Y-%m-%d").to_string().into(),
            DateStorage::Timestamp | DateStorage::TimestampTz if sqlite => {
                t.format("%Y-%m-%d %H:%M:%S").to_string().into()
            }
            DateStorage::Date => t.date().into(),
            DateStorage::Timestamp => t.into(),
            DateStorage::TimestampTz => t.and_utc().into(),
        };
        w.param_for(self.infos[c], value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, UTC};

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
    }

    fn range(v: &str, tz: Tz) -> (NaiveDateTime, NaiveDateTime) {
        let s = parse(v, tz).unwrap();
        (s.start, s.end)
    }

    fn err(v: &str) -> String {
        parse(v, UTC).unwrap_err().to_string()
    }

    #[test]
    fn every_precision_is_a_range() {
        let y = range("2020", UTC);
        assert_eq!(y, (dt("2020-01-01T00:00:00"), dt("2021-01-01T00:00:00")));
        let m = range("2020-12", UTC);
        assert_eq!(m, (dt("2020-12-01T00:00:00"), dt("2021-01-01T00:00:00")));
        let d = range("2020-02-29", UTC);
        assert_eq!(d, (dt("2020-02-29T00:00:00"), dt("2020-03-01T00:00:00")));
        let mi = range("2020-01-02T10:00Z", UTC);
        assert_eq!(mi, (dt("2020-01-02T10:00:00"), dt("2020-01-02T10:01:00")));
        let s = range("2020-01-02T10:00:05+01:00", UTC);
        assert_eq!(s, (dt("2020-01-02T09:00:05"), dt("2020-01-02T09:00:06")));
        let f = range("2020-01-02T10:00:05.25-05:30", UTC);
        assert_eq!(
            f,
            (dt("2020-01-02T15:30:05.25"), dt("2020-01-02T15:30:05.26"))
        );
        let n = range("2020-01-02T10:00:05.123456789Z", UTC);
        assert_eq!(n.1 - n.0, TimeDelta::nanoseconds(1));
    }

    #[test]
    fn dates_and_zoneless_times_are_read_in_the_server_zone() {
        let y = range("2020", New_York);
        assert_eq!(y, (dt("2020-01-01T05:00:00"), dt("2021-01-01T05:00:00")));
        // Clocks go forward: a 23-hour day; back: a 25-hour day.
        let spring = range("2020-03-08", New_York);
        assert_eq!(
            spring,
            (dt("2020-03-08T05:00:00"), dt("2020-03-09T04:00:00"))
        );
        let fall = range("2020-11-01", New_York);
        assert_eq!(fall, (dt("2020-11-01T04:00:00"), dt("2020-11-02T05:00:00")));
        let t = range("2020-07-01T10:00", New_York);
        assert_eq!(t, (dt("2020-07-01T14:00:00"), dt("2020-07-01T14:01:00")));
        // An ambiguous time is its first occurrence (EDT).
        let amb = range("2020-11-01T01:30:00", New_York);
        assert_eq!(amb, (dt("2020-11-01T05:30:00"), dt("2020-11-01T05:30:01")));
        // A skipped time is the moment of the change: an empty range.
        let gap = range("2020-03-08T02:30", New_York);
        assert_eq!(gap, (dt("2020-03-08T07:00:00"), dt("2020-03-08T07:00:00")));
        // An explicit zone wins.
        let z = range("2020-07-01T10:00Z", New_York);
        assert_eq!(z.0, dt("2020-07-01T10:00:00"));
    }

    #[test]
    fn local_times_map_to_their_earliest_instant() {
        let ny = |s: &str| local_to_utc(dt(s), New_York);
        assert_eq!(ny("2020-01-01T00:00:00"), dt("2020-01-01T05:00:00"));
        assert_eq!(ny("2020-03-08T02:00:00"), dt("2020-03-08T07:00:00"));
        assert_eq!(ny("2020-03-08T02:59:59"), dt("2020-03-08T07:00:00"));
        assert_eq!(ny("2020-03-08T03:00:00"), dt("2020-03-08T07:00:00"));
        assert_eq!(ny("2020-11-01T01:00:00"), dt("2020-11-01T05:00:00"));
        // Samoa skipped 2011-12-30 entirely.
        let apia = |s: &str| local_to_utc(dt(s), chrono_tz::Pacific::Apia);
        assert_eq!(apia("2011-12-30T00:00:00"), apia("2011-12-31T00:00:00"));
        assert_eq!(apia("2011-12-31T00:00:00"), dt("2011-12-30T10:00:00"));
    }

    #[test]
    fn prefixes_and_normalized_text() {
        let s = parse("ge2020-01", UTC).unwrap();
        assert_eq!((s.prefix, s.text.as_str()), (Prefix::Ge, "ge2020-01"));
        let s = parse("eq2020", UTC).unwrap();
        assert_eq!((s.prefix, s.text.as_str()), (Prefix::Eq, "2020"));
        let s = parse("2020-01-02T10:00:00 01:00", UTC).unwrap();
        assert_eq!(s.text, "2020-01-02T10:00:00+01:00");
        assert_eq!(s.start, dt("2020-01-02T09:00:00"));
        for p in Prefix::ALL {
            let s = parse(&format!("{p}2020"), UTC).unwrap();
            assert_eq!(s.prefix, p);
        }
        assert_eq!(
            parse("sa2020-01-01T00:00:00Z", UTC).unwrap().tolerance,
            TimeDelta::zero()
        );
    }

    #[test]
    fn invalid_values_say_what_is_wrong() {
        assert_eq!(err("2020-13"), "'2020-13' is not a valid date: month 13");
        assert_eq!(err("2020-00"), "'2020-00' is not a valid date: month 0");
        assert_eq!(
            err("2020-02-30"),
            "'2020-02-30' is not a valid date: 2020-02 has no day 30"
        );
        assert_eq!(
            err("2019-02-29"),
            "'2019-02-29' is not a valid date: 2019-02 has no day 29"
        );
        assert_eq!(
            err("20200101"),
            "'20200101' is not a valid date: expected YYYY-MM-DD, with dashes"
        );
        assert_eq!(err(""), "'' is not a valid date: the value is empty");
        assert_eq!(err("ge2020-13"), "'2020-13' is not a valid date: month 13");
        assert_eq!(
            err("0000"),
            "'0000' is not a valid date: there is no year 0000"
        );
        assert_eq!(
            err("2020-01-02T24:00Z"),
            "'2020-01-02T24:00Z' is not a valid date: hour 24"
        );
        assert_eq!(
            err("2020-01-02T10:60Z"),
            "'2020-01-02T10:60Z' is not a valid date: minute 60"
        );
        assert_eq!(
            err("2020-01-02T10:00+14:30"),
            "'2020-01-02T10:00+14:30' is not a valid date: time zone offset 14:30"
        );
        assert!(err("2020-01-02T10:00:60Z").contains("leap seconds"));
        for bad in [
            "garbage",
            "ge",
            "20",
            "2020-1",
            "2020-01-2",
            "2020-01-02T",
            "2020-01-02T10",
            "2020-01-02Z",
            "2020-01-02 10:00",
            "2020-01-02T10:00:00.Z",
            "2020-01-02T10:00:0",
            "2020-01-02T10:00+0100",
            "2020-01-02T10:00+01",
            "2020-01-02T10:00Zulu",
            "2020/01/02",
            "-2020",
            "2020-01-02T10:00:00.1234567890Z",
            "２０２０",
        ] {
            let e = parse(bad, UTC).unwrap_err();
            assert!(matches!(e, DateError::Invalid { .. }), "{bad}: {e}");
        }
        assert!(err("garbage").contains("expected YYYY, YYYY-MM, YYYY-MM-DD"));
    }

    #[test]
    fn ap_tolerance_is_a_tenth_of_the_distance_from_now_and_at_least_a_day() {
        let now = dt("2030-01-01T00:00:00");
        let s = parse_at("ap2020", UTC, now).unwrap();
        assert_eq!(s.tolerance, (now - dt("2021-01-01T00:00:00")) / 10);
        let s = parse_at("ap2040-01-01", UTC, now).unwrap();
        assert_eq!(s.tolerance, (dt("2040-01-01T00:00:00") - now) / 10);
        let s = parse_at("ap2030-01", UTC, now).unwrap();
        assert_eq!(s.tolerance, TimeDelta::days(1));
        assert_eq!(
            s.approx_range(),
            (dt("2029-12-31T00:00:00"), dt("2030-02-02T00:00:00"))
        );
        // In the oracle: a day just outside the widened range does not match.
        let s = parse_at("ap2029-12-01", UTC, now).unwrap(); // 30 days away → 3 days
        assert_eq!(s.tolerance, TimeDelta::days(3));
        let day = |d: &str| {
            let t = dt(&format!("{d}T00:00:00"));
            (Some(t), Some(t + TimeDelta::days(1)))
        };
        for (d, m) in [
            ("2029-11-27", false),
            ("2029-11-28", true),
            ("2029-12-04", true),
            ("2029-12-05", false),
        ] {
            let (a, b) = day(d);
            assert_eq!(matches(a, b, &s), m, "{d}");
        }
    }

    #[test]
    fn the_oracle_follows_the_spec_table() {
        let s = |v: &str| parse(v, UTC).unwrap();
        let r = |a: &str, b: &str| (Some(dt(a)), Some(dt(b)));
        // Target: the day 2020-01-15; searches around it.
        let (a, b) = r("2020-01-15T00:00:00", "2020-01-16T00:00:00");
        let cases = [
            ("2020-01", true),
            ("2020-01-15", true),
            ("2020-01-15T10:00Z", false),
            ("ne2020-01-15T10:00Z", true),
            ("gt2020-01-15T10:00Z", true),
            ("lt2020-01-15T10:00Z", true),
            ("ge2020-01-15T10:00Z", true),
            ("le2020-01-15T10:00Z", true),
            ("gt2020-01-15", false),
            ("ge2020-01-15", true),
            ("lt2020-01-15", false),
            ("le2020-01-15", true),
            ("gt2020-01-14", true),
            ("lt2020-01-16", true),
            ("sa2020-01-14", true),
            ("sa2020-01-15", false),
            ("eb2020-01-16", true),
            ("eb2020-01-15", false),
            ("ne2020-01", false),
        ];
        for (v, m) in cases {
            assert_eq!(matches(a, b, &s(v)), m, "{v}");
        }
        // Open periods.
        assert!(matches(None, Some(dt("2020-01-01T00:00:00")), &s("lt2019")));
        assert!(!matches(None, Some(dt("2020-01-01T00:00:00")), &s("2019")));
        assert!(matches(Some(dt("2020-01-01T00:00:00")), None, &s("gt2030")));
        assert!(!matches(None, None, &s("ne2020")));
    }
}

#[cfg(test)]
mod sql_tests {
    use super::*;
    use crate::sql::Dialect;
    use chrono_tz::{America::New_York, UTC};

    /// The predicate's SQL, then its parameters.
    pub(super) fn render(d: Dialect, target: &DateTarget, search: &DateSearch, tz: Tz) -> String {
        let mut w = SqlWriter::new(d);
        write_predicate(&mut w, target, search, tz).unwrap();
        let st = w.finish();
        let params: Vec<String> = st
            .params
            .iter()
            .map(|v| match v {
                Value::String(Some(s)) => format!("'{s}'"),
                Value::ChronoDate(Some(d)) => format!("DATE {d}"),
                Value::ChronoDateTime(Some(t)) => format!("TS {t}"),
                Value::ChronoDateTimeUtc(Some(t)) => format!("TSTZ {}", t.naive_utc()),
                other => format!("{other:?}"),
            })
            .collect();
        format!("{} | {}", st.sql, params.join(", "))
            .trim_end()
            .to_string()
    }

    fn single(storage: DateStorage) -> DateTarget {
        DateTarget {
            start: "P.\"D\"".into(),
            end: None,
            start_column: None,
            end_column: None,
            storage,
        }
    }

    fn period(storage: DateStorage) -> DateTarget {
        DateTarget {
            start: "E.s".into(),
            end: Some("E.e".into()),
            start_column: None,
            end_column: None,
            storage,
        }
    }

    /// One line per storage × dialect × search value.
    fn snapshot() -> String {
        let now = NaiveDate::from_ymd_opt(2030, 1, 1)
            .unwrap()
            .and_time(Default::default());
        let mut out = String::new();
        let cases: [(&str, DateTarget, &[&str]); 7] = [
            (
                "date",
                single(DateStorage::Date),
                &[
                    "2020-01-02",
                    "ne2020-01-02",
                    "lt2020-01-02",
                    "ge2020-01-02",
                    "sa2020-01-02",
                    "eb2020-01-02",
                    "ap2029-12",
                    "2020-01-02T10:00Z",
                    "gt2020-01-02T10:00Z",
                    "le2020-01-02T10:00Z",
                    "lt0001",
                    "ge9999",
                ],
            ),
            (
                "ts",
                single(DateStorage::Timestamp),
                &[
                    "2020-01-02",
                    "ne2020",
                    "gt2020-01-02T10:00Z",
                    "le2020-01-02T10:00:00.5Z",
                    "2020-03-08T02:30",
                ],
            ),
            (
                "tstz",
                single(DateStorage::TimestampTz),
                &["2020-01-02", "lt2020-01-02T10:00"],
            ),
            (
                "ymd",
                single(DateStorage::Text {
                    format: "%Y%m%d".into(),
                }),
                &["2020-01", "ne2020-01-02", "le2020-01-02"],
            ),
            (
                "ym",
                single(DateStorage::Text {
                    format: "%Y%m".into(),
                }),
                &["2020-01-02", "2020"],
            ),
            (
                "period-date",
                period(DateStorage::Date),
                &["2020-01", "ne2020-01", "ge2020-01"],
            ),
            (
                "period-ymd",
                period(DateStorage::Text {
                    format: "%Y%m%d".into(),
                }),
                &["lt2020"],
            ),
        ];
        for (name, target, values) in cases {
            for d in Dialect::ALL {
                for v in values {
                    let s = parse_at(v, New_York, now).unwrap();
                    let line = render(d, &target, &s, New_York);
                    out.push_str(&format!("{name} {} {v}: {line}\n", d.key()));
                }
            }
        }
        out
    }

    #[test]
    fn unsortable_text_formats_are_refused() {
        let target = single(DateStorage::Text {
            format: "%m/%d/%Y".into(),
        });
        let mut w = SqlWriter::new(Dialect::Sqlite);
        let e = write_predicate(&mut w, &target, &parse("2020", UTC).unwrap(), UTC).unwrap_err();
        assert_eq!(e, DateError::UnsortableFormat("%m/%d/%Y".into()));
        assert!(e.to_string().contains("'%m/%d/%Y' cannot be searched"));
    }

    #[test]
    fn text_bounds_of_a_char_column_are_bpchar_on_postgres() {
        let char8 = ColumnInfo {
            type_name: "CHAR".into(),
            sql_type: SqlType::Text,
            pad_to: Some(8),
            as_text: false,
        };
        let mut target = period(DateStorage::Text {
            format: "%Y%m%d".into(),
        });
        // Only the start is a CHAR column: each bound is bound as its own column compares it.
        target.start_column = Some(char8);
        let search = parse("ge2020-01-02", UTC).unwrap();
        let params = "'00010101', '00010101', '20200102', '00010101', '20200103'";
        assert_eq!(
            render(Dialect::Postgres, &target, &search, UTC),
            format!(
                "((E.s >= CAST($1 AS bpchar) OR E.e >= $2) AND (E.s >= CAST($3 AS bpchar) \
                 OR (E.e IS NULL OR E.e < $4 OR E.e >= $5))) | {params}"
            )
        );
        assert_eq!(
            render(Dialect::Sqlite, &target, &search, UTC),
            format!(
                "((E.s >= ? OR E.e >= ?) AND (E.s >= ? OR (E.e IS NULL OR E.e < ? OR E.e >= ?))) \
                 | {params}"
            )
        );
    }

    #[test]
    fn predicates_for_every_storage_and_dialect() {
        let got = snapshot();
        let want = SNAPSHOT;
        let want: Vec<&str> = want.lines().filter(|l| !l.is_empty()).collect();
        for (g, w) in got.lines().zip(want.iter().copied()) {
            assert_eq!(g, w);
        }
        assert_eq!(got.lines().count(), want.len());
    }

    #[test]
    fn print_snapshot() {
        if std::env::var("PRINT_DATE_SNAPSHOT").is_ok() {
            print!("{}", snapshot());
        }
        let _ = UTC;
    }

    const SNAPSHOT: &str = r#"
date sqlite 2020-01-02: (P."D" >= ? AND P."D" < ?) | '2020-01-02', '2020-01-03'
date sqlite ne2020-01-02: ((P."D" >= ? AND P."D" < ?) OR P."D" >= ?) | '0001-01-01', '2020-01-02', '2020-01-03'
date sqlite lt2020-01-02: (P."D" >= ? AND P."D" < ?) | '0001-01-01', '2020-01-02'
date sqlite ge2020-01-02: P."D" >= ? | '2020-01-02'
date sqlite sa2020-01-02: P."D" >= ? | '2020-01-03'
date sqlite eb2020-01-02: (P."D" >= ? AND P."D" < ?) | '0001-01-01', '2020-01-02'
date sqlite ap2029-12: (P."D" >= ? AND P."D" < ?) | '2029-11-30', '2030-01-02'
date sqlite 2020-01-02T10:00Z: 1 = 0 |
date sqlite gt2020-01-02T10:00Z: P."D" >= ? | '2020-01-02'
date sqlite le2020-01-02T10:00Z: (P."D" >= ? AND P."D" < ?) | '0001-01-01', '2020-01-03'
date sqlite lt0001: 1 = 0 |
date sqlite ge9999: P."D" >= ? | '9999-01-01'
date postgres 2020-01-02: (P."D" >= $1 AND P."D" < $2) | DATE 2020-01-02, DATE 2020-01-03
date postgres ne2020-01-02: (P."D" < $1 OR P."D" >= $2) | DATE 2020-01-02, DATE 2020-01-03
date postgres lt2020-01-02: P."D" < $1 | DATE 2020-01-02
date postgres ge2020-01-02: P."D" >= $1 | DATE 2020-01-02
date postgres sa2020-01-02: P."D" >= $1 | DATE 2020-01-03
date postgres eb2020-01-02: P."D" < $1 | DATE 2020-01-02
date postgres ap2029-12: (P."D" >= $1 AND P."D" < $2) | DATE 2029-11-30, DATE 2030-01-02
date postgres 2020-01-02T10:00Z: 1 = 0 |
date postgres gt2020-01-02T10:00Z: P."D" >= $1 | DATE 2020-01-02
date postgres le2020-01-02T10:00Z: P."D" < $1 | DATE 2020-01-03
date postgres lt0001: 1 = 0 |
date postgres ge9999: P."D" >= $1 | DATE 9999-01-01
date mysql 2020-01-02: (P."D" >= ? AND P."D" < ?) | DATE 2020-01-02, DATE 2020-01-03
date mysql ne2020-01-02: (P."D" < ? OR P."D" >= ?) | DATE 2020-01-02, DATE 2020-01-03
date mysql lt2020-01-02: P."D" < ? | DATE 2020-01-02
date mysql ge2020-01-02: P."D" >= ? | DATE 2020-01-02
date mysql sa2020-01-02: P."D" >= ? | DATE 2020-01-03
date mysql eb2020-01-02: P."D" < ? | DATE 2020-01-02
date mysql ap2029-12: (P."D" >= ? AND P."D" < ?) | DATE 2029-11-30, DATE 2030-01-02
date mysql 2020-01-02T10:00Z: 1 = 0 |
date mysql gt2020-01-02T10:00Z: P."D" >= ? | DATE 2020-01-02
date mysql le2020-01-02T10:00Z: P."D" < ? | DATE 2020-01-03
date mysql lt0001: 1 = 0 |
date mysql ge9999: P."D" >= ? | DATE 9999-01-01
ts sqlite 2020-01-02: (P."D" >= ? AND P."D" < ?) | '2020-01-02 00:00:00', '2020-01-03 00:00:00'
ts sqlite ne2020: ((P."D" >= ? AND P."D" < ?) OR P."D" >= ?) | '0001-01-01 00:00:00', '2020-01-01 00:00:00', '2021-01-01 00:00:00'
ts sqlite gt2020-01-02T10:00Z: P."D" >= ? | '2020-01-02 05:01:00'
ts sqlite le2020-01-02T10:00:00.5Z: (P."D" >= ? AND P."D" < ?) | '0001-01-01 00:00:00', '2020-01-02 05:00:01'
ts sqlite 2020-03-08T02:30: (P."D" >= ? AND P."D" < ?) | '2020-03-08 02:00:00', '2020-03-08 03:00:00'
ts postgres 2020-01-02: (P."D" >= $1 AND P."D" < $2) | TS 2020-01-02 00:00:00, TS 2020-01-03 00:00:00
ts postgres ne2020: (P."D" < $1 OR P."D" >= $2) | TS 2020-01-01 00:00:00, TS 2021-01-01 00:00:00
ts postgres gt2020-01-02T10:00Z: P."D" >= $1 | TS 2020-01-02 05:01:00
ts postgres le2020-01-02T10:00:00.5Z: P."D" < $1 | TS 2020-01-02 05:00:01
ts postgres 2020-03-08T02:30: (P."D" >= $1 AND P."D" < $2) | TS 2020-03-08 02:00:00, TS 2020-03-08 03:00:00
ts mysql 2020-01-02: (P."D" >= ? AND P."D" < ?) | TS 2020-01-02 00:00:00, TS 2020-01-03 00:00:00
ts mysql ne2020: (P."D" < ? OR P."D" >= ?) | TS 2020-01-01 00:00:00, TS 2021-01-01 00:00:00
ts mysql gt2020-01-02T10:00Z: P."D" >= ? | TS 2020-01-02 05:01:00
ts mysql le2020-01-02T10:00:00.5Z: P."D" < ? | TS 2020-01-02 05:00:01
ts mysql 2020-03-08T02:30: (P."D" >= ? AND P."D" < ?) | TS 2020-03-08 02:00:00, TS 2020-03-08 03:00:00
tstz sqlite 2020-01-02: (P."D" >= ? AND P."D" < ?) | '2020-01-02 05:00:00', '2020-01-03 05:00:00'
tstz sqlite lt2020-01-02T10:00: (P."D" >= ? AND P."D" < ?) | '0001-01-01 00:00:00', '2020-01-02 15:00:00'
tstz postgres 2020-01-02: (P."D" >= $1 AND P."D" < $2) | TSTZ 2020-01-02 05:00:00, TSTZ 2020-01-03 05:00:00
tstz postgres lt2020-01-02T10:00: P."D" < $1 | TSTZ 2020-01-02 15:00:00
tstz mysql 2020-01-02: (P."D" >= ? AND P."D" < ?) | TSTZ 2020-01-02 05:00:00, TSTZ 2020-01-03 05:00:00
tstz mysql lt2020-01-02T10:00: P."D" < ? | TSTZ 2020-01-02 15:00:00
ymd sqlite 2020-01: (P."D" >= ? AND P."D" < ?) | '20200101', '20200201'
ymd sqlite ne2020-01-02: ((P."D" >= ? AND P."D" < ?) OR P."D" >= ?) | '00010101', '20200102', '20200103'
ymd sqlite le2020-01-02: (P."D" >= ? AND P."D" < ?) | '00010101', '20200103'
ymd postgres 2020-01: (P."D" >= $1 AND P."D" < $2) | '20200101', '20200201'
ymd postgres ne2020-01-02: ((P."D" >= $1 AND P."D" < $2) OR P."D" >= $3) | '00010101', '20200102', '20200103'
ymd postgres le2020-01-02: (P."D" >= $1 AND P."D" < $2) | '00010101', '20200103'
ymd mysql 2020-01: (P."D" >= ? AND P."D" < ?) | '20200101', '20200201'
ymd mysql ne2020-01-02: ((P."D" >= ? AND P."D" < ?) OR P."D" >= ?) | '00010101', '20200102', '20200103'
ymd mysql le2020-01-02: (P."D" >= ? AND P."D" < ?) | '00010101', '20200103'
ym sqlite 2020-01-02: 1 = 0 |
ym sqlite 2020: (P."D" >= ? AND P."D" < ?) | '202001', '202101'
ym postgres 2020-01-02: 1 = 0 |
ym postgres 2020: (P."D" >= $1 AND P."D" < $2) | '202001', '202101'
ym mysql 2020-01-02: 1 = 0 |
ym mysql 2020: (P."D" >= ? AND P."D" < ?) | '202001', '202101'
period-date sqlite 2020-01: (E.s >= ? AND (E.e >= ? AND E.e < ?)) | '2020-01-01', '0001-01-01', '2020-02-01'
period-date sqlite ne2020-01: ((E.s >= ? OR E.e >= ?) AND ((E.s IS NULL OR E.s < ?) OR (E.e IS NULL OR E.e < ? OR E.e >= ?))) | '0001-01-01', '0001-01-01', '2020-01-01', '0001-01-01', '2020-02-01'
period-date sqlite ge2020-01: ((E.s >= ? OR E.e >= ?) AND (E.s >= ? OR (E.e IS NULL OR E.e < ? OR E.e >= ?))) | '0001-01-01', '0001-01-01', '2020-01-01', '0001-01-01', '2020-02-01'
period-date postgres 2020-01: (E.s >= $1 AND E.e < $2) | DATE 2020-01-01, DATE 2020-02-01
period-date postgres ne2020-01: ((E.s IS NOT NULL OR E.e IS NOT NULL) AND ((E.s IS NULL OR E.s < $1) OR (E.e IS NULL OR E.e >= $2))) | DATE 2020-01-01, DATE 2020-02-01
period-date postgres ge2020-01: ((E.s IS NOT NULL OR E.e IS NOT NULL) AND (E.s >= $1 OR (E.e IS NULL OR E.e >= $2))) | DATE 2020-01-01, DATE 2020-02-01
period-date mysql 2020-01: (E.s >= ? AND E.e < ?) | DATE 2020-01-01, DATE 2020-02-01
period-date mysql ne2020-01: ((E.s IS NOT NULL OR E.e IS NOT NULL) AND ((E.s IS NULL OR E.s < ?) OR (E.e IS NULL OR E.e >= ?))) | DATE 2020-01-01, DATE 2020-02-01
period-date mysql ge2020-01: ((E.s IS NOT NULL OR E.e IS NOT NULL) AND (E.s >= ? OR (E.e IS NULL OR E.e >= ?))) | DATE 2020-01-01, DATE 2020-02-01
period-ymd sqlite lt2020: ((E.s >= ? OR E.e >= ?) AND (E.s IS NULL OR E.s < ?)) | '00010101', '00010101', '20200101'
period-ymd postgres lt2020: ((E.s >= $1 OR E.e >= $2) AND (E.s IS NULL OR E.s < $3)) | '00010101', '00010101', '20200101'
period-ymd mysql lt2020: ((E.s >= ? OR E.e >= ?) AND (E.s IS NULL OR E.s < ?)) | '00010101', '00010101', '20200101'
"#;
}
