//! The local stand-in for API Gateway: the same HTTP contract, served on loopback.
//!
//! `POST /orders` checks the bearer token, the content type, the body size, the JSON Schema and
//! the business rules, then puts one envelope on the stream (partition key = customer id) and
//! answers 202. `POST /orders:batch` does the same for up to 500 orders with `PutRecords`.
//! A rejected request puts nothing on the stream.

mod problem;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

pub use problem::{PROBLEM_CONTENT_TYPE, Problem, RETRY_AFTER_SECONDS};

use crate::auth::TokenVerifier;
use crate::envelope::Envelope;
use crate::producer::{Entry, MAX_BATCH_ENTRIES, Producer, PutError};
use crate::schema::parse_order_request;
use crate::violation::Violation;

/// Largest body of `POST /orders`. An order at its limits (100 lines) is well under this.
pub const MAX_ORDER_BYTES: usize = 64 * 1024;
/// Largest body of `POST /orders:batch` (PutRecords takes at most 5 MB per call).
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

pub struct Gateway {
    pub producer: Producer,
    pub tokens: TokenVerifier,
}

pub fn router(gateway: Gateway) -> Router {
    Router::new()
        .route(
            "/orders",
            post(place_order).layer(DefaultBodyLimit::max(MAX_ORDER_BYTES)),
        )
        .route(
            "/orders:batch",
            post(place_batch).layer(DefaultBodyLimit::max(MAX_BATCH_BYTES)),
        )
        .route("/health", get(|| async { "ok" }))
        .with_state(Arc::new(gateway))
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Accepted {
    order_id: Uuid,
    status: &'static str,
}

async fn place_order(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let envelope = match accept_request(&gateway, &headers, body, MAX_ORDER_BYTES)
        .and_then(|(customer, body)| envelope_for(&customer, body))
    {
        Ok(envelope) => envelope,
        Err(problem) => return problem.into_response(),
    };
    let order_id = envelope.data.order_id;
    let entry = Entry {
        partition_key: envelope.partition_key().to_owned(),
        data: envelope.to_bytes(),
    };
    match gateway.producer.put(entry).await {
        Ok(_) => (
            StatusCode::ACCEPTED,
            axum::Json(Accepted {
                order_id,
                status: "accepted",
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
    #[serde(skip_serializing_if = "Option::is_none")]
    order_id: Option<Uuid>,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<Problem>,
}

/// `POST /orders:batch` with `{"orders": [...]}`: each order is judged on its own and the answer
/// (200) has one result per order, in the order sent. Only 202 results are on the stream.
async fn place_batch(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (customer, body) = match accept_request(&gateway, &headers, body, MAX_BATCH_BYTES) {
        Ok(accepted) => accepted,
        Err(problem) => return problem.into_response(),
    };
    let orders = match body {
        Value::Object(mut map) => match map.remove("orders") {
            Some(Value::Array(orders)) if map.is_empty() => orders,
            _ => return batch_shape_problem().into_response(),
        },
        _ => return batch_shape_problem().into_response(),
    };
    if orders.is_empty() || orders.len() > MAX_BATCH_ENTRIES {
        return Problem::invalid_order(vec![Violation::new(
            "/orders",
            format!(
                "a batch holds 1 to {MAX_BATCH_ENTRIES} orders, this one has {}",
                orders.len()
            ),
        )])
        .into_response();
    }

    let mut results = Vec::with_capacity(orders.len());
    let mut entries = Vec::new();
    let mut entry_index = Vec::new();
    for (index, order) in orders.into_iter().enumerate() {
        match envelope_for(&customer, order) {
            Ok(envelope) => {
                entry_index.push(results.len());
                results.push(BatchResult {
                    index,
                    order_id: Some(envelope.data.order_id),
                    status: StatusCode::ACCEPTED.as_u16(),
                    problem: None,
                });
                entries.push(Entry {
                    partition_key: envelope.partition_key().to_owned(),
                    data: envelope.to_bytes(),
                });
            }
            Err(problem) => {
                let problem = problem.with_pointer_prefix(&format!("/orders/{index}"));
                results.push(BatchResult {
                    index,
                    order_id: None,
                    status: problem.status,
                    problem: Some(problem),
                });
            }
        }
    }
    if !entries.is_empty() {
        let outcomes = gateway.producer.put_batch(entries).await;
        for (result_index, outcome) in entry_index.into_iter().zip(outcomes) {
            if let Err(error) = outcome {
                let problem = put_problem(&error);
                let result = &mut results[result_index];
                result.status = problem.status;
                result.problem = Some(problem);
            }
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

/// Schema (400), ownership (403), then business rules (400); the envelope if all pass.
fn envelope_for(
    customer: &str,
    body: Value,
) -> Result<Envelope<crate::order::OrderPlaced>, Problem> {
    let request = parse_order_request(&body).map_err(Problem::invalid_order)?;
    if request
        .customer_id
        .as_deref()
        .is_some_and(|claimed| claimed != customer)
    {
        return Err(Problem::wrong_customer());
    }
    let order = request
        .into_placed(customer)
        .map_err(Problem::invalid_order)?;
    Ok(Envelope::order_placed(
        order,
        Uuid::new_v4().to_string(),
        OffsetDateTime::now_utc(),
    ))
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
