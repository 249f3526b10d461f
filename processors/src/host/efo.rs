//! Hosting as a standalone consumer: one `SubscribeToShard` subscription per shard through the
//! processor's enhanced fan-out consumer, on the shards this worker holds the lease of.
//!
//! Several workers of one consumer share its shards through leases in DynamoDB
//! ([`crate::lease`]). Every third of the lease duration a worker renews its leases, looks at
//! the table and takes free or expired leases up to an even share, or asks the worker with the
//! most for one. A worker that is asked for a lease finishes its batch, checkpoints and
//! releases it; a worker that stops (SIGTERM) does the same with every lease, so the others
//! take them at their next look instead of after the lease expires. A worker that cannot renew
//! a lease before it expires, or finds it taken, stops that shard at once; its checkpoints are
//! conditional on the lease, so it cannot write one after losing it.
//!
//! Each shard runs on its own task. The subscription is read into a small bounded channel by a
//! task of its own, so the next events arrive while a batch is handled; a batch is handled,
//! then checkpointed, then the next one is taken. A transient failure resubscribes from the
//! last checkpoint after a backoff, so no record is skipped; the handlers are idempotent, so a
//! record seen twice changes nothing. A child shard is taken only once the lease table says
//! its parents are read to their end, so one customer's events stay in order across
//! resharding. A shard task that dies (a handler panic) is logged, its lease released, and the
//! shard taken again from its checkpoint.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::{
    ShardIteratorType, StartingPosition, SubscribeToShardEvent, SubscribeToShardEventStream,
};
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinSet;

use crate::batch::{BatchSource, Emitter, Engine, RecordHandler};
use crate::dead_letter::DeadLetters;
use crate::error_chain;
use crate::failures::FailureLog;
use crate::lease::{Checkpoint, Held, LeaseError, LeaseTable, now_ms, plan};
use crate::record::StreamRecord;

