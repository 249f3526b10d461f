//! Per-shard checkpoints of the standalone consumers, in DynamoDB.
//!
//! One item per (consumer, shard): the sequence number of the last record done, and whether
//! the shard has been read to its end (so its children may start). Lambda hosts need none of
//! this: the event source mapping keeps its own checkpoints.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::create_consumer_table;

pub mod attr {
    pub const CONSUMER: &str = "consumer";
    pub const SHARD_ID: &str = "shardId";
    pub const SEQUENCE_NUMBER: &str = "sequenceNumber";
    pub const SHARD_ENDED: &str = "shardEnded";
    pub const UPDATED_AT: &str = "updatedAt";
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// Last record done; `None` if none yet.
    pub sequence_number: Option<String>,
    pub shard_ended: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("the checkpoint table failed")]
pub struct CheckpointError(#[source] Box<dyn std::error::Error + Send + Sync>);

#[derive(Clone)]
pub struct CheckpointStore {
    client: Client,
    table: String,
    consumer: String,
}

impl CheckpointStore {
    pub fn new(client: Client, table: impl Into<String>, consumer: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            consumer: consumer.into(),
        }
    }

    pub async fn load(&self, shard_id: &str) -> Result<Checkpoint, CheckpointError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::CONSUMER, AttributeValue::S(self.consumer.clone()))
            .key(attr::SHARD_ID, AttributeValue::S(shard_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| CheckpointError(Box::new(e)))?;
        let Some(item) = output.item else {
            return Ok(Checkpoint::default());
        };
        Ok(Checkpoint {
            sequence_number: item
                .get(attr::SEQUENCE_NUMBER)
                .and_then(|v| v.as_s().ok())
                .cloned(),
            shard_ended: item
                .get(attr::SHARD_ENDED)
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
        })
    }

    pub async fn save(
        &self,
        shard_id: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), CheckpointError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::CONSUMER, AttributeValue::S(self.consumer.clone()))
            .item(attr::SHARD_ID, AttributeValue::S(shard_id.to_owned()))
            .item(
                attr::SHARD_ENDED,
                AttributeValue::Bool(checkpoint.shard_ended),
            )
            .item(
                attr::UPDATED_AT,
                AttributeValue::S(ingest::order::sortable_time::format(
                    time::OffsetDateTime::now_utc(),
                )),
            );
        if let Some(sequence_number) = &checkpoint.sequence_number {
            request = request.item(
                attr::SEQUENCE_NUMBER,
                AttributeValue::S(sequence_number.clone()),
            );
        }
        request
            .send()
            .await
            .map_err(|e| CheckpointError(Box::new(e)))?;
        Ok(())
    }
}

pub async fn create_checkpoints_table(
    client: &Client,
    table: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    create_consumer_table(client, table, attr::CONSUMER, attr::SHARD_ID, None).await
}
