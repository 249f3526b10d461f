//! The read side's Lambda binary, run as Lambda runs it (through the Runtime API) against the
//! local DynamoDB, with orders written by the real materialiser store.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devstack::{LocalStack, StackOptions, sample, workspace_binary};
use ingest::order::{Channel, OrderPlaced};
use pipeline_tests::runtime_api::{Outcome, RuntimeApi};
use processors::store::{DynamoOrderStore, Insert, OrderStore};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use time::Duration;

/// Cognito subjects are UUIDs.
const ADA: &str = "6f1c2a7e-1111-4a2b-9c3d-0123456789ab";
const BOB: &str = "0b5e8d2c-2222-4f6e-8a1b-ba9876543210";

/// A REST API proxy event as API Gateway sends it after a Cognito user pool authorizer.
fn event(sub: Option<&str>, order_id: Option<&str>, query: Value) -> Value {
    let authorizer = match sub {
        Some(sub) => json!({
            "claims": { "sub": sub, "token_use": "id", "cognito:username": "someone", "email_verified": "true" }
        }),
        None => Value::Null,
    };
    let (resource, path) = match order_id {
        Some(id) => ("/orders/{orderId}".to_owned(), format!("/orders/{id}")),
        None => ("/orders".to_owned(), "/orders".to_owned()),
    };
    json!({
        "resource": resource,
        "path": path,
        "httpMethod": "GET",
        "headers": { "Accept": "application/json", "Host": "api.example.com" },
        "multiValueHeaders": { "Accept": ["application/json"], "Host": ["api.example.com"] },
        "queryStringParameters": query,
        "multiValueQueryStringParameters": null,
        "pathParameters": order_id.map(|id| json!({ "orderId": id })),
        "stageVariables": null,
        "requestContext": {
            "accountId": "000000000000",
            "resourceId": "abc123",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": { "sourceIp": "203.0.113.7", "userAgent": "test" },
            "resourcePath": resource,
            "httpMethod": "GET",
            "apiId": "gy415nuibc",
            "authorizer": authorizer
        },
        "body": null,
        "isBase64Encoded": false
    })
}

/// The status, headers and JSON body of the function's proxy response.
struct Answer {
    status: i64,
    headers: Value,
    body: Value,
}

async fn get(runtime: &mut RuntimeApi, request_id: &str, event: Value) -> Answer {
    let Outcome::Response(response) = runtime.invoke(request_id, event).await else {
        panic!("{request_id}: the function must answer, not fail");
    };
    let body = response["body"]
        .as_str()
        .map(|text| serde_json::from_str(text).expect("a JSON body"))
        .unwrap_or(Value::Null);
    Answer {
        status: response["statusCode"].as_i64().expect("a status code"),
        headers: response["headers"].clone(),
        body,
    }
}

fn assert_problem(answer: &Answer, status: i64, problem_type: &str, case: &str) {
    assert_eq!(answer.status, status, "{case}: {}", answer.body);
    assert_eq!(
        answer.headers["content-type"], "application/problem+json",
        "{case}"
    );
    assert_eq!(answer.body["type"], problem_type, "{case}");
    assert_eq!(answer.body["status"], status, "{case}");
}

/// `count` orders of `customer`, placed a minute apart ending at `newest`, stored as the
/// materialiser stores them.
async fn materialise(
    store: &DynamoOrderStore,
    rng: &mut StdRng,
    customer: &str,
    count: usize,
    newest: time::OffsetDateTime,
) -> Vec<OrderPlaced> {
    let mut orders = Vec::new();
    for i in 0..count {
        let mut request = sample::order(rng, Channel::Web);
        request.placed_at = newest - Duration::minutes(i as i64);
        let order = request.into_placed(customer).expect("a valid order");
        let inserted = store
            .insert_if_absent(&order, &format!("event-{}", order.order_id))
            .await
            .expect("PutItem");
        assert_eq!(inserted, Insert::New);
        orders.push(order);
    }
    orders
}

fn expected(order: &OrderPlaced) -> Value {
    let mut json = serde_json::to_value(order).expect("serialises");
    json["status"] = "placed".into();
    // No lifecycle step yet: the saga has not run for these orders.
    json["steps"] = serde_json::json!({});
    json
}

