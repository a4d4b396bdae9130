//! OperationOutcome resources.

use serde_json::{Value as Json, json};

/// Issue severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The request failed.
    Error,
    /// Something the client should know.
    Warning,
    /// For information only.
    Information,
}

impl Severity {
    fn code(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// One issue of an OperationOutcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Severity.
    pub severity: Severity,
    /// IssueType code (<http://hl7.org/fhir/issue-type>), e.g. `not-found`, `invalid`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub diagnostics: String,
}

impl Issue {
    /// An error issue.
    pub fn error(code: &'static str, diagnostics: impl Into<String>) -> Issue {
        Issue {
            severity: Severity::Error,
            code,
            diagnostics: diagnostics.into(),
        }
    }
}

/// An OperationOutcome holding `issues`.
pub fn operation_outcome(issues: &[Issue]) -> Json {
    json!({
        "resourceType": "OperationOutcome",
        "issue": issues.iter().map(|i| json!({
            "severity": i.severity.code(),
            "code": i.code,
            "diagnostics": i.diagnostics,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_lists_issues() {
        let o = operation_outcome(&[Issue::error("not-found", "Patient/9 is not known")]);
        assert_eq!(o["issue"][0]["severity"], "error");
        assert_eq!(o["issue"][0]["code"], "not-found");
        assert_eq!(o["issue"][0]["diagnostics"], "Patient/9 is not known");
    }
}
