//! The orders table. See docs/tables.md for the design and the access patterns.
//!
//! Key: `orderId`. Index `byCustomer` (`customerId`, `placedAt`; keys only) lists a customer's
//! orders newest first. Writes are conditional on the order not existing yet, so a duplicate
//! record, a retried POST or a replayed window changes nothing.

use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
};
use ingest::envelope::Envelope;
use ingest::lifecycle::{Step, StepData};
use ingest::order::{OrderPlaced, RejectedOrder};
use serde::Serialize;

/// Attribute names of the orders table, shared with the read side (`ingest::query`).
pub use ingest::config::orders_table as attr;

/// The overall status a lifecycle step moves an order to, and its rank: the status changes
/// only to a higher rank, so a duplicate, a replay or a late event never moves an order back.
/// `placed` (0) → `reserved` (1) → `fulfilment_requested` (2) → `completed` (10); or `failed`
/// (8), then `released` (9) once a failed order's reservation is given back; or `rejected` (9).
/// `completed` outranks `failed`: a stage that failed and was redriven by an operator can still
/// complete the order.
pub fn status_of(step: Step) -> (&'static str, u8) {
    match step {
        Step::InventoryReserved => ("reserved", 1),
        Step::FulfilmentRequested => ("fulfilment_requested", 2),
        Step::Accounted => ("completed", 10),
        Step::InventoryFailed | Step::FulfilmentFailed | Step::AccountingFailed => ("failed", 8),
        Step::InventoryReleased => ("released", 9),
        Step::InventoryRejected => ("rejected", 9),
    }
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    New,
    /// The order was already there (same id, same customer): nothing changed.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The order id is already taken by another customer's order; the record is poison.
    #[error("order {order_id} already belongs to another customer")]
    Conflict { order_id: String },
    #[error("the orders table failed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where materialised orders live.
pub trait OrderStore: Send + Sync {
    fn insert_if_absent(
        &self,
        order: &OrderPlaced,
        event_id: &str,
    ) -> impl Future<Output = Result<Insert, StoreError>> + Send;

    /// Stores an order that breaks the business rules as `rejected`, with its violations, once.
    fn insert_rejected(
        &self,
        order: &RejectedOrder,
        event_id: &str,
    ) -> impl Future<Output = Result<Insert, StoreError>> + Send;

    /// Records a lifecycle step on the order: the step's entry always (once), the status only
    /// if the step moves it forward. Creates the order from the step's data if it is missing.
    fn apply_step(
        &self,
        step: Step,
        event: &Envelope<StepData>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The order item as stored: the placed order plus its lifecycle state.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderItem<'a> {
    #[serde(flatten)]
    order: &'a OrderPlaced,
    /// Overall status; the lifecycle stages move it forward.
    status: &'static str,
    /// The CloudEvents id of the `order.placed` event that created the item.
    placed_event_id: &'a str,
    status_rank: u8,
    /// Empty at first: lifecycle steps are added to it.
    steps: std::collections::HashMap<String, String>,
}

/// A rejected order as stored: who, when and why; it has no lines, total or address to show
/// because its data may not be readable.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RejectedItem<'a> {
    #[serde(flatten)]
    order: &'a RejectedOrder,
    status: &'static str,
    placed_event_id: &'a str,
    status_rank: u8,
}

/// The status and rank of an order rejected on arrival for breaking the rules: final, like an
/// inventory rejection.
pub const REJECTED: (&str, u8) = ("rejected", 9);

/// One lifecycle step as recorded on the order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepEntry<'a> {
    #[serde(with = "ingest::order::sortable_time")]
    at: time::OffsetDateTime,
    event_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
}

pub struct DynamoOrderStore {
    pub(crate) client: Client,
    pub(crate) table: String,
}

