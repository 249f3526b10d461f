//! The archive and replay on the local stack, as a bench binary:
//! `cargo bench -p pipeline-tests --bench archive`. Figures: docs/performance.md.
//!
//! Three rounds, each of 20,000 `order.placed` envelopes from 1,000 customers (ferrokinesis,
//! 4 shards, no shard limits, so that the engine and the tools are what is measured):
//! 1. raw: the records put with `PutRecords` of 500, one call at a time (the producer the
//!    gateway uses);
//! 2. replay: the same window read back from the stream into a spool, then sent onto the stream
//!    by the replay tool's delivery (one record per customer per call); its send rate over the
//!    raw rate of the same round is the ratio to watch (goal ≥ 90%);
//! 3. archive: the Firehose stand-in reading the stream and writing gzipped objects to S3;
//! 4. tables: `order-tables`' build of the day from the archive.

use std::time::{Duration, Instant};

use analytics::archive::RawArchive;
use analytics::replay::deliver::Delivery;
use analytics::replay::source::read_stream;
use analytics::replay::spool::{Cursor, SpoolWriter};
use analytics::replay::{Window, WindowRecord};
use devstack::archive::{Archive, ArchiveConfig};
use devstack::{LocalStack, StackOptions, sample};
use ingest::envelope::Envelope;
use ingest::order::Channel;
use ingest::producer::{Entry, MAX_BATCH_ENTRIES, Producer};
use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;

const RECORDS: usize = 20_000;
const CUSTOMERS: usize = 1_000;
const ROUNDS: usize = 3;

fn envelopes(rng: &mut StdRng, round: usize) -> Vec<Entry> {
    (0..RECORDS)
        .map(|i| {
            let customer = sample::customer_id(i % CUSTOMERS);
            let order = sample::order(rng, Channel::Web)
                .into_placed(&customer)
                .expect("valid");
            let envelope = Envelope::order_placed(
                order,
                format!("bench-{round}-{i}"),
                OffsetDateTime::now_utc(),
            );
            Entry {
                partition_key: customer,
                data: serde_json::to_vec(&envelope).expect("json"),
            }
        })
        .collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let stack = LocalStack::start(StackOptions {
        shard_limits: false,
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let names = stack.names.clone();
    let producer = Producer::new(stack.kinesis(), &names.stream);
    let mut rng = StdRng::seed_from_u64(5);
    let (mut raw, mut replay, mut read) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // The window is the envelopes' own time: taken before they are made.
        let from = OffsetDateTime::now_utc();
        tokio::time::sleep(Duration::from_millis(2)).await;
        let entries = envelopes(&mut rng, round);
        let started = Instant::now();
        for chunk in entries.chunks(MAX_BATCH_ENTRIES) {
            for result in producer.put_batch(chunk.to_vec()).await {
                result.expect("put");
            }
        }
        raw.push(RECORDS as f64 / started.elapsed().as_secs_f64());
        let to = OffsetDateTime::now_utc();
        tokio::time::sleep(Duration::from_millis(2)).await;

        let window = Window {
            from,
            to,
            customers: Default::default(),
            event_types: Default::default(),
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let spool = dir.path().join("window.records");
        let mut writer = SpoolWriter::create(&spool).expect("spool");
        let started = Instant::now();
        let totals = read_stream(
            &stack.kinesis(),
            &names.stream,
            &window,
            |r: WindowRecord| writer.push(&r),
        )
        .await
        .expect("read");
        read.push(totals.selected as f64 / started.elapsed().as_secs_f64());
        assert_eq!(totals.selected, RECORDS as u64);
        let total = writer.finish().expect("spool");
        let mut cursor = Cursor::new(serde_json::json!({}), total);
        let progress = indicatif::ProgressBar::hidden();
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let started = Instant::now();
        let delivered = Delivery {
            spool: &spool,
            cursor: &mut cursor,
            cursor_path: None,
            limiter: None,
            progress: &progress,
            stop: stopped,
        }
        .to_stream(&producer)
        .await
        .expect("replay");
        assert_eq!(delivered.sent, RECORDS as u64);
        replay.push(RECORDS as f64 / started.elapsed().as_secs_f64());
    }

    // Every record on the stream (raw and replayed), archived with the Pulumi settings.
    let on_stream = RECORDS * ROUNDS * 2;
    let started = Instant::now();
    let archive = Archive::start(
        stack.kinesis(),
        stack.s3(),
        &names.stream,
        &names.archive_bucket,
        ArchiveConfig::default(),
    )
    .expect("binds");
    let archived = archive.stop().await;
    let archive_seconds = started.elapsed().as_secs_f64();
    assert_eq!(archived.records, on_stream);

    let raw_archive = RawArchive::new(stack.s3(), &names.archive_bucket);
    let raw_bytes: u64 = raw_archive
        .list("events/")
        .await
        .expect("listed")
        .iter()
        .map(|o| o.size)
        .sum();
    let started = Instant::now();
    let built =
        analytics::tables::build_day(&raw_archive, &stack.s3(), OffsetDateTime::now_utc().date())
            .await
            .expect("tables");
    let tables_seconds = started.elapsed().as_secs_f64();

    let ratios: Vec<f64> = replay.iter().zip(&raw).map(|(r, w)| r / w).collect();
    println!(
        "archive and replay, {RECORDS} records from {CUSTOMERS} customers a round, {ROUNDS} rounds (median)"
    );
    println!(
        "  raw PutRecords        {:>9.0} records/s  {raw:.0?}",
        median(raw.clone())
    );
    println!(
        "  replay, send          {:>9.0} records/s  {replay:.0?}",
        median(replay.clone())
    );
    println!(
        "  replay / raw          {:>9.1} %          {:.1?}",
        median(ratios.clone()) * 100.0,
        ratios.iter().map(|r| r * 100.0).collect::<Vec<_>>()
    );
    println!(
        "  replay, read window   {:>9.0} records/s  {read:.0?}",
        median(read.clone())
    );
    println!(
        "  archive (Firehose)    {:>9.0} records/s  ({} records, {} objects, {:.2} s)",
        on_stream as f64 / archive_seconds,
        archived.records,
        archived.objects,
        archive_seconds
    );
    println!(
        "  order tables          {:>9.0} records/s  ({} events kept of {} read, {} replayed left out; {:.2} s)",
        built.records as f64 / tables_seconds,
        built.order_events,
        built.records,
        built.duplicates,
        tables_seconds
    );
    println!(
        "  sizes                 raw gzip JSON {} KiB for {} records; Parquet {} KiB for the {} events kept ({:.1}x smaller per event)",
        raw_bytes / 1024,
        on_stream,
        built.bytes / 1024,
        built.order_events,
        (raw_bytes as f64 / on_stream as f64) / (built.bytes as f64 / built.order_events as f64)
    );
}
