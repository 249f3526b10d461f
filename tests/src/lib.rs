//! Test support: a local stack with the gateway served in-process, helpers to read back what
//! the pipeline did, and a stand-in for the Lambda Runtime API.

pub mod runtime_api;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::types::{Record, ShardIteratorType};
use devstack::archive::{Archive, ArchiveConfig};
use devstack::{LocalStack, StackOptions, inspect, workspace_binary};
use ingest::auth::{TokenIssuer, TokenVerifier};
use ingest::config::consumers;
use ingest::gateway::{Gateway, router};
use ingest::order::OrderRequest;
use ingest::producer::Producer;
use ingest::query::DynamoOrderReader;
use processors::batch::{BatchConfig, Emitter, Engine, RecordHandler};
use processors::dead_letter::{DeadLetters, S3DeadLetters};
use processors::failures::{DynamoFailureLog, FailureLog};
use processors::host::AwsEngine;
use processors::host::efo::{EfoConfig, EfoHost};
use processors::lease::{Checkpoint, LeaseTable};
use processors::materialiser::Materialiser;
use processors::redrive::{DeadLetterBucket, Letter, Selection};
use processors::store::DynamoOrderStore;
use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use uuid::Uuid;

/// The lease of the workers the tests run in their own process: short, so that a test that
/// stops one and starts another does not wait long.
pub const TEST_LEASE: Duration = Duration::from_secs(3);

/// A local stack with the gateway running in this process.
pub struct TestPipeline {
    pub stack: LocalStack,
    pub gateway_url: String,
    pub tokens: TokenIssuer,
    pub http: reqwest::Client,
}

