//! The Firehose API of the archive's delivery stream, on loopback, for the unchanged
//! `aws-sdk-firehose` client (JSON 1.1 protocol, `X-Amz-Target: Firehose_20150804.<operation>`).
//!
//! It answers what the project calls (`DescribeDeliveryStream`, `ListDeliveryStreams`) with the
//! delivery stream the Pulumi program declares, and refuses what AWS refuses: a delivery stream
//! whose source is a Kinesis stream takes no `PutRecord` or `PutRecordBatch`.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "000000000000";

/// The delivery stream the API describes.
#[derive(Clone, Debug)]
pub struct Described {
    pub delivery_stream: String,
    pub source_stream: String,
    pub bucket: String,
    pub buffer_bytes: usize,
    pub buffer_interval: Duration,
}

/// A running API; stopped by [`FirehoseApi::stop`] or when dropped.
pub struct FirehoseApi {
    pub endpoint: String,
    stop: Option<oneshot::Sender<()>>,
}

impl FirehoseApi {
    pub fn serve(described: Described) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let app = Router::new().route(
            "/",
            post(move |headers: HeaderMap, body: String| {
                let described = described.clone();
                async move { answer(&described, &headers, &body) }
            }),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            endpoint,
            stop: Some(stop),
        })
    }

    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for FirehoseApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn answer(described: &Described, headers: &HeaderMap, body: &str) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let operation = target.strip_prefix("Firehose_20150804.").unwrap_or(target);
    let request: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let named = request["DeliveryStreamName"].as_str();
    match operation {
        "ListDeliveryStreams" => ok(json!({
            "DeliveryStreamNames": [described.delivery_stream],
            "HasMoreDeliveryStreams": false,
        })),
        "DescribeDeliveryStream" | "PutRecord" | "PutRecordBatch"
            if named != Some(described.delivery_stream.as_str()) =>
        {
            error(
                "ResourceNotFoundException",
                &format!(
                    "Firehose {} under account {ACCOUNT} not found.",
                    named.unwrap_or_default()
                ),
            )
        }
        "DescribeDeliveryStream" => ok(json!({ "DeliveryStreamDescription": describe(described) })),
        "PutRecord" | "PutRecordBatch" => error(
            "InvalidArgumentException",
            "This operation is not permitted on KinesisStreamAsSource delivery stream type.",
        ),
        other => error(
            "UnknownOperationException",
            &format!("the local Firehose does not stand in for {other}"),
        ),
    }
}

fn describe(d: &Described) -> Value {
    let layout = analytics::layout::layout();
    let hour: String = layout
        .partitions
        .iter()
        .map(|p| format!("{}=!{{timestamp:{}}}/", p.name, p.pattern))
        .collect();
    json!({
        "DeliveryStreamName": d.delivery_stream,
        "DeliveryStreamARN": format!("arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{}", d.delivery_stream),
        "DeliveryStreamStatus": "ACTIVE",
        "DeliveryStreamType": "KinesisStreamAsSource",
        "VersionId": "1",
        "Source": {
            "KinesisStreamSourceDescription": {
                "KinesisStreamARN": format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{}", d.source_stream),
                "RoleARN": format!("arn:aws:iam::{ACCOUNT}:role/{}", d.delivery_stream),
            }
        },
        "Destinations": [{
            "DestinationId": "destinationId-000000000001",
            "ExtendedS3DestinationDescription": {
                "RoleARN": format!("arn:aws:iam::{ACCOUNT}:role/{}", d.delivery_stream),
                "BucketARN": format!("arn:aws:s3:::{}", d.bucket),
                "Prefix": format!("{}{hour}", layout.events_prefix),
                "ErrorOutputPrefix": format!("{}!{{firehose:error-output-type}}/{hour}", layout.errors_prefix),
                "BufferingHints": {
                    "SizeInMBs": d.buffer_bytes.div_ceil(1024 * 1024),
                    "IntervalInSeconds": d.buffer_interval.as_secs(),
                },
                "CompressionFormat": "GZIP",
                "EncryptionConfiguration": { "NoEncryptionConfig": "NoEncryption" },
                "ProcessingConfiguration": {
                    "Enabled": true,
                    "Processors": [{ "Type": "AppendDelimiterToRecord", "Parameters": [] }],
                },
            }
        }],
        "HasMoreDestinations": false,
    })
}

fn ok(body: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    )
        .into_response()
}

fn error(code: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-errortype", code),
        ],
        json!({ "__type": code, "message": message }).to_string(),
    )
        .into_response()
}
