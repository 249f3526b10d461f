//! The gateway's HTTP contract against the local stack: what is accepted lands on the stream
//! once, keyed by customer; everything rejected gets its status and message and puts nothing.

use std::time::Duration;

use devstack::sample::{self, BadInput};
use devstack::{KinesisEngine, LocalStack, StackOptions};
use ingest::auth::TokenIssuer;
use ingest::envelope::Envelope;
use ingest::order::{Channel, OrderPlaced};
use ingest::producer::Producer;
use pipeline_tests::{TestPipeline, post, serve_gateway};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

fn rng() -> StdRng {
    StdRng::seed_from_u64(11)
}

#[tokio::test]
async fn an_accepted_order_is_one_record_keyed_by_the_token_customer() {
    let pipeline = TestPipeline::start().await;
    let order = sample::order(&mut rng(), Channel::Web);
    let answer = pipeline.post_order("customer-00042", &order).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body["status"], "accepted");

    let records = pipeline.stream_records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].partition_key(), Some("customer-00042"));
    let envelope: Envelope<OrderPlaced> =
        serde_json::from_slice(records[0].data().as_ref()).expect("envelope");
    assert_eq!(envelope.event_type, "order.placed");
    assert_eq!(envelope.customerid, "customer-00042");
    assert_eq!(envelope.data.customer_id, "customer-00042");
    assert_eq!(envelope.data.order_id, order.order_id);
    assert_eq!(envelope.subject, order.order_id.to_string());
    assert_eq!(answer.body["eventId"], envelope.id.as_str());
}

/// One bad request and what the gateway must answer.
struct Case {
    name: String,
    token: Option<String>,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    problem: &'static str,
    /// Text the detail or a violation contains.
    says: &'static str,
}

#[tokio::test]
async fn each_kind_of_bad_input_gets_its_status_and_message_and_puts_nothing() {
    let pipeline = TestPipeline::start().await;
    let order = sample::order(&mut rng(), Channel::Mobile);
    let token = pipeline.tokens.token("customer-00001", 600);
    let json = "application/json";
    let body = serde_json::to_vec(&order).expect("json");

    let case = |name: &str,
                token: Option<String>,
                content_type: &'static str,
                body: Vec<u8>,
                status: u16,
                problem: &'static str,
                says: &'static str| Case {
        name: name.to_owned(),
        token,
        content_type,
        body,
        status,
        problem,
        says,
    };
    let mut cases = vec![
        case(
            "no token",
            None,
            json,
            body.clone(),
            401,
            "/problems/unauthenticated",
            "no bearer token",
        ),
        case(
            "token signed with another key",
            Some(TokenIssuer::hs256(b"another key").token("customer-00001", 600)),
            json,
            body.clone(),
            401,
            "/problems/unauthenticated",
            "InvalidSignature",
        ),
        case(
            "expired token",
            Some(TokenIssuer::hs256(&pipeline.stack.jwt_secret).token_expired("customer-00001")),
            json,
            body.clone(),
            401,
            "/problems/unauthenticated",
            "ExpiredSignature",
        ),
        case(
            "form content type",
            Some(token.clone()),
            "application/x-www-form-urlencoded",
            body.clone(),
            415,
            "/problems/unsupported-media-type",
            "application/json",
        ),
        case(
            "body over 64 KiB",
            Some(token.clone()),
            json,
            vec![b' '; 70 * 1024],
            413,
            "/problems/too-large",
            "65536 bytes",
        ),
    ];
    for kind in BadInput::ALL
        .into_iter()
        .filter(|k| !matches!(k, BadInput::NoToken | BadInput::WrongContentType))
    {
        let (problem, says) = match kind {
            BadInput::WrongTotal => (
                "/problems/invalid-order",
                "does not equal the sum of the lines",
            ),
            BadInput::MixedCurrencies => ("/problems/invalid-order", "an order has one currency"),
            BadInput::SchemaViolation => ("/problems/invalid-order", "is not one of \\\"web\\\""),
            BadInput::NotJson => ("/problems/malformed-body", "EOF"),
            BadInput::CustomerInBody => ("/problems/invalid-order", "customerId"),
            BadInput::NoToken | BadInput::WrongContentType => unreachable!(),
        };
        cases.push(case(
            &format!("{kind:?}"),
            Some(token.clone()),
            json,
            kind.body(&order),
            kind.expected_status(),
            problem,
            says,
        ));
    }

    for Case {
        name,
        token,
        content_type,
        body,
        status,
        problem,
        says,
    } in cases
    {
        let answer = pipeline
            .post("/orders", token.as_deref(), content_type, body)
            .await;
        assert_eq!(answer.status, status, "{name}: {}", answer.body);
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json"),
            "{name}"
        );
        assert_eq!(answer.body["type"], problem, "{name}");
        assert_eq!(answer.body["status"], status, "{name}");
        let said = answer.body.to_string();
        assert!(said.contains(says), "{name}: expected '{says}' in {said}");
    }
    assert!(
        pipeline.stream_records().await.is_empty(),
        "a rejected request put something on the stream"
    );
}

