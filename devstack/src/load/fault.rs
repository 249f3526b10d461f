//! Faults injected into the local pipeline during a load run, and how long it took to recover.
//! See docs/reliability.md.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::recorder::Second;
use crate::faults::{Effects, Fault, FaultError, Upstream};
use crate::pipeline::{LocalPipeline, PipelineError};

/// What goes wrong during the fault window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// DynamoDB unreachable: nothing the gateway and the consumers send it is answered.
    DynamodbDown,
    /// Kinesis shards take 5 writes a second instead of 1,000: the gateway's and the
    /// consumers' puts beyond are refused with `ProvisionedThroughputExceededException`. Low
    /// enough that the gateway's puts alone exceed it at 20 orders/s on four shards, however
    /// slowly the consumers keep up.
    KinesisThrottled,
    /// Kinesis connections reset (each with probability 0.2 when next used) and every
    /// exchange slowed by 50–250 ms.
    KinesisResets,
    /// A consumer killed with SIGKILL every 3 seconds, in turn, and started again a second
    /// later, as a crashed task or a lost container is.
    ConsumerKills,
    /// The downstream services answer after 1–2 seconds.
    DownstreamSlow,
    /// The downstream services unreachable: every call waits for the client's timeout.
    DownstreamDown,
}

impl Scenario {
    pub fn describe(self) -> &'static str {
        match self {
            Self::DynamodbDown => "DynamoDB unreachable (blackholed)",
            Self::KinesisThrottled => "Kinesis shards throttled to 5 writes/s",
            Self::KinesisResets => "Kinesis connections reset (p = 0.2) and slowed 50–250 ms",
            Self::ConsumerKills => "a consumer SIGKILLed every 3 s, restarted 1 s later",
            Self::DownstreamSlow => "downstream services answer after 1–2 s",
            Self::DownstreamDown => "downstream services unreachable (blackholed)",
        }
    }

    fn action(self) -> Action {
        match self {
            Self::DynamodbDown => Action::Network(Upstream::Dynamodb, Fault::Unreachable),
            Self::KinesisThrottled => Action::Throttle {
                records_per_shard: 5,
            },
            Self::KinesisResets => Action::Network(
                Upstream::Kinesis,
                Fault::Flaky {
                    reset_probability: 0.2,
                    min_ms: 50.0,
                    max_ms: 250.0,
                },
            ),
            Self::ConsumerKills => Action::Kill,
            Self::DownstreamSlow => Action::Network(
                Upstream::Downstream,
                Fault::Slow {
                    min_ms: 1000.0,
                    max_ms: 2000.0,
                },
            ),
            Self::DownstreamDown => Action::Network(Upstream::Downstream, Fault::Unreachable),
        }
    }
}

/// How a scenario is injected.
enum Action {
    /// A proxy fault for the whole window.
    Network(Upstream, Fault),
    /// The Kinesis engine's per-shard write limit lowered for the window.
    Throttle { records_per_shard: u64 },
    /// Consumers SIGKILLed in turn.
    Kill,
}

/// A fault for a window of the run.
#[derive(Clone, Copy, Debug)]
pub struct FaultPlan {
    pub scenario: Scenario,
    /// From the start of the schedule.
    pub at: Duration,
    pub lasting: Duration,
}

