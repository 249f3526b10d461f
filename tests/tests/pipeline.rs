//! Orders through the whole local pipeline: gateway, stream, materialiser, DynamoDB.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use devstack::sample;
use ingest::order::{Channel, OrderRequest};
use ingest::producer::Entry;
use pipeline_tests::{TestPipeline, log_events};
use processors::batch::{
    BatchConfig, EmitError, Emitter, Engine, Handled, RecordError, RecordHandler,
};
use processors::dead_letter::S3DeadLetters;
use processors::failures::DynamoFailureLog;
use processors::record::StreamRecord;
use rand::SeedableRng;
use rand::rngs::StdRng;
use uuid::Uuid;

/// The order ids of a burst.
fn ids(orders: &[(String, OrderRequest)]) -> Vec<Uuid> {
    orders.iter().map(|(_, order)| order.order_id).collect()
}

#[tokio::test]
async fn every_accepted_order_is_materialised_exactly_once_with_its_customer_and_total() {
    let pipeline = TestPipeline::start().await;
    let _materialiser = pipeline.start_materialiser();
    let orders = pipeline.burst(1, 400, 60).await;

    let missing = pipeline
        .wait_materialised(&ids(&orders), Duration::from_secs(60))
        .await;
    assert!(
        missing.is_empty(),
        "{} orders never materialised",
        missing.len()
    );
    assert_eq!(
        pipeline.order_count().await,
        orders.len(),
        "one item per order, no more"
    );

    let dynamodb = pipeline.stack.dynamodb();
    for (customer, order) in orders.iter().take(25) {
        let item = dynamodb
            .get_item()
            .table_name(&pipeline.stack.names.orders_table)
            .key("orderId", AttributeValue::S(order.order_id.to_string()))
            .send()
            .await
            .expect("GetItem")
            .item
            .expect("the order exists");
        let expected_total: i64 = order
            .lines
            .iter()
            .map(|l| i64::from(l.quantity) * l.unit_price.amount)
            .sum();
        assert_eq!(item["customerId"], AttributeValue::S(customer.clone()));
        assert_eq!(item["status"], AttributeValue::S("placed".into()));
        assert_eq!(
            item["total"].as_m().expect("map")["amount"],
            AttributeValue::N(expected_total.to_string())
        );
    }
}

#[tokio::test]
async fn a_customers_orders_list_newest_first_from_the_index() {
    let pipeline = TestPipeline::start().await;
    let _materialiser = pipeline.start_materialiser();
    let mut rng = StdRng::seed_from_u64(5);
    let mut sent = Vec::new();
    for minutes_ago in [30, 10, 20] {
        let mut order = sample::order(&mut rng, Channel::Mobile);
        order.placed_at = time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes_ago);
        assert_eq!(pipeline.post_order("customer-7", &order).await.status, 202);
        sent.push((minutes_ago, order.order_id));
    }
    let other = sample::order(&mut rng, Channel::Web);
    assert_eq!(pipeline.post_order("customer-8", &other).await.status, 202);
    let all: Vec<Uuid> = sent
        .iter()
        .map(|(_, id)| *id)
        .chain([other.order_id])
        .collect();
    assert!(
        pipeline
            .wait_materialised(&all, Duration::from_secs(30))
            .await
            .is_empty()
    );

    let listed = pipeline
        .stack
        .dynamodb()
        .query()
        .table_name(&pipeline.stack.names.orders_table)
        .index_name(ingest::config::orders_table::BY_CUSTOMER_INDEX)
        .key_condition_expression("customerId = :c")
        .expression_attribute_values(":c", AttributeValue::S("customer-7".into()))
        .scan_index_forward(false)
        .send()
        .await
        .expect("Query");
    let listed: Vec<String> = listed
        .items()
        .iter()
        .filter_map(|item| item["orderId"].as_s().ok().cloned())
        .collect();
    sent.sort();
    let newest_first: Vec<String> = sent.iter().map(|(_, id)| id.to_string()).collect();
    assert_eq!(listed, newest_first);
}

#[tokio::test]
async fn posting_the_same_order_again_yields_one_order() {
    let pipeline = TestPipeline::start().await;
    let _materialiser = pipeline.start_materialiser();
    let order = sample::order(&mut StdRng::seed_from_u64(3), Channel::Web);
    for _ in 0..3 {
        assert_eq!(pipeline.post_order("customer-1", &order).await.status, 202);
    }
    let records = pipeline.stream_records().await;
    assert_eq!(
        records.len(),
        3,
        "each POST is a record; the materialiser deduplicates"
    );
    let last = records
        .iter()
        .map(|r| r.sequence_number().to_owned())
        .max_by_key(|s| (s.len(), s.clone()));

    // Wait until the materialiser has checkpointed past the last duplicate, then count.
    let shards = pipeline
        .stack
        .kinesis()
        .list_shards()
        .stream_name(&pipeline.stack.names.stream)
        .send()
        .await
        .expect("ListShards");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut done = false;
        for shard in shards.shards() {
            let checkpoint = pipeline
                .checkpoint(ingest::config::consumers::MATERIALISER, shard.shard_id())
                .await;
            done |= checkpoint.sequence_number == last;
        }
        if done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the materialiser never reached the last duplicate"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pipeline.order_count().await, 1);
}

