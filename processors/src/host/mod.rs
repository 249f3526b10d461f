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
        emitter: Producer::new(aws_sdk_kinesis::Client::new(sdk), names.stream).patient(),
        dead_letters: S3DeadLetters::new(aws_sdk_s3::Client::new(sdk), names.dead_letter_bucket),
        failures: DynamoFailureLog::new(aws_sdk_dynamodb::Client::new(sdk), names.failures_table),
        config: BatchConfig::from_env()?,
    })
}

/// Each request's own timeout to a downstream service, in milliseconds.
pub const DOWNSTREAM_TIMEOUT_ENV: &str = "DOWNSTREAM_TIMEOUT_MS";
/// Time a downstream call may spend on retries, in milliseconds, before the engine takes over.
pub const DOWNSTREAM_BUDGET_ENV: &str = "DOWNSTREAM_BUDGET_MS";

#[derive(Debug, thiserror::Error)]
pub enum SagaConfigError {
    #[error("{0} is not set: the {1} service's base URL")]
    MissingUrl(&'static str, &'static str),
    #[error("{name}={value}: expected milliseconds from 100 to 600000")]
    Millis { name: &'static str, value: String },
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error(transparent)]
    Auth(#[from] crate::saga::auth::AuthConfigError),
}

/// The saga stage `stage` as `consumer`, configured from the environment: the service's base
/// URL (`INVENTORY_URL`, `FULFILMENT_URL` or `ACCOUNTING_URL`), [`DOWNSTREAM_TIMEOUT_ENV`]
/// (default 2 s), [`DOWNSTREAM_BUDGET_ENV`] (default 10 s), how calls authenticate
/// ([`crate::saga::auth::DownstreamAuth::from_env`]), and the idempotency table.
pub async fn saga_stage(
    stage: ingest::lifecycle::Stage,
    consumer: &str,
    sdk: &aws_config::SdkConfig,
) -> Result<
    crate::saga::SagaStage<
        crate::saga::client::ServiceClient,
        crate::saga::idempotency::DynamoIdempotency,
    >,
    SagaConfigError,
> {
    use crate::saga::client::{DEFAULT_BUDGET, DEFAULT_REQUEST_TIMEOUT, ServiceClient};
    use ingest::config::downstream;
    use ingest::lifecycle::Stage;
    use std::time::Duration;

    let url_var = match stage {
        Stage::Inventory => downstream::INVENTORY_URL_VAR,
        Stage::Fulfilment => downstream::FULFILMENT_URL_VAR,
        Stage::Accounting => downstream::ACCOUNTING_URL_VAR,
    };
    let base_url =
        std::env::var(url_var).map_err(|_| SagaConfigError::MissingUrl(url_var, stage.name()))?;
    let millis = |name: &'static str, default: Duration| match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(value) => match value.trim().parse::<u64>() {
            Ok(ms @ 100..=600_000) => Ok(Duration::from_millis(ms)),
            _ => Err(SagaConfigError::Millis { name, value }),
        },
    };
    let timeout = millis(DOWNSTREAM_TIMEOUT_ENV, DEFAULT_REQUEST_TIMEOUT)?;
    let budget = millis(DOWNSTREAM_BUDGET_ENV, DEFAULT_BUDGET)?;
    let auth = crate::saga::auth::DownstreamAuth::from_env(sdk).await?;
    let client = ServiceClient::new(stage.name(), base_url, timeout, budget)
        .map_err(SagaConfigError::Client)?
        .with_auth(auth);
    let records = crate::saga::idempotency::DynamoIdempotency::new(
        aws_sdk_dynamodb::Client::new(sdk),
        ResourceNames::from_env().idempotency_table,
    );
    Ok(crate::saga::SagaStage::new(
        stage, consumer, client, records,
    ))
}

/// The pipeline's consumers, each with its enhanced fan-out consumer's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Consumer {
    Materialiser,
    Inventory,
    Fulfilment,
    Accounting,
}

impl Consumer {
    /// Its enhanced fan-out consumer's name: also its metrics dimension and dead letters' prefix.
    pub fn name(self) -> &'static str {
        use ingest::config::consumers;
        match self {
            Self::Materialiser => consumers::MATERIALISER,
            Self::Inventory => consumers::INVENTORY,
            Self::Fulfilment => consumers::FULFILMENT,
            Self::Accounting => consumers::ACCOUNTING,
        }
    }
}

/// Any of the pipeline's handlers, so that one host or tool can run whichever is asked for.
pub enum ConsumerHandler {
    Materialiser(crate::materialiser::Materialiser<crate::store::DynamoOrderStore>),
    Stage(
        crate::saga::SagaStage<
            crate::saga::client::ServiceClient,
            crate::saga::idempotency::DynamoIdempotency,
        >,
    ),
}

impl crate::batch::RecordHandler for ConsumerHandler {
    async fn handle(
        &self,
        record: &crate::record::StreamRecord,
    ) -> Result<crate::batch::Handled, crate::batch::RecordError> {
        match self {
            Self::Materialiser(handler) => handler.handle(record).await,
            Self::Stage(handler) => handler.handle(record).await,
        }
    }

    async fn dead_lettered(
        &self,
        record: &crate::record::StreamRecord,
        letter: &crate::dead_letter::DeadLetter,
    ) -> Vec<ingest::producer::Entry> {
        match self {
            Self::Materialiser(handler) => handler.dead_lettered(record, letter).await,
            Self::Stage(handler) => handler.dead_lettered(record, letter).await,
        }
    }
}

/// `consumer`'s handler, configured from the environment as on AWS.
pub async fn consumer_handler(
    consumer: Consumer,
    sdk: &aws_config::SdkConfig,
) -> Result<ConsumerHandler, SagaConfigError> {
    use ingest::lifecycle::Stage;
    let stage = match consumer {
        Consumer::Materialiser => {
            let orders = crate::store::DynamoOrderStore::new(
                aws_sdk_dynamodb::Client::new(sdk),
                ResourceNames::from_env().orders_table,
            );
            return Ok(ConsumerHandler::Materialiser(
                crate::materialiser::Materialiser::new(orders),
            ));
        }
        Consumer::Inventory => Stage::Inventory,
        Consumer::Fulfilment => Stage::Fulfilment,
        Consumer::Accounting => Stage::Accounting,
    };
    Ok(ConsumerHandler::Stage(
        saga_stage(stage, consumer.name(), sdk).await?,
    ))
}
