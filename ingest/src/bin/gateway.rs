//! `gateway`: serves `POST /orders` and `POST /orders:batch` on loopback, writing to Kinesis, and
//! `GET /orders` and `GET /orders/{orderId}`, reading the orders table.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use ingest::auth::{CognitoPool, TokenVerifier};
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
    /// Also accept the ID tokens of this Cognito user pool, as API Gateway's authorizer does:
    /// its issuer URL, whose `/.well-known/jwks.json` holds the signing keys.
    #[arg(long, env = "GATEWAY_COGNITO_ISSUER")]
    cognito_issuer: Option<String>,
}

/// Fetches the pool's signing keys, once at start-up.
async fn cognito_pool(issuer: &str) -> anyhow::Result<CognitoPool> {
    let url = format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'));
    let jwks = reqwest::get(&url)
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("fetching {url}"))?
        .json()
        .await
        .with_context(|| format!("reading the key set at {url}"))?;
    Ok(CognitoPool::new(issuer, &jwks)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let args = Args::parse();
    let secret = std::fs::read(&args.jwt_secret_file)
        .with_context(|| format!("reading {}", args.jwt_secret_file.display()))?;
    let mut tokens = TokenVerifier::hs256(&secret);
    if let Some(issuer) = &args.cognito_issuer {
        tokens = tokens.with_cognito(cognito_pool(issuer).await?);
    }
    let names = ResourceNames::from_env();
    let sdk = aws_config().await;
    let gateway = Gateway {
        producer: Producer::new(aws_sdk_kinesis::Client::new(&sdk), names.stream.clone()),
        tokens,
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
