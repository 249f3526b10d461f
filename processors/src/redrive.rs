//! Reading the dead-letter bucket back, for the `redrive` command: the consumers' own dead
//! letters (one object per record, [`crate::dead_letter`]) and the failed batches Lambda's
//! on-failure destination writes under `aws/lambda/` (with the invocation's payload), both as
//! [`Letter`]s that can be put back on the stream.
//!
//! A redrive puts each record back with its original partition key and data, so its event id
//! is unchanged and the consumers deduplicate it: redriving twice changes nothing.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_s3::Client;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::dead_letter::{DeadLetter, PREFIX};
use crate::error_chain;

/// Where Lambda's on-failure destination writes failed batches.
pub const LAMBDA_PREFIX: &str = "aws/lambda/";

#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    #[error("cannot list s3://{bucket}/{prefix}: {cause}")]
    List {
        bucket: String,
        prefix: String,
        cause: String,
    },
    #[error("cannot read s3://{bucket}/{key}: {cause}")]
    Read {
        bucket: String,
        key: String,
        cause: String,
    },
    #[error("s3://{bucket}/{key} is not a dead letter or an on-failure record: {cause}")]
    Parse {
        bucket: String,
        key: String,
        cause: String,
    },
}

/// One object of the dead-letter bucket, ready to redrive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Letter {
    /// A record a consumer gave up on.
    Record {
        key: String,
        #[serde(flatten)]
        letter: Box<DeadLetter>,
    },
    /// A batch Lambda gave up on (past the event source mapping's limits).
    LambdaBatch {
        key: String,
        function_arn: String,
        condition: String,
        shard_id: String,
        start_sequence_number: String,
        end_sequence_number: String,
        #[serde(with = "time::serde::rfc3339")]
        written_at: OffsetDateTime,
        records: Vec<RecordToRedrive>,
    },
}

/// A record as it goes back on the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordToRedrive {
    pub partition_key: String,
    pub sequence_number: String,
    #[serde(skip)]
    pub data: Vec<u8>,
}

impl Letter {
    pub fn key(&self) -> &str {
        match self {
            Self::Record { key, .. } | Self::LambdaBatch { key, .. } => key,
        }
    }

    /// The records to put back on the stream, in their original order.
    pub fn records(&self) -> Result<Vec<RecordToRedrive>, base64::DecodeError> {
        match self {
            Self::Record { letter, .. } => Ok(vec![RecordToRedrive {
                partition_key: letter.partition_key.clone(),
                sequence_number: letter.sequence_number.clone(),
                data: letter.payload()?,
            }]),
            Self::LambdaBatch { records, .. } => Ok(records.clone()),
        }
    }
}

/// Which letters to read.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// One consumer's letters (e.g. `orders-materialiser`); every consumer's when `None`. A
    /// Lambda batch is the consumer's when its function is named after it, as the Pulumi
    /// program names them (`<prefix>-materialiser`: see [`function_of`]).
    pub consumer: Option<String>,
    /// Records that arrived at or after this time; Lambda batches by when Lambda wrote them
    /// (their records arrived earlier, by up to the mapping's record age limit).
    pub from: Option<OffsetDateTime>,
    /// Records that arrived before this time; Lambda batches by when Lambda wrote them.
    pub to: Option<OffsetDateTime>,
    /// Leave Lambda's on-failure batches out.
    pub own_only: bool,
}

impl Selection {
    fn contains(&self, at: OffsetDateTime) -> bool {
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }

    /// Whether a Lambda batch of the function `function_arn` is selected by consumer.
    fn includes_function(&self, function_arn: &str) -> bool {
        self.consumer
            .as_deref()
            .is_none_or(|consumer| function_of(function_arn, consumer))
    }
}

/// Whether `function_arn` is the Lambda of `consumer`: its function name is the consumer's
/// name, or ends with `-` and the consumer's name without its `orders-` prefix (the Pulumi
/// program names `orders-materialiser`'s function `<prefix>-materialiser`). A qualifier
/// (`:alias` or `:version`) after the name is ignored.
pub fn function_of(function_arn: &str, consumer: &str) -> bool {
    let name = function_arn
        .split(":function:")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or(function_arn);
    let short = consumer.strip_prefix("orders-").unwrap_or(consumer);
    name == consumer
        || name
            .strip_suffix(short)
            .is_some_and(|prefix| prefix.ends_with('-'))
}

