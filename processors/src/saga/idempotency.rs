//! Durable idempotency records, one per (consumer, order, call), so that a stage calls a
//! downstream service once per order however often its input event is delivered.
//!
//! Before the call the stage claims the record (in progress, with a lease that ends at the
//! call's own deadline); after it, the record is completed with the outcome. A record already
//! completed answers with the stored outcome and nothing is called. A crash between the call and
//! the completion leaves the claim to expire; the next attempt calls again with the same
//! `Idempotency-Key`, and the service answers with what it already did. Records expire by TTL
//! after [`KEEP_FOR`], past any replay of the stream's retention.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
};
use ingest::lifecycle::Step;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error_chain;
use crate::store::create_consumer_table;

/// How long a completed record is kept.
pub const KEEP_FOR: Duration = Duration::from_secs(35 * 24 * 3600);

pub mod attr {
    pub const CONSUMER: &str = "consumer";
    /// `{orderId}:{call}`, the call's `Idempotency-Key` too.
    pub const KEY: &str = "key";
    /// `inProgress` or `completed`.
    pub const STATE: &str = "state";
    /// Epoch milliseconds: an in-progress claim older than this may be taken over.
    pub const LEASE_UNTIL: &str = "leaseUntil";
    /// The completed call's outcome, JSON.
    pub const OUTCOME: &str = "outcome";
    /// Epoch seconds, the table's TTL attribute.
    pub const EXPIRES_AT: &str = "expiresAt";
}

/// What a completed call decided: the step it leads to, with the service's reference or reason.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub step: Step,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What claiming a record found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours: make the call, then [`Idempotency::complete`] it.
    Claimed,
    /// Done before: its outcome, nothing to call.
    Completed(Outcome),
    /// Another attempt holds it until its lease ends.
    Busy { lease_until: OffsetDateTime },
}

#[derive(Debug, thiserror::Error)]
#[error("the idempotency table failed for {key}")]
pub struct IdempotencyError {
    key: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// The records: [`DynamoIdempotency`] in the hosts, [`MemoryIdempotency`] in tests.
pub trait Idempotency: Send + Sync {
    /// Claims `key` for `consumer` until `lease_until`, unless it is completed or claimed.
    fn claim(
        &self,
        consumer: &str,
        key: &str,
        lease_until: OffsetDateTime,
    ) -> impl Future<Output = Result<Claim, IdempotencyError>> + Send;

    /// Completes `key` with `outcome`.
    fn complete(
        &self,
        consumer: &str,
        key: &str,
        outcome: &Outcome,
    ) -> impl Future<Output = Result<(), IdempotencyError>> + Send;

    /// Gives up a claim after a failed call, so the next attempt need not wait for the lease.
    fn release(
        &self,
        consumer: &str,
        key: &str,
    ) -> impl Future<Output = Result<(), IdempotencyError>> + Send;
}

#[derive(Clone)]
pub struct DynamoIdempotency {
    client: Client,
    table: String,
}

impl DynamoIdempotency {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn table_error(key: &str, error: impl std::error::Error) -> IdempotencyError {
    IdempotencyError {
        key: key.to_owned(),
        source: error_chain(&error).into(),
    }
}

impl Idempotency for DynamoIdempotency {
    async fn claim(
        &self,
        consumer: &str,
        key: &str,
        lease_until: OffsetDateTime,
    ) -> Result<Claim, IdempotencyError> {
        let now = OffsetDateTime::now_utc();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::CONSUMER, AttributeValue::S(consumer.to_owned()))
            .item(attr::KEY, AttributeValue::S(key.to_owned()))
            .item(attr::STATE, AttributeValue::S("inProgress".into()))
            .item(
                attr::LEASE_UNTIL,
                AttributeValue::N(millis(lease_until).to_string()),
            )
            .item(
                attr::EXPIRES_AT,
                AttributeValue::N((now + KEEP_FOR).unix_timestamp().to_string()),
            )
            .condition_expression(
                "attribute_not_exists(#key) OR (#state = :inProgress AND #lease < :now)",
            )
            .expression_attribute_names("#key", attr::KEY)
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#lease", attr::LEASE_UNTIL)
            .expression_attribute_values(":inProgress", AttributeValue::S("inProgress".into()))
            .expression_attribute_values(":now", AttributeValue::N(millis(now).to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let failed = match result {
            Ok(output) => {
                crate::capacity::record(output.consumed_capacity());
                return Ok(Claim::Claimed);
            }
            Err(SdkError::ServiceError(service)) => match service.into_err() {
                PutItemError::ConditionalCheckFailedException(failed) => {
                    crate::capacity::record_failed_condition();
                    failed
                }
                other => return Err(table_error(key, other)),
            },
            Err(other) => return Err(table_error(key, other)),
        };
        let item = failed.item.unwrap_or_default();
        if let Some(outcome) = item.get(attr::OUTCOME).and_then(|v| v.as_s().ok()) {
            let outcome: Outcome =
                serde_json::from_str(outcome).map_err(|e| table_error(key, e))?;
            return Ok(Claim::Completed(outcome));
        }
        let lease_until = item
            .get(attr::LEASE_UNTIL)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
            .and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            })
            .unwrap_or(now);
        Ok(Claim::Busy { lease_until })
    }

