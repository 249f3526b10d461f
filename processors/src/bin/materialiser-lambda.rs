//! `materialiser-lambda`: the orders materialiser on AWS Lambda, behind an event source mapping
//! with `ReportBatchItemFailures`.

use ingest::config::{ResourceNames, aws_config, consumers, init_tracing};
use processors::materialiser::Materialiser;
use processors::store::DynamoOrderStore;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let sdk = aws_config().await;
    let orders = DynamoOrderStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        ResourceNames::from_env().orders_table,
    );
    processors::host::lambda::serve(consumers::MATERIALISER, Materialiser::new(orders), &sdk).await
}
