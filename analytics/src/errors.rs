//! Records Firehose could not deliver: it writes them under the error prefix, one JSON error
//! record a line with the original bytes base64-encoded in `rawData`, when a Lambda
//! transformation or a format conversion fails (a failed S3 write is retried instead, for as
//! long as the stream keeps the record). [`redeliver`] puts them into the archive's own
//! layout, once each.
//!
//! Straight to S3, not through a Direct PUT delivery stream: the object each error object
//! becomes is named after it, so running it again writes nothing twice (a `PutRecordBatch`
//! retried after a timeout would), and S3 bills one request per object where Firehose bills
//! every record as at least 5 KB. See docs/analytics.md.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::archive::{ArchiveError, ArchivedObject, RawArchive};
use crate::layout::layout;

/// One line of an error object, as Firehose writes it for a record whose processing failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecord {
    #[serde(default)]
    pub attempts_made: u32,
    /// When the record reached the delivery stream, in epoch milliseconds.
    pub arrival_timestamp: i64,
    /// `errorCode` (processing failures); format conversion failures spell it `ErrorCode` or
    /// `lastErrorCode` (AWS's pages differ).
    #[serde(default, alias = "ErrorCode", alias = "lastErrorCode")]
    pub error_code: Option<String>,
    #[serde(default, alias = "ErrorMessage", alias = "lastErrorMessage")]
    pub error_message: Option<String>,
    #[serde(default)]
    pub attempt_ending_timestamp: Option<i64>,
    /// The record's bytes, base64-encoded.
    pub raw_data: String,
}

impl ErrorRecord {
    /// The error record of `data`, whose processing failed (what the local stand-in writes).
    pub fn processing_failed(data: &[u8], arrival: OffsetDateTime) -> Self {
        let millis = i64::try_from(arrival.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
        Self {
            attempts_made: 1,
            arrival_timestamp: millis,
            error_code: Some("Processor.Failure".to_owned()),
            error_message: Some("the record could not be processed".to_owned()),
            attempt_ending_timestamp: Some(millis),
            raw_data: STANDARD.encode(data),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ErrorsError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("{key} line {line} is not a Firehose error record")]
    Record {
        key: String,
        line: usize,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot write s3://{bucket}/{key}")]
    Write {
        bucket: String,
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What became of one error object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redelivery {
    /// The error object.
    pub error_key: String,
    /// The archive object its records go to.
    pub events_key: String,
    pub records: usize,
    /// Why they failed, as Firehose said (the distinct codes).
    pub error_codes: Vec<String>,
    /// Redelivered before (the archive object exists): nothing written.
    pub already: bool,
}

/// Every error object, in key order.
pub async fn error_objects(archive: &RawArchive) -> Result<Vec<ArchivedObject>, ErrorsError> {
    Ok(archive.list(&layout().errors_prefix).await?)
}

/// Puts the records of the error object `key` into the archive's layout: one object in the
/// folder of the oldest record's hour of arrival, named as the error object is (Firehose's
/// names are unique), unless it is there already. With `dry_run`, says what it would do.
pub async fn redeliver(
    archive: &RawArchive,
    s3: &aws_sdk_s3::Client,
    key: &str,
    dry_run: bool,
) -> Result<Redelivery, ErrorsError> {
    let mut records: Vec<Bytes> = Vec::new();
    let mut oldest: Option<i64> = None;
    let mut codes: Vec<String> = Vec::new();
    for (index, line) in archive.records(key).await?.into_iter().enumerate() {
        let bad = |source: Box<dyn std::error::Error + Send + Sync>| ErrorsError::Record {
            key: key.to_owned(),
            line: index + 1,
            source,
        };
        let error: ErrorRecord = serde_json::from_slice(&line).map_err(|e| bad(Box::new(e)))?;
        let data = STANDARD
            .decode(&error.raw_data)
            .map_err(|e| bad(Box::new(e)))?;
        oldest = Some(oldest.map_or(error.arrival_timestamp, |o| o.min(error.arrival_timestamp)));
        if let Some(code) = error.error_code
            && !codes.contains(&code)
        {
            codes.push(code);
        }
        records.push(Bytes::from(data));
    }
    let name = key.rsplit('/').next().unwrap_or(key);
    let oldest = oldest
        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let events_key = format!("{}{name}", layout().events_folder(oldest));
    let already = s3
        .head_object()
        .bucket(archive.bucket())
        .key(&events_key)
        .send()
        .await
        .is_ok();
    let redelivery = Redelivery {
        error_key: key.to_owned(),
        events_key,
        records: records.len(),
        error_codes: codes,
        already,
    };
    if already || dry_run || records.is_empty() {
        return Ok(redelivery);
    }
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for record in &records {
        gzip.write_all(record)
            .and_then(|()| gzip.write_all(b"\n"))
            .unwrap_or_else(|e| unreachable!("gzip into memory cannot fail: {e}"));
    }
    let body = gzip
        .finish()
        .unwrap_or_else(|e| unreachable!("gzip into memory cannot fail: {e}"));
    s3.put_object()
        .bucket(archive.bucket())
        .key(&redelivery.events_key)
        .body(body.into())
        .send()
        .await
        .map_err(|e| ErrorsError::Write {
            bucket: archive.bucket().to_owned(),
            key: redelivery.events_key.clone(),
            source: Box::new(e),
        })?;
    Ok(redelivery)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_record_keeps_the_bytes_and_reads_firehose_conversion_failures_too() {
        let at = time::macros::datetime!(2026-11-25 10:00 UTC);
        let line = serde_json::to_string(&ErrorRecord::processing_failed(b"{\"a\":1}", at))
            .expect("serialises");
        let back: ErrorRecord = serde_json::from_str(&line).expect("parses");
        assert_eq!(
            STANDARD.decode(back.raw_data).expect("base64"),
            b"{\"a\":1}"
        );
        let conversion: ErrorRecord = serde_json::from_str(
            r#"{"attemptsMade":1,"arrivalTimestamp":1,"lastErrorCode":"DataFormatConversion.MalformedData","lastErrorMessage":"x","attemptEndingTimestamp":2,"rawData":"eA==","sequenceNumber":"1","subSequenceNumber":null,"dataCatalogTable":{}}"#,
        )
        .expect("parses");
        assert_eq!(
            conversion.error_code.as_deref(),
            Some("DataFormatConversion.MalformedData")
        );
    }
}