/// Reads the dead-letter bucket.
pub struct DeadLetterBucket {
    client: Client,
    bucket: String,
}

impl DeadLetterBucket {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// The letters `selection` names: the consumers' own first (by consumer, arrival hour,
    /// shard and sequence number), then Lambda's batches.
    pub async fn letters(&self, selection: &Selection) -> Result<Vec<Letter>, RedriveError> {
        let own_prefix = match &selection.consumer {
            Some(consumer) => format!("{PREFIX}{consumer}/"),
            None => PREFIX.to_owned(),
        };
        let mut letters = Vec::new();
        for (key, _) in self.list(&own_prefix).await? {
            let letter = self.read(&key).await?;
            if let Letter::Record { letter: record, .. } = &letter
                && selection.contains(record.arrived_at)
            {
                letters.push(letter);
            }
        }
        if !selection.own_only {
            for (key, written_at) in self.list(LAMBDA_PREFIX).await? {
                if written_at.is_none_or(|at| selection.contains(at)) {
                    let letter = self.read(&key).await?;
                    if let Letter::LambdaBatch { function_arn, .. } = &letter
                        && selection.includes_function(function_arn)
                    {
                        letters.push(letter);
                    }
                }
            }
        }
        Ok(letters)
    }

    /// Every key under `prefix` with when it was written.
    async fn list(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, Option<OffsetDateTime>)>, RedriveError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| RedriveError::List {
                bucket: self.bucket.clone(),
                prefix: prefix.to_owned(),
                cause: error_chain(&e),
            })?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    let written_at = object.last_modified().and_then(|at| {
                        OffsetDateTime::from_unix_timestamp_nanos(at.as_nanos()).ok()
                    });
                    keys.push((key.to_owned(), written_at));
                }
            }
        }
        Ok(keys)
    }

    /// The letter at `key`: a consumer's dead letter, or a Lambda on-failure record.
    pub async fn read(&self, key: &str) -> Result<Letter, RedriveError> {
        let read_error = |cause: String| RedriveError::Read {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            cause,
        };
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| read_error(error_chain(&e)))?;
        let written_at = object
            .last_modified()
            .and_then(|at| OffsetDateTime::from_unix_timestamp_nanos(at.as_nanos()).ok())
            .unwrap_or_else(OffsetDateTime::now_utc);
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| read_error(error_chain(&e)))?
            .into_bytes();
        parse(key, &body, written_at).map_err(|cause| RedriveError::Parse {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            cause,
        })
    }
}

