//! The export engine: each type read in keyset pages through the search engine, each page's
//! resources serialized as NDJSON lines as it arrives, files split at the configured size.
//! Memory holds one page and one part of a file, however large the tables.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::job::{JobState, OutputFile, file_name};
use super::store::{FileWriter, StoreError};
use super::{Exporter, Job, Plan, now_ms};
use crate::assemble::outcome::{Issue, Severity, operation_outcome};
use crate::db::DbError;
use crate::request::cursor::Cursor;
use crate::request::subset::Summary;
use crate::service::export::{export_search, tracks_updates};
use crate::service::{RequestContext, ServiceError};

/// How often a page refused for lack of a free database slot is tried again.
const BUSY_RETRIES: u32 = 120;

/// Why a job stopped before its end.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("cancelled")]
    Cancelled,
    #[error(
        "the export would exceed the server's maximum of {0} bytes; export fewer types or use _typeFilter or _since"
    )]
    TooLarge(u64),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Stop {
    /// What the client is told (database and storage details stay in the log).
    fn message(&self) -> String {
        match self {
            Stop::Service(ServiceError::Db(_)) => {
                "the database failed while the export ran; start a new export".into()
            }
            Stop::Store(_) => "the export files could not be written".into(),
            other => other.to_string(),
        }
    }
}

/// The files written so far, and the one being written.
struct Output<'a> {
    exporter: &'a Exporter,
    id: String,
    files: Vec<OutputFile>,
    current: Option<(String, FileWriter)>,
    n: usize,
    total: u64,
}

impl Output<'_> {
    async fn line(&mut self, resource_type: &str, line: &[u8]) -> Result<(), Stop> {
        let limit = self.exporter.settings.file_bytes;
        if let Some((_, w)) = &self.current
            && w.count > 0
            && w.bytes + line.len() as u64 > limit
        {
            self.close().await?;
        }
        if self.current.is_none() {
            self.n += 1;
            let name = file_name(resource_type, self.n);
            let w = self.exporter.store.create(&self.id, &name).await?;
            self.current = Some((name, w));
        }
        self.total += line.len() as u64;
        if self.total > self.exporter.settings.max_bytes {
            return Err(Stop::TooLarge(self.exporter.settings.max_bytes));
        }
        let (_, w) = self.current.as_mut().expect("open file");
        w.line(line).await?;
        Ok(())
    }

    /// Completes the open file.
    async fn close(&mut self) -> Result<(), Stop> {
        let Some((name, w)) = self.current.take() else {
            return Ok(());
        };
        let count = w.count;
        w.finish().await?;
        let resource_type = name
            .rsplit_once('-')
            .map(|(t, _)| t.to_string())
            .unwrap_or_default();
        self.files.push(OutputFile {
            resource_type,
            file: name,
            count,
        });
        Ok(())
    }

    /// Ends a type: its last file completed, the numbering restarted.
    async fn end_type(&mut self) -> Result<(), Stop> {
        self.close().await?;
        self.n = 0;
        Ok(())
    }

    async fn abandon(&mut self) {
        if let Some((_, w)) = self.current.take() {
            w.abort().await;
        }
    }
}

impl Exporter {
    /// Runs a job to its end: complete, failed, or cancelled (its files removed).
    pub(super) async fn run(self: Arc<Self>, job: Arc<Job>, plan: Plan) {
        let id = job.snapshot().id;
        let Ok(_turn) = self.running.clone().acquire_owned().await else {
            return;
        };
        let result = self.export(&job, &plan).await;
        let retention = self.settings.retention.as_millis() as i64;
        match result {
            Err(Stop::Cancelled) => {
                tracing::info!(job = %id, "export job cancelled");
                self.remove(&id).await;
                return;
            }
            Ok((output, error)) => job.update(|r| {
                r.state = JobState::Complete;
                r.output = output;
                r.error = error;
                r.progress = "complete".into();
            }),
            Err(e) => {
                match &e {
                    Stop::Service(ServiceError::Db(d)) => {
                        tracing::error!(job = %id, error = %d, "export job failed: database error")
                    }
                    other => tracing::warn!(job = %id, error = %other, "export job failed"),
                }
                // Files of a failed job are never served: remove them now.
                self.remove(&id).await;
                job.update(|r| {
                    r.state = JobState::Failed;
                    r.failure = Some(e.message());
                });
            }
        }
        job.update(|r| r.expires_ms = Some(now_ms() + retention));
        if job.cancelled.load(Ordering::Relaxed) {
            self.remove(&id).await;
            return;
        }
        if let Err(e) = self.store.save(&job.snapshot()).await {
            tracing::error!(job = %id, error = %e, "cannot save the export job's record");
        }
    }

