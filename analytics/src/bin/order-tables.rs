//! `order-tables`: builds the analyst tables of the given dates from the raw archive (what the
//! hourly Lambda does for today), for a backfill or the local stack. See docs/analytics.md.

use analytics::archive::RawArchive;
use analytics::layout::parse_date;
use analytics::tables::{build_day, dates_to_build};
use clap::Parser;
use ingest::config::{ResourceNames, aws_config, init_cli_tracing};
use time::{Date, OffsetDateTime};

/// Rebuild the Parquet tables (order_events, order_lines) of each date from the archive bucket
/// named by ORDERS_ARCHIVE_BUCKET, replacing the last build.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// A UTC date to rebuild (yyyy-MM-dd); repeat for more. Default: what the hourly run
    /// rebuilds now (today, and yesterday in the first two hours of the day).
    #[arg(long = "date", value_parser = parse_date)]
    dates: Vec<Date>,
    /// Print what was built as JSON.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_cli_tracing();
    let sdk = aws_config().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let archive = RawArchive::new(s3.clone(), ResourceNames::from_env().archive_bucket);
    let dates = if args.dates.is_empty() {
        dates_to_build(OffsetDateTime::now_utc())
    } else {
        args.dates
    };
    let mut built = Vec::new();
    for date in dates {
        built.push(build_day(&archive, &s3, date).await?);
    }
    if args.json {
        println!("{}", serde_json::to_string(&built)?);
    } else {
        for day in &built {
            println!(
                "{}: {} order events, {} order lines ({} bytes of Parquet) from {} records in {} objects; left out {} replayed and {} unreadable",
                day.date,
                day.order_events,
                day.order_lines,
                day.bytes,
                day.records,
                day.objects,
                day.duplicates,
                day.unreadable
            );
        }
    }
    Ok(())
}
