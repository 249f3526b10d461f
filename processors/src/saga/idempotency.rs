//! Durable idempotency records, one per (consumer, order, call): the outcome of a call, so that
//! a redelivered event calls nothing.
//!
//! No record is written before the call. The service's `Idempotency-Key` is the lock: two
//! attempts that call at once get one decision (the later one a 409 until the first is
//! decided, then the stored answer). The stage looks the record up, calls if there is none,
//! and records the outcome with a write that only the first writer wins; a later writer reads
//! the winner's outcome and goes on with it. A crash between the call and the record leaves
//! nothing behind to wait for: the next attempt calls again with the same key and gets the
//! service's stored answer. Records never expire: a replay can bring back any event the
//! archive holds, and a service keeps its keys for a day or so only (docs/saga.md, "Replays and
//! the records' lifetime").

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
};
use ingest::lifecycle::Step;
use serde::{Deserialize, Serialize};

use crate::error_chain;
use crate::store::create_consumer_table;

pub mod attr {
    pub const CONSUMER: &str = "consumer";
    /// `{orderId}:{call}`, the call's `Idempotency-Key` too.
    pub const KEY: &str = "key";
    /// The call's outcome, JSON.
    pub const OUTCOME: &str = "outcome";
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

#[derive(Debug, thiserror::Error)]
#[error("the idempotency table failed for {key}")]
pub struct IdempotencyError {
    key: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// The records: [`DynamoIdempotency`] in the hosts, [`MemoryIdempotency`] in tests.
pub trait Idempotency: Send + Sync {
    /// The outcome recorded for `key`, if any (a strongly consistent read).
    fn lookup(
        &self,
        consumer: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Outcome>, IdempotencyError>> + Send;

    /// Records `outcome` for `key` unless one is recorded already; either way returns the
    /// outcome that stands, which the stage then acts on.
    fn record(
        &self,
        consumer: &str,
        key: &str,
        outcome: &Outcome,
    ) -> impl Future<Output = Result<Outcome, IdempotencyError>> + Send;
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

fn table_error(key: &str, error: impl std::error::Error) -> IdempotencyError {
    IdempotencyError {
        key: key.to_owned(),
        source: error_chain(&error).into(),
    }
}

fn stored_outcome(
    key: &str,
    item: Option<&std::collections::HashMap<String, AttributeValue>>,
) -> Result<Option<Outcome>, IdempotencyError> {
    item.and_then(|item| item.get(attr::OUTCOME))
        .map(|value| {
            let text = value
                .as_s()
                .map_err(|_| table_error(key, StoredOutcome("not a string")))?;
            serde_json::from_str(text).map_err(|e| table_error(key, e))
        })
        .transpose()
}

#[derive(Debug, thiserror::Error)]
#[error("the stored outcome is {0}")]
struct StoredOutcome(&'static str);

impl Idempotency for DynamoIdempotency {
    async fn lookup(&self, consumer: &str, key: &str) -> Result<Option<Outcome>, IdempotencyError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::CONSUMER, AttributeValue::S(consumer.to_owned()))
            .key(attr::KEY, AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| table_error(key, e))?;
        // A read: one read unit (an item under 4 KB, strongly consistent), not metered with the
        // batch's write units.
        stored_outcome(key, output.item())
    }

    async fn record(
        &self,
        consumer: &str,
        key: &str,
        outcome: &Outcome,
    ) -> Result<Outcome, IdempotencyError> {
        let text = serde_json::to_string(outcome).map_err(|e| table_error(key, e))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::CONSUMER, AttributeValue::S(consumer.to_owned()))
            .item(attr::KEY, AttributeValue::S(key.to_owned()))
            .item(attr::OUTCOME, AttributeValue::S(text))
            // An item without an outcome is a claim written by a release before this one:
            // nothing was decided under it.
            .condition_expression("attribute_not_exists(#key) OR attribute_not_exists(#outcome)")
            .expression_attribute_names("#key", attr::KEY)
            .expression_attribute_names("#outcome", attr::OUTCOME)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(output) => {
                crate::capacity::record(output.consumed_capacity());
                Ok(outcome.clone())
            }
            Err(SdkError::ServiceError(service)) => match service.into_err() {
                // Another attempt recorded first: its outcome stands.
                PutItemError::ConditionalCheckFailedException(failed) => {
                    crate::capacity::record_failed_condition();
                    stored_outcome(key, failed.item.as_ref())?
                        .ok_or_else(|| table_error(key, StoredOutcome("missing")))
                }
                other => Err(table_error(key, other)),
            },
            Err(other) => Err(table_error(key, other)),
        }
    }
}

/// Outcomes by (consumer, key).
type Outcomes = HashMap<(String, String), Outcome>;

/// Idempotency records in memory, for tests.
#[derive(Default)]
pub struct MemoryIdempotency {
    records: Mutex<Outcomes>,
}

impl MemoryIdempotency {
    fn records(&self, key: &str) -> Result<std::sync::MutexGuard<'_, Outcomes>, IdempotencyError> {
        self.records.lock().map_err(|_| IdempotencyError {
            key: key.to_owned(),
            source: "poisoned lock".into(),
        })
    }
}

impl Idempotency for MemoryIdempotency {
    async fn lookup(&self, consumer: &str, key: &str) -> Result<Option<Outcome>, IdempotencyError> {
        Ok(self
            .records(key)?
            .get(&(consumer.to_owned(), key.to_owned()))
            .cloned())
    }

    async fn record(
        &self,
        consumer: &str,
        key: &str,
        outcome: &Outcome,
    ) -> Result<Outcome, IdempotencyError> {
        Ok(self
            .records(key)?
            .entry((consumer.to_owned(), key.to_owned()))
            .or_insert_with(|| outcome.clone())
            .clone())
    }
}

/// Creates the idempotency table (on demand, no TTL), as the Pulumi
/// program does on AWS.
pub async fn create_idempotency_table(
    client: &Client,
    table: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    create_consumer_table(client, table, attr::CONSUMER, attr::KEY, None).await
}