const MAX_BACKOFF: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Attempts at a batch's checkpoint before going on without it (see [`save`]).
const CHECKPOINT_ATTEMPTS: usize = 5;
/// Subscription events read ahead of the batch being handled. Each holds up to a few MB, and
/// one is enough to keep the subscription read while a batch runs.
const EVENTS_READ_AHEAD: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum EfoError {
    #[error("cannot find stream {stream} or its consumer {consumer}")]
    Discovery {
        stream: String,
        consumer: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

#[derive(Clone, Debug)]
pub struct EfoConfig {
    /// How often to look for new shards (after resharding); also at once when a shard this
    /// worker reads ends.
    pub shard_discovery_interval: Duration,
}

/// Runs an [`Engine`] over the shards whose leases this worker holds, through the enhanced
/// fan-out consumer of the engine's name.
pub struct EfoHost<H, E, D, F> {
    kinesis: Client,
    leases: LeaseTable,
    config: EfoConfig,
    engine: Arc<Engine<H, E, D, F>>,
}

/// What every shard task shares.
struct Shared<H, E, D, F> {
    kinesis: Client,
    leases: LeaseTable,
    consumer_arn: String,
    engine: Arc<Engine<H, E, D, F>>,
}

/// How a shard task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShardEnd {
    /// Read to its end, and the end recorded.
    Ended,
    /// Told to stop (a handover or shutdown); its last batch is checkpointed.
    Stopped,
    /// Its lease was taken: nothing more may be written for it.
    Lost,
}

/// A shard this worker reads.
struct Reading {
    /// Serialises the lease's writes (renewals here, checkpoints in the task): each is
    /// conditional on the counter the last one left.
    held: Arc<Mutex<Held>>,
    stop: watch::Sender<bool>,
    task: tokio::task::AbortHandle,
    handing_over: bool,
}

impl<H, E, D, F> EfoHost<H, E, D, F>
where
    H: RecordHandler + 'static,
    E: Emitter + 'static,
    D: DeadLetters + 'static,
    F: FailureLog + 'static,
{
    pub fn new(
        kinesis: Client,
        leases: LeaseTable,
        config: EfoConfig,
        engine: Engine<H, E, D, F>,
    ) -> Self {
        Self {
            kinesis,
            leases,
            config,
            engine: Arc::new(engine),
        }
    }

    /// Consumes its share of the shards until `shutdown` turns true; then finishes each batch,
    /// checkpoints it and releases every lease.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), EfoError> {
        let consumer_arn = self.consumer_arn().await?;
        let shared = Arc::new(Shared {
            kinesis: self.kinesis.clone(),
            leases: self.leases.clone(),
            consumer_arn,
            engine: self.engine.clone(),
        });
        let leases = &self.leases;
        let worker = leases.worker().to_owned();
        let tick = leases.duration() / 3;
        tracing::info!(
            consumer = leases.consumer(),
            worker,
            lease_ms = leases.duration().as_millis() as u64,
            "worker starting"
        );
        let mut reading: HashMap<String, Reading> = HashMap::new();
        let mut tasks: JoinSet<(String, ShardEnd)> = JoinSet::new();
        let mut listed: HashSet<String> = HashSet::new();
        let mut known: HashSet<String> = HashSet::new();
        let mut next_discovery = tokio::time::Instant::now();
        'ticks: loop {
            if tokio::time::Instant::now() >= next_discovery {
                self.discover(&mut listed, &mut known).await;
                next_discovery = tokio::time::Instant::now() + self.config.shard_discovery_interval;
            }
            self.renew(&mut reading).await;
            match bounded(tick, leases.list()).await {
                Ok(table) => {
                    let mine: HashSet<String> = reading.keys().cloned().collect();
                    let plan = plan(&table, &listed, &worker, &mine, now_ms());
                    for seen in plan.take {
                        if reading.contains_key(&seen.shard_id) {
                            continue;
                        }
                        match leases.take(&seen).await {
                            Ok(Some((held, lease))) => {
                                tracing::info!(
                                    worker,
                                    shard_id = lease.shard_id,
                                    from = seen.owner,
                                    after = ?lease.checkpoint.sequence_number,
                                    "lease taken"
                                );
                                let held = Arc::new(Mutex::new(held));
                                let (stop, stopped) = watch::channel(false);
                                let task = tasks.spawn(run_shard(
                                    shared.clone(),
                                    lease.shard_id.clone(),
                                    held.clone(),
                                    lease.checkpoint,
                                    stopped,
                                ));
                                reading.insert(
                                    lease.shard_id,
                                    Reading {
                                        held,
                                        stop,
                                        task,
                                        handing_over: false,
                                    },
                                );
                            }
                            Ok(None) => {}
                            Err(error) => tracing::warn!(
                                shard_id = seen.shard_id,
                                error = error_chain(&error),
                                "taking a lease failed"
                            ),
                        }
                    }
                    if let Some(lease) = plan.ask {
                        match leases.ask_handoff(&lease).await {
                            Ok(true) => tracing::info!(
                                worker,
                                shard_id = lease.shard_id,
                                owner = lease.owner,
                                "asked for a lease"
                            ),
                            Ok(false) => {}
                            Err(error) => tracing::warn!(
                                shard_id = lease.shard_id,
                                error = error_chain(&error),
                                "asking for a lease failed"
                            ),
                        }
                    }
                }
                Err(error) => tracing::warn!(
                    error = error_chain(&error),
                    "reading the lease table failed; trying again at the next look"
                ),
            }
            let look_again = tokio::time::sleep(tick);
            tokio::pin!(look_again);
            loop {
                let joined = tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => break 'ticks,
                    _ = &mut look_again => break,
                    Some(joined) = tasks.join_next() => joined,
                };
                if self.ended(joined, &mut reading).await {
                    // Its children may be new to this worker.
                    next_discovery = tokio::time::Instant::now();
                    break;
                }
            }
        }
        // Shutdown: every shard finishes its batch and checkpoints; then the leases go.
        for r in reading.values() {
            let _ = r.stop.send(true);
        }
        while let Some(joined) = tasks.join_next().await {
            self.ended(joined, &mut reading).await;
        }
        tracing::info!(worker, "worker stopped; its leases are released");
        Ok(())
    }

    /// Lists the stream's shards and makes sure each has a lease item (with its parents).
    async fn discover(&self, listed: &mut HashSet<String>, known: &mut HashSet<String>) {
        let shards = match self.list_shards().await {
            Ok(shards) => shards,
            Err(error) => {
                tracing::warn!(
                    error = error_chain(&error),
                    "ListShards failed; trying again later"
                );
                return;
            }
        };
        *listed = shards.keys().cloned().collect();
        for (shard_id, parents) in shards {
            if known.contains(&shard_id) {
                continue;
            }
            match self.leases.ensure(&shard_id, &parents).await {
                Ok(()) => {
                    known.insert(shard_id);
                }
                Err(error) => tracing::warn!(
                    shard_id,
                    error = error_chain(&error),
                    "creating a lease item failed; trying again later"
                ),
            }
        }
    }

    /// Renews every lease this worker reads. A lease found taken, or not renewed before it
    /// expired, stops its shard at once; one asked for is handed over after its batch.
    async fn renew(&self, reading: &mut HashMap<String, Reading>) {
        let mut lost = Vec::new();
        let limit = self.leases.duration() / 3;
        // Once the table has not answered, the other leases are not tried until the next look:
        // waiting for each in turn would let them expire unnoticed.
        let mut unanswered = false;
        for (shard_id, r) in reading.iter_mut() {
            let mut held = r.held.lock().await;
            let renewal = if unanswered {
                Err(LeaseError::Table(
                    "the lease table did not answer this look".into(),
                ))
            } else {
                bounded(limit, self.leases.renew(&mut held)).await
            };
            unanswered |= matches!(renewal, Err(LeaseError::Table(_)));
            match renewal {
                Ok(Some(asker)) if !r.handing_over => {
                    tracing::info!(
                        shard_id,
                        to = asker,
                        "handing the lease over after this batch"
                    );
                    r.handing_over = true;
                    let _ = r.stop.send(true);
                }
                Ok(_) => {}
                Err(LeaseError::Lost(_)) => {
                    tracing::warn!(
                        shard_id,
                        "lease taken by another worker; stopping the shard"
                    );
                    lost.push(shard_id.clone());
                }
                Err(error) if now_ms() > held.expires_at_ms => {
                    tracing::warn!(
                        shard_id,
                        error = error_chain(&error),
                        "lease expired before it could be renewed; stopping the shard"
                    );
                    lost.push(shard_id.clone());
                }
                Err(error) => tracing::warn!(
                    shard_id,
                    error = error_chain(&error),
                    "renewing a lease failed; trying again before it expires"
                ),
            }
        }
        for shard_id in lost {
            if let Some(r) = reading.remove(&shard_id) {
                r.task.abort();
            }
        }
    }

    /// Deals with a shard task that returned or died; whether its shard was read to its end.
    async fn ended(
        &self,
        joined: Result<(String, ShardEnd), tokio::task::JoinError>,
        reading: &mut HashMap<String, Reading>,
    ) -> bool {
        let (shard_id, end) = match joined {
            Ok(ended) => ended,
            // Aborted after its lease was lost: already dealt with.
            Err(error) if error.is_cancelled() => return false,
            Err(error) => {
                // A panic in a handler. Release the lease, so the shard is taken again from
                // its checkpoint at the next look.
                let shard_id = reading
                    .iter()
                    .find(|(_, r)| r.task.id() == error.id())
                    .map(|(shard_id, _)| shard_id.clone())
                    .unwrap_or_default();
                tracing::error!(
                    shard_id,
                    error = error_chain(&error),
                    "shard task died; restarting it from its checkpoint"
                );
                (shard_id, ShardEnd::Stopped)
            }
        };
        let Some(r) = reading.remove(&shard_id) else {
            return false;
        };
        if end != ShardEnd::Lost {
            let mut held = r.held.lock().await;
            match self.leases.release(&mut held).await {
                Ok(()) => tracing::info!(shard_id, ?end, "lease released"),
                Err(error) => tracing::warn!(
                    shard_id,
                    error = error_chain(&error),
                    "releasing a lease failed; it expires instead"
                ),
            }
        }
        end == ShardEnd::Ended
    }

    async fn consumer_arn(&self) -> Result<String, EfoError> {
        let discovery_error =
            |source: Box<dyn std::error::Error + Send + Sync>| EfoError::Discovery {
                stream: self.engine.stream.clone(),
                consumer: self.engine.consumer.clone(),
                source,
            };
        let stream_arn = self
            .kinesis
            .describe_stream_summary()
            .stream_name(&self.engine.stream)
            .send()
            .await
            .map_err(|e| discovery_error(Box::new(e)))?
            .stream_description_summary
            .map(|summary| summary.stream_arn)
            .ok_or_else(|| discovery_error("no stream summary".into()))?;
        self.kinesis
            .describe_stream_consumer()
            .stream_arn(stream_arn)
            .consumer_name(&self.engine.consumer)
            .send()
            .await
            .map_err(|e| discovery_error(Box::new(e)))?
            .consumer_description
            .map(|consumer| consumer.consumer_arn)
            .ok_or_else(|| discovery_error("no consumer description".into()))
    }

    /// Every shard with its parents.
    async fn list_shards(&self) -> Result<HashMap<String, Vec<String>>, aws_sdk_kinesis::Error> {
        let mut shards = HashMap::new();
        let mut next_token: Option<String> = None;
        loop {
            let request = match &next_token {
                Some(token) => self.kinesis.list_shards().next_token(token),
                None => self.kinesis.list_shards().stream_name(&self.engine.stream),
            };
            let output = request.send().await?;
            for shard in output.shards() {
                let parents = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
                    .into_iter()
                    .flatten()
                    .map(str::to_owned)
                    .collect();
                shards.insert(shard.shard_id().to_owned(), parents);
            }
            match output.next_token {
                Some(token) => next_token = Some(token),
                None => return Ok(shards),
            }
        }
    }
}

