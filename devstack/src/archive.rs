//! The local stand-in for the archive's Firehose delivery stream: it reads the stream as a
//! Kinesis-sourced delivery stream does (shared-throughput `GetRecords` on every shard, from the
//! oldest record, not enhanced fan-out), buffers by size and by interval, and writes the objects
//! Firehose writes with the Pulumi program's settings: each record followed by a newline
//! (`AppendDelimiterToRecord`), GZIP, under the folder of the oldest record's UTC hour of
//! arrival, named `<stream>-<version>-<time written>-<uuid>.gz` ([`analytics::layout`]).
//!
//! It answers the Firehose API calls the project makes through `aws-sdk-firehose` (see
//! [`crate::firehose_api`]), and refuses `PutRecord`/`PutRecordBatch` as AWS does for a
//! Kinesis-sourced delivery stream. A test can make processing fail for chosen records
//! ([`ArchiveConfig::processing_fails`]): they go under the error prefix, in Firehose's
//! error-record format, as a failed transformation's do on AWS. A failed S3 write is retried
//! until it succeeds.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use aws_sdk_kinesis::types::ShardIteratorType;
use flate2::Compression;
use flate2::write::GzEncoder;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// How often each shard is read: Firehose reads each shard about once a second; the stand-in
/// reads more often so that tests wait less.
const POLL: Duration = Duration::from_millis(200);

/// The delivery stream's settings, as the Pulumi program sets them.
#[derive(Clone, Debug)]
pub struct ArchiveConfig {
    /// The delivery stream's name, the start of every object's name.
    pub delivery_stream: String,
    /// Flush when the buffered records reach this many bytes (`archiveBufferMb`).
    pub buffer_bytes: usize,
    /// Flush when the oldest buffered record has waited this long (`archiveBufferSeconds`).
    pub buffer_interval: Duration,
    /// Records whose processing fails (a fault a test injects): written under the error prefix.
    pub processing_fails: Option<ProcessingFault>,
}

/// Whether a record's processing fails.
pub type FailsProcessing = dyn Fn(&[u8]) -> bool + Send + Sync;

/// Which records fail processing.
#[derive(Clone)]
pub struct ProcessingFault(pub std::sync::Arc<FailsProcessing>);

impl std::fmt::Debug for ProcessingFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProcessingFault")
    }
}

/// The `!{firehose:error-output-type}` of records whose processing failed.
pub const PROCESSING_FAILED: &str = "processing-failed";

/// The Pulumi program's defaults (`archiveBufferMb` 128, `archiveBufferSeconds` 900).
impl Default for ArchiveConfig {
    fn default() -> Self {
        Self {
            delivery_stream: "orders-archive".to_owned(),
            buffer_bytes: 128 * 1024 * 1024,
            buffer_interval: Duration::from_secs(900),
            processing_fails: None,
        }
    }
}

/// A running stand-in; [`Archive::stop`] writes what is buffered and ends it.
pub struct Archive {
    stop: watch::Sender<bool>,
    task: JoinHandle<Totals>,
    api: crate::firehose_api::FirehoseApi,
}

/// What the stand-in wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub objects: usize,
    pub records: usize,
    /// Objects and records written under the error prefix.
    pub error_objects: usize,
    pub error_records: usize,
}

/// Records waiting to be written, in the order read.
#[derive(Default)]
struct Buffer {
    lines: Vec<u8>,
    records: usize,
    oldest_arrival: Option<OffsetDateTime>,
    /// Error records (one JSON object a line) and the oldest one's arrival.
    errors: Vec<u8>,
    error_records: usize,
    oldest_error: Option<OffsetDateTime>,
    first_buffered: Option<tokio::time::Instant>,
}

impl Archive {
    /// Starts reading `stream` and writing to `bucket`.
    pub fn start(
        kinesis: aws_sdk_kinesis::Client,
        s3: aws_sdk_s3::Client,
        stream: &str,
        bucket: &str,
        config: ArchiveConfig,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = watch::channel(false);
        let api = crate::firehose_api::FirehoseApi::serve(crate::firehose_api::Described {
            delivery_stream: config.delivery_stream.clone(),
            source_stream: stream.to_owned(),
            bucket: bucket.to_owned(),
            buffer_bytes: config.buffer_bytes,
            buffer_interval: config.buffer_interval,
        })?;
        let stream = stream.to_owned();
        let bucket = bucket.to_owned();
        let task = tokio::spawn(run(kinesis, s3, stream, bucket, config, stopped));
        Ok(Self { stop, task, api })
    }

    /// Where the stand-in answers the Firehose API (for `AWS_ENDPOINT_URL_FIREHOSE`).
    pub fn endpoint(&self) -> &str {
        &self.api.endpoint
    }

    /// Reads what is left on the stream, writes the buffer, and returns what was written.
    pub async fn stop(self) -> Totals {
        let _ = self.stop.send(true);
        self.api.stop();
        self.task.await.unwrap_or_default()
    }
}