    async fn export(
        &self,
        job: &Job,
        plan: &Plan,
    ) -> Result<(Vec<OutputFile>, Vec<OutputFile>), Stop> {
        let id = job.snapshot().id;
        let mut out = Output {
            exporter: self,
            id: id.clone(),
            files: Vec::new(),
            current: None,
            n: 0,
            total: 0,
        };
        let result = self.export_types(job, plan, &mut out).await;
        if result.is_err() {
            out.abandon().await;
        }
        result?;
        let mut warnings: Vec<String> = plan
            .request
            .ignored
            .iter()
            .map(|(_, why)| format!("{why}; it was ignored"))
            .collect();
        if let Some(since) = &plan.request.since {
            let mapping = self.fhir.mapping();
            for (t, _) in &plan.types {
                if !tracks_updates(mapping, t) {
                    warnings.push(format!(
                        "_since={since}: {t} has no last-updated time in this database, so all its resources were exported"
                    ));
                }
            }
        }
        let output = std::mem::take(&mut out.files);
        if !warnings.is_empty() {
            for w in &warnings {
                let oo = operation_outcome(&[Issue {
                    severity: Severity::Warning,
                    code: "informational",
                    diagnostics: w.clone(),
                }]);
                let mut line = serde_json::to_vec(&oo).unwrap_or_default();
                line.push(b'\n');
                out.line("OperationOutcome", &line).await?;
            }
            out.end_type().await?;
        }
        Ok((output, out.files))
    }

    async fn export_types(&self, job: &Job, plan: &Plan, out: &mut Output<'_>) -> Result<(), Stop> {
        let mapping = self.fhir.mapping();
        let n_types = plan.types.len();
        for (i, (t, scope)) in plan.types.iter().enumerate() {
            let search = export_search(mapping, &plan.request, t, self.settings.page_size);
            let elements = plan.request.elements_of(t);
            let cx = RequestContext {
                counter: Default::default(),
                scope: scope.clone(),
            };
            let mut after: Option<Cursor> = None;
            let mut written = 0u64;
            loop {
                if job.cancelled.load(Ordering::Relaxed) {
                    return Err(Stop::Cancelled);
                }
                let page = self.page(&cx, &search, after.as_ref()).await?;
                for mut r in page.resources {
                    if let Some(e) = &elements {
                        r.subset(Summary::False, Some(e));
                    }
                    let mut line = serde_json::to_vec(&r).unwrap_or_default();
                    line.push(b'\n');
                    out.line(t, &line).await?;
                    written += 1;
                }
                job.update(|r| {
                    r.progress = format!(
                        "{t}: {written} resources written (type {} of {n_types})",
                        i + 1
                    )
                });
                match page.next {
                    Some(c) => after = Some(c),
                    None => break,
                }
            }
            out.end_type().await?;
        }
        Ok(())
    }

    /// One page, tried again while the database budget has no free slot.
    async fn page<'s>(
        &'s self,
        cx: &'s RequestContext,
        search: &crate::request::search::SearchRequest,
        after: Option<&Cursor>,
    ) -> Result<crate::service::export::ExportPage<'s>, Stop> {
        let mut tries = 0;
        loop {
            match self.fhir.export_page(cx, search, after).await {
                Err(ServiceError::Db(DbError::Busy)) if tries < BUSY_RETRIES => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => return Ok(other?),
            }
        }
    }
}