/// An HTTP answer: status, headers, JSON body (`Null` if none).
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestPipeline {
    pub async fn start() -> Self {
        Self::with_options(StackOptions::default()).await
    }

    pub async fn with_options(options: StackOptions) -> Self {
        let stack = LocalStack::start(options)
            .await
            .expect("local stack starts");
        let gateway_url = serve_gateway(
            Producer::new(stack.kinesis(), stack.names.stream.clone()),
            DynamoOrderReader::new(stack.dynamodb(), &stack.names.orders_table),
            &stack.jwt_secret,
        )
        .await;
        let tokens = TokenIssuer::hs256(&stack.jwt_secret);
        Self {
            stack,
            gateway_url,
            tokens,
            http: reqwest::Client::new(),
        }
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        post(
            &self.http,
            &format!("{}{path}", self.gateway_url),
            token,
            content_type,
            body,
        )
        .await
    }

    /// POSTs a valid order as `customer`.
    pub async fn post_order(&self, customer: &str, order: &OrderRequest) -> Answer {
        let body = serde_json::to_vec(order).expect("order serialises");
        self.post(
            "/orders",
            Some(&self.tokens.token(customer, 600)),
            "application/json",
            body,
        )
        .await
    }

    /// `POST /orders:batch` with `orders` as `customer`.
    pub async fn post_batch(&self, customer: &str, orders: &[Value]) -> Answer {
        let body =
            serde_json::to_vec(&serde_json::json!({ "orders": orders })).expect("batch serialises");
        self.post(
            "/orders:batch",
            Some(&self.tokens.token(customer, 600)),
            "application/json",
            body,
        )
        .await
    }

    /// POSTs `count` sample web orders from `customers` customers (seeded), 16 at a time, and
    /// checks each was accepted; returns each order with its customer.
    pub async fn burst(
        &self,
        seed: u64,
        count: usize,
        customers: usize,
    ) -> Vec<(String, OrderRequest)> {
        use futures::StreamExt;
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let orders: Vec<(String, OrderRequest)> = (0..count)
            .map(|_| {
                let customer = devstack::sample::customer_id(rng.random_range(0..customers));
                let order = devstack::sample::order(&mut rng, ingest::order::Channel::Web);
                (customer, order)
            })
            .collect();
        let answers: Vec<u16> = futures::stream::iter(orders.iter())
            .map(|(customer, order)| async move { self.post_order(customer, order).await.status })
            .buffered(16)
            .collect()
            .await;
        assert!(
            answers.iter().all(|status| *status == 202),
            "every valid order is accepted"
        );
        orders
    }

    /// Every record on every shard of the orders stream.
    pub async fn stream_records(&self) -> Vec<Record> {
        read_stream(&self.stack.kinesis(), &self.stack.names.stream).await
    }

    /// The materialiser on this stack's orders table.
    pub fn materialiser(&self) -> Materialiser<DynamoOrderStore> {
        Materialiser::new(DynamoOrderStore::new(
            self.stack.dynamodb(),
            &self.stack.names.orders_table,
        ))
    }

    /// Runs the materialiser in this process until the returned sender is sent `true`.
    pub fn start_materialiser(&self) -> watch::Sender<bool> {
        self.start_host(self.materialiser())
    }

    /// Puts `data` on the stream under `partition_key` with the SDK, past the gateway.
    pub async fn put_record(&self, partition_key: &str, data: Vec<u8>) -> String {
        self.stack
            .kinesis()
            .put_record()
            .stream_name(&self.stack.names.stream)
            .partition_key(partition_key)
            .data(aws_sdk_kinesis::primitives::Blob::new(data))
            .send()
            .await
            .expect("PutRecord")
            .sequence_number
    }

    /// Starts the archive's Firehose stand-in on this stack's stream and bucket with `config`
    /// (e.g. [`small_buffer`]).
    pub fn start_archive(&self, config: ArchiveConfig) -> Archive {
        Archive::start(
            self.stack.kinesis(),
            self.stack.s3(),
            &self.stack.names.stream,
            &self.stack.names.archive_bucket,
            config,
        )
        .expect("the Firehose API binds on loopback")
    }

    /// Runs the `redrive` binary against this stack with `args`; its standard output. Panics,
    /// with its standard error, if it fails.
    pub async fn redrive(&self, args: &[&str]) -> String {
        let output = Command::new(workspace_binary("redrive"))
            .args(args)
            .envs(self.stack.env())
            .output()
            .await
            .expect("run `cargo build --bins` first");
        assert!(
            output.status.success(),
            "redrive {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// Every letter in the dead-letter bucket.
    pub async fn dead_letters(&self) -> Vec<Letter> {
        DeadLetterBucket::new(self.stack.s3(), &self.stack.names.dead_letter_bucket)
            .letters(&Selection::default())
            .await
            .expect("dead letters readable")
    }

    /// The engine the hosts run `handler` in, as the materialiser's consumer, on this stack's
    /// stream, dead-letter bucket and failures table.
    pub fn engine<H: RecordHandler>(&self, handler: H, config: BatchConfig) -> AwsEngine<H> {
        self.engine_as(consumers::MATERIALISER, handler, config)
    }

    /// [`Self::engine`] as `consumer`.
    pub fn engine_as<H: RecordHandler>(
        &self,
        consumer: &str,
        handler: H,
        config: BatchConfig,
    ) -> AwsEngine<H> {
        let names = &self.stack.names;
        Engine {
            consumer: consumer.to_owned(),
            stream: names.stream.clone(),
            handler,
            emitter: Producer::new(self.stack.kinesis(), &names.stream).patient(),
            dead_letters: S3DeadLetters::new(self.stack.s3(), &names.dead_letter_bucket),
            failures: DynamoFailureLog::new(self.stack.dynamodb(), &names.failures_table),
            config,
        }
    }

    /// Runs `handler` on the standalone host, as the materialiser's consumer, in this process
    /// until the returned sender is sent `true`.
    pub fn start_host<H: RecordHandler + 'static>(&self, handler: H) -> watch::Sender<bool> {
        self.start_host_with(handler, BatchConfig::default())
    }

    /// [`Self::start_host`] with the engine configured by `config`.
    pub fn start_host_with<H: RecordHandler + 'static>(
        &self,
        handler: H,
        config: BatchConfig,
    ) -> watch::Sender<bool> {
        self.start_engine(self.engine(handler, config))
    }

    /// Runs the saga's three stages in this process, calling the services under `downstream`
    /// (the stand-ins' base URL), with a short retry budget so that tests fail over quickly.
    pub fn start_saga(&self, downstream: &str) -> Vec<watch::Sender<bool>> {
        self.start_saga_with(downstream, BatchConfig::default().max_attempts)
    }

    /// [`Self::start_saga`] with the engine's attempt limit at `max_attempts`.
    pub fn start_saga_with(&self, downstream: &str, max_attempts: u32) -> Vec<watch::Sender<bool>> {
        use ingest::lifecycle::Stage;
        use processors::saga::SagaStage;
        use processors::saga::client::ServiceClient;
        use processors::saga::idempotency::DynamoIdempotency;
        [
            (Stage::Inventory, consumers::INVENTORY),
            (Stage::Fulfilment, consumers::FULFILMENT),
            (Stage::Accounting, consumers::ACCOUNTING),
        ]
        .into_iter()
        .map(|(stage, consumer)| {
            let client = ServiceClient::new(
                stage.name(),
                format!("{downstream}/{}", stage.name()),
                Duration::from_secs(2),
                Duration::from_secs(1),
            )
            .expect("HTTP client");
            let records =
                DynamoIdempotency::new(self.stack.dynamodb(), &self.stack.names.idempotency_table);
            let handler = SagaStage::new(stage, consumer, client, records);
            let config = BatchConfig {
                max_attempts,
                ..BatchConfig::default()
            };
            self.start_engine(self.engine_as(consumer, handler, config))
        })
        .collect()
    }

    /// The lease table of `consumer`, to read (as a worker named `observer`, which holds
    /// nothing).
    pub fn leases(&self, consumer: &str) -> LeaseTable {
        LeaseTable::new(
            self.stack.dynamodb(),
            &self.stack.names.leases_table,
            consumer,
            "observer",
            TEST_LEASE,
        )
    }

    /// The checkpoint of `consumer` on `shard_id`; none yet is the default.
    pub async fn checkpoint(&self, consumer: &str, shard_id: &str) -> Checkpoint {
        self.leases(consumer)
            .load(shard_id)
            .await
            .expect("the lease table")
            .map(|lease| lease.checkpoint)
            .unwrap_or_default()
    }

    /// Runs `engine` on the standalone host, as the only worker of its consumer, in this
    /// process until the returned sender is sent `true`.
    pub fn start_engine<H, E, D, F>(&self, engine: Engine<H, E, D, F>) -> watch::Sender<bool>
    where
        H: RecordHandler + 'static,
        E: Emitter + 'static,
        D: DeadLetters + 'static,
        F: FailureLog + 'static,
    {
        let worker = format!("test-{}", Uuid::new_v4().simple());
        self.start_worker(engine, &worker, TEST_LEASE).0
    }

    /// Runs `engine` on the standalone host as the worker named `worker`, with leases of
    /// `lease`, in this process until the returned sender is sent `true`; the handle ends once
    /// the worker has stopped and released its leases.
    pub fn start_worker<H, E, D, F>(
        &self,
        engine: Engine<H, E, D, F>,
        worker: &str,
        lease: Duration,
    ) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>)
    where
        H: RecordHandler + 'static,
        E: Emitter + 'static,
        D: DeadLetters + 'static,
        F: FailureLog + 'static,
    {
        let host = EfoHost::new(
            self.stack.kinesis(),
            LeaseTable::new(
                self.stack.dynamodb(),
                &self.stack.names.leases_table,
                &engine.consumer,
                worker,
                lease,
            ),
            EfoConfig {
                shard_discovery_interval: Duration::from_secs(1),
            },
            engine,
        );
        let (stop, stopped) = watch::channel(false);
        let done = tokio::spawn(async move { host.run(stopped).await.expect("the worker runs") });
        (stop, done)
    }

    /// Starts the materialiser (`consumer materialiser`) against this stack, capturing its log
    /// lines.
    pub fn spawn_materialiser(&self) -> (Child, Arc<Mutex<Vec<String>>>) {
        spawn_with_logs(
            &workspace_binary("consumer"),
            &["materialiser"],
            self.stack.env(),
        )
    }

    /// Waits until every id in `order_ids` is in the orders table; returns those still missing.
    pub async fn wait_materialised(&self, order_ids: &[Uuid], timeout: Duration) -> Vec<Uuid> {
        let dynamodb = self.stack.dynamodb();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut missing = order_ids.to_vec();
        while !missing.is_empty() && tokio::time::Instant::now() < deadline {
            missing = inspect::missing_orders(&dynamodb, &self.stack.names.orders_table, &missing)
                .await
                .expect("BatchGetItem");
            if !missing.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        missing
    }

    /// The order's overall status in the orders table, if it is there.
    pub async fn order_status(&self, order_id: Uuid) -> Option<String> {
        let item = self
            .stack
            .dynamodb()
            .get_item()
            .table_name(&self.stack.names.orders_table)
            .key(
                processors::store::attr::ORDER_ID,
                aws_sdk_dynamodb::types::AttributeValue::S(order_id.to_string()),
            )
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem")
            .item?;
        item.get(processors::store::attr::STATUS)
            .and_then(|v| v.as_s().ok())
            .cloned()
    }

    /// Waits until every order in `order_ids` has a status in `done`; returns those that do not.
    pub async fn wait_status(
        &self,
        order_ids: &[Uuid],
        done: &[&str],
        timeout: Duration,
    ) -> Vec<(Uuid, Option<String>)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut waiting = Vec::new();
            for id in order_ids {
                let status = self.order_status(*id).await;
                if !status.as_deref().is_some_and(|s| done.contains(&s)) {
                    waiting.push((*id, status));
                }
            }
            if waiting.is_empty() || tokio::time::Instant::now() >= deadline {
                return waiting;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn order_count(&self) -> usize {
        inspect::count_items(&self.stack.dynamodb(), &self.stack.names.orders_table)
            .await
            .expect("Scan")
    }
}

/// Serves the gateway on a free loopback port; returns its base URL.
pub async fn serve_gateway(
    producer: Producer,
    orders: DynamoOrderReader,
    jwt_secret: &[u8],
) -> String {
    let app = router(Gateway {
        producer,
        tokens: TokenVerifier::hs256(jwt_secret),
        orders,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("gateway serves") });
    url
}

pub async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Answer {
    let mut request = http
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("gateway answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// Every record of every shard, read with GetRecords from TRIM_HORIZON.
pub async fn read_stream(kinesis: &aws_sdk_kinesis::Client, stream: &str) -> Vec<Record> {
    let shards = kinesis
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .expect("ListShards");
    let mut records = Vec::new();
    for shard in shards.shards() {
        let mut iterator = kinesis
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator;
        while let Some(current) = iterator {
            let output = kinesis
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .expect("GetRecords");
            let caught_up = output.records().is_empty();
            records.extend(output.records().iter().cloned());
            iterator = if caught_up {
                None
            } else {
                output.next_shard_iterator
            };
        }
    }
    records
}

/// An archive that writes an object every 8 KiB or 0.3 s, so that a test's records span
/// several objects.
pub fn small_buffer() -> ArchiveConfig {
    ArchiveConfig {
        buffer_bytes: 8 * 1024,
        buffer_interval: Duration::from_millis(300),
        ..ArchiveConfig::default()
    }
}

/// Starts a binary with `env`, collecting its stdout and stderr lines.
pub fn spawn_with_logs(
    path: &std::path::Path,
    args: &[&str],
    env: Vec<(String, String)>,
) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new(path)
        .args(args)
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e}; run `cargo build --bins` first",
                path.display()
            )
        });
    let lines = Arc::new(Mutex::new(Vec::new()));
    if let Some(stdout) = child.stdout.take() {
        collect_lines(BufReader::new(stdout), lines.clone());
    }
    if let Some(stderr) = child.stderr.take() {
        collect_lines(BufReader::new(stderr), lines.clone());
    }
    (child, lines)
}

