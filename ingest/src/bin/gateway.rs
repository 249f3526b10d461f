//! `gateway`: serves `POST /orders` and `POST /orders:batch` on loopback, writing to Kinesis, and
//! `GET /orders` and `GET /orders/{orderId}`, reading the orders table.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use ingest::auth::TokenVerifier;
use ingest::config::{ResourceNames, aws_config, init_tracing};
use ingest::gateway::{Gateway, router};
use ingest::producer::Producer;
use ingest::query::DynamoOrderReader;

#[derive(Parser)]
#[command(about = "Local stand-in for the orders API Gateway")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// File holding the HS256 key that signs customers' tokens (the local stack writes one).
    #[arg(long, env = "GATEWAY_JWT_SECRET_FILE")]
    jwt_secret_file: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let args = Args::parse();
    let secret = std::fs::read(&args.jwt_secret_file)
        .with_context(|| format!("reading {}", args.jwt_secret_file.display()))?;
    let names = ResourceNames::from_env();
    let sdk = aws_config().await;
    let gateway = Gateway {
        producer: Producer::new(aws_sdk_kinesis::Client::new(&sdk), names.stream.clone()),
        tokens: TokenVerifier::hs256(&secret),
        orders: DynamoOrderReader::new(aws_sdk_dynamodb::Client::new(&sdk), &names.orders_table),
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, stream = names.stream, "gateway listening");
    axum::serve(listener, router(gateway))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
