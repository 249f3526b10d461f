//! Resource names: the one naming source shared by the gateway, the consumers, the local stack,
//! the demo and the tests. Deployed functions get the same variables from the Pulumi program.
//!
//! Endpoints are not configured here: the AWS SDK reads `AWS_ENDPOINT_URL_KINESIS`,
//! `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_S3` itself, so pointing a binary at the
//! local stack changes only its
//! environment, never its code.

/// Environment variable naming the orders stream.
pub const STREAM_VAR: &str = "ORDERS_STREAM_NAME";
/// Environment variable naming the orders table.
pub const ORDERS_TABLE_VAR: &str = "ORDERS_TABLE_NAME";
/// Environment variable naming the lease table of the standalone consumers (each shard's lease
/// and checkpoint).
pub const LEASES_TABLE_VAR: &str = "ORDERS_LEASES_TABLE_NAME";
/// Environment variable naming the table of failing records' attempts (every consumer host).
pub const FAILURES_TABLE_VAR: &str = "ORDERS_FAILURES_TABLE_NAME";
/// Environment variable naming the bucket of dead letters.
pub const DEAD_LETTER_BUCKET_VAR: &str = "ORDERS_DEAD_LETTER_BUCKET";
/// Environment variable naming the saga stages' idempotency table.
pub const IDEMPOTENCY_TABLE_VAR: &str = "ORDERS_IDEMPOTENCY_TABLE_NAME";
/// Environment variable naming the archive bucket Firehose writes every record to.
pub const ARCHIVE_BUCKET_VAR: &str = "ORDERS_ARCHIVE_BUCKET";

/// The enhanced fan-out consumers registered on the stream, one per processor.
pub mod consumers {
    pub const MATERIALISER: &str = "orders-materialiser";
    pub const INVENTORY: &str = "orders-inventory";
    pub const FULFILMENT: &str = "orders-fulfilment";
    pub const ACCOUNTING: &str = "orders-accounting";
    pub const ALL: &[&str] = &[MATERIALISER, INVENTORY, FULFILMENT, ACCOUNTING];
}

/// Environment variables naming each downstream service's base URL.
pub mod downstream {
    pub const INVENTORY_URL_VAR: &str = "INVENTORY_URL";
    pub const FULFILMENT_URL_VAR: &str = "FULFILMENT_URL";
    pub const ACCOUNTING_URL_VAR: &str = "ACCOUNTING_URL";
}

/// The orders table's attributes, written by the materialiser and read by the query side.
/// See docs/tables.md.
pub mod orders_table {
    /// The secondary index listing a customer's orders by time (keys only).
    pub const BY_CUSTOMER_INDEX: &str = "byCustomer";
    pub const ORDER_ID: &str = "orderId";
    pub const CUSTOMER_ID: &str = "customerId";
    pub const PLACED_AT: &str = "placedAt";
    pub const STATUS: &str = "status";
    /// How far the status has moved; it only ever grows.
    pub const STATUS_RANK: &str = "statusRank";
    /// Each lifecycle step seen, by step name: `{ at, eventId, reason?, reference? }`.
    pub const STEPS: &str = "steps";
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceNames {
    pub stream: String,
    pub orders_table: String,
    pub leases_table: String,
    pub failures_table: String,
    pub dead_letter_bucket: String,
    pub idempotency_table: String,
    pub archive_bucket: String,
}

impl Default for ResourceNames {
    fn default() -> Self {
        Self {
            stream: "orders".to_owned(),
            orders_table: "orders".to_owned(),
            leases_table: "orders-leases".to_owned(),
            failures_table: "orders-consumer-failures".to_owned(),
            dead_letter_bucket: "orders-dead-letters".to_owned(),
            idempotency_table: "orders-idempotency".to_owned(),
            archive_bucket: "orders-archive".to_owned(),
        }
    }
}

impl ResourceNames {
    /// The names from the environment, falling back to the defaults.
    pub fn from_env() -> Self {
        let defaults = Self::default();
        let var = |name: &str, default: String| std::env::var(name).unwrap_or(default);
        Self {
            stream: var(STREAM_VAR, defaults.stream),
            orders_table: var(ORDERS_TABLE_VAR, defaults.orders_table),
            leases_table: var(LEASES_TABLE_VAR, defaults.leases_table),
            failures_table: var(FAILURES_TABLE_VAR, defaults.failures_table),
            dead_letter_bucket: var(DEAD_LETTER_BUCKET_VAR, defaults.dead_letter_bucket),
            idempotency_table: var(IDEMPOTENCY_TABLE_VAR, defaults.idempotency_table),
            archive_bucket: var(ARCHIVE_BUCKET_VAR, defaults.archive_bucket),
        }
    }

    /// The names as environment variables, for starting a binary that reads [`Self::from_env`].
    pub fn to_env(&self) -> [(&'static str, String); 7] {
        [
            (STREAM_VAR, self.stream.clone()),
            (ORDERS_TABLE_VAR, self.orders_table.clone()),
            (LEASES_TABLE_VAR, self.leases_table.clone()),
            (FAILURES_TABLE_VAR, self.failures_table.clone()),
            (DEAD_LETTER_BUCKET_VAR, self.dead_letter_bucket.clone()),
            (IDEMPOTENCY_TABLE_VAR, self.idempotency_table.clone()),
            (ARCHIVE_BUCKET_VAR, self.archive_bucket.clone()),
        ]
    }
}

/// The shared AWS configuration: region, credentials and endpoints from the usual sources.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// Logs as JSON lines (one place for logs: CloudWatch on AWS), level from `RUST_LOG`.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,ferrokinesis=warn,dynoxide=warn")
            }),
        )
        .with_current_span(false)
        .init();
}

/// Logs for a command-line tool: plain lines on standard error, which leaves standard output to
/// the tool's answer; level from `RUST_LOG` (default warn).
pub fn init_cli_tracing() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
}
