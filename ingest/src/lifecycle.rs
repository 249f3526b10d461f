//! The order's lifecycle after `order.placed`: the events the saga's stages put on the stream.
//!
//! Choreography, not orchestration: each stage (inventory, fulfilment, accounting) is a consumer
//! that reacts to one event and emits the next, on the same stream under the customer's
//! partition key, so one order's events stay in order. Every event carries the order as placed,
//! so a stage needs nothing but its input event. Event ids are `{orderId}:{step}`: a stage that
//! emits the same step again (after a crash, a redelivery, a redrive or a replay) emits the same
//! event, which consumers deduplicate.
//!
//! ```text
//! order.placed ─▶ inventory ─▶ order.inventory_reserved ─▶ fulfilment ─▶ order.fulfilment_requested ─▶ accounting ─▶ order.accounted
//!                    └▶ order.inventory_rejected             └▶ order.fulfilment_failed ─▶ inventory ─▶ order.inventory_released
//!                    └▶ order.inventory_failed                                               accounting └▶ order.accounting_failed
//! ```

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::envelope::{CONTENT_TYPE, Envelope, SCHEMA_VERSION, SPEC_VERSION};
use crate::order::{OrderPlaced, sortable_time};

/// The three downstream stages of the saga.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    Inventory,
    Fulfilment,
    Accounting,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Inventory, Stage::Fulfilment, Stage::Accounting];

    pub fn name(self) -> &'static str {
        match self {
            Self::Inventory => "inventory",
            Self::Fulfilment => "fulfilment",
            Self::Accounting => "accounting",
        }
    }

    /// The step a stage emits when it fails for good.
    pub fn failed(self) -> Step {
        match self {
            Self::Inventory => Step::InventoryFailed,
            Self::Fulfilment => Step::FulfilmentFailed,
            Self::Accounting => Step::AccountingFailed,
        }
    }
}

/// What happened to an order after it was placed: one lifecycle event type each.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    InventoryReserved,
    /// Refused by the inventory service for a business reason (out of stock, unknown SKU).
    InventoryRejected,
    InventoryFailed,
    /// The reservation given back after fulfilment failed (the saga's compensation).
    InventoryReleased,
    FulfilmentRequested,
    FulfilmentFailed,
    /// The sale is booked: the order is complete.
    Accounted,
    AccountingFailed,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::InventoryReserved,
        Step::InventoryRejected,
        Step::InventoryFailed,
        Step::InventoryReleased,
        Step::FulfilmentRequested,
        Step::FulfilmentFailed,
        Step::Accounted,
        Step::AccountingFailed,
    ];

    /// `inventory_reserved`, …: the event type without `order.`, and the event id's suffix.
    pub fn name(self) -> &'static str {
        match self {
            Self::InventoryReserved => "inventory_reserved",
            Self::InventoryRejected => "inventory_rejected",
            Self::InventoryFailed => "inventory_failed",
            Self::InventoryReleased => "inventory_released",
            Self::FulfilmentRequested => "fulfilment_requested",
            Self::FulfilmentFailed => "fulfilment_failed",
            Self::Accounted => "accounted",
            Self::AccountingFailed => "accounting_failed",
        }
    }

    /// The CloudEvents type: `order.inventory_reserved`, …
    pub fn event_type(self) -> String {
        format!("order.{}", self.name())
    }

    pub fn from_event_type(event_type: &str) -> Option<Self> {
        let name = event_type.strip_prefix("order.")?;
        Self::ALL.into_iter().find(|step| step.name() == name)
    }

    /// The stage that emits this step.
    pub fn stage(self) -> Stage {
        match self {
            Self::InventoryReserved
            | Self::InventoryRejected
            | Self::InventoryFailed
            | Self::InventoryReleased => Stage::Inventory,
            Self::FulfilmentRequested | Self::FulfilmentFailed => Stage::Fulfilment,
            Self::Accounted | Self::AccountingFailed => Stage::Accounting,
        }
    }
}

/// The data of every lifecycle event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepData {
    /// The order as placed: everything the later stages need.
    pub order: OrderPlaced,
    /// Why it was rejected, failed or released, as the service or the engine said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The downstream service's own reference (reservation, shipment or booking id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl Envelope<StepData> {
    /// The `step` event of `order`, with its deterministic id `{orderId}:{step}`.
    pub fn step(step: Step, data: StepData, time: OffsetDateTime) -> Self {
        Self {
            specversion: SPEC_VERSION.to_owned(),
            id: format!("{}:{}", data.order.order_id, step.name()),
            source: format!("/orders/{}", step.stage().name()),
            event_type: step.event_type(),
            time: sortable_time::normalise(time),
            subject: data.order.order_id.to_string(),
            datacontenttype: CONTENT_TYPE.to_owned(),
            customerid: data.order.customer_id.clone(),
            schemaversion: SCHEMA_VERSION,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Event, decode};

    fn order() -> OrderPlaced {
        let request: crate::order::OrderRequest =
            serde_json::from_str(include_str!("../examples/valid/web-two-lines.json"))
                .expect("example");
        request.into_placed("customer-1").expect("valid")
    }

    #[test]
    fn every_step_round_trips_through_its_event_type() {
        for step in Step::ALL {
            assert_eq!(Step::from_event_type(&step.event_type()), Some(step));
        }
        assert_eq!(Step::from_event_type("order.placed"), None);
        assert_eq!(Step::from_event_type("inventory_reserved"), None);
    }

    #[test]
    fn a_step_event_has_a_deterministic_id_and_decodes_as_lifecycle() {
        let order = order();
        let data = StepData {
            order: order.clone(),
            reason: None,
            reference: Some("r-1".into()),
        };
        let first = Envelope::step(
            Step::InventoryReserved,
            data.clone(),
            OffsetDateTime::now_utc(),
        );
        let again = Envelope::step(Step::InventoryReserved, data, OffsetDateTime::now_utc());
        assert_eq!(first.id, again.id, "re-emitted, the same event");
        assert_eq!(first.id, format!("{}:inventory_reserved", order.order_id));
        assert_eq!(first.source, "/orders/inventory");
        assert_eq!(first.partition_key(), "customer-1");
        match decode(&first.to_bytes()).expect("decodes") {
            Event::Lifecycle { step, envelope } => {
                assert_eq!(step, Step::InventoryReserved);
                assert_eq!(envelope.data.reference.as_deref(), Some("r-1"));
                assert_eq!(envelope.data.order, order);
            }
            other => panic!("expected a lifecycle event, got {other:?}"),
        }
    }

    #[test]
    fn a_step_event_whose_order_is_another_customers_is_poison() {
        let data = StepData {
            order: order(),
            reason: None,
            reference: None,
        };
        let mut envelope = Envelope::step(Step::Accounted, data, OffsetDateTime::now_utc());
        envelope.customerid = "customer-2".into();
        assert!(decode(&envelope.to_bytes()).is_err());
    }
}
