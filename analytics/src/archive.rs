//! Reading the raw archive in S3 as Firehose wrote it: which objects can hold a window's
//! records, and each object's records.

use std::io::Read;
use std::time::Duration;

use bytes::Bytes;
use time::OffsetDateTime;

use crate::layout::layout;

/// An event reaches the stream at most this long after its own time (the API's acceptance or a
/// stage's emission; the gap is a put and its retries). Readers look this far past a window.
pub const ARRIVAL_SLACK: Duration = Duration::from_secs(300);

/// An object is in the folder of its oldest record's hour, and Firehose buffers up to 900 s (or
/// longer while it catches up), so a window's records can be in objects of earlier hours'
/// folders: readers look this far before a window.
pub const OBJECT_LOOKBACK: Duration = Duration::from_secs(2 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot list s3://{bucket}/{prefix}")]
    List {
        bucket: String,
        prefix: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot read s3://{bucket}/{key}")]
    Read {
        bucket: String,
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// One archived object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivedObject {
    pub key: String,
    pub size: u64,
}

/// The archive bucket's raw records.
#[derive(Clone, Debug)]
pub struct RawArchive {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl RawArchive {
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            s3,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The objects that can hold records whose own time is in `[from, to)`, in key order (hour
    /// folders in time order; within one, Firehose's names sort by the time written).
    pub async fn objects_for(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<ArchivedObject>, ArchiveError> {
        let mut objects = Vec::new();
        let hour = Duration::from_secs(3600);
        let mut at = floor_hour(from - OBJECT_LOOKBACK);
        let last = to + ARRIVAL_SLACK;
        while at < last {
            objects.extend(self.list(&layout().events_folder(at)).await?);
            at += hour;
        }
        Ok(objects)
    }

    /// Every object under `prefix`, in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ArchivedObject>, ArchiveError> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| ArchiveError::List {
                bucket: self.bucket.clone(),
                prefix: prefix.to_owned(),
                source: Box::new(e),
            })?;
            objects.extend(page.contents().iter().filter_map(|o| {
                Some(ArchivedObject {
                    key: o.key()?.to_owned(),
                    size: u64::try_from(o.size().unwrap_or_default()).unwrap_or_default(),
                })
            }));
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// The object's records, as written: gunzipped and split at the newlines Firehose appended.
    pub async fn records(&self, key: &str) -> Result<Vec<Bytes>, ArchiveError> {
        let read_error = |source: Box<dyn std::error::Error + Send + Sync>| ArchiveError::Read {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            source,
        };
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| read_error(Box::new(e)))?;
        let gzipped = object
            .body
            .collect()
            .await
            .map_err(|e| read_error(Box::new(e)))?
            .into_bytes();
        let mut lines = Vec::new();
        flate2::read::GzDecoder::new(gzipped.as_ref())
            .read_to_end(&mut lines)
            .map_err(|e| read_error(Box::new(e)))?;
        let lines = Bytes::from(lines);
        Ok(lines
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| lines.slice_ref(line))
            .collect())
    }
}

/// The start of `at`'s UTC hour.
pub fn floor_hour(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_time(time::Time::from_hms(at.hour(), 0, 0).unwrap_or(time::Time::MIDNIGHT))
}
