//! Where export files live, through the `object_store` abstraction: a local directory (the
//! default). Each job is a folder `<id>/` holding its record and its files. Files are written
//! as multipart uploads, which become visible only when complete (a local upload is staged
//! under another name and renamed), so nothing half-written is ever listed or served.

use std::sync::Arc;

use futures_util::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use super::job::{JobRecord, RECORD_FILE};

/// Bytes buffered before a part is written.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// The export storage.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
}

/// A storage failure.
pub type StoreError = object_store::Error;

impl Store {
    /// A store in the local directory `dir` (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Generic {
            store: "LocalFileSystem",
            source: Box::new(e),
        })?;
        Ok(Store {
            inner: Arc::new(LocalFileSystem::new_with_prefix(dir)?),
        })
    }

    fn path(id: &str, file: &str) -> Path {
        Path::from(format!("{id}/{file}"))
    }

    /// Writes a job's record (replacing the previous one at once).
    pub async fn save(&self, record: &JobRecord) -> Result<(), StoreError> {
        let body = serde_json::to_vec_pretty(record).unwrap_or_default();
        self.inner
            .put(&Self::path(&record.id, RECORD_FILE), PutPayload::from(body))
            .await
            .map(|_| ())
    }

    /// Every job record found (unreadable ones are logged and skipped).
    pub async fn records(&self) -> Result<Vec<JobRecord>, StoreError> {
        let mut out = Vec::new();
        let mut list = self.inner.list(None);
        while let Some(meta) = list.next().await {
            let meta = meta?;
            if meta.location.filename() != Some(RECORD_FILE) {
                continue;
            }
            let bytes = self.inner.get(&meta.location).await?.bytes().await?;
            match serde_json::from_slice::<JobRecord>(&bytes) {
                Ok(r) => out.push(r),
                Err(e) => {
                    tracing::warn!(path = %meta.location, error = %e, "unreadable export job record skipped")
                }
            }
        }
        Ok(out)
    }

    /// Removes a job's folder (record and files).
    pub async fn remove(&self, id: &str) -> Result<(), StoreError> {
        let prefix = Path::from(id);
        let mut list = self.inner.list(Some(&prefix));
        let mut paths = Vec::new();
        while let Some(meta) = list.next().await {
            paths.push(meta?.location);
        }
        for p in paths {
            match self.inner.delete(&p).await {
                Ok(()) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// A file of a job, as a stream of bytes.
    pub async fn read(
        &self,
        id: &str,
        file: &str,
    ) -> Result<
        futures_util::stream::BoxStream<'static, Result<bytes::Bytes, StoreError>>,
        StoreError,
    > {
        Ok(self.inner.get(&Self::path(id, file)).await?.into_stream())
    }

    /// Starts writing a file of a job.
    pub async fn create(&self, id: &str, file: &str) -> Result<FileWriter, StoreError> {
        let upload = self.inner.put_multipart(&Self::path(id, file)).await?;
        Ok(FileWriter {
            upload: WriteMultipart::new_with_chunk_size(upload, PART_BYTES),
            bytes: 0,
            count: 0,
        })
    }
}

/// A file being written; invisible until [`FileWriter::finish`].
pub struct FileWriter {
    upload: WriteMultipart,
    /// Bytes written so far.
    pub bytes: u64,
    /// Lines written so far.
    pub count: u64,
}

impl FileWriter {
    /// Appends one line (its newline included), waiting while too many parts are in flight.
    pub async fn line(&mut self, line: &[u8]) -> Result<(), StoreError> {
        self.upload.wait_for_capacity(2).await?;
        self.upload.write(line);
        self.bytes += line.len() as u64;
        self.count += 1;
        Ok(())
    }

    /// Completes the file (it appears under its name).
    pub async fn finish(self) -> Result<(), StoreError> {
        self.upload.finish().await.map(|_| ())
    }

    /// Abandons the file.
    pub async fn abort(self) {
        if let Err(e) = self.upload.abort().await {
            tracing::warn!(error = %e, "abandoning an export file");
        }
    }
}