#[tokio::test]
async fn violations_carry_json_pointers_to_every_offending_value() {
    let pipeline = TestPipeline::start().await;
    let mut order = serde_json::to_value(sample::order(&mut rng(), Channel::Web)).expect("json");
    order["lines"][0]["quantity"] = json!(0);
    order["shippingAddress"]["country"] = json!("Ireland");
    let answer = pipeline
        .post(
            "/orders",
            Some(&pipeline.tokens.token("c-1", 60)),
            "application/json",
            order.to_string().into_bytes(),
        )
        .await;
    assert_eq!(answer.status, 400);
    let mut pointers: Vec<&str> = answer.body["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter_map(|v| v["pointer"].as_str())
        .collect();
    pointers.sort();
    assert_eq!(pointers, ["/lines/0/quantity", "/shippingAddress/country"]);
}

#[tokio::test]
async fn a_batch_with_one_invalid_order_is_refused_whole_and_puts_nothing() {
    let pipeline = TestPipeline::start().await;
    let mut rng = rng();
    let good = sample::order(&mut rng, Channel::Wholesale);
    let mut bad = serde_json::to_value(sample::order(&mut rng, Channel::Wholesale)).expect("json");
    bad["total"] = json!({"amount": 1, "currency": "EUR"});
    let answer = pipeline
        .post_batch(
            "wholesaler-7",
            &[serde_json::to_value(&good).expect("json"), bad],
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.body["type"], "/problems/invalid-order");
    assert_eq!(
        answer.body["violations"][0]["pointer"],
        "/orders/1/total/amount"
    );
    assert!(pipeline.stream_records().await.is_empty());
}

#[tokio::test]
async fn a_valid_batch_answers_per_entry_with_event_ids() {
    let pipeline = TestPipeline::start().await;
    let mut rng = rng();
    let good: Vec<_> = (0..3)
        .map(|_| sample::order(&mut rng, Channel::Wholesale))
        .collect();
    let orders: Vec<Value> = good
        .iter()
        .map(|o| serde_json::to_value(o).expect("json"))
        .collect();
    let answer = pipeline.post_batch("wholesaler-7", &orders).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["accepted"], 3);
    assert_eq!(answer.body["rejected"], 0);
    let results = answer.body["results"].as_array().expect("results");
    let statuses: Vec<u64> = results
        .iter()
        .filter_map(|r| r["status"].as_u64())
        .collect();
    assert_eq!(statuses, [202, 202, 202]);
    let event_ids: Vec<&str> = results
        .iter()
        .filter_map(|r| r["eventId"].as_str())
        .collect();
    assert_eq!(event_ids.len(), 3);
    assert!(event_ids[1].ends_with("-1"), "{event_ids:?}");

    let records = pipeline.stream_records().await;
    let mut on_stream: Vec<String> = records
        .iter()
        .map(|r| {
            serde_json::from_slice::<Envelope<OrderPlaced>>(r.data().as_ref())
                .expect("envelope")
                .subject
        })
        .collect();
    on_stream.sort();
    let mut expected: Vec<String> = good.iter().map(|o| o.order_id.to_string()).collect();
    expected.sort();
    assert_eq!(on_stream, expected);
    assert!(
        records
            .iter()
            .all(|r| r.partition_key() == Some("wholesaler-7"))
    );
}

