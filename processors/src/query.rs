//! The query Lambda's host of the read side of the orders API ([`ingest::query`], which the local
//! gateway hosts too): API Gateway (REST API, Lambda proxy integration, Cognito user pool
//! authorizer) in front of the read handlers, an [`ApiGatewayProxyRequest`] in, an
//! [`ApiGatewayProxyResponse`] out.
//!
//! The customer is the `sub` claim the authorizer puts in
//! `requestContext.authorizer.claims`; a request without it is 401 whatever else it says.
//! `GET /orders/{orderId}` is the request with an `orderId` path parameter, `GET /orders` the
//! one without.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, header};
use ingest::problem::{PROBLEM_CONTENT_TYPE, Problem, RETRY_AFTER_SECONDS};
use serde::Serialize;
use serde_json::Value;

use crate::error_chain;

use ingest::query::{
    CustomerId, Limit, OrderReader, QueryError, ReadError, get_order, list_orders, parse_order_id,
};

/// The path parameter of `GET /orders/{orderId}`.
pub const ORDER_ID_PARAM: &str = "orderId";
/// Query parameters of `GET /orders`.
pub const LIMIT_PARAM: &str = "limit";
pub const NEXT_TOKEN_PARAM: &str = "nextToken";

/// Answers one proxied request. Never fails: every outcome is an HTTP answer.
pub async fn handle_request(
    store: &impl OrderReader,
    request: ApiGatewayProxyRequest,
) -> ApiGatewayProxyResponse {
    let request_id = request.request_context.request_id.as_deref().unwrap_or("");
    let route = if request.path_parameters.contains_key(ORDER_ID_PARAM) {
        "GET /orders/{orderId}"
    } else {
        "GET /orders"
    };
    match answer(store, &request).await {
        Ok(body) => {
            tracing::info!(request_id, route, status = 200, "read request answered");
            json_response(200, "application/json", body)
        }
        Err(error) => {
            let problem = error.problem();
            if problem.status >= 500 {
                tracing::error!(
                    request_id,
                    route,
                    status = problem.status,
                    error = %error_chain(&error),
                    "read request failed"
                );
            } else {
                tracing::info!(
                    request_id,
                    route,
                    status = problem.status,
                    reason = %error,
                    "read request refused"
                );
            }
            problem_response(&problem)
        }
    }
}

async fn answer(
    store: &impl OrderReader,
    request: &ApiGatewayProxyRequest,
) -> Result<String, QueryError> {
    let customer = customer_id(request)?;
    match request.path_parameters.get(ORDER_ID_PARAM) {
        Some(raw) => {
            let order_id = parse_order_id(raw)?;
            to_json(&get_order(store, &customer, order_id).await?)
        }
        None => {
            let query = &request.query_string_parameters;
            let limit = Limit::parse(query.first(LIMIT_PARAM))?;
            let next_token = query.first(NEXT_TOKEN_PARAM);
            to_json(&list_orders(store, &customer, limit, next_token).await?)
        }
    }
}

/// The caller: the Cognito `sub` claim, as API Gateway passes it to a REST API proxy
/// integration (`requestContext.authorizer.claims.sub`).
pub fn customer_id(request: &ApiGatewayProxyRequest) -> Result<CustomerId, QueryError> {
    let subject = request
        .request_context
        .authorizer
        .fields
        .get("claims")
        .and_then(|claims| claims.get("sub"))
        .and_then(Value::as_str)
        .ok_or(QueryError::Unauthenticated(
            "the request carries no authorizer claim 'sub'",
        ))?;
    CustomerId::from_subject(subject)
}

fn to_json(body: &impl Serialize) -> Result<String, QueryError> {
    // Views are plain data; this cannot fail, but if it did it would be our fault, not the
    // client's.
    serde_json::to_string(body).map_err(|e| {
        QueryError::Read(ReadError::Corrupt {
            key: "response body".to_owned(),
            source: Box::new(e),
        })
    })
}

