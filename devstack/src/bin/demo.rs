//! `demo`: a sale-event burst through the whole local pipeline, ending in a summary.
//!
//! Starts the local stack and the downstream stand-ins, then the `gateway` and the four
//! consumers (`consumer materialiser|inventory|fulfilment|accounting`) as their own processes,
//! sends a burst of orders from many customers through the gateway (some of them deliberately
//! bad, some retried, wholesale ones in batches, some with an SKU out of stock), takes the
//! fulfilment service down for a few seconds halfway, waits until every accepted order is
//! through the saga, checks the stand-ins' effect ledger against the orders' statuses, prints a
//! summary and writes it to `out/demo-summary.json`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use devstack::client;
use devstack::downstream::{self, Kind};
use devstack::pipeline::{LocalPipeline, PipelineOptions};
use devstack::sample::{self, BadInput};
use devstack::{KinesisEngine, LocalStack, inspect, workspace_binary};
use futures::StreamExt;
use ingest::auth::TokenIssuer;
use ingest::order::{Channel, OrderRequest};
use processors::redrive::{DeadLetterBucket, Selection};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::process::Command;
use uuid::Uuid;

#[derive(Parser)]
#[command(about = "Send a sale-event burst through the local pipeline and summarise what happened")]
struct Args {
    /// Orders to send, single and batched, bad ones included. The default is more than the
    /// stream's 4 shards take in a second, so that the shard limits throttle some.
    #[arg(long, default_value_t = 10_000)]
    orders: usize,
    /// Distinct customers placing them.
    #[arg(long, default_value_t = 1_000)]
    customers: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Give up waiting for the pipeline to drain after this many seconds.
    #[arg(long, default_value_t = 300)]
    drain_timeout: u64,
    #[arg(long, default_value = "out")]
    out_dir: PathBuf,
    /// Seconds the fulfilment stand-in is down, starting halfway through the burst.
    #[arg(long, default_value_t = 3)]
    outage_seconds: u64,
    /// Let each shard take writes as fast as the engine can, instead of AWS's 1,000 records/s
    /// or 1 MB/s (ferrokinesis; kinesis-mock, chosen with DEVSTACK_KINESIS_ENGINE, has none).
    #[arg(long)]
    no_shard_limits: bool,
}

/// One request of the burst.
enum Shot {
    Order {
        customer: String,
        order: OrderRequest,
    },
    Bad {
        customer: String,
        kind: BadInput,
        order: OrderRequest,
    },
    Batch {
        customer: String,
        orders: Vec<OrderRequest>,
    },
}

impl Tally {
    fn accept(&mut self, order_id: Uuid) {
        self.accepted.push(order_id);
        self.accepted_at
            .entry(order_id)
            .or_insert_with(OffsetDateTime::now_utc);
    }
}

/// What the burst got back.
#[derive(Default)]
struct Tally {
    accepted: Vec<Uuid>,
    /// When each accepted order was first answered 202, for the latency to completion.
    accepted_at: HashMap<Uuid, OffsetDateTime>,
    rejected: BTreeMap<String, usize>,
    /// Bad input that was not answered with its expected status: must stay 0.
    unexpected: Vec<String>,
    retries_after_throttling: usize,
    /// Batch entries the stream refused (a `PutRecords` partial failure) and the demo resent.
    batch_entries_resent: usize,
}

