//! `materialiser-lambda`: the orders materialiser on AWS Lambda, behind an event source mapping
//! with `ReportBatchItemFailures`.

use aws_lambda_events::event::kinesis::KinesisEvent;
use ingest::config::{ResourceNames, aws_config, consumers, init_tracing};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use processors::host::aws_engine;
use processors::host::lambda::handle_kinesis_event;
use processors::materialiser::Materialiser;
use processors::store::DynamoOrderStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = aws_config().await;
    let orders = DynamoOrderStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        ResourceNames::from_env().orders_table,
    );
    let engine = &aws_engine(consumers::MATERIALISER, Materialiser::new(orders), &config)?;
    run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            Ok::<_, Error>(handle_kinesis_event(engine, event.payload).await)
        },
    ))
    .await
}
