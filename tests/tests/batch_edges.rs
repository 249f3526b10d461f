//! The batch semantics of docs/consumers.md, edge case by edge case, through the Lambda host
//! (`handle_kinesis_event`) with the engine's real adapters on the local stack: dead letters in
//! the local S3, failure counts in the local DynamoDB. A scripted handler fails the records a
//! case names; each case checks the `batchItemFailures` answer (the lowest failed sequence
//! number, or none), which records were handled, and the dead letters written.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use aws_lambda_events::event::kinesis::KinesisEvent;
use base64::Engine as _;
use pipeline_tests::TestPipeline;
use processors::batch::{BatchConfig, Handled, RecordError, RecordHandler};
use processors::host::lambda::handle_kinesis_event;
use processors::record::StreamRecord;
use processors::redrive::Letter;
use serde_json::{Value, json};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Script {
    Transient,
    Poison,
}

/// Fails the records `script` names; records every record it handles.
#[derive(Clone, Default)]
struct Scripted {
    script: HashMap<String, Script>,
    handled: Arc<Mutex<Vec<String>>>,
}

impl RecordHandler for Scripted {
    async fn handle(&self, record: &StreamRecord) -> Result<Handled, RecordError> {
        match self.script.get(&record.sequence_number) {
            Some(Script::Transient) => Err(RecordError::Transient("the service timed out".into())),
            Some(Script::Poison) => Err(RecordError::Poison("not an order".into())),
            None => {
                self.handled
                    .lock()
                    .expect("lock")
                    .push(record.sequence_number.clone());
                Ok(Handled::Done)
            }
        }
    }
}

/// An event as Lambda delivers it: `(partition key, sequence number)` in shard order.
fn event(records: &[(&str, u32)]) -> KinesisEvent {
    let arrived = time::OffsetDateTime::now_utc().unix_timestamp();
    let records: Vec<Value> = records
        .iter()
        .map(|(key, sequence)| {
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": key,
                    "sequenceNumber": sequence.to_string(),
                    "data": base64::engine::general_purpose::STANDARD.encode(format!("record {sequence}")),
                    "approximateArrivalTimestamp": arrived
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{sequence}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::000000000000:role/edges",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/orders"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("a Kinesis event")
}

/// Keys a, b, c interleaved in one shard: a 100, b 101, c 102, a 103, b 104, c 105, a 106.
const BATCH: [(&str, u32); 7] = [
    ("a", 100),
    ("b", 101),
    ("c", 102),
    ("a", 103),
    ("b", 104),
    ("c", 105),
    ("a", 106),
];

struct Outcome {
    failures: Vec<String>,
    handled: HashSet<u32>,
    dead_lettered: Vec<String>,
}

async fn run(
    pipeline: &TestPipeline,
    case: &str,
    records: &[(&str, u32)],
    script: &[(u32, Script)],
) -> Outcome {
    let handler = Scripted {
        script: script
            .iter()
            .map(|(sequence, s)| (sequence.to_string(), *s))
            .collect(),
        ..Scripted::default()
    };
    let handled = handler.handled.clone();
    let consumer = format!("edges-{case}");
    let engine = pipeline.engine_as(&consumer, handler, BatchConfig::default());
    let answer = handle_kinesis_event(&engine, event(records)).await;
    let failures = answer
        .batch_item_failures
        .iter()
        .map(|f| {
            f.item_identifier
                .clone()
                .filter(|id| !id.is_empty())
                .expect("never an empty or null identifier")
        })
        .collect();
    let handled = handled
        .lock()
        .expect("lock")
        .iter()
        .map(|s| s.parse().expect("a number"))
        .collect();
    let dead_lettered = pipeline
        .dead_letters()
        .await
        .into_iter()
        .filter_map(|letter| match letter {
            Letter::Record { letter, .. } if letter.consumer == consumer => {
                assert_eq!(
                    letter.payload().expect("base64"),
                    format!("record {}", letter.sequence_number).into_bytes(),
                    "the letter keeps the payload"
                );
                Some(letter.sequence_number)
            }
            _ => None,
        })
        .collect();
    Outcome {
        failures,
        handled,
        dead_lettered,
    }
}

fn set(sequences: &[u32]) -> HashSet<u32> {
    sequences.iter().copied().collect()
}

#[tokio::test]
async fn every_edge_case_of_a_batch_through_the_lambda_host() {
    use Script::{Poison, Transient};
    let pipeline = TestPipeline::start().await;

    let empty = run(&pipeline, "empty", &[], &[]).await;
    assert!(empty.failures.is_empty() && empty.handled.is_empty());

    let none = run(&pipeline, "none-fail", &BATCH, &[]).await;
    assert!(none.failures.is_empty(), "an empty list, not a null entry");
    assert_eq!(none.handled, set(&[100, 101, 102, 103, 104, 105, 106]));

    // The first record fails: Lambda resumes there; key a stops, b and c go on.
    let first = run(&pipeline, "first-fails", &BATCH, &[(100, Transient)]).await;
    assert_eq!(first.failures, vec!["100"]);
    assert_eq!(first.handled, set(&[101, 102, 104, 105]));

    let last = run(&pipeline, "last-fails", &BATCH, &[(106, Transient)]).await;
    assert_eq!(last.failures, vec!["106"]);
    assert_eq!(last.handled, set(&[100, 101, 102, 103, 104, 105]));

    // Failures in two keys: one entry, the lowest; the third key is done.
    let several = run(
        &pipeline,
        "several-keys",
        &BATCH,
        &[(104, Transient), (102, Transient)],
    )
    .await;
    assert_eq!(several.failures, vec!["102"]);
    assert_eq!(several.handled, set(&[100, 101, 103, 106]));

    let all: Vec<(u32, Script)> = BATCH.iter().map(|(_, s)| (*s, Transient)).collect();
    let every = run(&pipeline, "all-fail", &BATCH, &all).await;
    assert_eq!(every.failures, vec!["100"]);
    assert!(every.handled.is_empty());
    assert!(
        every.dead_lettered.is_empty(),
        "transient, not dead letters"
    );

    // Poison in the middle of key b: dead-lettered with its payload, not a failure; b's next
    // record is handled.
    let poison = run(&pipeline, "poison-middle", &BATCH, &[(101, Poison)]).await;
    assert!(poison.failures.is_empty(), "{:?}", poison.failures);
    assert_eq!(poison.dead_lettered, vec!["101"]);
    assert_eq!(poison.handled, set(&[100, 102, 103, 104, 105, 106]));

    // Poison and a transient failure in one batch: the letter is written, the failure reported.
    let both = run(
        &pipeline,
        "poison-and-failure",
        &BATCH,
        &[(101, Poison), (103, Transient)],
    )
    .await;
    assert_eq!(both.failures, vec!["103"]);
    assert_eq!(both.dead_lettered, vec!["101"]);
    assert_eq!(both.handled, set(&[100, 102, 104, 105]));
}
