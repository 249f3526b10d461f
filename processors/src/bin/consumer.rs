//! `consumer`: runs any of the pipeline's consumers, by name, as a standalone enhanced fan-out
//! worker (the host for local work, tests and containers; on AWS each consumer is a Lambda).
//! Several workers of one consumer share its shards through leases. See docs/consumers.md.

use std::time::Duration;

use clap::Parser;
use ingest::config::{ResourceNames, aws_config, init_tracing};
use processors::batch::RecordHandler;
use processors::host::efo::{EfoConfig, EfoHost};
use processors::host::{Consumer, aws_engine, consumer_handler};
use processors::lease::{LeaseTable, WorkerConfig};

/// Run one of the pipeline's consumers as a worker that reads its share of the stream's shards,
/// sharing them with the consumer's other workers through leases, until SIGTERM or Ctrl-C
/// (then it finishes its batches, checkpoints them and releases its leases).
///
/// Configuration is the environment: resource names (ORDERS_STREAM_NAME,
/// ORDERS_LEASES_TABLE_NAME, …), the worker's name and lease (CONSUMER_WORKER_ID,
/// CONSUMER_LEASE_MS), the engine's limits (CONSUMER_MAX_ATTEMPTS, …), the saga stages'
/// service URLs (INVENTORY_URL, …) and the AWS SDK's own variables.
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
    let worker = WorkerConfig::from_env()?;
    let host = EfoHost::new(
        aws_sdk_kinesis::Client::new(sdk),
        LeaseTable::new(
            aws_sdk_dynamodb::Client::new(sdk),
            ResourceNames::from_env().leases_table,
            consumer,
            worker.worker,
            worker.lease,
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
