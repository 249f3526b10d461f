//! The consumer engine: one record handler, applied over a batch with per-customer concurrency,
//! attempt and age limits, and dead letters.
//!
//! Kinesis keeps order per partition key (the customer), and that is the only order the
//! handlers need. So a batch is split by partition key: each key's records run in sequence,
//! different keys run concurrently (at most [`BatchConfig::max_concurrent_keys`] at once), and a
//! transient failure stops only its own key. A record the engine gives up on (poison, or past
//! the attempt or age limit) is dead-lettered and does not stop its key.
//!
//! Both hosts resume a shard at one position, so the outcome is reduced to one: the lowest
//! sequence number that did not succeed ([`BatchOutcome::retry_from`]). Everything before it is
//! done and may be checkpointed ([`BatchOutcome::last_done`]); it and everything after it are
//! delivered again, including records of other keys that succeeded, which the idempotent
//! handlers make harmless. See docs/consumers.md, "Batch semantics".

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use std::panic::AssertUnwindSafe;

use futures::{FutureExt, StreamExt};
use ingest::producer::{Entry, MAX_BATCH_ENTRIES, Producer};
use time::OffsetDateTime;

use crate::dead_letter::{DeadLetter, DeadLetters, GaveUp, GiveUp};
use crate::error_chain;
use crate::failures::{FailureLog, Failures};
use crate::metrics::BatchMetrics;
use crate::record::StreamRecord;

/// Partition keys handled at once when nothing else is configured.
pub const DEFAULT_MAX_CONCURRENT_KEYS: usize = 128;
/// Failed attempts at a record before it is dead-lettered, when nothing else is configured.
/// Below the event source mapping's `MaximumRetryAttempts`, which stays as a backstop.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// Age past which a failing record is dead-lettered, when nothing else is configured. Below the
/// event source mapping's `MaximumRecordAgeInSeconds`, which stays as a backstop.
pub const DEFAULT_MAX_RECORD_AGE: Duration = Duration::from_secs(3600);
/// The environment variables that set [`BatchConfig`].
pub const MAX_CONCURRENT_KEYS_ENV: &str = "CONSUMER_MAX_CONCURRENT_KEYS";
pub const MAX_ATTEMPTS_ENV: &str = "CONSUMER_MAX_ATTEMPTS";
pub const MAX_RECORD_AGE_ENV: &str = "CONSUMER_MAX_RECORD_AGE_SECONDS";

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The record can never succeed (not an envelope, a schema version it cannot read, a
    /// permanent refusal by a downstream service): dead-letter it at once.
    #[error("poison record: {0}")]
    Poison(String),
    /// Something outside the record failed (a dependency, throttling): retry it later, up to
    /// the attempt and age limits.
    #[error("transient failure: {0}")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What a handler did with a record it did not fail on.
///
/// Events to emit are put on the stream (each with its partition key, the customer's) before
/// the record counts as done; if that fails, the record fails transiently and is handled again,
/// so a handler must build its events with deterministic ids (from the order id and its stage):
/// a re-emitted event is then the same event, which consumers deduplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// The record's effect is done (or was already: a duplicate that changes nothing).
    Done,
    /// Done, with events to put on the stream.
    Emit(Vec<Entry>),
    /// Refused for a business reason (out of stock, say): not poison, not retried; counted,
    /// logged with the reason, and it may emit events that say so.
    Rejected { reason: String, emit: Vec<Entry> },
    /// The record is not for this consumer (an event type it does not handle): counted, not an
    /// error.
    Skipped,
}

/// Puts a handler's events on the stream. [`Producer`] in the hosts; anything in tests.
pub trait Emitter: Send + Sync {
    fn emit(&self, events: Vec<Entry>) -> impl Future<Output = Result<(), EmitError>> + Send;
}

#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} events not put on the stream: {cause}")]
pub struct EmitError {
    pub failed: usize,
    pub total: usize,
    pub cause: String,
}

impl Emitter for Producer {
    async fn emit(&self, events: Vec<Entry>) -> Result<(), EmitError> {
        let total = events.len();
        let mut failed = 0;
        let mut cause = String::new();
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            let chunk: Vec<Entry> = events.by_ref().take(MAX_BATCH_ENTRIES).collect();
            for result in self.put_batch(chunk).await {
                if let Err(error) = result {
                    failed += 1;
                    cause = error_chain(&error);
                }
            }
        }
        match failed {
            0 => Ok(()),
            _ => Err(EmitError {
                failed,
                total,
                cause,
            }),
        }
    }
}

