//! Time from starting a Lambda binary to its first Runtime API `next` call, as a bench binary:
//! `cargo build --release --bins && cargo bench -p processors --bench lambda_start`.
//!
//! Each binary is started 21 times with the environment Lambda gives a function, against a
//! loopback listener that notes when `GET /2018-06-01/runtime/invocation/next` arrives and then
//! stops the process. This is the function's own share of a cold start (loading, reading its
//! configuration, building its clients); Lambda's share (fetching the zip, starting the
//! micro-VM) is not in it. Figures: docs/performance.md.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

const BINARIES: [&str; 5] = [
    "materialiser-lambda",
    "inventory-lambda",
    "fulfilment-lambda",
    "accounting-lambda",
    "orders-query-lambda",
];
const RUNS: usize = 21;

/// A binary of this workspace in the same profile folder as this bench (`target/release/`).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("bench path");
    let mut dir = exe.parent().expect("deps folder").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(name)
}

/// Starts `path` and returns how long it took to ask for its first invocation.
async fn time_to_first_next(path: &PathBuf) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let started = Instant::now();
    let mut child = Command::new(path)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        // The saga stages' services, as the Pulumi program sets them (never called here).
        .env(
            "INVENTORY_URL",
            "https://services.example.invalid/inventory",
        )
        .env(
            "FULFILMENT_URL",
            "https://services.example.invalid/fulfilment",
        )
        .env(
            "ACCOUNTING_URL",
            "https://services.example.invalid/accounting",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run cargo build --release --bins first)",
                path.display()
            )
        });
    let elapsed = loop {
        let (mut socket, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("the function calls the Runtime API within 10 s")
            .expect("accept");
        let mut request = Vec::new();
        let mut buffer = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let read = socket.read(&mut buffer).await.expect("read");
            if read == 0 {
                break;
            }
            request.extend_from_slice(&buffer[..read]);
        }
        if request.starts_with(b"GET /2018-06-01/runtime/invocation/next") {
            break started.elapsed();
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for name in BINARIES {
        let path = binary(name);
        let mut times: Vec<Duration> = (0..RUNS)
            .map(|_| runtime.block_on(time_to_first_next(&path)))
            .collect();
        times.sort();
        println!(
            "{name}: exec to first `next` {:.1} ms median, {:.1} ms min, {:.1} ms max ({RUNS} starts)",
            times[RUNS / 2].as_secs_f64() * 1000.0,
            times[0].as_secs_f64() * 1000.0,
            times[RUNS - 1].as_secs_f64() * 1000.0,
        );
    }
}
