//! The materialiser's Lambda binary, run as Lambda runs it: through the Runtime API.

use base64::Engine;
use devstack::{sample, workspace_binary};
use ingest::envelope::Envelope;
use ingest::order::Channel;
use pipeline_tests::TestPipeline;
use pipeline_tests::runtime_api::{Outcome, RuntimeApi};
use processors::dead_letter::GaveUp;
use processors::redrive::Letter;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use uuid::Uuid;

/// An event of `records` as Lambda delivers them, arrived just now (an old record that fails is
/// dead-lettered at once: the age limit).
fn kinesis_event(records: &[(&str, Vec<u8>)]) -> Value {
    let arrived = time::OffsetDateTime::now_utc().unix_timestamp();
    let records: Vec<Value> = records
        .iter()
        .map(|(sequence_number, data)| {
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "customer-1",
                    "sequenceNumber": sequence_number,
                    "data": base64::engine::general_purpose::STANDARD.encode(data),
                    "approximateArrivalTimestamp": arrived
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
        pipeline_tests::spawn_with_logs(&workspace_binary("materialiser-lambda"), &[], env);
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
    // The poison record is dead-lettered with its payload, not reported as a failure.
    let logged = pipeline_tests::log_events(&logs, "record dead-lettered");
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["sequence_number"], "101");
    assert_eq!(logged[0]["shard_id"], "shardId-000000000003");
    let letters = pipeline.dead_letters().await;
    match letters.as_slice() {
        [Letter::Record { letter, .. }] => {
            assert_eq!(letter.gave_up, GaveUp::Poison);
            assert_eq!(letter.payload().expect("base64"), b"not json");
            assert_eq!(
                (letter.shard_id.as_str(), letter.sequence_number.as_str()),
                ("shardId-000000000003", "101")
            );
            let age = time::OffsetDateTime::now_utc() - letter.arrived_at;
            assert!(age < time::Duration::minutes(1), "arrival kept: {age}");
        }
        other => panic!("expected one dead letter, got {other:?}"),
    }

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

#[tokio::test]
async fn a_saga_lambda_stops_retrying_before_its_deadline_and_reports_the_record_for_retry() {
    let pipeline = TestPipeline::start().await;
    let mut config = devstack::downstream::StandInConfig::default();
    config.inventory.down = true;
    let stand_ins = devstack::downstream::serve(config)
        .await
        .expect("stand-ins");
    let mut runtime = RuntimeApi::start().await;
    let mut env = pipeline.stack.env();
    env.extend(runtime.function_env("orders-inventory"));
    env.push((
        "INVENTORY_URL".into(),
        format!("{}/inventory", stand_ins.url),
    ));
    // A budget far beyond the invocation: only the deadline can stop the retries in time.
    env.push(("DOWNSTREAM_BUDGET_MS".into(), "600000".into()));
    let (_function, logs) =
        pipeline_tests::spawn_with_logs(&workspace_binary("inventory-lambda"), &[], env);
    let mut rng = StdRng::seed_from_u64(22);
    let (_, data) = placed(&mut rng, "customer-1");

    let timeout = std::time::Duration::from_secs(4);
    let outcome = runtime
        .invoke_within("req-1", kinesis_event(&[("300", data)]), timeout)
        .await;
    // Answered before the deadline the function was given (counted from when it took the
    // invocation, as Lambda does, so its start-up does not count): Lambda would otherwise
    // fail the whole invocation.
    let margin = runtime.margin_ms("req-1").expect("answered");
    assert!(margin > 0, "answered {}ms past the deadline", -margin);
    assert_eq!(
        outcome,
        Outcome::Response(json!({ "batchItemFailures": [{ "itemIdentifier": "300" }] }))
    );
    let retried =
        pipeline_tests::log_events(&logs, "transient failure; Lambda retries the batch from it");
    assert_eq!(retried.len(), 1);
    let reason = retried[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("deadline"), "{reason}");
    assert!(pipeline.dead_letters().await.is_empty());
}
