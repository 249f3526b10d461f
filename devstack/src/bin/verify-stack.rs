//! `verify-stack`: checks a deployed stack end to end from its Pulumi outputs. See
//! docs/deploy.md ("Verify a deployed stack") and `devstack::verify`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use devstack::verify::{Clients, StackOutputs, VerifyOptions, verify};

#[derive(Parser)]
#[command(
    about = "Verify a deployed orders stack: a throwaway Cognito user sends the API Gateway \
             test vectors, each stream record is compared byte for byte with the vector's \
             envelope, the orders are read back, no dead letter may appear; the user is \
             deleted at the end",
    after_help = "The orders it places are real orders of the stack: they go through the saga \
                  and reach the downstream services. Run it on a stack whose services expect \
                  them. Needs the verifier app client: pulumi config set verifierClient true."
)]
struct Args {
    /// The stack's outputs: `pulumi stack output --json > outputs.json`.
    #[arg(long)]
    outputs: PathBuf,
    /// Seconds to wait for the records on the stream and for the orders behind GET.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Also wait up to this many seconds for the orders to reach the archive (Firehose
    /// buffers for `archiveBufferSeconds`, 900 by default).
    #[arg(long)]
    wait_archive: Option<u64>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ingest::config::init_cli_tracing();
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.outputs)
        .with_context(|| format!("reading {}", args.outputs.display()))?;
    let outputs: StackOutputs = serde_json::from_str(&text)
        .with_context(|| format!("{} is not the stack's outputs", args.outputs.display()))?;
    let sdk = ingest::config::aws_config().await;
    let clients = Clients {
        cognito: aws_sdk_cognitoidentityprovider::Client::new(&sdk),
        kinesis: aws_sdk_kinesis::Client::new(&sdk),
        s3: aws_sdk_s3::Client::new(&sdk),
        http: reqwest::Client::new(),
    };
    let options = VerifyOptions {
        timeout: Duration::from_secs(args.timeout),
        archive_timeout: args.wait_archive.map(Duration::from_secs),
    };
    let report = verify(&outputs, &clients, &options).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for check in &report.checks {
            let mark = if check.ok { "ok  " } else { "FAIL" };
            println!("{mark} {}: {}", check.name, check.detail);
        }
        println!(
            "customer {}; {} orders; throwaway user {}",
            report.customer_id,
            report.order_ids.len(),
            if report.user_deleted {
                "deleted"
            } else {
                "NOT deleted: delete it by hand"
            }
        );
    }
    if !report.ok {
        bail!("the stack failed verification");
    }
    Ok(())
}