    async fn complete(
        &self,
        consumer: &str,
        key: &str,
        outcome: &Outcome,
    ) -> Result<(), IdempotencyError> {
        let outcome = serde_json::to_string(outcome).map_err(|e| table_error(key, e))?;
        let expires_at = (OffsetDateTime::now_utc() + KEEP_FOR).unix_timestamp();
        let output = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::CONSUMER, AttributeValue::S(consumer.to_owned()))
            .item(attr::KEY, AttributeValue::S(key.to_owned()))
            .item(attr::STATE, AttributeValue::S("completed".into()))
            .item(attr::OUTCOME, AttributeValue::S(outcome))
            .item(attr::EXPIRES_AT, AttributeValue::N(expires_at.to_string()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| table_error(key, e))?;
        crate::capacity::record(output.consumed_capacity());
        Ok(())
    }

    async fn release(&self, consumer: &str, key: &str) -> Result<(), IdempotencyError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(attr::CONSUMER, AttributeValue::S(consumer.to_owned()))
            .key(attr::KEY, AttributeValue::S(key.to_owned()))
            .condition_expression("#state = :inProgress")
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_values(":inProgress", AttributeValue::S("inProgress".into()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            // Completed meanwhile (or gone): nothing to give up.
            Err(SdkError::ServiceError(service))
                if service.err().is_conditional_check_failed_exception() =>
            {
                crate::capacity::record_failed_condition();
                Ok(())
            }
            Err(other) => Err(table_error(key, other)),
            Ok(output) => {
                crate::capacity::record(output.consumed_capacity());
                Ok(())
            }
        }
    }
}

/// Idempotency records in memory, for tests.
#[derive(Default)]
pub struct MemoryIdempotency {
    records: Mutex<HashMap<(String, String), Result<Outcome, OffsetDateTime>>>,
}

impl Idempotency for MemoryIdempotency {
    async fn claim(
        &self,
        consumer: &str,
        key: &str,
        lease_until: OffsetDateTime,
    ) -> Result<Claim, IdempotencyError> {
        let mut records = self.records.lock().map_err(|_| IdempotencyError {
            key: key.to_owned(),
            source: "poisoned lock".into(),
        })?;
        let id = (consumer.to_owned(), key.to_owned());
        match records.get(&id) {
            Some(Ok(outcome)) => Ok(Claim::Completed(outcome.clone())),
            Some(Err(lease)) if *lease > OffsetDateTime::now_utc() => Ok(Claim::Busy {
                lease_until: *lease,
            }),
            _ => {
                records.insert(id, Err(lease_until));
                Ok(Claim::Claimed)
            }
        }
    }

    async fn complete(
        &self,
        consumer: &str,
        key: &str,
        outcome: &Outcome,
    ) -> Result<(), IdempotencyError> {
        if let Ok(mut records) = self.records.lock() {
            records.insert((consumer.to_owned(), key.to_owned()), Ok(outcome.clone()));
        }
        Ok(())
    }

    async fn release(&self, consumer: &str, key: &str) -> Result<(), IdempotencyError> {
        if let Ok(mut records) = self.records.lock() {
            let id = (consumer.to_owned(), key.to_owned());
            if matches!(records.get(&id), Some(Err(_))) {
                records.remove(&id);
            }
        }
        Ok(())
    }
}

/// Creates the idempotency table (on demand, TTL on [`attr::EXPIRES_AT`]), as the Pulumi
/// program does on AWS.
pub async fn create_idempotency_table(
    client: &Client,
    table: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    create_consumer_table(
        client,
        table,
        attr::CONSUMER,
        attr::KEY,
        Some(attr::EXPIRES_AT),
    )
    .await
}
