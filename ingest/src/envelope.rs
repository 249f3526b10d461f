//! The stream record: a CloudEvents 1.0 structured-mode JSON event.
//!
//! Every record on the orders stream is one [`Envelope`]. Its `subject` is the order id, its
//! `customerid` extension attribute is the customer (from the authenticated token) and also the
//! partition key, so one customer's events stay in order.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::lifecycle::{Step, StepData};
use crate::order::{OrderPlaced, RejectedOrder, is_usable_customer_id, sortable_time};
use crate::violation::Violation;

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
    /// An `order.placed` of a known order and customer that breaks the business rules: the
    /// materialiser stores it as rejected with the violations; no stage acts on it.
    Rejected(Box<Envelope<RejectedOrder>>),
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
    #[error("{0}")]
    Mismatch(&'static str),
}

/// Decodes a record, the same way in every consumer: the envelope, then the event type (an
/// unknown one is [`Event::Other`]), then `schemaversion` (a version other than
/// [`SCHEMA_VERSION`] is a breaking change this consumer cannot read), then the data with the
/// business rules JSON Schema cannot express. Fields the data types do not know are ignored.
///
/// An `order.placed` whose data breaks a rule or cannot be read (a date that does not exist) but
/// whose envelope and data agree on the order and the customer is [`Event::Rejected`], not an
/// error: its client got 202, so it must stay visible. Without that identity it is poison.
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
    let order: OrderPlaced = match serde_path_to_error::deserialize(&envelope.data) {
        Ok(order) => order,
        Err(error) => {
            let violation = Violation::new(json_pointer(error.path()), error.inner().to_string());
            return match unreadable_order(&envelope, violation) {
                Some(rejected) => Ok(Event::Rejected(Box::new(envelope.with_data(rejected)))),
                None => Err(DecodeError::Data {
                    event_type: envelope.event_type,
                    source: error.into_inner(),
                }),
            };
        }
    };
    check_identity(&order, &envelope)?;
    if let Err(violations) = order.check() {
        let rejected = RejectedOrder {
            order_id: order.order_id,
            customer_id: order.customer_id,
            placed_at: order.placed_at,
            violations,
        };
        return Ok(Event::Rejected(Box::new(envelope.with_data(rejected))));
    }
    Ok(Event::OrderPlaced(Box::new(envelope.with_data(order))))
}

/// An order whose data cannot be read, as rejected, if the envelope and the data still agree on
/// which order and whose it is.
fn unreadable_order(
    envelope: &Envelope<serde_json::Value>,
    violation: Violation,
) -> Option<RejectedOrder> {
    let order_id = uuid::Uuid::try_parse(&envelope.subject).ok()?;
    let data_order_id = envelope.data.get("orderId")?.as_str()?;
    let data_customer_id = envelope.data.get("customerId")?.as_str()?;
    let same_order = uuid::Uuid::try_parse(data_order_id).ok() == Some(order_id);
    if !same_order
        || data_customer_id != envelope.customerid
        || !is_usable_customer_id(&envelope.customerid)
    {
        return None;
    }
    let placed_at = envelope
        .data
        .get("placedAt")
        .and_then(serde_json::Value::as_str)
        .and_then(|text| sortable_time::parse(text).ok())
        .unwrap_or(envelope.time);
    Some(RejectedOrder {
        order_id,
        customer_id: envelope.customerid.clone(),
        placed_at,
        violations: vec![violation],
    })
}

/// The JSON pointer (RFC 6901) of where reading the data failed.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } => pointer.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => pointer.push_str(variant),
            Segment::Unknown => pointer.push('?'),
        }
    }
    pointer
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
