//! `loadgen`: an open-model load test of the orders API, against the local pipeline (started
//! here, as the demo starts it) or a deployed stack; writes a JSON summary, a CSV time series
//! and a plot (SVG and PNG). See docs/capacity.md.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use devstack::KinesisEngine;
use devstack::load::fault::{FaultPlan, Scenario};
use devstack::load::population::Mix;
use devstack::load::profile::Profile;
use devstack::load::{RunOptions, Summary, Target, Tokens, report, run};
use devstack::pipeline::{LocalPipeline, PipelineOptions};
use ingest::auth::TokenIssuer;

#[derive(Parser)]
#[command(
    about = "Offer the orders API a rate profile (open model: requests go out on schedule, \
             answered or not) and measure what it accepts, processes and how far it lags",
    after_help = "Profiles built in: sale, step, constant (devstack/load-profiles/). Outputs: \
                  <out-dir>/<name>.json, .csv, .svg and .png."
)]
struct Args {
    /// A built-in profile (sale, step, constant) or a profile file.
    #[arg(long, default_value = "sale")]
    profile: String,
    /// Multiplies every rate of the profile.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Customers sending orders.
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
    /// Zipf exponent of the customers' order rates: 0 is uniform, 1 makes the top 1% of
    /// customers send about half of the orders (hot partition keys).
    #[arg(long, default_value_t = 1.0)]
    skew: f64,
    /// Fraction of requests that are wholesale batches.
    #[arg(long, default_value_t = 0.05)]
    wholesale: f64,
    /// Orders in a wholesale batch.
    #[arg(long, default_value_t = 10)]
    batch_size: usize,
    /// Fraction of requests that are bad (each kind in turn), answered 4xx.
    #[arg(long, default_value_t = 0.02)]
    bad: f64,
    /// Fraction of accepted single orders followed with GET until they are through the saga.
    #[arg(long, default_value_t = 0.02)]
    track: f64,
    /// Requests in flight at most; arrivals beyond are counted as unsent.
    #[arg(long, default_value_t = 20_000)]
    max_in_flight: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Seconds to wait after the schedule for the tracked orders to finish.
    #[arg(long, default_value_t = 120)]
    drain_timeout: u64,
    /// Where the summary, the CSV and the plot go.
    #[arg(long, default_value = "out/load")]
    out_dir: PathBuf,
    /// The outputs' file name; the profile's name by default.
    #[arg(long)]
    name: Option<String>,
    /// Print the summary as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// A deployed stack's API URL (the `apiUrl` output) instead of the local pipeline.
    #[arg(long, requires = "tokens_file")]
    gateway_url: Option<String>,
    /// With --gateway-url: a file of Cognito ID tokens, one per line, one customer each.
    #[arg(long, requires = "gateway_url")]
    tokens_file: Option<PathBuf>,
    /// Local pipeline: let each shard take writes as fast as the engine can, instead of AWS's
    /// 1,000 records/s or 1 MB/s.
    #[arg(long)]
    no_shard_limits: bool,
    /// Local pipeline: inject this fault for a window of the schedule (docs/reliability.md).
    /// The processes then talk to Kinesis, DynamoDB and the stand-ins through fault proxies.
    #[arg(long, value_enum, conflicts_with = "gateway_url")]
    fault: Option<Scenario>,
    /// Seconds from the start of the schedule to the fault.
    #[arg(long, default_value_t = 30, requires = "fault")]
    fault_at: u64,
    /// Seconds the fault lasts.
    #[arg(long, default_value_t = 30, requires = "fault")]
    fault_for: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // On Ctrl-C or SIGTERM the run is dropped, and with it the local pipeline.
    tokio::select! {
        result = load(args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = terminate.recv() => bail!("terminated"),
    }
}

async fn load(args: Args) -> anyhow::Result<()> {
    let profile = Profile::named_or_file(&args.profile)?.scaled(args.scale);
    let name = args.name.clone().unwrap_or_else(|| {
        PathBuf::from(&args.profile)
            .file_stem()
            .map_or("load".into(), |s| s.to_string_lossy().into_owned())
    });
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let options = RunOptions {
        profile,
        profile_name: args.profile.clone(),
        scale: args.scale,
        customers: args.customers,
        skew: args.skew,
        mix: Mix {
            wholesale: args.wholesale,
            batch_size: args.batch_size,
            bad: args.bad,
            web: 0.6,
        },
        track: args.track,
        max_in_flight: args.max_in_flight,
        seed: args.seed,
        drain_timeout: Duration::from_secs(args.drain_timeout),
        progress: !args.json,
        fault: args.fault.map(|scenario| FaultPlan {
            scenario,
            at: Duration::from_secs(args.fault_at),
            lasting: Duration::from_secs(args.fault_for),
        }),
    };
    let (summary, seconds) = match (&args.gateway_url, &args.tokens_file) {
        (Some(url), Some(tokens_file)) => {
            let tokens: Vec<String> = std::fs::read_to_string(tokens_file)
                .with_context(|| format!("reading {}", tokens_file.display()))?
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect();
            if tokens.is_empty() {
                bail!("{} holds no token", tokens_file.display());
            }
            let target = Target::Deployed {
                gateway_url: url.clone(),
            };
            run(options, target, Tokens::Given(tokens)).await?
        }
        _ => {
            let engine = KinesisEngine::from_env();
            let shard_limits = engine == KinesisEngine::Ferrokinesis && !args.no_shard_limits;
            if !args.json {
                eprintln!(
                    "Starting the local pipeline (logs in {}/logs)...",
                    args.out_dir.display()
                );
            }
            let mut pipeline = LocalPipeline::start(PipelineOptions {
                fault_proxies: args.fault.is_some(),
                ..PipelineOptions::sale(engine, shard_limits, args.out_dir.clone())
            })
            .await?;
            let tokens = Tokens::Local(TokenIssuer::hs256(&pipeline.stack.jwt_secret));
            let result = run(options, Target::Local(&pipeline), tokens).await;
            pipeline.stop_processes().await;
            pipeline.stop_archive().await;
            result?
        }
    };

    let stem = args.out_dir.join(&name);
    std::fs::write(
        stem.with_extension("json"),
        serde_json::to_vec_pretty(&summary)?,
    )?;
    report::write_csv(&stem.with_extension("csv"), &seconds)?;
    let title = format!(
        "loadgen {} ×{} against {}",
        summary.profile, summary.scale, summary.target
    );
    let fault_window = summary.fault.as_ref().map(|f| (f.from_second, f.to_second));
    report::plot(&stem, &title, &seconds, fault_window)?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&summary);
        println!("Written: {}.json, .csv, .svg, .png", stem.display());
    }
    if let Some(local) = &summary.local
        && (local.lost > 0 || local.duplicate_effects > 0 || local.dead_letters > 0)
    {
        bail!(
            "{} accepted orders lost, {} duplicate effects, {} dead letters",
            local.lost,
            local.duplicate_effects,
            local.dead_letters
        );
    }
    if let Some(fault) = &summary.fault
        && fault.recovery_seconds.is_none()
    {
        bail!("the lag was not back to normal after the fault within the run");
    }
    Ok(())
}