#[tokio::test]
async fn a_batch_over_500_orders_is_rejected_whole() {
    let pipeline = TestPipeline::start().await;
    let mut rng = rng();
    let orders: Vec<Value> = (0..501)
        .map(|_| sample::to_json(&sample::order(&mut rng, Channel::Web)))
        .collect();
    let answer = pipeline.post_batch("c-1", &orders).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["violations"][0]["pointer"], "/orders");
    assert!(pipeline.stream_records().await.is_empty());
}

#[tokio::test]
async fn an_unreachable_stream_answers_503_with_retry_after() {
    // A stack only for its key; the gateway's Kinesis client points at a closed port.
    let stack = LocalStack::start(StackOptions::default())
        .await
        .expect("stack");
    let closed = devstack::free_port().expect("port");
    let kinesis = aws_sdk_kinesis::Client::from_conf(
        aws_sdk_kinesis::config::Builder::from(&stack.sdk_config())
            .endpoint_url(format!("http://127.0.0.1:{closed}"))
            .build(),
    );
    let orders = ingest::query::DynamoOrderReader::new(stack.dynamodb(), "orders");
    let url = serve_gateway(Producer::new(kinesis, "orders"), orders, &stack.jwt_secret).await;
    let order = sample::order(&mut rng(), Channel::Web);
    let answer = post(
        &reqwest::Client::new(),
        &format!("{url}/orders"),
        Some(&TokenIssuer::hs256(&stack.jwt_secret).token("c-1", 60)),
        "application/json",
        serde_json::to_vec(&order).expect("json"),
    )
    .await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(answer.body["type"], "/problems/unavailable");
    assert!(
        !answer.body.to_string().contains("127.0.0.1"),
        "no internal detail leaks to the client"
    );
}

#[tokio::test]
async fn a_throttled_stream_answers_429_with_retry_after_and_keeps_accepting_after() {
    // ferrokinesis is the local engine that enforces shard limits. The shard is held to two
    // writes a second, so that any machine sends faster than that: the test then waits for the
    // first 429 rather than for a rate only a fast machine reaches.
    let pipeline = TestPipeline::with_options(StackOptions {
        shard_limits: true,
        shards: 1,
        kinesis_engine: KinesisEngine::Ferrokinesis,
        ..Default::default()
    })
    .await;
    assert!(pipeline.stack.throttle_kinesis(Some(2)), "shard limits on");
    let mut rng = rng();
    let mut answers = Vec::new();
    for _wave in 0..50 {
        let wave =
            futures::future::join_all((0..20).map(|_| sample::order(&mut rng, Channel::Web)).map(
                |order| {
                    let pipeline = &pipeline;
                    async move { pipeline.post_order("wholesaler-1", &order).await }
                },
            ))
            .await;
        answers.extend(wave);
        if answers.iter().any(|a| a.status == 429) {
            break;
        }
    }
    let throttled: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    let accepted = answers.iter().filter(|a| a.status == 202).count();
    assert!(
        !throttled.is_empty(),
        "waves of 20 orders against 2 writes a second: some answers are 429"
    );
    assert_eq!(
        accepted + throttled.len(),
        answers.len(),
        "every answer is 202 or 429"
    );
    for answer in &throttled {
        assert_eq!(answer.header("retry-after"), Some("1"));
        assert_eq!(answer.body["type"], "/problems/throttled");
    }
    assert_eq!(
        pipeline.stream_records().await.len(),
        accepted,
        "exactly the accepted orders are on the stream"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    let order = sample::order(&mut rng, Channel::Web);
    assert_eq!(
        pipeline.post_order("wholesaler-1", &order).await.status,
        202,
        "accepted again once the window passes"
    );
}
