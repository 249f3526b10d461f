//! The orders table. See docs/tables.md for the design and the access patterns.
//!
//! Key: `orderId`. Index `byCustomer` (`customerId`, `placedAt`; keys only) lists a customer's
//! orders newest first. Writes are conditional on the order not existing yet, so a duplicate
//! record, a retried POST or a replayed window changes nothing.

use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
};
use ingest::config::ORDERS_BY_CUSTOMER_INDEX;
use ingest::order::OrderPlaced;
use serde::Serialize;

/// Attribute names the keys and the index use.
pub mod attr {
    pub const ORDER_ID: &str = "orderId";
    pub const CUSTOMER_ID: &str = "customerId";
    pub const PLACED_AT: &str = "placedAt";
    pub const STATUS: &str = "status";
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
}

impl OrderStore for DynamoOrderStore {
    async fn insert_if_absent(
        &self,
        order: &OrderPlaced,
        event_id: &str,
    ) -> Result<Insert, StoreError> {
        let item: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(OrderItem {
                order,
                status: "placed",
                placed_event_id: event_id,
            })
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", attr::ORDER_ID)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Insert::New),
            Err(SdkError::ServiceError(service)) => match service.into_err() {
                PutItemError::ConditionalCheckFailedException(failed) => {
                    let owner = failed.item().and_then(|item| item.get(attr::CUSTOMER_ID));
                    match owner {
                        Some(AttributeValue::S(owner)) if *owner != order.customer_id => {
                            Err(StoreError::Conflict {
                                order_id: order.order_id.to_string(),
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

/// Creates the orders table as the Pulumi program does (on-demand, the `byCustomer` index).
pub async fn create_orders_table(
    client: &Client,
    table: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    let by_customer = GlobalSecondaryIndex::builder()
        .index_name(ORDERS_BY_CUSTOMER_INDEX)
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
