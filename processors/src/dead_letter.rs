//! Dead letters: records a consumer gave up on, kept with their payload until someone redrives
//! them (`redrive`, docs/consumers.md).
//!
//! A record is dead-lettered when it is poison, or when it keeps failing past the attempt or
//! age limit ([`crate::batch::BatchConfig`]). The letter is written before the shard's position
//! moves past the record; if the write fails the record is retried, never skipped. Its object
//! key is fixed by the record (consumer, arrival hour, shard, sequence number), so writing it
//! again after a crash replaces it instead of adding a second letter.

use std::future::Future;
use std::sync::Mutex;

use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error_chain;
use crate::record::StreamRecord;

/// Where the consumers' own dead letters live in the dead-letter bucket; Lambda's on-failure
/// records live beside them under `aws/lambda/`.
pub const PREFIX: &str = "dead-letters/";

/// Why a record was given up on.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum GaveUp {
    /// It can never succeed (not an envelope, an unknown schema version, a permanent refusal).
    Poison,
    /// It failed transiently as many times as the attempt limit allows.
    AttemptLimit,
    /// It was still failing when older than the record age limit.
    AgeLimit,
}

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Poison => "poison",
            Self::AttemptLimit => "attempt limit reached",
            Self::AgeLimit => "age limit reached",
        })
    }
}

/// One record given up on, with everything needed to understand and redrive it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub consumer: String,
    pub stream: String,
    pub shard_id: String,
    pub sequence_number: String,
    /// The record's partition key (the customer): a redrive puts it back under the same key.
    pub partition_key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub arrived_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub first_failed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub dead_lettered_at: OffsetDateTime,
    pub attempts: u32,
    pub gave_up: GaveUp,
    /// The last failure, with its whole cause chain.
    pub reason: String,
    /// The envelope's id, type and customer, when the payload is one.
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub customer_id: Option<String>,
    /// The record's data, base64.
    pub payload: String,
}

/// The envelope fields a dead letter names, read leniently: any may be missing.
#[derive(Deserialize, Default)]
struct EnvelopeHead {
    id: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    customerid: Option<String>,
}

/// What the engine knows about a record when it gives up on it.
pub struct GiveUp<'a> {
    pub consumer: &'a str,
    pub stream: &'a str,
    pub record: &'a StreamRecord,
    pub attempts: u32,
    pub first_failed_at: OffsetDateTime,
    pub gave_up: GaveUp,
    pub reason: String,
}

impl DeadLetter {
    pub fn new(give_up: GiveUp<'_>) -> Self {
        let record = give_up.record;
        let head: EnvelopeHead = serde_json::from_slice(&record.data).unwrap_or_default();
        Self {
            consumer: give_up.consumer.to_owned(),
            stream: give_up.stream.to_owned(),
            shard_id: record.shard_id.clone(),
            sequence_number: record.sequence_number.clone(),
            partition_key: record.partition_key.clone(),
            arrived_at: record.arrived_at,
            first_failed_at: give_up.first_failed_at,
            dead_lettered_at: OffsetDateTime::now_utc(),
            attempts: give_up.attempts,
            gave_up: give_up.gave_up,
            reason: give_up.reason,
            event_id: head.id,
            event_type: head.event_type,
            customer_id: head.customerid,
            payload: base64::engine::general_purpose::STANDARD.encode(&record.data),
        }
    }

    /// `dead-letters/{consumer}/{yyyy}/{mm}/{dd}/{hh}/{shard}-{sequence}.json`, by arrival hour
    /// (UTC), so that keys sort by consumer and arrival, and one hour lists with `aws s3 ls`.
    pub fn key(&self) -> String {
        format!(
            "{}{}-{}.json",
            hour_prefix(&self.consumer, self.arrived_at),
            self.shard_id,
            self.sequence_number
        )
    }

    /// The record's data as it was on the stream.
    pub fn payload(&self) -> Result<Vec<u8>, base64::DecodeError> {
        base64::engine::general_purpose::STANDARD.decode(&self.payload)
    }
}

