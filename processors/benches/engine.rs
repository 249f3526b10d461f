//! The batch engine's own speed, as a bench binary: `cargo bench -p processors --bench engine`.
//!
//! 1. Overhead: a 10,000-record batch of real `order.placed` envelopes from 2,000 customers
//!    through a handler that does nothing, on one core (a current-thread runtime), in records/s.
//! 2. Per-customer concurrency: 1,000 records from 200 customers through a handler that waits
//!    5 ms (a downstream call), run in sequence and with the default concurrency, in one run;
//!    the ratio is what the concurrency buys.
//!
//! Figures and what they mean: docs/performance.md.

use std::time::{Duration, Instant};

use ingest::envelope::Envelope;
use ingest::order::OrderRequest;
use ingest::producer::Entry;
use processors::batch::{
    BatchConfig, EmitError, Emitter, Engine, Handled, RecordError, RecordHandler,
};
use processors::dead_letter::MemoryDeadLetters;
use processors::failures::MemoryFailureLog;
use processors::record::StreamRecord;
use uuid::Uuid;

const EXAMPLE_ORDER: &str = include_str!("../../ingest/examples/valid/web-two-lines.json");

/// `count` records of real envelopes, spread round-robin over `customers` partition keys.
fn batch(count: usize, customers: usize) -> Vec<StreamRecord> {
    let template: OrderRequest = serde_json::from_str(EXAMPLE_ORDER).expect("example order");
    (0..count)
        .map(|i| {
            let customer = format!("customer-{}", i % customers);
            let mut request = template.clone();
            request.order_id = Uuid::new_v4();
            let order = request.into_placed(&customer).expect("valid example");
            let envelope = Envelope::order_placed(
                order,
                Uuid::new_v4().to_string(),
                time::OffsetDateTime::now_utc(),
            );
            StreamRecord {
                shard_id: "shardId-000000000000".into(),
                sequence_number: format!("{:056}", i),
                partition_key: customer,
                data: envelope.to_bytes().into(),
                arrived_at: time::OffsetDateTime::now_utc(),
            }
        })
        .collect()
}

struct Noop;

/// The handlers here emit nothing, so nothing reaches this.
struct Nowhere;

impl Emitter for Nowhere {
    async fn emit(&self, _events: Vec<Entry>) -> Result<(), EmitError> {
        Ok(())
    }
}

impl RecordHandler for Noop {
    async fn handle(&self, _record: &StreamRecord) -> Result<Handled, RecordError> {
        Ok(Handled::Done)
    }
}

/// A downstream call that takes the given time and always succeeds.
struct Downstream(Duration);

impl RecordHandler for Downstream {
    async fn handle(&self, _record: &StreamRecord) -> Result<Handled, RecordError> {
        tokio::time::sleep(self.0).await;
        Ok(Handled::Done)
    }
}

/// `handler` in the engine, with nothing behind it: the handlers here never fail or emit.
fn engine<H: RecordHandler>(
    handler: H,
    config: BatchConfig,
) -> Engine<H, Nowhere, MemoryDeadLetters, MemoryFailureLog> {
    Engine {
        consumer: "bench".into(),
        stream: "orders".into(),
        handler,
        emitter: Nowhere,
        dead_letters: MemoryDeadLetters::default(),
        failures: MemoryFailureLog::default(),
        config,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");

    let records = batch(10_000, 2_000);
    let noop = engine(Noop, BatchConfig::default());
    let mut rates = Vec::new();
    for _ in 0..11 {
        let started = Instant::now();
        let outcome = runtime.block_on(noop.process_batch(&records));
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(outcome.handled, records.len());
        rates.push(records.len() as f64 / seconds);
    }
    println!(
        "engine overhead, 10,000 records, 2,000 customers, no-op handler, one core: {:.0} records/s (median of 11)",
        median(rates)
    );

    let records = batch(1_000, 200);
    let timed = |config: BatchConfig| {
        let downstream = engine(Downstream(Duration::from_millis(5)), config);
        let started = Instant::now();
        let outcome = runtime.block_on(downstream.process_batch(&records));
        assert_eq!(outcome.handled, records.len());
        started.elapsed().as_secs_f64()
    };
    let sequential = timed(BatchConfig {
        max_concurrent_keys: 1,
        ..Default::default()
    });
    let concurrent = timed(BatchConfig::default());
    println!(
        "1,000 records, 200 customers, 5 ms per record: in sequence {sequential:.2} s, \
         {} keys at once {concurrent:.3} s, ratio {:.0}x",
        BatchConfig::default().max_concurrent_keys,
        sequential / concurrent
    );
}