impl DynamoOrderStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Puts a new order item unless the order exists; the same order again is a duplicate,
    /// another customer's order under the same id a conflict.
    async fn put_new(
        &self,
        item: std::collections::HashMap<String, AttributeValue>,
        order_id: &str,
        customer_id: &str,
    ) -> Result<Insert, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", attr::ORDER_ID)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(output) => {
                crate::capacity::record(output.consumed_capacity());
                Ok(Insert::New)
            }
            Err(SdkError::ServiceError(service)) => match service.into_err() {
                PutItemError::ConditionalCheckFailedException(failed) => {
                    crate::capacity::record_failed_condition();
                    let owner = failed.item().and_then(|item| item.get(attr::CUSTOMER_ID));
                    match owner {
                        Some(AttributeValue::S(owner)) if owner != customer_id => {
                            Err(StoreError::Conflict {
                                order_id: order_id.to_owned(),
                            })
                        }
                        _ => Ok(Insert::Duplicate),
                    }
                }
                other => Err(StoreError::Unavailable(Box::new(other))),
            },
            Err(other) => Err(StoreError::Unavailable(Box::new(other))),
        }
    }
}

impl OrderStore for DynamoOrderStore {
    async fn insert_if_absent(
        &self,
        order: &OrderPlaced,
        event_id: &str,
    ) -> Result<Insert, StoreError> {
        let item = serde_dynamo::to_item(OrderItem {
            order,
            status: "placed",
            placed_event_id: event_id,
            status_rank: 0,
            steps: std::collections::HashMap::new(),
        })
        .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        self.put_new(item, &order.order_id.to_string(), &order.customer_id)
            .await
    }

    async fn insert_rejected(
        &self,
        order: &RejectedOrder,
        event_id: &str,
    ) -> Result<Insert, StoreError> {
        let (status, status_rank) = REJECTED;
        let item = serde_dynamo::to_item(RejectedItem {
            order,
            status,
            placed_event_id: event_id,
            status_rank,
        })
        .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        self.put_new(item, &order.order_id.to_string(), &order.customer_id)
            .await
    }

    async fn apply_step(&self, step: Step, event: &Envelope<StepData>) -> Result<(), StoreError> {
        // Usually one write: the step and the status together, as the status moves forward.
        if self.step_forward(step, event).await? {
            return Ok(());
        }
        match self.step_only(step, event).await? {
            StepOnly::Recorded | StepOnly::AlreadyThere => Ok(()),
            StepOnly::NoOrder => {
                // Its `order.placed` was never materialised: create the order from the step's
                // data, then apply the step.
                self.insert_if_absent(&event.data.order, &event.id).await?;
                if !self.step_forward(step, event).await? {
                    self.step_only(step, event).await?;
                }
                Ok(())
            }
        }
    }
}

/// What recording a step without moving the status did.
enum StepOnly {
    Recorded,
    AlreadyThere,
    NoOrder,
}

impl DynamoOrderStore {
    /// Records the step and moves the status, if the step moves it forward; `false` if it does
    /// not (or the order is missing).
    async fn step_forward(
        &self,
        step: Step,
        event: &Envelope<StepData>,
    ) -> Result<bool, StoreError> {
        let (status, rank) = status_of(step);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ORDER_ID, order_key(event))
            .update_expression("SET #steps.#step = :entry, #status = :status, #rank = :rank")
            .condition_expression("attribute_exists(#id) AND #rank < :rank")
            .expression_attribute_names("#id", attr::ORDER_ID)
            .expression_attribute_names("#steps", attr::STEPS)
            .expression_attribute_names("#step", step.name())
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#rank", attr::STATUS_RANK)
            .expression_attribute_values(":entry", step_entry(event)?)
            .expression_attribute_values(":status", AttributeValue::S(status.to_owned()))
            .expression_attribute_values(":rank", AttributeValue::N(rank.to_string()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(output) => {
                crate::capacity::record(output.consumed_capacity());
                Ok(true)
            }
            Err(error) if is_condition_failure(&error) => {
                crate::capacity::record_failed_condition();
                Ok(false)
            }
            Err(error) => Err(StoreError::Unavailable(Box::new(error))),
        }
    }

