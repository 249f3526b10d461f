//! `consumer`: runs one consumer as a standalone enhanced fan-out consumer (the host for local
//! work, tests and containers; on AWS each consumer is a Lambda). See docs/consumers.md.

use std::time::Duration;

use clap::{Parser, ValueEnum};
use ingest::config::{ResourceNames, aws_config, consumers, init_tracing};
use ingest::lifecycle::Stage;
use processors::batch::RecordHandler;
use processors::checkpoint::CheckpointStore;
use processors::host::efo::{EfoConfig, EfoHost};
use processors::host::{aws_engine, saga_stage};
use processors::materialiser::Materialiser;
use processors::store::DynamoOrderStore;

/// Run one of the pipeline's consumers on every shard of the stream until SIGTERM or Ctrl-C.
///
/// Configuration is the environment: resource names (ORDERS_STREAM_NAME, …), the engine's
/// limits (CONSUMER_MAX_ATTEMPTS, …), the saga stages' service URLs (INVENTORY_URL, …) and the
/// AWS SDK's own variables.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Which consumer to run.
    consumer: Consumer,
}

#[derive(Clone, Copy, ValueEnum)]
enum Consumer {
    Materialiser,
    Inventory,
    Fulfilment,
    Accounting,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_tracing();
    let sdk = aws_config().await;
    match args.consumer {
        Consumer::Materialiser => {
            let orders = DynamoOrderStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                ResourceNames::from_env().orders_table,
            );
            run(consumers::MATERIALISER, Materialiser::new(orders), &sdk).await
        }
        Consumer::Inventory => run_stage(Stage::Inventory, consumers::INVENTORY, &sdk).await,
        Consumer::Fulfilment => run_stage(Stage::Fulfilment, consumers::FULFILMENT, &sdk).await,
        Consumer::Accounting => run_stage(Stage::Accounting, consumers::ACCOUNTING, &sdk).await,
    }
}

async fn run_stage(
    stage: Stage,
    consumer: &str,
    sdk: &aws_config::SdkConfig,
) -> anyhow::Result<()> {
    run(consumer, saga_stage(stage, consumer, sdk).await?, sdk).await
}

async fn run<H: RecordHandler + 'static>(
    consumer: &str,
    handler: H,
    sdk: &aws_config::SdkConfig,
) -> anyhow::Result<()> {
    let host = EfoHost::new(
        aws_sdk_kinesis::Client::new(sdk),
        CheckpointStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            ResourceNames::from_env().checkpoints_table,
            consumer,
        ),
        EfoConfig {
            shard_discovery_interval: Duration::from_secs(10),
        },
        aws_engine(consumer, handler, sdk)?,
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping");
        let _ = stop.send(true);
    });
    host.run(stopped).await?;
    Ok(())
}

async fn shutdown_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
    }
}
