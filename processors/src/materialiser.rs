//! The orders materialiser: turns each `order.placed` event into an order item, once.

use ingest::envelope::{Envelope, types};
use ingest::order::OrderPlaced;
use serde::Deserialize;
use serde_json::Value;

use crate::batch::{RecordError, RecordHandler};
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

/// Decodes a record into a placed order, or says why it never can be.
pub fn decode_order_placed(data: &[u8]) -> Result<Envelope<OrderPlaced>, String> {
    let envelope: Envelope<Value> =
        serde_json::from_slice(data).map_err(|e| format!("not a CloudEvents envelope: {e}"))?;
    if envelope.event_type != types::ORDER_PLACED {
        return Err(format!("unknown event type '{}'", envelope.event_type));
    }
    let order: OrderPlaced = OrderPlaced::deserialize(&envelope.data)
        .map_err(|e| format!("order.placed data does not match the contract: {e}"))?;
    order.check().map_err(|violations| {
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        format!("order breaks the rules: {}", list.join("; "))
    })?;
    if order.customer_id != envelope.customerid {
        return Err("data.customerId differs from the envelope's customerid".to_owned());
    }
    if order.order_id.to_string() != envelope.subject {
        return Err("data.orderId differs from the envelope's subject".to_owned());
    }
    Ok(envelope.with_data(order))
}

impl<S: OrderStore> RecordHandler for Materialiser<S> {
    async fn handle(&self, record: &StreamRecord) -> Result<(), RecordError> {
        let envelope = decode_order_placed(&record.data).map_err(RecordError::Poison)?;
        match self
            .store
            .insert_if_absent(&envelope.data, &envelope.id)
            .await
        {
            Ok(_) => Ok(()),
            Err(conflict @ StoreError::Conflict { .. }) => {
                Err(RecordError::Poison(conflict.to_string()))
            }
            Err(StoreError::Unavailable(cause)) => Err(RecordError::Transient(cause)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::store::Insert;

    #[derive(Default)]
    struct MemoryStore {
        orders: Mutex<HashMap<uuid::Uuid, OrderPlaced>>,
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
    }

    fn placed(customer: &str) -> Vec<u8> {
        let body: Value = serde_json::from_str(include_str!(
            "../../ingest/examples/valid/web-two-lines.json"
        ))
        .expect("example");
        let order = ingest::schema::parse_order_request(&body)
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
            data,
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
        let mut wrong_type: Value = serde_json::from_slice(&placed("c-1")).expect("json");
        wrong_type["type"] = "order.teleported".into();
        let mut bad_total: Value = serde_json::from_slice(&placed("c-1")).expect("json");
        bad_total["data"]["total"]["amount"] = 1.into();
        let mut spoofed: Value = serde_json::from_slice(&placed("c-1")).expect("json");
        spoofed["customerid"] = "c-2".into();
        let cases = [
            ("not json", b"{nope".to_vec(), "not a CloudEvents envelope"),
            (
                "unknown type",
                serde_json::to_vec(&wrong_type).expect("json"),
                "unknown event type",
            ),
            (
                "broken rule",
                serde_json::to_vec(&bad_total).expect("json"),
                "/total/amount",
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
