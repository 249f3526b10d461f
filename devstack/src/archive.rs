//! The local stand-in for the archive's Firehose delivery stream: it reads the stream as a
//! Kinesis-sourced delivery stream does (shared-throughput `GetRecords` on every shard, from the
//! oldest record, not enhanced fan-out), buffers by size and by interval, and writes the objects
//! Firehose writes with the Pulumi program's settings: each record followed by a newline
//! (`AppendDelimiterToRecord`), GZIP, under the folder of the oldest record's UTC hour of
//! arrival, named `<stream>-<version>-<time written>-<uuid>.gz` ([`analytics::layout`]).
//!
//! Not stood in for: the Firehose API itself, and the error prefix (records Firehose could not
//! deliver); a failed write here is retried until it succeeds.

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
}

/// The Pulumi program's defaults (`archiveBufferMb` 128, `archiveBufferSeconds` 900).
impl Default for ArchiveConfig {
    fn default() -> Self {
        Self {
            delivery_stream: "orders-archive".to_owned(),
            buffer_bytes: 128 * 1024 * 1024,
            buffer_interval: Duration::from_secs(900),
        }
    }
}

/// A running stand-in; [`Archive::stop`] writes what is buffered and ends it.
pub struct Archive {
    stop: watch::Sender<bool>,
    task: JoinHandle<Totals>,
}

/// What the stand-in wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub objects: usize,
    pub records: usize,
}

/// Records waiting to be written, in the order read.
#[derive(Default)]
struct Buffer {
    lines: Vec<u8>,
    records: usize,
    oldest_arrival: Option<OffsetDateTime>,
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
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let stream = stream.to_owned();
        let bucket = bucket.to_owned();
        let task = tokio::spawn(run(kinesis, s3, stream, bucket, config, stopped));
        Self { stop, task }
    }

    /// Reads what is left on the stream, writes the buffer, and returns what was written.
    pub async fn stop(self) -> Totals {
        let _ = self.stop.send(true);
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
                    buffer.push(record);
                    if buffer.lines.len() >= config.buffer_bytes {
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
    fn push(&mut self, record: &aws_sdk_kinesis::types::Record) {
        self.lines.extend_from_slice(record.data().as_ref());
        self.lines.push(b'\n');
        self.records += 1;
        let arrival = record
            .approximate_arrival_timestamp()
            .and_then(|at| OffsetDateTime::from_unix_timestamp_nanos(at.as_nanos()).ok())
            .unwrap_or_else(OffsetDateTime::now_utc);
        self.oldest_arrival = Some(self.oldest_arrival.map_or(arrival, |o| o.min(arrival)));
        self.first_buffered
            .get_or_insert_with(tokio::time::Instant::now);
    }
}

impl Totals {
    fn add(&mut self, written: Option<usize>) {
        if let Some(records) = written {
            self.objects += 1;
            self.records += records;
        }
    }
}

/// Writes the buffer as one gzipped object, retrying until the write succeeds (Firehose retries
/// S3 for up to a day), and empties it. The number of records written, if there were any.
async fn write(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    config: &ArchiveConfig,
    buffer: &mut Buffer,
) -> Option<usize> {
    let oldest = buffer.oldest_arrival?;
    let buffered = std::mem::take(buffer);
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    let body = gzip
        .write_all(&buffered.lines)
        .and_then(|()| gzip.finish())
        .unwrap_or_else(|e| unreachable!("gzip into memory cannot fail: {e}"));
    let key = analytics::layout::layout().object_key(
        &config.delivery_stream,
        1,
        oldest,
        OffsetDateTime::now_utc(),
        Uuid::new_v4(),
    );
    loop {
        let put = s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(body.clone().into())
            .send()
            .await;
        match put {
            Ok(_) => return Some(buffered.records),
            Err(error) => {
                tracing::warn!(key, error = %error, "archive object not written; retrying");
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
) -> Result<Vec<(String, Vec<u8>)>, Box<dyn std::error::Error + Send + Sync>> {
    use std::io::Read;
    let prefix = &analytics::layout::layout().events_prefix;
    let mut records = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        keys.extend(
            page?
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
    }
    keys.sort();
    for key in keys {
        let object = s3.get_object().bucket(bucket).key(&key).send().await?;
        let gzipped = object.body.collect().await?.into_bytes();
        let mut lines = Vec::new();
        flate2::read::GzDecoder::new(gzipped.as_ref()).read_to_end(&mut lines)?;
        for line in lines.split(|b| *b == b'\n') {
            if !line.is_empty() {
                records.push((key.clone(), line.to_vec()));
            }
        }
    }
    Ok(records)
}
