//! `replay`: puts a window of the stream's events back, after an outage. See
//! docs/runbooks/replay.md.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::num::NonZeroU32;
use std::path::PathBuf;

use analytics::archive::RawArchive;
use analytics::replay::deliver::{Delivered, Delivery, Limiter};
use analytics::replay::source::{read_archive, read_stream};
use analytics::replay::spool::{Cursor, SpoolWriter, read_spool};
use analytics::replay::{ReadTotals, Window};
use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ingest::config::{ResourceNames, aws_config, init_cli_tracing};
use ingest::producer::Producer;
use processors::host::{Consumer, aws_engine, consumer_handler};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Replay the events of a window `[--from, --to)` (each event's own time), read from the
/// stream's retention or from the archive, onto the stream or into one consumer.
///
/// The window is read once into a spool beside the cursor file (`<cursor>.records`), then sent;
/// the cursor is saved after every batch, so running the same command again after a crash or
/// Ctrl-C resumes where it stopped. Consumers deduplicate by event id: records sent twice
/// change nothing.
///
/// Configuration is the environment: ORDERS_STREAM_NAME, ORDERS_ARCHIVE_BUCKET, the
/// consumer's settings when replaying into one (as for `consumer`), and the AWS SDK's own
/// variables.
#[derive(Parser, Serialize)]
#[command(version)]
#[serde(rename_all = "camelCase")]
struct Args {
    /// The window's start (RFC 3339, e.g. 2026-11-25T09:00:00Z), included.
    #[arg(long, value_parser = rfc3339)]
    #[serde(with = "time::serde::rfc3339")]
    from: OffsetDateTime,
    /// The window's end (RFC 3339), excluded.
    #[arg(long, value_parser = rfc3339)]
    #[serde(with = "time::serde::rfc3339")]
    to: OffsetDateTime,
    /// Where to read the window: the stream (within its retention) or the archive (any age).
    #[arg(long, value_enum, default_value_t = Source::Stream)]
    source: Source,
    /// Where to send it: back onto the stream (every consumer sees it again), or into one
    /// consumer's handler only.
    #[arg(long, value_enum, default_value_t = Target::Stream)]
    into: Target,
    /// Only this customer's events; repeat for more.
    #[arg(long = "customer")]
    customers: Vec<String>,
    /// Only events of this type (e.g. order.placed); repeat for more.
    #[arg(long = "event-type")]
    event_types: Vec<String>,
    /// At most this many records a second.
    #[arg(long)]
    rate: Option<NonZeroU32>,
    /// The cursor file that makes the replay resumable; without it a stopped replay starts over.
    #[arg(long)]
    #[serde(skip)]
    cursor: Option<PathBuf>,
    /// Read the window and say what would be sent; send nothing.
    #[arg(long)]
    #[serde(skip)]
    dry_run: bool,
    /// Print the summary as one JSON line (the last line of standard output).
    #[arg(long)]
    #[serde(skip)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "camelCase")]
enum Source {
    Stream,
    Archive,
}

#[derive(Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "camelCase")]
enum Target {
    Stream,
    Materialiser,
    Inventory,
    Fulfilment,
    Accounting,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    request: serde_json::Value,
    dry_run: bool,
    /// What reading the window found (absent when resuming from a spool).
    read: Option<ReadTotals>,
    /// Records in the window.
    window: u64,
    /// Records of the window per event type.
    by_event_type: std::collections::BTreeMap<String, u64>,
    customers: u64,
    delivered: Option<Delivered>,
    /// Records of the window done, this run and earlier ones.
    done: u64,
    cursor: Option<PathBuf>,
}

fn rfc3339(value: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|e| format!("not an RFC 3339 time: {e}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_cli_tracing();
    if args.from >= args.to {
        bail!("--from must be before --to");
    }
    let request = serde_json::to_value(&args)?;
    let window = Window {
        from: args.from,
        to: args.to,
        customers: args.customers.iter().cloned().collect::<BTreeSet<_>>(),
        event_types: args.event_types.iter().cloned().collect::<BTreeSet<_>>(),
    };
    let sdk = aws_config().await;
    let names = ResourceNames::from_env();
    let interactive = std::io::stderr().is_terminal() && !args.json;

    // The spool: kept beside the cursor, or a temporary file for a replay that cannot resume.
    let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
    let spool = match &args.cursor {
        Some(cursor) if !args.dry_run => Cursor::spool_path(cursor),
        _ => scratch.path().join("window.records"),
    };
    let resumed = match &args.cursor {
        Some(path) if !args.dry_run => Cursor::load(path)?,
        _ => None,
    };
    let (mut cursor, read) = match resumed {
        Some(cursor) if cursor.request != request => bail!(
            "{} is the cursor of another replay ({}); use another --cursor or the same arguments",
            args.cursor.clone().unwrap_or_default().display(),
            cursor.request
        ),
        Some(cursor) => (cursor, None),
        None => {
            let reading = spinner(interactive, "reading the window");
            let mut writer = SpoolWriter::create(&spool)?;
            let mut sink = |record: analytics::replay::WindowRecord| {
                reading.inc(1);
                writer.push(&record)
            };
            let read = match args.source {
                Source::Stream => {
                    let kinesis = aws_sdk_kinesis::Client::new(&sdk);
                    read_stream(&kinesis, &names.stream, &window, &mut sink).await
                }
                Source::Archive => {
                    let archive =
                        RawArchive::new(aws_sdk_s3::Client::new(&sdk), &names.archive_bucket);
                    read_archive(&archive, &window, &mut sink).await
                }
            }
            .context("cannot read the window")?;
            reading.finish_and_clear();
            let total = writer.finish()?;
            (Cursor::new(request.clone(), total), Some(read))
        }
    };

    let mut by_event_type = std::collections::BTreeMap::<String, u64>::new();
    let mut customers = BTreeSet::new();
    for record in read_spool(&spool)? {
        let (_, record) = record?;
        *by_event_type.entry(record.event_type).or_default() += 1;
        customers.insert(record.partition_key);
    }
    let mut summary = Summary {
        request,
        dry_run: args.dry_run,
        read,
        window: cursor.total,
        by_event_type,
        customers: customers.len() as u64,
        delivered: None,
        done: cursor.done(),
        cursor: args.cursor.clone(),
    };
    if !args.dry_run {
        if let Some(path) = &args.cursor {
            cursor.save(path)?;
        }
        let progress = bar(interactive, cursor.total, cursor.done());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("stopping after the batch in flight");
            let _ = stop.send(true);
        });
        let delivery = Delivery {
            spool: &spool,
            cursor: &mut cursor,
            cursor_path: args.cursor.as_deref(),
            limiter: args.rate.map(Limiter::per_second),
            progress: &progress,
            stop: stopped,
        };
        let delivered = match args.into {
            Target::Stream => {
                let producer = Producer::new(aws_sdk_kinesis::Client::new(&sdk), &names.stream);
                delivery.to_stream(&producer).await?
            }
            Target::Materialiser => into(Consumer::Materialiser, delivery, &sdk).await?,
            Target::Inventory => into(Consumer::Inventory, delivery, &sdk).await?,
            Target::Fulfilment => into(Consumer::Fulfilment, delivery, &sdk).await?,
            Target::Accounting => into(Consumer::Accounting, delivery, &sdk).await?,
        };
        progress.finish_and_clear();
        summary.delivered = Some(delivered);
        summary.done = cursor.done();
    }
    if args.json {
        // One line, and the last: replaying into a consumer, its engine's metric lines (EMF)
        // come first on standard output, as the consumer's host prints them.
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&summary);
    }
    match &summary.delivered {
        Some(d) if d.stopped => bail!("stopped before the end: run the same command to resume"),
        _ => Ok(()),
    }
}

