//! Admission limits: how much one request may ask, checked while it is parsed, before anything
//! is planned or sent to the database. Pure.
//!
//! Every limit is configurable (see `src/config.rs`) with a default that no ordinary FHIR client
//! reaches; a request over one is refused with [`RequestError::LimitExceeded`], which names the
//! limit and its value. The byte sizes (URL, body, headers) are measured by the HTTP layer and
//! checked here too, so every limit answers the same way.

use super::RequestError;
use crate::search::escape::split;

/// One admission limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Parameters in one request (query string and form body together).
    Params,
    /// Values of one parameter (its comma-separated OR list).
    ValuesPerParam,
    /// Values of all parameters together.
    TotalValues,
    /// Resources crossed by all chains and `_has` of one request together.
    Hops,
    /// `_sort` keys.
    SortKeys,
    /// `_include` and `_revinclude` parameters.
    Includes,
    /// Bytes of the request target (path and query string).
    UrlBytes,
    /// Bytes of a request body.
    BodyBytes,
    /// Bytes of all request headers together.
    HeaderBytes,
}

impl Limit {
    /// What is counted, for messages.
    pub fn what(self) -> &'static str {
        match self {
            Limit::Params => "parameters",
            Limit::ValuesPerParam => "values of one parameter",
            Limit::TotalValues => "parameter values in all",
            Limit::Hops => "resources crossed by chains and _has",
            Limit::SortKeys => "_sort keys",
            Limit::Includes => "_include and _revinclude parameters",
            Limit::UrlBytes => "bytes of URL",
            Limit::BodyBytes => "bytes of body",
            Limit::HeaderBytes => "bytes of headers",
        }
    }
}

/// The admission limits of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Most parameters in one request.
    pub max_params: usize,
    /// Most values (OR list) of one parameter.
    pub max_values_per_param: usize,
    /// Most values of all parameters together.
    pub max_total_values: usize,
    /// Most resources crossed by all chains and `_has` of a request together.
    pub max_hops: usize,
    /// Most `_sort` keys.
    pub max_sort_keys: usize,
    /// Most `_include`/`_revinclude` parameters.
    pub max_includes: usize,
    /// Longest request target (path and query), in bytes.
    pub max_url_bytes: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest request head (all headers), in bytes.
    pub max_header_bytes: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_params: 100,
            max_values_per_param: 100,
            max_total_values: 300,
            max_hops: 8,
            max_sort_keys: 8,
            max_includes: 16,
            max_url_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            max_header_bytes: 32 * 1024,
        }
    }
}

impl RequestLimits {
    /// The configured value of `limit`.
    pub fn max(&self, limit: Limit) -> usize {
        match limit {
            Limit::Params => self.max_params,
            Limit::ValuesPerParam => self.max_values_per_param,
            Limit::TotalValues => self.max_total_values,
            Limit::Hops => self.max_hops,
            Limit::SortKeys => self.max_sort_keys,
            Limit::Includes => self.max_includes,
            Limit::UrlBytes => self.max_url_bytes,
            Limit::BodyBytes => self.max_body_bytes,
            Limit::HeaderBytes => self.max_header_bytes,
        }
    }

    /// Refuses `found` of `limit` when it is over the limit.
    pub fn check(&self, limit: Limit, found: usize) -> Result<(), RequestError> {
        let max = self.max(limit);
        if found > max {
            return Err(RequestError::LimitExceeded {
                limit,
                max,
                found: Some(found),
                param: None,
            });
        }
        Ok(())
    }

    /// Checks parameters as sent (name, raw value): how many there are, how many values each
    /// and all have, and that no name or value holds a character FHIR strings cannot hold
    /// (U+0000 to U+001F except tab, line feed and carriage return).
    pub fn check_params(&self, params: &[(String, String)]) -> Result<(), RequestError> {
        self.check(Limit::Params, params.len())?;
        let mut total = 0;
        for (name, value) in params {
            check_characters(name)?;
            check_characters(value)?;
            let values = split(value, ',').len();
            self.check(Limit::ValuesPerParam, values)
                .map_err(|e| e.in_param(name))?;
            total += values;
        }
        self.check(Limit::TotalValues, total)
    }
}

/// The message of [`RequestError::LimitExceeded`].
pub(super) fn message(
    limit: Limit,
    max: usize,
    found: Option<usize>,
    param: Option<&str>,
) -> String {
    let what = limit.what();
    let found = match found {
        Some(n) => format!("{n} {what}"),
        None => format!("more than {max} {what}"),
    };
    let within = param.map(|p| format!(" in '{p}'")).unwrap_or_default();
    format!("the request has {found}{within}; this server accepts at most {max}")
}

/// Refuses control characters that FHIR strings cannot contain
/// (<http://hl7.org/fhir/R4/datatypes.html#string>): a NUL would be cut or refused differently
/// by each database.
pub fn check_characters(text: &str) -> Result<(), RequestError> {
    match text
        .chars()
        .find(|c| (*c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
    {
        None => Ok(()),
        Some(c) => Err(RequestError::InvalidParameter(format!(
            "parameters cannot contain the control character U+{:04X} (FHIR strings cannot)",
            c as u32
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn counts_are_limited() {
        let limits = RequestLimits {
            max_params: 3,
            max_values_per_param: 2,
            max_total_values: 4,
            ..RequestLimits::default()
        };
        assert!(limits.check_params(&p(&[("a", "1,2"), ("b", "3")])).is_ok());
        // An escaped comma does not separate values.
        assert!(limits.check_params(&p(&[("a", "1\\,2\\,3,4")])).is_ok());
        let err = limits
            .check_params(&p(&[("a", "1"), ("a", "1"), ("a", "1"), ("a", "1")]))
            .unwrap_err();
        assert_eq!(
            err,
            RequestError::LimitExceeded {
                limit: Limit::Params,
                max: 3,
                found: Some(4),
                param: None,
            }
        );
        let err = limits.check_params(&p(&[("fam", "1,2,3")])).unwrap_err();
        assert!(err.to_string().contains("'fam'"), "{err}");
        assert!(err.to_string().contains("at most 2"), "{err}");
        let err = limits
            .check_params(&p(&[("a", "1,2"), ("b", "1,2"), ("c", "1")]))
            .unwrap_err();
        assert!(matches!(
            err,
            RequestError::LimitExceeded {
                limit: Limit::TotalValues,
                ..
            }
        ));
    }

    #[test]
    fn control_characters_are_refused() {
        let limits = RequestLimits::default();
        for bad in ["a\0b", "\u{1}", "x\u{1f}"] {
            let err = limits.check_params(&p(&[("family", bad)])).unwrap_err();
            assert!(err.to_string().contains("control character"), "{err}");
            assert!(limits.check_params(&p(&[(bad, "x")])).is_err());
        }
        assert!(limits.check_params(&p(&[("text", "a\tb\r\nc")])).is_ok());
        assert!(
            limits
                .check_params(&p(&[("text", "é ü 漢 \u{7f}")]))
                .is_ok()
        );
    }
}
