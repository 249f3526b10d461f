//! A well-behaved client of the orders API, as the demo and the load generator send orders:
//! a 429 or 503 is sent again after its `Retry-After`.

use std::time::Duration;

use ingest::order::OrderRequest;
use ingest::problem::RETRY_AFTER_SECONDS;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::sample;

/// Attempts of one request that keeps being throttled.
pub const ATTEMPTS: u32 = 10;

/// What a request finally got.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status; 0 when no answer came (a connection error, in `body` as a string).
    pub status: u16,
    pub body: Value,
    /// 429 and 503 answers before this one, each waited out.
    pub throttled: u32,
}

/// POSTs `body` to `url`, honouring `Retry-After` on 429 and 503 up to [`ATTEMPTS`] times.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Answer {
    let mut throttled = 0;
    loop {
        let mut request = http
            .post(url)
            .header("content-type", content_type)
            .body(body.clone());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return Answer {
                    status: 0,
                    body: Value::String(ingest::error_chain(&error)),
                    throttled,
                };
            }
        };
        let status = response.status().as_u16();
        if matches!(status, 429 | 503) && throttled + 1 < ATTEMPTS {
            throttled += 1;
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        return Answer {
            status,
            body: response.json().await.unwrap_or(Value::Null),
            throttled,
        };
    }
}

/// What a wholesale batch finally got.
#[derive(Debug, Default)]
pub struct BatchAnswer {
    /// Orders answered 202, on the first attempt or a later one.
    pub accepted: Vec<Uuid>,
    /// Entries the stream refused inside a 200 answer (429 or 503 per entry), sent again.
    pub resent: usize,
    /// Whole requests answered 429 or 503, each waited out.
    pub throttled: u32,
    /// Orders still refused (429 or 503) after [`ATTEMPTS`] attempts: not accepted, and the
    /// client knows it.
    pub gave_up: usize,
    /// Answers a well-behaved client does not expect; empty when all went well.
    pub problems: Vec<String>,
}

/// POSTs `orders` to `{gateway}/orders:batch`; entries the stream refused are sent again in a
/// smaller batch after `Retry-After`, as a well-behaved client does, up to [`ATTEMPTS`] times.
pub async fn post_batch(
    http: &reqwest::Client,
    gateway: &str,
    token: &str,
    mut orders: Vec<OrderRequest>,
) -> BatchAnswer {
    let mut answer = BatchAnswer::default();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(RETRY_AFTER_SECONDS.into())).await;
        }
        let body = json!({ "orders": orders.iter().map(sample::to_json).collect::<Vec<_>>() });
        let reply = post(
            http,
            &format!("{gateway}/orders:batch"),
            Some(token),
            "application/json",
            body.to_string().into_bytes(),
        )
        .await;
        answer.throttled += reply.throttled;
        let results = reply.body["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if matches!(reply.status, 429 | 503) {
            // `post` already waited out every attempt it had.
            answer.gave_up += orders.len();
            return answer;
        }
        if reply.status != 200 || results.len() != orders.len() {
            answer
                .problems
                .push(format!("batch answered {}: {}", reply.status, reply.body));
            return answer;
        }
        let mut refused = Vec::new();
        for (order, result) in orders.into_iter().zip(results) {
            match result["status"].as_u64() {
                Some(202) => answer.accepted.push(order.order_id),
                Some(429 | 503) => refused.push(order),
                _ => answer
                    .problems
                    .push(format!("batch entry answered {result}")),
            }
        }
        answer.resent += refused.len();
        orders = refused;
        if orders.is_empty() {
            return answer;
        }
    }
    answer.gave_up += orders.len();
    answer
}
