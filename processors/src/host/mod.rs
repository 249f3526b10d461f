//! The two ways a handler runs, with no change to the handler, and the engine both run it in.

pub mod efo;
pub mod lambda;

use ingest::config::ResourceNames;
use ingest::producer::Producer;

use crate::batch::{BatchConfig, BatchConfigError, Engine};
use crate::dead_letter::S3DeadLetters;
use crate::failures::DynamoFailureLog;

/// A consumer's engine on AWS (or the local stack): events to the stream, dead letters to the
/// dead-letter bucket, failure counts to the failures table.
pub type AwsEngine<H> = Engine<H, Producer, S3DeadLetters, DynamoFailureLog>;

/// The engine for `handler` as `consumer`, configured from the environment
/// ([`ResourceNames::from_env`], [`BatchConfig::from_env`]).
pub fn aws_engine<H>(
    consumer: &str,
    handler: H,
    sdk: &aws_config::SdkConfig,
) -> Result<AwsEngine<H>, BatchConfigError> {
    let names = ResourceNames::from_env();
    Ok(Engine {
        consumer: consumer.to_owned(),
        stream: names.stream.clone(),
        handler,
        emitter: Producer::new(aws_sdk_kinesis::Client::new(sdk), names.stream),
        dead_letters: S3DeadLetters::new(aws_sdk_s3::Client::new(sdk), names.dead_letter_bucket),
        failures: DynamoFailureLog::new(aws_sdk_dynamodb::Client::new(sdk), names.failures_table),
        config: BatchConfig::from_env()?,
    })
}
