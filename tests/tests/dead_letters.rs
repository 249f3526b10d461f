//! Dead letters, attempt limits and redrive, end to end on the local stack: records put on the
//! stream with the SDK, the standalone host with the real engine, letters in the local S3, and
//! the `redrive` binary putting them back.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use devstack::sample;
use ingest::envelope::Envelope;
use ingest::order::Channel;
use ingest::producer::Entry;
use pipeline_tests::TestPipeline;
use processors::batch::{BatchConfig, Handled, RecordError, RecordHandler};
use processors::dead_letter::{DeadLetter, GaveUp};
use processors::record::StreamRecord;
use processors::redrive::Letter;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use uuid::Uuid;

/// A placed order's envelope for `customer`: its order id and bytes.
fn placed(rng: &mut StdRng, customer: &str) -> (Uuid, Vec<u8>) {
    let order = sample::order(rng, Channel::Web)
        .into_placed(customer)
        .expect("valid");
    let id = order.order_id;
    let envelope = Envelope::order_placed(
        order,
        Uuid::new_v4().to_string(),
        time::OffsetDateTime::now_utc(),
    );
    (id, envelope.to_bytes())
}

/// The materialiser with a bug for one order: it calls it poison until `fixed`.
struct RefusesOne<H> {
    inner: H,
    refused: Vec<u8>,
    fixed: Arc<AtomicBool>,
}

impl<H: RecordHandler> RecordHandler for RefusesOne<H> {
    async fn handle(&self, record: &StreamRecord) -> Result<Handled, RecordError> {
        if record.data.as_ref() == self.refused.as_slice() && !self.fixed.load(Ordering::SeqCst) {
            return Err(RecordError::Poison("cannot read this order (a bug)".into()));
        }
        self.inner.handle(record).await
    }
}

async fn stored_order(pipeline: &TestPipeline, order_id: Uuid) -> HashMap<String, AttributeValue> {
    pipeline
        .stack
        .dynamodb()
        .get_item()
        .table_name(&pipeline.stack.names.orders_table)
        .key("orderId", AttributeValue::S(order_id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("the order is stored")
}

fn own_letters(letters: Vec<Letter>) -> Vec<DeadLetter> {
    letters
        .into_iter()
        .filter_map(|letter| match letter {
            Letter::Record { letter, .. } => Some(*letter),
            Letter::LambdaBatch { .. } => None,
        })
        .collect()
}

#[tokio::test]
async fn a_poison_record_is_dead_lettered_with_its_payload_and_redriving_it_twice_stores_it_once() {
    let pipeline = TestPipeline::start().await;
    let mut rng = StdRng::seed_from_u64(41);
    let customer = "customer-poison";
    let (before, before_data) = placed(&mut rng, customer);
    let (refused, refused_data) = placed(&mut rng, customer);
    let (after, after_data) = placed(&mut rng, customer);
    pipeline.put_record(customer, before_data).await;
    let refused_sequence = pipeline.put_record(customer, refused_data.clone()).await;
    pipeline.put_record(customer, after_data).await;

    let fixed = Arc::new(AtomicBool::new(false));
    let _host = pipeline.start_host(RefusesOne {
        inner: pipeline.materialiser(),
        refused: refused_data.clone(),
        fixed: fixed.clone(),
    });
    let missing = pipeline
        .wait_materialised(&[before, after], Duration::from_secs(30))
        .await;
    assert!(
        missing.is_empty(),
        "the records behind the poison one on its key are handled"
    );
    assert_eq!(
        pipeline
            .wait_materialised(&[refused], Duration::from_millis(1))
            .await,
        [refused]
    );

    let letters = own_letters(pipeline.dead_letters().await);
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter.gave_up, GaveUp::Poison);
    assert_eq!(letter.payload().expect("base64"), refused_data);
    assert_eq!(letter.partition_key, customer);
    assert_eq!(letter.sequence_number, refused_sequence);
    assert_eq!(letter.customer_id.as_deref(), Some(customer));
    assert_eq!(letter.event_type.as_deref(), Some("order.placed"));
    assert_eq!(letter.consumer, "orders-materialiser");
    assert!(letter.reason.contains("a bug"), "{}", letter.reason);

    // `list` shows it, and a dry run sends nothing.
    let listed: Value =
        serde_json::from_str(&pipeline.redrive(&["list", "--json"]).await).expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["kind"], "record");
    let dry: Value = serde_json::from_str(
        &pipeline
            .redrive(&[
                "send",
                "--consumer",
                "orders-materialiser",
                "--dry-run",
                "--json",
            ])
            .await,
    )
    .expect("json");
    assert_eq!(
        (&dry["records"], &dry["dryRun"]),
        (&Value::from(1), &Value::from(true))
    );

    // The bug is fixed; the redrive stores the order.
    fixed.store(true, Ordering::SeqCst);
    let sent: Value = serde_json::from_str(
        &pipeline
            .redrive(&["send", "--consumer", "orders-materialiser", "--json"])
            .await,
    )
    .expect("json");
    assert_eq!(sent["records"], 1);
    let missing = pipeline
        .wait_materialised(&[refused], Duration::from_secs(30))
        .await;
    assert!(missing.is_empty(), "the redriven order is stored");
    let stored = stored_order(&pipeline, refused).await;

    // A second redrive changes nothing: a later order on the same key shows it was handled.
    pipeline.redrive(&["send", "--json"]).await;
    let (marker, marker_data) = placed(&mut rng, customer);
    pipeline.put_record(customer, marker_data).await;
    let missing = pipeline
        .wait_materialised(&[marker], Duration::from_secs(30))
        .await;
    assert!(missing.is_empty());
    assert_eq!(stored_order(&pipeline, refused).await, stored);
    assert_eq!(pipeline.order_count().await, 4);
    assert_eq!(own_letters(pipeline.dead_letters().await).len(), 1);
}

