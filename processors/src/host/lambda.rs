//! Hosting on AWS Lambda: an event source mapping (on an enhanced fan-out consumer) delivers a
//! `KinesisEvent`; the answer lists the first record to retry (`ReportBatchItemFailures`).
//!
//! Lambda checkpoints at the lowest reported sequence number and retries every record from
//! there, so the one failure reported is the batch's lowest sequence number that did not succeed
//! ([`crate::batch`]): the minimal answer. No failure is an empty list, never an empty
//! identifier (which would fail the whole batch). Records the engine dead-letters are not
//! failures: their letters are written before the answer.

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::KinesisEventResponse;
use time::OffsetDateTime;

use crate::batch::{BatchSource, Emitter, Engine, RecordHandler};
use crate::dead_letter::DeadLetters;
use crate::failures::FailureLog;
use crate::record::StreamRecord;

/// Runs `engine` over one Lambda invocation's records.
pub async fn handle_kinesis_event<H, E, D, F>(
    engine: &Engine<H, E, D, F>,
    event: KinesisEvent,
) -> KinesisEventResponse
where
    H: RecordHandler,
    E: Emitter,
    D: DeadLetters,
    F: FailureLog,
{
    let records: Vec<StreamRecord> = event.records.into_iter().map(stream_record).collect();
    // The function's own IteratorAge metric already says how far behind it is.
    let outcome = engine.run_batch(&records, BatchSource::default()).await;
    let mut response = KinesisEventResponse::default();
    if let Some(retry) = outcome.retry_from {
        tracing::warn!(
            consumer = engine.consumer,
            sequence_number = retry.sequence_number,
            reason = retry.reason,
            handled = outcome.handled,
            "transient failure; Lambda retries the batch from it"
        );
        response.add_failure(retry.sequence_number);
    } else {
        tracing::info!(
            consumer = engine.consumer,
            handled = outcome.handled,
            skipped = outcome.skipped,
            dead_lettered = outcome.dead_lettered.len(),
            "batch done"
        );
    }
    response
}

fn stream_record(record: KinesisEventRecord) -> StreamRecord {
    // The event id is "{shardId}:{sequenceNumber}".
    let shard_id = record
        .event_id
        .as_deref()
        .and_then(|id| id.split_once(':'))
        .map(|(shard, _)| shard.to_owned())
        .unwrap_or_default();
    let arrived_at = record.kinesis.approximate_arrival_timestamp.0;
    StreamRecord {
        shard_id,
        sequence_number: record.kinesis.sequence_number,
        partition_key: record.kinesis.partition_key,
        data: record.kinesis.data.0.into(),
        arrived_at: OffsetDateTime::from_unix_timestamp_nanos(
            arrived_at.timestamp_nanos_opt().unwrap_or_default().into(),
        )
        .unwrap_or_else(|_| OffsetDateTime::now_utc()),
    }
}

/// Serves `handler` as `consumer` on Lambda: the Runtime API loop over [`handle_kinesis_event`]
/// with the engine from [`super::aws_engine`], each batch [`crate::deadline::within`] the
/// invocation's deadline. What every consumer's Lambda `main` calls.
pub async fn serve<H: RecordHandler>(
    consumer: &str,
    handler: H,
    sdk: &aws_config::SdkConfig,
) -> Result<(), lambda_runtime::Error> {
    let engine = &super::aws_engine(consumer, handler, sdk)?;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<KinesisEvent>| async move {
            let left = event
                .context
                .deadline()
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default();
            let deadline = tokio::time::Instant::now() + left;
            let answer =
                crate::deadline::within(deadline, handle_kinesis_event(engine, event.payload));
            Ok::<_, lambda_runtime::Error>(answer.await)
        },
    ))
    .await
}
