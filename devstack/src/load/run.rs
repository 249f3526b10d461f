//! One load run: the schedule, the requests, the tracked orders, the once-a-second watch, the
//! drain, and the summary.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use ingest::auth::TokenIssuer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use super::fault::{self, FaultPlan, FaultResult, InjectError};
use super::population::{Mix, Population, PopulationError, Request};
use super::profile::Profile;
use super::recorder::{Ending, Percentiles, Recorder, Second};
use super::report::CONSUMERS;
use super::watch::{CpuSampler, MetricsFollower};
use crate::client;
use crate::inspect::{self, FINAL_STATUSES};
use crate::pipeline::{LocalPipeline, PROCESSES};
use crate::sample;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the population")]
    Population(#[from] PopulationError),
    #[error("checking the orders table for lost orders")]
    Orders(#[source] aws_sdk_dynamodb::Error),
    #[error("listing the dead letters")]
    DeadLetters(#[source] processors::redrive::RedriveError),
    #[error("injecting the fault")]
    Fault(#[from] InjectError),
}

/// Where the load goes.
pub enum Target<'a> {
    /// The local pipeline: also watched (consumers' metrics, CPU) and checked after the drain
    /// (every accepted order in the orders table, no duplicate effect, no dead letter).
    Local(&'a LocalPipeline),
    /// A deployed stack's API.
    Deployed { gateway_url: String },
}

/// Each customer's bearer token.
pub enum Tokens {
    /// Signed here with the local stack's key, for `customer-00000`, `customer-00001`, ...
    Local(TokenIssuer),
    /// Given (a deployed stack's Cognito ID tokens), one customer each.
    Given(Vec<String>),
}

impl Tokens {
    fn token(&self, customer: usize) -> String {
        match self {
            Self::Local(issuer) => issuer.token(&sample::customer_id(customer), 3600),
            Self::Given(tokens) => tokens[customer % tokens.len()].clone(),
        }
    }
}

pub struct RunOptions {
    pub profile: Profile,
    pub profile_name: String,
    pub scale: f64,
    /// Customers sending; with given tokens, at most one per token.
    pub customers: usize,
    pub skew: f64,
    pub mix: Mix,
    /// Fraction of accepted single orders followed with `GET /orders/{id}` until they are
    /// through the saga, for the latency to materialised and to finished, and the lag.
    pub track: f64,
    /// Requests in flight at most; an arrival beyond it is counted as unsent.
    pub max_in_flight: usize,
    pub seed: u64,
    pub drain_timeout: Duration,
    pub progress: bool,
    /// A fault to inject into the local pipeline for a window of the schedule.
    pub fault: Option<FaultPlan>,
}

/// What a run did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub profile: String,
    pub description: String,
    pub scale: f64,
    pub target: String,
    pub customers: usize,
    pub skew: f64,
    pub schedule_seconds: f64,
    /// Requests the profile asks for in all.
    pub requests_offered: f64,
    pub requests_sent: u64,
    pub orders_sent: u64,
    pub unsent: u64,
    pub orders_accepted: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Orders still throttled after every attempt: refused, and the client told so.
    pub gave_up: u64,
    pub throttled: u64,
    /// The first unexpected answers, for a look.
    pub problems: Vec<String>,
    pub post_ms: Percentiles,
    pub to_materialised_ms: Percentiles,
    pub to_finished_ms: Percentiles,
    pub tracked: usize,
    /// Final statuses of the tracked orders; `unfinished` for those the drain did not see end.
    pub tracked_statuses: BTreeMap<String, usize>,
    pub drain_seconds: f64,
    pub max_behind_latest_ms: Option<u64>,
    pub max_record_age_ms: Option<u64>,
    pub phases: Vec<PhaseResult>,
    pub local: Option<LocalView>,
    pub fault: Option<FaultResult>,
}

/// What the local pipeline shows after the drain.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalView {
    /// Accepted orders not in the orders table after the drain.
    pub lost: usize,
    pub duplicate_effects: usize,
    pub dead_letters: usize,
    pub peak_rss_mib: BTreeMap<String, f64>,
}

/// One phase of the profile, from its seconds.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseResult {
    pub name: String,
    pub start_second: usize,
    pub seconds: usize,
    /// Mean requests a second the profile asked for.
    pub target_rate: f64,
    pub sent_orders_per_second: f64,
    pub accepted_orders_per_second: f64,
    pub throttled_per_second: f64,
    /// Records a second each consumer handled.
    pub handled_per_second: BTreeMap<String, f64>,
    pub post_p99_ms: f64,
    pub max_behind_latest_ms: Option<u64>,
    pub max_record_age_ms: Option<u64>,
    pub max_oldest_unfinished_ms: Option<u64>,
    /// Mean percent of one core each part used.
    pub cpu: BTreeMap<String, f64>,
}

