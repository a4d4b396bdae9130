//! The `self` and `next` links of a page, and the searchset Bundle a page becomes: the same
//! for searches, compartment searches and `$everything`.

use super::Fhir;
use super::include::Included;
use crate::assemble::bundle::SearchSet;
use crate::assemble::outcome::{Issue, Severity};
use crate::assemble::served::Resource;
use crate::request::cursor::Cursor;

/// A page and what its Bundle says about it.
pub(super) struct PageOut<'a, 'r> {
    /// The path the search runs on (`Patient`, `Patient/1/Observation`,
    /// `Patient/1/$everything`): the links' path, and what the cursors are bound to.
    pub path: &'a str,
    /// The search's normalized parameters (the links' query, and the cursors' binding).
    pub link_params: &'a [String],
    /// The cursor of the request (`_cursor`), for its `self` link.
    pub cursor: Option<&'a str>,
    /// Where the next page starts.
    pub next: Option<&'a Cursor>,
    /// The matches.
    pub resources: Vec<Resource<'r>>,
    /// The included resources.
    pub included: Included<'r>,
    /// The total, when counted.
    pub total: Option<u64>,
    /// Parameters ignored under lenient handling, with the reason.
    pub ignored: &'a [(String, String)],
    /// What else the client should know.
    pub notes: Vec<String>,
}

impl Fhir {
    /// The searchset Bundle of a page, with its links and an outcome entry for what was
    /// ignored or cut short.
    pub(super) fn bundle<'r>(&'r self, page: PageOut<'_, 'r>) -> SearchSet<'r> {
        let base = format!("{}/{}", self.base_url, page.path);
        let with_cursor = |token: &str| {
            let mut p = page.link_params.to_vec();
            p.push(format!("_cursor={token}"));
            format!("{base}?{}", query_string(&p))
        };
        let self_link = match page.cursor {
            Some(token) => with_cursor(token),
            None => format!("{base}?{}", query_string(page.link_params)),
        };
        let next_link = page
            .next
            .map(|c| with_cursor(&self.cursors.encode(c, page.path, page.link_params)));
        let mut warnings: Vec<Issue> = page
            .ignored
            .iter()
            .map(|(_, why)| Issue {
                severity: Severity::Warning,
                code: "not-supported",
                diagnostics: format!("{why}; it was ignored"),
            })
            .collect();
        if page.included.truncated {
            warnings.push(Issue {
                severity: Severity::Warning,
                code: "too-costly",
                diagnostics: format!(
                    "only the first {} included resources are returned (the server's limit per page) and more exist: ask for a smaller _count, or search for them directly",
                    self.limits.max_includes
                ),
            });
        }
        warnings.extend(page.notes.into_iter().map(|n| Issue {
            severity: Severity::Warning,
            code: "informational",
            diagnostics: n,
        }));
        SearchSet {
            base_url: &self.base_url,
            resources: page.resources,
            included: page.included.resources,
            self_link,
            next_link,
            total: page.total,
            warnings,
        }
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `name=value` link parameters as a query string.
fn query_string(params: &[String]) -> String {
    params
        .iter()
        .map(|p| match p.split_once('=') {
            Some((n, v)) => format!("{}={}", encode(n), encode(v)),
            None => encode(p),
        })
        .collect::<Vec<_>>()
        .join("&")
}
