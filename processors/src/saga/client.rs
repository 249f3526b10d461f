//! One HTTP client for the three downstream services: JSON over HTTPS (rustls), every call
//! keyed with `Idempotency-Key`, retried with backoff and jitter within a time budget.
//!
//! How an answer is read ([`classify`], docs/saga.md's table): 2xx is the outcome (a repeat's
//! stored answer included); 409 (the key is in progress, IETF Idempotency-Key draft), 408, 429,
//! 5xx, timeouts and connection errors are transient and retried, honouring `Retry-After`; any
//! other 4xx is permanent and not retried. What the budget does not absorb is returned as
//! transient, so the engine counts it against the record's attempt limit and tries again later.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error_chain;
use crate::saga::auth::DownstreamAuth;
pub use crate::saga::downstream::CallError;
use crate::saga::downstream::{
    Booking, Downstream, ReleaseRequest, Released, Reservation, ReservationRequest, SaleRequest,
    Shipment, ShipmentRequest,
};

/// Each request's own timeout, when nothing else is configured.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Time a call may spend on retries before it is handed back to the engine as transient.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(10);
/// Time kept back from the invocation's deadline ([`crate::deadline`]) to record a call's
/// outcome, put the stage's event and answer: a call stops retrying this long before it.
pub const DEADLINE_RESERVE: Duration = Duration::from_secs(2);

/// A downstream service's answer to a call that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// One downstream service at its base URL.
#[derive(Clone, Debug)]
pub struct ServiceClient {
    http: reqwest::Client,
    service: String,
    base_url: String,
    budget: Duration,
    auth: DownstreamAuth,
}

impl ServiceClient {
    pub fn new(
        service: impl Into<String>,
        base_url: impl Into<String>,
        request_timeout: Duration,
        budget: Duration,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(request_timeout)
                .connect_timeout(request_timeout)
                .build()?,
            service: service.into(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            budget,
            auth: DownstreamAuth::None,
        })
    }

    /// The same client, authenticating every call with `auth`.
    pub fn with_auth(self, auth: DownstreamAuth) -> Self {
        Self { auth, ..self }
    }

    /// POSTs `body` to `path` with `Idempotency-Key: key`, retrying transient failures within
    /// the budget, and within the invocation's deadline less [`DEADLINE_RESERVE`] when there is
    /// one. A call cut short by the deadline is transient: it is tried again with the same key.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Result<Reply, CallError> {
        let Some(left) = crate::deadline::remaining() else {
            return self.post_with_retries(path, key, body).await;
        };
        let usable = left.saturating_sub(DEADLINE_RESERVE);
        tokio::time::timeout(usable, self.post_with_retries(path, key, body))
            .await
            .unwrap_or_else(|_| {
                Err(CallError::Transient {
                    service: self.service.clone(),
                    reason: format!(
                        "stopped {} ms before the invocation's deadline, to record the outcome and answer",
                        DEADLINE_RESERVE.as_millis()
                    ),
                    retry_after: None,
                })
            })
    }

    async fn post_with_retries(
        &self,
        path: &str,
        key: &str,
        body: &Value,
    ) -> Result<Reply, CallError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_secs(2))
            .with_jitter()
            .without_max_times()
            .with_total_delay(Some(self.budget));
        (|| self.post_once(path, key, body))
            .retry(backoff)
            .when(CallError::is_transient)
            // Wait at least what the service asked for.
            .adjust(|error, delay| match (error.retry_after(), delay) {
                (Some(asked), Some(delay)) => Some(asked.max(delay)),
                (_, delay) => delay,
            })
            .notify(|error, delay| {
                tracing::debug!(
                    error = error_chain(error),
                    ?delay,
                    "retrying a downstream call"
                )
            })
            .await
    }

    async fn post_once(&self, path: &str, key: &str, body: &Value) -> Result<Reply, CallError> {
        let url = format!("{}{path}", self.base_url);
        let body = serde_json::to_vec(body)
            .unwrap_or_else(|e| unreachable!("a JSON value serialises: {e}"));
        let headers = [
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ];
        let signed = self
            .auth
            .headers("POST", &url, &headers, &body)
            .await
            .map_err(|error| CallError::Transient {
                service: self.service.clone(),
                reason: format!("POST {url}: {}", error_chain(&error)),
                retry_after: None,
            })?;
        let mut request = self.http.post(&url).body(body);
        for (name, value) in headers
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .chain(signed)
        {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|error| CallError::Transient {
            service: self.service.clone(),
            reason: format!("POST {url}: {}", error_chain(&error)),
            retry_after: None,
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|error| CallError::Transient {
                service: self.service.clone(),
                reason: format!("POST {url}: reading the answer: {}", error_chain(&error)),
                retry_after: None,
            })?;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        classify(&self.service, &url, status, retry_after, body)
    }

    /// POSTs `request` and reads a 2xx answer as `A`; `expected` names what it must carry.
    async fn post_typed<R: Serialize, A: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        request: &R,
        expected: &'static str,
    ) -> Result<A, CallError> {
        let body = serde_json::to_value(request)
            .unwrap_or_else(|e| unreachable!("a request body serialises: {e}"));
        let reply = self.post(path, key, &body).await?;
        serde_json::from_value(reply.body.clone()).map_err(|_| CallError::Unreadable {
            service: self.service.clone(),
            status: reply.status,
            expected,
            body: reply.body.to_string(),
        })
    }
}

