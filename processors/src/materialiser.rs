//! The orders materialiser: turns each `order.placed` event into an order item, once, and folds
//! every later lifecycle event into it (the step with its time and reason, and the status,
//! which only moves forward), so a customer or an operator sees where an order is in one read.
//! An order that breaks the business rules is stored as rejected, with why.

use ingest::envelope::{Event, decode};

use crate::batch::{Handled, RecordError, RecordHandler};
use crate::error_chain;
use crate::record::StreamRecord;
use crate::store::{OrderStore, StoreError};

pub struct Materialiser<S> {
    store: S,
}

impl<S: OrderStore> Materialiser<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S: OrderStore> RecordHandler for Materialiser<S> {
    async fn handle(&self, record: &StreamRecord) -> Result<Handled, RecordError> {
        let envelope = match decode(&record.data) {
            Ok(Event::OrderPlaced(envelope)) => envelope,
            Ok(Event::Lifecycle { step, envelope }) => {
                return match self.store.apply_step(step, &envelope).await {
                    Ok(()) => Ok(Handled::Done),
                    Err(error) => Err(store_failure(error)),
                };
            }
            Ok(Event::Rejected(envelope)) => {
                return match self
                    .store
                    .insert_rejected(&envelope.data, &envelope.id)
                    .await
                {
                    Ok(_) => Ok(Handled::Rejected {
                        reason: envelope.data.reason(),
                        emit: Vec::new(),
                    }),
                    Err(error) => Err(store_failure(error)),
                };
            }
            Ok(Event::Other { .. }) => return Ok(Handled::Skipped),
            Err(error) => return Err(RecordError::Poison(error_chain(&error))),
        };
        match self
            .store
            .insert_if_absent(&envelope.data, &envelope.id)
            .await
        {
            Ok(_) => Ok(Handled::Done),
            Err(error) => Err(store_failure(error)),
        }
    }
}