async fn run_shard<H, E, D, F>(
    shared: Arc<Shared<H, E, D, F>>,
    shard_id: String,
    held: Arc<Mutex<Held>>,
    checkpoint: Checkpoint,
    mut stop: watch::Receiver<bool>,
) -> (String, ShardEnd)
where
    H: RecordHandler + 'static,
    E: Emitter + 'static,
    D: DeadLetters + 'static,
    F: FailureLog + 'static,
{
    let end = read_shard(&shared, &shard_id, &held, checkpoint, &mut stop).await;
    (shard_id, end)
}

async fn read_shard<H, E, D, F>(
    shared: &Shared<H, E, D, F>,
    shard_id: &str,
    held: &Mutex<Held>,
    checkpoint: Checkpoint,
    stop: &mut watch::Receiver<bool>,
) -> ShardEnd
where
    H: RecordHandler + 'static,
    E: Emitter + 'static,
    D: DeadLetters + 'static,
    F: FailureLog + 'static,
{
    let consumer = shared.engine.consumer.as_str();
    let mut backoff = Backoff::default();
    if checkpoint.shard_ended {
        return ShardEnd::Ended;
    }
    // A shard without a checkpoint starts at its oldest record (never LATEST: that skips).
    let mut position: Option<String> = checkpoint.sequence_number;
    let mut done: Option<String> = position.clone();
    tracing::info!(consumer, shard_id, after = ?position, "subscribing");

    'subscriptions: while !*stop.borrow() {
        let subscription = shared
            .kinesis
            .subscribe_to_shard()
            .consumer_arn(&shared.consumer_arn)
            .shard_id(shard_id)
            .starting_position(starting_position(position.as_deref()))
            .send()
            .await;
        let events = match subscription {
            Ok(output) => output.event_stream,
            Err(error) => {
                // Includes ResourceInUseException right after a previous subscription.
                tracing::warn!(shard_id, error = %aws_sdk_kinesis::error::DisplayErrorContext(&error), "SubscribeToShard failed");
                if backoff.wait(stop).await.is_err() {
                    return ShardEnd::Stopped;
                }
                continue;
            }
        };
        let (mut events, _reader) = read_ahead(events);
        loop {
            let next = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return ShardEnd::Stopped,
                next = events.recv() => next,
            };
            let mut event = match next {
                Some(Ok(event)) => event,
                // The subscription's five minutes are over: subscribe again from where we are.
                None => continue 'subscriptions,
                Some(Err(error)) => {
                    tracing::warn!(shard_id, error, "subscription broke");
                    if backoff.wait(stop).await.is_err() {
                        return ShardEnd::Stopped;
                    }
                    continue 'subscriptions;
                }
            };
            let records: Vec<StreamRecord> = std::mem::take(&mut event.records)
                .into_iter()
                .map(|record| StreamRecord {
                    shard_id: shard_id.to_owned(),
                    arrived_at: record
                        .approximate_arrival_timestamp
                        .and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok())
                        .unwrap_or_else(OffsetDateTime::now_utc),
                    sequence_number: record.sequence_number,
                    partition_key: record.partition_key.unwrap_or_default(),
                    data: record.data.into_inner().into(),
                })
                .collect();
            if !records.is_empty() {
                // A batch once begun is finished, even when told to stop meanwhile.
                let outcome = shared
                    .engine
                    .run_batch(
                        &records,
                        BatchSource {
                            shard_id: Some(shard_id),
                            millis_behind_latest: Some(event.millis_behind_latest()),
                        },
                    )
                    .await;
                if let Some(last) = &outcome.last_done {
                    done = Some(last.clone());
                    let saved = save(
                        shared,
                        held,
                        Checkpoint {
                            sequence_number: done.clone(),
                            shard_ended: false,
                        },
                        stop,
                    )
                    .await;
                    if saved.is_err() {
                        return ShardEnd::Lost;
                    }
                }
                tracing::info!(
                    consumer,
                    shard_id,
                    handled = outcome.handled,
                    skipped = outcome.skipped,
                    dead_lettered = outcome.dead_lettered.len(),
                    millis_behind_latest = event.millis_behind_latest(),
                    "batch done"
                );
                if *stop.borrow() {
                    return ShardEnd::Stopped;
                }
                if let Some(retry) = outcome.retry_from {
                    tracing::warn!(
                        shard_id,
                        sequence_number = retry.sequence_number,
                        reason = retry.reason,
                        "transient failure; resubscribing from the checkpoint"
                    );
                    position = done.clone();
                    if backoff.wait(stop).await.is_err() {
                        return ShardEnd::Stopped;
                    }
                    continue 'subscriptions;
                }
            }
            backoff.reset();
            // The end of a closed shard: AWS sends its children and no continuation. Children
            // are taken once this is recorded.
            let continuation = event.continuation_sequence_number();
            if continuation.is_empty() {
                tracing::info!(
                    shard_id,
                    children = event.child_shards().len(),
                    "shard read to its end"
                );
                let saved = save(
                    shared,
                    held,
                    Checkpoint {
                        sequence_number: done.clone(),
                        shard_ended: true,
                    },
                    stop,
                )
                .await;
                return match saved {
                    Ok(true) => ShardEnd::Ended,
                    // Stopped before the end stuck: the next holder reads to the end again.
                    Ok(false) => ShardEnd::Stopped,
                    Err(LostLease) => ShardEnd::Lost,
                };
            }
            position = Some(continuation.to_owned());
        }
    }
    ShardEnd::Stopped
}

