//! The local stack: AWS-compatible engines on loopback, provisioned like the deployed pipeline.
//!
//! Kinesis is `ferrokinesis` (0.7.0 with the fixes in `devstack/vendor/PATCHES.md`), DynamoDB
//! is `dynoxide` and S3 is `s3s-fs` (a file-system S3 in a temporary folder), all embedded in
//! this process at the exact versions pinned in the workspace `Cargo.toml`, so the stack needs
//! nothing beyond cargo. `kinesis-mock` (Node) can be chosen
//! instead, to compare the two engines.
//! The unchanged AWS SDK clients talk to them; only the endpoint differs. Ports default to free
//! ones chosen by the OS, so two stacks (two test runs) never collide. Dropping a
//! [`LocalStack`] stops what it started and nothing else.

pub mod archive;
pub mod client;
pub mod cognito;
pub mod downstream;
pub mod faults;
pub mod firehose_api;
pub mod inspect;
pub mod load;
pub mod parameter_store;
pub mod pipeline;
pub mod sample;
pub mod verify;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_kinesis::types::{ConsumerStatus, StreamMode, StreamModeDetails, StreamStatus};
use ingest::config::{ResourceNames, consumers};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub const REGION: &str = "us-east-1";
/// Shards of the local stream: enough to show per-shard parallelism and ordering.
pub const DEFAULT_SHARDS: i32 = 4;
/// How long to wait for an engine to answer or a resource to become active.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Worker threads of each embedded engine: as many as this machine's cores, as a server of its
/// own would have.
const ENGINE_WORKERS: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the DynamoDB engine did not start: {0}")]
    DynamoDbEngine(String),
    #[error("cannot start the {name} engine: {cause}")]
    Engine { name: &'static str, cause: String },
    #[error("{step} failed: {cause}")]
    Provision { step: String, cause: String },
    #[error("{0} did not become ready within {READY_TIMEOUT:?}")]
    NotReady(String),
}

fn provision_error(step: impl Into<String>, error: impl std::fmt::Debug) -> StackError {
    StackError::Provision {
        step: step.into(),
        cause: format!("{error:?}"),
    }
}

#[derive(Clone, Debug)]
pub struct StackOptions {
    /// Loopback port of Kinesis; 0 picks a free one.
    pub kinesis_port: u16,
    /// Loopback port of DynamoDB; 0 picks a free one.
    pub dynamodb_port: u16,
    /// Loopback port of S3; 0 picks a free one.
    pub s3_port: u16,
    pub shards: i32,
    pub names: ResourceNames,
    /// Throttle writes per shard as AWS does (1,000 records/s, 1 MB/s), answering
    /// `ProvisionedThroughputExceededException`. ferrokinesis only: kinesis-mock has no limits.
    pub shard_limits: bool,
    pub kinesis_engine: KinesisEngine,
}

/// Which engine serves Kinesis. See docs/local-stack.md for how they compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KinesisEngine {
    /// `ferrokinesis`, patched (devstack/vendor/PATCHES.md) and embedded in this process.
    Ferrokinesis,
    /// `kinesis-local` (kinesis-mock) from npm, run with Node as a child process.
    KinesisMock,
}

impl KinesisEngine {
    /// The engine named by `DEVSTACK_KINESIS_ENGINE` (`ferrokinesis`, the default, or
    /// `kinesis-mock`). Any other value is a mistake worth stopping for.
    pub fn from_env() -> Self {
        match std::env::var("DEVSTACK_KINESIS_ENGINE").as_deref() {
            Err(_) | Ok("ferrokinesis") => Self::Ferrokinesis,
            Ok("kinesis-mock") => Self::KinesisMock,
            Ok(other) => {
                panic!("DEVSTACK_KINESIS_ENGINE={other}: expected kinesis-mock or ferrokinesis")
            }
        }
    }
}

