//! `orders-query-lambda`: `GET /orders` and `GET /orders/{orderId}` on AWS Lambda, behind API
//! Gateway (REST API, Lambda proxy integration, Cognito user pool authorizer).
//!
//! Reads `ORDERS_TABLE_NAME` (default `orders`) and the AWS SDK's usual variables.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use ingest::config::{ResourceNames, aws_config, init_tracing};
use ingest::query::DynamoOrderReader;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use processors::query::handle_request;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let names = ResourceNames::from_env();
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws_config().await);
    let store = DynamoOrderReader::new(dynamodb, names.orders_table);
    let store = &store;
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            Ok::<_, Error>(handle_request(store, event.payload).await)
        },
    ))
    .await
}