#[derive(Serialize)]
struct Summary {
    sent: usize,
    accepted: usize,
    accepted_unique: usize,
    duplicates_sent: usize,
    rejected: usize,
    rejected_by_reason: BTreeMap<String, usize>,
    unexpected_answers: usize,
    retries_after_throttling: usize,
    batch_entries_resent: usize,
    materialised: usize,
    missing: usize,
    /// Records the consumers gave up on and kept in the dead-letter bucket.
    dead_letters: usize,
    /// Unique accepted orders by final status (completed, rejected, released, failed), and
    /// those still on their way when the drain timed out (`unfinished`).
    statuses: BTreeMap<String, usize>,
    /// Orders that did not complete, by status and the service's reason.
    reasons: BTreeMap<String, BTreeMap<String, usize>>,
    unfinished: usize,
    /// Effects the stand-ins performed, per kind, and what the statuses say they should be.
    effects: BTreeMap<String, usize>,
    expected_effects: BTreeMap<String, usize>,
    /// More than one effect of a kind for one order: must stay 0.
    duplicate_effects: usize,
    /// Records on the stream at the end (orders and lifecycle events), their data bytes and the
    /// sizes AWS bills: what the cost model counts per order.
    stream: inspect::StreamTotals,
    /// What the archive's Firehose stand-in wrote to S3: must be every stream record.
    archived: devstack::archive::Totals,
    /// The analyst tables built from the archive, and the named queries run over them.
    analytics: AnalystView,
    /// Per consumer, from its log: DynamoDB write units (its batches' `WriteCapacityUnits`),
    /// batches (what a Lambda invocation is on AWS), and log bytes.
    consumers: BTreeMap<String, ConsumerCounts>,
    /// Seconds the fulfilment stand-in was down during the burst.
    outage_seconds: u64,
    /// From the 202 to `order.accounted`, for completed orders: p50, p95, p99, max (ms).
    latency_to_completed_ms: BTreeMap<String, u64>,
    customers: usize,
    kinesis_engine: String,
    shard_limits: bool,
    send_seconds: f64,
    drain_seconds: f64,
    total_seconds: f64,
    /// Unique accepted orders per second, from the first request to the last order through the
    /// saga (or the drain timeout).
    throughput: f64,
    gateway_peak_rss_mib: Option<f64>,
    materialiser_peak_rss_mib: Option<f64>,
}

/// What the analysts see: `order-tables` over the archive, then named queries with DataFusion.
#[derive(Serialize, Default)]
struct AnalystView {
    /// What `order-tables` built (per date).
    tables: Value,
    /// Each query's rows, time and Parquet bytes scanned, by name.
    queries: BTreeMap<String, QueryRun>,
}

#[derive(Serialize, Default)]
struct QueryRun {
    rows: Vec<Value>,
    elapsed_ms: f64,
    bytes_scanned: u64,
}

/// The named queries the demo runs: every one (`customer_history` for the first customer).
const DEMO_QUERIES: [&str; 6] = [
    "lifecycle_funnel",
    "orders_per_hour",
    "top_skus",
    "time_to_step",
    "rejections_and_failures",
    "customer_history",
];

/// Builds the analyst tables of the burst's date and runs the named queries over them, as the
/// tools `order-tables` and `query` (the binaries an analyst runs) do.
async fn analyst_view(stack: &LocalStack) -> anyhow::Result<AnalystView> {
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let tables = run_tool(stack, "order-tables", &["--date", &today, "--json"]).await?;
    let customer = sample::customer_id(0);
    let mut queries = BTreeMap::new();
    for name in DEMO_QUERIES {
        let mut args = vec![name, "--from-date", &today, "--json"];
        if name == "customer_history" {
            args.extend(["--param", &customer]);
        }
        let dates = if name == "time_to_step" { 4 } else { 2 };
        for _ in 0..dates {
            args.extend(["--param", &today]);
        }
        let mut lines = run_tool(stack, "query", &args).await?;
        let summary = lines.pop().unwrap_or_default();
        queries.insert(
            name.to_owned(),
            QueryRun {
                rows: lines,
                elapsed_ms: summary["elapsedMs"].as_f64().unwrap_or_default(),
                bytes_scanned: summary["bytesScanned"].as_u64().unwrap_or_default(),
            },
        );
    }
    Ok(AnalystView {
        tables: tables.into_iter().next().unwrap_or_default(),
        queries,
    })
}

