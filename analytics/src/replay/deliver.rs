//! Sending a spooled window: onto the stream, or straight into one consumer's handler.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ingest::producer::{Entry, MAX_BATCH_ENTRIES, Producer};
use processors::batch::{BatchSource, Emitter, Engine, RecordHandler};
use processors::dead_letter::DeadLetters;
use processors::failures::FailureLog;
use processors::record::StreamRecord;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::WindowRecord;
use super::spool::{Cursor, SpoolError, read_spool};

/// Records read ahead of sending, so that each batch can take one record from each of many
/// customers. Bounds the memory a replay uses whatever the window's size.
const READ_AHEAD: usize = 20 * MAX_BATCH_ENTRIES;

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

/// How fast and how far a delivery may go, and where it reports.
pub struct Delivery<'a> {
    pub spool: &'a Path,
    pub cursor: &'a mut Cursor,
    /// Where the cursor is saved after every batch; `None` for a replay that cannot resume.
    pub cursor_path: Option<&'a Path>,
    pub limiter: Option<Limiter>,
    pub progress: &'a indicatif::ProgressBar,
    /// Set to stop after the batch in flight (Ctrl-C, SIGTERM).
    pub stop: watch::Receiver<bool>,
}

/// At most this many records a second.
pub struct Limiter {
    limiter: DefaultDirectRateLimiter,
    per_second: NonZeroU32,
}

impl Limiter {
    pub fn per_second(records: NonZeroU32) -> Self {
        Self {
            limiter: RateLimiter::direct(Quota::per_second(records)),
            per_second: records,
        }
    }

    /// The most records one batch may hold: a batch never waits for more than a second's quota.
    fn batch_size(limiter: &Option<Self>) -> usize {
        limiter.as_ref().map_or(MAX_BATCH_ENTRIES, |l| {
            (l.per_second.get() as usize).min(MAX_BATCH_ENTRIES)
        })
    }

    async fn wait(limiter: &Option<Self>, records: usize) {
        let (Some(limiter), Some(n)) = (limiter, NonZeroU32::new(records as u32)) else {
            return;
        };
        // `n` is at most the quota's burst (see batch_size), so this cannot be refused.
        let _ = limiter.limiter.until_n_ready(n).await;
    }
}

/// What a delivery did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivered {
    /// Records done in this run.
    pub sent: u64,
    /// Entries `PutRecords` refused (throttled) and that were sent again; or, into a handler,
    /// batches run again from a transient failure.
    pub retried: u64,
    /// Into a handler: records refused for a business reason (as the consumer would).
    pub rejected: u64,
    /// Into a handler: records the consumer gave up on and dead-lettered.
    pub dead_lettered: u64,
    /// Stopped (Ctrl-C, SIGTERM) before the end; the cursor says where to resume.
    pub stopped: bool,
}

fn backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .without_max_times()
        .build()
}

/// Reads the spool until [`READ_AHEAD`] records wait, each queued behind its customer's.
fn refill(
    unread: &mut impl Iterator<Item = Result<(u64, WindowRecord), SpoolError>>,
    pending: &mut HashMap<u64, WindowRecord>,
    queues: &mut HashMap<String, VecDeque<u64>>,
    cursor: &Cursor,
) -> Result<(), SpoolError> {
    while pending.len() < READ_AHEAD {
        let Some(next) = unread.next() else { break };
        let (ordinal, record) = next?;
        if cursor.is_done(ordinal) {
            continue;
        }
        queues
            .entry(record.partition_key.clone())
            .or_default()
            .push_back(ordinal);
        pending.insert(ordinal, record);
    }
    Ok(())
}