/// The consumers a kill scenario takes down, in turn.
const KILLED: [&str; 4] = ["materialiser", "inventory", "fulfilment", "accounting"];
const KILL_EVERY: Duration = Duration::from_secs(3);
const RESTART_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("setting the {0:?} fault")]
    Proxy(Scenario, #[source] FaultError),
    #[error("{0:?} needs the pipeline started with fault proxies")]
    NoProxies(Scenario),
    #[error("{0:?} needs ferrokinesis with shard limits (not kinesis-mock, not --no-shard-limits)")]
    NoShardLimits(Scenario),
    #[error("killing or restarting a consumer")]
    Process(#[source] PipelineError),
}

/// What was injected, in seconds from the start of the schedule.
#[derive(Clone, Copy, Debug)]
pub struct Injected {
    pub from: f64,
    pub to: f64,
    pub kills: u32,
    /// What the proxy did to the traffic, for a network fault.
    pub effects: Option<Effects>,
    /// Writes Kinesis refused for the shards' limits during the window, for a throttle.
    pub refused_writes: Option<u64>,
}

/// Waits for the plan's window, injects the fault, and takes it away at the window's end.
pub async fn inject(
    plan: FaultPlan,
    pipeline: &LocalPipeline,
    start: Instant,
) -> Result<Injected, InjectError> {
    let action = plan.scenario.action();
    let proxies = pipeline.proxies.as_ref();
    if matches!(action, Action::Network(..)) && proxies.is_none() {
        return Err(InjectError::NoProxies(plan.scenario));
    }
    // Checked before the window, so a run that cannot throttle fails at once.
    if matches!(action, Action::Throttle { .. }) && !pipeline.stack.throttle_kinesis(None) {
        return Err(InjectError::NoShardLimits(plan.scenario));
    }
    tokio::time::sleep_until(start + plan.at).await;
    let from = start.elapsed().as_secs_f64();
    let end = start + plan.at + plan.lasting;
    let mut kills = 0;
    let mut effects = None;
    let mut refused_writes = None;
    match (action, proxies) {
        (Action::Throttle { records_per_shard }, _) => {
            let before = pipeline.stack.kinesis_refused_writes().unwrap_or(0);
            pipeline.stack.throttle_kinesis(Some(records_per_shard));
            tokio::time::sleep_until(end).await;
            pipeline.stack.throttle_kinesis(None);
            refused_writes = pipeline
                .stack
                .kinesis_refused_writes()
                .map(|after| after.saturating_sub(before));
        }
        (Action::Network(upstream, fault), Some(proxies)) => {
            let set = |fault| async move {
                proxies
                    .set(upstream, fault)
                    .await
                    .map_err(|e| InjectError::Proxy(plan.scenario, e))
            };
            let before = proxies.effects(upstream);
            set(Some(fault)).await?;
            tokio::time::sleep_until(end).await;
            set(None).await?;
            let after = proxies.effects(upstream);
            effects = Some(Effects {
                connection_resets: after
                    .connection_resets
                    .saturating_sub(before.connection_resets),
                blackholed: after.blackholed.saturating_sub(before.blackholed),
                delayed: after.delayed.saturating_sub(before.delayed),
            });
        }
        (Action::Network(..), None) => return Err(InjectError::NoProxies(plan.scenario)),
        (Action::Kill, _) => {
            // SIGKILL one consumer after another until the window ends.
            while Instant::now() + RESTART_AFTER <= end {
                let victim = KILLED[kills as usize % KILLED.len()];
                pipeline.kill(victim).map_err(InjectError::Process)?;
                kills += 1;
                tokio::time::sleep(RESTART_AFTER).await;
                pipeline.restart(victim).map_err(InjectError::Process)?;
                tokio::time::sleep(KILL_EVERY - RESTART_AFTER).await;
            }
            tokio::time::sleep_until(end).await;
        }
    }
    Ok(Injected {
        from,
        to: start.elapsed().as_secs_f64(),
        kills,
        effects,
        refused_writes,
    })
}

/// How the run came through the fault.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultResult {
    pub scenario: Scenario,
    pub description: &'static str,
    pub from_second: f64,
    pub to_second: f64,
    /// Consumers killed, for [`Scenario::ConsumerKills`].
    pub kills: u32,
    /// What the proxy did to the traffic during the window, for a network fault.
    pub proxy_effects: Option<Effects>,
    /// Writes Kinesis refused for the shards' limits during the window, for a throttle.
    pub kinesis_refused_writes: Option<u64>,
    /// The largest age of the oldest tracked order not yet through the saga, before the fault.
    pub normal_lag_ms: u64,
    /// What counts as back to normal: twice that, and at least 2 s.
    pub recovered_below_ms: u64,
    /// The largest age of that order from the fault's start on.
    pub peak_lag_ms: u64,
    /// Seconds from the end of the fault until the lag was back to normal and stayed there;
    /// `None` if it never was within the run.
    pub recovery_seconds: Option<f64>,
}

