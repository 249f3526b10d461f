//! The local stand-in for API Gateway: the same HTTP contract, served on loopback.
//!
//! `POST /orders` checks the bearer token, the content type, the body size, the JSON Schema and
//! the business rules, then puts one envelope on the stream (partition key = customer id) and
//! answers 202. `POST /orders:batch` does the same for up to 500 orders with `PutRecords`.
//! A rejected request puts nothing on the stream.
//!
//! `GET /orders/{orderId}` and `GET /orders` answer with the same handlers as
//! `orders-query-lambda` ([`crate::query`]), for the customer of the bearer token.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::TokenVerifier;
use crate::envelope::Envelope;
use crate::order::OrderPlaced;
use crate::problem::{PROBLEM_CONTENT_TYPE, Problem, RETRY_AFTER_SECONDS};
use crate::producer::{Entry, MAX_BATCH_ENTRIES, Producer, PutError};
use crate::query::{
    CustomerId, DynamoOrderReader, Limit, QueryError, get_order, list_orders, parse_order_id,
};
use crate::schema::parse_order_request;
use crate::violation::Violation;

/// Largest body of `POST /orders`. An order at its limits (100 lines) is well under this.
pub const MAX_ORDER_BYTES: usize = 64 * 1024;
/// Largest body of `POST /orders:batch` (PutRecords takes at most 5 MB per call).
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

pub struct Gateway {
    pub producer: Producer,
    pub tokens: TokenVerifier,
    /// The materialised orders the read endpoints answer from.
    pub orders: DynamoOrderReader,
}

pub fn router(gateway: Gateway) -> Router {
    Router::new()
        .route(
            "/orders",
            post(place_order)
                .layer(DefaultBodyLimit::max(MAX_ORDER_BYTES))
                .get(list_own_orders),
        )
        .route("/orders/{order_id}", get(get_own_order))
        .route(
            "/orders:batch",
            post(place_batch).layer(DefaultBodyLimit::max(MAX_BATCH_BYTES)),
        )
        .route("/health", get(|| async { "ok" }))
        .with_state(Arc::new(gateway))
}

/// The answer to an accepted order. API Gateway's response template gives the same answer, and it
/// cannot see the request body there, so it names the event, not the order.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Accepted {
    status: &'static str,
    event_id: String,
}

/// What API Gateway provides a mapping template about one request: its id (the event id) and
/// when it arrived (the event time).
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub request_id: String,
    pub time: OffsetDateTime,
}

impl RequestContext {
    fn now() -> Self {
        Self {
            request_id: Uuid::new_v4().to_string(),
            time: OffsetDateTime::now_utc(),
        }
    }

    /// The event id of the `index`th order of a batch.
    pub fn batch_event_id(&self, index: usize) -> String {
        format!("{}-{index}", self.request_id)
    }
}

async fn place_order(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = RequestContext::now();
    let envelope = match accept_request(&gateway, &headers, body, MAX_ORDER_BYTES).and_then(
        |(customer, body)| envelope_for(&customer, body, request.request_id.clone(), request.time),
    ) {
        Ok(envelope) => envelope,
        Err(problem) => return problem.into_response(),
    };
    let event_id = envelope.id.clone();
    let entry = Entry {
        partition_key: envelope.partition_key().to_owned(),
        data: envelope.to_bytes(),
    };
    match gateway.producer.put(entry).await {
        Ok(_) => (
            StatusCode::ACCEPTED,
            axum::Json(Accepted {
                status: "accepted",
                event_id,
            }),
        )
            .into_response(),
        Err(error) => put_problem(&error).into_response(),
    }
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct BatchAnswer {
    accepted: usize,
    rejected: usize,
    results: Vec<BatchResult>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct BatchResult {
    index: usize,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<Problem>,
}

/// `POST /orders:batch` with `{"orders": [...]}`. The batch is validated as a whole (as API
/// Gateway's request validator does): one invalid order and the answer is 400 with every
/// violation, pointers under `/orders/{index}`, and nothing is put. A valid batch is put with
/// `PutRecords` and answered 200 with one result per order, in the order sent: 202, or 429/503
/// for an entry the stream refused (send those again).
async fn place_batch(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = RequestContext::now();
    let (customer, body) = match accept_request(&gateway, &headers, body, MAX_BATCH_BYTES) {
        Ok(accepted) => accepted,
        Err(problem) => return problem.into_response(),
    };
    let envelopes = match batch_envelopes(&customer, body, &request) {
        Ok(envelopes) => envelopes,
        Err(problem) => return problem.into_response(),
    };
    let mut results: Vec<BatchResult> = envelopes
        .iter()
        .enumerate()
        .map(|(index, envelope)| BatchResult {
            index,
            status: StatusCode::ACCEPTED.as_u16(),
            event_id: Some(envelope.id.clone()),
            problem: None,
        })
        .collect();
    let entries = envelopes
        .iter()
        .map(|envelope| Entry {
            partition_key: envelope.partition_key().to_owned(),
            data: envelope.to_bytes(),
        })
        .collect();
    let outcomes = gateway.producer.put_batch(entries).await;
    for (result, outcome) in results.iter_mut().zip(outcomes) {
        if let Err(error) = outcome {
            let problem = put_problem(&error);
            result.status = problem.status;
            result.event_id = None;
            result.problem = Some(problem);
        }
    }
    let accepted = results
        .iter()
        .filter(|r| r.status == StatusCode::ACCEPTED.as_u16())
        .count();
    let answer = BatchAnswer {
        accepted,
        rejected: results.len() - accepted,
        results,
    };
    (StatusCode::OK, axum::Json(answer)).into_response()
}

/// The envelopes of a whole batch, or one problem listing every violation in it.
pub fn batch_envelopes(
    customer: &str,
    body: Value,
    request: &RequestContext,
) -> Result<Vec<Envelope<OrderPlaced>>, Problem> {
    let orders = match body {
        Value::Object(mut map) => match map.remove("orders") {
            Some(Value::Array(orders)) if map.is_empty() => orders,
            _ => return Err(batch_shape_problem()),
        },
        _ => return Err(batch_shape_problem()),
    };
    if orders.is_empty() || orders.len() > MAX_BATCH_ENTRIES {
        return Err(Problem::invalid_order(vec![Violation::new(
            "/orders",
            format!(
                "a batch holds 1 to {MAX_BATCH_ENTRIES} orders, this one has {}",
                orders.len()
            ),
        )]));
    }
    let mut envelopes = Vec::with_capacity(orders.len());
    let mut violations = Vec::new();
    for (index, order) in orders.into_iter().enumerate() {
        match envelope_for(customer, order, request.batch_event_id(index), request.time) {
            Ok(envelope) => envelopes.push(envelope),
            Err(problem) => violations.extend(
                problem
                    .with_pointer_prefix(&format!("/orders/{index}"))
                    .violations,
            ),
        }
    }
    if violations.is_empty() {
        Ok(envelopes)
    } else {
        Err(Problem::invalid_order(violations))
    }
}

fn batch_shape_problem() -> Problem {
    Problem::invalid_order(vec![Violation::new(
        "",
        "a batch is an object {\"orders\": [...]}",
    )])
}

/// What every request goes through, in this order: token (401), content type (415), size (413),
/// JSON (400). Returns the customer id and the parsed body.
fn accept_request(
    gateway: &Gateway,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<(String, Value), Problem> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let customer = gateway
        .tokens
        .customer_id(authorization)
        .map_err(|e| Problem::unauthenticated(e.to_string()))?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Problem::unsupported_media_type());
    }
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::too_large(limit),
        _ => Problem::malformed(rejection.body_text()),
    })?;
    let body = serde_json::from_slice(&body).map_err(|e| Problem::malformed(e.to_string()))?;
    Ok((customer, body))
}