/// Handles one record. Must be idempotent: a record may be delivered more than once.
pub trait RecordHandler: Send + Sync {
    fn handle(
        &self,
        record: &StreamRecord,
    ) -> impl Future<Output = Result<Handled, RecordError>> + Send;

    /// Told once `record` is dead-lettered (`letter` says why), before the shard moves past it;
    /// the events returned are put on the stream (a saga stage's `…_failed` event). Called
    /// again if that fails, so the events must have deterministic ids. Return nothing for a
    /// record that is not one of the events this consumer handles: events it emits come back
    /// on the same stream, and answering a failure with an event it cannot read would loop.
    fn dead_lettered(
        &self,
        _record: &StreamRecord,
        _letter: &DeadLetter,
    ) -> impl Future<Output = Vec<Entry>> + Send {
        async { Vec::new() }
    }
}

/// How a batch is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// Partition keys whose records run at the same time; 1 runs the batch in sequence.
    pub max_concurrent_keys: usize,
    /// Failed attempts at a record before it is dead-lettered.
    pub max_attempts: u32,
    /// A record still failing when older than this is dead-lettered.
    pub max_record_age: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_concurrent_keys: DEFAULT_MAX_CONCURRENT_KEYS,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_record_age: DEFAULT_MAX_RECORD_AGE,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{name}={value}: expected a whole number from {min} to {max}")]
pub struct BatchConfigError {
    name: &'static str,
    value: String,
    min: u64,
    max: u64,
}

impl BatchConfig {
    /// The configuration from [`MAX_CONCURRENT_KEYS_ENV`], [`MAX_ATTEMPTS_ENV`] and
    /// [`MAX_RECORD_AGE_ENV`], each falling back to its default when not set.
    pub fn from_env() -> Result<Self, BatchConfigError> {
        Self::parse(|name| std::env::var(name).ok())
    }

    fn parse(var: impl Fn(&'static str) -> Option<String>) -> Result<Self, BatchConfigError> {
        let defaults = Self::default();
        let number = |name: &'static str, min: u64, max: u64, default: u64| {
            let Some(value) = var(name) else {
                return Ok(default);
            };
            match value.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(BatchConfigError {
                    name,
                    value,
                    min,
                    max,
                }),
            }
        };
        Ok(Self {
            max_concurrent_keys: number(
                MAX_CONCURRENT_KEYS_ENV,
                1,
                10_000,
                defaults.max_concurrent_keys as u64,
            )? as usize,
            max_attempts: number(MAX_ATTEMPTS_ENV, 1, 10_000, defaults.max_attempts.into())? as u32,
            max_record_age: Duration::from_secs(number(
                MAX_RECORD_AGE_ENV,
                60,
                604_800,
                defaults.max_record_age.as_secs(),
            )?),
        })
    }
}

/// A record refused for a business reason, with where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRecord {
    pub sequence_number: String,
    pub reason: String,
}

/// A record given up on and kept as a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetteredRecord {
    pub shard_id: String,
    pub sequence_number: String,
    pub gave_up: GaveUp,
    pub reason: String,
    /// The dead letter's object key.
    pub key: String,
}

/// The first record, in sequence order, that failed transiently; it and everything after it
/// are delivered again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryFrom {
    pub sequence_number: String,
    pub reason: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Records handled (a duplicate that changed nothing counts as handled), in every key,
    /// including those after [`Self::retry_from`] that will be delivered again.
    pub handled: usize,
    /// Records not for this consumer ([`Handled::Skipped`]), counted like `handled`.
    pub skipped: usize,
    /// Records refused for a business reason ([`Handled::Rejected`]), counted like `handled`.
    pub rejected: Vec<RejectedRecord>,
    /// Events put on the stream by the handler.
    pub emitted: usize,
    /// The last record of the batch's done prefix (handled, refused or dead-lettered), to
    /// checkpoint after.
    pub last_done: Option<String>,
    /// Records given up on and dead-lettered, in sequence order.
    pub dead_lettered: Vec<DeadLetteredRecord>,
    /// Records to be delivered again: the first failure and every record after it.
    pub retried: usize,
    pub retry_from: Option<RetryFrom>,
}

impl BatchOutcome {
    /// Dead-lettered records that were poison (the rest hit a limit).
    pub fn poison(&self) -> usize {
        self.dead_lettered
            .iter()
            .filter(|d| d.gave_up == GaveUp::Poison)
            .count()
    }
}

