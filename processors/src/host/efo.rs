//! Hosting as a standalone consumer: one `SubscribeToShard` subscription per shard through the
//! processor's enhanced fan-out consumer, with checkpoints in DynamoDB.
//!
//! Each shard runs on its own task: a record batch is handled, then checkpointed, then the next
//! one is read. A transient failure resubscribes from the last checkpoint after a backoff, so
//! no record is skipped; the handlers are idempotent, so a record seen twice changes nothing.
//! A child shard starts only once its parents are read to their end, so one customer's events
//! stay in order across resharding. A shard task that dies (a handler panic) is logged and
//! started again from its checkpoint. Sharing shards between several workers (leases) comes
//! with its own issue; today one process owns every shard of its consumer.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::{ShardIteratorType, StartingPosition, SubscribeToShardEventStream};
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use ingest::producer::Producer;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::batch::{BatchConfig, RecordHandler, process_batch, report_refused};
use crate::checkpoint::{Checkpoint, CheckpointStore};
use crate::error_chain;
use crate::metrics::BatchMetrics;
use crate::record::StreamRecord;

const MAX_BACKOFF: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Attempts at a batch's checkpoint before going on without it (see [`save`]).
const CHECKPOINT_ATTEMPTS: usize = 5;

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
    pub stream: String,
    /// The registered enhanced fan-out consumer's name, also the checkpoints' owner.
    pub consumer: String,
    /// How often to look for new shards (after resharding).
    pub shard_discovery_interval: Duration,
    /// How each event's records are run (per-customer concurrency).
    pub batch: BatchConfig,
}

pub struct EfoHost<H> {
    kinesis: Client,
    checkpoints: CheckpointStore,
    config: EfoConfig,
    handler: Arc<H>,
}

/// What every shard task shares.
struct Shared<H> {
    kinesis: Client,
    checkpoints: CheckpointStore,
    consumer: String,
    consumer_arn: String,
    handler: Arc<H>,
    /// Puts the handler's events on the stream it reads.
    emitter: Producer,
    batch: BatchConfig,
    /// Shards the stream currently lists; a parent no longer listed has been trimmed.
    listed: std::sync::Mutex<HashSet<String>>,
}

impl<H: RecordHandler + 'static> EfoHost<H> {
    pub fn new(
        kinesis: Client,
        checkpoints: CheckpointStore,
        config: EfoConfig,
        handler: H,
    ) -> Self {
        Self {
            kinesis,
            checkpoints,
            config,
            handler: Arc::new(handler),
        }
    }

    /// Consumes every shard until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), EfoError> {
        let consumer_arn = self.consumer_arn().await?;
        let shared = Arc::new(Shared {
            kinesis: self.kinesis.clone(),
            checkpoints: self.checkpoints.clone(),
            consumer: self.config.consumer.clone(),
            consumer_arn,
            handler: self.handler.clone(),
            emitter: Producer::new(self.kinesis.clone(), self.config.stream.clone()),
            batch: self.config.batch,
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
                stream: self.config.stream.clone(),
                consumer: self.config.consumer.clone(),
                source,
            };
        let stream_arn = self
            .kinesis
            .describe_stream_summary()
            .stream_name(&self.config.stream)
            .send()
            .await
            .map_err(|e| discovery_error(Box::new(e)))?
            .stream_description_summary
            .map(|summary| summary.stream_arn)
            .ok_or_else(|| discovery_error("no stream summary".into()))?;
        self.kinesis
            .describe_stream_consumer()
            .stream_arn(stream_arn)
            .consumer_name(&self.config.consumer)
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
                None => self.kinesis.list_shards().stream_name(&self.config.stream),
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

async fn run_shard<H: RecordHandler>(
    shared: Arc<Shared<H>>,
    shard_id: String,
    parents: Vec<String>,
    mut shutdown: watch::Receiver<bool>,
) {
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
    tracing::info!(consumer = shared.consumer, shard_id, after = ?position, "subscribing");

    'subscriptions: while !*shutdown.borrow() {
        let subscription = shared
            .kinesis
            .subscribe_to_shard()
            .consumer_arn(&shared.consumer_arn)
            .shard_id(&shard_id)
            .starting_position(starting_position(position.as_deref()))
            .send()
            .await;
        let mut events = match subscription {
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
        loop {
            let next = tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return,
                next = events.recv() => next,
            };
            let event = match next {
                Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(event))) => event,
                Ok(Some(_)) => continue,
                // The subscription's five minutes are over: subscribe again from where we are.
                Ok(None) => continue 'subscriptions,
                Err(error) => {
                    tracing::warn!(shard_id, error = %aws_sdk_kinesis::error::DisplayErrorContext(&error), "subscription broke");
                    if backoff.wait(&mut shutdown).await.is_err() {
                        return;
                    }
                    continue 'subscriptions;
                }
            };
            let records: Vec<StreamRecord> = event
                .records()
                .iter()
                .map(|record| StreamRecord {
                    shard_id: shard_id.clone(),
                    sequence_number: record.sequence_number().to_owned(),
                    partition_key: record.partition_key().unwrap_or_default().to_owned(),
                    data: record.data().as_ref().to_vec(),
                })
                .collect();
            if !records.is_empty() {
                let started = std::time::Instant::now();
                let outcome = process_batch(
                    shared.handler.as_ref(),
                    &shared.emitter,
                    &records,
                    shared.batch,
                )
                .await;
                report_refused(&shared.consumer, &outcome);
                BatchMetrics {
                    consumer: &shared.consumer,
                    shard_id: Some(&shard_id),
                    records: records.len(),
                    outcome: &outcome,
                    duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                    millis_behind_latest: Some(event.millis_behind_latest()),
                }
                .emit();
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
                    consumer = shared.consumer,
                    shard_id,
                    handled = outcome.handled,
                    skipped = outcome.skipped,
                    poison = outcome.poison.len(),
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
async fn save<H>(
    shared: &Shared<H>,
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