fn print_summary(s: &Summary) {
    println!();
    println!("{} (×{}) against {}", s.profile, s.scale, s.target);
    println!(
        "  sent       {} requests ({} orders) of {:.0} offered; {} unsent (client limit)",
        s.requests_sent, s.orders_sent, s.requests_offered, s.unsent
    );
    println!(
        "  answers    {} orders accepted, {} bad requests rejected, {} failed, {} throttled (429/503, retried), {} orders given up on (still throttled after {} attempts)",
        s.orders_accepted,
        s.rejected,
        s.failed,
        s.throttled,
        s.gave_up,
        devstack::client::ATTEMPTS
    );
    let p = |name: &str, v: &devstack::load::recorder::Percentiles| {
        println!(
            "  {name:<10} p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} samples)",
            v.p50, v.p95, v.p99, v.max, v.count
        );
    };
    p("POST", &s.post_ms);
    p("→ in DB", &s.to_materialised_ms);
    p("→ final", &s.to_finished_ms);
    println!(
        "  tracked    {} orders: {:?}; drained in {:.1} s",
        s.tracked, s.tracked_statuses, s.drain_seconds
    );
    if let Some(local) = &s.local {
        println!(
            "  checked    {} lost, {} duplicate effects, {} dead letters",
            local.lost, local.duplicate_effects, local.dead_letters
        );
    }
    println!(
        "  phase          target/s  sent/s  accepted/s  saga in/s  saga out/s  POST p99  record age"
    );
    for phase in &s.phases {
        let handled = |c: &str| phase.handled_per_second.get(c).copied().unwrap_or(0.0);
        println!(
            "  {:<14} {:>8.0} {:>7.0} {:>11.0} {:>10.0} {:>11.0} {:>7.0}ms {:>9.1}s",
            phase.name,
            phase.target_rate,
            phase.sent_orders_per_second,
            phase.accepted_orders_per_second,
            handled("inventory"),
            handled("accounting"),
            phase.post_p99_ms,
            phase.max_record_age_ms.unwrap_or(0) as f64 / 1000.0
        );
    }
    if let Some(fault) = &s.fault {
        let recovery = fault
            .recovery_seconds
            .map_or("not within the run".into(), |r| format!("{r:.0} s"));
        println!(
            "  fault      {} from {:.0} s to {:.0} s{}: lag peaked at {:.1} s (normal {:.1} s); back under {:.1} s {} after",
            fault.description,
            fault.from_second,
            fault.to_second,
            if fault.kills > 0 {
                format!(" ({} kills)", fault.kills)
            } else {
                String::new()
            },
            fault.peak_lag_ms as f64 / 1000.0,
            fault.normal_lag_ms as f64 / 1000.0,
            fault.recovered_below_ms as f64 / 1000.0,
            recovery,
        );
        if let Some(e) = &fault.proxy_effects {
            println!(
                "             the proxy reset {} connections, blackholed {} directions, delayed {} reads and writes",
                e.connection_resets, e.blackholed, e.delayed
            );
        }
        if let Some(refused) = fault.kinesis_refused_writes {
            println!(
                "             Kinesis refused {refused} writes (ProvisionedThroughputExceededException)"
            );
        }
    }
    for problem in &s.problems {
        println!("  problem: {problem}");
    }
}