/// Seconds before the fault that are left out of "normal": the pipeline warming up.
const WARM_UP: usize = 3;
const LEAST_NORMAL_MS: u64 = 2_000;

/// Reads the recovery from the per-second series: the oldest tracked order not yet through
/// the saga, before, during and after the fault.
pub fn assess(scenario: Scenario, injected: Injected, seconds: &[Second]) -> FaultResult {
    let lag = |s: &Second| s.oldest_unfinished_ms.unwrap_or(0);
    let fault_start = injected.from.floor() as usize;
    let fault_end = injected.to.ceil() as usize;
    let normal_lag_ms = seconds
        .iter()
        .take(fault_start)
        .skip(WARM_UP)
        .map(lag)
        .max()
        .unwrap_or(0);
    let threshold = (2 * normal_lag_ms).max(LEAST_NORMAL_MS);
    let peak_lag_ms = seconds.iter().skip(fault_start).map(lag).max().unwrap_or(0);
    // The first second from the fault's end on after which the lag never again passes the
    // threshold.
    let after: Vec<u64> = seconds.iter().skip(fault_end).map(lag).collect();
    let recovery_seconds = match after.iter().rposition(|ms| *ms > threshold) {
        None => Some(0.0),
        Some(last_high) if last_high + 1 < after.len() => Some((last_high + 1) as f64),
        Some(_) => None,
    };
    FaultResult {
        scenario,
        description: scenario.describe(),
        from_second: injected.from,
        to_second: injected.to,
        kills: injected.kills,
        proxy_effects: injected.effects,
        kinesis_refused_writes: injected.refused_writes,
        normal_lag_ms,
        recovered_below_ms: threshold,
        peak_lag_ms,
        recovery_seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(lags: &[u64]) -> Vec<Second> {
        lags.iter()
            .map(|ms| {
                let mut second = Second::default();
                second.oldest_unfinished_ms = Some(*ms);
                second
            })
            .collect()
    }

    fn injected(from: f64, to: f64) -> Injected {
        Injected {
            from,
            to,
            kills: 0,
            effects: None,
            refused_writes: None,
        }
    }

    #[test]
    fn recovery_counts_from_the_faults_end_to_the_last_second_above_normal() {
        //            warm-up      normal     fault          after
        let lags = [
            9000, 9000, 9000, 500, 800, 700, 3000, 6000, 5000, 2500, 900, 1200, 400,
        ];
        let result = assess(Scenario::DynamodbDown, injected(6.0, 8.0), &seconds(&lags));
        assert_eq!(result.normal_lag_ms, 800);
        assert_eq!(result.recovered_below_ms, 2000);
        assert_eq!(result.peak_lag_ms, 6000);
        // Seconds 8 and 9 are above 2 s; from second 10 on it stays below.
        assert_eq!(result.recovery_seconds, Some(2.0));
    }

    #[test]
    fn a_lag_that_never_left_normal_recovers_at_once() {
        let lags = [0, 0, 0, 1500, 1500, 1800, 1900, 1000];
        let result = assess(Scenario::ConsumerKills, injected(4.0, 6.0), &seconds(&lags));
        assert_eq!(result.recovery_seconds, Some(0.0));
    }

    #[test]
    fn a_lag_still_high_at_the_end_has_not_recovered() {
        let lags = [0, 0, 0, 100, 100, 5000, 7000, 9000];
        let result = assess(
            Scenario::DownstreamDown,
            injected(5.0, 6.0),
            &seconds(&lags),
        );
        assert_eq!(result.recovery_seconds, None);
    }

    #[test]
    fn a_normal_lag_above_a_second_doubles_the_threshold() {
        let lags = [0, 0, 0, 1500, 1500, 4000, 2900, 1000];
        let result = assess(
            Scenario::DownstreamSlow,
            injected(5.0, 6.0),
            &seconds(&lags),
        );
        assert_eq!(result.recovered_below_ms, 3000);
        assert_eq!(result.recovery_seconds, Some(0.0));
    }
}
