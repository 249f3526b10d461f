//! `devstack`: runs the local stack in the foreground until Ctrl-C, for working by hand.
//!
//! It writes `<state-dir>/env` (endpoints, region, throwaway credentials, resource names, the
//! token key's path) so that `set -a; . .devstack/env; set +a` points any pipeline binary or
//! AWS CLI at it.

use std::path::PathBuf;

use clap::Parser;
use devstack::{LocalStack, StackOptions};

#[derive(Parser)]
#[command(
    about = "Run the local AWS-compatible stack (Kinesis, DynamoDB) provisioned for the pipeline"
)]
struct Args {
    #[arg(long, default_value_t = 4567)]
    kinesis_port: u16,
    #[arg(long, default_value_t = 8000)]
    dynamodb_port: u16,
    #[arg(long, default_value_t = devstack::DEFAULT_SHARDS)]
    shards: i32,
    /// Throttle writes per shard as AWS does.
    #[arg(long)]
    shard_limits: bool,
    #[arg(long, default_value = ".devstack")]
    state_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ingest::config::init_tracing();
    let args = Args::parse();
    let stack = LocalStack::start(StackOptions {
        kinesis_port: args.kinesis_port,
        dynamodb_port: args.dynamodb_port,
        shards: args.shards,
        shard_limits: args.shard_limits,
        ..Default::default()
    })
    .await?;
    stack.write_state(&args.state_dir)?;
    println!("Kinesis:  {}", stack.kinesis_endpoint);
    println!("DynamoDB: {}", stack.dynamodb_endpoint);
    println!(
        "Environment for the pipeline's binaries: {}/env. Ctrl-C stops.",
        args.state_dir.display()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