/// Runs a workspace tool against the stack; its standard output as JSON lines.
async fn run_tool(stack: &LocalStack, binary: &str, args: &[&str]) -> anyhow::Result<Vec<Value>> {
    let output = Command::new(workspace_binary(binary))
        .args(args)
        .envs(stack.env())
        .output()
        .await
        .with_context(|| {
            format!("running {binary} (build it first: cargo build --release --bins)")
        })?;
    if !output.status.success() {
        bail!(
            "{binary} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).with_context(|| format!("{binary}: {line}")))
        .collect()
}

/// What one consumer's log says it did, for the cost model.
#[derive(Serialize, Default, Clone, Copy)]
struct ConsumerCounts {
    write_units: f64,
    batches: usize,
    /// The batches' `BatchDuration` added up: what Lambda would bill as duration.
    batch_ms: f64,
    log_bytes: u64,
}

/// Reads a consumer's log: every metrics line (EMF) is one batch; its `WriteCapacityUnits` add
/// up to the write units the consumer consumed. Lines that are not JSON are counted as bytes
/// only.
fn consumer_counts(log: &Path) -> anyhow::Result<ConsumerCounts> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    let mut counts = ConsumerCounts {
        log_bytes: text.len() as u64,
        ..ConsumerCounts::default()
    };
    for line in text.lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if value.get("_aws").is_some() {
            counts.batches += 1;
            counts.write_units += value["WriteCapacityUnits"].as_f64().unwrap_or(0.0);
            counts.batch_ms += value["BatchDuration"].as_f64().unwrap_or(0.0);
        }
    }
    Ok(counts)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // On Ctrl-C or SIGTERM the burst is dropped, and with it the child processes and the
    // stack's engines: nothing is left running.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = run(args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = terminate.recv() => bail!("terminated"),
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let engine = KinesisEngine::from_env();
    // AWS's write limits per shard, so that throttling (429) and PutRecords partial failures
    // happen here as they would in a sale; kinesis-mock has none.
    let shard_limits = engine == KinesisEngine::Ferrokinesis && !args.no_shard_limits;
    println!(
        "Starting the local stack (Kinesis on {engine} with {} shards{}, DynamoDB, S3)...",
        devstack::DEFAULT_SHARDS,
        if shard_limits {
            " limited to 1,000 records/s or 1 MB/s each"
        } else {
            ", no write limits"
        }
    );
    // The downstream services take a few milliseconds each and have a limited edition out of
    // stock; the archive's Firehose delivery stream buffers as the Pulumi program's does, so the
    // whole burst fits one buffer, written when the demo stops it.
    let mut pipeline = LocalPipeline::start(PipelineOptions::sale(
        engine,
        shard_limits,
        args.out_dir.clone(),
    ))
    .await?;
    let gateway_url = pipeline.gateway_url.clone();
    let logs = pipeline.logs.clone();
    let http = reqwest::Client::new();
    println!(
        "Gateway on {gateway_url}; materialiser, inventory, fulfilment and accounting subscribed; \
         downstream stand-ins on {}; logs in {}",
        pipeline.stand_ins.url,
        logs.display()
    );

    let mut rng = StdRng::seed_from_u64(args.seed);
    let shots = plan(&mut rng, args.orders, args.customers);
    let tokens = Arc::new(TokenIssuer::hs256(&pipeline.stack.jwt_secret));
    println!(
        "Sending {} orders from {} customers, {} at a time...",
        args.orders, args.customers, args.concurrency
    );

    let started = Instant::now();
    let halfway = shots.len() / 2;
    let outage = format!("{}/_control/fulfilment/outage", pipeline.stand_ins.url);
    let answers: Vec<Tally> = futures::stream::iter(shots.into_iter().enumerate())
        .map(|(index, shot)| {
            let (http, outage, gateway_url, tokens) = (&http, &outage, &gateway_url, &tokens);
            async move {
                if index == halfway && args.outage_seconds > 0 {
                    // A fulfilment outage in the middle of the sale: its stage retries, and
                    // every order still completes once it is back.
                    let body = json!({ "seconds": args.outage_seconds });
                    if let Err(error) = http.post(outage).json(&body).send().await {
                        eprintln!("could not start the fulfilment outage: {error}");
                    }
                }
                send(http, gateway_url, tokens, shot).await
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let send_seconds = started.elapsed().as_secs_f64();
    let mut tally = Tally::default();
    for answer in answers {
        tally.accepted.extend(answer.accepted);
        for (order_id, at) in answer.accepted_at {
            let first = tally.accepted_at.entry(order_id).or_insert(at);
            *first = (*first).min(at);
        }
        for (reason, n) in answer.rejected {
            *tally.rejected.entry(reason).or_default() += n;
        }
        tally.unexpected.extend(answer.unexpected);
        tally.retries_after_throttling += answer.retries_after_throttling;
        tally.batch_entries_resent += answer.batch_entries_resent;
    }
    let unique: Vec<Uuid> = tally
        .accepted
        .iter()
        .copied()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let duplicates_sent = tally.accepted.len() - unique.len();

    println!("Sent in {send_seconds:.2} s; waiting for the pipeline to drain...");
    let dynamodb = pipeline.stack.dynamodb();
    let drain_started = Instant::now();
    let mut missing = unique.clone();
    while !missing.is_empty() && drain_started.elapsed() < Duration::from_secs(args.drain_timeout) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        missing = inspect::missing_orders(&dynamodb, &pipeline.stack.names.orders_table, &missing)
            .await?;
    }
    // Then until every order is through the saga.
    let mut states = inspect::order_states(&dynamodb, &pipeline.stack.names.orders_table).await?;
    let unfinished = |states: &HashMap<String, inspect::OrderState>| {
        unique
            .iter()
            .filter(|id| {
                states
                    .get(&id.to_string())
                    .is_none_or(|s| !inspect::FINAL_STATUSES.contains(&s.status.as_str()))
            })
            .count()
    };
    while unfinished(&states) > 0
        && drain_started.elapsed() < Duration::from_secs(args.drain_timeout)
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
        states = inspect::order_states(&dynamodb, &pipeline.stack.names.orders_table).await?;
    }
    let drain_seconds = drain_started.elapsed().as_secs_f64();
    let saga = saga_summary(
        &unique,
        &tally.accepted_at,
        &states,
        &pipeline.stand_ins.ledger(),
    );
    let stream =
        inspect::stream_totals(&pipeline.stack.kinesis(), &pipeline.stack.names.stream).await?;
    let archived = pipeline.stop_archive().await;
    let total_seconds = started.elapsed().as_secs_f64();
    let analytics = analyst_view(&pipeline.stack).await?;
    let materialised = inspect::count_items(&dynamodb, &pipeline.stack.names.orders_table).await?;
    let dead_letters = DeadLetterBucket::new(
        pipeline.stack.s3(),
        &pipeline.stack.names.dead_letter_bucket,
    )
    .letters(&Selection::default())
    .await?
    .len();

    let gateway_peak_rss_mib = pipeline.peak_rss_mib("gateway");
    let materialiser_peak_rss_mib = pipeline.peak_rss_mib("materialiser");
    pipeline.stop_processes().await;

    let mut consumers = BTreeMap::new();
    for name in ["materialiser", "inventory", "fulfilment", "accounting"] {
        consumers.insert(name.to_owned(), consumer_counts(&pipeline.log(name))?);
    }

    let rejected = tally.rejected.values().sum();
    let summary = Summary {
        sent: args.orders,
        accepted: tally.accepted.len(),
        accepted_unique: unique.len(),
        duplicates_sent,
        rejected,
        rejected_by_reason: tally.rejected,
        unexpected_answers: tally.unexpected.len(),
        retries_after_throttling: tally.retries_after_throttling,
        batch_entries_resent: tally.batch_entries_resent,
        materialised,
        missing: missing.len(),
        dead_letters,
        unfinished: unfinished(&states),
        statuses: saga.statuses,
        reasons: saga.reasons,
        effects: saga.effects,
        expected_effects: saga.expected_effects,
        duplicate_effects: saga.duplicate_effects,
        stream,
        archived,
        analytics,
        consumers,
        outage_seconds: args.outage_seconds,
        latency_to_completed_ms: saga.latency_ms,
        customers: args.customers,
        kinesis_engine: engine.to_string(),
        shard_limits,
        send_seconds,
        drain_seconds,
        total_seconds,
        throughput: unique.len() as f64 / (send_seconds + drain_seconds),
        gateway_peak_rss_mib,
        materialiser_peak_rss_mib,
    };
    print_summary(&summary);
    for problem in tally.unexpected.iter().take(5) {
        println!("  unexpected: {problem}");
    }
    let path = args.out_dir.join("demo-summary.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)?;
    println!("Summary written to {}", path.display());
    if summary.missing > 0
        || summary.unfinished > 0
        || summary.duplicate_effects > 0
        || summary.effects != summary.expected_effects
        || summary.dead_letters > 0
        || summary.unexpected_answers > 0
        || summary.materialised != summary.accepted_unique
        || summary.archived.records != summary.stream.records
        || funnel(&summary.analytics, "order.placed") != summary.accepted_unique
        || funnel(&summary.analytics, "order.accounted")
            != summary
                .statuses
                .get("completed")
                .copied()
                .unwrap_or_default()
    {
        bail!("the pipeline lost or mishandled orders: see the summary above");
    }
    Ok(())
}

/// Orders of the funnel query's `event_type` row.
fn funnel(view: &AnalystView, event_type: &str) -> usize {
    view.queries
        .get("lifecycle_funnel")
        .and_then(|q| q.rows.iter().find(|r| r["event_type"] == event_type))
        .and_then(|r| r["orders"].as_u64())
        .unwrap_or_default() as usize
}

fn print_analyst_view(view: &AnalystView) {
    let tables = view.tables.as_array().and_then(|days| days.first());
    if let Some(day) = tables {
        println!(
            "  analyst tables       {} order events, {} order lines in {} KiB of Parquet (order-tables)",
            day["orderEvents"],
            day["orderLines"],
            day["bytes"].as_u64().unwrap_or_default() / 1024
        );
    }
    let rows = |name: &str| {
        view.queries
            .get(name)
            .map(|q| q.rows.as_slice())
            .unwrap_or(&[])
    };
    println!("  lifecycle funnel     (query lifecycle_funnel)");
    for row in rows("lifecycle_funnel") {
        println!(
            "    {:<34} {:>6}",
            row["event_type"].as_str().unwrap_or_default(),
            row["orders"]
        );
    }
    println!("  time to step         p50 / p95 / p99 ms after the 202 (query time_to_step)");
    for row in rows("time_to_step") {
        let ms = |name: &str| row[name].as_f64().unwrap_or_default();
        println!(
            "    {:<34} {:>6.0} / {:>6.0} / {:>6.0}",
            row["event_type"].as_str().unwrap_or_default(),
            ms("p50_ms"),
            ms("p95_ms"),
            ms("p99_ms")
        );
    }
    println!("  top SKUs             units, orders (query top_skus)");
    for row in rows("top_skus").iter().take(3) {
        println!(
            "    {:<34} {:>6} {:>6}",
            format!(
                "{} ({})",
                row["sku"].as_str().unwrap_or_default(),
                row["currency"].as_str().unwrap_or_default()
            ),
            row["units"],
            row["orders"]
        );
    }
    println!("  named queries        ms, Parquet bytes scanned (DataFusion, local)");
    for (name, run) in &view.queries {
        println!(
            "    {name:<26} {:>8.1} ms {:>9} B",
            run.elapsed_ms, run.bytes_scanned
        );
    }
}

/// What the saga did with the burst.
struct SagaSummary {
    statuses: BTreeMap<String, usize>,
    reasons: BTreeMap<String, BTreeMap<String, usize>>,
    effects: BTreeMap<String, usize>,
    expected_effects: BTreeMap<String, usize>,
    duplicate_effects: usize,
    latency_ms: BTreeMap<String, u64>,
}

fn saga_summary(
    unique: &[Uuid],
    accepted_at: &HashMap<Uuid, OffsetDateTime>,
    states: &HashMap<String, inspect::OrderState>,
    ledger: &downstream::Ledger,
) -> SagaSummary {
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut latency = hdrhistogram::Histogram::<u64>::new(3)
        .unwrap_or_else(|e| unreachable!("3 significant figures is valid: {e}"));
    for id in unique {
        let Some(state) = states.get(&id.to_string()) else {
            continue;
        };
        *statuses.entry(state.status.clone()).or_default() += 1;
        if state.status != "completed" {
            let reason = state
                .reason
                .clone()
                .unwrap_or_else(|| "no reason given".into());
            *reasons
                .entry(state.status.clone())
                .or_default()
                .entry(reason)
                .or_default() += 1;
        }
        if let (Some(done), Some(accepted)) = (state.completed_at, accepted_at.get(id)) {
            let ms = (done - *accepted).whole_milliseconds().max(0);
            let _ = latency.record(u64::try_from(ms).unwrap_or(u64::MAX));
        }
    }
    let count = |status: &str| statuses.get(status).copied().unwrap_or(0);
    let effects = Kind::ALL
        .into_iter()
        .map(|kind| (format!("{kind:?}").to_lowercase(), ledger.count(kind)))
        .collect();
    // Every order reserved is either completed or released; only completed ones are shipped
    // and booked (no stage fails for good in the demo, so none is failed).
    let expected_effects = [
        ("reservation", count("completed") + count("released")),
        ("release", count("released")),
        ("shipment", count("completed")),
        ("sale", count("completed")),
    ]
    .into_iter()
    .map(|(kind, n)| (kind.to_owned(), n))
    .collect();
    let latency_ms = [("p50", 50.0), ("p95", 95.0), ("p99", 99.0), ("max", 100.0)]
        .into_iter()
        .map(|(name, q)| (name.to_owned(), latency.value_at_percentile(q)))
        .collect();
    SagaSummary {
        statuses,
        reasons,
        effects,
        expected_effects,
        duplicate_effects: ledger.duplicates.len(),
        latency_ms,
    }
}

/// The burst: mostly valid single orders, bad input of every kind, wholesale batches, and
/// retries of orders already sent (the same order id, so the same order).
fn plan(rng: &mut StdRng, orders: usize, customers: usize) -> Vec<Shot> {
    let mut shots = Vec::new();
    let mut retries = Vec::new();
    let mut planned = 0;
    let mut bad_kinds = BadInput::ALL.iter().cycle();
    while planned < orders {
        let customer = sample::customer_id(rng.random_range(0..customers));
        let roll: f64 = rng.random();
        if roll < 0.05 && orders - planned >= 10 {
            let orders = (0..10)
                .map(|_| sample::order(rng, Channel::Wholesale))
                .collect();
            shots.push(Shot::Batch { customer, orders });
            planned += 10;
        } else if roll < 0.12 {
            let kind = *bad_kinds.next().unwrap_or(&BadInput::WrongTotal);
            shots.push(Shot::Bad {
                customer,
                kind,
                order: sample::order(rng, Channel::Web),
            });
            planned += 1;
        } else if roll < 0.16 && !retries.is_empty() {
            let (customer, order): (String, OrderRequest) =
                retries.swap_remove(rng.random_range(0..retries.len()));
            shots.push(Shot::Order { customer, order });
            planned += 1;
        } else {
            let channel = if rng.random_bool(0.6) {
                Channel::Web
            } else {
                Channel::Mobile
            };
            let order = sample::order(rng, channel);
            retries.push((customer.clone(), order.clone()));
            shots.push(Shot::Order { customer, order });
            planned += 1;
        }
    }
    shots
}

async fn send(http: &reqwest::Client, gateway: &str, tokens: &TokenIssuer, shot: Shot) -> Tally {
    let mut tally = Tally::default();
    match shot {
        Shot::Order { customer, order } => {
            let body = serde_json::to_vec(&sample::to_json(&order)).unwrap_or_default();
            let (status, answer) = post(
                http,
                &format!("{gateway}/orders"),
                Some(&tokens.token(&customer, 600)),
                "application/json",
                body,
                &mut tally,
            )
            .await;
            if status == 202 {
                tally.accept(order.order_id);
            } else {
                tally
                    .unexpected
                    .push(format!("valid order answered {status}: {answer}"));
            }
        }
        Shot::Bad {
            customer,
            kind,
            order,
        } => {
            let token = (kind != BadInput::NoToken).then(|| tokens.token(&customer, 600));
            let content_type = if kind == BadInput::WrongContentType {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            let (status, answer) = post(
                http,
                &format!("{gateway}/orders"),
                token.as_deref(),
                content_type,
                kind.body(&order),
                &mut tally,
            )
            .await;
            if status == kind.expected_status() {
                *tally
                    .rejected
                    .entry(format!(
                        "{status} {}",
                        answer["type"].as_str().unwrap_or("?")
                    ))
                    .or_default() += 1;
            } else {
                tally
                    .unexpected
                    .push(format!("{kind:?} answered {status}: {answer}"));
            }
        }
        Shot::Batch { customer, orders } => {
            let answer =
                client::post_batch(http, gateway, &tokens.token(&customer, 600), orders).await;
            for order_id in answer.accepted {
                tally.accept(order_id);
            }
            tally.batch_entries_resent += answer.resent;
            tally.retries_after_throttling += answer.throttled as usize;
            tally.unexpected.extend(answer.problems);
            if answer.gave_up > 0 {
                tally.unexpected.push(format!(
                    "{} batch entries still refused after {} attempts",
                    answer.gave_up,
                    client::ATTEMPTS
                ));
            }
        }
    }
    tally
}

/// POSTs as a well-behaved client does ([`devstack::client::post`]), counting the throttling.
async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
    tally: &mut Tally,
) -> (u16, Value) {
    let answer = client::post(http, url, token, content_type, body).await;
    tally.retries_after_throttling += answer.throttled as usize;
    (answer.status, answer.body)
}

fn print_summary(s: &Summary) {
    println!();
    println!("Sale-event burst through the local pipeline");
    println!(
        "  Kinesis engine      {}, shard limits {}",
        s.kinesis_engine,
        if s.shard_limits { "on" } else { "off" }
    );
    println!(
        "  sent                {:>8}  orders from {} customers",
        s.sent, s.customers
    );
    println!(
        "  accepted            {:>8}  ({} unique orders, {} retries of the same order)",
        s.accepted, s.accepted_unique, s.duplicates_sent
    );
    println!("  rejected            {:>8}", s.rejected);
    for (reason, n) in &s.rejected_by_reason {
        println!("    {reason:<36} {n:>6}");
    }
    println!(
        "  throttled, retried  {:>8}  (429 answers, sent again after Retry-After)",
        s.retries_after_throttling
    );
    println!(
        "  batch entries resent{:>8}  (refused by a full shard inside a 200 batch answer)",
        s.batch_entries_resent
    );
    println!(
        "  materialised        {:>8}  orders in DynamoDB",
        s.materialised
    );
    println!("  missing             {:>8}", s.missing);
    println!(
        "  dead letters        {:>8}  (records given up on; `redrive list` shows them)",
        s.dead_letters
    );
    println!(
        "  saga                          (fulfilment down {} s halfway)",
        s.outage_seconds
    );
    for (status, n) in &s.statuses {
        println!("    {status:<34} {n:>6}");
        for (reason, n) in s.reasons.get(status).into_iter().flatten() {
            println!("      {reason:<32} {n:>6}");
        }
    }
    println!("    {:<34} {:>6}", "unfinished", s.unfinished);
    println!("  downstream effects            (performed / expected from the statuses)");
    for (kind, n) in &s.effects {
        let expected = s.expected_effects.get(kind).copied().unwrap_or(0);
        println!("    {kind:<26} {n:>6} / {expected:<6}");
    }
    println!("  duplicate effects   {:>8}", s.duplicate_effects);
    let per_order = |n: usize| n as f64 / (s.accepted_unique.max(1)) as f64;
    println!(
        "  stream records      {:>8}  ({:.2} per unique order, {:.0} bytes each on average)",
        s.stream.records,
        per_order(s.stream.records),
        s.stream.bytes as f64 / s.stream.records.max(1) as f64
    );
    println!(
        "  archived            {:>8}  records in {} gzipped object(s) under events/ in S3",
        s.archived.records, s.archived.objects
    );
    println!(
        "  billed KiB per order{:>8.2}  in (1 KiB per record), {:.2} Firehose (5 KiB per record)",
        per_order(s.stream.billed_kib),
        per_order(s.stream.firehose_billed_kib)
    );
    println!("  per unique order     DynamoDB write units, batches (ms each), log bytes");
    let orders = s.accepted_unique.max(1) as f64;
    let mut total = ConsumerCounts::default();
    for (name, counts) in &s.consumers {
        println!(
            "    {name:<18} {:>6.2} WRU {:>6.2} batches ({:>4.0} ms) {:>6.0} B",
            counts.write_units / orders,
            counts.batches as f64 / orders,
            counts.batch_ms / counts.batches.max(1) as f64,
            counts.log_bytes as f64 / orders
        );
        total.write_units += counts.write_units;
        total.batches += counts.batches;
        total.batch_ms += counts.batch_ms;
        total.log_bytes += counts.log_bytes;
    }
    println!(
        "    {:<18} {:>6.2} WRU {:>6.2} batches ({:>4.0} ms) {:>6.0} B",
        "all four",
        total.write_units / orders,
        total.batches as f64 / orders,
        total.batch_ms / total.batches.max(1) as f64,
        total.log_bytes as f64 / orders
    );
    let ms = |name: &str| s.latency_to_completed_ms.get(name).copied().unwrap_or(0);
    println!(
        "  202 -> completed    p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
        ms("p50"),
        ms("p95"),
        ms("p99"),
        ms("max")
    );
    print_analyst_view(&s.analytics);
    println!("  time to send        {:>8.2} s", s.send_seconds);
    println!(
        "  time to drain       {:>8.2} s  (after the last answer)",
        s.drain_seconds
    );
    println!(
        "  throughput          {:>8.0} orders/s  (first request to the last order through the saga)",
        s.throughput
    );
    let mib = |v: Option<f64>| v.map_or("?".to_owned(), |v| format!("{v:.0}"));
    println!(
        "  peak memory         gateway {} MiB, materialiser {} MiB",
        mib(s.gateway_peak_rss_mib),
        mib(s.materialiser_peak_rss_mib)
    );
}
