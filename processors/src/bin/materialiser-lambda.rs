//! `materialiser-lambda`: the orders materialiser on AWS Lambda, behind an event source mapping
//! with `ReportBatchItemFailures`.

use aws_lambda_events::event::kinesis::KinesisEvent;
use ingest::config::{ResourceNames, aws_config, consumers, init_tracing};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use processors::batch::BatchConfig;
use processors::host::lambda::handle_kinesis_event;
use processors::materialiser::Materialiser;
use processors::store::DynamoOrderStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let names = ResourceNames::from_env();
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws_config().await);
    let materialiser = Materialiser::new(DynamoOrderStore::new(dynamodb, names.orders_table));
    let materialiser = &materialiser;
    let batch = BatchConfig::from_env()?;
    run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            Ok::<_, Error>(
                handle_kinesis_event(consumers::MATERIALISER, materialiser, batch, event.payload)
                    .await,
            )
        },
    ))
    .await
}