/// What became of one record.
enum Status {
    /// Done, after putting this many events on the stream.
    Handled(usize),
    Rejected(String, usize),
    Skipped,
    DeadLettered(DeadLetteredRecord, usize),
    /// Failed transiently: the first failure of its key.
    Failed(String),
    /// Not run, because an earlier record of its key failed.
    NotRun,
}

/// One consumer: its handler, and where its events, dead letters and failure counts go. Both
/// hosts run batches through it, so the semantics are the same on Lambda and standalone.
pub struct Engine<H, E, D, F> {
    /// The consumer's name: its enhanced fan-out consumer, metrics dimension and letters' prefix.
    pub consumer: String,
    /// The stream it reads (and emits to).
    pub stream: String,
    pub handler: H,
    pub emitter: E,
    pub dead_letters: D,
    pub failures: F,
    pub config: BatchConfig,
}

/// Where the batch came from, for its metrics line.
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchSource<'a> {
    /// The shard, when the host reads one shard per batch (the standalone host).
    pub shard_id: Option<&'a str>,
    /// How far the batch is behind the tip of the shard, when the source says.
    pub millis_behind_latest: Option<i64>,
}

impl<H, E, D, F> Engine<H, E, D, F>
where
    H: RecordHandler,
    E: Emitter,
    D: DeadLetters,
    F: FailureLog,
{
    /// Runs a batch ([`Self::process_batch`]), then logs what it refused or dead-lettered and
    /// prints its metrics line.
    pub async fn run_batch(
        &self,
        records: &[StreamRecord],
        source: BatchSource<'_>,
    ) -> BatchOutcome {
        let started = Instant::now();
        let (outcome, write_units) = crate::capacity::metered(self.process_batch(records)).await;
        for rejected in &outcome.rejected {
            tracing::info!(
                consumer = self.consumer,
                sequence_number = rejected.sequence_number,
                reason = rejected.reason,
                "record rejected for a business reason"
            );
        }
        for letter in &outcome.dead_lettered {
            tracing::error!(
                consumer = self.consumer,
                shard_id = letter.shard_id,
                sequence_number = letter.sequence_number,
                gave_up = %letter.gave_up,
                reason = letter.reason,
                dead_letter = letter.key,
                "record dead-lettered"
            );
        }
        BatchMetrics {
            consumer: &self.consumer,
            shard_id: source.shard_id,
            records: records.len(),
            outcome: &outcome,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            millis_behind_latest: source.millis_behind_latest,
            write_units,
            record_age_ms: records
                .iter()
                .map(|r| r.arrived_at)
                .min()
                .map(|oldest| (OffsetDateTime::now_utc() - oldest).whole_milliseconds() as i64),
        }
        .emit();
        outcome
    }

    /// Runs the handler over `records` (one shard's, in sequence order): in sequence within
    /// each partition key, concurrently across keys.
    pub async fn process_batch(&self, records: &[StreamRecord]) -> BatchOutcome {
        // Indices of each key's records, in sequence order; keys in order of first appearance.
        let mut keys: HashMap<&str, usize> = HashMap::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (index, record) in records.iter().enumerate() {
            let group = *keys
                .entry(record.partition_key.as_str())
                .or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
            groups[group].push(index);
        }

        let mut statuses: Vec<Status> = records.iter().map(|_| Status::NotRun).collect();
        let mut runs = futures::stream::iter(groups)
            .map(|group| self.run_key(records, group))
            .buffer_unordered(self.config.max_concurrent_keys.max(1));
        while let Some(results) = runs.next().await {
            for (index, status) in results {
                statuses[index] = status;
            }
        }

        let mut outcome = BatchOutcome::default();
        for (index, (record, status)) in records.iter().zip(statuses).enumerate() {
            match status {
                Status::Handled(emitted) => {
                    outcome.handled += 1;
                    outcome.emitted += emitted;
                }
                Status::Rejected(reason, emitted) => {
                    outcome.rejected.push(RejectedRecord {
                        sequence_number: record.sequence_number.clone(),
                        reason,
                    });
                    outcome.emitted += emitted;
                }
                Status::Skipped => outcome.skipped += 1,
                Status::DeadLettered(letter, emitted) => {
                    outcome.dead_lettered.push(letter);
                    outcome.emitted += emitted;
                }
                Status::Failed(reason) if outcome.retry_from.is_none() => {
                    outcome.retry_from = Some(RetryFrom {
                        sequence_number: record.sequence_number.clone(),
                        reason,
                    });
                    outcome.retried = records.len() - index;
                }
                Status::Failed(_) | Status::NotRun => {}
            }
            if outcome.retry_from.is_none() {
                outcome.last_done = Some(record.sequence_number.clone());
            }
        }
        outcome
    }

    /// One key's records in sequence, stopping at its first transient failure.
    async fn run_key(&self, records: &[StreamRecord], group: Vec<usize>) -> Vec<(usize, Status)> {
        let mut results = Vec::with_capacity(group.len());
        for index in group {
            let status = self.run_record(&records[index]).await;
            let failed = matches!(status, Status::Failed(_));
            results.push((index, status));
            if failed {
                break;
            }
        }
        results
    }

    async fn run_record(&self, record: &StreamRecord) -> Status {
        // A handler that panics on a record fails it transiently, like any other failure, so a
        // bug that always panics on one record reaches the attempt limit and is dead-lettered
        // instead of stopping its shard for good.
        let handled = AssertUnwindSafe(self.handler.handle(record))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(RecordError::Transient(panicked(panic).into())));
        match handled {
            Ok(Handled::Done) => Status::Handled(0),
            Ok(Handled::Emit(events)) => match self.emit(events).await {
                Ok(emitted) => Status::Handled(emitted),
                Err(failed) => failed,
            },
            Ok(Handled::Rejected {
                reason,
                emit: events,
            }) => match self.emit(events).await {
                Ok(emitted) => Status::Rejected(reason, emitted),
                Err(failed) => failed,
            },
            Ok(Handled::Skipped) => Status::Skipped,
            Err(RecordError::Poison(reason)) => {
                // Counted like any failure, for the letter's attempts and first-failure time;
                // a poison record is dead-lettered even if the count cannot be written.
                let failures = self
                    .failures
                    .record_failure(&self.consumer, record)
                    .await
                    .unwrap_or(Failures {
                        attempts: 1,
                        first_failed_at: OffsetDateTime::now_utc(),
                    });
                self.dead_letter(record, GaveUp::Poison, reason, failures)
                    .await
            }
            Err(RecordError::Transient(error)) => {
                let reason = error_chain(error.as_ref());
                self.failed(record, reason).await
            }
        }
    }

    /// Counts a transient failure; past a limit the record is dead-lettered, else retried.
    async fn failed(&self, record: &StreamRecord, reason: String) -> Status {
        let failures = match self.failures.record_failure(&self.consumer, record).await {
            Ok(failures) => failures,
            Err(error) => {
                return Status::Failed(format!(
                    "{reason} (and the failure could not be counted: {})",
                    error_chain(&error)
                ));
            }
        };
        let age = OffsetDateTime::now_utc() - record.arrived_at;
        let gave_up = if failures.attempts >= self.config.max_attempts {
            GaveUp::AttemptLimit
        } else if age > self.config.max_record_age {
            GaveUp::AgeLimit
        } else {
            return Status::Failed(reason);
        };
        self.dead_letter(record, gave_up, reason, failures).await
    }

    /// Writes the record's dead letter, tells the handler and emits what it returns; if either
    /// fails, the record fails transiently and is tried again.
    async fn dead_letter(
        &self,
        record: &StreamRecord,
        gave_up: GaveUp,
        reason: String,
        failures: Failures,
    ) -> Status {
        let letter = DeadLetter::new(GiveUp {
            consumer: &self.consumer,
            stream: &self.stream,
            record,
            attempts: failures.attempts,
            first_failed_at: failures.first_failed_at,
            gave_up,
            reason: reason.clone(),
        });
        if let Err(error) = self.dead_letters.put(&letter).await {
            return Status::Failed(format!(
                "{gave_up} ({reason}), and its dead letter could not be written: {}",
                error_chain(&error)
            ));
        }
        let events = match AssertUnwindSafe(self.handler.dead_lettered(record, &letter))
            .catch_unwind()
            .await
        {
            Ok(events) => events,
            Err(panic) => return Status::Failed(panicked(panic)),
        };
        match self.emit(events).await {
            Ok(emitted) => Status::DeadLettered(
                DeadLetteredRecord {
                    shard_id: record.shard_id.clone(),
                    sequence_number: record.sequence_number.clone(),
                    gave_up,
                    reason,
                    key: letter.key(),
                },
                emitted,
            ),
            Err(failed) => failed,
        }
    }

    /// Puts `events` on the stream; a failure fails the record transiently (it is handled
    /// again).
    async fn emit(&self, events: Vec<Entry>) -> Result<usize, Status> {
        let count = events.len();
        if count == 0 {
            return Ok(0);
        }
        self.emitter
            .emit(events)
            .await
            .map(|()| count)
            .map_err(|error| Status::Failed(error_chain(&error)))
    }
}

