//! The FHIR logical id.

use std::fmt;

use super::RequestError;

/// A valid FHIR logical id: 1-64 of `[A-Za-z0-9\-\.]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FhirId(String);

impl FhirId {
    /// Parses an id from a URL segment.
    pub fn parse(s: &str) -> Result<FhirId, RequestError> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if ok {
            Ok(FhirId(s.to_string()))
        } else {
            Err(RequestError::MalformedId(s.chars().take(80).collect()))
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FhirId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_fhir_pattern() {
        assert!(FhirId::parse("lab-123.4").is_ok());
        assert!(FhirId::parse(&"a".repeat(64)).is_ok());
        for bad in ["", "a b", "a_b", "x/y", "é", &"a".repeat(65)] {
            assert!(FhirId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