/// A Lambda on-failure record for a Kinesis event source, as the S3 destination writes it:
/// metadata, and the invocation's payload (a JSON string, or the object itself).
#[derive(Deserialize)]
struct OnFailureRecord {
    #[serde(rename = "requestContext")]
    request_context: RequestContext,
    #[serde(rename = "KinesisBatchInfo")]
    batch: KinesisBatchInfo,
    payload: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    function_arn: String,
    condition: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KinesisBatchInfo {
    shard_id: String,
    start_sequence_number: String,
    end_sequence_number: String,
}

fn parse(key: &str, body: &[u8], written_at: OffsetDateTime) -> Result<Letter, String> {
    if key.starts_with(PREFIX) {
        let letter: DeadLetter = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        return Ok(Letter::Record {
            key: key.to_owned(),
            letter: Box::new(letter),
        });
    }
    let record: OnFailureRecord = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let payload = match record.payload {
        Some(serde_json::Value::String(text)) => {
            serde_json::from_str(&text).map_err(|e| format!("payload: {e}"))?
        }
        Some(value) => value,
        None => return Err("no payload: only S3 on-failure destinations keep the records".into()),
    };
    let event: KinesisEvent =
        serde_json::from_value(payload).map_err(|e| format!("payload: {e}"))?;
    Ok(Letter::LambdaBatch {
        key: key.to_owned(),
        function_arn: record.request_context.function_arn,
        condition: record.request_context.condition,
        shard_id: record.batch.shard_id,
        start_sequence_number: record.batch.start_sequence_number,
        end_sequence_number: record.batch.end_sequence_number,
        written_at,
        records: event
            .records
            .into_iter()
            .map(|r| RecordToRedrive {
                partition_key: r.kinesis.partition_key,
                sequence_number: r.kinesis.sequence_number,
                data: r.kinesis.data.0,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lambda_batch_belongs_to_the_consumer_its_function_is_named_after() {
        let arn = |name: &str| format!("arn:aws:lambda:eu-west-1:123456789012:function:{name}");
        assert!(function_of(
            &arn("orders-materialiser"),
            "orders-materialiser"
        ));
        assert!(function_of(
            &arn("staging-materialiser"),
            "orders-materialiser"
        ));
        assert!(function_of(
            &arn("orders-inventory:live"),
            "orders-inventory"
        ));
        assert!(!function_of(
            &arn("orders-inventory"),
            "orders-materialiser"
        ));
        assert!(!function_of(
            &arn("orders-xmaterialiser"),
            "orders-materialiser"
        ));
        assert!(!function_of(
            &arn("orders-materialiser-old"),
            "orders-materialiser"
        ));
        let every = Selection::default();
        assert!(every.includes_function(&arn("anything")));
        let one = Selection {
            consumer: Some("orders-fulfilment".into()),
            ..Selection::default()
        };
        assert!(one.includes_function(&arn("orders-fulfilment")));
        assert!(!one.includes_function(&arn("orders-accounting")));
    }

    /// An on-failure record in the shape the Lambda docs give, payload as a JSON string.
    fn on_failure_record(payload_as_string: bool) -> Vec<u8> {
        let payload = serde_json::json!({ "Records": [{
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": "customer-7",
                "sequenceNumber": "49601189658422359378836298521827638475320189012309704722",
                "data": "eyJpZCI6ImUtMSJ9",
                "approximateArrivalTimestamp": 1_573_691_884.835
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": "shardId-000000000001:49601189658422359378836298521827638475320189012309704722",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/materialiser",
            "awsRegion": "us-east-2",
            "eventSourceArn": "arn:aws:kinesis:us-east-2:123456789012:stream/orders"
        }]});
        let payload = if payload_as_string {
            serde_json::Value::String(payload.to_string())
        } else {
            payload
        };
        serde_json::to_vec(&serde_json::json!({
            "requestContext": {
                "requestId": "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
                "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:orders-materialiser",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 21
            },
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "version": "1.0",
            "timestamp": "2019-11-14T00:38:06.021Z",
            "KinesisBatchInfo": {
                "shardId": "shardId-000000000001",
                "startSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
                "endSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
                "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04.835Z",
                "approximateArrivalOfLastRecord": "2019-11-14T00:38:04.835Z",
                "batchSize": 1,
                "streamArn": "arn:aws:kinesis:us-east-2:123456789012:stream/orders"
            },
            "payload": payload
        }))
        .expect("json")
    }

    #[test]
    fn a_lambda_on_failure_record_yields_its_records_with_key_and_data() {
        for as_string in [true, false] {
            let letter = parse(
                "aws/lambda/uuid/shardId-000000000001/2019/11/14/x",
                &on_failure_record(as_string),
                OffsetDateTime::now_utc(),
            )
            .expect("parses");
            let records = letter.records().expect("records");
            assert_eq!(records.len(), 1);
            assert_eq!(records[0].partition_key, "customer-7");
            assert_eq!(records[0].data, br#"{"id":"e-1"}"#);
            match letter {
                Letter::LambdaBatch {
                    condition,
                    shard_id,
                    ..
                } => {
                    assert_eq!(condition, "RetryAttemptsExhausted");
                    assert_eq!(shard_id, "shardId-000000000001");
                }
                other => panic!("expected a Lambda batch, got {other:?}"),
            }
        }
    }

    #[test]
    fn an_on_failure_record_without_payload_says_why_it_cannot_be_redriven() {
        let mut record: serde_json::Value =
            serde_json::from_slice(&on_failure_record(true)).expect("json");
        record.as_object_mut().expect("object").remove("payload");
        let error = parse(
            "aws/lambda/x",
            &serde_json::to_vec(&record).expect("json"),
            OffsetDateTime::now_utc(),
        )
        .expect_err("no payload");
        assert!(error.contains("no payload"), "{error}");
    }

    #[test]
    fn a_window_includes_its_start_and_excludes_its_end() {
        let at = time::macros::datetime!(2026-11-25 08:00 UTC);
        let selection = Selection {
            from: Some(at),
            to: Some(at + time::Duration::hours(1)),
            ..Default::default()
        };
        assert!(selection.contains(at));
        assert!(!selection.contains(at + time::Duration::hours(1)));
        assert!(!selection.contains(at - time::Duration::seconds(1)));
    }
}