/// What a caught panic says, for the record's failure reason.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    format!("the handler panicked: {message}")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::dead_letter::MemoryDeadLetters;
    use crate::failures::MemoryFailureLog;

    /// Acts on each record's data: "poison" and "transient" fail, "other" is skipped, "emit"
    /// emits one event, "reject" is refused with one event, "slow" takes 5 ms, anything else
    /// succeeds at once. Records what it saw and how many records ran at once.
    #[derive(Default)]
    struct Scripted {
        seen: Mutex<Vec<(String, String)>>,
        running: AtomicUsize,
        most_at_once: AtomicUsize,
    }

    impl RecordHandler for Scripted {
        async fn handle(&self, record: &StreamRecord) -> Result<Handled, RecordError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_at_once.fetch_max(now, Ordering::SeqCst);
            self.seen
                .lock()
                .expect("lock")
                .push((record.partition_key.clone(), record.sequence_number.clone()));
            let result = match record.data.as_ref() {
                b"poison" => Err(RecordError::Poison("bad".into())),
                b"transient" => Err(RecordError::Transient("down".into())),
                b"other" => Ok(Handled::Skipped),
                b"panic" => panic!("a bug"),
                b"emit" => Ok(Handled::Emit(vec![event_of(record)])),
                b"reject" => Ok(Handled::Rejected {
                    reason: "out of stock".into(),
                    emit: vec![event_of(record)],
                }),
                b"slow" => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Ok(Handled::Done)
                }
                _ => Ok(Handled::Done),
            };
            self.running.fetch_sub(1, Ordering::SeqCst);
            result
        }

        /// Says so on the stream, as a saga stage emits its `…_failed` event.
        async fn dead_lettered(&self, record: &StreamRecord, letter: &DeadLetter) -> Vec<Entry> {
            vec![Entry {
                partition_key: record.partition_key.clone(),
                data: format!("failed-{}-{}", record.sequence_number, letter.gave_up).into_bytes(),
            }]
        }
    }

    /// The event a record emits: its customer's partition key, data naming the record.
    fn event_of(record: &StreamRecord) -> Entry {
        Entry {
            partition_key: record.partition_key.clone(),
            data: format!("event-of-{}", record.sequence_number).into_bytes(),
        }
    }

    /// Keeps what is emitted; refuses everything when `down`.
    #[derive(Default)]
    struct Stream {
        events: Mutex<Vec<Entry>>,
        down: bool,
    }

    impl Emitter for Stream {
        async fn emit(&self, events: Vec<Entry>) -> Result<(), EmitError> {
            if self.down {
                return Err(EmitError {
                    failed: events.len(),
                    total: events.len(),
                    cause: "throttled".into(),
                });
            }
            self.events.lock().expect("lock").extend(events);
            Ok(())
        }
    }

    impl Scripted {
        fn seen(&self) -> Vec<String> {
            let seen = self.seen.lock().expect("lock");
            let mut sequence_numbers: Vec<String> = seen.iter().map(|(_, s)| s.clone()).collect();
            sequence_numbers.sort();
            sequence_numbers
        }
    }

    /// Records of one shard as (partition key, data), sequence numbers 100, 101, ...
    fn records(keyed: &[(&str, &str)]) -> Vec<StreamRecord> {
        keyed
            .iter()
            .enumerate()
            .map(|(i, (key, data))| StreamRecord {
                shard_id: "shardId-000000000000".into(),
                sequence_number: format!("{}", 100 + i),
                partition_key: (*key).into(),
                data: bytes::Bytes::copy_from_slice(data.as_bytes()),
                arrived_at: OffsetDateTime::now_utc(),
            })
            .collect()
    }

    type TestEngine = Engine<Scripted, Stream, MemoryDeadLetters, MemoryFailureLog>;

    fn engine_with(emitter: Stream, config: BatchConfig) -> TestEngine {
        Engine {
            consumer: "orders-test".into(),
            stream: "orders".into(),
            handler: Scripted::default(),
            emitter,
            dead_letters: MemoryDeadLetters::default(),
            failures: MemoryFailureLog::default(),
            config,
        }
    }

    fn engine() -> TestEngine {
        engine_with(Stream::default(), BatchConfig::default())
    }

    async fn run(engine: &TestEngine, keyed: &[(&str, &str)]) -> BatchOutcome {
        engine.process_batch(&records(keyed)).await
    }

    fn emitted(engine: &TestEngine) -> Vec<(String, String)> {
        let mut events: Vec<(String, String)> = engine
            .emitter
            .events
            .lock()
            .expect("lock")
            .iter()
            .map(|e| {
                (
                    e.partition_key.clone(),
                    String::from_utf8_lossy(&e.data).into(),
                )
            })
            .collect();
        events.sort();
        events
    }

    fn retry_at(outcome: &BatchOutcome) -> Option<&str> {
        outcome
            .retry_from
            .as_ref()
            .map(|r| r.sequence_number.as_str())
    }

    #[tokio::test]
    async fn an_empty_batch_does_nothing() {
        let engine = engine();
        assert_eq!(run(&engine, &[]).await, BatchOutcome::default());
    }

    #[tokio::test]
    async fn with_no_failure_every_record_is_done() {
        let engine = engine();
        let outcome = run(&engine, &[("a", "ok"), ("b", "ok"), ("a", "ok")]).await;
        assert_eq!(outcome.handled, 3);
        assert_eq!(outcome.last_done.as_deref(), Some("102"));
        assert_eq!(outcome.retry_from, None);
    }

    #[tokio::test]
    async fn a_poison_record_in_the_middle_is_set_aside_and_its_key_goes_on() {
        let engine = engine();
        let outcome = run(&engine, &[("a", "ok"), ("a", "poison"), ("a", "ok")]).await;
        assert_eq!(outcome.handled, 2);
        assert_eq!(outcome.poison(), 1);
        assert_eq!(outcome.dead_lettered[0].sequence_number, "101");
        assert_eq!(outcome.retry_from, None);
        assert_eq!(outcome.last_done.as_deref(), Some("102"));
        let letters = engine.dead_letters.letters();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].gave_up, GaveUp::Poison);
        assert_eq!(letters[0].attempts, 1);
        assert_eq!(letters[0].payload().expect("base64"), b"poison");
        assert_eq!(letters[0].reason, "bad");
        assert_eq!(
            emitted(&engine),
            [("a".to_owned(), "failed-101-poison".to_owned())],
            "the handler was told"
        );
    }

    #[tokio::test]
    async fn a_record_not_for_the_consumer_is_skipped_and_counted() {
        let engine = engine();
        let outcome = run(&engine, &[("a", "ok"), ("a", "other"), ("a", "ok")]).await;
        assert_eq!((outcome.handled, outcome.skipped), (2, 1));
        assert!(outcome.dead_lettered.is_empty());
        assert_eq!(outcome.last_done.as_deref(), Some("102"));
    }

    #[tokio::test]
    async fn emitted_events_are_on_the_stream_with_the_customers_key_before_the_record_is_done() {
        let engine = engine();
        let outcome = run(&engine, &[("a", "emit"), ("b", "ok"), ("b", "emit")]).await;
        assert_eq!((outcome.handled, outcome.emitted), (3, 2));
        assert_eq!(outcome.last_done.as_deref(), Some("102"));
        assert_eq!(
            emitted(&engine),
            [
                ("a".to_owned(), "event-of-100".to_owned()),
                ("b".to_owned(), "event-of-102".to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn an_event_that_cannot_be_emitted_fails_its_record_transiently() {
        let down = Stream {
            down: true,
            ..Default::default()
        };
        let engine = engine_with(down, BatchConfig::default());
        let outcome = run(
            &engine,
            &[("a", "ok"), ("a", "emit"), ("a", "ok"), ("b", "ok")],
        )
        .await;
        assert_eq!(retry_at(&outcome), Some("101"));
        assert!(
            outcome
                .retry_from
                .expect("retry")
                .reason
                .contains("throttled")
        );
        assert_eq!(outcome.last_done.as_deref(), Some("100"));
        assert_eq!(
            engine.handler.seen(),
            ["100", "101", "103"],
            "a stopped at 101"
        );
    }

    #[tokio::test]
    async fn a_rejection_is_counted_with_its_reason_and_its_events_emitted_not_poison() {
        let engine = engine();
        let outcome = run(&engine, &[("a", "reject"), ("a", "ok")]).await;
        assert_eq!(
            outcome.rejected,
            [RejectedRecord {
                sequence_number: "100".into(),
                reason: "out of stock".into()
            }]
        );
        assert!(outcome.dead_lettered.is_empty());
        assert_eq!((outcome.handled, outcome.emitted), (1, 1));
        assert_eq!(outcome.retry_from, None);
        assert_eq!(outcome.last_done.as_deref(), Some("101"));
        assert_eq!(emitted(&engine).len(), 1);
    }

    #[tokio::test]
    async fn the_first_record_failing_stops_its_key_only_and_nothing_is_done() {
        let engine = engine();
        let outcome = run(&engine, &[("a", "transient"), ("b", "ok"), ("a", "ok")]).await;
        assert_eq!(retry_at(&outcome), Some("100"));
        assert_eq!(
            outcome.last_done, None,
            "nothing before the failure to checkpoint"
        );
        assert_eq!(outcome.handled, 1, "the other customer's record ran");
        assert_eq!(
            engine.handler.seen(),
            ["100", "101"],
            "a's second record never ran"
        );
    }

    #[tokio::test]
    async fn the_last_record_failing_leaves_everything_before_it_done() {
        let engine = engine();
        let outcome = run(&engine, &[("a", "ok"), ("b", "ok"), ("a", "transient")]).await;
        assert_eq!(retry_at(&outcome), Some("102"));
        assert_eq!(outcome.last_done.as_deref(), Some("101"));
        assert_eq!(outcome.handled, 2);
    }

    #[tokio::test]
    async fn failures_in_several_keys_retry_from_the_lowest() {
        let engine = engine();
        let outcome = run(
            &engine,
            &[
                ("a", "ok"),
                ("b", "ok"),
                ("c", "transient"),
                ("a", "transient"),
                ("b", "ok"),
                ("c", "ok"),
                ("a", "ok"),
            ],
        )
        .await;
        assert_eq!(retry_at(&outcome), Some("102"));
        assert_eq!(outcome.retried, 5, "102 and everything after it");
        assert_eq!(outcome.last_done.as_deref(), Some("101"));
        // b carried on past both failures; c and a stopped at theirs.
        assert_eq!(engine.handler.seen(), ["100", "101", "102", "103", "104"]);
        assert_eq!(outcome.handled, 3);
    }

    #[tokio::test]
    async fn when_every_key_fails_nothing_is_done() {
        let engine = engine();
        let outcome = run(
            &engine,
            &[("a", "transient"), ("b", "transient"), ("a", "ok")],
        )
        .await;
        assert_eq!(retry_at(&outcome), Some("100"));
        assert_eq!(outcome.last_done, None);
        assert_eq!(outcome.handled, 0);
        assert_eq!(engine.handler.seen(), ["100", "101"]);
    }

    #[tokio::test]
    async fn a_keys_records_run_in_sequence_while_keys_run_at_once() {
        let engine = engine();
        let keyed: Vec<(String, &str)> = (0..40).map(|i| (format!("k{}", i % 8), "slow")).collect();
        let keyed: Vec<(&str, &str)> = keyed.iter().map(|(k, d)| (k.as_str(), *d)).collect();
        let outcome = run(&engine, &keyed).await;
        assert_eq!(outcome.handled, 40);
        assert_eq!(
            engine.handler.most_at_once.load(Ordering::SeqCst),
            8,
            "one record per key at once"
        );
        let seen = engine.handler.seen.lock().expect("lock");
        for key in 0..8 {
            let key = format!("k{key}");
            let order: Vec<&String> = seen
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, s)| s)
                .collect();
            assert!(order.is_sorted(), "{key} in sequence order: {order:?}");
        }
    }

    #[tokio::test]
    async fn no_more_keys_run_at_once_than_configured() {
        let keyed: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
        let keyed: Vec<(&str, &str)> = keyed.iter().map(|k| (k.as_str(), "slow")).collect();
        let config = BatchConfig {
            max_concurrent_keys: 3,
            ..Default::default()
        };
        let engine = engine_with(Stream::default(), config);
        let outcome = run(&engine, &keyed).await;
        assert_eq!(outcome.handled, 10);
        assert_eq!(engine.handler.most_at_once.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_until_the_attempt_limit_then_dead_lettered() {
        let config = BatchConfig {
            max_attempts: 3,
            ..Default::default()
        };
        let engine = engine_with(Stream::default(), config);
        let batch = records(&[("a", "ok"), ("a", "transient"), ("a", "ok"), ("b", "ok")]);
        for attempt in 1..3 {
            let outcome = engine.process_batch(&batch).await;
            assert_eq!(retry_at(&outcome), Some("101"), "attempt {attempt}");
            assert!(engine.dead_letters.letters().is_empty());
        }
        let outcome = engine.process_batch(&batch).await;
        assert_eq!(outcome.retry_from, None, "the third failure is the last");
        assert_eq!(outcome.last_done.as_deref(), Some("103"));
        assert_eq!(outcome.dead_lettered.len(), 1);
        assert_eq!(outcome.poison(), 0);
        let letters = engine.dead_letters.letters();
        assert_eq!(letters.len(), 1);
        assert_eq!(
            (letters[0].gave_up, letters[0].attempts),
            (GaveUp::AttemptLimit, 3)
        );
        assert_eq!(letters[0].reason, "down");
        assert!(letters[0].first_failed_at <= letters[0].dead_lettered_at);
        assert_eq!(
            emitted(&engine),
            [(
                "a".to_owned(),
                "failed-101-attempt limit reached".to_owned()
            )]
        );
    }

    #[tokio::test]
    async fn a_handler_that_panics_fails_the_record_until_the_attempt_limit() {
        let config = BatchConfig {
            max_attempts: 2,
            ..Default::default()
        };
        let engine = engine_with(Stream::default(), config);
        let batch = records(&[("a", "panic"), ("a", "ok"), ("b", "ok")]);
        let outcome = engine.process_batch(&batch).await;
        assert_eq!(retry_at(&outcome), Some("100"));
        let reason = outcome.retry_from.expect("retry").reason;
        assert_eq!(reason, "the handler panicked: a bug");
        let outcome = engine.process_batch(&batch).await;
        assert_eq!(outcome.retry_from, None);
        assert_eq!(outcome.dead_lettered[0].gave_up, GaveUp::AttemptLimit);
        assert_eq!(outcome.handled, 2);
    }

    #[tokio::test]
    async fn a_failing_record_older_than_the_age_limit_is_dead_lettered_at_once() {
        let engine = engine();
        let mut batch = records(&[("a", "transient"), ("a", "ok")]);
        batch[0].arrived_at = OffsetDateTime::now_utc() - time::Duration::hours(2);
        let outcome = engine.process_batch(&batch).await;
        assert_eq!(outcome.retry_from, None);
        assert_eq!(outcome.handled, 1);
        assert_eq!(outcome.dead_lettered[0].gave_up, GaveUp::AgeLimit);
        assert_eq!(engine.dead_letters.letters()[0].attempts, 1);
    }

    #[tokio::test]
    async fn a_record_whose_dead_letter_cannot_be_written_is_retried_not_skipped() {
        let engine = engine();
        engine
            .dead_letters
            .refuse
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let outcome = run(&engine, &[("a", "ok"), ("a", "poison"), ("a", "ok")]).await;
        assert_eq!(retry_at(&outcome), Some("101"));
        assert_eq!(outcome.last_done.as_deref(), Some("100"));
        assert!(
            outcome
                .retry_from
                .expect("retry")
                .reason
                .contains("could not be written")
        );
        assert_eq!(engine.handler.seen(), ["100", "101"], "a stopped at 101");
    }

    #[test]
    fn the_limits_come_from_the_environment_or_the_defaults() {
        let parse = |vars: &[(&'static str, &str)]| {
            BatchConfig::parse(|name| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        assert_eq!(parse(&[]).expect("default"), BatchConfig::default());
        let config = parse(&[
            (MAX_CONCURRENT_KEYS_ENV, "16"),
            (MAX_ATTEMPTS_ENV, "4"),
            (MAX_RECORD_AGE_ENV, "600"),
        ])
        .expect("valid");
        assert_eq!(
            config,
            BatchConfig {
                max_concurrent_keys: 16,
                max_attempts: 4,
                max_record_age: Duration::from_secs(600),
            }
        );
        for (name, bad) in [
            (MAX_CONCURRENT_KEYS_ENV, "0"),
            (MAX_CONCURRENT_KEYS_ENV, "lots"),
            (MAX_CONCURRENT_KEYS_ENV, "10001"),
            (MAX_ATTEMPTS_ENV, "0"),
            (MAX_RECORD_AGE_ENV, "59"),
            (MAX_RECORD_AGE_ENV, ""),
        ] {
            let error = parse(&[(name, bad)]).expect_err(bad);
            assert!(
                error.to_string().starts_with(&format!("{name}={bad}:")),
                "{error}"
            );
        }
    }
}
