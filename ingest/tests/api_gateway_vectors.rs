//! The shared test vectors in `api-gateway/vectors.json`: what the local gateway's code puts on
//! the stream for each request. The Pulumi tests render the API Gateway mapping templates against
//! the same inputs and must produce the same bytes. Run with `UPDATE_VECTORS=1` to rewrite the
//! expected records after a deliberate contract change (then review the diff).

use std::path::Path;

use ingest::gateway::{RequestContext, batch_envelopes, envelope_for};
use ingest::order::is_usable_customer_id;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// One record as PutRecord(s) would carry it, or nothing.
fn record(envelope: &ingest::envelope::Envelope<ingest::order::OrderPlaced>) -> Value {
    json!({
        "partitionKey": envelope.partition_key(),
        "data": String::from_utf8(envelope.to_bytes()).expect("JSON is UTF-8"),
    })
}

fn expected(case: &Value) -> Value {
    let customer = case["claims"]["sub"]
        .as_str()
        .filter(|sub| is_usable_customer_id(sub));
    let Some(customer) = customer else {
        return Value::Null; // 401: no record
    };
    let Ok(body) = serde_json::from_str::<Value>(case["body"].as_str().expect("body text")) else {
        return Value::Null;
    };
    let epoch_ms = case["requestTimeEpoch"].as_i64().expect("requestTimeEpoch");
    let request = RequestContext {
        request_id: case["requestId"].as_str().expect("requestId").to_owned(),
        time: OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000)
            .expect("time in range"),
    };
    if case["batch"].as_bool().unwrap_or(false) {
        batch_envelopes(customer, body, &request)
            .map(|envelopes| envelopes.iter().map(record).collect())
            .unwrap_or(Value::Null)
    } else {
        envelope_for(customer, body, request.request_id.clone(), request.time)
            .map(|envelope| record(&envelope))
            .unwrap_or(Value::Null)
    }
}

#[test]
fn the_vectors_hold_what_the_local_gateway_puts_on_the_stream() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("api-gateway/vectors.json");
    let text = std::fs::read_to_string(&path).expect("vectors file");
    let mut vectors: Value = serde_json::from_str(&text).expect("vectors are JSON");
    let cases = vectors["cases"].as_array_mut().expect("cases");
    let mut stale = Vec::new();
    for case in cases.iter_mut() {
        let want = expected(case);
        if case.get("expected") != Some(&want) {
            stale.push(case["name"].as_str().unwrap_or("?").to_owned());
            case["expected"] = want;
        }
    }
    // Every kind the templates must handle is present: accepted orders and refusals.
    assert!(cases.iter().any(|c| c["expected"].is_null()));
    assert!(cases.iter().filter(|c| !c["expected"].is_null()).count() >= 4);

    if std::env::var_os("UPDATE_VECTORS").is_some() {
        let mut text = serde_json::to_string_pretty(&vectors).expect("serialises");
        text.push('\n');
        std::fs::write(&path, text).expect("vectors written");
    } else {
        assert!(
            stale.is_empty(),
            "vectors out of date for {stale:?}: rerun with UPDATE_VECTORS=1 and review the diff"
        );
    }
}

#[test]
fn the_response_templates_answer_with_the_local_gateways_problems() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("api-gateway");
    for file in ["kinesis-error.vtl", "put-orders-batch-results.vtl"] {
        let template = std::fs::read_to_string(dir.join(file)).expect("template");
        for problem in [
            ingest::problem::Problem::throttled(),
            ingest::problem::Problem::unavailable(),
        ] {
            let json = serde_json::to_string(&problem).expect("serialises");
            assert!(template.contains(&json), "{file} lacks {json}");
        }
    }
}

#[test]
fn the_problems_api_gateway_answers_are_the_local_gateways() {
    use ingest::problem::Problem;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("api-gateway/problems.json");
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("problems file")).expect("JSON");
    let local = [
        ("invalid-order", Problem::invalid_order(Vec::new())),
        ("unauthenticated", Problem::unauthenticated(String::new())),
        ("too-large", Problem::too_large(1)),
        ("unsupported-media-type", Problem::unsupported_media_type()),
        ("throttled", Problem::throttled()),
        ("unavailable", Problem::unavailable()),
    ];
    let listed = file["problems"].as_object().expect("problems");
    assert_eq!(listed.len(), local.len(), "every listed problem is checked");
    for (name, problem) in local {
        let want = &listed[name];
        let got = serde_json::to_value(&problem).expect("serialises");
        for field in ["type", "title", "status"] {
            assert_eq!(got[field], want[field], "{name}.{field}");
        }
    }
}
