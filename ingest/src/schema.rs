//! Request validation: the JSON Schema file first, then the business rules.

use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

use crate::order::OrderRequest;
use crate::violation::Violation;

/// The JSON Schema of the `POST /orders` body (draft 4, which API Gateway models speak).
pub const ORDER_REQUEST_SCHEMA: &str = include_str!("../schema/order-request.schema.json");

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(ORDER_REQUEST_SCHEMA)
        .unwrap_or_else(|e| panic!("order-request.schema.json is not JSON: {e}"));
    jsonschema::draft4::new(&schema)
        .unwrap_or_else(|e| panic!("order-request.schema.json is not a valid draft 4 schema: {e}"))
});

/// Checks `body` against the schema and returns every violation, or the typed request.
pub fn parse_order_request(body: &Value) -> Result<OrderRequest, Vec<Violation>> {
    let violations: Vec<Violation> = VALIDATOR
        .iter_errors(body)
        .map(|error| Violation::new(error.instance_path().as_str(), error.to_string()))
        .collect();
    if !violations.is_empty() {
        return Err(violations);
    }
    // The schema guarantees the shape; what it cannot check (a real calendar date) surfaces here.
    OrderRequest::deserialize(body).map_err(|e| vec![Violation::new("", e.to_string())])
}
