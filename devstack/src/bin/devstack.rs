//! `devstack`: runs the local stack in the foreground until Ctrl-C, for working by hand, and
//! signs tokens for it.
//!
//! `devstack up` writes `<state-dir>/env` (endpoints, region, throwaway credentials, resource
//! names, the token key's path) so that `set -a; . .devstack/env; set +a` points any pipeline
//! binary or AWS CLI at it. `devstack token <customer>` prints a bearer token for the gateway.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use devstack::{LocalStack, StackOptions};
use ingest::auth::TokenIssuer;

#[derive(Parser)]
#[command(
    about = "The local AWS-compatible stack (Kinesis, DynamoDB) provisioned for the pipeline"
)]
struct Args {
    /// Where `up` writes `env` and `jwt-secret`, and where `token` reads the key.
    #[arg(long, default_value = ".devstack", global = true)]
    state_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the engines, create the resources, and run until Ctrl-C.
    Up {
        #[arg(long, default_value_t = 4567)]
        kinesis_port: u16,
        #[arg(long, default_value_t = 8000)]
        dynamodb_port: u16,
        #[arg(long, default_value_t = 9000)]
        s3_port: u16,
        #[arg(long, default_value_t = devstack::DEFAULT_SHARDS)]
        shards: i32,
        /// Throttle writes per shard as AWS does (1,000 records/s or 1 MB/s). ferrokinesis
        /// only, the default engine (DEVSTACK_KINESIS_ENGINE).
        #[arg(long)]
        shard_limits: bool,
    },
    /// Print a bearer token for CUSTOMER, signed with the running stack's key.
    Token {
        customer: String,
        /// Seconds the token stays valid.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.command {
        Command::Up {
            kinesis_port,
            dynamodb_port,
            s3_port,
            shards,
            shard_limits,
        } => {
            ingest::config::init_tracing();
            let stack = LocalStack::start(StackOptions {
                kinesis_port,
                dynamodb_port,
                s3_port,
                shards,
                shard_limits,
                ..Default::default()
            })
            .await?;
            stack.write_state(&args.state_dir)?;
            println!("Kinesis:  {}", stack.kinesis_endpoint);
            println!("DynamoDB: {}", stack.dynamodb_endpoint);
            println!("S3:       {}", stack.s3_endpoint);
            println!(
                "Environment for the pipeline's binaries: {}/env. Ctrl-C stops.",
                args.state_dir.display()
            );
            // Either signal ends here, so the stack is dropped and stops its engines.
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                result = tokio::signal::ctrl_c() => result?,
                _ = terminate.recv() => {}
            }
        }
        Command::Token { customer, ttl } => {
            let path = args.state_dir.join("jwt-secret");
            let secret = std::fs::read(&path).with_context(|| {
                format!("reading {} (is `devstack up` running?)", path.display())
            })?;
            println!("{}", TokenIssuer::hs256(&secret).token(&customer, ttl));
        }
    }
    Ok(())
}
