//! `order-tables-lambda`: rebuilds the analyst tables of today (and of yesterday, early in the
//! day) from the raw archive; run hourly by an EventBridge rule. See docs/analytics.md.

use analytics::archive::RawArchive;
use analytics::tables::{build_day, dates_to_build};
use ingest::config::{ResourceNames, aws_config, init_tracing};
use ingest::error_chain;
use lambda_runtime::{LambdaEvent, service_fn};
use time::OffsetDateTime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let sdk = aws_config().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let archive = RawArchive::new(s3.clone(), ResourceNames::from_env().archive_bucket);
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let (archive, s3) = (archive.clone(), s3.clone());
        async move {
            let mut built = Vec::new();
            for date in dates_to_build(OffsetDateTime::now_utc()) {
                match build_day(&archive, &s3, date).await {
                    Ok(day) => {
                        tracing::info!(?day, "order tables built");
                        built.push(day);
                    }
                    Err(error) => {
                        tracing::error!(%date, error = error_chain(&error), "order tables not built");
                        return Err(lambda_runtime::Error::from(error_chain(&error)));
                    }
                }
            }
            Ok::<_, lambda_runtime::Error>(serde_json::json!({ "built": built }))
        }
    }))
    .await
}
