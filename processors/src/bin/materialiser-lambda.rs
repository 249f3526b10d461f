//! `materialiser-lambda`: the orders materialiser on AWS Lambda, behind an event source mapping
//! with `ReportBatchItemFailures`.

use aws_lambda_events::event::kinesis::KinesisEvent;
use ingest::config::{ResourceNames, aws_config, consumers, init_tracing};
use ingest::producer::Producer;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use processors::batch::BatchConfig;
use processors::host::lambda::handle_kinesis_event;
use processors::materialiser::Materialiser;
use processors::store::DynamoOrderStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let names = ResourceNames::from_env();
    let config = aws_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let materialiser = Materialiser::new(DynamoOrderStore::new(dynamodb, names.orders_table));
    let materialiser = &materialiser;
    // The materialiser emits no events; the host takes an emitter for the consumers that do.
    let emitter = &Producer::new(aws_sdk_kinesis::Client::new(&config), names.stream);
    let batch = BatchConfig::from_env()?;
    run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            Ok::<_, Error>(
                handle_kinesis_event(
                    consumers::MATERIALISER,
                    materialiser,
                    emitter,
                    batch,
                    event.payload,
                )
                .await,
            )
        },
    ))
    .await
}
