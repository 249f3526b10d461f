//! Per-batch metrics as CloudWatch Embedded Metric Format (EMF) lines on stdout.
//!
//! On Lambda, CloudWatch Logs turns each such line into metrics with no API call and no agent;
//! the standalone host prints the same lines (a log agent sending them with the
//! `x-amzn-logs-format: json/emf` header has them extracted too). One line per batch, never one
//! per record, so the log bytes stay small. Namespace [`NAMESPACE`]; dimensions: the consumer,
//! and the consumer with the shard on the standalone host.

use serde_json::{Map, Value, json};

use crate::batch::BatchOutcome;

/// The CloudWatch namespace of the pipeline's own metrics (the API's throttle metric too).
pub const NAMESPACE: &str = "OrdersPipeline";

/// What one batch did, for its metrics line.
pub struct BatchMetrics<'a> {
    pub consumer: &'a str,
    /// The shard, when the host knows it reads one shard per batch (the standalone host).
    pub shard_id: Option<&'a str>,
    pub records: usize,
    pub outcome: &'a BatchOutcome,
    pub duration_ms: f64,
    /// How far the batch's last record is behind the tip of the shard, when the source says.
    pub millis_behind_latest: Option<i64>,
    /// DynamoDB write units the batch consumed ([`crate::capacity`]).
    pub write_units: f64,
    /// How long the batch's oldest record had been on the stream when the batch ended: the
    /// consumer's true lag, queueing inside the host included (`MillisBehindLatest` is taken
    /// when records are read). A log field, not a metric: Lambda's `IteratorAge` already is one,
    /// and every custom metric is billed.
    pub record_age_ms: Option<i64>,
}

impl BatchMetrics<'_> {
    /// The EMF line, `timestamp_ms` being when the batch ended.
    pub fn to_emf(&self, timestamp_ms: i64) -> String {
        let mut dimensions = vec![json!(["Consumer"])];
        let mut line = Map::new();
        line.insert("Consumer".into(), json!(self.consumer));
        if let Some(shard_id) = self.shard_id {
            dimensions.push(json!(["Consumer", "ShardId"]));
            line.insert("ShardId".into(), json!(shard_id));
        }
        let mut metrics: Vec<(&str, &str, Value)> = vec![
            ("Records", "Count", json!(self.records)),
            ("Handled", "Count", json!(self.outcome.handled)),
            ("Skipped", "Count", json!(self.outcome.skipped)),
            ("Rejected", "Count", json!(self.outcome.rejected.len())),
            ("Emitted", "Count", json!(self.outcome.emitted)),
            ("Poison", "Count", json!(self.outcome.poison())),
            (
                "DeadLettered",
                "Count",
                json!(self.outcome.dead_lettered.len()),
            ),
            ("Retried", "Count", json!(self.outcome.retried)),
            ("BatchDuration", "Milliseconds", json!(self.duration_ms)),
            ("WriteCapacityUnits", "Count", json!(self.write_units)),
        ];
        if let Some(behind) = self.millis_behind_latest {
            metrics.push(("MillisBehindLatest", "Milliseconds", json!(behind)));
        }
        let definitions: Vec<Value> = metrics
            .iter()
            .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit }))
            .collect();
        for (name, _, value) in metrics {
            line.insert(name.into(), value);
        }
        if let Some(age) = self.record_age_ms {
            line.insert("RecordAgeMs".into(), json!(age));
        }
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": dimensions,
                    "Metrics": definitions,
                }],
            }),
        );
        Value::Object(line).to_string()
    }

    /// Prints the line on stdout, where Lambda's log capture (or a container's) picks it up.
    pub fn emit(&self) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        println!("{}", self.to_emf(i64::try_from(now).unwrap_or(i64::MAX)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{DeadLetteredRecord, RetryFrom};
    use crate::dead_letter::GaveUp;

    #[test]
    fn a_line_declares_every_metric_it_carries_under_the_namespace() {
        let outcome = BatchOutcome {
            handled: 7,
            skipped: 1,
            dead_lettered: [GaveUp::Poison, GaveUp::AttemptLimit]
                .into_iter()
                .map(|gave_up| DeadLetteredRecord {
                    shard_id: "shardId-000000000001".into(),
                    sequence_number: "5".into(),
                    gave_up,
                    reason: "bad".into(),
                    key: "dead-letters/x.json".into(),
                })
                .collect(),
            retried: 2,
            rejected: vec![],
            emitted: 3,
            retry_from: Some(RetryFrom {
                sequence_number: "9".into(),
                reason: "down".into(),
            }),
            last_done: Some("8".into()),
        };
        let metrics = BatchMetrics {
            consumer: "orders-materialiser",
            shard_id: Some("shardId-000000000001"),
            records: 11,
            outcome: &outcome,
            duration_ms: 12.5,
            millis_behind_latest: Some(300),
            write_units: 9.0,
            record_age_ms: Some(4_200),
        };
        let line: Value = serde_json::from_str(&metrics.to_emf(1_795_000_000_000)).expect("json");
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 1_795_000_000_000i64);
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(
            directive["Dimensions"],
            json!([["Consumer"], ["Consumer", "ShardId"]])
        );
        for dimension in ["Consumer", "ShardId"] {
            assert!(line[dimension].is_string(), "{dimension}");
        }
        let declared: Vec<&str> = directive["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .map(|m| m["Name"].as_str().expect("name"))
            .collect();
        for name in &declared {
            assert!(line[*name].is_number(), "{name} has a value");
        }
        assert_eq!(
            (&line["Records"], &line["Handled"], &line["Skipped"]),
            (&json!(11), &json!(7), &json!(1))
        );
        assert_eq!(
            (&line["Poison"], &line["DeadLettered"], &line["Retried"]),
            (&json!(1), &json!(2), &json!(2))
        );
        assert_eq!(
            (&line["Rejected"], &line["Emitted"]),
            (&json!(0), &json!(3))
        );
        assert_eq!(line["MillisBehindLatest"], 300);
        assert_eq!(line["WriteCapacityUnits"], 9.0);
        assert_eq!(line["RecordAgeMs"], 4_200);
        assert!(
            !declared.contains(&"RecordAgeMs"),
            "a log field, not a billed metric"
        );
    }

    #[test]
    fn without_a_shard_the_consumer_is_the_only_dimension() {
        let outcome = BatchOutcome::default();
        let metrics = BatchMetrics {
            consumer: "orders-materialiser",
            shard_id: None,
            records: 0,
            outcome: &outcome,
            duration_ms: 0.1,
            millis_behind_latest: None,
            write_units: 0.0,
            record_age_ms: None,
        };
        let line: Value = serde_json::from_str(&metrics.to_emf(0)).expect("json");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Consumer"]])
        );
        assert!(line.get("ShardId").is_none());
        assert!(line.get("MillisBehindLatest").is_none());
        assert!(line.get("RecordAgeMs").is_none());
    }
}
