//! How unknown and unsupported parameters are handled (FHIR R4 search §3.1.1.4): ignored and
//! reported (lenient), or refused (strict). The client chooses with `Prefer: handling=...`;
//! the server's configured default applies otherwise. Pure.

use std::fmt;
use std::str::FromStr;

/// The handling of unknown and unsupported parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Handling {
    /// Ignore them, leave them out of the links and report them in the Bundle (the
    /// specification's default).
    #[default]
    Lenient,
    /// Refuse the request with a 400 naming them.
    Strict,
}

impl Handling {
    /// Whether unknown parameters are ignored.
    pub fn is_lenient(self) -> bool {
        self == Handling::Lenient
    }

    /// The handling `Prefer` header values ask for, if any: the first `handling=` preference
    /// (RFC 7240: a repeated preference counts once, the first time) of a known value.
    pub fn from_prefer<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Handling> {
        values
            .into_iter()
            .flat_map(|v| v.split([',', ';']))
            .filter_map(|p| p.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("handling"))
            .and_then(|(_, value)| value.trim().trim_matches('"').parse().ok())
    }

    /// The handling of a request that asks for `preferred`, `default` when it does not say.
    pub fn or_default(preferred: Option<Handling>, default: Handling) -> Handling {
        preferred.unwrap_or(default)
    }

    /// `lenient` or `strict`.
    pub fn as_str(self) -> &'static str {
        match self {
            Handling::Lenient => "lenient",
            Handling::Strict => "strict",
        }
    }
}

impl FromStr for Handling {
    type Err = String;

    fn from_str(s: &str) -> Result<Handling, String> {
        if s.eq_ignore_ascii_case("lenient") {
            Ok(Handling::Lenient)
        } else if s.eq_ignore_ascii_case("strict") {
            Ok(Handling::Strict)
        } else {
            Err(format!("handling is lenient or strict, not '{s}'"))
        }
    }
}

impl fmt::Display for Handling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_header_values() {
        let p = |v: &[&str]| Handling::from_prefer(v.iter().copied());
        assert_eq!(p(&[]), None);
        assert_eq!(p(&["return=minimal"]), None);
        assert_eq!(p(&["handling=strict"]), Some(Handling::Strict));
        assert_eq!(p(&["HANDLING = Lenient"]), Some(Handling::Lenient));
        assert_eq!(
            p(&["return=representation; handling=\"strict\""]),
            Some(Handling::Strict)
        );
        assert_eq!(
            p(&["respond-async", "handling=strict, handling=lenient"]),
            Some(Handling::Strict)
        );
        // An unknown value is no preference.
        assert_eq!(p(&["handling=maybe"]), None);
        assert_eq!(
            Handling::or_default(None, Handling::Strict),
            Handling::Strict
        );
        assert_eq!(
            Handling::or_default(Some(Handling::Lenient), Handling::Strict),
            Handling::Lenient
        );
        assert_eq!("Strict".parse::<Handling>(), Ok(Handling::Strict));
        assert!("loose".parse::<Handling>().is_err());
    }
}
