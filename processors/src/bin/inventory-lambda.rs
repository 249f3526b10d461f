//! `inventory-lambda`: the saga's inventory stage on AWS Lambda, behind an event source mapping
//! with `ReportBatchItemFailures`. See `processors::saga`.

use ingest::config::{aws_config, consumers, init_tracing};
use ingest::lifecycle::Stage;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let sdk = aws_config().await;
    let stage = processors::host::saga_stage(Stage::Inventory, consumers::INVENTORY, &sdk).await?;
    processors::host::lambda::serve(consumers::INVENTORY, stage, &sdk).await
}
