//! Order status for customers through the local gateway, which serves `GET /orders/{orderId}`
//! and `GET /orders` with the same handlers as `orders-query-lambda`: a customer reads their own
//! orders, never another's, and sees why an order that breaks the rules was rejected.

use std::time::Duration;

use devstack::downstream::Kind;
use devstack::sample;
use ingest::envelope::Envelope;
use ingest::order::Channel;
use pipeline_tests::{TestPipeline, fast_stand_ins};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use uuid::Uuid;

/// `GET {path}` on the gateway as `customer` (no token if `None`): status, cache header, body.
async fn get(
    pipeline: &TestPipeline,
    customer: Option<&str>,
    path: &str,
) -> (u16, Option<String>, Value) {
    let mut request = pipeline.http.get(format!("{}{path}", pipeline.gateway_url));
    if let Some(customer) = customer {
        request = request.bearer_auth(pipeline.tokens.token(customer, 60));
    }
    let response = request.send().await.expect("GET");
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.json().await.expect("JSON body");
    (status, cache, body)
}

#[tokio::test]
async fn a_customer_reads_their_own_orders_and_never_anothers() {
    let pipeline = TestPipeline::start().await;
    let _materialiser = pipeline.start_materialiser();
    let mut rng = StdRng::seed_from_u64(61);
    let mut ada = Vec::new();
    for _ in 0..3 {
        let order = sample::order(&mut rng, Channel::Web);
        assert_eq!(pipeline.post_order("ada", &order).await.status, 202);
        ada.push(order.order_id);
    }
    let bob_order = sample::order(&mut rng, Channel::Mobile);
    assert_eq!(pipeline.post_order("bob", &bob_order).await.status, 202);
    let mut all = ada.clone();
    all.push(bob_order.order_id);
    let missing = pipeline
        .wait_materialised(&all, Duration::from_secs(30))
        .await;
    assert!(missing.is_empty(), "{missing:?}");

    let (status, cache, own) = get(&pipeline, Some("ada"), &format!("/orders/{}", ada[0])).await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(cache.as_deref(), Some("private, no-store"));
    assert_eq!(own["orderId"], ada[0].to_string());
    assert_eq!(own["customerId"], "ada");
    assert_eq!(own["status"], "placed");

    // Another customer's order is answered exactly like one that does not exist.
    let (status, _, stolen) = get(&pipeline, Some("bob"), &format!("/orders/{}", ada[0])).await;
    let (_, _, absent) = get(
        &pipeline,
        Some("bob"),
        &format!("/orders/{}", Uuid::new_v4()),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(stolen, absent);

    // Pages of one's own orders only, newest first; another's token continues nothing.
    let (status, _, first) = get(&pipeline, Some("ada"), "/orders?limit=2").await;
    assert_eq!(status, 200, "{first}");
    let token = first["nextToken"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, _, second) = get(
        &pipeline,
        Some("ada"),
        &format!("/orders?limit=2&nextToken={token}"),
    )
    .await;
    let mut listed: Vec<String> = first["orders"]
        .as_array()
        .into_iter()
        .chain(second["orders"].as_array())
        .flatten()
        .map(|o| o["orderId"].as_str().expect("id").to_owned())
        .collect();
    listed.sort();
    let mut expected: Vec<String> = ada.iter().map(Uuid::to_string).collect();
    expected.sort();
    assert_eq!(listed, expected);
    let (status, _, bobs) = get(&pipeline, Some("bob"), "/orders").await;
    assert_eq!(status, 200);
    assert_eq!(bobs["orders"].as_array().map(Vec::len), Some(1), "{bobs}");
    let (status, _, problem) = get(
        &pipeline,
        Some("bob"),
        &format!("/orders?nextToken={token}"),
    )
    .await;
    assert_eq!(status, 400, "{problem}");

    // No token, a bad id, a bad limit.
    let (status, _, problem) = get(&pipeline, None, "/orders").await;
    assert_eq!(status, 401, "{problem}");
    assert_eq!(problem["type"], "/problems/unauthenticated");
    assert_eq!(
        get(&pipeline, Some("ada"), "/orders/not-a-uuid").await.0,
        400
    );
    assert_eq!(get(&pipeline, Some("ada"), "/orders?limit=0").await.0, 400);
}

#[tokio::test]
async fn an_order_that_breaks_the_rules_is_shown_as_rejected_and_never_reserved() {
    let pipeline = TestPipeline::start().await;
    let stand_ins = fast_stand_ins(|_| {}).await;
    let _materialiser = pipeline.start_materialiser();
    let _saga = pipeline.start_saga(&stand_ins.url);
    let mut rng = StdRng::seed_from_u64(62);

    // API Gateway checks only the JSON Schema: a total that is not the sum of the lines gets
    // through it. Put such an order on the stream as the mapping template would.
    let order = sample::order(&mut rng, Channel::Wholesale)
        .into_placed("carol")
        .expect("valid");
    let rejected_id = order.order_id;
    let mut event = serde_json::to_value(Envelope::order_placed(
        order,
        "request-1".into(),
        time::OffsetDateTime::now_utc(),
    ))
    .expect("json");
    event["data"]["total"]["amount"] = 1.into();
    pipeline
        .put_record("carol", serde_json::to_vec(&event).expect("json"))
        .await;
    // A valid order after it from the same customer: once it completes, every stage has seen
    // the rejected one before it (one customer's records stay in order).
    let after = sample::order(&mut rng, Channel::Web);
    assert_eq!(pipeline.post_order("carol", &after).await.status, 202);
    let waiting = pipeline
        .wait_status(&[after.order_id], &["completed"], Duration::from_secs(60))
        .await;
    assert!(waiting.is_empty(), "{waiting:?}");

    let (status, _, view) = get(&pipeline, Some("carol"), &format!("/orders/{rejected_id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "rejected");
    assert_eq!(view["violations"][0]["pointer"], "/total/amount", "{view}");
    let ledger = stand_ins.ledger();
    assert!(
        ledger.effects.iter().all(|e| e.order_id != rejected_id),
        "no effect for the rejected order"
    );
    assert_eq!(ledger.count(Kind::Reservation), 1);
    assert!(pipeline.dead_letters().await.is_empty());
}