impl std::fmt::Display for KinesisEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ferrokinesis => "ferrokinesis",
            Self::KinesisMock => "kinesis-mock",
        })
    }
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            kinesis_port: 0,
            dynamodb_port: 0,
            s3_port: 0,
            shards: DEFAULT_SHARDS,
            names: ResourceNames::default(),
            shard_limits: false,
            kinesis_engine: KinesisEngine::from_env(),
        }
    }
}

/// A running local stack. Stops when dropped.
pub struct LocalStack {
    pub kinesis_endpoint: String,
    pub dynamodb_endpoint: String,
    pub s3_endpoint: String,
    pub names: ResourceNames,
    /// Key that signs customers' tokens for the local gateway; new for every stack.
    pub jwt_secret: Vec<u8>,
    stop: watch::Sender<bool>,
    /// The Kinesis engine's process, when it is one.
    kinesis_process: Option<std::process::Child>,
    /// The embedded Kinesis engine's store when it enforces shard limits, to change them.
    kinesis_limits: Option<ferrokinesis::store::Store>,
    /// The S3 engine's objects; removed with the stack.
    _s3_root: tempfile::TempDir,
}

impl LocalStack {
    /// Starts the engines on loopback and creates the pipeline's resources: the stream with
    /// its shards, one enhanced fan-out consumer per processor, the DynamoDB tables and the
    /// dead-letter and archive buckets.
    pub async fn start(options: StackOptions) -> Result<Self, StackError> {
        let (stop, stopped) = watch::channel(false);
        let kinesis = bind(options.kinesis_port)?;
        let dynamodb = bind(options.dynamodb_port)?;
        let s3 = bind(options.s3_port)?;
        let kinesis_endpoint = endpoint(&kinesis)?;
        let dynamodb_endpoint = endpoint(&dynamodb)?;
        let s3_endpoint = endpoint(&s3)?;

        let (kinesis_process, kinesis_limits) = match options.kinesis_engine {
            KinesisEngine::Ferrokinesis => {
                let store = start_ferrokinesis(kinesis, options.shard_limits, stopped.clone())?;
                (None, options.shard_limits.then_some(store))
            }
            KinesisEngine::KinesisMock if options.shard_limits => {
                return Err(StackError::Engine {
                    name: "kinesis-mock",
                    cause: "it has no shard limits; use ferrokinesis for --shard-limits".into(),
                });
            }
            KinesisEngine::KinesisMock => {
                let port = kinesis.local_addr().map(|a| a.port()).unwrap_or_default();
                // The process binds the port itself: release it just before it starts.
                drop(kinesis);
                (Some(start_kinesis_mock(port)?), None)
            }
        };

        let database =
            dynoxide::Database::memory().map_err(|e| StackError::DynamoDbEngine(e.to_string()))?;
        let s3_root = tempfile::Builder::new()
            .prefix("devstack-s3-")
            .tempdir()
            .map_err(|e| StackError::Engine {
                name: "s3",
                cause: e.to_string(),
            })?;
        start_s3(s3, s3_root.path(), stopped.clone())?;

        let mut dynamodb_stopped = stopped;
        spawn_engine("dynamodb", ENGINE_WORKERS, move || async move {
            let listener = TcpListener::from_std(dynamodb)?;
            let shutdown = async move {
                let _ = dynamodb_stopped.wait_for(|stop| *stop).await;
            };
            dynoxide::server::serve_with_shutdown(listener, database, shutdown)
                .await
                .map_err(std::io::Error::other)
        })?;

        let jwt_secret = rand::random::<[u8; 32]>().to_vec();
        let stack = Self {
            kinesis_endpoint,
            dynamodb_endpoint,
            s3_endpoint,
            names: options.names.clone(),
            jwt_secret,
            stop,
            kinesis_process,
            kinesis_limits,
            _s3_root: s3_root,
        };
        stack.wait_until_answering().await?;
        stack.provision(options.shards).await?;
        Ok(stack)
    }

