//! The stream record: a CloudEvents 1.0 structured-mode JSON event.
//!
//! Every record on the orders stream is one [`Envelope`]. Its `subject` is the order id, its
//! `customerid` extension attribute is the customer (from the authenticated token) and also the
//! partition key, so one customer's events stay in order.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::lifecycle::{Step, StepData};
use crate::order::{OrderPlaced, sortable_time};

pub const SPEC_VERSION: &str = "1.0";
/// The CloudEvents `source` of events produced by the orders API.
pub const API_SOURCE: &str = "/orders/api";
pub const CONTENT_TYPE: &str = "application/json";
/// Version of the `data` schema, carried in the `schemaversion` extension attribute.
pub const SCHEMA_VERSION: u32 = 1;

/// The event types this contract describes. A consumer skips any other type (see [`decode`]).
pub mod types {
    pub const ORDER_PLACED: &str = "order.placed";
    // The lifecycle events after it are named by [`crate::lifecycle::Step::event_type`].
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Envelope<T> {
    pub specversion: String,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the API accepted the event: UTC to the millisecond, fixed width (the API Gateway
    /// mapping template builds it from the request time the same way).
    #[serde(with = "sortable_time")]
    pub time: OffsetDateTime,
    /// The order id.
    pub subject: String,
    pub datacontenttype: String,
    /// Extension attribute: the customer id, which is also the partition key.
    pub customerid: String,
    /// Extension attribute: the version of `data`'s schema.
    pub schemaversion: u32,
    pub data: T,
}

impl Envelope<OrderPlaced> {
    /// Wraps a placed order. `id` is the request id; `time` is when the API accepted it.
    pub fn order_placed(order: OrderPlaced, id: String, time: OffsetDateTime) -> Self {
        Self {
            specversion: SPEC_VERSION.to_owned(),
            id,
            source: API_SOURCE.to_owned(),
            event_type: types::ORDER_PLACED.to_owned(),
            time: sortable_time::normalise(time),
            subject: order.order_id.to_string(),
            datacontenttype: CONTENT_TYPE.to_owned(),
            customerid: order.customer_id.clone(),
            schemaversion: SCHEMA_VERSION,
            data: order,
        }
    }
}

impl<T> Envelope<T> {
    /// The Kinesis partition key: the customer id.
    pub fn partition_key(&self) -> &str {
        &self.customerid
    }

    /// The same event attributes around other data (a decoded form of the same data).
    pub fn with_data<U>(self, data: U) -> Envelope<U> {
        Envelope {
            specversion: self.specversion,
            id: self.id,
            source: self.source,
            event_type: self.event_type,
            time: self.time,
            subject: self.subject,
            datacontenttype: self.datacontenttype,
            customerid: self.customerid,
            schemaversion: self.schemaversion,
            data,
        }
    }
}

impl<T: Serialize> Envelope<T> {
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising these types to JSON cannot fail: no maps with non-string keys, no
        // fallible Serialize impls.
        serde_json::to_vec(self).unwrap_or_else(|e| unreachable!("envelope serialises: {e}"))
    }
}

/// A stream record as the consumers see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    OrderPlaced(Box<Envelope<OrderPlaced>>),
    /// A step of the order's lifecycle after it was placed (reserved, shipped, booked, or a
    /// rejection, failure or compensation), emitted by a saga stage.
    Lifecycle {
        step: Step,
        envelope: Box<Envelope<StepData>>,
    },
    /// A well-formed event of a type this contract does not describe (a newer producer's, or
    /// one for other consumers): a consumer skips it, it is not poison.
    Other {
        event_type: String,
        id: String,
    },
}

/// Why a record can never be decoded: a consumer sets it aside as poison.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a CloudEvents envelope")]
    NotAnEnvelope(#[source] serde_json::Error),
    #[error("schemaversion {found} is not one this consumer reads (it reads {SCHEMA_VERSION})")]
    UnknownSchemaVersion { found: u32 },
    #[error("{event_type} data does not match the contract")]
    Data {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("order breaks the rules: {0}")]
    Rules(String),
    #[error("{0}")]
    Mismatch(&'static str),
}

/// Decodes a record, the same way in every consumer: the envelope, then the event type (an
/// unknown one is [`Event::Other`]), then `schemaversion` (a version other than
/// [`SCHEMA_VERSION`] is a breaking change this consumer cannot read), then the data with the
/// business rules JSON Schema cannot express. Fields the data types do not know are ignored.
pub fn decode(data: &[u8]) -> Result<Event, DecodeError> {
    let envelope: Envelope<serde_json::Value> =
        serde_json::from_slice(data).map_err(DecodeError::NotAnEnvelope)?;
    let step = Step::from_event_type(&envelope.event_type);
    if envelope.event_type != types::ORDER_PLACED && step.is_none() {
        return Ok(Event::Other {
            event_type: envelope.event_type,
            id: envelope.id,
        });
    }
    if envelope.schemaversion != SCHEMA_VERSION {
        return Err(DecodeError::UnknownSchemaVersion {
            found: envelope.schemaversion,
        });
    }
    if let Some(step) = step {
        let data = StepData::deserialize(&envelope.data).map_err(|source| DecodeError::Data {
            event_type: envelope.event_type.clone(),
            source,
        })?;
        check_identity(&data.order, &envelope)?;
        return Ok(Event::Lifecycle {
            step,
            envelope: Box::new(envelope.with_data(data)),
        });
    }
    let order = OrderPlaced::deserialize(&envelope.data).map_err(|source| DecodeError::Data {
        event_type: envelope.event_type.clone(),
        source,
    })?;
    order.check().map_err(|violations| {
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        DecodeError::Rules(list.join("; "))
    })?;
    check_identity(&order, &envelope)?;
    Ok(Event::OrderPlaced(Box::new(envelope.with_data(order))))
}

/// The order in the data is the one the envelope names, for the customer it names.
fn check_identity<T>(order: &OrderPlaced, envelope: &Envelope<T>) -> Result<(), DecodeError> {
    if order.customer_id != envelope.customerid {
        return Err(DecodeError::Mismatch(
            "data.customerId differs from the envelope's customerid",
        ));
    }
    if order.order_id.to_string() != envelope.subject {
        return Err(DecodeError::Mismatch(
            "data.orderId differs from the envelope's subject",
        ));
    }
    Ok(())
}
