//! `downstream`: serves the stand-ins for inventory, fulfilment and accounting on loopback
//! until Ctrl-C or SIGTERM (see `devstack::downstream`).
//!
//! The first line on stdout is `downstream on http://127.0.0.1:PORT`, for scripts to read.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use devstack::downstream::{StandInConfig, router};

#[derive(Parser)]
#[command(about = "Local stand-ins for the inventory, fulfilment and accounting services")]
struct Args {
    /// Loopback port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// JSON file of faults and rules to start with, shaped as the body of `PUT /_control`.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = match &args.config {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            StandInConfig::from_json(&bytes).with_context(|| format!("in {}", path.display()))?
        }
        None => StandInConfig::default(),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    println!("downstream on http://{}", listener.local_addr()?);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    axum::serve(listener, router(config))
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        })
        .await?;
    Ok(())
}
