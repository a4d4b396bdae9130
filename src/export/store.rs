//! Where export files live, through the `object_store` abstraction: a local directory (the
//! default, its files served by the façade), or an S3-compatible bucket (its files downloaded
//! from the bucket at pre-signed URLs). Each job is a folder `<id>/` holding its record and its
//! files. Files are written as multipart uploads, which become visible only when complete (a
//! local upload is staged under another name and renamed; an S3 one is listed only once
//! completed), so nothing half-written is ever listed or served.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::signer::{Method, Signer};
use object_store::{
    Attribute, Attributes, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutPayload,
    WriteMultipart,
};

use crate::request::export::NDJSON;

use super::job::{JobRecord, RECORD_FILE};

/// Bytes buffered before a part is written.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// The longest validity of an S3 pre-signed URL (SigV4: 7 days).
const MAX_SIGNED: Duration = Duration::from_secs(7 * 24 * 3600);

/// The export storage.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// For a bucket: the signer of download URLs, and the prefix the store is under.
    s3: Option<(Arc<AmazonS3>, Path)>,
}

/// Where a bucket URL points: `s3://bucket[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The folder in the bucket (may be empty).
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket[/prefix]`.
    pub fn parse(url: &str) -> Result<S3Location, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("'{url}' is not an s3://bucket[/prefix] URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("'{url}' names no bucket (s3://bucket[/prefix])"));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }
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
            s3: None,
        })
    }

    /// A store in an S3-compatible bucket; endpoint, region and credentials from the standard
    /// `AWS_*` environment variables (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`...).
    pub fn s3(at: &S3Location) -> Result<Store, StoreError> {
        // reqwest (object_store's client) takes rustls's process-wide provider; installing it
        // fails only when one is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let s3 = Arc::new(
            AmazonS3Builder::from_env()
                .with_bucket_name(&at.bucket)
                .build()?,
        );
        let prefix = Path::from(at.prefix.as_str());
        Ok(Store {
            inner: Arc::new(PrefixStore::new(s3.clone(), prefix.clone())),
            s3: Some((s3, prefix)),
        })
    }

    /// Whether files are downloaded from the store itself at pre-signed URLs (a bucket),
    /// rather than through the façade.
    pub fn signs_urls(&self) -> bool {
        self.s3.is_some()
    }

    /// A URL that downloads a job's file for `valid` (at most 7 days) without other
    /// credentials; `None` for a local store (the façade serves its files).
    pub async fn signed_url(
        &self,
        id: &str,
        file: &str,
        valid: Duration,
    ) -> Result<Option<String>, StoreError> {
        let Some((s3, prefix)) = &self.s3 else {
            return Ok(None);
        };
        let path: Path = prefix.parts().chain(Self::path(id, file).parts()).collect();
        let valid = valid.clamp(Duration::from_secs(1), MAX_SIGNED);
        let url = s3.signed_url(Method::GET, &path, valid).await?;
        Ok(Some(url.to_string()))
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
        let mut opts = PutMultipartOptions::default();
        if self.s3.is_some() {
            // What the bucket answers the downloads with (a local store keeps no attributes).
            opts.attributes = Attributes::from_iter([(Attribute::ContentType, NDJSON)]);
        }
        let upload = self
            .inner
            .put_multipart_opts(&Self::path(id, file), opts)
            .await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_urls_are_parsed() {
        let at = S3Location::parse("s3://b/exports/x/").unwrap();
        assert_eq!((at.bucket.as_str(), at.prefix.as_str()), ("b", "exports/x"));
        let at = S3Location::parse("s3://b").unwrap();
        assert_eq!((at.bucket.as_str(), at.prefix.as_str()), ("b", ""));
        for bad in ["b/x", "s3:///x", "http://b/x"] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }
}
