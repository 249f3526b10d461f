//! `archive-errors`: lists the records Firehose wrote under the archive's error prefix and
//! redelivers them into the archive's own layout, once each. See docs/analytics.md.

use analytics::archive::RawArchive;
use analytics::errors::{error_objects, redeliver};
use analytics::layout::layout;
use anyhow::{Context, bail};
use clap::Parser;
use ingest::config::{aws_config, init_cli_tracing};

/// Redeliver the archive's error records: each error object's records become one archive
/// object (in the folder of their oldest record's hour, named as the error object is), unless
/// that object exists already, so running it again writes nothing twice.
///
/// The bucket and the prefixes come from the delivery stream (DescribeDeliveryStream), and
/// must match analytics/archive-layout.json.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The archive's delivery stream.
    #[arg(
        long,
        env = "ORDERS_ARCHIVE_DELIVERY_STREAM",
        default_value = "orders-archive"
    )]
    delivery_stream: String,
    /// Say what would be redelivered; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_cli_tracing();
    let sdk = aws_config().await;
    let bucket =
        archive_bucket(&aws_sdk_firehose::Client::new(&sdk), &args.delivery_stream).await?;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let archive = RawArchive::new(s3.clone(), bucket);
    let mut done = Vec::new();
    for object in error_objects(&archive).await? {
        done.push(redeliver(&archive, &s3, &object.key, args.dry_run).await?);
    }
    if args.json {
        println!("{}", serde_json::to_string(&done)?);
        return Ok(());
    }
    let verb = if args.dry_run {
        "would redeliver"
    } else {
        "redelivered"
    };
    for d in &done {
        let what = if d.already {
            "already redelivered"
        } else {
            verb
        };
        println!(
            "{} ({} records, {}): {what} as {}",
            d.error_key,
            d.records,
            d.error_codes.join(", "),
            d.events_key
        );
    }
    let new: usize = done.iter().filter(|d| !d.already).map(|d| d.records).sum();
    println!("{} error objects; {verb} {new} records", done.len());
    Ok(())
}

/// The delivery stream's bucket, once its prefixes are checked against the shared layout.
async fn archive_bucket(
    firehose: &aws_sdk_firehose::Client,
    delivery_stream: &str,
) -> anyhow::Result<String> {
    let described = firehose
        .describe_delivery_stream()
        .delivery_stream_name(delivery_stream)
        .send()
        .await
        .with_context(|| format!("cannot describe the delivery stream {delivery_stream}"))?;
    let Some(s3) = described
        .delivery_stream_description()
        .and_then(|d| d.destinations().first())
        .and_then(|d| d.extended_s3_destination_description())
    else {
        bail!("{delivery_stream} does not deliver to S3");
    };
    let layout = layout();
    let prefix = s3.prefix().unwrap_or_default();
    let error_prefix = s3.error_output_prefix().unwrap_or_default();
    if !prefix.starts_with(&layout.events_prefix)
        || !error_prefix.starts_with(&layout.errors_prefix)
    {
        bail!(
            "{delivery_stream} writes to {prefix} with errors under {error_prefix}; archive-layout.json says {} and {}",
            layout.events_prefix,
            layout.errors_prefix
        );
    }
    let bucket = s3.bucket_arn().trim_start_matches("arn:aws:s3:::");
    Ok(bucket.to_owned())
}
