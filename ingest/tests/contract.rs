//! The order contract against the example bodies kept in `examples/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ingest::envelope::{Envelope, types};
use ingest::order::{OrderPlaced, OrderRequest};
use ingest::schema::parse_order_request;
use ingest::violation::Violation;
use serde_json::Value;

fn examples(kind: &str) -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples folder exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.file_name().is_some_and(|name| name != "expected.json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("readable example");
            (name, serde_json::from_str(&text).expect("example is JSON"))
        })
        .collect()
}

fn validate(body: &Value, customer: &str) -> Result<OrderPlaced, Vec<Violation>> {
    parse_order_request(body)?.into_placed(customer)
}

#[test]
fn every_valid_example_is_accepted_and_round_trips_through_the_envelope() {
    let valid = examples("valid");
    assert!(valid.len() >= 3);
    for (name, body) in valid {
        let order = validate(&body, "customer-0001")
            .unwrap_or_else(|v| panic!("{name} should be valid, got {v:?}"));
        let expected_total: i64 = order
            .lines
            .iter()
            .map(|l| i64::from(l.quantity) * l.unit_price.amount)
            .sum();
        assert_eq!(order.total.amount, expected_total, "{name}");
        assert_eq!(order.placed_at.offset(), time::UtcOffset::UTC, "{name}");

        let envelope = Envelope::order_placed(
            order.clone(),
            "req-1".into(),
            time::OffsetDateTime::now_utc(),
        );
        assert_eq!(envelope.event_type, types::ORDER_PLACED);
        assert_eq!(envelope.subject, order.order_id.to_string());
        assert_eq!(envelope.partition_key(), "customer-0001");
        let bytes = envelope.to_bytes();
        let back: Envelope<OrderPlaced> = serde_json::from_slice(&bytes).expect("decodes");
        assert_eq!(back, envelope, "{name} round trip");

        // The request type round-trips too, so clients can build bodies from it.
        let request: OrderRequest = serde_json::from_value(body.clone()).expect("request decodes");
        let again = serde_json::to_value(&request).expect("request encodes");
        let request_again: OrderRequest = serde_json::from_value(again).expect("decodes again");
        assert_eq!(request_again, request, "{name} request round trip");
    }
}

#[test]
fn every_invalid_example_is_rejected_with_the_expected_pointers() {
    let expected_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/invalid/expected.json");
    let expected: BTreeMap<String, Vec<String>> =
        serde_json::from_str(&std::fs::read_to_string(expected_path).expect("readable"))
            .expect("expected.json");
    let invalid = examples("invalid");
    assert_eq!(
        invalid.len(),
        expected.len(),
        "every invalid example has an expectation"
    );
    for (name, body) in invalid {
        let violations =
            validate(&body, "customer-0001").expect_err(&format!("{name} should be rejected"));
        let mut pointers: Vec<String> = violations.iter().map(|v| v.pointer.clone()).collect();
        pointers.sort();
        let mut want = expected[&name].clone();
        want.sort();
        assert_eq!(pointers, want, "{name}: {violations:?}");
        assert!(
            violations.iter().all(|v| !v.message.is_empty()),
            "{name} messages"
        );
    }
}

#[test]
fn the_envelope_has_the_cloudevents_attributes() {
    let (_, body) = examples("valid").remove(0);
    let order = validate(&body, "c-42").expect("valid");
    let json: Value = serde_json::from_slice(
        &Envelope::order_placed(order, "req-9".into(), time::OffsetDateTime::UNIX_EPOCH).to_bytes(),
    )
    .expect("json");
    assert_eq!(json["specversion"], "1.0");
    assert_eq!(json["id"], "req-9");
    assert_eq!(json["type"], "order.placed");
    assert_eq!(json["time"], "1970-01-01T00:00:00.000Z");
    assert_eq!(json["datacontenttype"], "application/json");
    assert_eq!(json["customerid"], "c-42");
    assert_eq!(json["schemaversion"], 1);
    assert_eq!(json["data"]["customerId"], "c-42");
    assert_eq!(
        json["data"]["total"],
        serde_json::json!({"amount": 4848, "currency": "EUR"})
    );
}