#[tokio::test]
async fn a_materialiser_killed_mid_burst_resumes_from_its_checkpoint_and_loses_nothing() {
    let pipeline = TestPipeline::start().await;
    let (mut first, _first_logs) = pipeline.spawn_materialiser();

    let sender = async { pipeline.burst(9, 1500, 150).await };
    let killer = async {
        // Kill once part of the burst is materialised, so both sides of the kill have work.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while pipeline.order_count().await < 300 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the materialiser made no progress"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        first.start_kill().expect("SIGKILL");
        first.wait().await.expect("killed");
        pipeline.order_count().await
    };
    let (orders, materialised_at_kill) = tokio::join!(sender, killer);
    assert!(
        materialised_at_kill < orders.len(),
        "the kill came mid-burst"
    );

    let (_second, second_logs) = pipeline.spawn_materialiser();
    let missing = pipeline
        .wait_materialised(&ids(&orders), Duration::from_secs(90))
        .await;
    assert!(
        missing.is_empty(),
        "{} orders lost across the kill",
        missing.len()
    );
    assert_eq!(pipeline.order_count().await, orders.len());

    let subscriptions = log_events(&second_logs, "subscribing");
    assert!(
        subscriptions.iter().any(|fields| fields["after"] != "None"),
        "the restarted materialiser resumed from a checkpoint: {subscriptions:?}"
    );
    let handled_again: u64 = log_events(&second_logs, "batch done")
        .iter()
        .filter_map(|f| f["handled"].as_u64())
        .sum();
    assert!(
        (handled_again as usize) < orders.len(),
        "the restart did not start over from the oldest record ({handled_again} handled again)"
    );
    let unique: HashSet<Uuid> = ids(&orders).into_iter().collect();
    assert_eq!(unique.len(), orders.len());
}

/// The host across a reshard: the stream grows from 4 to 8 shards mid-burst. Every order is
/// materialised once, and each parent is read to its end (its checkpoint says so) before its
/// children, which the host only starts after that.
#[tokio::test]
async fn a_reshard_mid_burst_loses_nothing_and_ends_every_parent() {
    let pipeline = TestPipeline::start().await;
    let _materialiser = pipeline.start_materialiser();
    let kinesis = pipeline.stack.kinesis();
    let stream = &pipeline.stack.names.stream;
    let parents: Vec<String> = kinesis
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .expect("ListShards")
        .shards()
        .iter()
        .map(|s| s.shard_id().to_owned())
        .collect();

    let before = pipeline.burst(21, 300, 60).await;
    kinesis
        .update_shard_count()
        .stream_name(stream)
        .target_shard_count(8)
        .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
        .send()
        .await
        .expect("UpdateShardCount");
    devstack::wait_until_active(&kinesis, stream)
        .await
        .expect("stream active after resharding");
    let after = pipeline.burst(22, 300, 60).await;

    let orders: Vec<Uuid> = ids(&before).into_iter().chain(ids(&after)).collect();
    let missing = pipeline
        .wait_materialised(&orders, Duration::from_secs(60))
        .await;
    assert!(
        missing.is_empty(),
        "{} orders lost across the reshard",
        missing.len()
    );
    assert_eq!(pipeline.order_count().await, orders.len());

    for parent in &parents {
        let checkpoint = pipeline
            .checkpoint(ingest::config::consumers::MATERIALISER, parent)
            .await;
        assert!(
            checkpoint.shard_ended,
            "{parent} read to its end: {checkpoint:?}"
        );
    }
}

/// Panics at its first record (a bug), then hands every record to the materialiser.
/// Asks for one event to be emitted at its first record, then materialises as usual.
struct EmitsFirst<H> {
    inner: H,
    emitted: std::sync::atomic::AtomicBool,
}

impl<H: RecordHandler> RecordHandler for EmitsFirst<H> {
    async fn handle(&self, record: &StreamRecord) -> Result<Handled, RecordError> {
        if !self.emitted.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Ok(Handled::Emit(vec![Entry {
                partition_key: record.partition_key.clone(),
                data: b"never put".to_vec(),
            }]));
        }
        self.inner.handle(record).await
    }
}

/// A bug in the host's own code (a handler's panics are caught by the engine as failures).
struct PanickingStream;

impl Emitter for PanickingStream {
    async fn emit(&self, _events: Vec<Entry>) -> Result<(), EmitError> {
        panic!("a bug in the host")
    }
}

