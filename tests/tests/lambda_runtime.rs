//! The materialiser's Lambda binary, run as Lambda runs it: through the Runtime API.

use base64::Engine;
use devstack::{sample, workspace_binary};
use ingest::envelope::Envelope;
use ingest::order::Channel;
use pipeline_tests::TestPipeline;
use pipeline_tests::runtime_api::{Outcome, RuntimeApi};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use uuid::Uuid;

fn kinesis_event(records: &[(&str, Vec<u8>)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(sequence_number, data)| {
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "customer-1",
                    "sequenceNumber": sequence_number,
                    "data": base64::engine::general_purpose::STANDARD.encode(data),
                    "approximateArrivalTimestamp": 1_795_000_000.5
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000003:{sequence_number}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::000000000000:role/materialiser",
                "awsRegion": "us-east-1",
                "eventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/orders/consumer/orders-materialiser:1"
            })
        })
        .collect();
    json!({ "Records": records })
}

fn placed(rng: &mut StdRng, customer: &str) -> (Uuid, Vec<u8>) {
    let order = sample::order(rng, Channel::Web)
        .into_placed(customer)
        .expect("valid");
    let id = order.order_id;
    (
        id,
        Envelope::order_placed(
            order,
            Uuid::new_v4().to_string(),
            time::OffsetDateTime::now_utc(),
        )
        .to_bytes(),
    )
}

#[tokio::test]
async fn the_lambda_binary_materialises_a_batch_and_reports_failures_through_the_runtime_api() {
    let pipeline = TestPipeline::start().await;
    let mut runtime = RuntimeApi::start().await;
    let mut env = pipeline.stack.env();
    env.extend(runtime.function_env("orders-materialiser"));
    let (_function, logs) =
        pipeline_tests::spawn_with_logs(&workspace_binary("materialiser-lambda"), env);
    let mut rng = StdRng::seed_from_u64(21);

    // 1. Two orders around a poison record: both written, nothing to retry.
    let (first, first_data) = placed(&mut rng, "customer-1");
    let (second, second_data) = placed(&mut rng, "customer-1");
    let event = kinesis_event(&[
        ("100", first_data),
        ("101", b"not json".to_vec()),
        ("102", second_data.clone()),
    ]);
    let outcome = runtime.invoke("req-1", event).await;
    assert_eq!(
        outcome,
        Outcome::Response(json!({ "batchItemFailures": [] }))
    );
    assert!(
        pipeline
            .wait_materialised(&[first, second], std::time::Duration::from_secs(5))
            .await
            .is_empty()
    );
    let poison = pipeline_tests::log_events(&logs, "poison record set aside");
    assert_eq!(poison.len(), 1);
    assert_eq!(poison[0]["sequence_number"], "101");
    assert_eq!(poison[0]["shard_id"], "shardId-000000000003");

    // 2. The same batch again (Lambda retries, replays): nothing changes, nothing fails.
    let again = kinesis_event(&[("102", second_data)]);
    assert_eq!(
        runtime.invoke("req-2", again).await,
        Outcome::Response(json!({ "batchItemFailures": [] }))
    );
    assert_eq!(pipeline.order_count().await, 2);

    // 3. An event the function cannot even decode is an invocation error, not a silent success.
    match runtime
        .invoke("req-3", json!({ "Records": "not a list" }))
        .await
    {
        Outcome::Error(error) => assert!(error["errorType"].is_string(), "{error}"),
        other => panic!("expected an invocation error, got {other:?}"),
    }

    // 4. The table is gone (a dependency outage): the first record is reported for retry.
    pipeline
        .stack
        .dynamodb()
        .delete_table()
        .table_name(&pipeline.stack.names.orders_table)
        .send()
        .await
        .expect("DeleteTable");
    let (_, third_data) = placed(&mut rng, "customer-1");
    let (_, fourth_data) = placed(&mut rng, "customer-1");
    let outcome = runtime
        .invoke(
            "req-4",
            kinesis_event(&[("200", third_data), ("201", fourth_data)]),
        )
        .await;
    assert_eq!(
        outcome,
        Outcome::Response(json!({ "batchItemFailures": [{ "itemIdentifier": "200" }] }))
    );
}