    /// Lets each shard take only `records` writes a second, or AWS's 1,000 again with `None`;
    /// writes beyond are refused with `ProvisionedThroughputExceededException`. False when
    /// the stack has no shard limits to change (kinesis-mock, or limits off).
    pub fn throttle_kinesis(&self, records: Option<u64>) -> bool {
        let Some(store) = &self.kinesis_limits else {
            return false;
        };
        store.set_shard_write_records_per_sec(records.unwrap_or(AWS_SHARD_WRITE_RECORDS_PER_SEC));
        true
    }

    /// Kinesis writes refused for a shard's limits since the stack started (`None` without
    /// shard limits).
    pub fn kinesis_refused_writes(&self) -> Option<u64> {
        self.kinesis_limits
            .as_ref()
            .map(|store| store.refused_writes())
    }

    /// SDK configuration for the local engines: fixed region and throwaway credentials.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                Credentials::new("local", "local", None, None, "devstack"),
            ))
            .build()
    }

    pub fn kinesis(&self) -> aws_sdk_kinesis::Client {
        let config = aws_sdk_kinesis::config::Builder::from(&self.sdk_config())
            .endpoint_url(&self.kinesis_endpoint)
            .build();
        aws_sdk_kinesis::Client::from_conf(config)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::config::Builder::from(&self.sdk_config())
            .endpoint_url(&self.dynamodb_endpoint)
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config())
            .endpoint_url(&self.s3_endpoint)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// The environment a pipeline binary needs to use this stack through the SDK's own
    /// configuration (service endpoints, region, credentials) and the shared names.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = vec![
            (
                "AWS_ENDPOINT_URL_KINESIS".into(),
                self.kinesis_endpoint.clone(),
            ),
            (
                "AWS_ENDPOINT_URL_DYNAMODB".into(),
                self.dynamodb_endpoint.clone(),
            ),
            ("AWS_ENDPOINT_URL_S3".into(), self.s3_endpoint.clone()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_ACCESS_KEY_ID".into(), "local".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "local".into()),
        ];
        env.extend(
            self.names
                .to_env()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v)),
        );
        env
    }

    /// Writes `env` (the variables of [`Self::env`], one `NAME=value` per line, for `source`)
    /// and `jwt-secret` into `dir`, and returns the secret's path.
    pub fn write_state(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let secret = dir.join("jwt-secret");
        std::fs::write(&secret, &self.jwt_secret)?;
        let mut env: String = self
            .env()
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        env.push_str(&format!("GATEWAY_JWT_SECRET_FILE={}\n", secret.display()));
        std::fs::write(dir.join("env"), env)?;
        Ok(secret)
    }

    async fn wait_until_answering(&self) -> Result<(), StackError> {
        let kinesis = self.kinesis();
        let dynamodb = self.dynamodb();
        wait_for("Kinesis", || async {
            kinesis.list_streams().send().await.ok().map(drop)
        })
        .await?;
        wait_for("DynamoDB", || async {
            dynamodb.list_tables().send().await.ok().map(drop)
        })
        .await?;
        let s3 = self.s3();
        wait_for("S3", || async {
            s3.list_buckets().send().await.ok().map(drop)
        })
        .await
    }

    async fn provision(&self, shards: i32) -> Result<(), StackError> {
        let consumers: Vec<String> = consumers::ALL.iter().map(|c| (*c).to_owned()).collect();
        create_stream(&self.kinesis(), &self.names.stream, shards, &consumers).await?;

        let dynamodb = self.dynamodb();
        processors::store::create_orders_table(&dynamodb, &self.names.orders_table)
            .await
            .map_err(|e| provision_error(format!("CreateTable {}", self.names.orders_table), e))?;
        processors::lease::create_lease_table(&dynamodb, &self.names.leases_table)
            .await
            .map_err(|e| provision_error(format!("CreateTable {}", self.names.leases_table), e))?;
        processors::failures::create_failures_table(&dynamodb, &self.names.failures_table)
            .await
            .map_err(|e| {
                provision_error(format!("CreateTable {}", self.names.failures_table), e)
            })?;
        processors::saga::idempotency::create_idempotency_table(
            &dynamodb,
            &self.names.idempotency_table,
        )
        .await
        .map_err(|e| provision_error(format!("CreateTable {}", self.names.idempotency_table), e))?;
        for bucket in [&self.names.dead_letter_bucket, &self.names.archive_bucket] {
            self.s3()
                .create_bucket()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| provision_error(format!("CreateBucket {bucket}"), e))?;
        }
        Ok(())
    }
}