#[tokio::test]
async fn a_shard_task_that_dies_is_restarted_from_its_checkpoint() {
    let pipeline = TestPipeline::start().await;
    let names = &pipeline.stack.names;
    let _host = pipeline.start_engine(Engine {
        consumer: ingest::config::consumers::MATERIALISER.to_owned(),
        stream: names.stream.clone(),
        handler: EmitsFirst {
            inner: pipeline.materialiser(),
            emitted: false.into(),
        },
        emitter: PanickingStream,
        dead_letters: S3DeadLetters::new(pipeline.stack.s3(), &names.dead_letter_bucket),
        failures: DynamoFailureLog::new(pipeline.stack.dynamodb(), &names.failures_table),
        config: BatchConfig::default(),
    });
    let orders = pipeline.burst(31, 200, 40).await;
    let missing = pipeline
        .wait_materialised(&ids(&orders), Duration::from_secs(30))
        .await;
    assert!(
        missing.is_empty(),
        "{} orders of the shard whose task died were never materialised",
        missing.len()
    );
}

/// Emits one `order.echoed` event per placed order, with an id made from the order id, and
/// skips every other event type (its own events come back to it on the same stream).
struct Echo;

impl RecordHandler for Echo {
    async fn handle(&self, record: &StreamRecord) -> Result<Handled, RecordError> {
        match ingest::envelope::decode(&record.data) {
            Ok(ingest::envelope::Event::OrderPlaced(placed)) => {
                let echoed = serde_json::json!({
                    "specversion": "1.0",
                    "id": format!("{}:echoed", placed.subject),
                    "source": "/orders/test",
                    "type": "order.echoed",
                    "time": "2026-11-25T00:00:00.000Z",
                    "subject": placed.subject,
                    "datacontenttype": "application/json",
                    "customerid": placed.customerid,
                    "schemaversion": 1,
                    "data": {},
                });
                Ok(Handled::Emit(vec![Entry {
                    partition_key: placed.customerid.clone(),
                    data: serde_json::to_vec(&echoed).expect("json"),
                }]))
            }
            Ok(_) => Ok(Handled::Skipped),
            Err(error) => Err(RecordError::Poison(error.to_string())),
        }
    }
}

#[tokio::test]
async fn events_a_handler_emits_land_on_the_stream_under_the_customers_key() {
    let pipeline = TestPipeline::start().await;
    let _host = pipeline.start_host(Echo);
    let orders = pipeline.burst(41, 100, 20).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let echoed = loop {
        let echoed: Vec<(String, serde_json::Value)> = pipeline
            .stream_records()
            .await
            .iter()
            .filter_map(|r| {
                let event: serde_json::Value = serde_json::from_slice(r.data().as_ref()).ok()?;
                let key = r.partition_key().unwrap_or_default().to_owned();
                (event["type"] == "order.echoed").then_some((key, event))
            })
            .collect();
        if echoed.len() >= orders.len() || tokio::time::Instant::now() > deadline {
            break echoed;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let ids: HashSet<&str> = echoed
        .iter()
        .filter_map(|(_, event)| event["id"].as_str())
        .collect();
    assert_eq!(ids.len(), orders.len(), "one event per order");
    for (partition_key, event) in &echoed {
        assert_eq!(event["customerid"], partition_key.as_str());
    }
    for (customer, order) in &orders {
        assert!(
            echoed
                .iter()
                .any(|(key, event)| key == customer
                    && event["subject"] == order.order_id.to_string()),
            "{} echoed under {customer}",
            order.order_id
        );
    }
}

#[tokio::test]
async fn a_batch_counts_the_dynamodb_write_units_it_consumed() {
    let pipeline = TestPipeline::start().await;
    let engine = pipeline.engine(pipeline.materialiser(), BatchConfig::default());
    let mut rng = StdRng::seed_from_u64(81);
    let record = |sequence: usize, customer: &str, order: &OrderRequest| {
        let placed = order.clone().into_placed(customer).expect("valid");
        let data = ingest::envelope::Envelope::order_placed(
            placed,
            Uuid::new_v4().to_string(),
            time::OffsetDateTime::now_utc(),
        )
        .to_bytes();
        StreamRecord {
            shard_id: "shardId-000000000000".into(),
            sequence_number: format!("{sequence:05}"),
            partition_key: customer.into(),
            data: data.into(),
            arrived_at: time::OffsetDateTime::now_utc(),
        }
    };
    let orders: Vec<OrderRequest> = (0..3)
        .map(|_| sample::order(&mut rng, Channel::Web))
        .collect();
    let records: Vec<StreamRecord> = orders
        .iter()
        .enumerate()
        .map(|(i, order)| record(i, &format!("c-{i}"), order))
        .collect();
    let (outcome, units) = processors::capacity::metered(engine.process_batch(&records)).await;
    assert_eq!(outcome.handled, 3);
    // Each new order: its item (one unit per KB) and its keys-only index entry (one unit).
    assert!(units >= 6.0, "{units}");
    // The same orders again: each a write refused by its condition, counted as one unit.
    let (_, again) = processors::capacity::metered(engine.process_batch(&records)).await;
    assert_eq!(again, 3.0);
}