/// What the API puts on the stream for one order body of `customer` (the token's subject):
/// schema, then business rules (both 400), then the envelope with the given event id and time.
/// The API Gateway mapping templates build the same bytes (ingest/api-gateway/).
pub fn envelope_for(
    customer: &str,
    body: Value,
    event_id: String,
    time: OffsetDateTime,
) -> Result<Envelope<OrderPlaced>, Problem> {
    let request = parse_order_request(&body).map_err(Problem::invalid_order)?;
    let order = request
        .into_placed(customer)
        .map_err(Problem::invalid_order)?;
    Ok(Envelope::order_placed(order, event_id, time))
}

/// A query parameter of `GET /orders` (others are ignored, as API Gateway does). A repeated one
/// takes its last value, as API Gateway's `queryStringParameters` does.
fn query_param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

async fn get_own_order(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
) -> Response {
    let answer = async {
        let customer = reader(&gateway, &headers)?;
        let order_id = parse_order_id(&raw_id)?;
        get_order(&gateway.orders, &customer, order_id).await
    };
    read_response("GET /orders/{orderId}", answer.await)
}

async fn list_own_orders(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let answer = async {
        let customer = reader(&gateway, &headers)?;
        let limit = Limit::parse(query_param(&params, "limit"))?;
        list_orders(
            &gateway.orders,
            &customer,
            limit,
            query_param(&params, "nextToken"),
        )
        .await
    };
    read_response("GET /orders", answer.await)
}

/// The caller of a read endpoint: the bearer token's subject, as the Cognito authorizer checks
/// it on AWS.
fn reader(gateway: &Gateway, headers: &HeaderMap) -> Result<CustomerId, QueryError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let subject = gateway
        .tokens
        .customer_id(authorization)
        .map_err(|_| QueryError::Unauthenticated("a valid bearer token is required"))?;
    CustomerId::from_subject(&subject)
}

/// A read endpoint's answer: 200 with the view, never cached by a shared cache, or its problem
/// (a store failure's cause is logged, never answered).
fn read_response(route: &'static str, answer: Result<impl Serialize, QueryError>) -> Response {
    match answer {
        Ok(body) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "private, no-store")],
            axum::Json(body),
        )
            .into_response(),
        Err(error) => {
            let problem = error.problem();
            if problem.status >= 500 {
                tracing::error!(route, status = problem.status, error = %crate::error_chain(&error), "read request failed");
            }
            problem.into_response()
        }
    }
}

fn put_problem(error: &PutError) -> Problem {
    match error {
        PutError::Throttled => {
            tracing::warn!("stream throttled an order");
            Problem::throttled()
        }
        PutError::Unavailable(cause) => {
            tracing::error!(cause, "stream unavailable; order refused with 503");
            Problem::unavailable()
        }
    }
}

/// A problem as the gateway answers it: its status, `application/problem+json`, and
/// `Retry-After` on 429 and 503.
impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, axum::Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}
