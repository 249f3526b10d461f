//! What a load run measured: per-second counts and latency histograms (HDR).
//!
//! Latencies run from each request's *intended* send time, the moment the schedule asked for
//! it, not from when it went out, so time a request waited behind a slow system counts
//! (no coordinated omission).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies are kept in microseconds, up to ten minutes.
const MAX_MICROS: u64 = 600_000_000;

fn histogram(significant_figures: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, significant_figures)
        .unwrap_or_else(|e| unreachable!("fixed bounds are valid: {e}"))
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// 202, or a batch's entries accepted: `orders` of them; `gave_up` more were still
    /// answered 429 or 503 after every attempt (not accepted, and the client knows it).
    Accepted { orders: usize, gave_up: usize },
    /// A bad request answered with its expected 4xx.
    Rejected,
    /// Anything else: a 5xx, no answer, a valid order refused, a bad one accepted.
    Failed,
}

/// One second of the run.
#[derive(Debug, Clone, Default)]
pub struct Second {
    /// The profile's rate then, in requests a second.
    pub target_rate: f64,
    pub sent_requests: u64,
    pub sent_orders: u64,
    /// Arrivals the client could not send: its in-flight limit was reached.
    pub unsent: u64,
    pub accepted_orders: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Orders still throttled after every attempt: the client stopped, told they were not
    /// accepted.
    pub gave_up: u64,
    /// 429 and 503 answers, each retried after `Retry-After`.
    pub throttled: u64,
    /// Records each consumer handled, from its metrics lines.
    pub handled: BTreeMap<String, u64>,
    /// The largest `MillisBehindLatest` any consumer reported: how far its reading is behind.
    pub behind_latest_ms: Option<u64>,
    /// The oldest record any consumer finished a batch with (`RecordAgeMs`): how far its
    /// handling is behind, queueing inside the consumer included.
    pub record_age_ms: Option<u64>,
    /// Of the tracked orders: the oldest accepted but not yet in the orders table, and the
    /// oldest not yet through the saga.
    pub oldest_unmaterialised_ms: Option<u64>,
    pub oldest_unfinished_ms: Option<u64>,
    /// CPU used in this second by each part of the local pipeline, in percent of one core.
    pub cpu: BTreeMap<String, f64>,
    post: Option<Histogram<u64>>,
}

impl Second {
    /// POST latency at `quantile` (0–1) of the requests intended in this second, in ms.
    pub fn post_ms(&self, quantile: f64) -> Option<f64> {
        let h = self.post.as_ref()?;
        Some(h.value_at_quantile(quantile) as f64 / 1000.0)
    }
}

/// p50, p95, p99 and max, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

pub struct Recorder {
    seconds: Vec<Second>,
    post: Histogram<u64>,
    to_materialised: Histogram<u64>,
    to_finished: Histogram<u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            seconds: Vec::new(),
            post: histogram(3),
            to_materialised: histogram(3),
            to_finished: histogram(3),
        }
    }
}

fn micros(seconds: f64) -> u64 {
    ((seconds * 1e6) as u64).clamp(1, MAX_MICROS)
}

impl Recorder {
    /// The second `at` (seconds from the start) falls in.
    pub fn second(&mut self, at: f64) -> &mut Second {
        let index = at.max(0.0) as usize;
        if self.seconds.len() <= index {
            self.seconds.resize_with(index + 1, Second::default);
        }
        &mut self.seconds[index]
    }

    pub fn sent(&mut self, at: f64, orders: usize) {
        let second = self.second(at);
        second.sent_requests += 1;
        second.sent_orders += orders as u64;
    }

    pub fn unsent(&mut self, at: f64) {
        self.second(at).unsent += 1;
    }

    /// A request intended at `intended` ended at `ended` (seconds from the start).
    pub fn answered(&mut self, intended: f64, ended: f64, ending: Ending, throttled: u32) {
        let latency = micros(ended - intended);
        let _ = self.post.record(latency);
        let at_intended = self.second(intended);
        at_intended.throttled += u64::from(throttled);
        let _ = at_intended
            .post
            .get_or_insert_with(|| histogram(2))
            .record(latency);
        let at_end = self.second(ended);
        match ending {
            Ending::Accepted { orders, gave_up } => {
                at_end.accepted_orders += orders as u64;
                at_end.gave_up += gave_up as u64;
            }
            Ending::Rejected => at_end.rejected += 1,
            Ending::Failed => at_end.failed += 1,
        }
    }

    /// A tracked order was first seen in the orders table `seconds` after it was intended.
    pub fn materialised(&mut self, seconds: f64) {
        let _ = self.to_materialised.record(micros(seconds));
    }

    /// A tracked order reached a final status `seconds` after it was intended.
    pub fn finished(&mut self, seconds: f64) {
        let _ = self.to_finished.record(micros(seconds));
    }

    pub fn seconds(&self) -> &[Second] {
        &self.seconds
    }

    pub fn post(&self) -> Percentiles {
        Percentiles::of(&self.post)
    }

    pub fn to_materialised(&self) -> Percentiles {
        Percentiles::of(&self.to_materialised)
    }

    pub fn to_finished(&self) -> Percentiles {
        Percentiles::of(&self.to_finished)
    }

    /// POST latency of the requests intended in seconds `from..to`.
    pub fn post_between(&self, from: usize, to: usize) -> Percentiles {
        let mut merged = histogram(2);
        for second in self.seconds.get(from..to).unwrap_or(&[]) {
            if let Some(h) = &second.post {
                let _ = merged.add(h);
            }
        }
        Percentiles::of(&merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_answer_counts_from_when_it_was_due_and_lands_in_the_second_it_ended() {
        let mut r = Recorder::default();
        r.sent(0.5, 1);
        // Due at 0.5 s, answered at 2.5 s: 2 s of latency, even if it went out late.
        r.answered(
            0.5,
            2.5,
            Ending::Accepted {
                orders: 1,
                gave_up: 0,
            },
            1,
        );
        r.sent(0.7, 10);
        r.answered(
            0.7,
            0.71,
            Ending::Accepted {
                orders: 10,
                gave_up: 0,
            },
            0,
        );
        r.answered(1.2, 1.3, Ending::Rejected, 0);
        let s = r.seconds();
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].sent_requests, s[0].sent_orders), (2, 11));
        assert_eq!(s[0].accepted_orders, 10);
        assert_eq!(s[2].accepted_orders, 1);
        assert_eq!(s[0].throttled, 1);
        assert_eq!(s[1].rejected, 1);
        let p99 = s[0].post_ms(0.99).expect("two latencies in second 0");
        assert!((p99 - 2000.0).abs() < 20.0, "{p99}");
        let all = r.post();
        assert_eq!(all.count, 3);
        assert!((all.max - 2000.0).abs() < 2.0, "{all:?}");
    }
}
