//! [`OrderReader`] over the orders table: `GetItem` for one order; for a page, a `Query` of the
//! keys-only `byCustomer` index newest first, then `BatchGetItem` of those keys (retrying
//! `UnprocessedKeys`), answered in the index's order.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use backon::{BackoffBuilder, ExponentialBuilder};
use uuid::Uuid;

use super::{Limit, OrderReader, OrderView, Page, PageKey, ReadError};
use crate::config::orders_table as attr;

type Item = HashMap<String, AttributeValue>;

/// `BatchGetItem` calls for one page before giving up on keys left unprocessed.
const BATCH_GET_ATTEMPTS: u32 = 5;
/// Wait before the first retry of unprocessed keys; doubles each time.
const BATCH_GET_BACKOFF: Duration = Duration::from_millis(25);

#[derive(Debug, thiserror::Error)]
#[error("BatchGetItem left {keys} key(s) unprocessed after {BATCH_GET_ATTEMPTS} attempts")]
struct StillUnprocessed {
    keys: usize,
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> ReadError {
    ReadError::Unavailable(Box::new(error))
}

impl TryFrom<Item> for OrderView {
    type Error = ReadError;

    fn try_from(item: Item) -> Result<Self, ReadError> {
        let key = match item.get(attr::ORDER_ID) {
            Some(AttributeValue::S(id)) => id.clone(),
            _ => "without an orderId".to_owned(),
        };
        // Only a rejected order has violations; reading each shape by name keeps a corrupt item
        // an error rather than the other shape.
        let view = if item.contains_key(VIOLATIONS) {
            serde_dynamo::from_item(item).map(OrderView::Rejected)
        } else {
            serde_dynamo::from_item(item).map(|view| OrderView::Placed(Box::new(view)))
        };
        view.map_err(|e| ReadError::Corrupt {
            key,
            source: Box::new(e),
        })
    }
}

/// The attribute only a rejected order's item has.
const VIOLATIONS: &str = "violations";

impl From<PageKey> for Item {
    fn from(key: PageKey) -> Self {
        HashMap::from([
            (
                attr::CUSTOMER_ID.to_owned(),
                AttributeValue::S(key.customer_id),
            ),
            (attr::PLACED_AT.to_owned(), AttributeValue::S(key.placed_at)),
            (
                attr::ORDER_ID.to_owned(),
                AttributeValue::S(key.order_id.to_string()),
            ),
        ])
    }
}

impl TryFrom<Item> for PageKey {
    type Error = ReadError;

    /// A `LastEvaluatedKey` of the index: its keys and the table's.
    fn try_from(item: Item) -> Result<Self, ReadError> {
        serde_dynamo::from_item(item).map_err(|e| ReadError::Corrupt {
            key: "LastEvaluatedKey".to_owned(),
            source: Box::new(e),
        })
    }
}

fn order_key(order_id: &str) -> Item {
    HashMap::from([(
        attr::ORDER_ID.to_owned(),
        AttributeValue::S(order_id.to_owned()),
    )])
}

/// [`OrderReader`] over the orders table.
pub struct DynamoOrderReader {
    client: Client,
    table: String,
}

impl DynamoOrderReader {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl OrderReader for DynamoOrderReader {
    async fn get(&self, order_id: Uuid) -> Result<Option<OrderView>, ReadError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(order_key(&order_id.to_string())))
            .send()
            .await
            .map_err(unavailable)?;
        output.item.map(OrderView::try_from).transpose()
    }

    async fn page(
        &self,
        customer_id: &str,
        limit: Limit,
        start: Option<PageKey>,
    ) -> Result<Page, ReadError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(attr::BY_CUSTOMER_INDEX)
            .key_condition_expression("#customer = :customer")
            .expression_attribute_names("#customer", attr::CUSTOMER_ID)
            .expression_attribute_values(":customer", AttributeValue::S(customer_id.to_owned()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.get()).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start.map(Item::from))
            .send()
            .await
            .map_err(unavailable)?;
        let next = output
            .last_evaluated_key
            .map(PageKey::try_from)
            .transpose()?;
        let order_ids: Vec<String> = output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|keys| match keys.get(attr::ORDER_ID) {
                Some(AttributeValue::S(id)) => Some(id.clone()),
                _ => None,
            })
            .collect();
        let mut items: HashMap<String, Item> = HashMap::new();
        if !order_ids.is_empty() {
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(order_ids.iter().map(|id| order_key(id)).collect()))
                .build()
                .map_err(unavailable)?;
            for item in get_all(keys, |keys| self.batch_get(keys)).await? {
                if let Some(AttributeValue::S(id)) = item.get(attr::ORDER_ID) {
                    items.insert(id.clone(), item);
                }
            }
        }
        let mut orders = Vec::with_capacity(order_ids.len());
        for id in &order_ids {
            match items.remove(id) {
                Some(item) => orders.push(OrderView::try_from(item)?),
                // The index is updated after the table, so its keys name items that exist;
                // one that doesn't was deleted in between.
                None => tracing::warn!(order_id = id, "indexed order not in the table"),
            }
        }
        Ok(Page { orders, next })
    }
}

