//! The saga's stages: inventory, fulfilment and accounting, each a consumer that reacts to one
//! lifecycle event, calls its downstream service once per order, and emits the next event.
//!
//! | stage | reacts to | calls | emits |
//! |---|---|---|---|
//! | inventory | `order.placed` | `POST /reservations` | `order.inventory_reserved`, or `order.inventory_rejected` (out of stock, unknown SKU) |
//! | inventory | `order.fulfilment_failed` | `POST /reservations/{orderId}/release` | `order.inventory_released` |
//! | fulfilment | `order.inventory_reserved` | `POST /shipments` | `order.fulfilment_requested` |
//! | accounting | `order.fulfilment_requested` | `POST /sales` | `order.accounted` |
//!
//! Exactly-once effects come from three keys, none of which relies on the others: the call's
//! `Idempotency-Key` (`{orderId}:{call}`), which the service deduplicates; the idempotency
//! record ([`idempotency`]), so a redelivered event calls nothing; and the emitted event's id
//! (`{orderId}:{step}`), which the consumers downstream deduplicate. A stage that fails for good
//! (a refusal other than a business rejection, or past the engine's attempt or age limit) is
//! dead-lettered by the engine, and [`RecordHandler::dead_lettered`] emits its
//! `order.<stage>_failed`.

pub mod auth;
pub mod client;
pub mod idempotency;

use std::time::Duration;

use ingest::envelope::{Envelope, Event, decode};
use ingest::lifecycle::{Stage, Step, StepData};
use ingest::order::OrderPlaced;
use ingest::producer::Entry;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::batch::{Handled, RecordError, RecordHandler};
use crate::dead_letter::DeadLetter;
use crate::error_chain;
use crate::record::StreamRecord;
use client::{CallError, ServiceClient};
use idempotency::{Claim, Idempotency, Outcome};

/// The inventory service's problem types that mean "no" for a business reason: a rejection,
/// not a failure.
const REJECTIONS: [&str; 2] = [
    "https://orders.example/problems/out-of-stock",
    "https://orders.example/problems/unknown-sku",
];

/// One downstream call a stage makes for one order.
enum Call {
    Reserve,
    Release { reason: String },
    Ship,
    Book,
}

impl Call {
    /// The call's idempotency key for `order`: its `Idempotency-Key` and its record's key.
    fn key(&self, order: &OrderPlaced) -> String {
        format!("{}:{}", order.order_id, self.name())
    }

    /// The call's name in its idempotency key, `{orderId}:{name}`.
    fn name(&self) -> &'static str {
        match self {
            Self::Reserve => "inventory",
            Self::Release { .. } => "inventory_release",
            Self::Ship => "fulfilment",
            Self::Book => "accounting",
        }
    }
}

/// A saga stage as a record handler.
pub struct SagaStage<I> {
    stage: Stage,
    consumer: String,
    client: ServiceClient,
    records: I,
    /// How long a claim on an idempotency record lasts: past the call's whole retry budget.
    lease: Duration,
}

impl<I: Idempotency> SagaStage<I> {
    pub fn new(
        stage: Stage,
        consumer: impl Into<String>,
        client: ServiceClient,
        records: I,
        lease: Duration,
    ) -> Self {
        Self {
            stage,
            consumer: consumer.into(),
            client,
            records,
            lease,
        }
    }

    /// The call this stage makes for `event`, with the order; `None` if it does not react.
    fn call_for(&self, event: Event) -> Option<(Call, OrderPlaced)> {
        match (self.stage, event) {
            (Stage::Inventory, Event::OrderPlaced(envelope)) => {
                Some((Call::Reserve, envelope.data))
            }
            (
                Stage::Inventory,
                Event::Lifecycle {
                    step: Step::FulfilmentFailed,
                    envelope,
                },
            ) => {
                let reason = envelope.data.reason.clone().unwrap_or_default();
                Some((Call::Release { reason }, envelope.data.order))
            }
            (
                Stage::Fulfilment,
                Event::Lifecycle {
                    step: Step::InventoryReserved,
                    envelope,
                },
            ) => Some((Call::Ship, envelope.data.order)),
            (
                Stage::Accounting,
                Event::Lifecycle {
                    step: Step::FulfilmentRequested,
                    envelope,
                },
            ) => Some((Call::Book, envelope.data.order)),
            _ => None,
        }
    }

    /// The call's outcome, from the idempotency record if it was made before, else by making it.
    async fn once(&self, call: &Call, order: &OrderPlaced) -> Result<Outcome, RecordError> {
        let key = call.key(order);
        let lease_until = OffsetDateTime::now_utc() + self.lease;
        let claim = self
            .records
            .claim(&self.consumer, &key, lease_until)
            .await
            .map_err(|e| RecordError::Transient(Box::new(e)))?;
        match claim {
            Claim::Completed(outcome) => return Ok(outcome),
            Claim::Busy { lease_until } => {
                return Err(RecordError::Transient(
                    format!("{key} is being called by another attempt until {lease_until}").into(),
                ));
            }
            Claim::Claimed => {}
        }
        match self.call(call, order, &key).await {
            Ok(outcome) => {
                self.records
                    .complete(&self.consumer, &key, &outcome)
                    .await
                    .map_err(|e| RecordError::Transient(Box::new(e)))?;
                Ok(outcome)
            }
            Err(error) => {
                if let Err(release) = self.records.release(&self.consumer, &key).await {
                    tracing::warn!(
                        key,
                        error = error_chain(&release),
                        "claim not given up; it expires with its lease"
                    );
                }
                Err(match error {
                    CallError::Permanent { .. } => RecordError::Poison(error_chain(&error)),
                    CallError::Transient { .. } => RecordError::Transient(Box::new(error)),
                })
            }
        }
    }