struct Tracked {
    customer: usize,
    /// Seconds from the start the request was due.
    intended: f64,
    materialised: bool,
    status: Option<String>,
}

struct Shared {
    http: reqwest::Client,
    gateway: String,
    tokens: Tokens,
    start: Instant,
    recorder: Mutex<Recorder>,
    tracked: Mutex<HashMap<Uuid, Tracked>>,
    accepted: Mutex<Vec<Uuid>>,
    problems: Mutex<Vec<String>>,
}

/// A poisoned lock only means another task panicked mid-update; the counts stay usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn problem(&self, problem: String) {
        let mut problems = lock(&self.problems);
        if problems.len() < 10 {
            problems.push(problem);
        }
    }
}

/// Polls for tracked orders this often.
const TRACK_INTERVAL: Duration = Duration::from_millis(250);

pub async fn run(
    options: RunOptions,
    target: Target<'_>,
    tokens: Tokens,
) -> Result<(Summary, Vec<Second>), LoadError> {
    let customers = match &tokens {
        Tokens::Given(given) => options.customers.min(given.len()),
        Tokens::Local(_) => options.customers,
    };
    let mut population = Population::new(customers, options.skew, options.mix)?;
    let gateway = match &target {
        Target::Local(pipeline) => pipeline.gateway_url.clone(),
        Target::Deployed { gateway_url } => gateway_url.trim_end_matches('/').to_owned(),
    };
    let start_unix_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let shared = Arc::new(Shared {
        http: reqwest::Client::new(),
        gateway,
        tokens,
        start: Instant::now(),
        recorder: Mutex::new(Recorder::default()),
        tracked: Mutex::new(HashMap::new()),
        accepted: Mutex::new(Vec::new()),
        problems: Mutex::new(Vec::new()),
    });
    let profile = &options.profile;
    {
        let mut recorder = lock(&shared.recorder);
        for second in 0..profile.seconds().ceil() as usize {
            let rate = profile.at(second as f64 + 0.5).map_or(0.0, |(_, r)| r);
            recorder.second(second as f64).target_rate = rate;
        }
    }

    let bar = if options.progress {
        ProgressBar::new(profile.seconds().ceil() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} s  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(watch_every_second(
        shared.clone(),
        local_watch(&target, start_unix_ms),
        bar.clone(),
        stopped.clone(),
    ));
    let poller = tokio::spawn(poll_tracked(shared.clone(), stopped));

    // The schedule: Poisson arrivals at the profile's rate, each request on its own task.
    let mut rng = StdRng::seed_from_u64(options.seed);
    let in_flight = Arc::new(Semaphore::new(options.max_in_flight.max(1)));
    let mut requests = JoinSet::new();
    let schedule = async {
        let mut t = 0.0;
        while let Some((_, rate)) = profile.at(t) {
            match Exp::new(rate) {
                Ok(gap) if rate > 0.0 => t += gap.sample(&mut rng),
                _ => {
                    t += 0.01;
                    continue;
                }
            }
            if profile.at(t).is_none() {
                break;
            }
            tokio::time::sleep_until(shared.start + Duration::from_secs_f64(t)).await;
            let request = population.next(&mut rng);
            let track = rng.random_bool(options.track);
            match in_flight.clone().try_acquire_owned() {
                Ok(permit) => {
                    lock(&shared.recorder).sent(t, request.orders());
                    let shared = shared.clone();
                    requests.spawn(async move {
                        send(&shared, request, t, track).await;
                        drop(permit);
                    });
                }
                Err(_) => lock(&shared.recorder).unsent(t),
            }
            while requests.try_join_next().is_some() {}
        }
        bar.set_message("waiting for the last answers");
        while requests.join_next().await.is_some() {}
    };
    let injection = async {
        match (options.fault, &target) {
            (Some(plan), Target::Local(pipeline)) => {
                Some(fault::inject(plan, pipeline, shared.start).await)
            }
            _ => None,
        }
    };
    let ((), injected) = tokio::join!(schedule, injection);
    let injected = injected.transpose()?;

    // The drain: until every tracked order is through the saga.
    let drain_started = Instant::now();
    bar.set_message("draining: waiting for the tracked orders to finish");
    while drain_started.elapsed() < options.drain_timeout
        && lock(&shared.tracked).values().any(|t| t.status.is_none())
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let local = match &target {
        Target::Local(pipeline) => {
            let remaining = options
                .drain_timeout
                .saturating_sub(drain_started.elapsed());
            Some(check_local(pipeline, &shared, remaining).await?)
        }
        Target::Deployed { .. } => None,
    };
    let drain_seconds = drain_started.elapsed().as_secs_f64();
    // One more second of watching, so the last metrics lines are in.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _ = stop.send(true);
    let _ = tokio::join!(watcher, poller);
    bar.finish_and_clear();

    let recorder = lock(&shared.recorder);
    let seconds = recorder.seconds().to_vec();
    let total = |f: fn(&Second) -> u64| seconds.iter().map(f).sum::<u64>();
    let mut tracked_statuses = BTreeMap::new();
    for tracked in lock(&shared.tracked).values() {
        let status = tracked
            .status
            .clone()
            .unwrap_or_else(|| "unfinished".into());
        *tracked_statuses.entry(status).or_default() += 1;
    }
    let summary = Summary {
        profile: options.profile_name,
        description: profile.description.clone(),
        scale: options.scale,
        target: shared.gateway.clone(),
        customers,
        skew: options.skew,
        schedule_seconds: profile.seconds(),
        requests_offered: profile.requests(),
        requests_sent: total(|s| s.sent_requests),
        orders_sent: total(|s| s.sent_orders),
        unsent: total(|s| s.unsent),
        orders_accepted: total(|s| s.accepted_orders),
        rejected: total(|s| s.rejected),
        failed: total(|s| s.failed),
        gave_up: total(|s| s.gave_up),
        throttled: total(|s| s.throttled),
        problems: lock(&shared.problems).clone(),
        post_ms: recorder.post(),
        to_materialised_ms: recorder.to_materialised(),
        to_finished_ms: recorder.to_finished(),
        tracked: tracked_statuses.values().sum(),
        tracked_statuses,
        drain_seconds,
        max_behind_latest_ms: seconds.iter().filter_map(|s| s.behind_latest_ms).max(),
        max_record_age_ms: seconds.iter().filter_map(|s| s.record_age_ms).max(),
        phases: phase_results(profile, &recorder),
        local,
        fault: options
            .fault
            .zip(injected)
            .map(|(plan, injected)| fault::assess(plan.scenario, injected, &seconds)),
    };
    Ok((summary, seconds))
}

fn local_watch(target: &Target<'_>, start_unix_ms: i64) -> Option<(MetricsFollower, CpuSampler)> {
    let Target::Local(pipeline) = target else {
        return None;
    };
    let logs = CONSUMERS
        .iter()
        .map(|c| ((*c).to_owned(), pipeline.log(c)))
        .collect();
    let processes = PROCESSES
        .iter()
        .filter_map(|name| Some(((*name).to_owned(), pipeline.pid(name)?)))
        .collect();
    Some((
        MetricsFollower::new(logs, start_unix_ms),
        CpuSampler::new(processes),
    ))
}

/// Once a second: the consumers' metrics and the CPU (local pipeline), the oldest tracked
/// order not yet materialised and not yet finished, and the progress bar.
async fn watch_every_second(
    shared: Arc<Shared>,
    mut local: Option<(MetricsFollower, CpuSampler)>,
    bar: ProgressBar,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last = shared.now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let now = shared.now();
        let (unmaterialised, unfinished) = {
            let tracked = lock(&shared.tracked);
            let oldest = |pending: &dyn Fn(&Tracked) -> bool| {
                tracked
                    .values()
                    .filter(|t| pending(t))
                    .map(|t| ((now - t.intended).max(0.0) * 1000.0) as u64)
                    .max()
                    .or(Some(0))
            };
            (
                oldest(&|t| !t.materialised),
                oldest(&|t| t.status.is_none()),
            )
        };
        let mut recorder = lock(&shared.recorder);
        if let Some((metrics, cpu)) = &mut local {
            metrics.follow(&mut recorder);
            let used = cpu.sample(now - last);
            recorder.second(now - 0.5).cpu = used;
        }
        let second = recorder.second(now - 0.5);
        second.oldest_unmaterialised_ms = unmaterialised;
        second.oldest_unfinished_ms = unfinished;
        let accepted = second.accepted_orders;
        let behind = recorder
            .seconds()
            .iter()
            .rev()
            .take(3)
            .find_map(|s| s.record_age_ms);
        drop(recorder);
        bar.set_position(now as u64);
        bar.set_message(format!(
            "accepted {accepted} orders/s, consumers behind {:.1} s, oldest unfinished {:.1} s",
            behind.unwrap_or(0) as f64 / 1000.0,
            unfinished.unwrap_or(0) as f64 / 1000.0
        ));
        last = now;
    }
}