/// The prefix of `consumer`'s letters for records that arrived in `hour`'s UTC hour.
pub fn hour_prefix(consumer: &str, hour: OffsetDateTime) -> String {
    let hour = hour.to_offset(time::UtcOffset::UTC);
    format!(
        "{PREFIX}{consumer}/{:04}/{:02}/{:02}/{:02}/",
        hour.year(),
        u8::from(hour.month()),
        hour.day(),
        hour.hour()
    )
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write dead letter {key}")]
pub struct DeadLetterError {
    pub key: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Where dead letters are kept: [`S3DeadLetters`] in the hosts, [`MemoryDeadLetters`] in tests
/// and benchmarks.
pub trait DeadLetters: Send + Sync {
    /// Keeps `letter` durably; `Ok` only once it is stored.
    fn put(&self, letter: &DeadLetter) -> impl Future<Output = Result<(), DeadLetterError>> + Send;
}

/// Dead letters as JSON objects in the dead-letter bucket (encrypted with the bucket's key).
#[derive(Clone)]
pub struct S3DeadLetters {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3DeadLetters {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

impl DeadLetters for S3DeadLetters {
    async fn put(&self, letter: &DeadLetter) -> Result<(), DeadLetterError> {
        let key = letter.key();
        let error = |source: Box<dyn std::error::Error + Send + Sync>| DeadLetterError {
            key: key.clone(),
            source,
        };
        let body = serde_json::to_vec_pretty(letter).map_err(|e| error(Box::new(e)))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| error(error_chain(&e).into()))?;
        Ok(())
    }
}

/// Dead letters kept in memory, for tests and benchmarks.
#[derive(Default)]
pub struct MemoryDeadLetters {
    letters: Mutex<Vec<DeadLetter>>,
    /// Refuses every write while true, to test that a record is then retried.
    pub refuse: std::sync::atomic::AtomicBool,
}

impl MemoryDeadLetters {
    /// The letters kept, in the order they were written.
    pub fn letters(&self) -> Vec<DeadLetter> {
        self.letters.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl DeadLetters for MemoryDeadLetters {
    async fn put(&self, letter: &DeadLetter) -> Result<(), DeadLetterError> {
        if self.refuse.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(DeadLetterError {
                key: letter.key(),
                source: "refused".into(),
            });
        }
        if let Ok(mut letters) = self.letters.lock() {
            letters.push(letter.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(data: &[u8]) -> StreamRecord {
        StreamRecord {
            shard_id: "shardId-000000000003".into(),
            sequence_number: "4960".into(),
            partition_key: "customer-1".into(),
            data: bytes::Bytes::copy_from_slice(data),
            arrived_at: time::macros::datetime!(2026-11-25 07:59:59.900 UTC),
        }
    }

    fn letter(data: &[u8]) -> DeadLetter {
        DeadLetter::new(GiveUp {
            consumer: "orders-materialiser",
            stream: "orders",
            record: &record(data),
            attempts: 3,
            first_failed_at: time::macros::datetime!(2026-11-25 08:00:00 UTC),
            gave_up: GaveUp::AttemptLimit,
            reason: "store down: connection refused".into(),
        })
    }

    #[test]
    fn a_letter_is_keyed_by_consumer_arrival_hour_shard_and_sequence() {
        assert_eq!(
            letter(b"{}").key(),
            "dead-letters/orders-materialiser/2026/11/25/07/shardId-000000000003-4960.json"
        );
    }

    #[test]
    fn a_letter_names_the_envelope_and_keeps_the_payload_exactly() {
        let data = br#"{"id":"e-1","type":"order.placed","customerid":"c-9","data":{}}"#;
        let letter = letter(data);
        assert_eq!(letter.event_id.as_deref(), Some("e-1"));
        assert_eq!(letter.event_type.as_deref(), Some("order.placed"));
        assert_eq!(letter.customer_id.as_deref(), Some("c-9"));
        assert_eq!(letter.payload().expect("base64"), data.to_vec());
        let json = serde_json::to_string(&letter).expect("json");
        let back: DeadLetter = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, letter);
        assert!(json.contains(r#""gaveUp":"attemptLimit""#), "{json}");
    }

    #[test]
    fn a_payload_that_is_not_json_is_kept_without_envelope_fields() {
        let letter = letter(&[0xff, 0x00, 0x7b]);
        assert_eq!(letter.event_id, None);
        assert_eq!(letter.payload().expect("base64"), vec![0xff, 0x00, 0x7b]);
    }
}
