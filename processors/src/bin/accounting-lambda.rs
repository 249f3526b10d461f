//! `accounting-lambda`: the saga's accounting stage on AWS Lambda, behind an event source mapping
//! with `ReportBatchItemFailures`. See `processors::saga`.

use ingest::config::{aws_config, consumers, init_tracing};
use ingest::lifecycle::Stage;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let sdk = aws_config().await;
    let stage =
        processors::host::saga_stage(Stage::Accounting, consumers::ACCOUNTING, &sdk).await?;
    processors::host::lambda::serve(consumers::ACCOUNTING, stage, &sdk).await
}