/// Sends one request and records how it ended.
async fn send(shared: &Shared, request: Request, intended: f64, track: bool) {
    let url = format!("{}/orders", shared.gateway);
    let (ending, throttled) = match request {
        Request::Order { customer, order } => {
            let token = shared.tokens.token(customer);
            let body = sample::to_json(&order).to_string().into_bytes();
            let answer =
                client::post(&shared.http, &url, Some(&token), "application/json", body).await;
            if answer.status == 202 {
                lock(&shared.accepted).push(order.order_id);
                if track {
                    lock(&shared.tracked).insert(
                        order.order_id,
                        Tracked {
                            customer,
                            intended,
                            materialised: false,
                            status: None,
                        },
                    );
                }
                (
                    Ending::Accepted {
                        orders: 1,
                        gave_up: 0,
                    },
                    answer.throttled,
                )
            } else if matches!(answer.status, 429 | 503) {
                // `post` waited out every attempt it had: refused, and the client knows it.
                (
                    Ending::Accepted {
                        orders: 0,
                        gave_up: 1,
                    },
                    answer.throttled,
                )
            } else {
                shared.problem(format!(
                    "valid order answered {}: {}",
                    answer.status, answer.body
                ));
                (Ending::Failed, answer.throttled)
            }
        }
        Request::Batch { customer, orders } => {
            let token = shared.tokens.token(customer);
            let answer = client::post_batch(&shared.http, &shared.gateway, &token, orders).await;
            let accepted = answer.accepted.len();
            lock(&shared.accepted).extend(answer.accepted);
            let problems = !answer.problems.is_empty();
            for problem in answer.problems {
                shared.problem(problem);
            }
            let ending = if problems {
                Ending::Failed
            } else {
                Ending::Accepted {
                    orders: accepted,
                    gave_up: answer.gave_up,
                }
            };
            (ending, answer.throttled)
        }
        Request::Bad {
            customer,
            kind,
            order,
        } => {
            let token = (kind != sample::BadInput::NoToken).then(|| shared.tokens.token(customer));
            let content_type = if kind == sample::BadInput::WrongContentType {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            let answer = client::post(
                &shared.http,
                &url,
                token.as_deref(),
                content_type,
                kind.body(&order),
            )
            .await;
            if answer.status == kind.expected_status() {
                (Ending::Rejected, answer.throttled)
            } else {
                shared.problem(format!(
                    "{kind:?} answered {}: {}",
                    answer.status, answer.body
                ));
                (Ending::Failed, answer.throttled)
            }
        }
    };
    let ended = shared.now();
    lock(&shared.recorder).answered(intended, ended, ending, throttled);
}

/// Follows the tracked orders with `GET /orders/{id}` until each has a final status.
async fn poll_tracked(shared: Arc<Shared>, mut stopped: tokio::sync::watch::Receiver<bool>) {
    loop {
        let pending: Vec<(Uuid, usize)> = lock(&shared.tracked)
            .iter()
            .filter(|(_, t)| t.status.is_none())
            .map(|(id, t)| (*id, t.customer))
            .collect();
        let shared_ref = &shared;
        futures::stream::iter(pending)
            .for_each_concurrent(16, |(order_id, customer)| async move {
                let shared = shared_ref;
                let response = shared
                    .http
                    .get(format!("{}/orders/{order_id}", shared.gateway))
                    .bearer_auth(shared.tokens.token(customer))
                    .send()
                    .await;
                let Ok(response) = response else { return };
                if response.status() != 200 {
                    return;
                }
                let Ok(order) = response.json::<serde_json::Value>().await else {
                    return;
                };
                let status = order["status"].as_str().unwrap_or_default().to_owned();
                let now = shared.now();
                let mut tracked = lock(&shared.tracked);
                let Some(entry) = tracked.get_mut(&order_id) else {
                    return;
                };
                let mut recorder = lock(&shared.recorder);
                if !entry.materialised {
                    entry.materialised = true;
                    recorder.materialised(now - entry.intended);
                }
                if FINAL_STATUSES.contains(&status.as_str()) {
                    recorder.finished(now - entry.intended);
                    entry.status = Some(status);
                }
            })
            .await;
        tokio::select! {
            _ = tokio::time::sleep(TRACK_INTERVAL) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// After the drain on the local pipeline: every accepted order in the orders table (waiting up
/// to `patience` for the last ones), the stand-ins' effect ledger, the dead-letter bucket.
async fn check_local(
    pipeline: &LocalPipeline,
    shared: &Shared,
    patience: Duration,
) -> Result<LocalView, LoadError> {
    let accepted: Vec<Uuid> = {
        let unique: HashSet<Uuid> = lock(&shared.accepted).iter().copied().collect();
        unique.into_iter().collect()
    };
    let dynamodb = pipeline.stack.dynamodb();
    let table = &pipeline.stack.names.orders_table;
    let started = Instant::now();
    let mut missing = accepted;
    loop {
        missing = inspect::missing_orders(&dynamodb, table, &missing)
            .await
            .map_err(LoadError::Orders)?;
        if missing.is_empty() || started.elapsed() >= patience {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let dead_letters = processors::redrive::DeadLetterBucket::new(
        pipeline.stack.s3(),
        &pipeline.stack.names.dead_letter_bucket,
    )
    .letters(&processors::redrive::Selection::default())
    .await
    .map_err(LoadError::DeadLetters)?
    .len();
    Ok(LocalView {
        lost: missing.len(),
        duplicate_effects: pipeline.stand_ins.ledger().duplicates.len(),
        dead_letters,
        peak_rss_mib: PROCESSES
            .iter()
            .filter_map(|p| Some(((*p).to_owned(), pipeline.peak_rss_mib(p)?)))
            .collect(),
    })
}

fn phase_results(profile: &Profile, recorder: &Recorder) -> Vec<PhaseResult> {
    let seconds = recorder.seconds();
    let mut start = 0.0;
    let mut results = Vec::new();
    for phase in &profile.phases {
        let (from, to) = (
            start as usize,
            ((start + phase.seconds) as usize).min(seconds.len()),
        );
        start += phase.seconds;
        let window = &seconds[from.min(to)..to];
        if window.is_empty() {
            continue;
        }
        let n = window.len() as f64;
        let mean = |f: &dyn Fn(&Second) -> f64| window.iter().map(f).sum::<f64>() / n;
        let mut cpu: BTreeMap<String, f64> = BTreeMap::new();
        for s in window {
            for (part, used) in &s.cpu {
                *cpu.entry(part.clone()).or_default() += used / n;
            }
        }
        results.push(PhaseResult {
            name: phase.name.clone(),
            start_second: from,
            seconds: window.len(),
            target_rate: mean(&|s| s.target_rate),
            sent_orders_per_second: mean(&|s| s.sent_orders as f64),
            accepted_orders_per_second: mean(&|s| s.accepted_orders as f64),
            throttled_per_second: mean(&|s| s.throttled as f64),
            handled_per_second: CONSUMERS
                .iter()
                .map(|c| {
                    let handled = mean(&|s| s.handled.get(*c).copied().unwrap_or(0) as f64);
                    ((*c).to_owned(), handled)
                })
                .collect(),
            post_p99_ms: recorder.post_between(from, to).p99,
            max_behind_latest_ms: window.iter().filter_map(|s| s.behind_latest_ms).max(),
            max_record_age_ms: window.iter().filter_map(|s| s.record_age_ms).max(),
            max_oldest_unfinished_ms: window.iter().filter_map(|s| s.oldest_unfinished_ms).max(),
            cpu,
        });
    }
    results
}
