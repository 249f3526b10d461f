//! Hosting as a standalone consumer: one `SubscribeToShard` subscription per shard through the
//! processor's enhanced fan-out consumer, with checkpoints in DynamoDB.
//!
//! Each shard runs on its own task. The subscription is read into a small bounded channel by a
//! task of its own, so the next events arrive while a batch is handled and a slow handler never
//! leaves the subscription unread; a batch is handled, then checkpointed, then the next one is
//! taken. A transient failure resubscribes from the last checkpoint after a backoff, so no
//! record is skipped; the handlers are idempotent, so a record seen twice changes nothing.
//! A child shard starts only once its parents are read to their end, so one customer's events
//! stay in order across resharding. A shard task that dies (a handler panic) is logged and
//! started again from its checkpoint. Sharing shards between several workers (leases) comes
//! with its own issue; today one process owns every shard of its consumer.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::{
    ShardIteratorType, StartingPosition, SubscribeToShardEvent, SubscribeToShardEventStream,
};
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::batch::{BatchSource, Emitter, Engine, RecordHandler};
use crate::checkpoint::{Checkpoint, CheckpointStore};
use crate::dead_letter::DeadLetters;
use crate::error_chain;
use crate::failures::FailureLog;
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
    /// How often to look for new shards (after resharding).
    pub shard_discovery_interval: Duration,
}

/// Runs an [`Engine`] over every shard of its stream, through the enhanced fan-out consumer of
/// the engine's name (also the checkpoints' owner).
pub struct EfoHost<H, E, D, F> {
    kinesis: Client,
    checkpoints: CheckpointStore,
    config: EfoConfig,
    engine: Arc<Engine<H, E, D, F>>,
}