fn store_failure(error: StoreError) -> RecordError {
    match error {
        conflict @ StoreError::Conflict { .. } => RecordError::Poison(conflict.to_string()),
        StoreError::Unavailable(cause) => RecordError::Transient(cause),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use ingest::envelope::Envelope;
    use ingest::lifecycle::{Step, StepData};
    use ingest::order::{OrderPlaced, RejectedOrder};
    use serde_json::Value;

    use super::*;
    use crate::store::Insert;

    /// An order's status, its rank, and the steps recorded.
    type Lifecycle = (&'static str, u8, Vec<Step>);

    #[derive(Default)]
    struct MemoryStore {
        orders: Mutex<HashMap<uuid::Uuid, OrderPlaced>>,
        statuses: Mutex<HashMap<uuid::Uuid, Lifecycle>>,
        rejected: Mutex<HashMap<uuid::Uuid, RejectedOrder>>,
        down: bool,
    }

    impl OrderStore for MemoryStore {
        async fn insert_if_absent(
            &self,
            order: &OrderPlaced,
            _event_id: &str,
        ) -> Result<Insert, StoreError> {
            if self.down {
                return Err(StoreError::Unavailable("down".into()));
            }
            let mut orders = self.orders.lock().expect("lock");
            match orders.get(&order.order_id) {
                Some(existing) if existing.customer_id != order.customer_id => {
                    Err(StoreError::Conflict {
                        order_id: order.order_id.to_string(),
                    })
                }
                Some(_) => Ok(Insert::Duplicate),
                None => {
                    orders.insert(order.order_id, order.clone());
                    Ok(Insert::New)
                }
            }
        }

        async fn insert_rejected(
            &self,
            order: &RejectedOrder,
            _event_id: &str,
        ) -> Result<Insert, StoreError> {
            let mut rejected = self.rejected.lock().expect("lock");
            if rejected.insert(order.order_id, order.clone()).is_some() {
                return Ok(Insert::Duplicate);
            }
            Ok(Insert::New)
        }

        async fn apply_step(
            &self,
            step: Step,
            event: &Envelope<StepData>,
        ) -> Result<(), StoreError> {
            self.insert_if_absent(&event.data.order, &event.id).await?;
            let mut statuses = self.statuses.lock().expect("lock");
            let entry =
                statuses
                    .entry(event.data.order.order_id)
                    .or_insert(("placed", 0, Vec::new()));
            let (status, rank) = crate::store::status_of(step);
            if rank > entry.1 {
                (entry.0, entry.1) = (status, rank);
            }
            if !entry.2.contains(&step) {
                entry.2.push(step);
            }
            Ok(())
        }
    }

    fn placed(customer: &str) -> Vec<u8> {
        let body: Value = serde_json::from_str(include_str!(
            "../../ingest/examples/valid/web-two-lines.json"
        ))
        .expect("example");
        let order = serde_json::from_value::<ingest::order::OrderRequest>(body)
            .expect("valid")
            .into_placed(customer)
            .expect("valid");
        Envelope::order_placed(order, "req".into(), time::OffsetDateTime::now_utc()).to_bytes()
    }

    fn record(data: Vec<u8>) -> StreamRecord {
        StreamRecord {
            shard_id: "s".into(),
            sequence_number: "1".into(),
            partition_key: "c".into(),
            data: data.into(),
            arrived_at: time::OffsetDateTime::now_utc(),
        }
    }

    #[tokio::test]
    async fn a_duplicate_changes_nothing_and_succeeds() {
        let materialiser = Materialiser::new(MemoryStore::default());
        materialiser
            .handle(&record(placed("c-1")))
            .await
            .expect("first");
        materialiser
            .handle(&record(placed("c-1")))
            .await
            .expect("duplicate");
        assert_eq!(materialiser.store.orders.lock().expect("lock").len(), 1);
    }

    #[tokio::test]
    async fn the_same_order_id_from_another_customer_is_poison() {
        let materialiser = Materialiser::new(MemoryStore::default());
        materialiser
            .handle(&record(placed("c-1")))
            .await
            .expect("first");
        let error = materialiser
            .handle(&record(placed("c-2")))
            .await
            .expect_err("conflict");
        assert!(
            matches!(error, RecordError::Poison(reason) if reason.contains("another customer"))
        );
    }

    #[tokio::test]
    async fn records_that_can_never_succeed_are_poison() {
        let materialiser = Materialiser::new(MemoryStore::default());
        let mut next_major: Value = serde_json::from_slice(&placed("c-1")).expect("json");
        next_major["schemaversion"] = 2.into();
        let mut nameless: Value = serde_json::from_slice(&placed("c-1")).expect("json");
        nameless["data"]["placedAt"] = "2026-02-30T10:00:00.000Z".into();
        nameless["data"]["orderId"] = "not an id".into();
        let mut spoofed: Value = serde_json::from_slice(&placed("c-1")).expect("json");
        spoofed["customerid"] = "c-2".into();
        let cases = [
            ("not json", b"{nope".to_vec(), "not a CloudEvents envelope"),
            (
                "a schema version it cannot read",
                serde_json::to_vec(&next_major).expect("json"),
                "schemaversion 2",
            ),
            (
                "unreadable data that names no order",
                serde_json::to_vec(&nameless).expect("json"),
                "order.placed data does not match the contract",
            ),
            (
                "customer mismatch",
                serde_json::to_vec(&spoofed).expect("json"),
                "customerid",
            ),
        ];
        for (name, data, expected) in cases {
            match materialiser.handle(&record(data)).await {
                Err(RecordError::Poison(reason)) => {
                    assert!(reason.contains(expected), "{name}: {reason}")
                }
                other => panic!("{name}: expected poison, got {other:?}"),
            }
        }
        assert!(materialiser.store.orders.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn an_order_that_breaks_the_rules_is_stored_as_rejected_with_every_violation() {
        let materialiser = Materialiser::new(MemoryStore::default());
        let mut two_rules: Value = serde_json::from_slice(&placed("c-1")).expect("json");
        two_rules["data"]["total"]["amount"] = 1.into();
        two_rules["data"]["lines"][1]["unitPrice"]["currency"] = "USD".into();
        let mut no_such_day: Value = serde_json::from_slice(&placed("c-1")).expect("json");
        no_such_day["data"]["orderId"] = "0f8fad5b-d9cb-469f-a165-70867728950e".into();
        no_such_day["subject"] = "0F8FAD5B-D9CB-469F-A165-70867728950E".into();
        no_such_day["data"]["placedAt"] = "2026-02-30T10:00:00.000Z".into();
        for (name, event, pointers) in [
            (
                "two broken rules",
                two_rules,
                vec!["/lines/1/unitPrice/currency", "/total/amount"],
            ),
            ("a day that does not exist", no_such_day, vec!["/placedAt"]),
        ] {
            let handled = materialiser
                .handle(&record(serde_json::to_vec(&event).expect("json")))
                .await
                .expect("not an error");
            let Handled::Rejected { reason, emit } = handled else {
                panic!("{name}: expected a rejection, got {handled:?}");
            };
            assert!(emit.is_empty(), "{name}");
            let id = uuid::Uuid::parse_str(event["data"]["orderId"].as_str().expect("id"))
                .expect("uuid");
            let rejected = materialiser.store.rejected.lock().expect("lock")[&id].clone();
            let found: Vec<&str> = rejected
                .violations
                .iter()
                .map(|v| v.pointer.as_str())
                .collect();
            assert_eq!(found, pointers, "{name}: {reason}");
            assert_eq!(rejected.customer_id, "c-1", "{name}");
            // A time that does not exist is replaced by when the API accepted the order.
            let placed_at = if name == "a day that does not exist" {
                &event["time"]
            } else {
                &event["data"]["placedAt"]
            };
            assert_eq!(
                ingest::order::sortable_time::format(rejected.placed_at),
                placed_at.as_str().expect("time"),
                "{name}"
            );
            for pointer in pointers {
                assert!(reason.contains(pointer), "{name}: {reason}");
            }
        }
        assert!(materialiser.store.orders.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn lifecycle_events_move_the_status_forward_only() {
        let materialiser = Materialiser::new(MemoryStore::default());
        let placed_event: Envelope<OrderPlaced> =
            serde_json::from_slice(&placed("c-1")).expect("json");
        let order = placed_event.data.clone();
        let step = |step: Step| {
            let data = StepData {
                order: order.clone(),
                reason: None,
                reference: None,
            };
            record(Envelope::step(step, data, time::OffsetDateTime::now_utc()).to_bytes())
        };
        // Out of order and duplicated: accounted, then reserved late, then accounted again.
        for event in [
            step(Step::InventoryReserved),
            step(Step::FulfilmentRequested),
            step(Step::Accounted),
            step(Step::InventoryReserved),
            step(Step::Accounted),
        ] {
            assert_eq!(
                materialiser.handle(&event).await.expect("handled"),
                Handled::Done
            );
        }
        let statuses = materialiser.store.statuses.lock().expect("lock");
        let (status, _, steps) = &statuses[&order.order_id];
        assert_eq!(*status, "completed");
        assert_eq!(steps.len(), 3, "each step once: {steps:?}");
    }

    #[tokio::test]
    async fn an_event_type_it_does_not_handle_is_skipped_not_poison() {
        let materialiser = Materialiser::new(MemoryStore::default());
        let mut other: Value = serde_json::from_slice(&placed("c-1")).expect("json");
        other["type"] = "order.gift_wrapped".into();
        other["data"] = serde_json::json!({ "anything": "at all" });
        let handled = materialiser
            .handle(&record(serde_json::to_vec(&other).expect("json")))
            .await
            .expect("not an error");
        assert_eq!(handled, Handled::Skipped);
        assert!(materialiser.store.orders.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn an_additive_change_to_the_event_is_read() {
        let materialiser = Materialiser::new(MemoryStore::default());
        let mut newer: Value = serde_json::from_slice(&placed("c-1")).expect("json");
        newer["data"]["giftWrap"] = true.into();
        newer["data"]["lines"][0]["colour"] = "red".into();
        newer["data"]["total"]["display"] = "£12.00".into();
        newer["traceparent"] = "00-abc-def-01".into();
        let handled = materialiser
            .handle(&record(serde_json::to_vec(&newer).expect("json")))
            .await
            .expect("read despite the new fields");
        assert_eq!(handled, Handled::Done);
        assert_eq!(materialiser.store.orders.lock().expect("lock").len(), 1);
    }

    #[tokio::test]
    async fn a_store_outage_is_transient() {
        let materialiser = Materialiser::new(MemoryStore {
            down: true,
            ..Default::default()
        });
        let error = materialiser
            .handle(&record(placed("c-1")))
            .await
            .expect_err("down");
        assert!(matches!(error, RecordError::Transient(_)));
    }
}
