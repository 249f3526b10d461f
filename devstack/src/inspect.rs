//! Reading back what the pipeline did, for the demo and the tests.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Select};
use processors::store::attr;
use uuid::Uuid;

/// The ids among `order_ids` that have no item in the orders table.
pub async fn missing_orders(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    order_ids: &[Uuid],
) -> Result<Vec<Uuid>, aws_sdk_dynamodb::Error> {
    let mut found = HashSet::new();
    for chunk in order_ids.chunks(100) {
        let keys = chunk
            .iter()
            .map(|id| [(attr::ORDER_ID.to_owned(), AttributeValue::S(id.to_string()))].into())
            .collect();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .projection_expression("#id")
                .expression_attribute_names("#id", attr::ORDER_ID)
                .build()
                .map_err(aws_sdk_dynamodb::Error::from)?,
        );
        while let Some(keys) = request.take() {
            let output = dynamodb
                .batch_get_item()
                .request_items(table, keys)
                .send()
                .await?;
            for item in output
                .responses
                .unwrap_or_default()
                .remove(table)
                .unwrap_or_default()
            {
                if let Some(AttributeValue::S(id)) = item.get(attr::ORDER_ID) {
                    found.insert(id.clone());
                }
            }
            request = output.unprocessed_keys.unwrap_or_default().remove(table);
        }
    }
    Ok(order_ids
        .iter()
        .filter(|id| !found.contains(&id.to_string()))
        .copied()
        .collect())
}

/// Number of items in `table`.
pub async fn count_items(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<usize, aws_sdk_dynamodb::Error> {
    let mut count = 0usize;
    let mut start = None;
    loop {
        let output = dynamodb
            .scan()
            .table_name(table)
            .select(Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        count += usize::try_from(output.count).unwrap_or_default();
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(count),
        }
    }
}

/// An order's status once the saga is done with it.
pub const FINAL_STATUSES: [&str; 4] = ["completed", "rejected", "released", "failed"];

/// Where one order is: its status, and when it completed (the `order.accounted` step's time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    pub status: String,
    pub completed_at: Option<time::OffsetDateTime>,
    /// Why it was rejected or failed: the service's reason on the step that said so.
    pub reason: Option<String>,
}

/// The steps whose reason explains an order that did not complete, in the order to look.
const REASON_STEPS: [&str; 5] = [
    "inventory_rejected",
    "inventory_failed",
    "fulfilment_failed",
    "accounting_failed",
    "inventory_released",
];

/// Every order's state in `table`, by order id.
pub async fn order_states(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<std::collections::HashMap<String, OrderState>, aws_sdk_dynamodb::Error> {
    let mut states = std::collections::HashMap::new();
    let mut start = None;
    loop {
        let output = dynamodb
            .scan()
            .table_name(table)
            .projection_expression("#id, #status, #steps")
            .expression_attribute_names("#id", processors::store::attr::ORDER_ID)
            .expression_attribute_names("#status", processors::store::attr::STATUS)
            .expression_attribute_names("#steps", processors::store::attr::STEPS)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in output.items() {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            let Some(order_id) = text(processors::store::attr::ORDER_ID) else {
                continue;
            };
            let steps = item
                .get(processors::store::attr::STEPS)
                .and_then(|v| v.as_m().ok());
            let step_field = |step: &str, field: &str| {
                steps
                    .and_then(|steps| steps.get(step))
                    .and_then(|v| v.as_m().ok())
                    .and_then(|entry| entry.get(field))
                    .and_then(|v| v.as_s().ok())
                    .cloned()
            };
            let completed_at = step_field("accounted", "at").and_then(|at| {
                time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
                    .ok()
            });
            let reason = REASON_STEPS
                .iter()
                .find_map(|step| step_field(step, "reason"));
            states.insert(
                order_id,
                OrderState {
                    status: text(processors::store::attr::STATUS).unwrap_or_default(),
                    completed_at,
                    reason,
                },
            );
        }
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(states),
        }
    }
}

/// Every record on `stream` and their data bytes, read from the oldest of each shard with
/// `GetRecords` (what a cost model counts per order).
pub async fn stream_totals(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
) -> Result<StreamTotals, aws_sdk_kinesis::Error> {
    let shards = kinesis.list_shards().stream_name(stream).send().await?;
    let mut totals = StreamTotals::default();
    for shard in shards.shards() {
        let mut iterator = kinesis
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
            .send()
            .await?
            .shard_iterator;
        while let Some(current) = iterator {
            let output = kinesis.get_records().shard_iterator(current).send().await?;
            if output.records().is_empty() {
                break;
            }
            for record in output.records() {
                totals.add(record.data().as_ref().len());
            }
            iterator = output.next_shard_iterator;
        }
    }
    Ok(totals)
}

/// Records on a stream, their data bytes, and the sizes AWS bills them at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StreamTotals {
    pub records: usize,
    pub bytes: usize,
    /// Each record rounded up to the next KiB: what an on-demand stream bills as data in.
    pub billed_kib: usize,
    /// Each record rounded up to the next 5 KiB: what Firehose bills as ingested.
    pub firehose_billed_kib: usize,
}

impl StreamTotals {
    fn add(&mut self, bytes: usize) {
        self.records += 1;
        self.bytes += bytes;
        self.billed_kib += bytes.div_ceil(1024);
        self.firehose_billed_kib += bytes.div_ceil(5 * 1024) * 5;
    }
}