/// `call` to the lease table, given up after `limit`: a connection that never answers (a
/// blackholed network) must not keep the worker from noticing that its leases ran out.
async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, LeaseError>>,
) -> Result<T, LeaseError> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(LeaseError::Table(
            format!("no answer from the lease table within {limit:?}").into(),
        ))
    })
}

/// The lease was taken: the checkpoint cannot be written, and the shard must stop.
struct LostLease;

/// Saves `checkpoint` under the lease. A batch's checkpoint is tried a few times and then given
/// up: a lost one only means some records are handled again after a restart, which the
/// idempotent handlers make harmless. A shard-end marker is retried until it sticks (or the
/// shard is told to stop): the children wait for it. Returns whether it was saved.
async fn save<H, E, D, F>(
    shared: &Shared<H, E, D, F>,
    held: &Mutex<Held>,
    checkpoint: Checkpoint,
    stop: &mut watch::Receiver<bool>,
) -> Result<bool, LostLease> {
    let mut backoff = Backoff::default();
    for attempt in 1.. {
        let result = {
            let mut held = held.lock().await;
            let limit = shared.leases.duration() / 3;
            bounded(limit, shared.leases.checkpoint(&mut held, &checkpoint)).await
        };
        match result {
            Ok(()) => return Ok(true),
            Err(LeaseError::Lost(shard_id)) => {
                tracing::warn!(shard_id, "lease taken by another worker; not checkpointing");
                return Err(LostLease);
            }
            Err(error) => tracing::warn!(
                attempt,
                shard_ended = checkpoint.shard_ended,
                error = error_chain(&error),
                "checkpoint failed"
            ),
        }
        // Told to stop: the shard-end marker is not waited for; a batch's checkpoint gets its
        // few attempts, so that a handover loses as little as it can.
        let give_up = if checkpoint.shard_ended {
            *stop.borrow()
        } else {
            attempt >= CHECKPOINT_ATTEMPTS
        };
        if give_up {
            break;
        }
        tokio::time::sleep(backoff.next()).await;
    }
    Ok(false)
}

