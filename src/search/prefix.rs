//! The comparison prefixes of number, date and quantity searches (`eq`, `ne`, `gt`, `lt`,
//! `ge`, `le`, `sa`, `eb`, `ap`).

use std::fmt;

/// A search prefix. Absent means `eq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// Equal: the search range contains the value's range.
    Eq,
    /// Not equal.
    Ne,
    /// Greater than.
    Gt,
    /// Less than.
    Lt,
    /// Greater or equal.
    Ge,
    /// Less or equal.
    Le,
    /// Starts after.
    Sa,
    /// Ends before.
    Eb,
    /// Approximately.
    Ap,
}

impl Prefix {
    /// All prefixes.
    pub const ALL: [Prefix; 9] = [
        Prefix::Eq,
        Prefix::Ne,
        Prefix::Gt,
        Prefix::Lt,
        Prefix::Ge,
        Prefix::Le,
        Prefix::Sa,
        Prefix::Eb,
        Prefix::Ap,
    ];

    /// The two-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Prefix::Eq => "eq",
            Prefix::Ne => "ne",
            Prefix::Gt => "gt",
            Prefix::Lt => "lt",
            Prefix::Ge => "ge",
            Prefix::Le => "le",
            Prefix::Sa => "sa",
            Prefix::Eb => "eb",
            Prefix::Ap => "ap",
        }
    }

    /// Splits a leading prefix off `value` (`"ge2020"` → `(Ge, "2020")`; no prefix → `Eq`).
    /// Only a two-letter prefix followed by something that can start a value (a digit, or `-`
    /// for numbers) counts, so a value is never mistaken for a prefix.
    pub fn split(value: &str) -> (Prefix, &str) {
        if value.len() > 2 && value.is_char_boundary(2) {
            let (head, rest) = value.split_at(2);
            if let Some(p) = Prefix::ALL.iter().find(|p| p.code() == head)
                && rest.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
            {
                return (*p, rest);
            }
        }
        (Prefix::Eq, value)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_split_off_values() {
        assert_eq!(Prefix::split("ge2020-01"), (Prefix::Ge, "2020-01"));
        assert_eq!(Prefix::split("2020"), (Prefix::Eq, "2020"));
        assert_eq!(Prefix::split("ap5.4"), (Prefix::Ap, "5.4"));
        assert_eq!(Prefix::split("lt-3"), (Prefix::Lt, "-3"));
        assert_eq!(Prefix::split("eq"), (Prefix::Eq, "eq"));
        assert_eq!(Prefix::split("gtx"), (Prefix::Eq, "gtx"));
        assert_eq!(Prefix::split("é5"), (Prefix::Eq, "é5"));
    }
}
