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
//! `Idempotency-Key` (`{orderId}:{call}`), which the service deduplicates and which is the only
//! lock; the idempotency record ([`idempotency`]), the outcome kept so a redelivered event calls
//! nothing; and the emitted event's id (`{orderId}:{step}`), which the consumers downstream
//! deduplicate. A stage that fails for good (a refusal other than a business rejection, or past
//! the engine's attempt or age limit) is dead-lettered by the engine, and
//! [`RecordHandler::dead_lettered`] undoes what the stage may have left behind (a reservation)
//! and emits its `order.<stage>_failed`.

pub mod auth;
pub mod client;
pub mod downstream;
pub mod idempotency;
#[cfg(test)]
mod tests;

use ingest::envelope::{Envelope, Event, decode};
use ingest::lifecycle::{Stage, Step, StepData};
use ingest::order::OrderPlaced;
use ingest::producer::Entry;
use time::OffsetDateTime;

use crate::batch::{Handled, RecordError, RecordHandler};
use crate::dead_letter::{DeadLetter, GaveUp};
use crate::error_chain;
use crate::record::StreamRecord;
use downstream::{
    CallError, Downstream, ReleaseRequest, ReservationRequest, SaleRequest, ShipmentRequest,
};
use idempotency::{Idempotency, Outcome};

/// The inventory service's problem types that mean "no" for a business reason: a rejection,
/// not a failure.
const REJECTIONS: [&str; 2] = [
    "https://orders.example/problems/out-of-stock",
    "https://orders.example/problems/unknown-sku",
];

/// Why the inventory stage gives a reservation back when it gives up on making it: fixed, so
/// that a second give-up sends the same release body under the same key.
pub const GIVE_UP_RELEASE_REASON: &str = "the reservation could not be confirmed";

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
pub struct SagaStage<D, I> {
    stage: Stage,
    consumer: String,
    downstream: D,
    records: I,
}

