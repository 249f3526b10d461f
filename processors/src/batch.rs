//! The batch lifter: one record handler, applied in order over a batch.
//!
//! Kinesis keeps order per partition key, so a batch is processed in sequence and stops at the
//! first transient failure: that record and every record after it are reported for retry, and
//! no record after a failure is processed twice. A poison record (one that can never succeed)
//! does not stop the batch.

use std::future::Future;

use crate::record::StreamRecord;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The record can never succeed (not JSON, unknown type, invalid order): set it aside.
    #[error("poison record: {0}")]
    Poison(String),
    /// Something outside the record failed (a dependency, throttling): retry it later.
    #[error("transient failure: {0}")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Handles one record. Must be idempotent: a record may be delivered more than once.
pub trait RecordHandler: Send + Sync {
    fn handle(&self, record: &StreamRecord)
    -> impl Future<Output = Result<(), RecordError>> + Send;
}

/// A record that can never succeed, with where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoisonRecord {
    pub shard_id: String,
    pub sequence_number: String,
    pub reason: String,
}

/// The first record that failed transiently; it and everything after it are unprocessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryFrom {
    pub sequence_number: String,
    pub reason: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Records handled (a duplicate that changed nothing counts as handled).
    pub handled: usize,
    /// The sequence number of the last record handled or set aside, to checkpoint after.
    pub last_done: Option<String>,
    pub poison: Vec<PoisonRecord>,
    pub retry_from: Option<RetryFrom>,
}

pub async fn process_batch<H: RecordHandler>(
    handler: &H,
    records: &[StreamRecord],
) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    for record in records {
        match handler.handle(record).await {
            Ok(()) => outcome.handled += 1,
            Err(RecordError::Poison(reason)) => outcome.poison.push(PoisonRecord {
                shard_id: record.shard_id.clone(),
                sequence_number: record.sequence_number.clone(),
                reason,
            }),
            Err(RecordError::Transient(error)) => {
                outcome.retry_from = Some(RetryFrom {
                    sequence_number: record.sequence_number.clone(),
                    reason: error.to_string(),
                });
                break;
            }
        }
        outcome.last_done = Some(record.sequence_number.clone());
    }
    outcome
}

/// Logs what a batch set aside. Poison records stay in the stream for its retention period;
/// the dead-letter store that keeps them for good comes with the processor engine.
pub fn report_poison(consumer: &str, outcome: &BatchOutcome) {
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

    use super::*;

    /// Fails records by their data: "poison" and "transient" fail, anything else succeeds.
    #[derive(Default)]
    struct Scripted {
        seen: Mutex<Vec<String>>,
    }

    impl RecordHandler for Scripted {
        async fn handle(&self, record: &StreamRecord) -> Result<(), RecordError> {
            self.seen
                .lock()
                .expect("lock")
                .push(record.sequence_number.clone());
            match record.data.as_slice() {
                b"poison" => Err(RecordError::Poison("bad".into())),
                b"transient" => Err(RecordError::Transient("down".into())),
                _ => Ok(()),
            }
        }
    }

    fn records(data: &[&str]) -> Vec<StreamRecord> {
        data.iter()
            .enumerate()
            .map(|(i, d)| StreamRecord {
                shard_id: "shardId-000000000000".into(),
                sequence_number: format!("{}", 100 + i),
                partition_key: "c".into(),
                data: d.as_bytes().to_vec(),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_poison_record_is_set_aside_and_the_batch_goes_on() {
        let handler = Scripted::default();
        let outcome = process_batch(&handler, &records(&["ok", "poison", "ok"])).await;
        assert_eq!(outcome.handled, 2);
        assert_eq!(outcome.poison.len(), 1);
        assert_eq!(outcome.poison[0].sequence_number, "101");
        assert_eq!(outcome.retry_from, None);
        assert_eq!(outcome.last_done.as_deref(), Some("102"));
    }

    #[tokio::test]
    async fn a_transient_failure_stops_the_batch_so_nothing_after_it_runs() {
        let handler = Scripted::default();
        let outcome = process_batch(&handler, &records(&["ok", "transient", "ok"])).await;
        assert_eq!(outcome.handled, 1);
        assert_eq!(
            outcome.retry_from.map(|r| r.sequence_number).as_deref(),
            Some("101")
        );
        assert_eq!(outcome.last_done.as_deref(), Some("100"));
        assert_eq!(*handler.seen.lock().expect("lock"), ["100", "101"]);
    }
}