impl Delivery<'_> {
    fn save(&self) -> Result<(), SpoolError> {
        match self.cursor_path {
            Some(path) => self.cursor.save(path),
            None => Ok(()),
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Puts the window back on the stream with each record's original partition key and bytes
    /// (so its event id). `PutRecords` does not keep the order of the entries of one request,
    /// so a batch holds at most one record per customer: each customer's records go in their
    /// spool order, and a refused entry is sent again before anything after it of its customer.
    pub async fn to_stream(self, producer: &Producer) -> Result<Delivered, DeliverError> {
        let mut delivered = Delivered::default();
        let mut unread = read_spool(self.spool)?;
        let mut pending: HashMap<u64, WindowRecord> = HashMap::new();
        let mut queues: HashMap<String, VecDeque<u64>> = HashMap::new();
        let batch_size = Limiter::batch_size(&self.limiter);
        let mut delays = backoff();
        refill(&mut unread, &mut pending, &mut queues, self.cursor)?;
        loop {
            if pending.is_empty() {
                break;
            }
            if self.stopping() {
                delivered.stopped = true;
                break;
            }
            let mut heads: Vec<u64> = queues.values().filter_map(|q| q.front().copied()).collect();
            heads.sort_unstable();
            heads.truncate(batch_size);
            Limiter::wait(&self.limiter, heads.len()).await;
            let entries = heads
                .iter()
                .filter_map(|o| pending.get(o))
                .map(|r| Entry {
                    partition_key: r.partition_key.clone(),
                    data: r.data.to_vec(),
                })
                .collect();
            // The next records are read from the spool while the batch is in flight; they join
            // the back of their customers' queues, behind the heads being sent.
            let (results, refilled) = tokio::join!(producer.put_batch(entries), async {
                refill(&mut unread, &mut pending, &mut queues, self.cursor)
            });
            refilled?;
            let mut progressed = false;
            for (ordinal, result) in heads.iter().zip(results) {
                match result {
                    Ok(_) => {
                        if let Some(record) = pending.remove(ordinal) {
                            let queue = queues.get_mut(&record.partition_key);
                            if let Some(queue) = queue {
                                queue.pop_front();
                                if queue.is_empty() {
                                    queues.remove(&record.partition_key);
                                }
                            }
                        }
                        self.cursor.mark_done(*ordinal);
                        delivered.sent += 1;
                        self.progress.inc(1);
                        progressed = true;
                    }
                    Err(error) => {
                        delivered.retried += 1;
                        tracing::debug!(ordinal, %error, "entry not put; sending it again");
                    }
                }
            }
            self.save()?;
            if progressed {
                delays = backoff();
            } else {
                let wait = delays.next().unwrap_or(Duration::from_secs(10));
                tracing::warn!(?wait, "no entry of the batch was put; waiting");
                tokio::time::sleep(wait).await;
            }
        }
        Ok(delivered)
    }

    /// Runs the window through one consumer's engine, as its host would: in order within each
    /// customer, concurrently across customers, with its dead letters and failure counts. The
    /// stream and the other consumers see nothing, except the events the handler emits (as it
    /// would have).
    pub async fn to_handler<H, E, D, F>(
        self,
        engine: &Engine<H, E, D, F>,
    ) -> Result<Delivered, DeliverError>
    where
        H: RecordHandler,
        E: Emitter,
        D: DeadLetters,
        F: FailureLog,
    {
        let mut delivered = Delivered::default();
        let shard_id = format!("replay-{}", self.cursor.id);
        let mut unread = read_spool(self.spool)?;
        let mut chunk: VecDeque<(u64, WindowRecord)> = VecDeque::new();
        let batch_size = Limiter::batch_size(&self.limiter);
        let mut delays = backoff();
        loop {
            while chunk.len() < batch_size {
                let Some(next) = unread.next() else { break };
                let (ordinal, record) = next?;
                if !self.cursor.is_done(ordinal) {
                    chunk.push_back((ordinal, record));
                }
            }
            if chunk.is_empty() {
                break;
            }
            if self.stopping() {
                delivered.stopped = true;
                break;
            }
            Limiter::wait(&self.limiter, chunk.len()).await;
            let records: Vec<StreamRecord> = chunk
                .iter()
                .map(|(ordinal, record)| StreamRecord {
                    shard_id: shard_id.clone(),
                    // Zero-padded, so that sequence order is spool order.
                    sequence_number: format!("{ordinal:020}"),
                    partition_key: record.partition_key.clone(),
                    data: record.data.clone(),
                    // The record age limit counts from delivery: a replayed record is old by
                    // design, and must not be dead-lettered for it.
                    arrived_at: OffsetDateTime::now_utc(),
                })
                .collect();
            let outcome = engine.run_batch(&records, BatchSource::default()).await;
            let retry_from = outcome
                .retry_from
                .as_ref()
                .and_then(|r| r.sequence_number.parse::<u64>().ok());
            let done = |sequence: &str| {
                sequence
                    .parse::<u64>()
                    .is_ok_and(|o| retry_from.is_none_or(|r| o < r))
            };
            delivered.rejected += outcome
                .rejected
                .iter()
                .filter(|r| done(&r.sequence_number))
                .count() as u64;
            delivered.dead_lettered += outcome
                .dead_lettered
                .iter()
                .filter(|r| done(&r.sequence_number))
                .count() as u64;
            while let Some((ordinal, _)) = chunk.front() {
                if retry_from.is_some_and(|r| *ordinal >= r) {
                    break;
                }
                self.cursor.mark_done(*ordinal);
                delivered.sent += 1;
                self.progress.inc(1);
                chunk.pop_front();
            }
            self.save()?;
            if let Some(reason) = outcome.retry_from.map(|r| r.reason) {
                delivered.retried += 1;
                let wait = delays.next().unwrap_or(Duration::from_secs(10));
                tracing::warn!(
                    ?wait,
                    reason,
                    "a record failed transiently; running again from it"
                );
                tokio::time::sleep(wait).await;
            } else {
                delays = backoff();
            }
        }
        Ok(delivered)
    }
}
