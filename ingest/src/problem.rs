//! RFC 9457 problem details: every error the API returns is `application/problem+json`, from
//! the local gateway and from the read Lambda alike.

use http::StatusCode;
use serde::Serialize;

use crate::violation::Violation;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// Seconds a client should wait after a 429 or 503.
pub const RETRY_AFTER_SECONDS: u32 = 1;

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Problem {
    /// A URI reference naming the kind of problem, documented in docs/api.md.
    #[serde(rename = "type")]
    pub problem_type: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
}

impl Problem {
    fn new(
        status: StatusCode,
        problem_type: &'static str,
        title: &'static str,
        detail: String,
    ) -> Self {
        Self {
            problem_type,
            title,
            status: status.as_u16(),
            detail,
            violations: Vec::new(),
        }
    }

    pub fn invalid_order(violations: Vec<Violation>) -> Self {
        let detail = format!(
            "the order breaks {} rule(s); see violations",
            violations.len()
        );
        Self {
            violations,
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "/problems/invalid-order",
                "Invalid order",
                detail,
            )
        }
    }

    pub fn malformed(detail: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "/problems/malformed-body",
            "Body is not valid JSON",
            detail,
        )
    }

    pub fn unauthenticated(detail: String) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "/problems/unauthenticated",
            "Authentication required",
            detail,
        )
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "/problems/too-large",
            "Body too large",
            format!("the body exceeds {limit} bytes"),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "/problems/unsupported-media-type",
            "Unsupported media type",
            "send the order as application/json".to_owned(),
        )
    }

    pub fn throttled() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "/problems/throttled",
            "Too many orders right now",
            "the order was not accepted; send it again after Retry-After seconds".to_owned(),
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "/problems/unavailable",
            "Orders cannot be accepted right now",
            "the order was not accepted; send it again after Retry-After seconds".to_owned(),
        )
    }

    /// A path or query parameter is not acceptable (the read endpoints).
    pub fn invalid_request(detail: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
            "Invalid request",
            detail,
        )
    }

    /// No such order for this customer. An order of another customer is answered the same way,
    /// so that an order id reveals nothing about orders that are not the caller's.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "/problems/not-found",
            "Order not found",
            "you have no order with this id".to_owned(),
        )
    }

    /// The orders table cannot be read right now (the read endpoints' 503).
    pub fn read_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "/problems/unavailable",
            "Orders cannot be read right now",
            "try again after Retry-After seconds".to_owned(),
        )
    }

    /// Something on our side is wrong (a stored order that cannot be read); retrying won't help.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/problems/internal",
            "Internal error",
            "the request failed on our side; it has been logged".to_owned(),
        )
    }

    /// The same problem with every violation's pointer nested under `prefix` (batch entries).
    pub fn with_pointer_prefix(mut self, prefix: &str) -> Self {
        for violation in &mut self.violations {
            violation.pointer.insert_str(0, prefix);
        }
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}