/// A stream made by [`create_stream`], active, with its consumers registered.
pub struct CreatedStream {
    pub arn: String,
    /// The consumers' ARNs, in the order their names were given.
    pub consumer_arns: Vec<String>,
}

/// Creates a provisioned stream with `shards` shards and registers one enhanced fan-out
/// consumer per name, waiting until each is active.
pub async fn create_stream(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
    shards: i32,
    consumers: &[String],
) -> Result<CreatedStream, StackError> {
    kinesis
        .create_stream()
        .stream_name(stream)
        .shard_count(shards)
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::Provisioned)
                .build()
                .map_err(|e| provision_error("stream mode", e))?,
        )
        .send()
        .await
        .map_err(|e| provision_error(format!("CreateStream {stream}"), e))?;
    let arn = wait_until_active(kinesis, stream).await?;
    let mut consumer_arns = Vec::with_capacity(consumers.len());
    for consumer in consumers {
        let registered = kinesis
            .register_stream_consumer()
            .stream_arn(&arn)
            .consumer_name(consumer)
            .send()
            .await
            .map_err(|e| provision_error(format!("RegisterStreamConsumer {consumer}"), e))?
            .consumer
            .ok_or_else(|| {
                provision_error(format!("RegisterStreamConsumer {consumer}"), "no consumer")
            })?;
        let consumer_arn = registered.consumer_arn;
        wait_for(&format!("consumer {consumer}"), || async {
            let output = kinesis
                .describe_stream_consumer()
                .consumer_arn(&consumer_arn)
                .send()
                .await
                .ok()?;
            (output.consumer_description()?.consumer_status() == &ConsumerStatus::Active)
                .then_some(())
        })
        .await?;
        consumer_arns.push(consumer_arn);
    }
    Ok(CreatedStream { arn, consumer_arns })
}

/// Waits until `stream` is ACTIVE (after creating or resharding it); returns its ARN.
pub async fn wait_until_active(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
) -> Result<String, StackError> {
    wait_for(&format!("stream {stream}"), || async {
        let output = kinesis
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .ok()?;
        let summary = output.stream_description_summary()?;
        (summary.stream_status() == &StreamStatus::Active).then(|| summary.stream_arn().to_owned())
    })
    .await
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(mut process) = self.kinesis_process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

/// Records a Kinesis shard takes per second.
const AWS_SHARD_WRITE_RECORDS_PER_SEC: u64 = 1_000;

fn start_ferrokinesis(
    listener: std::net::TcpListener,
    shard_limits: bool,
    mut stopped: watch::Receiver<bool>,
) -> Result<ferrokinesis::store::Store, StackError> {
    let (app, store) = ferrokinesis::create_app(ferrokinesis::store::StoreOptions {
        create_stream_ms: 0,
        delete_stream_ms: 0,
        update_stream_ms: 0,
        shard_limit: 100,
        enforce_limits: shard_limits,
        aws_region: REGION.to_owned(),
        ..Default::default()
    });
    spawn_engine("kinesis", ENGINE_WORKERS, move || async move {
        let listener = TcpListener::from_std(listener)?;
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    })?;
    Ok(store)
}

/// Serves S3 from files under `root`, accepting the stack's throwaway credentials only.
fn start_s3(
    listener: std::net::TcpListener,
    root: &Path,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), StackError> {
    let engine_error = |cause: String| StackError::Engine { name: "s3", cause };
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| engine_error(format!("{e:?}")))?;
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single("local", "local"));
    let service = builder.build();
    spawn_engine("s3", 1, move || async move {
        let listener = TcpListener::from_std(listener)?;
        let http =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        loop {
            let (socket, _) = tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => return Ok(()),
                accepted = listener.accept() => accepted?,
            };
            let connection = http
                .serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    })
}

