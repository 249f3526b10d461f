//! What the load generator watches once a second on the local pipeline: each consumer's
//! metrics lines (records handled, `MillisBehindLatest`, `RecordAgeMs`) and the CPU each part uses.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use procfs::process::Process;

use super::recorder::Recorder;
use crate::pipeline::read_new;

/// Follows the consumers' logs for their EMF metrics lines.
pub struct MetricsFollower {
    logs: Vec<(String, PathBuf, u64)>,
    /// Unix time of the run's start, in ms: metrics lines carry Unix timestamps.
    start_ms: i64,
}

impl MetricsFollower {
    pub fn new(logs: Vec<(String, PathBuf)>, start_ms: i64) -> Self {
        Self {
            logs: logs.into_iter().map(|(c, p)| (c, p, 0)).collect(),
            start_ms,
        }
    }

    /// Reads what the consumers logged since the last call into `recorder`, each batch in the
    /// second its metrics line was written.
    pub fn follow(&mut self, recorder: &mut Recorder) {
        for (consumer, path, offset) in &mut self.logs {
            let Ok((text, next)) = read_new(path, *offset) else {
                continue;
            };
            *offset = next;
            for line in text.lines().filter(|l| l.contains("\"_aws\"")) {
                let Ok(metrics) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                let Some(at_ms) = metrics["_aws"]["Timestamp"].as_i64() else {
                    continue;
                };
                let second = recorder.second((at_ms - self.start_ms) as f64 / 1000.0);
                *second.handled.entry(consumer.clone()).or_default() +=
                    metrics["Handled"].as_u64().unwrap_or(0);
                for (field, max) in [
                    ("MillisBehindLatest", &mut second.behind_latest_ms),
                    ("RecordAgeMs", &mut second.record_age_ms),
                ] {
                    if let Some(value) = metrics[field].as_u64() {
                        let max = max.get_or_insert(0);
                        *max = (*max).max(value);
                    }
                }
            }
        }
    }
}

/// The parts of the local pipeline that use CPU: the gateway's and the consumers' processes,
/// and, in this process, the engines' threads (each engine runs on threads of its own name).
pub struct CpuSampler {
    processes: Vec<(String, i32)>,
    last: HashMap<String, u64>,
    ticks_per_second: f64,
}

/// This process's threads by name prefix, and the part they belong to; the rest is the load
/// client itself with the archive's Firehose stand-in.
const THREADS: [(&str, &str); 4] = [
    ("kinesis-engine", "kinesis engine"),
    ("dynamodb-engine", "dynamodb engine"),
    ("s3-engine", "s3 engine"),
    ("downstream-engi", "downstream stand-ins"),
];
const REST: &str = "load client + archive";

impl CpuSampler {
    pub fn new(processes: Vec<(String, u32)>) -> Self {
        Self {
            processes: processes
                .into_iter()
                .filter_map(|(name, pid)| Some((name, i32::try_from(pid).ok()?)))
                .collect(),
            last: HashMap::new(),
            ticks_per_second: procfs::ticks_per_second() as f64,
        }
    }

    /// CPU ticks used so far by each part.
    fn ticks(&self) -> BTreeMap<String, u64> {
        let mut ticks = BTreeMap::new();
        for (name, pid) in &self.processes {
            if let Ok(stat) = Process::new(*pid).and_then(|p| p.stat()) {
                ticks.insert(name.clone(), stat.utime + stat.stime);
            }
        }
        if let Ok(tasks) = Process::myself().and_then(|p| p.tasks()) {
            for task in tasks.flatten() {
                let Ok(stat) = task.stat() else { continue };
                let part = THREADS
                    .iter()
                    .find(|(prefix, _)| stat.comm.starts_with(prefix))
                    .map_or(REST, |(_, part)| part);
                *ticks.entry(part.to_owned()).or_default() += stat.utime + stat.stime;
            }
        }
        ticks
    }

    /// Percent of one core each part used since the last sample, `elapsed` seconds ago; empty
    /// on the first call. A thread that ended since is not counted.
    pub fn sample(&mut self, elapsed: f64) -> BTreeMap<String, f64> {
        let now = self.ticks();
        let mut used = BTreeMap::new();
        if !self.last.is_empty() && elapsed > 0.0 {
            for (part, ticks) in &now {
                let before = self.last.get(part).copied().unwrap_or(0);
                let seconds = ticks.saturating_sub(before) as f64 / self.ticks_per_second;
                used.insert(part.clone(), 100.0 * seconds / elapsed);
            }
        }
        self.last = now.into_iter().collect();
        used
    }
}
