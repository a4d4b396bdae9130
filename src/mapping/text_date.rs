//! Dates stored as text in a strftime format (`format = "%Y%m%d"`): which formats sort like the
//! dates they hold (so they can be compared as text, with an index), and the precision they
//! hold. Pure.

/// The granule of a stored date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A fixed number of seconds (1, 60, 3600).
    Seconds(i64),
    /// A calendar day.
    Day,
    /// A calendar month.
    Month,
    /// A calendar year.
    Year,
}

/// Whether a text date `format` sorts like the dates it holds, so it can be compared as text:
/// year, then optionally month, day, hour, minute and second, in that order, each at most once
/// and zero-padded (`%Y %m %d %H %M %S`, or `%F` / `%T`), with any literal text between.
pub fn sortable(format: &str) -> bool {
    unit(format).is_some()
}

/// The precision of a sortable text format (`None`: the format is not sortable).
pub fn unit(format: &str) -> Option<Unit> {
    const ORDER: [char; 6] = ['Y', 'm', 'd', 'H', 'M', 'S'];
    let mut seen = 0; // fields so far, in ORDER
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        let spec = chars.next()?;
        let fields: &[char] = match spec {
            '%' => continue,
            'F' => &['Y', 'm', 'd'],
            'T' => &['H', 'M', 'S'],
            c if ORDER.contains(&c) => &[c][..],
            _ => return None,
        };
        for f in fields {
            if ORDER.get(seen) != Some(f) {
                return None;
            }
            seen += 1;
        }
    }
    Some(match seen {
        1 => Unit::Year,
        2 => Unit::Month,
        3 => Unit::Day,
        4 => Unit::Seconds(3600),
        5 => Unit::Seconds(60),
        6 => Unit::Seconds(1),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_formats() {
        for f in [
            "%Y",
            "%Y%m",
            "%Y%m%d",
            "%Y-%m-%d",
            "%F",
            "%Y%m%d%H%M%S",
            "%F %T",
            "%Y-%m-%dT%H:%M",
            "%Y%m%d%H",
            "D%Y/%m/%d%%",
        ] {
            assert!(sortable(f), "{f}");
        }
        for f in [
            "%m/%d/%Y",
            "%d.%m.%Y",
            "%y%m%d",
            "%Y%d",
            "%Y%m%d%M",
            "%Y%j",
            "%Y%-m%-d",
            "%e",
            "%Y%m%d%H%M%S%.f",
            "",
            "literal",
            "%Y%Y",
            "%H%M%S",
            "%Y%m%",
            "%Y%m%d %I%M%S",
        ] {
            assert!(!sortable(f), "{f}");
        }
    }
}
