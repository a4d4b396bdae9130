//! The export engine: each type read in keyset pages through the search engine, each page's
//! resources serialized as NDJSON lines as it arrives, files split at the configured size.
//! Memory holds one page and one part of a file, however large the tables.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::job::{JobState, OutputFile, file_name};
use super::store::{FileWriter, StoreError};
use super::{Exporter, Job, Plan, now_ms};
use crate::assemble::outcome::{Issue, Severity, operation_outcome};
use crate::db::DbError;
use crate::request::criterion::Criterion;
use crate::request::cursor::Cursor;
use crate::request::search::SearchRequest;
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
        let result = match self.unknown_patients(job, plan).await {
            Ok(unknown) => self
                .export_types(job, plan, &mut out)
                .await
                .map(|_| unknown),
            Err(e) => Err(e),
        };
        if result.is_err() {
            out.abandon().await;
        }
        // The IG: patients not on the server are reported as OperationOutcome errors in the
        // error file; the export goes on for the others.
        let mut issues: Vec<(Severity, &str, String)> = result?
            .into_iter()
            .map(|id| {
                let why = format!("patient: Patient/{id} is not on this server (or not within the access token's scopes)");
                (Severity::Error, "not-found", why)
            })
            .collect();
        for (_, why) in &plan.request.ignored {
            issues.push((
                Severity::Warning,
                "informational",
                format!("{why}; it was ignored"),
            ));
        }
        if let Some(since) = &plan.request.since {
            let mapping = self.fhir.mapping();
            for (t, _) in &plan.types {
                if !tracks_updates(mapping, t) {
                    let why = format!(
                        "_since={since}: {t} has no last-updated time in this database, so all its resources were exported"
                    );
                    issues.push((Severity::Warning, "informational", why));
                }
            }
        }
        let output = std::mem::take(&mut out.files);
        if !issues.is_empty() {
            for (severity, code, diagnostics) in issues {
                let oo = operation_outcome(&[Issue {
                    severity,
                    code,
                    diagnostics,
                }]);
                let mut line = serde_json::to_vec(&oo).unwrap_or_default();
                line.push(b'\n');
                out.line("OperationOutcome", &line).await?;
            }
            out.end_type().await?;
        }
        Ok((output, out.files))
    }

    /// The ids of `patient` that are not on the server (as the job's Patient scope sees it),
    /// looked up a page of ids at a time.
    async fn unknown_patients(&self, job: &Job, plan: &Plan) -> Result<Vec<String>, Stop> {
        let mut unknown = Vec::new();
        let cx = RequestContext {
            counter: Default::default(),
            scope: plan.patient_scope.clone(),
        };
        let size = self.settings.page_size.max(1);
        for ids in plan.request.patients.chunks(size) {
            if job.cancelled.load(Ordering::Relaxed) {
                return Err(Stop::Cancelled);
            }
            let mut search = SearchRequest::new("Patient", size);
            search
                .criteria
                .push(Criterion::ids(ids.iter().map(String::as_str)));
            let page = self.page(&cx, &search, None).await?;
            let found: HashSet<&str> = page.resources.iter().map(|r| r.id()).collect();
            unknown.extend(
                ids.iter()
                    .filter(|id| !found.contains(id.as_str()))
                    .cloned(),
            );
        }
        Ok(unknown)
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
        search: &SearchRequest,
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
