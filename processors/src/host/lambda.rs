//! Hosting on AWS Lambda: an event source mapping (on an enhanced fan-out consumer) delivers a
//! `KinesisEvent`; the answer lists the first record to retry (`ReportBatchItemFailures`).
//!
//! Lambda checkpoints at the lowest reported sequence number and retries every record from
//! there, so the one failure reported is the batch's lowest sequence number that did not succeed
//! ([`crate::batch`]): the minimal answer. No failure is an empty list, never an empty
//! identifier (which would fail the whole batch).

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::KinesisEventResponse;

use crate::batch::{BatchConfig, Emitter, RecordHandler, process_batch, report_refused};
use crate::metrics::BatchMetrics;
use crate::record::StreamRecord;

/// Runs `handler` over one Lambda invocation's records.
pub async fn handle_kinesis_event<H: RecordHandler, E: Emitter>(
    consumer: &str,
    handler: &H,
    emitter: &E,
    config: BatchConfig,
    event: KinesisEvent,
) -> KinesisEventResponse {
    let records: Vec<StreamRecord> = event.records.into_iter().map(stream_record).collect();
    let started = std::time::Instant::now();
    let outcome = process_batch(handler, emitter, &records, config).await;
    report_refused(consumer, &outcome);
    // The function's own IteratorAge metric already says how far behind it is.
    BatchMetrics {
        consumer,
        shard_id: None,
        records: records.len(),
        outcome: &outcome,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        millis_behind_latest: None,
    }
    .emit();
    let mut response = KinesisEventResponse::default();
    if let Some(retry) = outcome.retry_from {
        tracing::warn!(
            consumer,
            sequence_number = retry.sequence_number,
            reason = retry.reason,
            handled = outcome.handled,
            "transient failure; Lambda retries the batch from it"
        );
        response.add_failure(retry.sequence_number);
    } else {
        tracing::info!(
            consumer,
            handled = outcome.handled,
            skipped = outcome.skipped,
            poison = outcome.poison.len(),
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
    StreamRecord {
        shard_id,
        sequence_number: record.kinesis.sequence_number,
        partition_key: record.kinesis.partition_key,
        data: record.kinesis.data.0,
    }
}