/// What an answer means, by status: the decision table of docs/saga.md.
pub fn classify(
    service: &str,
    url: &str,
    status: u16,
    retry_after: Option<Duration>,
    body: Value,
) -> Result<Reply, CallError> {
    match status {
        200..=299 => Ok(Reply { status, body }),
        // 409: a request with this key is still being processed; it is decided when that one
        // ends, so ask again (never taken as the outcome). 408: the service timed out reading.
        408 | 409 | 429 | 500..=599 => Err(CallError::Transient {
            service: service.to_owned(),
            reason: format!("POST {url} answered {status}{}", detail(&body)),
            retry_after,
        }),
        _ => Err(CallError::Permanent {
            service: service.to_owned(),
            status,
            problem_type: body["type"].as_str().map(str::to_owned),
            reason: body["detail"]
                .as_str()
                .or_else(|| body["title"].as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("POST {url} answered {status}")),
        }),
    }
}

impl Downstream for ServiceClient {
    async fn reserve(
        &self,
        key: &str,
        request: &ReservationRequest,
    ) -> Result<Reservation, CallError> {
        self.post_typed("/reservations", key, request, "reservationId")
            .await
    }

    async fn release(&self, key: &str, request: &ReleaseRequest) -> Result<Released, CallError> {
        let path = format!("/reservations/{}/release", request.order_id);
        let released: Released = self.post_typed(&path, key, request, "released").await?;
        if released.released {
            Ok(released)
        } else {
            Err(CallError::Unreadable {
                service: self.service.clone(),
                status: 200,
                expected: "released: true",
                body: serde_json::json!(released).to_string(),
            })
        }
    }

    async fn ship(&self, key: &str, request: &ShipmentRequest) -> Result<Shipment, CallError> {
        self.post_typed("/shipments", key, request, "shipmentId")
            .await
    }

    async fn book(&self, key: &str, request: &SaleRequest) -> Result<Booking, CallError> {
        self.post_typed("/sales", key, request, "bookingId").await
    }
}

/// ": detail" of a problem+json answer, if it has one.
fn detail(body: &Value) -> String {
    body["detail"]
        .as_str()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each status, as the stage must read it.
    #[test]
    fn every_status_is_read_as_the_contract_says() {
        enum Read {
            Outcome,
            Retry,
            Refused,
        }
        let cases = [
            (200, Read::Outcome),
            (201, Read::Outcome),
            (400, Read::Refused),
            (401, Read::Refused),
            (403, Read::Refused),
            (404, Read::Refused),
            (408, Read::Retry),
            (409, Read::Retry),
            (422, Read::Refused),
            (429, Read::Retry),
            (500, Read::Retry),
            (502, Read::Retry),
            (503, Read::Retry),
            (504, Read::Retry),
        ];
        for (status, expected) in cases {
            let result = classify(
                "inventory",
                "http://x/reservations",
                status,
                Some(Duration::from_secs(1)),
                json!({ "type": "t", "detail": "d" }),
            );
            match (expected, result) {
                (Read::Outcome, Ok(reply)) => assert_eq!(reply.status, status),
                (Read::Retry, Err(error @ CallError::Transient { .. })) => {
                    assert_eq!(
                        error.retry_after(),
                        Some(Duration::from_secs(1)),
                        "{status}"
                    )
                }
                (Read::Refused, Err(CallError::Permanent { status: got, .. })) => {
                    assert_eq!(got, status)
                }
                (_, result) => panic!("{status}: {result:?}"),
            }
        }
    }
}
