//! `consumer`: runs one consumer as a standalone enhanced fan-out consumer (the host for local
//! work, tests and containers; on AWS each consumer is a Lambda). See docs/consumers.md.

use std::time::Duration;

use clap::Parser;
use ingest::config::{ResourceNames, aws_config, init_tracing};
use processors::batch::RecordHandler;
use processors::checkpoint::CheckpointStore;
use processors::host::efo::{EfoConfig, EfoHost};
use processors::host::{Consumer, aws_engine, consumer_handler};

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_tracing();
    let sdk = aws_config().await;
    let handler = consumer_handler(args.consumer, &sdk).await?;
    run(args.consumer.name(), handler, &sdk).await
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