/// What every shard task shares.
struct Shared<H, E, D, F> {
    kinesis: Client,
    checkpoints: CheckpointStore,
    consumer_arn: String,
    engine: Arc<Engine<H, E, D, F>>,
    /// Shards the stream currently lists; a parent no longer listed has been trimmed.
    listed: std::sync::Mutex<HashSet<String>>,
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
        checkpoints: CheckpointStore,
        config: EfoConfig,
        engine: Engine<H, E, D, F>,
    ) -> Self {
        Self {
            kinesis,
            checkpoints,
            config,
            engine: Arc::new(engine),
        }
    }

    /// Consumes every shard until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), EfoError> {
        let consumer_arn = self.consumer_arn().await?;
        let shared = Arc::new(Shared {
            kinesis: self.kinesis.clone(),
            checkpoints: self.checkpoints.clone(),
            consumer_arn,
            engine: self.engine.clone(),
            listed: std::sync::Mutex::new(HashSet::new()),
        });
        let mut tasks = JoinSet::new();
        let mut started: HashSet<String> = HashSet::new();
        let mut running: HashMap<tokio::task::Id, String> = HashMap::new();
        'discovery: loop {
            match self.list_shards().await {
                Ok(shards) => {
                    if let Ok(mut listed) = shared.listed.lock() {
                        *listed = shards.keys().cloned().collect();
                    }
                    for (shard_id, parents) in shards {
                        if started.insert(shard_id.clone()) {
                            let task = tasks.spawn(run_shard(
                                shared.clone(),
                                shard_id.clone(),
                                parents,
                                shutdown.clone(),
                            ));
                            running.insert(task.id(), shard_id);
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(
                        error = error_chain(&error),
                        "ListShards failed; trying again later"
                    )
                }
            }
            let discovery = tokio::time::sleep(self.config.shard_discovery_interval);
            tokio::pin!(discovery);
            loop {
                tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => break 'discovery,
                    _ = &mut discovery => break,
                    Some(ended) = tasks.join_next_with_id() => {
                        // A shard task returns when its shard is read to its end or at
                        // shutdown; one that dies (a panic in a handler) is started again at
                        // the next discovery, from its checkpoint.
                        let (id, died) = match ended {
                            Ok((id, ())) => (id, None),
                            Err(error) => (error.id(), Some(error)),
                        };
                        let shard_id = running.remove(&id).unwrap_or_default();
                        if let Some(error) = died {
                            tracing::error!(shard_id, error = error_chain(&error), "shard task died; restarting it from its checkpoint");
                            started.remove(&shard_id);
                        }
                    }
                }
            }
        }
        while tasks.join_next().await.is_some() {}
        Ok(())
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
    parents: Vec<String>,
    mut shutdown: watch::Receiver<bool>,
) where
    H: RecordHandler + 'static,
    E: Emitter + 'static,
    D: DeadLetters + 'static,
    F: FailureLog + 'static,
{
    let consumer = shared.engine.consumer.as_str();
    let mut backoff = Backoff::default();
    for parent in &parents {
        loop {
            let parent_listed = shared
                .listed
                .lock()
                .map(|l| l.contains(parent))
                .unwrap_or(true);
            if !parent_listed {
                break;
            }
            match shared.checkpoints.load(parent).await {
                Ok(checkpoint) if checkpoint.shard_ended => break,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(
                        shard_id,
                        parent,
                        error = error_chain(&error),
                        "cannot read parent checkpoint"
                    )
                }
            }
            if backoff.wait(&mut shutdown).await.is_err() {
                return;
            }
        }
    }
    let checkpoint = loop {
        match shared.checkpoints.load(&shard_id).await {
            Ok(checkpoint) => break checkpoint,
            Err(error) => tracing::warn!(
                shard_id,
                error = error_chain(&error),
                "cannot read checkpoint"
            ),
        }
        if backoff.wait(&mut shutdown).await.is_err() {
            return;
        }
    };
    if checkpoint.shard_ended {
        return;
    }
    // A shard without a checkpoint starts at its oldest record (never LATEST: that skips).
    let mut position: Option<String> = checkpoint.sequence_number;
    let mut done: Option<String> = position.clone();
    tracing::info!(consumer, shard_id, after = ?position, "subscribing");

    'subscriptions: while !*shutdown.borrow() {
        let subscription = shared
            .kinesis
            .subscribe_to_shard()
            .consumer_arn(&shared.consumer_arn)
            .shard_id(&shard_id)
            .starting_position(starting_position(position.as_deref()))
            .send()
            .await;
        let events = match subscription {
            Ok(output) => output.event_stream,
            Err(error) => {
                // Includes ResourceInUseException right after a previous subscription.
                tracing::warn!(shard_id, error = %aws_sdk_kinesis::error::DisplayErrorContext(&error), "SubscribeToShard failed");
                if backoff.wait(&mut shutdown).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let (mut events, _reader) = read_ahead(events);
        loop {
            let next = tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return,
                next = events.recv() => next,
            };
            let mut event = match next {
                Some(Ok(event)) => event,
                // The subscription's five minutes are over: subscribe again from where we are.
                None => continue 'subscriptions,
                Some(Err(error)) => {
                    tracing::warn!(shard_id, error, "subscription broke");
                    if backoff.wait(&mut shutdown).await.is_err() {
                        return;
                    }
                    continue 'subscriptions;
                }
            };
            let records: Vec<StreamRecord> = std::mem::take(&mut event.records)
                .into_iter()
                .map(|record| StreamRecord {
                    shard_id: shard_id.clone(),
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
                let outcome = shared
                    .engine
                    .run_batch(
                        &records,
                        BatchSource {
                            shard_id: Some(&shard_id),
                            millis_behind_latest: Some(event.millis_behind_latest()),
                        },
                    )
                    .await;
                if let Some(last) = &outcome.last_done {
                    done = Some(last.clone());
                    save(
                        &shared,
                        &shard_id,
                        Checkpoint {
                            sequence_number: done.clone(),
                            shard_ended: false,
                        },
                        &mut shutdown,
                    )
                    .await;
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
                if let Some(retry) = outcome.retry_from {
                    tracing::warn!(
                        shard_id,
                        sequence_number = retry.sequence_number,
                        reason = retry.reason,
                        "transient failure; resubscribing from the checkpoint"
                    );
                    position = done.clone();
                    if backoff.wait(&mut shutdown).await.is_err() {
                        return;
                    }
                    continue 'subscriptions;
                }
            }
            backoff.reset();
            // The end of a closed shard: AWS sends its children and no continuation. Children
            // start once this is recorded.
            let continuation = event.continuation_sequence_number();
            if continuation.is_empty() {
                tracing::info!(
                    shard_id,
                    children = event.child_shards().len(),
                    "shard read to its end"
                );
                save(
                    &shared,
                    &shard_id,
                    Checkpoint {
                        sequence_number: done.clone(),
                        shard_ended: true,
                    },
                    &mut shutdown,
                )
                .await;
                return;
            }
            position = Some(continuation.to_owned());
        }
    }
}

/// Saves `checkpoint`. A batch's checkpoint is tried a few times and then given up: a lost one
/// only means some records are handled again after a restart, which the idempotent handlers make
/// harmless. A shard-end marker is retried until it sticks (or shutdown): the children wait for
/// it. Returns whether it was saved.
async fn save<H, E, D, F>(
    shared: &Shared<H, E, D, F>,
    shard_id: &str,
    checkpoint: Checkpoint,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    let mut backoff = Backoff::default();
    for attempt in 1.. {
        match shared.checkpoints.save(shard_id, &checkpoint).await {
            Ok(()) => return true,
            Err(error) => tracing::warn!(
                shard_id,
                attempt,
                shard_ended = checkpoint.shard_ended,
                error = error_chain(&error),
                "checkpoint failed"
            ),
        }
        if (!checkpoint.shard_ended && attempt >= CHECKPOINT_ATTEMPTS)
            || backoff.wait(shutdown).await.is_err()
        {
            break;
        }
    }
    false
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

    /// Sleeps for the next delay; `Err` if shutdown came first.
    async fn wait(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<(), ()> {
        let delay = self.0.next().unwrap_or(MAX_BACKOFF);
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => Err(()),
            _ = tokio::time::sleep(delay) => Ok(()),
        }
    }
}
