//! `materialiser`: the orders materialiser as a standalone enhanced fan-out consumer.

use std::time::Duration;

use ingest::config::{ResourceNames, aws_config, consumers, init_tracing};
use processors::checkpoint::CheckpointStore;
use processors::host::aws_engine;
use processors::host::efo::{EfoConfig, EfoHost};
use processors::materialiser::Materialiser;
use processors::store::DynamoOrderStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let names = ResourceNames::from_env();
    let config = aws_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let host = EfoHost::new(
        aws_sdk_kinesis::Client::new(&config),
        CheckpointStore::new(
            dynamodb.clone(),
            &names.checkpoints_table,
            consumers::MATERIALISER,
        ),
        EfoConfig {
            shard_discovery_interval: Duration::from_secs(10),
        },
        aws_engine(
            consumers::MATERIALISER,
            Materialiser::new(DynamoOrderStore::new(dynamodb, &names.orders_table)),
            &config,
        )?,
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
