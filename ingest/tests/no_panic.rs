//! Bad input at scale: the order parser and the event decoder give an answer (a typed value or
//! violations, an event or a decode error) for any input, and never panic. Property tests on
//! stable Rust (proptest): arbitrary bytes, arbitrary JSON, and valid examples with parts of
//! them replaced by arbitrary values (the likeliest way a real client or producer goes wrong).

use ingest::envelope::{Envelope, decode};
use ingest::schema::parse_order_request;
use proptest::prelude::*;
use serde_json::{Value, json};

const EXAMPLES: [&str; 3] = [
    include_str!("../examples/valid/web-two-lines.json"),
    include_str!("../examples/valid/mobile-with-total.json"),
    include_str!("../examples/valid/wholesale-at-limits.json"),
];

/// Any JSON value, a few levels deep, with the numbers that break arithmetic.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just(i64::MAX),
            Just(i64::MIN),
            Just(u32::MAX as i64),
            Just(0),
            Just(-1)
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String("2026-02-30T10:00:00.000Z".into())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `value` with the part found by walking `steps` (a child index at each level) replaced.
fn replace_at(value: &mut Value, steps: &[usize], new: Value) {
    let mut pointer = String::new();
    let mut at: &Value = value;
    for step in steps {
        let (segment, next) = match at {
            Value::Object(map) if !map.is_empty() => {
                let (key, next) = map.iter().nth(step % map.len()).expect("in range");
                (key.replace('~', "~0").replace('/', "~1"), next)
            }
            Value::Array(items) if !items.is_empty() => {
                let index = step % items.len();
                (index.to_string(), &items[index])
            }
            _ => break,
        };
        pointer.push('/');
        pointer.push_str(&segment);
        at = next;
    }
    if let Some(target) = value.pointer_mut(&pointer) {
        *target = new;
    }
}

/// A valid example with one part replaced by `value`.
fn mutated(example: usize, steps: &[usize], value: Value) -> Value {
    let mut body: Value = serde_json::from_str(EXAMPLES[example % EXAMPLES.len()]).expect("JSON");
    replace_at(&mut body, steps, value);
    body
}

/// Parses a request body as the gateway does, then applies the business rules.
fn parse_and_place(body: &Value) {
    if let Ok(order) = parse_order_request(body) {
        let _ = order.into_placed("customer-1");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoding_any_bytes_answers(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn any_json_body_gets_an_order_or_violations(body in any_json()) {
        parse_and_place(&body);
    }

    #[test]
    fn a_valid_order_with_any_part_replaced_gets_an_order_or_violations(
        example in 0..3usize,
        steps in prop::collection::vec(any::<usize>(), 1..5),
        value in any_json(),
    ) {
        parse_and_place(&mutated(example, &steps, value));
    }

    #[test]
    fn an_envelope_with_any_part_of_its_order_replaced_decodes_or_is_refused(
        example in 0..3usize,
        steps in prop::collection::vec(any::<usize>(), 1..5),
        value in any_json(),
    ) {
        let order = parse_order_request(&serde_json::from_str(EXAMPLES[example]).expect("JSON"))
            .expect("a valid example")
            .into_placed("customer-1")
            .expect("valid");
        let envelope = Envelope::order_placed(order, "e-1".into(), time::OffsetDateTime::UNIX_EPOCH);
        let mut event = serde_json::to_value(&envelope).expect("JSON");
        let mut data = event["data"].take();
        replace_at(&mut data, &steps, value);
        event["data"] = data;
        let _ = decode(&serde_json::to_vec(&event).expect("JSON"));
    }

    #[test]
    fn an_envelope_with_bytes_flipped_decodes_or_is_refused(
        example in 0..3usize,
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let order = parse_order_request(&serde_json::from_str(EXAMPLES[example]).expect("JSON"))
            .expect("a valid example")
            .into_placed("customer-1")
            .expect("valid");
        let envelope = Envelope::order_placed(order, "e-1".into(), time::OffsetDateTime::UNIX_EPOCH);
        let mut bytes = serde_json::to_vec(&envelope).expect("JSON");
        for (at, byte) in flips {
            let len = bytes.len();
            bytes[at % len] = byte;
        }
        let _ = decode(&bytes);
    }
}
