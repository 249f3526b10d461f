//! Puts envelopes on the orders stream.
//!
//! `PutRecords` fails per entry: the response's `FailedRecordCount` and each entry's `ErrorCode`
//! are data, and only the failed entries are sent again.

use std::time::Duration;

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use backon::{BackoffBuilder, ExponentialBuilder};

/// Most entries `PutRecords` takes in one call.
pub const MAX_BATCH_ENTRIES: usize = 500;
/// Attempts for the entries of a batch that keep failing, the first included: few, for the
/// gateway, whose client is waiting and retries after `Retry-After` itself.
const BATCH_ATTEMPTS: u32 = 4;
/// Attempts of a [`Producer::patient`] producer: enough to wait out a throttled second.
const PATIENT_ATTEMPTS: u32 = 10;
const BATCH_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// One record to put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub partition_key: String,
    pub data: Vec<u8>,
}

/// Where a record landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    pub shard_id: String,
    pub sequence_number: String,
}

/// Why a record is not on the stream. Either way it is safe to send again.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum PutError {
    /// The stream's write capacity is exhausted: retry after a short wait.
    #[error("the stream is throttling writes")]
    Throttled,
    /// The stream could not be reached or failed internally.
    #[error("the stream is unavailable: {0}")]
    Unavailable(String),
}

impl PutError {
    fn from_code(code: Option<&str>, message: Option<&str>) -> Self {
        match code {
            Some("ProvisionedThroughputExceededException" | "KMSThrottlingException") => {
                Self::Throttled
            }
            _ => Self::Unavailable(format!(
                "{}: {}",
                code.unwrap_or("unknown"),
                message.unwrap_or("no message")
            )),
        }
    }

    fn from_sdk<E, R>(error: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match error {
            SdkError::ServiceError(service) => {
                Self::from_code(service.err().code(), service.err().message())
            }
            other => {
                Self::Unavailable(aws_sdk_kinesis::error::DisplayErrorContext(other).to_string())
            }
        }
    }
}

#[derive(Clone)]
pub struct Producer {
    client: aws_sdk_kinesis::Client,
    stream: String,
    attempts: u32,
}

impl Producer {
    pub fn new(client: aws_sdk_kinesis::Client, stream: impl Into<String>) -> Self {
        Self {
            client,
            stream: stream.into(),
            attempts: BATCH_ATTEMPTS,
        }
    }

    /// A producer that keeps retrying throttled entries for about 5.5 s (10 attempts, at most
    /// 1 s apart), so that a shard over its 1,000 records/s for a second does not fail the
    /// caller. For consumers emitting events: a failed emit makes the whole shard resubscribe
    /// and handle its batch again, which costs far more than waiting.
    pub fn patient(mut self) -> Self {
        self.attempts = PATIENT_ATTEMPTS;
        self
    }

    pub async fn put(&self, entry: Entry) -> Result<Placed, PutError> {
        let output = self
            .client
            .put_record()
            .stream_name(&self.stream)
            .partition_key(entry.partition_key)
            .data(Blob::new(entry.data))
            .send()
            .await
            .map_err(|e| PutError::from_sdk(&e))?;
        Ok(Placed {
            shard_id: output.shard_id,
            sequence_number: output.sequence_number,
        })
    }

    /// Puts up to [`MAX_BATCH_ENTRIES`] records, retrying only the entries that failed, and
    /// returns one result per entry in the order given.
    pub async fn put_batch(&self, entries: Vec<Entry>) -> Vec<Result<Placed, PutError>> {
        debug_assert!(entries.len() <= MAX_BATCH_ENTRIES);
        let mut results: Vec<Result<Placed, PutError>> =
            vec![Err(PutError::Unavailable("not sent".to_owned())); entries.len()];
        let mut pending: Vec<usize> = (0..entries.len()).collect();
        // Exponential with jitter, so that gateways throttled together do not retry together.
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(BATCH_BACKOFF)
            .with_max_delay(MAX_BACKOFF)
            .with_jitter()
            .without_max_times()
            .build();
        for attempt in 0..self.attempts {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(delays.next().unwrap_or(BATCH_BACKOFF)).await;
            }
            let request: Vec<PutRecordsRequestEntry> = pending
                .iter()
                .map(|&i| {
                    PutRecordsRequestEntry::builder()
                        .partition_key(&entries[i].partition_key)
                        .data(Blob::new(entries[i].data.clone()))
                        .build()
                        .unwrap_or_else(|e| unreachable!("both required fields are set: {e}"))
                })
                .collect();
            let output = match self
                .client
                .put_records()
                .stream_name(&self.stream)
                .set_records(Some(request))
                .send()
                .await
            {
                Ok(output) => output,
                Err(e) => {
                    let error = PutError::from_sdk(&e);
                    tracing::warn!(attempt, entries = pending.len(), %error, "PutRecords failed");
                    for &i in &pending {
                        results[i] = Err(error.clone());
                    }
                    continue;
                }
            };
            let mut still_failing = Vec::new();
            for (&i, record) in pending.iter().zip(output.records()) {
                match (&record.shard_id, &record.sequence_number) {
                    (Some(shard_id), Some(sequence_number)) if record.error_code.is_none() => {
                        results[i] = Ok(Placed {
                            shard_id: shard_id.clone(),
                            sequence_number: sequence_number.clone(),
                        });
                    }
                    _ => {
                        results[i] = Err(PutError::from_code(
                            record.error_code.as_deref(),
                            record.error_message.as_deref(),
                        ));
                        still_failing.push(i);
                    }
                }
            }
            if !still_failing.is_empty() {
                tracing::info!(
                    attempt,
                    failed = output.failed_record_count.unwrap_or_default(),
                    "PutRecords partially failed; retrying the failed entries"
                );
            }
            pending = still_failing;
        }
        results
    }
}
