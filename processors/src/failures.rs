//! How often, and since when, a record has been failing: kept durably, so the attempt and age
//! limits hold across redeliveries, restarts and Lambda invocations alike.
//!
//! Written only when a record fails (one `UpdateItem`), so a healthy pipeline pays nothing for
//! it. Items expire by TTL after [`KEEP_FOR`], longer than any stream retention.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, ReturnValue};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error_chain;
use crate::record::StreamRecord;
use crate::store::create_consumer_table;

/// How long a failure count is kept: past the longest stream retention (7 days).
pub const KEEP_FOR: Duration = Duration::from_secs(8 * 24 * 3600);

pub mod attr {
    pub const CONSUMER: &str = "consumer";
    /// `{shardId}/{sequenceNumber}`
    pub const RECORD: &str = "record";
    pub const ATTEMPTS: &str = "attempts";
    pub const FIRST_FAILED_AT: &str = "firstFailedAt";
    /// Epoch seconds, the table's TTL attribute.
    pub const EXPIRES_AT: &str = "expiresAt";
}

/// A record's failures so far, this one included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub attempts: u32,
    pub first_failed_at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot count a failure of {record} in the failures table")]
pub struct FailureLogError {
    record: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// Counts failed attempts per record: [`DynamoFailureLog`] in the hosts, [`MemoryFailureLog`]
/// in tests and benchmarks.
pub trait FailureLog: Send + Sync {
    /// Counts one more failed attempt at `record` by `consumer`.
    fn record_failure(
        &self,
        consumer: &str,
        record: &StreamRecord,
    ) -> impl Future<Output = Result<Failures, FailureLogError>> + Send;
}

fn record_key(record: &StreamRecord) -> String {
    format!("{}/{}", record.shard_id, record.sequence_number)
}

#[derive(Clone)]
pub struct DynamoFailureLog {
    client: Client,
    table: String,
}

impl DynamoFailureLog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl FailureLog for DynamoFailureLog {
    async fn record_failure(
        &self,
        consumer: &str,
        record: &StreamRecord,
    ) -> Result<Failures, FailureLogError> {
        let record_key = record_key(record);
        let error = |source: Box<dyn std::error::Error + Send + Sync>| FailureLogError {
            record: record_key.clone(),
            source,
        };
        let now = OffsetDateTime::now_utc();
        let expires_at = (now + KEEP_FOR).unix_timestamp();
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::CONSUMER, AttributeValue::S(consumer.to_owned()))
            .key(attr::RECORD, AttributeValue::S(record_key.clone()))
            .update_expression(
                "ADD #attempts :one SET #first = if_not_exists(#first, :now), #expires = :expires",
            )
            .expression_attribute_names("#attempts", attr::ATTEMPTS)
            .expression_attribute_names("#first", attr::FIRST_FAILED_AT)
            .expression_attribute_names("#expires", attr::EXPIRES_AT)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(
                ":now",
                AttributeValue::S(ingest::order::sortable_time::format(now)),
            )
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
            .return_values(ReturnValue::AllNew)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| error(error_chain(&e).into()))?;
        crate::capacity::record(output.consumed_capacity());
        let item = output.attributes.unwrap_or_default();
        let attempts = item
            .get(attr::ATTEMPTS)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| error("no attempt count in the answer".into()))?;
        let first_failed_at = item
            .get(attr::FIRST_FAILED_AT)
            .and_then(|v| v.as_s().ok())
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
            .ok_or_else(|| error("no first failure time in the answer".into()))?;
        Ok(Failures {
            attempts,
            first_failed_at,
        })
    }
}

/// Failure counts in memory, for tests and benchmarks.
#[derive(Default)]
pub struct MemoryFailureLog {
    counts: Mutex<HashMap<(String, String), Failures>>,
}

impl FailureLog for MemoryFailureLog {
    async fn record_failure(
        &self,
        consumer: &str,
        record: &StreamRecord,
    ) -> Result<Failures, FailureLogError> {
        let mut counts = self.counts.lock().map_err(|_| FailureLogError {
            record: record_key(record),
            source: "poisoned lock".into(),
        })?;
        let failures = counts
            .entry((consumer.to_owned(), record_key(record)))
            .or_insert(Failures {
                attempts: 0,
                first_failed_at: OffsetDateTime::now_utc(),
            });
        failures.attempts += 1;
        Ok(*failures)
    }
}

/// Creates the failures table (on demand, TTL on [`attr::EXPIRES_AT`]), as the Pulumi program
/// does on AWS.
pub async fn create_failures_table(
    client: &Client,
    table: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    create_consumer_table(
        client,
        table,
        attr::CONSUMER,
        attr::RECORD,
        Some(attr::EXPIRES_AT),
    )
    .await
}