impl<D: Downstream, I: Idempotency> SagaStage<D, I> {
    pub fn new(stage: Stage, consumer: impl Into<String>, downstream: D, records: I) -> Self {
        Self {
            stage,
            consumer: consumer.into(),
            downstream,
            records,
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

    /// The call's outcome, from the idempotency record if it was made before, else by making it
    /// and recording what the service decided (the first outcome recorded stands).
    async fn once(&self, call: &Call, order: &OrderPlaced) -> Result<Outcome, RecordError> {
        let key = call.key(order);
        let table = |e| RecordError::Transient(Box::new(e));
        if let Some(outcome) = self
            .records
            .lookup(&self.consumer, &key)
            .await
            .map_err(table)?
        {
            return Ok(outcome);
        }
        let outcome = self
            .call(call, order, &key)
            .await
            .map_err(|error| match error {
                // An answer that is not the outcome asked for is not a "no" either: the effect may
                // have been made. Delivered again (the service repeats itself, or is fixed) up to
                // the attempt limit, then given up as for a service that does not answer.
                CallError::Transient { .. } | CallError::Unreadable { .. } => {
                    RecordError::Transient(Box::new(error))
                }
                CallError::Permanent { .. } => RecordError::Poison(error_chain(&error)),
            })?;
        self.records
            .record(&self.consumer, &key, &outcome)
            .await
            .map_err(table)
    }

    /// Makes the call; a business answer the stage acts on (a rejection, "nothing reserved")
    /// is an outcome too.
    async fn call(
        &self,
        call: &Call,
        order: &OrderPlaced,
        key: &str,
    ) -> Result<Outcome, CallError> {
        let result = match call {
            Call::Reserve => self
                .downstream
                .reserve(key, &ReservationRequest::of(order))
                .await
                .map(|r| Outcome::of(Step::InventoryReserved, Some(r.reservation_id), None)),
            Call::Release { reason } => self
                .downstream
                .release(
                    key,
                    &ReleaseRequest {
                        order_id: order.order_id,
                        reason: reason.clone(),
                    },
                )
                .await
                .map(|_| Outcome::of(Step::InventoryReleased, None, Some(reason.clone()))),
            Call::Ship => self
                .downstream
                .ship(key, &ShipmentRequest::of(order))
                .await
                .map(|s| Outcome::of(Step::FulfilmentRequested, Some(s.shipment_id), None)),
            Call::Book => self
                .downstream
                .book(key, &SaleRequest::of(order))
                .await
                .map(|b| Outcome::of(Step::Accounted, Some(b.booking_id), None)),
        };
        match result {
            // Out of stock or an unknown SKU: the service's "no", kept like any outcome so the
            // decision never flips for this order.
            Err(CallError::Permanent {
                problem_type: Some(problem_type),
                reason,
                ..
            }) if matches!(call, Call::Reserve) && REJECTIONS.contains(&problem_type.as_str()) => {
                Ok(Outcome::of(Step::InventoryRejected, None, Some(reason)))
            }
            // Nothing was reserved for this order: nothing to give back.
            Err(CallError::Permanent { status: 404, .. })
                if matches!(call, Call::Release { .. }) =>
            {
                Ok(Outcome::of(
                    Step::InventoryReleased,
                    None,
                    Some(NOTHING_RESERVED.into()),
                ))
            }
            other => other,
        }
    }

    /// The inventory stage gives up on a reservation: an attempt may have reached the service
    /// and its answer been lost, so the reservation is given back under the release key (a 404
    /// means nothing was reserved). `Ok` once nothing is held.
    async fn release_after_giving_up(&self, order: &OrderPlaced) -> Result<(), CallError> {
        let release = Call::Release {
            reason: GIVE_UP_RELEASE_REASON.into(),
        };
        self.call(&release, order, &release.key(order))
            .await
            .map(|_| ())
    }
}

/// The reason a release answered 404 records.
const NOTHING_RESERVED: &str = "nothing was reserved";

impl Outcome {
    fn of(step: Step, reference: Option<String>, reason: Option<String>) -> Self {
        Self {
            step,
            reference,
            reason,
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

impl<D: Downstream, I: Idempotency> RecordHandler for SagaStage<D, I> {
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

    /// The stage failed for good on its input event: undo what it may have left behind, keep
    /// the failure where a redrive must not undo it, and say so on the stream.
    ///
    /// - Inventory giving up on a reservation releases it first (an attempt may have made it
    ///   and lost the answer), then keeps the failure as the reservation's outcome, so a redrive
    ///   re-emits the failure instead of reserving again. If the release cannot be made either,
    ///   nothing is kept: the order is `failed` with the reason saying stock may be held, the
    ///   dead letter's alarm fires, and a redrive once the service is back finishes the order
    ///   with the reservation the service kept.
    /// - Fulfilment fails the order only on the service's refusal, and keeps that failure as
    ///   the shipment's outcome: inventory gives the reservation back when it sees it, so a
    ///   later redrive of the same event must not ship. A give-up past the attempt or age limit
    ///   emits nothing: a shipment may exist, so the order waits for a redrive.
    /// - The other calls' failures are not kept, so that an operator can redrive them once the
    ///   cause is fixed (a sale booked late completes the order).
    async fn dead_lettered(&self, record: &StreamRecord, letter: &DeadLetter) -> Vec<Entry> {
        let Ok(event) = decode(&record.data) else {
            return Vec::new();
        };
        let Some((call, order)) = self.call_for(event) else {
            return Vec::new();
        };
        let key = call.key(&order);
        // Another attempt (a worker that lost its lease, say) decided meanwhile: that stands.
        if let Ok(Some(outcome)) = self.records.lookup(&self.consumer, &key).await {
            return vec![step_entry(
                outcome.step,
                order,
                outcome.reason,
                outcome.reference,
            )];
        }
        let failed = self.stage.failed();
        let mut reason = letter.reason.clone();
        let keep = match call {
            Call::Reserve => match self.release_after_giving_up(&order).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::error!(
                        order_id = %order.order_id,
                        error = error_chain(&error),
                        "gave up on a reservation and could not release it: stock may be held until the dead letter is redriven"
                    );
                    reason = format!(
                        "{reason}; stock may be held: the release failed too ({error}), redrive the dead letter once the service is back"
                    );
                    false
                }
            },
            // Only the service's own "no" fails the order (and gives its stock back). Past the
            // attempt or age limit a shipment may have been made with its answer lost, and no
            // call can undo one: the order stays `reserved`, the dead letter's alarm fires, and
            // a redrive once the service answers finishes it with the service's decision.
            Call::Ship if letter.gave_up != GaveUp::Poison => {
                tracing::error!(
                    order_id = %order.order_id,
                    reason,
                    "gave up on a shipment the service may have made: the order waits for a redrive"
                );
                return Vec::new();
            }
            Call::Ship => true,
            Call::Release { .. } | Call::Book => false,
        };
        if keep {
            let outcome = Outcome::of(failed, None, Some(reason.clone()));
            if let Err(error) = self.records.record(&self.consumer, &key, &outcome).await {
                tracing::error!(
                    key,
                    error = error_chain(&error),
                    "the failure is not kept: a redrive of this event would call the service again"
                );
            }
        }
        vec![step_entry(failed, order, Some(reason), None)]
    }
}