impl DynamoOrderReader {
    /// One `BatchGetItem` call: the items it returned, and the keys it left unprocessed.
    async fn batch_get(
        &self,
        keys: KeysAndAttributes,
    ) -> Result<(Vec<Item>, Option<KeysAndAttributes>), ReadError> {
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.table, keys)
            .send()
            .await
            .map_err(unavailable)?;
        let items = output
            .responses
            .and_then(|mut tables| tables.remove(&self.table))
            .unwrap_or_default();
        let unprocessed = output
            .unprocessed_keys
            .and_then(|mut tables| tables.remove(&self.table));
        Ok((items, unprocessed))
    }
}

/// Every item of `keys`, calling `batch_get` again for the keys it leaves unprocessed (with
/// exponential backoff and jitter, as AWS advises) until none are left or the attempts run out.
async fn get_all<F, Fut>(keys: KeysAndAttributes, mut batch_get: F) -> Result<Vec<Item>, ReadError>
where
    F: FnMut(KeysAndAttributes) -> Fut,
    Fut: Future<Output = Result<(Vec<Item>, Option<KeysAndAttributes>), ReadError>>,
{
    let mut found = Vec::with_capacity(keys.keys().len());
    let mut pending = keys;
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(BATCH_GET_BACKOFF)
        .with_jitter()
        .without_max_times()
        .build();
    for attempt in 1..=BATCH_GET_ATTEMPTS {
        let (items, unprocessed) = batch_get(pending).await?;
        found.extend(items);
        match unprocessed.filter(|rest| !rest.keys().is_empty()) {
            None => return Ok(found),
            Some(rest) => {
                tracing::debug!(
                    attempt,
                    unprocessed = rest.keys().len(),
                    "BatchGetItem left keys unprocessed; retrying them"
                );
                if attempt == BATCH_GET_ATTEMPTS {
                    return Err(unavailable(StillUnprocessed {
                        keys: rest.keys().len(),
                    }));
                }
                pending = rest;
                tokio::time::sleep(delays.next().unwrap_or(BATCH_GET_BACKOFF)).await;
            }
        }
    }
    unreachable!("the last attempt returns")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::tests::view;
    use std::cell::Cell;

    fn keys(ids: &[&str]) -> KeysAndAttributes {
        KeysAndAttributes::builder()
            .set_keys(Some(ids.iter().map(|id| order_key(id)).collect()))
            .build()
            .expect("keys set")
    }

    fn ids(keys: &KeysAndAttributes) -> Vec<String> {
        keys.keys()
            .iter()
            .filter_map(|k| k.get(attr::ORDER_ID)?.as_s().ok().cloned())
            .collect()
    }

    #[tokio::test]
    async fn unprocessed_keys_are_asked_for_again_until_none_are_left() {
        let calls = Cell::new(0);
        let asked = std::cell::RefCell::new(Vec::new());
        let found = get_all(keys(&["a", "b", "c"]), |pending| {
            calls.set(calls.get() + 1);
            let wanted = ids(&pending);
            asked.borrow_mut().push(wanted.clone());
            // Each call serves only the first key it is asked for.
            let served = vec![order_key(&wanted[0])];
            let rest: Vec<&str> = wanted[1..].iter().map(String::as_str).collect();
            let unprocessed = (!rest.is_empty()).then(|| keys(&rest));
            async move { Ok((served, unprocessed)) }
        })
        .await
        .expect("all found");
        assert_eq!(found.len(), 3);
        assert_eq!(
            *asked.borrow(),
            [vec!["a", "b", "c"], vec!["b", "c"], vec!["c"]]
        );
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn keys_still_unprocessed_after_every_attempt_are_unavailable_not_missing() {
        let calls = Cell::new(0);
        let result = get_all(keys(&["a"]), |pending| {
            calls.set(calls.get() + 1);
            async move { Ok((Vec::new(), Some(pending))) }
        })
        .await;
        assert!(
            matches!(result, Err(ReadError::Unavailable(_))),
            "{result:?}"
        );
        assert_eq!(calls.get(), BATCH_GET_ATTEMPTS);
    }

    #[test]
    fn a_stored_item_reads_back_as_the_view_ignoring_bookkeeping() {
        let view = view("customer-1", Uuid::from_u128(1), "2026-11-23T09:15:30.120Z");
        let mut item: Item = serde_dynamo::to_item(&view).expect("to item");
        item.insert(
            "placedEventId".to_owned(),
            AttributeValue::S("event-1".to_owned()),
        );
        assert_eq!(OrderView::try_from(item).ok(), Some(view));
    }

    #[test]
    fn a_stored_lifecycle_reads_back_as_status_and_steps() {
        let view = view("customer-1", Uuid::from_u128(1), "2026-11-23T09:15:30.120Z");
        let mut item: Item = serde_dynamo::to_item(&view).expect("to item");
        let step = |at: &str, extra: (&str, &str)| {
            AttributeValue::M(HashMap::from([
                ("at".to_owned(), AttributeValue::S(at.to_owned())),
                ("eventId".to_owned(), AttributeValue::S("e".to_owned())),
                (extra.0.to_owned(), AttributeValue::S(extra.1.to_owned())),
            ]))
        };
        item.insert(
            "steps".to_owned(),
            AttributeValue::M(HashMap::from([(
                "inventory_rejected".to_owned(),
                step(
                    "2026-11-23T09:15:31.000Z",
                    ("reason", "SKU X is out of stock"),
                ),
            )])),
        );
        item.insert(
            attr::STATUS.to_owned(),
            AttributeValue::S("rejected".into()),
        );
        item.insert("statusRank".to_owned(), AttributeValue::N("9".into()));
        let Ok(OrderView::Placed(read)) = OrderView::try_from(item) else {
            panic!("reads as a placed order");
        };
        assert_eq!(read.status, "rejected");
        let rejected = &read.steps["inventory_rejected"];
        assert_eq!(rejected.reason.as_deref(), Some("SKU X is out of stock"));
        assert_eq!(rejected.reference, None);
        let json = serde_json::to_value(&read).expect("json");
        assert_eq!(
            json["steps"]["inventory_rejected"]["at"],
            "2026-11-23T09:15:31.000Z"
        );
        assert!(json["steps"]["inventory_rejected"].get("eventId").is_none());
    }

    #[test]
    fn a_rejected_order_reads_back_with_its_violations() {
        let item = HashMap::from([
            (
                attr::ORDER_ID.to_owned(),
                AttributeValue::S(Uuid::from_u128(3).to_string()),
            ),
            (
                attr::CUSTOMER_ID.to_owned(),
                AttributeValue::S("customer-1".to_owned()),
            ),
            (
                attr::PLACED_AT.to_owned(),
                AttributeValue::S("2026-11-23T09:15:30.120Z".to_owned()),
            ),
            (
                attr::STATUS.to_owned(),
                AttributeValue::S("rejected".to_owned()),
            ),
            (
                attr::STATUS_RANK.to_owned(),
                AttributeValue::N("9".to_owned()),
            ),
            (
                "placedEventId".to_owned(),
                AttributeValue::S("event-1".to_owned()),
            ),
            (
                VIOLATIONS.to_owned(),
                AttributeValue::L(vec![AttributeValue::M(HashMap::from([
                    (
                        "pointer".to_owned(),
                        AttributeValue::S("/total/amount".to_owned()),
                    ),
                    (
                        "message".to_owned(),
                        AttributeValue::S("is not the sum".to_owned()),
                    ),
                ]))]),
            ),
        ]);
        let read = OrderView::try_from(item).expect("reads");
        assert_eq!(read.status(), "rejected");
        assert_eq!(read.customer_id(), "customer-1");
        let json = serde_json::to_value(&read).expect("json");
        assert_eq!(json["violations"][0]["pointer"], "/total/amount");
        assert!(
            json.get("lines").is_none() && json.get("placedEventId").is_none(),
            "{json}"
        );
    }

    #[test]
    fn an_item_of_another_shape_is_corrupt() {
        let item = HashMap::from([
            (attr::ORDER_ID.to_owned(), AttributeValue::S("x".to_owned())),
            (
                attr::STATUS.to_owned(),
                AttributeValue::S("placed".to_owned()),
            ),
        ]);
        assert!(matches!(
            OrderView::try_from(item.clone()),
            Err(ReadError::Corrupt { key, .. }) if key == "x"
        ));
        // A rejected order's shape is not a way out for a corrupt item.
        let mut with_violations = item;
        with_violations.insert(VIOLATIONS.to_owned(), AttributeValue::L(Vec::new()));
        assert!(matches!(
            OrderView::try_from(with_violations),
            Err(ReadError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_page_key_is_the_index_key_plus_the_table_key() {
        let key = PageKey {
            customer_id: "customer-1".to_owned(),
            placed_at: "2026-11-23T09:15:30.120Z".to_owned(),
            order_id: Uuid::from_u128(7),
        };
        let item = Item::from(key.clone());
        assert_eq!(item.len(), 3);
        assert_eq!(PageKey::try_from(item).ok(), Some(key));
    }
}
