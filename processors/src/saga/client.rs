//! One HTTP client for the three downstream services: JSON over HTTPS (rustls), every call
//! keyed with `Idempotency-Key`, retried with backoff and jitter within a time budget.
//!
//! 2xx and 409 (the service has it, or is doing it) are success; 429, 5xx, timeouts and
//! connection errors are transient and retried, honouring `Retry-After`; any other 4xx is
//! permanent and not retried. What the budget does not absorb is returned as transient, so the
//! engine counts it against the record's attempt limit and tries again later.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use serde_json::Value;

use crate::error_chain;
use crate::saga::auth::DownstreamAuth;

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

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The service refused the request for good (a 4xx other than 409 and 429).
    #[error("{service} answered {status}: {reason}")]
    Permanent {
        service: String,
        status: u16,
        /// The problem's `type`, when the answer is problem+json.
        problem_type: Option<String>,
        reason: String,
    },
    /// The service could not answer now (429, 5xx, a timeout, no connection), even after the
    /// retries the budget allows.
    #[error("{service}: {reason}")]
    Transient {
        service: String,
        /// What went wrong, with its whole cause chain.
        reason: String,
        /// How long the service asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },
}

impl CallError {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transient { retry_after, .. } => *retry_after,
            Self::Permanent { .. } => None,
        }
    }
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
        match status {
            200..=299 | 409 => Ok(Reply { status, body }),
            429 | 500..=599 => Err(CallError::Transient {
                service: self.service.clone(),
                reason: format!("POST {url} answered {status}{}", detail(&body)),
                retry_after,
            }),
            _ => Err(CallError::Permanent {
                service: self.service.clone(),
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
}

/// ": detail" of a problem+json answer, if it has one.
fn detail(body: &Value) -> String {
    body["detail"]
        .as_str()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}
