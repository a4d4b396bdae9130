//! Bulk Data `$export` jobs (HL7 FHIR Bulk Data Access IG v2.0.0): started by a kick-off, run in
//! the background, polled at a status URL, their NDJSON files downloaded, then removed when the
//! client deletes them or they expire.
//!
//! - [`job`]: a job's record and its manifest (pure);
//! - [`store`]: where the record and files are kept (`object_store`: a local directory, or an
//!   S3-compatible bucket whose files are downloaded at pre-signed URLs);
//! - `run`: the engine, which reads each type in keyset pages through the search engine
//!   ([`crate::service::Fhir::export_page`]) and writes lines as pages arrive.
//!
//! Jobs are never resumed: a record found unfinished at start-up (the server stopped while it
//! ran) is marked failed. At most `concurrency` jobs read the database at once, each one page
//! (one budget slot) at a time, so exports leave the rest of the budget to interactive
//! requests.

pub mod job;
mod run;
pub mod store;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::plan::Scope;
use crate::request::export::ExportRequest;
use crate::service::Fhir;
use job::{JobRecord, JobState, Owner};
use store::{S3Location, Store, StoreError};

/// Settings of `$export`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSettings {
    /// The local directory the files are written to (unless `s3` is set).
    pub dir: PathBuf,
    /// An S3-compatible bucket the files are written to instead of `dir`, its endpoint and
    /// credentials from the `AWS_*` environment variables.
    pub s3: Option<S3Location>,
    /// Jobs that read the database at once (others wait their turn).
    pub concurrency: usize,
    /// How long a finished job and its files are kept.
    pub retention: Duration,
    /// Most bytes one job may write (beyond: it fails).
    pub max_bytes: u64,
    /// A file is split when it would grow beyond this many bytes.
    pub file_bytes: u64,
    /// Resources read per page (per statement).
    pub page_size: usize,
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings {
            dir: PathBuf::from("data/export"),
            s3: None,
            concurrency: 1,
            retention: Duration::from_secs(3600),
            max_bytes: 10_000_000_000,
            file_bytes: 100_000_000,
            page_size: 1000,
        }
    }
}

/// What a status request finds.
#[derive(Debug, Clone)]
pub enum Status {
    /// Still running: what it is doing.
    Running(String),
    /// Done: the record (for its manifest).
    Complete(Box<JobRecord>),
    /// Failed: why.
    Failed(String),
}

/// A job the server knows.
struct Job {
    record: Mutex<JobRecord>,
    cancelled: AtomicBool,
}

impl Job {
    fn snapshot(&self) -> JobRecord {
        self.record.lock().expect("job record").clone()
    }

    fn update(&self, f: impl FnOnce(&mut JobRecord)) {
        f(&mut self.record.lock().expect("job record"));
    }
}

/// What one job exports: the request, and for each type the scope its token allows.
pub struct Plan {
    /// The parsed kick-off.
    pub request: ExportRequest,
    /// Each exported type with the scope of its statements, in export order.
    pub types: Vec<(String, Scope)>,
    /// The scope `patient`'s ids are looked up under (what the token may see of Patient).
    pub patient_scope: Scope,
}