async fn into(
    consumer: Consumer,
    delivery: Delivery<'_>,
    sdk: &aws_config::SdkConfig,
) -> anyhow::Result<Delivered> {
    let handler = consumer_handler(consumer, sdk).await?;
    let engine = aws_engine(consumer.name(), handler, sdk)?;
    Ok(delivery.to_handler(&engine).await?)
}

fn spinner(visible: bool, message: &'static str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner().with_message(message);
    if visible {
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg}: {pos} records ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    } else {
        spinner.set_draw_target(ProgressDrawTarget::hidden());
    }
    spinner
}

fn bar(visible: bool, total: u64, done: u64) -> ProgressBar {
    let bar = ProgressBar::new(total).with_position(done);
    if visible {
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} records, {per_sec}, ETA {eta} (elapsed {elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

fn print_summary(summary: &Summary) {
    let verb = if summary.dry_run {
        "would replay"
    } else {
        "replayed"
    };
    println!(
        "window: {} records from {} customers",
        summary.window, summary.customers
    );
    for (event_type, count) in &summary.by_event_type {
        println!("  {event_type:32} {count:>8}");
    }
    if let Some(read) = &summary.read {
        println!(
            "read {} records around the window; left out {} already seen (same event id) and {} not envelopes",
            read.read, read.duplicates, read.unreadable
        );
    }
    match &summary.delivered {
        None => println!("{verb} {} records (dry run: nothing sent)", summary.window),
        Some(d) => {
            println!(
                "{verb} {} records this run; {} of {} done in all",
                d.sent, summary.done, summary.window
            );
            if d.retried > 0 {
                println!(
                    "  {} sent again after a refusal or transient failure",
                    d.retried
                );
            }
            if d.rejected + d.dead_lettered > 0 {
                println!(
                    "  {} refused for a business reason, {} dead-lettered",
                    d.rejected, d.dead_lettered
                );
            }
        }
    }
}

async fn shutdown_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
    }
}
