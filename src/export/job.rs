//! An export job's record (kept beside its files, so a restart knows what happened to it) and
//! the completion manifest made from it. Pure.

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

/// Name of the record in a job's folder.
pub const RECORD_FILE: &str = "job.json";

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for its turn or writing its files.
    Running,
    /// Every file written: the manifest is served.
    Complete,
    /// Stopped by an error (or by a restart of the server while it ran).
    Failed,
}

/// Who started a job (in SMART mode): only the same subject and client see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The token's `sub`.
    pub subject: Option<String>,
    /// The token's client.
    pub client_id: Option<String>,
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// Resource type of every line.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// File name in the job's folder.
    pub file: String,
    /// Lines (resources) in the file.
    pub count: u64,
}

/// A job's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job's id (also its folder).
    pub id: String,
    /// Where it stands.
    pub state: JobState,
    /// The kick-off request URL.
    pub request: String,
    /// When the kick-off was received (RFC 3339): what the export reflects.
    pub transaction_time: String,
    /// Milliseconds since the Unix epoch after which the job and its files are removed (set
    /// when it ends).
    pub expires_ms: Option<i64>,
    /// Whether downloads need the kick-off's access token (SMART mode).
    pub requires_access_token: bool,
    /// Who started it (`None`: no authorization).
    pub owner: Option<Owner>,
    /// The resource files, in the order written.
    pub output: Vec<OutputFile>,
    /// The OperationOutcome files (warnings about the request).
    pub error: Vec<OutputFile>,
    /// What the job is doing (while it runs).
    pub progress: String,
    /// Why it failed.
    pub failure: Option<String>,
}

impl JobRecord {
    /// Whether the job has expired at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_ms.is_some_and(|e| now_ms >= e)
    }

    /// The completion manifest; each file at `file_url(id, file)`.
    pub fn manifest(&self, file_url: impl Fn(&str, &str) -> String) -> Json {
        let item = |f: &OutputFile| {
            json!({
                "type": f.resource_type,
                "url": file_url(&self.id, &f.file),
                "count": f.count,
            })
        };
        json!({
            "transactionTime": self.transaction_time,
            "request": self.request,
            "requiresAccessToken": self.requires_access_token,
            "output": self.output.iter().map(item).collect::<Vec<_>>(),
            "deleted": [],
            "error": self.error.iter().map(item).collect::<Vec<_>>(),
        })
    }
}

/// The name of file `n` (from 1) of `resource_type`.
pub fn file_name(resource_type: &str, n: usize) -> String {
    format!("{resource_type}-{n}.ndjson")
}

/// Whether `name` can be a file of a job (`Type-N.ndjson`): what downloads accept.
pub fn is_file_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".ndjson") else {
        return false;
    };
    let Some((t, n)) = stem.rsplit_once('-') else {
        return false;
    };
    !t.is_empty()
        && t.chars().all(|c| c.is_ascii_alphabetic())
        && !n.is_empty()
        && n.chars().all(|c| c.is_ascii_digit())
}

/// Whether `id` can be a job id (what the server makes: 32 hex digits).
pub fn is_job_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_lists_files_with_urls_and_counts() {
        let r = JobRecord {
            id: "ab".into(),
            state: JobState::Complete,
            request: "http://h/fhir/$export".into(),
            transaction_time: "2024-01-01T00:00:00Z".into(),
            expires_ms: Some(10),
            requires_access_token: true,
            owner: None,
            output: vec![OutputFile {
                resource_type: "Patient".into(),
                file: file_name("Patient", 1),
                count: 3,
            }],
            error: vec![],
            progress: String::new(),
            failure: None,
        };
        let m = r.manifest(|id, f| format!("http://h/fhir/$export-file/{id}/{f}"));
        assert_eq!(m["requiresAccessToken"], true);
        assert_eq!(
            m["output"][0],
            json!({"type": "Patient", "url": "http://h/fhir/$export-file/ab/Patient-1.ndjson", "count": 3})
        );
        assert!(r.expired(10) && !r.expired(9));
        assert!(is_file_name("Patient-12.ndjson") && is_file_name("OperationOutcome-1.ndjson"));
        for bad in [
            "../x-1.ndjson",
            "job.json",
            "Patient-.ndjson",
            "Pa/t-1.ndjson",
        ] {
            assert!(!is_file_name(bad), "{bad}");
        }
        assert!(is_job_id(&"a".repeat(32)) && !is_job_id("../etc"));
    }
}