    async fn call(
        &self,
        call: &Call,
        order: &OrderPlaced,
        key: &str,
    ) -> Result<Outcome, CallError> {
        let lines: Vec<Value> = order
            .lines
            .iter()
            .map(|line| json!({ "sku": line.sku, "quantity": line.quantity }))
            .collect();
        let (path, body, step, reference_field) = match call {
            Call::Reserve => (
                "/reservations".to_owned(),
                json!({ "orderId": order.order_id, "customerId": order.customer_id, "lines": lines }),
                Step::InventoryReserved,
                "reservationId",
            ),
            Call::Release { reason } => (
                format!("/reservations/{}/release", order.order_id),
                json!({ "orderId": order.order_id, "reason": reason }),
                Step::InventoryReleased,
                "",
            ),
            Call::Ship => (
                "/shipments".to_owned(),
                json!({
                    "orderId": order.order_id,
                    "customerId": order.customer_id,
                    "lines": lines,
                    "shippingAddress": order.shipping_address,
                }),
                Step::FulfilmentRequested,
                "shipmentId",
            ),
            Call::Book => (
                "/sales".to_owned(),
                json!({ "orderId": order.order_id, "customerId": order.customer_id, "total": order.total }),
                Step::Accounted,
                "bookingId",
            ),
        };
        match self.client.post(&path, key, &body).await {
            Ok(reply) => Ok(Outcome {
                step,
                reference: reply.body[reference_field].as_str().map(str::to_owned),
                reason: match call {
                    Call::Release { reason } => Some(reason.clone()),
                    _ => None,
                },
            }),
            // Out of stock or an unknown SKU: the service's "no", kept like any outcome so the
            // decision never flips for this order.
            Err(CallError::Permanent {
                problem_type: Some(problem_type),
                reason,
                ..
            }) if matches!(call, Call::Reserve) && REJECTIONS.contains(&problem_type.as_str()) => {
                Ok(Outcome {
                    step: Step::InventoryRejected,
                    reference: None,
                    reason: Some(reason),
                })
            }
            // Nothing was reserved for this order: nothing to give back.
            Err(CallError::Permanent { status: 404, .. })
                if matches!(call, Call::Release { .. }) =>
            {
                Ok(Outcome {
                    step: Step::InventoryReleased,
                    reference: None,
                    reason: Some("nothing was reserved".into()),
                })
            }
            Err(error) => Err(error),
        }
    }
}

/// The lifecycle event for `step` of `order`, as a stream entry under the customer's key.
fn step_entry(
    step: Step,
    order: OrderPlaced,
    reason: Option<String>,
    reference: Option<String>,
) -> Entry {
    let event = Envelope::step(
        step,
        StepData {
            order,
            reason,
            reference,
        },
        OffsetDateTime::now_utc(),
    );
    Entry {
        partition_key: event.customerid.clone(),
        data: event.to_bytes(),
    }
}

impl<I: Idempotency> RecordHandler for SagaStage<I> {
    async fn handle(&self, record: &StreamRecord) -> Result<Handled, RecordError> {
        let event = decode(&record.data).map_err(|e| RecordError::Poison(error_chain(&e)))?;
        // An order that breaks the rules: nothing to reserve; the materialiser shows why.
        if let (Stage::Inventory, Event::Rejected(envelope)) = (self.stage, &event) {
            return Ok(Handled::Rejected {
                reason: envelope.data.reason(),
                emit: Vec::new(),
            });
        }
        let Some((call, order)) = self.call_for(event) else {
            return Ok(Handled::Skipped);
        };
        let outcome = self.once(&call, &order).await?;
        let entry = step_entry(
            outcome.step,
            order,
            outcome.reason.clone(),
            outcome.reference,
        );
        Ok(match outcome.step {
            Step::InventoryRejected => Handled::Rejected {
                reason: outcome.reason.unwrap_or_default(),
                emit: vec![entry],
            },
            _ => Handled::Emit(vec![entry]),
        })
    }

    /// The stage failed for good on its input event: say so on the stream. A compensation that
    /// fails (a release) says `order.inventory_failed`; the dead letter and its alarm tell the
    /// operator.
    ///
    /// A fulfilment failure is also kept as the call's outcome: inventory gives the reservation
    /// back when it sees it, so a later redrive of the same event must not ship the order. The
    /// other stages' failures are not kept, so that an operator can redrive them once the cause
    /// is fixed (a sale booked late completes the order).
    async fn dead_lettered(&self, record: &StreamRecord, letter: &DeadLetter) -> Vec<Entry> {
        let Ok(event) = decode(&record.data) else {
            return Vec::new();
        };
        let Some((call, order)) = self.call_for(event) else {
            return Vec::new();
        };
        let failed = self.stage.failed();
        if self.stage == Stage::Fulfilment {
            let key = call.key(&order);
            let outcome = Outcome {
                step: failed,
                reference: None,
                reason: Some(letter.reason.clone()),
            };
            if let Err(error) = self.records.complete(&self.consumer, &key, &outcome).await {
                tracing::error!(
                    key,
                    error = error_chain(&error),
                    "the failure is not kept: a redrive of this event would ship an order whose reservation is given back"
                );
            }
        }
        vec![step_entry(failed, order, Some(letter.reason.clone()), None)]
    }
}