/// A problem as a proxy response: `application/problem+json`, with `Retry-After` on 429/503.
pub fn problem_response(problem: &Problem) -> ApiGatewayProxyResponse {
    let body = serde_json::to_string(problem)
        .unwrap_or_else(|e| unreachable!("a problem is strings and numbers: {e}"));
    let mut response = json_response(problem.status, PROBLEM_CONTENT_TYPE, body);
    if matches!(problem.status, 429 | 503) {
        response
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}

fn json_response(status: u16, content_type: &'static str, body: String) -> ApiGatewayProxyResponse {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // A customer's orders: never kept by a shared cache.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(status);
    response.headers = headers;
    response.body = Some(Body::Text(body));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest::query::{MemoryOrderReader, OrderView, Page, PageKey};
    use serde_json::json;
    use uuid::Uuid;

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    /// A proxy event as API Gateway sends it (trimmed to what matters).
    fn request(sub: Option<&str>, order_id: Option<&str>, query: Value) -> ApiGatewayProxyRequest {
        let authorizer = match sub {
            Some(sub) => {
                json!({ "claims": { "sub": sub, "token_use": "id", "cognito:username": "ada" } })
            }
            None => Value::Null,
        };
        let path_parameters = order_id
            .map(|id| json!({ "orderId": id }))
            .unwrap_or(Value::Null);
        serde_json::from_value(json!({
            "resource": if order_id.is_some() { "/orders/{orderId}" } else { "/orders" },
            "path": "/orders",
            "httpMethod": "GET",
            "headers": { "Accept": "application/json" },
            "queryStringParameters": query,
            "pathParameters": path_parameters,
            "requestContext": {
                "requestId": "req-1",
                "httpMethod": "GET",
                "resourcePath": "/orders",
                "authorizer": authorizer
            },
            "body": null,
            "isBase64Encoded": false
        }))
        .expect("a proxy event")
    }

    fn body(response: &ApiGatewayProxyResponse) -> Value {
        match &response.body {
            Some(Body::Text(text)) => serde_json::from_str(text).expect("JSON body"),
            other => panic!("expected a text body, got {other:?}"),
        }
    }

    fn header<'a>(response: &'a ApiGatewayProxyResponse, name: &str) -> Option<&'a str> {
        response.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// One order of customer-1's, as the materialiser stores it.
    fn store() -> MemoryOrderReader {
        let view: OrderView = serde_json::from_value(json!({
            "orderId": ID,
            "customerId": "customer-1",
            "channel": "web",
            "lines": [{ "sku": "MUG-01", "quantity": 2, "unitPrice": { "amount": 850, "currency": "EUR" } }],
            "total": { "amount": 1700, "currency": "EUR" },
            "shippingAddress": { "name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postalCode": "SW1Y 4JH", "country": "GB" },
            "paymentReference": "pay_1",
            "placedAt": "2026-11-23T09:15:30.120Z",
            "status": "placed",
            "steps": {},
        }))
        .expect("a placed order's view");
        assert!(matches!(view, OrderView::Placed(_)));
        MemoryOrderReader(vec![view])
    }

    #[tokio::test]
    async fn each_request_gets_its_status_and_problem_type() {
        let upper = ID.to_uppercase();
        let cases: [(&str, ApiGatewayProxyRequest, i64, Option<&str>); 8] = [
            (
                "own order",
                request(Some("customer-1"), Some(ID), Value::Null),
                200,
                None,
            ),
            (
                "own order, upper case id",
                request(Some("customer-1"), Some(&upper), Value::Null),
                200,
                None,
            ),
            (
                "another's order",
                request(Some("customer-2"), Some(ID), Value::Null),
                404,
                Some("/problems/not-found"),
            ),
            (
                "not a uuid",
                request(Some("customer-1"), Some("42"), Value::Null),
                400,
                Some("/problems/invalid-request"),
            ),
            (
                "no claims",
                request(None, Some(ID), Value::Null),
                401,
                Some("/problems/unauthenticated"),
            ),
            (
                "list",
                request(Some("customer-1"), None, json!({ "limit": "5" })),
                200,
                None,
            ),
            (
                "bad limit",
                request(Some("customer-1"), None, json!({ "limit": "0" })),
                400,
                Some("/problems/invalid-request"),
            ),
            (
                "bad token",
                request(Some("customer-1"), None, json!({ "nextToken": "x" })),
                400,
                Some("/problems/invalid-request"),
            ),
        ];
        for (case, request, status, problem) in cases {
            let response = handle_request(&store(), request).await;
            assert_eq!(response.status_code, status, "{case}");
            let expected_type = if problem.is_some() {
                PROBLEM_CONTENT_TYPE
            } else {
                "application/json"
            };
            assert_eq!(
                header(&response, "content-type"),
                Some(expected_type),
                "{case}"
            );
            assert_eq!(body(&response)["type"].as_str(), problem, "{case}");
        }
    }

    #[tokio::test]
    async fn claims_are_read_from_the_authorizer_only() {
        // A customer id in the query or a header is not an identity.
        let mut forged = request(None, None, json!({ "customerId": "customer-1" }));
        forged
            .headers
            .insert("x-customer-id", HeaderValue::from_static("customer-1"));
        let response = handle_request(&store(), forged).await;
        assert_eq!(response.status_code, 401);
    }

    #[tokio::test]
    async fn an_order_answers_as_the_placed_order_plus_status() {
        let response =
            handle_request(&store(), request(Some("customer-1"), Some(ID), Value::Null)).await;
        let body = body(&response);
        assert_eq!(body["orderId"], ID);
        assert_eq!(body["customerId"], "customer-1");
        assert_eq!(body["status"], "placed");
        assert_eq!(body["total"], json!({ "amount": 1700, "currency": "EUR" }));
        assert_eq!(body.get("placedEventId"), None);
        assert_eq!(
            header(&response, "cache-control"),
            Some("private, no-store")
        );
    }

    struct Down;

    impl OrderReader for Down {
        async fn get(&self, _: Uuid) -> Result<Option<OrderView>, ReadError> {
            Err(ReadError::Unavailable(
                "connection refused by 10.0.0.7 (secret detail)".into(),
            ))
        }

        async fn page(&self, _: &str, _: Limit, _: Option<PageKey>) -> Result<Page, ReadError> {
            Err(ReadError::Unavailable(
                "ProvisionedThroughputExceeded".into(),
            ))
        }
    }

    #[tokio::test]
    async fn a_store_failure_is_503_with_retry_after_and_no_cause() {
        for request in [
            request(Some("customer-1"), Some(ID), Value::Null),
            request(Some("customer-1"), None, Value::Null),
        ] {
            let response = handle_request(&Down, request).await;
            assert_eq!(response.status_code, 503);
            assert_eq!(header(&response, "retry-after"), Some("1"));
            let text = serde_json::to_string(&body(&response)).expect("json");
            assert!(
                !text.contains("secret") && !text.contains("Provisioned"),
                "{text}"
            );
            assert_eq!(body(&response)["type"], "/problems/unavailable");
        }
    }

    #[test]
    fn the_response_serialises_as_lambda_proxy_output() {
        let response = problem_response(&Problem::not_found());
        let json = serde_json::to_value(&response).expect("serialises");
        assert_eq!(json["statusCode"], 404);
        assert_eq!(json["headers"]["content-type"], PROBLEM_CONTENT_TYPE);
        let body: Value =
            serde_json::from_str(json["body"].as_str().expect("string body")).expect("json");
        assert_eq!(body["status"], 404);
        assert_eq!(json["isBase64Encoded"], false);
    }
}
