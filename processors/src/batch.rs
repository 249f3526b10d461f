//! The batch lifter: one record handler, applied over a batch with per-customer concurrency.
//!
//! Kinesis keeps order per partition key (the customer), and that is the only order the
//! handlers need. So a batch is split by partition key: each key's records run in sequence,
//! different keys run concurrently (at most [`BatchConfig::max_concurrent_keys`] at once), and a
//! transient failure stops only its own key. A poison record (one that can never succeed) is set
//! aside and does not stop its key.
//!
//! Both hosts resume a shard at one position, so the outcome is reduced to one: the lowest
//! sequence number that did not succeed ([`BatchOutcome::retry_from`]). Everything before it is
//! done and may be checkpointed ([`BatchOutcome::last_done`]); it and everything after it are
//! delivered again, including records of other keys that succeeded, which the idempotent
//! handlers make harmless. See docs/consumers.md, "Batch semantics".

use std::collections::HashMap;
use std::future::Future;

use futures::StreamExt;
use ingest::producer::{Entry, MAX_BATCH_ENTRIES, Producer};

use crate::error_chain;
use crate::record::StreamRecord;

/// Partition keys handled at once when nothing else is configured.
pub const DEFAULT_MAX_CONCURRENT_KEYS: usize = 128;
/// The environment variable that sets [`BatchConfig::max_concurrent_keys`].
pub const MAX_CONCURRENT_KEYS_ENV: &str = "CONSUMER_MAX_CONCURRENT_KEYS";

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The record can never succeed (not an envelope, a schema version it cannot read, an
    /// invalid order): set it aside.
    #[error("poison record: {0}")]
    Poison(String),
    /// Something outside the record failed (a dependency, throttling): retry it later.
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
}

/// How a batch is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// Partition keys whose records run at the same time; 1 runs the batch in sequence.
    pub max_concurrent_keys: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_concurrent_keys: DEFAULT_MAX_CONCURRENT_KEYS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{MAX_CONCURRENT_KEYS_ENV}={value}: expected a whole number from 1 to 10000")]
pub struct BatchConfigError {
    value: String,
}

impl BatchConfig {
    /// The configuration from [`MAX_CONCURRENT_KEYS_ENV`], or the default when it is not set.
    pub fn from_env() -> Result<Self, BatchConfigError> {
        Self::parse(std::env::var(MAX_CONCURRENT_KEYS_ENV).ok())
    }

    fn parse(value: Option<String>) -> Result<Self, BatchConfigError> {
        let Some(value) = value else {
            return Ok(Self::default());
        };
        match value.trim().parse::<usize>() {
            Ok(n @ 1..=10_000) => Ok(Self {
                max_concurrent_keys: n,
            }),
            _ => Err(BatchConfigError { value }),
        }
    }
}

/// A record that can never succeed, with where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoisonRecord {
    pub shard_id: String,
    pub sequence_number: String,
    pub reason: String,
}

/// A record refused for a business reason, with where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRecord {
    pub sequence_number: String,
    pub reason: String,
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
    /// The last record of the batch's done prefix (handled or set aside), to checkpoint after.
    pub last_done: Option<String>,
    /// Poison records set aside, in sequence order.
    pub poison: Vec<PoisonRecord>,
    /// Records to be delivered again: the first failure and every record after it.
    pub retried: usize,
    pub retry_from: Option<RetryFrom>,
}

/// What became of one record.
enum Status {
    /// Done, after putting this many events on the stream.
    Handled(usize),
    Rejected(String, usize),
    Skipped,
    Poison(String),
    /// Failed transiently: the first failure of its key.
    Failed(String),
    /// Not run, because an earlier record of its key failed.
    NotRun,
}