/// The subscription's events (or the error that broke it), read ahead into a bounded channel
/// by a task that stops when the returned guard is dropped. The channel closes when the
/// subscription ends.
fn read_ahead(
    mut subscription: aws_sdk_kinesis::primitives::event_stream::EventReceiver<
        SubscribeToShardEventStream,
        aws_sdk_kinesis::types::error::SubscribeToShardEventStreamError,
    >,
) -> (
    mpsc::Receiver<Result<SubscribeToShardEvent, String>>,
    AbortOnDrop,
) {
    let (sender, receiver) = mpsc::channel(EVENTS_READ_AHEAD);
    let reader = tokio::spawn(async move {
        loop {
            let event = match subscription.recv().await {
                Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(event))) => Ok(event),
                Ok(Some(_)) => continue,
                Ok(None) => return,
                Err(error) => Err(aws_sdk_kinesis::error::DisplayErrorContext(&error).to_string()),
            };
            let broke = event.is_err();
            if sender.send(event).await.is_err() || broke {
                return;
            }
        }
    });
    (receiver, AbortOnDrop(reader))
}

/// Stops a task when dropped: a subscription's reader, once its shard task resubscribes.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn starting_position(after: Option<&str>) -> StartingPosition {
    let position = match after {
        Some(sequence_number) => StartingPosition::builder()
            .r#type(ShardIteratorType::AfterSequenceNumber)
            .sequence_number(sequence_number),
        None => StartingPosition::builder().r#type(ShardIteratorType::TrimHorizon),
    };
    position
        .build()
        .unwrap_or_else(|e| unreachable!("type is set: {e}"))
}

/// Exponential backoff with jitter (from `backon`) that gives way to shutdown.
struct Backoff(ExponentialBackoff);

fn backoff_delays() -> ExponentialBackoff {
    ExponentialBuilder::default()
        .with_min_delay(FIRST_BACKOFF)
        .with_max_delay(MAX_BACKOFF)
        .with_jitter()
        .without_max_times()
        .build()
}

impl Default for Backoff {
    fn default() -> Self {
        Self(backoff_delays())
    }
}

impl Backoff {
    fn reset(&mut self) {
        self.0 = backoff_delays();
    }

    fn next(&mut self) -> Duration {
        self.0.next().unwrap_or(MAX_BACKOFF)
    }

    /// Sleeps for the next delay; `Err` if told to stop first.
    async fn wait(&mut self, stop: &mut watch::Receiver<bool>) -> Result<(), ()> {
        let delay = self.next();
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => Err(()),
            _ = tokio::time::sleep(delay) => Ok(()),
        }
    }
}