/// Fails transiently for every record until `until`, or for ever for one order; says so on the
/// stream when a record is dead-lettered, as a saga stage emits its `…_failed` event.
struct Outage<H> {
    inner: H,
    until: Instant,
    always_fails: Vec<u8>,
}

impl<H: RecordHandler> RecordHandler for Outage<H> {
    async fn handle(&self, record: &StreamRecord) -> Result<Handled, RecordError> {
        if record.data.as_ref() == self.always_fails.as_slice() {
            return Err(RecordError::Transient(
                "the inventory service is down".into(),
            ));
        }
        if Instant::now() < self.until {
            return Err(RecordError::Transient("the table is unreachable".into()));
        }
        self.inner.handle(record).await
    }

    async fn dead_lettered(&self, record: &StreamRecord, letter: &DeadLetter) -> Vec<Entry> {
        // An envelope of a type the materialiser skips: its own events come back to it.
        let event = serde_json::json!({
            "specversion": "1.0",
            "id": format!("{}:failed", record.sequence_number),
            "source": "/orders/test",
            "type": "test.failed",
            "time": ingest::order::sortable_time::format(time::OffsetDateTime::now_utc()),
            "subject": record.sequence_number,
            "datacontenttype": "application/json",
            "customerid": record.partition_key,
            "schemaversion": 1,
            "data": { "gaveUp": letter.gave_up },
        });
        vec![Entry {
            partition_key: record.partition_key.clone(),
            data: serde_json::to_vec(&event).expect("json"),
        }]
    }
}

/// `count` orders from 8 customers put on the stream; `stuck` goes in as the 11th record.
async fn put_orders(
    pipeline: &TestPipeline,
    rng: &mut StdRng,
    count: usize,
    stuck: Option<&[u8]>,
) -> Vec<Uuid> {
    let mut orders = Vec::new();
    for i in 0..count {
        let customer = format!("customer-{}", i % 8);
        if i == 10
            && let Some(stuck) = stuck
        {
            pipeline.put_record("customer-0", stuck.to_vec()).await;
        }
        let (id, data) = placed(rng, &customer);
        pipeline.put_record(&customer, data).await;
        orders.push(id);
    }
    orders
}

#[tokio::test]
async fn a_handler_failing_for_seconds_recovers_with_nothing_skipped_or_dead_lettered() {
    let pipeline = TestPipeline::start().await;
    let mut rng = StdRng::seed_from_u64(42);
    let orders = put_orders(&pipeline, &mut rng, 40, None).await;
    let _host = pipeline.start_host(Outage {
        inner: pipeline.materialiser(),
        until: Instant::now() + Duration::from_secs(3),
        always_fails: Vec::new(),
    });
    let missing = pipeline
        .wait_materialised(&orders, Duration::from_secs(60))
        .await;
    assert!(missing.is_empty(), "{} orders skipped", missing.len());
    assert!(pipeline.dead_letters().await.is_empty());
}