async fn run(
    kinesis: aws_sdk_kinesis::Client,
    s3: aws_sdk_s3::Client,
    stream: String,
    bucket: String,
    config: ArchiveConfig,
    mut stopped: watch::Receiver<bool>,
) -> Totals {
    let mut totals = Totals::default();
    let mut buffer = Buffer::default();
    // Each shard's next iterator; a shard whose iterator ran out is closed and done.
    let mut iterators: Vec<(String, Option<String>)> = Vec::new();
    let mut known: HashSet<String> = HashSet::new();
    loop {
        let stopping = *stopped.borrow();
        // Shards appear when the stream is resharded: each is read from its oldest record.
        if let Ok(listed) = kinesis.list_shards().stream_name(&stream).send().await {
            for shard in listed.shards() {
                if known.insert(shard.shard_id().to_owned()) {
                    let iterator = kinesis
                        .get_shard_iterator()
                        .stream_name(&stream)
                        .shard_id(shard.shard_id())
                        .shard_iterator_type(ShardIteratorType::TrimHorizon)
                        .send()
                        .await
                        .ok()
                        .and_then(|output| output.shard_iterator);
                    iterators.push((shard.shard_id().to_owned(), iterator));
                }
            }
        }
        for (_, iterator) in &mut iterators {
            // Each shard is read until it has nothing more for now.
            while let Some(current) = iterator.clone() {
                let Ok(output) = kinesis.get_records().shard_iterator(&current).send().await else {
                    break;
                };
                *iterator = output.next_shard_iterator.clone();
                if output.records().is_empty() {
                    break;
                }
                for record in output.records() {
                    buffer.push(record, config.processing_fails.as_ref());
                    if buffer.lines.len() + buffer.errors.len() >= config.buffer_bytes {
                        totals.add(write(&s3, &bucket, &config, &mut buffer).await);
                    }
                }
            }
        }
        let waited = buffer
            .first_buffered
            .is_some_and(|first| first.elapsed() >= config.buffer_interval);
        if waited || stopping {
            totals.add(write(&s3, &bucket, &config, &mut buffer).await);
        }
        if stopping {
            return totals;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stopped.changed() => {}
        }
    }
}

impl Buffer {
    fn push(&mut self, record: &aws_sdk_kinesis::types::Record, fault: Option<&ProcessingFault>) {
        let data = record.data().as_ref();
        let arrival = record
            .approximate_arrival_timestamp()
            .and_then(|at| OffsetDateTime::from_unix_timestamp_nanos(at.as_nanos()).ok())
            .unwrap_or_else(OffsetDateTime::now_utc);
        if fault.is_some_and(|fails| (fails.0)(data)) {
            let line = analytics::errors::ErrorRecord::processing_failed(data, arrival);
            serde_json::to_writer(&mut self.errors, &line)
                .unwrap_or_else(|e| unreachable!("into memory: {e}"));
            self.errors.push(b'\n');
            self.error_records += 1;
            self.oldest_error = Some(self.oldest_error.map_or(arrival, |o| o.min(arrival)));
        } else {
            self.lines.extend_from_slice(data);
            self.lines.push(b'\n');
            self.records += 1;
            self.oldest_arrival = Some(self.oldest_arrival.map_or(arrival, |o| o.min(arrival)));
        }
        self.first_buffered
            .get_or_insert_with(tokio::time::Instant::now);
    }
}

impl Totals {
    fn add(&mut self, written: Written) {
        if written.records > 0 {
            self.objects += 1;
            self.records += written.records;
        }
        if written.error_records > 0 {
            self.error_objects += 1;
            self.error_records += written.error_records;
        }
    }
}

/// Records written by one flush.
#[derive(Default)]
struct Written {
    records: usize,
    error_records: usize,
}

/// Writes the buffer as one gzipped object (and its error records as another, under the error
/// prefix), retrying until each write succeeds (Firehose retries S3 for up to a day), and
/// empties it.
async fn write(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    config: &ArchiveConfig,
    buffer: &mut Buffer,
) -> Written {
    let buffered = std::mem::take(buffer);
    let layout = analytics::layout::layout();
    let name = || {
        analytics::layout::Layout::object_name(
            &config.delivery_stream,
            1,
            OffsetDateTime::now_utc(),
            Uuid::new_v4(),
        )
    };
    let mut written = Written::default();
    if let Some(oldest) = buffered.oldest_arrival {
        let key = format!("{}{}", layout.events_folder(oldest), name());
        put_gzipped(s3, bucket, &key, &buffered.lines).await;
        written.records = buffered.records;
    }
    if let Some(oldest) = buffered.oldest_error {
        let key = format!(
            "{}{}",
            layout.errors_folder(PROCESSING_FAILED, oldest),
            name()
        );
        put_gzipped(s3, bucket, &key, &buffered.errors).await;
        written.error_records = buffered.error_records;
    }
    written
}

async fn put_gzipped(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, lines: &[u8]) {
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    let body = gzip
        .write_all(lines)
        .and_then(|()| gzip.finish())
        .unwrap_or_else(|e| unreachable!("gzip into memory cannot fail: {e}"));
    loop {
        let put = s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.clone().into())
            .send()
            .await;
        match put {
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(
                    key,
                    error = ingest::error_chain(&error),
                    "archive object not written; retrying"
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Every record in the archive, in object-key order and, within an object, as written: for the
/// demo and the tests to compare with the stream.
pub async fn read_records(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<Vec<(String, Vec<u8>)>, analytics::archive::ArchiveError> {
    let archive = analytics::archive::RawArchive::new(s3.clone(), bucket);
    let mut records = Vec::new();
    for object in archive
        .list(&analytics::layout::layout().events_prefix)
        .await?
    {
        for data in archive.records(&object.key).await? {
            records.push((object.key.clone(), data.to_vec()));
        }
    }
    Ok(records)
}
