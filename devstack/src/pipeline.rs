//! The whole pipeline on the local stack, as the demo and the load generator run it: the
//! engines, the downstream stand-ins and the archive's Firehose stand-in in this process, the
//! `gateway` and the four consumers (`consumer materialiser|inventory|fulfilment|accounting`)
//! as their own processes, each logging to `<logs>/<name>.log`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::archive::{Archive, ArchiveConfig, Totals};
use crate::downstream::{self, StandInConfig, StandIns};
use crate::faults::{FaultError, FaultProxies, Upstream};
use crate::{KinesisEngine, LocalStack, StackError, StackOptions, free_port, workspace_binary};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("starting the local stack")]
    Stack(#[from] StackError),
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("starting {} (build it first: cargo build --release --workspace --bins)", .path.display())]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the gateway did not answer on {0}")]
    GatewayDown(String),
    #[error("starting the fault proxies")]
    Faults(#[from] FaultError),
    #[error("{0} is not one of the pipeline's processes")]
    UnknownProcess(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PipelineError {
    let what = what.into();
    move |source| PipelineError::Io { what, source }
}

pub struct PipelineOptions {
    pub kinesis_engine: KinesisEngine,
    /// AWS's write limits per shard (ferrokinesis only).
    pub shard_limits: bool,
    pub stand_ins: StandInConfig,
    pub archive: ArchiveConfig,
    /// Where the stack's state (`devstack/`) and the processes' logs (`logs/`) go.
    pub out_dir: PathBuf,
    /// Route the processes' traffic to Kinesis, DynamoDB and the stand-ins through fault
    /// proxies ([`LocalPipeline::proxies`]), clean until a fault is set.
    pub fault_proxies: bool,
    /// A Cognito user pool's issuer URL whose ID tokens the gateway also accepts (the local
    /// Cognito engine's, for `verify-stack`'s test).
    pub cognito_issuer: Option<String>,
}

impl PipelineOptions {
    /// The pipeline the demo and the load generator run: the downstream stand-ins behaving as
    /// real services do ([`StandInConfig::faulty`], seeded) with the limited edition out of
    /// stock, and the archive with the Pulumi program's buffering.
    ///
    /// Answers are lost after the effect at the realistic 10%, but only 1% of requests are slow
    /// (so that some retries meet 409 in progress) and 1% answered 503: a slow answer holds its
    /// whole batch for 2–4 s, and at 5% a debug demo run beside a build drained at 14 orders/s
    /// (docs/local-stack.md). The saga's end-to-end test runs the full realistic rates.
    pub fn sale(kinesis_engine: KinesisEngine, shard_limits: bool, out_dir: PathBuf) -> Self {
        let mut stand_ins = StandInConfig::faulty(SALE_SEED, 0.01, 0.10, 0.01);
        stand_ins
            .inventory
            .out_of_stock
            .insert(crate::sample::LIMITED_SKU.to_owned());
        Self {
            kinesis_engine,
            shard_limits,
            stand_ins,
            archive: ArchiveConfig::default(),
            out_dir,
            fault_proxies: false,
            cognito_issuer: None,
        }
    }
}

/// The seed of the stand-ins' faults in the sale pipeline: the same requests, arriving in the
/// same order, meet the same faults.
const SALE_SEED: u64 = 2026;

/// The consumers that call a downstream service, with the variable that names its URL.
const SAGA_STAGES: [(&str, &str); 3] = [
    ("inventory", "INVENTORY_URL"),
    ("fulfilment", "FULFILMENT_URL"),
    ("accounting", "ACCOUNTING_URL"),
];

/// Every process the pipeline starts, in start order.
pub const PROCESSES: [&str; 5] = [
    "gateway",
    "materialiser",
    "inventory",
    "fulfilment",
    "accounting",
];

/// A running local pipeline. Dropping it kills its processes and stops its engines.
pub struct LocalPipeline {
    pub stack: LocalStack,
    pub gateway_url: String,
    pub stand_ins: StandIns,
    pub logs: PathBuf,
    /// The fault proxies the processes talk through, when asked for.
    pub proxies: Option<FaultProxies>,
    archive: Option<Archive>,
    /// Behind a lock so that a fault run can kill and restart them through a shared reference.
    processes: Mutex<Vec<Process>>,
}

/// One of [`PROCESSES`]: how to start it again, and the running child.
struct Process {
    name: &'static str,
    binary: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

/// A poisoned lock only means a panic elsewhere; the list of processes stays usable.
fn lock(processes: &Mutex<Vec<Process>>) -> MutexGuard<'_, Vec<Process>> {
    processes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LocalPipeline {
    pub async fn start(options: PipelineOptions) -> Result<Self, PipelineError> {
        let logs = options.out_dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(io(format!("creating {}", logs.display())))?;
        let stack = LocalStack::start(StackOptions {
            kinesis_engine: options.kinesis_engine,
            shard_limits: options.shard_limits,
            ..Default::default()
        })
        .await?;
        let state = options.out_dir.join("devstack");
        let secret_file = stack
            .write_state(&state)
            .map_err(io(format!("writing {}", state.display())))?;
        let stand_ins = downstream::serve(options.stand_ins)
            .await
            .map_err(io("starting the downstream stand-ins"))?;
        let archive = Archive::start(
            stack.kinesis(),
            stack.s3(),
            &stack.names.stream,
            &stack.names.archive_bucket,
            options.archive,
        )
        .map_err(io("starting the archive's Firehose stand-in"))?;
        let proxies = if options.fault_proxies {
            Some(
                FaultProxies::start(&[
                    (Upstream::Kinesis, &stack.kinesis_endpoint),
                    (Upstream::Dynamodb, &stack.dynamodb_endpoint),
                    (Upstream::Downstream, &stand_ins.url),
                ])
                .await?,
            )
        } else {
            None
        };
        // What the processes talk to: the engines and stand-ins, or the proxies before them.
        let mut env = stack.env();
        let mut stand_ins_url = stand_ins.url.clone();
        if let Some(proxies) = &proxies {
            for (variable, upstream) in [
                ("AWS_ENDPOINT_URL_KINESIS", Upstream::Kinesis),
                ("AWS_ENDPOINT_URL_DYNAMODB", Upstream::Dynamodb),
            ] {
                if let (Some(entry), Some(endpoint)) = (
                    env.iter_mut().find(|(k, _)| k == variable),
                    proxies.endpoint(upstream),
                ) {
                    entry.1 = endpoint;
                }
            }
            if let Some(endpoint) = proxies.endpoint(Upstream::Downstream) {
                stand_ins_url = endpoint;
            }
        }
        let gateway_port = free_port().map_err(io("finding a port for the gateway"))?;
        let gateway_url = format!("http://127.0.0.1:{gateway_port}");
        let mut processes = vec![Process {
            name: "gateway",
            binary: "gateway",
            args: Vec::new(),
            env: [
                ("GATEWAY_LISTEN".into(), format!("127.0.0.1:{gateway_port}")),
                (
                    "GATEWAY_JWT_SECRET_FILE".into(),
                    secret_file.display().to_string(),
                ),
            ]
            .into_iter()
            .chain(
                options
                    .cognito_issuer
                    .map(|issuer| ("GATEWAY_COGNITO_ISSUER".into(), issuer)),
            )
            .collect(),
            child: None,
        }];
        processes.push(Process {
            name: "materialiser",
            binary: "consumer",
            args: vec!["materialiser".into()],
            env: Vec::new(),
            child: None,
        });
        for (stage, variable) in SAGA_STAGES {
            processes.push(Process {
                name: stage,
                binary: "consumer",
                args: vec![stage.into()],
                env: vec![(variable.into(), format!("{stand_ins_url}/{stage}"))],
                child: None,
            });
        }
        for process in &mut processes {
            process.env.splice(0..0, env.iter().cloned());
            // One worker per consumer, under a name that survives a restart (as a container
            // with a stable name): a worker started again takes its leases back at once.
            if process.binary == "consumer" {
                process.env.push((
                    "CONSUMER_WORKER_ID".into(),
                    format!("local-{}", process.name),
                ));
            }
            process.child = Some(spawn(process, &logs, false)?);
        }
        let pipeline = Self {
            stack,
            gateway_url,
            stand_ins,
            logs,
            proxies,
            archive: Some(archive),
            processes: Mutex::new(processes),
        };
        pipeline.wait_for_gateway().await?;
        Ok(pipeline)
    }

    /// Kills one of [`PROCESSES`] with SIGKILL, as a crash or a lost container would.
    pub fn kill(&self, name: &str) -> Result<(), PipelineError> {
        let mut processes = lock(&self.processes);
        let process = processes
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| PipelineError::UnknownProcess(name.to_owned()))?;
        if let Some(child) = &mut process.child {
            // Already gone is as good as killed.
            let _ = child.start_kill();
        }
        Ok(())
    }

    /// Starts one of [`PROCESSES`] again, as it was started, its output appended to its log.
    pub fn restart(&self, name: &str) -> Result<(), PipelineError> {
        let mut processes = lock(&self.processes);
        let process = processes
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| PipelineError::UnknownProcess(name.to_owned()))?;
        if let Some(child) = &mut process.child {
            let _ = child.start_kill();
        }
        process.child = Some(spawn(process, &self.logs, true)?);
        Ok(())
    }

    /// The log file of one of [`PROCESSES`].
    pub fn log(&self, name: &str) -> PathBuf {
        log_path(&self.logs, name)
    }

    /// The process id of one of [`PROCESSES`], while it runs.
    pub fn pid(&self, name: &str) -> Option<u32> {
        lock(&self.processes)
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.child.as_ref()?.id())
    }

    /// The process's peak resident memory (`VmHWM`), in MiB.
    pub fn peak_rss_mib(&self, name: &str) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid(name)?)).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// Stops the archive's Firehose stand-in, which writes what it still buffers; what it wrote
    /// in all. Later calls return nothing.
    pub async fn stop_archive(&mut self) -> Totals {
        match self.archive.take() {
            Some(archive) => archive.stop().await,
            None => Totals::default(),
        }
    }

    /// SIGTERM to every process, so each stops cleanly; SIGKILL to any still running after five
    /// seconds.
    pub async fn stop_processes(&mut self) {
        let mut children: Vec<Child> = lock(&self.processes)
            .iter_mut()
            .filter_map(|p| p.child.take())
            .collect();
        for child in &children {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .arg(pid.to_string())
                    .status();
            }
        }
        for child in &mut children {
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }

    async fn wait_for_gateway(&self) -> Result<(), PipelineError> {
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if http
                .get(format!("{}/health", self.gateway_url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(PipelineError::GatewayDown(self.gateway_url.clone()))
    }
}

fn log_path(logs: &Path, name: &str) -> PathBuf {
    logs.join(format!("{name}.log"))
}

/// Starts `process`, its output in `<logs>/<name>.log`: a new file, or appended to on a restart
/// (so that whoever follows the log keeps its place).
fn spawn(process: &Process, logs: &Path, append: bool) -> Result<Child, PipelineError> {
    let path = workspace_binary(process.binary);
    let log_path = log_path(logs, process.name);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&log_path)
        .map_err(io(format!("creating {}", log_path.display())))?;
    let stderr = log
        .try_clone()
        .map_err(io(format!("opening {}", log_path.display())))?;
    Command::new(&path)
        .args(&process.args)
        .envs(process.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::from(stderr))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| PipelineError::Spawn { path, source })
}

/// Reads `path` from `offset` to its end; the new offset. For following a process's log.
pub fn read_new(path: &Path, offset: u64) -> std::io::Result<(String, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    // Keep a partial last line for the next read.
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let text = String::from_utf8_lossy(&bytes[..complete]).into_owned();
    Ok((text, offset + complete as u64))
}