#[tokio::test]
async fn a_record_past_the_attempt_limit_is_dead_lettered_the_handler_told_and_its_key_goes_on() {
    let pipeline = TestPipeline::start().await;
    let mut rng = StdRng::seed_from_u64(43);
    let (stuck, stuck_data) = placed(&mut rng, "customer-0");
    let orders = put_orders(&pipeline, &mut rng, 40, Some(&stuck_data)).await;
    let config = BatchConfig {
        max_attempts: 3,
        ..Default::default()
    };
    let _host = pipeline.start_host_with(
        Outage {
            inner: pipeline.materialiser(),
            until: Instant::now(),
            always_fails: stuck_data.clone(),
        },
        config,
    );
    let missing = pipeline
        .wait_materialised(&orders, Duration::from_secs(60))
        .await;
    assert!(missing.is_empty(), "{} orders skipped", missing.len());

    let letters = own_letters(pipeline.dead_letters().await);
    assert_eq!(
        letters.len(),
        1,
        "only the record that never succeeds: {letters:?}"
    );
    assert_eq!(letters[0].gave_up, GaveUp::AttemptLimit);
    assert_eq!(letters[0].attempts, 3);
    assert_eq!(letters[0].payload().expect("base64"), stuck_data);
    assert!(letters[0].reason.contains("inventory service is down"));
    assert_eq!(
        pipeline
            .wait_materialised(&[stuck], Duration::from_millis(1))
            .await,
        [stuck]
    );

    // The handler was told: its event is on the stream under the record's key.
    let told: Vec<Value> = pipeline
        .stream_records()
        .await
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(r.data().as_ref()).ok())
        .filter(|event| event["type"] == "test.failed")
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["data"]["gaveUp"], "attemptLimit");
    assert_eq!(
        told[0]["subject"],
        Value::from(letters[0].sequence_number.clone())
    );
    assert_eq!(told[0]["customerid"], "customer-0");
}

#[tokio::test]
async fn a_batch_from_lambdas_on_failure_destination_is_redriven_by_its_key() {
    let pipeline = TestPipeline::start().await;
    let mut rng = StdRng::seed_from_u64(44);
    let (order, data) = placed(&mut rng, "customer-lambda");
    use base64::Engine as _;
    let payload = serde_json::json!({ "Records": [{
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "customer-lambda",
            "sequenceNumber": "49601189658422359378836298521827638475320189012309704722",
            "data": base64::engine::general_purpose::STANDARD.encode(&data),
            "approximateArrivalTimestamp": 1_795_000_000.5
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "shardId-000000000001:49601189658422359378836298521827638475320189012309704722",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/materialiser",
        "awsRegion": "us-east-1",
        "eventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/orders-materialiser:1"
    }]});
    // The shape Lambda's S3 on-failure destination writes for a Kinesis source.
    let record = serde_json::json!({
        "requestContext": {
            "requestId": "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders-dev-materialiser",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 21
        },
        "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
        "version": "1.0",
        "timestamp": "2026-11-25T00:38:06.021Z",
        "KinesisBatchInfo": {
            "shardId": "shardId-000000000001",
            "startSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
            "endSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
            "approximateArrivalOfFirstRecord": "2026-11-25T00:38:04.835Z",
            "approximateArrivalOfLastRecord": "2026-11-25T00:38:04.835Z",
            "batchSize": 1,
            "streamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
        },
        "payload": payload.to_string()
    });
    let key = "aws/lambda/0f4e1b7a-esm/shardId-000000000001/2026/11/25/2026-11-25T00.38.06-7d3c";
    pipeline
        .stack
        .s3()
        .put_object()
        .bucket(&pipeline.stack.names.dead_letter_bucket)
        .key(key)
        .body(serde_json::to_vec(&record).expect("json").into())
        .send()
        .await
        .expect("PutObject");

    let listed = pipeline.redrive(&["list"]).await;
    assert!(
        listed.contains(key) && listed.contains("lambda batch of 1"),
        "{listed}"
    );
    let _host = pipeline.start_materialiser();
    pipeline.redrive(&["send", "--key", key]).await;
    let missing = pipeline
        .wait_materialised(&[order], Duration::from_secs(30))
        .await;
    assert!(
        missing.is_empty(),
        "the order from Lambda's failed batch is stored"
    );
}
