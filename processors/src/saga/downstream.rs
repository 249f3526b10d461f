//! The saga's port to the three downstream services, and the bodies they speak.
//!
//! The bodies are typed once, here: the HTTP client ([`crate::saga::client`]) sends and reads
//! them, and the local stand-ins (`devstack::downstream`) parse and answer them. A service's
//! answer is only an outcome if it reads as one: a 2xx without the reference the call asks for
//! is an error ([`CallError::Unreadable`]), never a success.
//!
//! What the stages assume of a service (docs/saga.md, "The downstream contract"): it follows
//! the IETF Idempotency-Key draft. Every effect request carries `Idempotency-Key`; the first
//! request with a key decides, and every later one with the same key and body gets that
//! decision back; a repeat while the first is still being processed gets 409 (retry later); a
//! key reused with another body gets 422.

use std::future::Future;
use std::time::Duration;

use ingest::order::{Address, Money, OrderPlaced};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One line of a reservation or a shipment.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Line {
    pub sku: String,
    pub quantity: u32,
}

/// `POST /reservations`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReservationRequest {
    pub order_id: Uuid,
    pub customer_id: String,
    pub lines: Vec<Line>,
}

/// `POST /reservations/{orderId}/release`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseRequest {
    pub order_id: Uuid,
    pub reason: String,
}

/// `POST /shipments`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShipmentRequest {
    pub order_id: Uuid,
    pub customer_id: String,
    pub lines: Vec<Line>,
    pub shipping_address: Address,
}

/// `POST /sales`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaleRequest {
    pub order_id: Uuid,
    pub customer_id: String,
    pub total: Money,
}

/// A reservation made (201).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub reservation_id: String,
}

/// A reservation given back (200).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Released {
    pub released: bool,
}

/// A shipment requested (201).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Shipment {
    pub shipment_id: String,
}

/// A sale booked (201).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Booking {
    pub booking_id: String,
}

impl ReservationRequest {
    pub fn of(order: &OrderPlaced) -> Self {
        Self {
            order_id: order.order_id,
            customer_id: order.customer_id.clone(),
            lines: lines(order),
        }
    }
}

impl ShipmentRequest {
    pub fn of(order: &OrderPlaced) -> Self {
        Self {
            order_id: order.order_id,
            customer_id: order.customer_id.clone(),
            lines: lines(order),
            shipping_address: order.shipping_address.clone(),
        }
    }
}

impl SaleRequest {
    pub fn of(order: &OrderPlaced) -> Self {
        Self {
            order_id: order.order_id,
            customer_id: order.customer_id.clone(),
            total: order.total.clone(),
        }
    }
}

fn lines(order: &OrderPlaced) -> Vec<Line> {
    order
        .lines
        .iter()
        .map(|line| Line {
            sku: line.sku.clone(),
            quantity: line.quantity,
        })
        .collect()
}

/// Why a call has no outcome.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The service refused the request for good: a 4xx other than 408, 409 and 429.
    #[error("{service} answered {status}: {reason}")]
    Permanent {
        service: String,
        status: u16,
        /// The problem's `type`, when the answer is problem+json.
        problem_type: Option<String>,
        reason: String,
    },
    /// The service answered success with a body that is not the outcome asked for (no
    /// reservation id, say). Not retried: a repeat gets the same stored answer.
    #[error("{service} answered {status} without {expected}: {body}")]
    Unreadable {
        service: String,
        status: u16,
        expected: &'static str,
        body: String,
    },
    /// The service could not answer now (409 in progress, 429, 5xx, a timeout, no connection,
    /// a lost answer), even after the retries the budget allows. Safe to try again with the
    /// same key.
    #[error("{service}: {reason}")]
    Transient {
        service: String,
        /// What went wrong, with its whole cause chain.
        reason: String,
        /// How long the service asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },
}

impl CallError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transient { retry_after, .. } => *retry_after,
            Self::Permanent { .. } | Self::Unreadable { .. } => None,
        }
    }
}

/// The three services as the saga calls them, each call under its `Idempotency-Key`.
/// [`crate::saga::client::ServiceClient`] is the HTTP adapter; the unit tests use an in-memory
/// service that keeps a key ledger as a real one does.
pub trait Downstream: Send + Sync {
    fn reserve(
        &self,
        key: &str,
        request: &ReservationRequest,
    ) -> impl Future<Output = Result<Reservation, CallError>> + Send;

    fn release(
        &self,
        key: &str,
        request: &ReleaseRequest,
    ) -> impl Future<Output = Result<Released, CallError>> + Send;

    fn ship(
        &self,
        key: &str,
        request: &ShipmentRequest,
    ) -> impl Future<Output = Result<Shipment, CallError>> + Send;

    fn book(
        &self,
        key: &str,
        request: &SaleRequest,
    ) -> impl Future<Output = Result<Booking, CallError>> + Send;
}
