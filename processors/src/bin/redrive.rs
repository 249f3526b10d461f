//! `redrive`: list, show and redrive dead letters, the consumers' own and Lambda's on-failure
//! batches, from the dead-letter bucket back onto the stream. See docs/consumers.md.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ingest::config::{ResourceNames, aws_config};
use ingest::producer::{Entry, MAX_BATCH_ENTRIES, Producer};
use processors::redrive::{DeadLetterBucket, Letter, Selection};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Dead letters: list them, show one, put them back on the stream.
///
/// Reads the bucket named by ORDERS_DEAD_LETTER_BUCKET and writes to the stream named by
/// ORDERS_STREAM_NAME, with the AWS SDK's usual credentials, region and endpoints.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// List dead letters: the consumers' own by consumer and arrival hour, then Lambda's
    /// on-failure batches.
    List(Select),
    /// Show one dead letter in full (its payload decoded when it is text).
    Show {
        /// The letter's object key, as `list` prints it.
        key: String,
    },
    /// Put the selected letters' records back on the stream, with their original partition key
    /// and data. The consumers deduplicate, so redriving twice changes nothing.
    Send {
        #[command(flatten)]
        select: Select,
        /// Only these letters (object keys, as `list` prints them); repeat for more.
        #[arg(long = "key")]
        keys: Vec<String>,
        /// Say what would be sent, send nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Args)]
struct Select {
    /// One consumer's letters (e.g. orders-materialiser), with the Lambda batches of the
    /// function named after it (<prefix>-materialiser); every consumer's if left out.
    #[arg(long)]
    consumer: Option<String>,
    /// Records that arrived at or after this time (RFC 3339, e.g. 2026-11-25T08:00:00Z);
    /// Lambda's batches by when Lambda wrote them.
    #[arg(long, value_parser = rfc3339)]
    from: Option<OffsetDateTime>,
    /// Records that arrived before this time (RFC 3339); Lambda's batches by when written.
    #[arg(long, value_parser = rfc3339)]
    to: Option<OffsetDateTime>,
    /// Leave out the batches Lambda's on-failure destination wrote.
    #[arg(long)]
    own_only: bool,
}

impl Select {
    fn selection(&self) -> Selection {
        Selection {
            consumer: self.consumer.clone(),
            from: self.from,
            to: self.to,
            own_only: self.own_only,
        }
    }
}

fn rfc3339(value: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|e| format!("not an RFC 3339 time: {e}"))
}

/// Awaits `letters` with a spinner on a terminal: listing reads every letter in the selection,
/// one object at a time, which takes a while in a full bucket.
async fn reading<T>(quiet: bool, letters: impl Future<Output = T>) -> T {
    let spinner = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner().with_message("reading the dead letters")
    };
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let letters = letters.await;
    spinner.finish_and_clear();
    letters
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let names = ResourceNames::from_env();
    let config = aws_config().await;
    let bucket = DeadLetterBucket::new(aws_sdk_s3::Client::new(&config), &names.dead_letter_bucket);
    match cli.command {
        Command::List(select) => {
            let letters = reading(cli.json, bucket.letters(&select.selection())).await?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&letters)?);
            } else {
                print_table(&letters);
            }
        }
        Command::Show { key } => {
            let letter = bucket.read(&key).await?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&letter)?);
            } else {
                show(&letter)?;
            }
        }
        Command::Send {
            select,
            keys,
            dry_run,
        } => {
            let letters = if keys.is_empty() {
                reading(cli.json, bucket.letters(&select.selection())).await?
            } else {
                let mut letters = Vec::with_capacity(keys.len());
                for key in &keys {
                    letters.push(bucket.read(key).await?);
                }
                letters
            };
            let producer = Producer::new(aws_sdk_kinesis::Client::new(&config), &names.stream);
            let sent = send(&producer, &letters, dry_run, cli.json).await?;
            let summary = serde_json::json!({
                "stream": names.stream,
                "letters": letters.len(),
                "records": sent,
                "dryRun": dry_run,
            });
            if cli.json {
                println!("{summary}");
            } else if dry_run {
                println!(
                    "dry run: would put {sent} records from {} letters on {}",
                    letters.len(),
                    names.stream
                );
            } else {
                println!(
                    "put {sent} records from {} letters on {}",
                    letters.len(),
                    names.stream
                );
            }
        }
    }
    Ok(())
}

/// Puts every letter's records on the stream, in order, a `PutRecords` call at a time; returns
/// how many records were (or, on a dry run, would be) put.
async fn send(
    producer: &Producer,
    letters: &[Letter],
    dry_run: bool,
    quiet: bool,
) -> anyhow::Result<usize> {
    let mut entries = Vec::new();
    for letter in letters {
        let records = letter
            .records()
            .with_context(|| format!("{}: payload is not base64", letter.key()))?;
        entries.extend(records.into_iter().map(|record| Entry {
            partition_key: record.partition_key,
            data: record.data,
        }));
    }
    if dry_run {
        return Ok(entries.len());
    }
    let progress = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(entries.len() as u64).with_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} records  {per_sec}  eta {eta}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    let total = entries.len();
    let mut sent = 0;
    for chunk in entries.chunks(MAX_BATCH_ENTRIES) {
        let results = producer.put_batch(chunk.to_vec()).await;
        let failed: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| processors::error_chain(e))
            .collect();
        if let Some(first) = failed.first() {
            progress.abandon();
            bail!(
                "{} of {} records in a batch were not put ({first}); {sent} of {total} were put \
                 before it. Nothing is lost: run the same command again (the consumers \
                 deduplicate what was already sent)",
                failed.len(),
                chunk.len()
            );
        }
        sent += chunk.len();
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    Ok(sent)
}

fn print_table(letters: &[Letter]) {
    if letters.is_empty() {
        println!("no dead letters");
        return;
    }
    println!(
        "{:<19}  {:<22}  {:<21}  {:>8}  KEY",
        "ARRIVED (UTC)", "CONSUMER", "GAVE UP", "ATTEMPTS"
    );
    for letter in letters {
        let (at, owner, gave_up, attempts, reason) = match letter {
            Letter::Record { letter, .. } => (
                letter.arrived_at,
                letter.consumer.as_str(),
                letter.gave_up.to_string(),
                letter.attempts.to_string(),
                letter.reason.clone(),
            ),
            Letter::LambdaBatch {
                function_arn,
                condition,
                written_at,
                records,
                ..
            } => (
                *written_at,
                function_arn.rsplit(':').next().unwrap_or(function_arn),
                format!("lambda batch of {}", records.len()),
                "-".to_owned(),
                condition.clone(),
            ),
        };
        println!(
            "{:<19}  {owner:<22}  {gave_up:<21}  {attempts:>8}  {}\n    {reason}",
            short_time(at),
            letter.key()
        );
    }
}

fn short_time(at: OffsetDateTime) -> String {
    let mut text = at.format(&Rfc3339).unwrap_or_default();
    text.truncate(19);
    text
}

fn show(letter: &Letter) -> anyhow::Result<()> {
    let mut json = serde_json::to_value(letter)?;
    if let Some(object) = json.as_object_mut() {
        object.remove("payload");
    }
    println!("{}", serde_json::to_string_pretty(&json)?);
    for record in letter
        .records()
        .with_context(|| format!("{}: payload is not base64", letter.key()))?
    {
        println!(
            "\nrecord {} (partition key {}):",
            record.sequence_number, record.partition_key
        );
        match std::str::from_utf8(&record.data) {
            Ok(text) => println!("{text}"),
            Err(_) => println!("({} bytes, not text)", record.data.len()),
        }
    }
    Ok(())
}