fn collect_lines<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    reader: BufReader<R>,
    lines: Arc<Mutex<Vec<String>>>,
) {
    tokio::spawn(async move {
        let mut reader = reader.lines();
        while let Ok(Some(line)) = reader.next_line().await {
            lines.lock().expect("log lock").push(line);
        }
    });
}

/// The JSON log lines whose message is `message`, as their `fields`.
pub fn log_events(lines: &Mutex<Vec<String>>, message: &str) -> Vec<HashMap<String, Value>> {
    lines
        .lock()
        .expect("log lock")
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["fields"]["message"] == message)
        .filter_map(|event| serde_json::from_value(event["fields"].clone()).ok())
        .collect()
}

/// The downstream stand-ins with answers in 0–2 ms, so that tests run fast; `configure` sets
/// faults, rules and authentication.
pub async fn fast_stand_ins(
    configure: impl FnOnce(&mut devstack::downstream::StandInConfig),
) -> devstack::downstream::StandIns {
    let mut config = devstack::downstream::StandInConfig::default();
    for latency in [
        &mut config.inventory.latency_ms,
        &mut config.fulfilment.latency_ms,
        &mut config.accounting.latency_ms,
    ] {
        (latency.min, latency.max) = (0, 2);
    }
    configure(&mut config);
    devstack::downstream::serve(config)
        .await
        .expect("stand-ins serve")
}