/// Where `scripts/install-engines` puts the npm engines.
pub fn engines_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("engines/node_modules")
}

fn start_kinesis_mock(port: u16) -> Result<std::process::Child, StackError> {
    let main = engines_dir().join("kinesis-local/main.js");
    if !main.exists() {
        return Err(StackError::Engine {
            name: "kinesis-mock",
            cause: format!("{} is missing: run scripts/install-engines", main.display()),
        });
    }
    let tls_port = free_port().map_err(|e| StackError::Engine {
        name: "kinesis-mock",
        cause: e.to_string(),
    })?;
    let mut command = std::process::Command::new("node");
    command
        .arg(&main)
        // It reads its TLS certificate (server.json) from the working directory.
        .current_dir(main.parent().unwrap_or(Path::new(".")))
        .env("KINESIS_MOCK_PLAIN_PORT", port.to_string())
        .env("KINESIS_MOCK_TLS_PORT", tls_port.to_string())
        .env("LOG_LEVEL", "WARN")
        .env("AWS_REGION", REGION)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for operation in [
        "CREATE_STREAM",
        "DELETE_STREAM",
        "REGISTER_STREAM_CONSUMER",
        "DEREGISTER_STREAM_CONSUMER",
        "MERGE_SHARDS",
        "SPLIT_SHARD",
        "UPDATE_SHARD_COUNT",
        "START_STREAM_ENCRYPTION",
        "STOP_STREAM_ENCRYPTION",
        "UPDATE_STREAM_MODE",
    ] {
        command.env(format!("{operation}_DURATION"), "0ms");
    }
    command.spawn().map_err(|e| StackError::Engine {
        name: "kinesis-mock",
        cause: format!("node: {e}"),
    })
}

fn bind(port: u16) -> Result<std::net::TcpListener, StackError> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = std::net::TcpListener::bind(address)
        .and_then(|listener| listener.set_nonblocking(true).map(|()| listener));
    listener.map_err(|source| StackError::Bind { address, source })
}

/// Runs an engine on its own runtime and threads, as if it were its own server process, so
/// that neither engine nor the code under test can starve the others' workers.
fn spawn_engine<F, Fut>(name: &'static str, workers: usize, serve: F) -> Result<(), StackError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = std::io::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(format!("{name}-engine"))
        .enable_all()
        .build()
        .map_err(|e| StackError::Engine {
            name,
            cause: e.to_string(),
        })?;
    std::thread::Builder::new()
        .name(format!("{name}-engine"))
        .spawn(move || {
            if let Err(error) = runtime.block_on(serve()) {
                tracing::error!(engine = name, %error, "engine stopped");
            }
            // Connections still open (a subscription) must not hold the thread.
            runtime.shutdown_background();
        })
        .map_err(|e| StackError::Engine {
            name,
            cause: e.to_string(),
        })?;
    Ok(())
}

fn endpoint(listener: &std::net::TcpListener) -> Result<String, StackError> {
    let address = listener.local_addr().map_err(|source| StackError::Bind {
        address: SocketAddr::from(([127, 0, 0, 1], 0)),
        source,
    })?;
    Ok(format!("http://{address}"))
}

/// Polls `ready` until it yields a value, for at most [`READY_TIMEOUT`].
async fn wait_for<T, F, Fut>(what: &str, mut ready: F) -> Result<T, StackError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        if let Some(value) = ready().await {
            return Ok(value);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(StackError::NotReady(what.to_owned()))
}

/// Path of a binary of this workspace built beside the running one (`target/<profile>/`), for
/// starting the pipeline's processes from tests and the demo.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    // Test executables live one level down, in `deps/`.
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(name)
}

/// A free loopback port, for a child process to listen on.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}