#[tokio::test]
async fn the_query_lambda_answers_only_the_callers_orders_newest_first_in_pages() {
    let stack = LocalStack::start(StackOptions::default())
        .await
        .expect("local stack starts");
    let store = DynamoOrderStore::new(stack.dynamodb(), &stack.names.orders_table);
    let mut rng = StdRng::seed_from_u64(7);
    let now = time::OffsetDateTime::now_utc();
    // Interleaved in time, so that a listing that ignored the customer would show it.
    let ada = materialise(&store, &mut rng, ADA, 5, now).await;
    let bob = materialise(&store, &mut rng, BOB, 2, now - Duration::seconds(30)).await;

    let mut runtime = RuntimeApi::start().await;
    let mut env = stack.env();
    env.extend(runtime.function_env("orders-query"));
    let (_function, _logs) =
        pipeline_tests::spawn_with_logs(&workspace_binary("orders-query-lambda"), &[], env);

    // One order.
    let own_id = ada[1].order_id.to_string();
    let own = get(
        &mut runtime,
        "own",
        event(Some(ADA), Some(&own_id), Value::Null),
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.headers["content-type"], "application/json");
    assert_eq!(own.body, expected(&ada[1]));

    let upper = get(
        &mut runtime,
        "upper",
        event(Some(ADA), Some(&own_id.to_uppercase()), Value::Null),
    )
    .await;
    assert_eq!(upper.body, expected(&ada[1]), "the id is case-insensitive");

    let bobs_id = bob[0].order_id.to_string();
    let others = get(
        &mut runtime,
        "other",
        event(Some(ADA), Some(&bobs_id), Value::Null),
    )
    .await;
    assert_problem(
        &others,
        404,
        "/problems/not-found",
        "another customer's order",
    );
    let missing_id = uuid::Uuid::new_v4().to_string();
    let missing = get(
        &mut runtime,
        "missing",
        event(Some(ADA), Some(&missing_id), Value::Null),
    )
    .await;
    assert_problem(&missing, 404, "/problems/not-found", "a missing order");
    assert_eq!(others.body, missing.body, "no difference to learn from");

    let bad = get(
        &mut runtime,
        "bad-id",
        event(Some(ADA), Some("not-a-uuid"), Value::Null),
    )
    .await;
    assert_problem(&bad, 400, "/problems/invalid-request", "not a UUID");

    let anonymous = get(
        &mut runtime,
        "anonymous",
        event(None, Some(&own_id), Value::Null),
    )
    .await;
    assert_problem(&anonymous, 401, "/problems/unauthenticated", "no claims");
    let anonymous_list = get(
        &mut runtime,
        "anonymous-list",
        event(None, None, Value::Null),
    )
    .await;
    assert_problem(
        &anonymous_list,
        401,
        "/problems/unauthenticated",
        "no claims, list",
    );

    // The listing: newest first, two pages, every order once.
    let first = get(
        &mut runtime,
        "page-1",
        event(Some(ADA), None, json!({ "limit": "3" })),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let token = first.body["nextToken"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = get(
        &mut runtime,
        "page-2",
        event(Some(ADA), None, json!({ "limit": "3", "nextToken": token })),
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body.get("nextToken"), None, "the last page says so");
    let listed: Vec<Value> = [&first, &second]
        .iter()
        .flat_map(|page| page.body["orders"].as_array().expect("orders").clone())
        .collect();
    let newest_first: Vec<Value> = ada.iter().map(expected).collect();
    assert_eq!(first.body["orders"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        listed, newest_first,
        "all of Ada's orders, newest first, each once"
    );

    let default = get(
        &mut runtime,
        "default-limit",
        event(Some(BOB), None, Value::Null),
    )
    .await;
    let bobs: Vec<Value> = bob.iter().map(expected).collect();
    assert_eq!(
        default.body["orders"],
        json!(bobs),
        "Bob sees his orders only"
    );

    let too_many = get(
        &mut runtime,
        "limit-101",
        event(Some(ADA), None, json!({ "limit": "101" })),
    )
    .await;
    assert_problem(&too_many, 400, "/problems/invalid-request", "limit 101");

    // A token is only good for its own customer's listing.
    let mut forged: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&token).expect("base64url")).expect("json");
    forged["customerId"] = BOB.into();
    let forged = URL_SAFE_NO_PAD.encode(forged.to_string());
    let forged_answer = get(
        &mut runtime,
        "forged",
        event(Some(ADA), None, json!({ "nextToken": forged })),
    )
    .await;
    assert_problem(
        &forged_answer,
        400,
        "/problems/invalid-request",
        "a token naming Bob, sent by Ada",
    );
    let borrowed = get(
        &mut runtime,
        "borrowed",
        event(Some(BOB), None, json!({ "nextToken": token })),
    )
    .await;
    assert_problem(
        &borrowed,
        400,
        "/problems/invalid-request",
        "Ada's token, sent by Bob",
    );
    let garbage = get(
        &mut runtime,
        "garbage",
        event(Some(ADA), None, json!({ "nextToken": "%%%" })),
    )
    .await;
    assert_problem(
        &garbage,
        400,
        "/problems/invalid-request",
        "a token that does not decode",
    );

    // The table is gone (a dependency outage): 503 with Retry-After, and no AWS error text.
    stack
        .dynamodb()
        .delete_table()
        .table_name(&stack.names.orders_table)
        .send()
        .await
        .expect("DeleteTable");
    let outage = get(
        &mut runtime,
        "outage",
        event(Some(ADA), Some(&own_id), Value::Null),
    )
    .await;
    assert_problem(&outage, 503, "/problems/unavailable", "the table is gone");
    assert_eq!(outage.headers["retry-after"], "1");
    assert_eq!(
        outage.body,
        json!({
            "type": "/problems/unavailable",
            "title": "Orders cannot be read right now",
            "status": 503,
            "detail": "try again after Retry-After seconds"
        }),
        "nothing of the AWS error reaches the client"
    );
}