/// Runs `handler` over `records` (one shard's, in sequence order): in sequence within each
/// partition key, concurrently across keys.
pub async fn process_batch<H: RecordHandler, E: Emitter>(
    handler: &H,
    emitter: &E,
    records: &[StreamRecord],
    config: BatchConfig,
) -> BatchOutcome {
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
        .map(|group| run_key(handler, emitter, records, group))
        .buffer_unordered(config.max_concurrent_keys.max(1));
    while let Some(results) = runs.next().await {
        for (index, status) in results {
            statuses[index] = status;
        }
    }

    let mut outcome = BatchOutcome::default();
    for (index, (record, status)) in records.iter().zip(&statuses).enumerate() {
        match status {
            Status::Handled(emitted) => {
                outcome.handled += 1;
                outcome.emitted += emitted;
            }
            Status::Rejected(reason, emitted) => {
                outcome.rejected.push(RejectedRecord {
                    sequence_number: record.sequence_number.clone(),
                    reason: reason.clone(),
                });
                outcome.emitted += emitted;
            }
            Status::Skipped => outcome.skipped += 1,
            Status::Poison(reason) => outcome.poison.push(PoisonRecord {
                shard_id: record.shard_id.clone(),
                sequence_number: record.sequence_number.clone(),
                reason: reason.clone(),
            }),
            Status::Failed(reason) if outcome.retry_from.is_none() => {
                outcome.retry_from = Some(RetryFrom {
                    sequence_number: record.sequence_number.clone(),
                    reason: reason.clone(),
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
async fn run_key<H: RecordHandler, E: Emitter>(
    handler: &H,
    emitter: &E,
    records: &[StreamRecord],
    group: Vec<usize>,
) -> Vec<(usize, Status)> {
    let mut results = Vec::with_capacity(group.len());
    for index in group {
        let status = match handler.handle(&records[index]).await {
            Ok(Handled::Done) => Status::Handled(0),
            Ok(Handled::Emit(events)) => match emit(emitter, events).await {
                Ok(emitted) => Status::Handled(emitted),
                Err(failed) => failed,
            },
            Ok(Handled::Rejected {
                reason,
                emit: events,
            }) => match emit(emitter, events).await {
                Ok(emitted) => Status::Rejected(reason, emitted),
                Err(failed) => failed,
            },
            Ok(Handled::Skipped) => Status::Skipped,
            Err(RecordError::Poison(reason)) => Status::Poison(reason),
            Err(RecordError::Transient(error)) => Status::Failed(error_chain(error.as_ref())),
        };
        let failed = matches!(status, Status::Failed(_));
        results.push((index, status));
        if failed {
            break;
        }
    }
    results
}

/// Puts `events` on the stream; a failure fails the record transiently (it is handled again).
async fn emit<E: Emitter>(emitter: &E, events: Vec<Entry>) -> Result<usize, Status> {
    let count = events.len();
    if count == 0 {
        return Ok(0);
    }
    emitter
        .emit(events)
        .await
        .map(|()| count)
        .map_err(|error| Status::Failed(error_chain(&error)))
}

/// Logs what a batch set aside or refused. Poison records stay in the stream for its retention
/// period; the dead-letter store that keeps them for good is not built yet.
pub fn report_refused(consumer: &str, outcome: &BatchOutcome) {
    for rejected in &outcome.rejected {
        tracing::info!(
            consumer,
            sequence_number = rejected.sequence_number,
            reason = rejected.reason,
            "record rejected for a business reason"
        );
    }
    for poison in &outcome.poison {
        tracing::error!(
            consumer,
            shard_id = poison.shard_id,
            sequence_number = poison.sequence_number,
            reason = poison.reason,
            "poison record set aside"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

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
            let result = match record.data.as_slice() {
                b"poison" => Err(RecordError::Poison("bad".into())),
                b"transient" => Err(RecordError::Transient("down".into())),
                b"other" => Ok(Handled::Skipped),
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
                data: data.as_bytes().to_vec(),
            })
            .collect()
    }

    async fn run(handler: &Scripted, keyed: &[(&str, &str)]) -> BatchOutcome {
        process_batch(
            handler,
            &Stream::default(),
            &records(keyed),
            BatchConfig::default(),
        )
        .await
    }

    fn retry_at(outcome: &BatchOutcome) -> Option<&str> {
        outcome
            .retry_from
            .as_ref()
            .map(|r| r.sequence_number.as_str())
    }

    #[tokio::test]
    async fn an_empty_batch_does_nothing() {
        let handler = Scripted::default();
        assert_eq!(run(&handler, &[]).await, BatchOutcome::default());
    }

    #[tokio::test]
    async fn with_no_failure_every_record_is_done() {
        let handler = Scripted::default();
        let outcome = run(&handler, &[("a", "ok"), ("b", "ok"), ("a", "ok")]).await;
        assert_eq!(outcome.handled, 3);
        assert_eq!(outcome.last_done.as_deref(), Some("102"));
        assert_eq!(outcome.retry_from, None);
    }

    #[tokio::test]
    async fn a_poison_record_in_the_middle_is_set_aside_and_its_key_goes_on() {
        let handler = Scripted::default();
        let outcome = run(&handler, &[("a", "ok"), ("a", "poison"), ("a", "ok")]).await;
        assert_eq!(outcome.handled, 2);
        assert_eq!(outcome.poison.len(), 1);
        assert_eq!(outcome.poison[0].sequence_number, "101");
        assert_eq!(outcome.retry_from, None);
        assert_eq!(outcome.last_done.as_deref(), Some("102"));
    }

    #[tokio::test]
    async fn a_record_not_for_the_consumer_is_skipped_and_counted() {
        let handler = Scripted::default();
        let outcome = run(&handler, &[("a", "ok"), ("a", "other"), ("a", "ok")]).await;
        assert_eq!((outcome.handled, outcome.skipped), (2, 1));
        assert!(outcome.poison.is_empty());
        assert_eq!(outcome.last_done.as_deref(), Some("102"));
    }

    #[tokio::test]
    async fn emitted_events_are_on_the_stream_with_the_customers_key_before_the_record_is_done() {
        let handler = Scripted::default();
        let stream = Stream::default();
        let outcome = process_batch(
            &handler,
            &stream,
            &records(&[("a", "emit"), ("b", "ok"), ("b", "emit")]),
            BatchConfig::default(),
        )
        .await;
        assert_eq!((outcome.handled, outcome.emitted), (3, 2));
        assert_eq!(outcome.last_done.as_deref(), Some("102"));
        let mut events: Vec<(String, String)> = stream
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
        assert_eq!(
            events,
            [
                ("a".to_owned(), "event-of-100".to_owned()),
                ("b".to_owned(), "event-of-102".to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn an_event_that_cannot_be_emitted_fails_its_record_transiently() {
        let handler = Scripted::default();
        let down = Stream {
            down: true,
            ..Default::default()
        };
        let outcome = process_batch(
            &handler,
            &down,
            &records(&[("a", "ok"), ("a", "emit"), ("a", "ok"), ("b", "ok")]),
            BatchConfig::default(),
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
        assert_eq!(handler.seen(), ["100", "101", "103"], "a stopped at 101");
    }

    #[tokio::test]
    async fn a_rejection_is_counted_with_its_reason_and_its_events_emitted_not_poison() {
        let handler = Scripted::default();
        let stream = Stream::default();
        let outcome = process_batch(
            &handler,
            &stream,
            &records(&[("a", "reject"), ("a", "ok")]),
            BatchConfig::default(),
        )
        .await;
        assert_eq!(
            outcome.rejected,
            [RejectedRecord {
                sequence_number: "100".into(),
                reason: "out of stock".into()
            }]
        );
        assert!(outcome.poison.is_empty());
        assert_eq!((outcome.handled, outcome.emitted), (1, 1));
        assert_eq!(outcome.retry_from, None);
        assert_eq!(outcome.last_done.as_deref(), Some("101"));
        assert_eq!(stream.events.lock().expect("lock").len(), 1);
    }

    #[tokio::test]
    async fn the_first_record_failing_stops_its_key_only_and_nothing_is_done() {
        let handler = Scripted::default();
        let outcome = run(&handler, &[("a", "transient"), ("b", "ok"), ("a", "ok")]).await;
        assert_eq!(retry_at(&outcome), Some("100"));
        assert_eq!(
            outcome.last_done, None,
            "nothing before the failure to checkpoint"
        );
        assert_eq!(outcome.handled, 1, "the other customer's record ran");
        assert_eq!(
            handler.seen(),
            ["100", "101"],
            "a's second record never ran"
        );
    }

    #[tokio::test]
    async fn the_last_record_failing_leaves_everything_before_it_done() {
        let handler = Scripted::default();
        let outcome = run(&handler, &[("a", "ok"), ("b", "ok"), ("a", "transient")]).await;
        assert_eq!(retry_at(&outcome), Some("102"));
        assert_eq!(outcome.last_done.as_deref(), Some("101"));
        assert_eq!(outcome.handled, 2);
    }

    #[tokio::test]
    async fn failures_in_several_keys_retry_from_the_lowest() {
        let handler = Scripted::default();
        let outcome = run(
            &handler,
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
        assert_eq!(handler.seen(), ["100", "101", "102", "103", "104"]);
        assert_eq!(outcome.handled, 3);
    }

    #[tokio::test]
    async fn when_every_key_fails_nothing_is_done() {
        let handler = Scripted::default();
        let outcome = run(
            &handler,
            &[("a", "transient"), ("b", "transient"), ("a", "ok")],
        )
        .await;
        assert_eq!(retry_at(&outcome), Some("100"));
        assert_eq!(outcome.last_done, None);
        assert_eq!(outcome.handled, 0);
        assert_eq!(handler.seen(), ["100", "101"]);
    }

    #[tokio::test]
    async fn a_keys_records_run_in_sequence_while_keys_run_at_once() {
        let handler = Scripted::default();
        let keyed: Vec<(String, &str)> = (0..40).map(|i| (format!("k{}", i % 8), "slow")).collect();
        let keyed: Vec<(&str, &str)> = keyed.iter().map(|(k, d)| (k.as_str(), *d)).collect();
        let outcome = run(&handler, &keyed).await;
        assert_eq!(outcome.handled, 40);
        assert_eq!(
            handler.most_at_once.load(Ordering::SeqCst),
            8,
            "one record per key at once"
        );
        let seen = handler.seen.lock().expect("lock");
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
        let handler = Scripted::default();
        let keyed: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
        let keyed: Vec<(&str, &str)> = keyed.iter().map(|k| (k.as_str(), "slow")).collect();
        let config = BatchConfig {
            max_concurrent_keys: 3,
        };
        let outcome = process_batch(&handler, &Stream::default(), &records(&keyed), config).await;
        assert_eq!(outcome.handled, 10);
        assert_eq!(handler.most_at_once.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_concurrency_comes_from_the_environment_or_the_default() {
        assert_eq!(
            BatchConfig::parse(None).expect("default"),
            BatchConfig::default()
        );
        assert_eq!(
            BatchConfig::parse(Some("16".into()))
                .expect("16")
                .max_concurrent_keys,
            16
        );
        for bad in ["0", "-1", "lots", "10001", ""] {
            let error = BatchConfig::parse(Some(bad.into())).expect_err(bad);
            assert!(error.to_string().contains(MAX_CONCURRENT_KEYS_ENV));
        }
    }
}