    /// Records the step alone, once: the status is already as far or further (a duplicate, or a
    /// step seen late).
    async fn step_only(
        &self,
        step: Step,
        event: &Envelope<StepData>,
    ) -> Result<StepOnly, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ORDER_ID, order_key(event))
            .update_expression("SET #steps.#step = :entry")
            .condition_expression("attribute_exists(#id) AND attribute_not_exists(#steps.#step)")
            .expression_attribute_names("#id", attr::ORDER_ID)
            .expression_attribute_names("#steps", attr::STEPS)
            .expression_attribute_names("#step", step.name())
            .expression_attribute_values(":entry", step_entry(event)?)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(output) => {
                crate::capacity::record(output.consumed_capacity());
                Ok(StepOnly::Recorded)
            }
            Err(SdkError::ServiceError(service)) => match service.into_err() {
                UpdateItemError::ConditionalCheckFailedException(failed) => {
                    crate::capacity::record_failed_condition();
                    Ok(match failed.item() {
                        Some(_) => StepOnly::AlreadyThere,
                        None => StepOnly::NoOrder,
                    })
                }
                other => Err(StoreError::Unavailable(Box::new(other))),
            },
            Err(other) => Err(StoreError::Unavailable(Box::new(other))),
        }
    }
}

fn order_key(event: &Envelope<StepData>) -> AttributeValue {
    AttributeValue::S(event.data.order.order_id.to_string())
}

fn step_entry(event: &Envelope<StepData>) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(StepEntry {
        at: event.time,
        event_id: &event.id,
        reason: event.data.reason.as_deref(),
        reference: event.data.reference.as_deref(),
    })
    .map_err(|e| StoreError::Unavailable(Box::new(e)))
}

fn is_condition_failure<R>(error: &SdkError<UpdateItemError, R>) -> bool {
    matches!(
        error,
        SdkError::ServiceError(service)
            if matches!(service.err(), UpdateItemError::ConditionalCheckFailedException(_))
    )
}

/// Creates the orders table as the Pulumi program does (on-demand, the `byCustomer` index).
pub async fn create_orders_table(
    client: &Client,
    table: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    let by_customer = GlobalSecondaryIndex::builder()
        .index_name(attr::BY_CUSTOMER_INDEX)
        .key_schema(key(attr::CUSTOMER_ID, KeyType::Hash))
        .key_schema(key(attr::PLACED_AT, KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .unwrap_or_else(|e| unreachable!("index fields are set: {e}"));
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attr(attr::ORDER_ID))
        .attribute_definitions(string_attr(attr::CUSTOMER_ID))
        .attribute_definitions(string_attr(attr::PLACED_AT))
        .key_schema(key(attr::ORDER_ID, KeyType::Hash))
        .global_secondary_indexes(by_customer)
        .send()
        .await?;
    Ok(())
}

pub(crate) fn key(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .unwrap_or_else(|e| unreachable!("name and type are set: {e}"))
}

pub(crate) fn string_attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap_or_else(|e| unreachable!("name and type are set: {e}"))
}

/// Creates an on-demand table keyed by `hash` and `range` (both strings), with TTL on
/// `expires_at` if given: the shape of the consumers' own tables (checkpoints, failures,
/// idempotency records), each keyed by consumer first.
pub(crate) async fn create_consumer_table(
    client: &Client,
    table: &str,
    hash: &str,
    range: &str,
    expires_at: Option<&str>,
) -> Result<(), aws_sdk_dynamodb::Error> {
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attr(hash))
        .attribute_definitions(string_attr(range))
        .key_schema(key(hash, KeyType::Hash))
        .key_schema(key(range, KeyType::Range))
        .send()
        .await?;
    if let Some(attribute) = expires_at {
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(attribute)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}