/// The export jobs of one server.
pub struct Exporter {
    fhir: Arc<Fhir>,
    store: Store,
    settings: ExportSettings,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    running: Arc<Semaphore>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Exporter {
    /// Opens the export store: records of jobs that were running when the server stopped are
    /// marked failed; finished ones are served until they expire. Starts the sweeper that
    /// removes expired jobs.
    pub async fn open(
        fhir: Arc<Fhir>,
        settings: ExportSettings,
    ) -> Result<Arc<Exporter>, StoreError> {
        let store = match &settings.s3 {
            Some(at) => Store::s3(at)?,
            None => Store::local(&settings.dir)?,
        };
        let mut jobs = HashMap::new();
        for mut r in store.records().await? {
            if r.state == JobState::Running {
                tracing::warn!(job = %r.id, "export job interrupted by a restart: marked failed");
                r.state = JobState::Failed;
                r.failure =
                    Some("the server stopped while the export ran; start a new export".into());
                r.expires_ms = Some(now_ms() + settings.retention.as_millis() as i64);
                // Whatever files it completed are never served: removed with the old record.
                store.remove(&r.id).await?;
                store.save(&r).await?;
            }
            jobs.insert(
                r.id.clone(),
                Arc::new(Job {
                    record: Mutex::new(r),
                    cancelled: AtomicBool::new(false),
                }),
            );
        }
        let exporter = Arc::new(Exporter {
            fhir,
            store,
            running: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings,
            jobs: Mutex::new(jobs),
        });
        let sweeper = Arc::downgrade(&exporter);
        let every = (exporter.settings.retention / 4)
            .clamp(Duration::from_millis(200), Duration::from_secs(60));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(e) = sweeper.upgrade() else { return };
                e.sweep().await;
            }
        });
        Ok(exporter)
    }

    /// The settings.
    pub fn settings(&self) -> &ExportSettings {
        &self.settings
    }

    /// Starts a job for `plan` asked by `request_url` (by `owner` in SMART mode); its id.
    pub async fn start(
        self: &Arc<Self>,
        plan: Plan,
        request_url: String,
        owner: Option<Owner>,
    ) -> Result<String, StoreError> {
        let id = hex(&rand::random::<[u8; 16]>());
        let record = JobRecord {
            id: id.clone(),
            state: JobState::Running,
            request: request_url,
            transaction_time: chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            expires_ms: None,
            // Pre-signed URLs are the credentials of a bucket's downloads (IG v2: then
            // `requiresAccessToken` is false).
            requires_access_token: owner.is_some() && !self.store.signs_urls(),
            owner,
            output: Vec::new(),
            error: Vec::new(),
            progress: "queued".into(),
            failure: None,
        };
        self.store.save(&record).await?;
        let job = Arc::new(Job {
            record: Mutex::new(record),
            cancelled: AtomicBool::new(false),
        });
        self.jobs
            .lock()
            .expect("jobs")
            .insert(id.clone(), job.clone());
        let this = self.clone();
        tokio::spawn(async move { this.run(job, plan).await });
        Ok(id)
    }

    /// The job `id` as `owner` may see it (`None`: unknown, expired, or someone else's).
    fn job(&self, id: &str, owner: Option<&Owner>) -> Option<Arc<Job>> {
        let job = self.jobs.lock().expect("jobs").get(id).cloned()?;
        let r = job.snapshot();
        (r.owner.as_ref() == owner && !r.expired(now_ms())).then_some(job)
    }

    /// The status of job `id` for `owner`.
    pub fn status(&self, id: &str, owner: Option<&Owner>) -> Option<Status> {
        let r = self.job(id, owner)?.snapshot();
        Some(match r.state {
            JobState::Running => Status::Running(r.progress),
            JobState::Complete => Status::Complete(Box::new(r)),
            JobState::Failed => Status::Failed(r.failure.unwrap_or_default()),
        })
    }

    /// The manifest of complete job `record`: each file at its pre-signed bucket URL, valid
    /// until the job expires, or else at `[base]/$export-file/[id]/[file]`.
    pub async fn manifest(
        &self,
        record: &JobRecord,
        base: &str,
    ) -> Result<serde_json::Value, StoreError> {
        let mut urls = HashMap::new();
        if self.store.signs_urls() {
            let left = record.expires_ms.unwrap_or_else(now_ms) - now_ms();
            let valid = Duration::from_millis(left.max(0) as u64);
            for f in record.output.iter().chain(&record.error) {
                if let Some(url) = self.store.signed_url(&record.id, &f.file, valid).await? {
                    urls.insert(f.file.clone(), url);
                }
            }
        }
        Ok(record.manifest(|id, file| {
            urls.get(file)
                .cloned()
                .unwrap_or_else(|| format!("{base}/$export-file/{id}/{file}"))
        }))
    }

    /// Cancels job `id` (a running job stops at its next page) and removes its files;
    /// `false` when `owner` has no such job.
    pub async fn cancel(&self, id: &str, owner: Option<&Owner>) -> bool {
        let Some(job) = self.job(id, owner) else {
            return false;
        };
        job.cancelled.store(true, Ordering::Relaxed);
        self.jobs.lock().expect("jobs").remove(id);
        // A running job removes its own files when it stops; a finished one is removed now.
        if job.snapshot().state != JobState::Running {
            self.remove(id).await;
        }
        true
    }

    /// A file of complete job `id`, as `owner` may download it.
    pub async fn file(
        &self,
        id: &str,
        file: &str,
        owner: Option<&Owner>,
    ) -> Option<futures_util::stream::BoxStream<'static, Result<bytes::Bytes, StoreError>>> {
        let r = self.job(id, owner)?.snapshot();
        if r.state != JobState::Complete || !r.output.iter().chain(&r.error).any(|f| f.file == file)
        {
            return None;
        }
        match self.store.read(id, file).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(job = id, file, error = %e, "export file unreadable");
                None
            }
        }
    }

    async fn remove(&self, id: &str) {
        if let Err(e) = self.store.remove(id).await {
            tracing::error!(job = id, error = %e, "cannot remove the export job's files");
        }
    }

    /// Removes expired jobs.
    async fn sweep(&self) {
        let now = now_ms();
        let expired: Vec<String> = {
            let mut jobs = self.jobs.lock().expect("jobs");
            let ids: Vec<String> = jobs
                .iter()
                .filter(|(_, j)| j.snapshot().expired(now))
                .map(|(id, _)| id.clone())
                .collect();
            for id in &ids {
                jobs.remove(id);
            }
            ids
        };
        for id in expired {
            tracing::info!(job = %id, "export job expired: removed");
            self.remove(&id).await;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
