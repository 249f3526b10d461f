//! Local stand-ins for the three services downstream of the pipeline: inventory, fulfilment
//! and accounting.
//!
//! They are there to prove that the consumers cause each effect exactly once. Every effect
//! request carries an `Idempotency-Key`: the first request with a key performs the effect and
//! stores its answer, and every later request with that key gets the same answer back without
//! anything being done again. Every effect actually performed is written to a ledger
//! (`GET /_ledger`), which lists duplicates: two effects of one kind for one order, which only
//! happens when a caller used two keys for the same step.
//!
//! They behave as a service that follows the IETF Idempotency-Key draft
//! (draft-ietf-httpapi-idempotency-key-header) does, Stripe's API among them:
//!
//! - a request is *processed* for its latency while its key is in progress, and the effect and
//!   the answer are decided at the end, so a second request with the same key that arrives
//!   meanwhile gets **409 Conflict** (with `Retry-After`), not the answer;
//! - a key reused with another body gets **422**, whatever state the key is in;
//! - a release of an order whose reservation is still in progress gets **409** too;
//! - when overloaded they answer **503** with `Retry-After`, before anything is done.
//!
//! Faults, as real services show them, are configurable per service and drawn from a seeded
//! generator: slow processing (past the caller's timeout), answers lost after the effect (a 500
//! or a dropped connection: the effect is done and stored under the key, the caller does not
//! learn it), a rate of 503s, outages. Business rules (SKUs out of stock, unknown or
//! unshippable) too. Everything is set at start and can be changed while running
//! (`/_control`), so tests and the demo can show retries ending in exactly one effect.
//! [`StandInConfig::realistic`] turns the faults on at rates the saga must survive. One server
//! answers for all three services, each under its own path prefix; [`router`] lists the
//! routes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use processors::saga::downstream::{
    Booking, ReleaseRequest, Released, Reservation, ReservationRequest, SaleRequest, Shipment,
    ShipmentRequest,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

/// The longest a replayed, refused or conflicting request waits before its answer: such answers
/// need no processing, whatever the service's latency.
const SHORT_ANSWER: Duration = Duration::from_millis(20);

/// The header every effect request must carry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
const PROBLEM_TYPES: &str = "https://orders.example/problems/";
const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// Seconds a caller is asked to wait after a 503 or a 409 (in progress).
const RETRY_AFTER_SECONDS: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Inventory,
    Fulfilment,
    Accounting,
}

impl Service {
    pub const ALL: [Self; 3] = [Self::Inventory, Self::Fulfilment, Self::Accounting];

    /// The name in paths, the ledger and the config.
    pub fn name(self) -> &'static str {
        match self {
            Self::Inventory => "inventory",
            Self::Fulfilment => "fulfilment",
            Self::Accounting => "accounting",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|service| service.name() == name)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an effect is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Reservation,
    Release,
    Shipment,
    Sale,
}

impl Kind {
    pub const ALL: [Self; 4] = [Self::Reservation, Self::Release, Self::Shipment, Self::Sale];

    pub fn service(self) -> Service {
        match self {
            Self::Reservation | Self::Release => Service::Inventory,
            Self::Shipment => Service::Fulfilment,
            Self::Sale => Service::Accounting,
        }
    }
}

// ---- configuration ----

/// Faults and business rules of the three services: the body of `PUT /_control` and of the
/// `--config` file. Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct StandInConfig {
    pub inventory: InventoryConfig,
    pub fulfilment: FulfilmentConfig,
    pub accounting: AccountingConfig,
    /// What every effect request must carry, as the services' API Gateway would check it.
    pub auth: RequiredAuth,
    /// Seed of the draws (latencies, error rates, slow and lost answers); from the OS when
    /// unset. With one seed the same sequence of requests meets the same faults.
    pub seed: Option<u64>,
}

/// How the stand-ins authenticate effect requests: 401 without credentials, 403 with wrong ones.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RequiredAuth {
    #[default]
    None,
    /// An `x-api-key` header with this key.
    ApiKey { key: String },
    /// A SigV4 signature for `execute-api` with these credentials, checked by signing the
    /// request again (the AWS signing crate) and comparing.
    #[serde(rename_all = "camelCase")]
    Iam {
        access_key_id: String,
        secret_access_key: String,
    },
}

// The fault fields are repeated in each service's config, not flattened from one struct:
// serde cannot deny unknown fields through `flatten`, and a misspelt fault must be an error,
// not a test that silently injects nothing.

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct InventoryConfig {
    /// How long a request is processed (its key in progress) before it is decided.
    pub latency_ms: Latency,
    /// Fraction (0 to 1) of effect requests answered 503 before anything is done.
    pub error_rate: f64,
    /// Some requests processed for much longer (past the caller's timeout).
    pub slow: Slow,
    /// Fraction (0 to 1) of performed effects whose answer is lost: a 500 or a dropped
    /// connection, at even odds. The effect is done and its answer stored under the key.
    pub lost_answer_rate: f64,
    /// How long a decided answer takes to come back (none when unset): a caller that dies in
    /// this window caused the effect without learning so.
    pub answer_delay_ms: Option<Latency>,
    /// Answer every effect request 503.
    pub down: bool,
    /// Answer every effect request 503 until then (RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub down_until: Option<OffsetDateTime>,
    /// SKUs a reservation is refused for: 422 out-of-stock.
    pub out_of_stock: BTreeSet<String>,
    /// SKUs a reservation is refused for: 422 unknown-sku.
    pub unknown: BTreeSet<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct FulfilmentConfig {
    pub latency_ms: Latency,
    pub error_rate: f64,
    pub slow: Slow,
    pub lost_answer_rate: f64,
    pub answer_delay_ms: Option<Latency>,
    pub down: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub down_until: Option<OffsetDateTime>,
    /// SKUs a shipment is refused for: 422 unshippable.
    pub unshippable: BTreeSet<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct AccountingConfig {
    pub latency_ms: Latency,
    pub error_rate: f64,
    pub slow: Slow,
    pub lost_answer_rate: f64,
    pub answer_delay_ms: Option<Latency>,
    pub down: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub down_until: Option<OffsetDateTime>,
}

/// Each answer of a service waits a uniformly drawn time in `[min, max]` milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Latency {
    pub min: u64,
    pub max: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Self { min: 2, max: 20 }
    }
}

impl Latency {
    fn draw(self, rng: &mut StdRng) -> Duration {
        // An inverted range (only possible in a config that skipped validation) waits `min`.
        Duration::from_millis(rng.random_range(self.min..=self.max.max(self.min)))
    }
}

/// A fraction of requests processed for `ms` instead of the service's latency.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Slow {
    pub rate: f64,
    pub ms: Latency,
}

impl Default for Slow {
    fn default() -> Self {
        Self {
            rate: 0.0,
            ms: Latency {
                min: 1000,
                max: 3000,
            },
        }
    }
}

/// The fault fields of one service.
#[derive(Clone, Copy, Debug)]
struct Faults {
    latency_ms: Latency,
    error_rate: f64,
    slow: Slow,
    lost_answer_rate: f64,
    answer_delay_ms: Option<Latency>,
    down: bool,
    down_until: Option<OffsetDateTime>,
}

/// The fault rates of one service's config, borrowed to change.
struct FaultsMut<'a> {
    error_rate: &'a mut f64,
    lost_answer_rate: &'a mut f64,
    slow: &'a mut Slow,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid stand-in config: {0}")]
pub struct ConfigError(String);

impl StandInConfig {
    /// Services as the saga meets them in production, at rates it must survive: 5% of
    /// requests processed for 1–3 s (past the saga's 2 s timeout, so the retry meets 409 in
    /// progress), 10% of answers lost after the effect, 5% answered 503. Seeded.
    pub fn realistic(seed: u64) -> Self {
        Self::faulty(seed, 0.05, 0.10, 0.05)
    }

    /// Every service with these fault rates (each 0 to 1): `slow` requests processed for
    /// [`Slow`]'s default 1–3 s, answers lost after the effect, and 503s. Seeded.
    pub fn faulty(seed: u64, slow: f64, lost_answers: f64, errors: f64) -> Self {
        let mut config = Self {
            seed: Some(seed),
            ..Self::default()
        };
        for service in Service::ALL {
            let faults = config.faults_mut(service);
            *faults.error_rate = errors;
            *faults.lost_answer_rate = lost_answers;
            faults.slow.rate = slow;
        }
        config
    }

    /// Parses and validates a config; the error names the offending field.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        // axum's parser reports the path of the field that failed (`inventory.errorRate: ...`).
        let axum::Json(config) = axum::Json::<Self>::from_bytes(bytes)
            .map_err(|rejection| ConfigError(rejection.body_text()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types cannot, listing every problem at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        for service in Service::ALL {
            let faults = self.faults(service);
            for (field, rate) in [
                ("errorRate", faults.error_rate),
                ("slow.rate", faults.slow.rate),
                ("lostAnswerRate", faults.lost_answer_rate),
            ] {
                if !(0.0..=1.0).contains(&rate) {
                    problems.push(format!(
                        "{service}.{field} must be between 0 and 1, not {rate}"
                    ));
                }
            }
            for (field, latency) in [
                ("latencyMs", Some(faults.latency_ms)),
                ("slow.ms", Some(faults.slow.ms)),
                ("answerDelayMs", faults.answer_delay_ms),
            ] {
                if let Some(Latency { min, max }) = latency
                    && min > max
                {
                    problems.push(format!(
                        "{service}.{field}.min ({min}) must not exceed {service}.{field}.max ({max})"
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(problems.join("; ")))
        }
    }

    fn faults(&self, service: Service) -> Faults {
        macro_rules! faults {
            ($c:expr) => {
                Faults {
                    latency_ms: $c.latency_ms,
                    error_rate: $c.error_rate,
                    slow: $c.slow,
                    lost_answer_rate: $c.lost_answer_rate,
                    answer_delay_ms: $c.answer_delay_ms,
                    down: $c.down,
                    down_until: $c.down_until,
                }
            };
        }
        match service {
            Service::Inventory => faults!(self.inventory),
            Service::Fulfilment => faults!(self.fulfilment),
            Service::Accounting => faults!(self.accounting),
        }
    }

    /// The fault rates of one service, to change.
    fn faults_mut(&mut self, service: Service) -> FaultsMut<'_> {
        macro_rules! faults_mut {
            ($c:expr) => {
                FaultsMut {
                    error_rate: &mut $c.error_rate,
                    lost_answer_rate: &mut $c.lost_answer_rate,
                    slow: &mut $c.slow,
                }
            };
        }
        match service {
            Service::Inventory => faults_mut!(self.inventory),
            Service::Fulfilment => faults_mut!(self.fulfilment),
            Service::Accounting => faults_mut!(self.accounting),
        }
    }

    fn down_until_mut(&mut self, service: Service) -> &mut Option<OffsetDateTime> {
        match service {
            Service::Inventory => &mut self.inventory.down_until,
            Service::Fulfilment => &mut self.fulfilment.down_until,
            Service::Accounting => &mut self.accounting.down_until,
        }
    }
}

// ---- the ledger ----

/// One effect a service performed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Effect {
    pub service: Service,
    pub kind: Kind,
    pub order_id: Uuid,
    pub idempotency_key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// More than one effect of one kind for one order: a caller used two keys for one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Duplicate {
    pub service: Service,
    pub kind: Kind,
    pub order_id: Uuid,
    pub count: usize,
}

/// The answer of `GET /_ledger`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ledger {
    /// In the order they were performed.
    pub effects: Vec<Effect>,
    /// Effects per service and kind, every kind present (0 when none).
    pub by_service: BTreeMap<Service, BTreeMap<Kind, usize>>,
    pub duplicates: Vec<Duplicate>,
    /// Requests being processed now (their keys in progress).
    #[serde(default)]
    pub in_progress: usize,
    /// Effect requests received so far, answered or not.
    #[serde(default)]
    pub requests: usize,
}

impl Ledger {
    fn of(books: &Books) -> Self {
        let effects = &books.effects;
        let in_progress = books
            .keys
            .values()
            .filter(|state| matches!(state, KeyState::InProgress { .. }))
            .count();
        let mut by_service: BTreeMap<Service, BTreeMap<Kind, usize>> = BTreeMap::new();
        for kind in Kind::ALL {
            by_service
                .entry(kind.service())
                .or_default()
                .insert(kind, 0);
        }
        let mut per_order: BTreeMap<(Service, Kind, Uuid), usize> = BTreeMap::new();
        for effect in effects {
            *by_service
                .entry(effect.service)
                .or_default()
                .entry(effect.kind)
                .or_default() += 1;
            *per_order
                .entry((effect.service, effect.kind, effect.order_id))
                .or_default() += 1;
        }
        let duplicates = per_order
            .into_iter()
            .filter(|(_, count)| *count > 1)
            .map(|((service, kind, order_id), count)| Duplicate {
                service,
                kind,
                order_id,
                count,
            })
            .collect();
        Self {
            effects: effects.to_vec(),
            by_service,
            duplicates,
            in_progress,
            requests: books.requests,
        }
    }

    /// How many effects of `kind` were performed.
    pub fn count(&self, kind: Kind) -> usize {
        self.effects.iter().filter(|e| e.kind == kind).count()
    }
}

// ---- answers ----

/// An answer as stored under an idempotency key and sent again for it.
#[derive(Clone, Debug, PartialEq)]
struct Answer {
    status: StatusCode,
    body: Value,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        let headers = response.headers_mut();
        if self.status.is_client_error() || self.status.is_server_error() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
            );
        }
        if matches!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::CONFLICT
        ) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}

/// An RFC 9457 problem, with the SKU it is about when there is one.
#[derive(Clone, Debug)]
struct Problem {
    status: StatusCode,
    /// The last segment of the type URI.
    slug: &'static str,
    title: &'static str,
    detail: String,
    sku: Option<String>,
}

impl Problem {
    fn new(status: StatusCode, slug: &'static str, title: &'static str, detail: String) -> Self {
        Self {
            status,
            slug,
            title,
            detail,
            sku: None,
        }
    }

    fn bad_request(detail: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
            detail,
        )
    }

    fn unavailable(detail: String) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        )
    }

    fn about_sku(slug: &'static str, title: &'static str, sku: &str, what: &str) -> Self {
        Self {
            sku: Some(sku.to_owned()),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                slug,
                title,
                format!("SKU {sku} {what}"),
            )
        }
    }
}

impl From<Problem> for Answer {
    fn from(problem: Problem) -> Self {
        let mut body = json!({
            "type": format!("{PROBLEM_TYPES}{}", problem.slug),
            "title": problem.title,
            "status": problem.status.as_u16(),
            "detail": problem.detail,
        });
        if let (Some(sku), Some(fields)) = (problem.sku, body.as_object_mut()) {
            fields.insert("sku".into(), Value::String(sku));
        }
        Self {
            status: problem.status,
            body,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        Answer::from(self).into_response()
    }
}

// ---- requests ----

/// A well-formed effect request.
struct EffectRequest {
    kind: Kind,
    order_id: Uuid,
    skus: Vec<String>,
    /// What a second request with the same key must repeat to be the same request.
    body: Value,
}

impl EffectRequest {
    /// `path_order` is the order id in the path of a release, which the body must repeat.
    fn parse(kind: Kind, path_order: Option<Uuid>, bytes: &[u8]) -> Result<Self, Problem> {
        // The bodies the saga's client sends (`processors::saga::downstream`), typed once.
        let (order_id, lines) = match kind {
            Kind::Reservation => {
                let request: ReservationRequest = parse_body(bytes)?;
                (request.order_id, request.lines)
            }
            Kind::Shipment => {
                let request: ShipmentRequest = parse_body(bytes)?;
                (request.order_id, request.lines)
            }
            Kind::Release => {
                let request: ReleaseRequest = parse_body(bytes)?;
                if path_order != Some(request.order_id) {
                    return Err(Problem::bad_request(
                        "orderId differs from the order id in the path".into(),
                    ));
                }
                (request.order_id, Vec::new())
            }
            Kind::Sale => {
                let request: SaleRequest = parse_body(bytes)?;
                (request.order_id, Vec::new())
            }
        };
        if matches!(kind, Kind::Reservation | Kind::Shipment) {
            if lines.is_empty() {
                return Err(Problem::bad_request("lines must not be empty".into()));
            }
            if let Some(index) = lines.iter().position(|line| line.quantity == 0) {
                return Err(Problem::bad_request(format!(
                    "lines[{index}].quantity must be at least 1"
                )));
            }
        }
        let skus = lines.into_iter().map(|line| line.sku).collect();
        let body =
            serde_json::from_slice(bytes).map_err(|e| Problem::bad_request(e.to_string()))?;
        Ok(Self {
            kind,
            order_id,
            skus,
            body,
        })
    }
}

fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    // axum's parser names the field that failed (`lines[0].quantity: ...`).
    axum::Json::<T>::from_bytes(bytes)
        .map(|axum::Json(value)| value)
        .map_err(|rejection| Problem::bad_request(rejection.body_text()))
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, Problem> {
    headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|value| value.to_str().ok())
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "missing-idempotency-key",
                "Idempotency-Key required",
                "every effect request needs a non-empty Idempotency-Key header".into(),
            )
        })
}

// ---- state ----

/// What a service knows about one idempotency key.
enum KeyState {
    InProgress {
        kind: Kind,
        body: Value,
    },
    Done {
        kind: Kind,
        body: Value,
        answer: Answer,
    },
}

/// How a request stands once it has been checked against faults and its key.
enum Claim {
    /// The key is now this request's: perform the effect.
    Claimed,
    /// Answer this; nothing is to be done.
    Answered(Answer),
}

struct Books {
    config: StandInConfig,
    rng: StdRng,
    keys: HashMap<(Service, String), KeyState>,
    effects: Vec<Effect>,
    /// Orders ever reserved: a release of any other is refused.
    reserved: HashSet<Uuid>,
    /// Orders whose reservation is being processed: a release of one waits (409).
    reserving: HashSet<Uuid>,
    /// Effect requests received.
    requests: usize,
}

/// How long a claimed request is processed, what becomes of its answer, and how long the
/// answer takes to come back: drawn when the request is claimed.
struct Draws {
    processing: Duration,
    lost: Option<Lost>,
    answer_delay: Duration,
}

/// How an answer is lost after the effect.
#[derive(Clone, Copy)]
enum Lost {
    /// 500 Internal Server Error: the caller cannot tell whether anything was done.
    ServerError,
    /// The connection drops in the middle of the answer.
    Dropped,
}

/// What goes back to the caller.
enum Wire {
    Answer(Answer),
    Lost(Lost),
}

type Shared = Arc<Mutex<Books>>;

/// The books are consistent after every critical section, so a panic elsewhere need not take
/// the stand-ins down.
fn lock(state: &Mutex<Books>) -> MutexGuard<'_, Books> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Books {
    fn new(config: StandInConfig) -> Self {
        let rng = config
            .seed
            .map_or_else(StdRng::from_os_rng, StdRng::seed_from_u64);
        Self {
            config,
            rng,
            keys: HashMap::new(),
            effects: Vec::new(),
            reserved: HashSet::new(),
            reserving: HashSet::new(),
            requests: 0,
        }
    }

    /// Sets a new config; a new seed restarts the draws.
    fn reconfigure(&mut self, config: StandInConfig) {
        if let Some(seed) = config.seed
            && config.seed != self.config.seed
        {
            self.rng = StdRng::seed_from_u64(seed);
        }
        self.config = config;
    }

    /// The draws for a request of `service` just claimed.
    fn draw(&mut self, service: Service) -> Draws {
        let faults = self.config.faults(service);
        let rng = &mut self.rng;
        let processing = if faults.slow.rate > 0.0 && rng.random::<f64>() < faults.slow.rate {
            faults.slow.ms.draw(rng)
        } else {
            faults.latency_ms.draw(rng)
        };
        let lost = (faults.lost_answer_rate > 0.0 && rng.random::<f64>() < faults.lost_answer_rate)
            .then(|| {
                if rng.random::<bool>() {
                    Lost::ServerError
                } else {
                    Lost::Dropped
                }
            });
        let answer_delay = faults
            .answer_delay_ms
            .map_or(Duration::ZERO, |latency| latency.draw(rng));
        Draws {
            processing,
            lost,
            answer_delay,
        }
    }

    /// Injected faults first (a service that is down cannot answer even a replay), then the
    /// key: replay, reused, in progress, or claimed by marking it in progress.
    fn claim(&mut self, key: &str, request: &EffectRequest) -> Claim {
        let service = request.kind.service();
        let faults = self.config.faults(service);
        let now = OffsetDateTime::now_utc();
        if faults.down || faults.down_until.is_some_and(|until| now < until) {
            return Claim::Answered(Problem::unavailable(format!("{service} is down")).into());
        }
        // `random::<f64>()` is in [0, 1): a rate of 1 fails every request, 0 none.
        if faults.error_rate > 0.0 && self.rng.random::<f64>() < faults.error_rate {
            return Claim::Answered(
                Problem::unavailable(format!(
                    "{service} failed this request (injected error rate {})",
                    faults.error_rate
                ))
                .into(),
            );
        }
        let same = |kind: &Kind, body: &Value| *kind == request.kind && *body == request.body;
        match self.keys.get(&(service, key.to_owned())) {
            // A release cannot be decided while the order's reservation is: it waits.
            None if request.kind == Kind::Release && self.reserving.contains(&request.order_id) => {
                Claim::Answered(
                    Problem::new(
                        StatusCode::CONFLICT,
                        "reservation-in-progress",
                        "Reservation in progress",
                        format!(
                            "order {} is being reserved; release it once that is decided",
                            request.order_id
                        ),
                    )
                    .into(),
                )
            }
            None => {
                self.keys.insert(
                    (service, key.to_owned()),
                    KeyState::InProgress {
                        kind: request.kind,
                        body: request.body.clone(),
                    },
                );
                if request.kind == Kind::Reservation {
                    self.reserving.insert(request.order_id);
                }
                Claim::Claimed
            }
            Some(KeyState::InProgress { kind, body } | KeyState::Done { kind, body, .. })
                if !same(kind, body) =>
            {
                Claim::Answered(
                    Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "idempotency-key-reused",
                        "Idempotency-Key reused",
                        format!("{key} was used for a different request"),
                    )
                    .into(),
                )
            }
            Some(KeyState::InProgress { .. }) => Claim::Answered(
                Problem::new(
                    StatusCode::CONFLICT,
                    "in-progress",
                    "Request in progress",
                    format!("a request with key {key} is being processed"),
                )
                .into(),
            ),
            Some(KeyState::Done { answer, .. }) => Claim::Answered(answer.clone()),
        }
    }

    /// Decides a claimed request, records its effect if there is one, and stores the answer
    /// under the key: a rejection is an answer too, so a key's decision never changes.
    fn perform(&mut self, key: String, request: EffectRequest) -> Answer {
        let service = request.kind.service();
        if request.kind == Kind::Reservation {
            self.reserving.remove(&request.order_id);
        }
        let answer = match self.decide(&request) {
            Ok((status, body)) => {
                self.effects.push(Effect {
                    service,
                    kind: request.kind,
                    order_id: request.order_id,
                    idempotency_key: key.clone(),
                    at: OffsetDateTime::now_utc(),
                });
                Answer { status, body }
            }
            Err(problem) => problem.into(),
        };
        self.keys.insert(
            (service, key),
            KeyState::Done {
                kind: request.kind,
                body: request.body,
                answer: answer.clone(),
            },
        );
        answer
    }

    fn decide(&mut self, request: &EffectRequest) -> Result<(StatusCode, Value), Problem> {
        let config = &self.config;
        match request.kind {
            Kind::Reservation => {
                for sku in &request.skus {
                    if config.inventory.unknown.contains(sku) {
                        return Err(Problem::about_sku(
                            "unknown-sku",
                            "Unknown SKU",
                            sku,
                            "is unknown",
                        ));
                    }
                    if config.inventory.out_of_stock.contains(sku) {
                        return Err(Problem::about_sku(
                            "out-of-stock",
                            "Out of stock",
                            sku,
                            "is out of stock",
                        ));
                    }
                }
                self.reserved.insert(request.order_id);
                answer(
                    StatusCode::CREATED,
                    Reservation {
                        reservation_id: new_id("res"),
                    },
                )
            }
            Kind::Release => {
                // An order stays known after a release, so that a second release under
                // another key counts as a duplicate in the ledger instead of a 404.
                if !self.reserved.contains(&request.order_id) {
                    return Err(Problem::new(
                        StatusCode::NOT_FOUND,
                        "not-reserved",
                        "No reservation",
                        format!("order {} was never reserved", request.order_id),
                    ));
                }
                answer(StatusCode::OK, Released { released: true })
            }
            Kind::Shipment => {
                if let Some(sku) = request
                    .skus
                    .iter()
                    .find(|sku| config.fulfilment.unshippable.contains(*sku))
                {
                    return Err(Problem::about_sku(
                        "unshippable",
                        "Cannot ship",
                        sku,
                        "cannot be shipped",
                    ));
                }
                answer(
                    StatusCode::CREATED,
                    Shipment {
                        shipment_id: new_id("shp"),
                    },
                )
            }
            Kind::Sale => answer(
                StatusCode::CREATED,
                Booking {
                    booking_id: new_id("bkg"),
                },
            ),
        }
    }
}

/// A success answer: `body` as the saga's client reads it.
fn answer(status: StatusCode, body: impl Serialize) -> Result<(StatusCode, Value), Problem> {
    serde_json::to_value(body)
        .map(|body| (status, body))
        .map_err(|e| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                e.to_string(),
            )
        })
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::new_v4().simple())
}

// ---- HTTP ----

/// The stand-ins' routes, starting from `config`:
///
/// - `POST /inventory/reservations`, `POST /inventory/reservations/{orderId}/release`,
///   `POST /fulfilment/shipments`, `POST /accounting/sales`: the effects, each with an
///   `Idempotency-Key` header.
/// - `GET /_ledger`: the effects performed and their duplicates ([`Ledger`]).
/// - `GET /_control`, `PUT /_control`: the whole [`StandInConfig`].
/// - `POST /_control/{service}/outage` with `{"seconds": N}`: down for the next N seconds.
pub fn router(config: StandInConfig) -> Router {
    routes(Arc::new(Mutex::new(Books::new(config))))
}

fn routes(state: Shared) -> Router {
    let effects = Router::new()
        .route("/inventory/reservations", post(reserve))
        .route("/inventory/reservations/{order_id}/release", post(release))
        .route("/fulfilment/shipments", post(ship))
        .route("/accounting/sales", post(book_sale))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ));
    Router::new()
        .merge(effects)
        .route("/_ledger", get(ledger))
        .route("/_control", get(get_control).put(put_control))
        .route("/_control/{service}/outage", post(outage))
        .with_state(state)
}

/// Refuses an effect request that does not carry what [`RequiredAuth`] asks for.
async fn authenticate(
    State(state): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let required = lock(&state).config.auth.clone();
    if required == RequiredAuth::None {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1024 * 1024).await else {
        return Problem::bad_request("the body is too large".into()).into_response();
    };
    let refused = |status: StatusCode, detail: String| {
        Problem::new(status, "unauthorized", "Not authorised", detail).into_response()
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    match &required {
        RequiredAuth::None => {}
        RequiredAuth::ApiKey { key } => match header("x-api-key") {
            None => return refused(StatusCode::UNAUTHORIZED, "no x-api-key header".into()),
            Some(given) if given != key => {
                return refused(StatusCode::FORBIDDEN, "x-api-key is not the key".into());
            }
            Some(_) => {}
        },
        RequiredAuth::Iam {
            access_key_id,
            secret_access_key,
        } => {
            if header("authorization").is_none() {
                return refused(StatusCode::UNAUTHORIZED, "the request is not signed".into());
            }
            if let Err(why) = check_sigv4(&parts, &body, access_key_id, secret_access_key) {
                return refused(StatusCode::FORBIDDEN, why);
            }
        }
    }
    next.run(axum::extract::Request::from_parts(parts, body.into()))
        .await
}

/// Signs the request again with `secret_access_key` at the time it says it was signed, over the
/// headers it says it signed, and compares the signatures.
fn check_sigv4(
    parts: &axum::http::request::Parts,
    body: &[u8],
    access_key_id: &str,
    secret_access_key: &str,
) -> Result<(), String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let authorization = header("authorization").unwrap_or_default();
    let fields = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not a SigV4 (AWS4-HMAC-SHA256) authorization")?;
    let field = |name: &str| {
        fields
            .split(", ")
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            .ok_or_else(|| format!("the authorization has no {name}"))
    };
    let (credential, signed_headers, signature) = (
        field("Credential")?,
        field("SignedHeaders")?,
        field("Signature")?,
    );
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, _date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(format!("malformed credential scope {credential}"));
    };
    if *key_id != access_key_id {
        return Err(format!(
            "signed with access key {key_id}, not the service's"
        ));
    }
    if *service != "execute-api" {
        return Err(format!("signed for {service}, not execute-api"));
    }
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let signed_at = header("x-amz-date")
        .and_then(|date| time::PrimitiveDateTime::parse(date, format).ok())
        .ok_or("no valid x-amz-date")?
        .assume_utc();
    let token = header("x-amz-security-token").map(str::to_owned);
    // The signer adds these two itself, from the time and the credentials.
    let headers: Vec<(&str, &str)> = signed_headers
        .split(';')
        .filter(|name| !matches!(*name, "x-amz-date" | "x-amz-security-token"))
        .map(|name| (name, header(name).unwrap_or_default()))
        .collect();
    let url = format!(
        "http://{}{}",
        header("host").unwrap_or_default(),
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let identity = aws_credential_types::Credentials::new(
        access_key_id,
        secret_access_key,
        token,
        None,
        "stand-in",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("execute-api")
        .time(signed_at.into())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        parts.method.as_str(),
        url,
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let expected = sign(request, &params).map_err(|e| e.to_string())?;
    if expected.signature() == signature {
        Ok(())
    } else {
        Err("the signature does not match the request".into())
    }
}

async fn reserve(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    effect(state, Kind::Reservation, None, &headers, &body).await
}

async fn release(
    State(state): State<Shared>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(order_id) = Uuid::parse_str(&order_id) else {
        return Problem::bad_request(format!("{order_id} in the path is not an order id"))
            .into_response();
    };
    effect(state, Kind::Release, Some(order_id), &headers, &body).await
}

async fn ship(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    effect(state, Kind::Shipment, None, &headers, &body).await
}

async fn book_sale(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    effect(state, Kind::Sale, None, &headers, &body).await
}

async fn effect(
    state: Shared,
    kind: Kind,
    path_order: Option<Uuid>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let request = match idempotency_key(headers)
        .and_then(|key| Ok((key, EffectRequest::parse(kind, path_order, body)?)))
    {
        Ok(request) => request,
        Err(problem) => return problem.into_response(),
    };
    // On a task of its own, so that a caller hanging up mid-request cannot leave the key
    // marked in progress for good: the request finishes and stores its answer either way.
    match tokio::spawn(perform_once(state, request.0, request.1)).await {
        Ok(Wire::Answer(answer)) => answer.into_response(),
        Ok(Wire::Lost(Lost::ServerError)) => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the answer was lost (injected)".into(),
        )
        .into_response(),
        // The status line goes out, then the body fails: hyper drops the connection.
        Ok(Wire::Lost(Lost::Dropped)) => Response::builder()
            .status(StatusCode::CREATED)
            .header(header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from_stream(futures::stream::once(
                async {
                    Err::<Bytes, _>(std::io::Error::other(
                        "connection dropped after the effect (injected)",
                    ))
                },
            )))
            .unwrap_or_else(|error| {
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    error.to_string(),
                )
                .into_response()
            }),
        Err(error) => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            error.to_string(),
        )
        .into_response(),
    }
}

async fn perform_once(state: Shared, key: String, request: EffectRequest) -> Wire {
    let service = request.kind.service();
    let (claim, draws) = {
        let mut books = lock(&state);
        books.requests += 1;
        let claim = books.claim(&key, &request);
        (claim, books.draw(service))
    };
    match claim {
        // A replay, a refusal or a conflict: decided at once, and on its way back as long as
        // any answer.
        Claim::Answered(answer) => {
            tokio::time::sleep(draws.processing.min(SHORT_ANSWER) + draws.answer_delay).await;
            Wire::Answer(answer)
        }
        Claim::Claimed => {
            // Processed with the key in progress: a repeat meanwhile gets 409. The decision and
            // the effect come at the end, as a real service commits before it answers.
            tokio::time::sleep(draws.processing).await;
            let answer = lock(&state).perform(key, request);
            // A caller that dies while the answer travels back has caused the effect without
            // learning so: the crash the saga must survive.
            tokio::time::sleep(draws.answer_delay).await;
            draws.lost.map_or(Wire::Answer(answer), Wire::Lost)
        }
    }
}

async fn ledger(State(state): State<Shared>) -> Response {
    axum::Json(Ledger::of(&lock(&state))).into_response()
}

async fn get_control(State(state): State<Shared>) -> Response {
    axum::Json(lock(&state).config.clone()).into_response()
}

fn invalid_control(detail: String) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-control",
        "Invalid control request",
        detail,
    )
}

async fn put_control(State(state): State<Shared>, body: Bytes) -> Response {
    match StandInConfig::from_json(&body) {
        Ok(config) => {
            lock(&state).reconfigure(config.clone());
            axum::Json(config).into_response()
        }
        Err(ConfigError(detail)) => invalid_control(detail).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Outage {
    seconds: u64,
}

async fn outage(State(state): State<Shared>, Path(service): Path<String>, body: Bytes) -> Response {
    let Some(service) = Service::from_name(&service) else {
        return Problem::new(
            StatusCode::NOT_FOUND,
            "unknown-service",
            "Unknown service",
            format!("no service {service}: inventory, fulfilment or accounting"),
        )
        .into_response();
    };
    let seconds = match axum::Json::<Outage>::from_bytes(&body) {
        Ok(axum::Json(outage)) => outage.seconds,
        Err(rejection) => return invalid_control(rejection.body_text()).into_response(),
    };
    let Some(until) = i64::try_from(seconds).ok().and_then(|seconds| {
        OffsetDateTime::now_utc().checked_add(time::Duration::seconds(seconds))
    }) else {
        return invalid_control(format!("seconds: {seconds} is too far ahead")).into_response();
    };
    let mut books = lock(&state);
    *books.config.down_until_mut(service) = Some(until);
    axum::Json(books.config.clone()).into_response()
}

// ---- in-process server ----

/// The stand-ins served on a free loopback port. Stop when dropped.
pub struct StandIns {
    /// Base URL, without a trailing slash; services are under `{url}/inventory` and so on.
    pub url: String,
    state: Shared,
    stop: watch::Sender<bool>,
}

impl StandIns {
    /// The ledger, as `GET /_ledger` answers it.
    pub fn ledger(&self) -> Ledger {
        Ledger::of(&lock(&self.state))
    }
}

impl Drop for StandIns {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Serves the stand-ins on a free loopback port, on a runtime of their own as the engines
/// are, so the code under test cannot starve them.
pub async fn serve(config: StandInConfig) -> std::io::Result<StandIns> {
    config
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    let state: Shared = Arc::new(Mutex::new(Books::new(config)));
    let app = routes(state.clone());
    let (stop, mut stopped) = watch::channel(false);
    crate::spawn_engine("downstream", 1, move || async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await
    })
    .map_err(std::io::Error::other)?;
    Ok(StandIns { url, state, stop })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Client;

    const SKU: &str = "SKU-1";

    /// No latency, no faults: tests that want either set them.
    fn quick() -> StandInConfig {
        let none = Latency { min: 0, max: 0 };
        let mut config = StandInConfig::default();
        config.inventory.latency_ms = none;
        config.fulfilment.latency_ms = none;
        config.accounting.latency_ms = none;
        config
    }

    async fn start(config: StandInConfig) -> (StandIns, Client) {
        (serve(config).await.expect("stand-ins start"), Client::new())
    }

    fn reservation(order: Uuid) -> Value {
        json!({
            "orderId": order,
            "customerId": "customer-1",
            "lines": [{ "sku": SKU, "quantity": 2 }],
        })
    }

    fn shipment(order: Uuid) -> Value {
        json!({
            "orderId": order,
            "customerId": "customer-1",
            "lines": [{ "sku": SKU, "quantity": 2 }],
            "shippingAddress": {
                "name": "A", "line1": "1 Road", "city": "Town", "postalCode": "1000", "country": "BE"
            },
        })
    }

    struct Reply {
        status: u16,
        headers: reqwest::header::HeaderMap,
        body: Value,
    }

    async fn post(client: &Client, url: &str, key: Option<&str>, body: &Value) -> Reply {
        let mut request = client.post(url).json(body);
        if let Some(key) = key {
            request = request.header(IDEMPOTENCY_KEY, key);
        }
        let response = request.send().await.expect("request sent");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.json().await.expect("JSON answer"),
        }
    }

    async fn reserve(client: &Client, standins: &StandIns, key: &str, body: &Value) -> Reply {
        let url = format!("{}/inventory/reservations", standins.url);
        post(client, &url, Some(key), body).await
    }

    async fn put_control(client: &Client, standins: &StandIns, config: &Value) -> Reply {
        let response = client
            .put(format!("{}/_control", standins.url))
            .json(config)
            .send()
            .await
            .expect("request sent");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.json().await.expect("JSON answer"),
        }
    }

    async fn ledger(client: &Client, standins: &StandIns) -> Ledger {
        client
            .get(format!("{}/_ledger", standins.url))
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("a ledger")
    }

    fn quick_with(change: impl FnOnce(&mut StandInConfig)) -> Value {
        let mut config = quick();
        change(&mut config);
        serde_json::to_value(config).expect("config serializes")
    }

    #[tokio::test]
    async fn same_key_twice_performs_one_effect_and_answers_the_same_body() {
        let (standins, client) = start(quick()).await;
        let body = reservation(Uuid::new_v4());

        let first = reserve(&client, &standins, "k-1", &body).await;
        let second = reserve(&client, &standins, "k-1", &body).await;

        assert_eq!(first.status, 201);
        assert!(first.body["reservationId"].is_string(), "{}", first.body);
        assert_eq!(second.status, 201);
        assert_eq!(second.body, first.body);
        let ledger = ledger(&client, &standins).await;
        assert_eq!(ledger.count(Kind::Reservation), 1);
        assert_eq!(ledger.effects[0].idempotency_key, "k-1");
        assert_eq!(
            ledger.by_service[&Service::Inventory][&Kind::Reservation],
            1
        );
        assert_eq!(ledger.by_service[&Service::Accounting][&Kind::Sale], 0);
        assert!(ledger.duplicates.is_empty());
        assert_eq!(standins.ledger(), ledger);
    }

    #[tokio::test]
    async fn same_key_with_another_body_is_refused_and_performs_nothing() {
        let (standins, client) = start(quick()).await;
        reserve(&client, &standins, "k-1", &reservation(Uuid::new_v4())).await;

        let reused = reserve(&client, &standins, "k-1", &reservation(Uuid::new_v4())).await;

        assert_eq!(reused.status, 422);
        assert_eq!(
            reused.body["type"],
            "https://orders.example/problems/idempotency-key-reused"
        );
        assert_eq!(ledger(&client, &standins).await.count(Kind::Reservation), 1);
    }

    #[tokio::test]
    async fn out_of_stock_is_refused_without_effect_and_stays_refused_for_its_key() {
        let (standins, client) = start(quick()).await;
        let refusing = quick_with(|c| {
            c.inventory.out_of_stock.insert(SKU.into());
        });
        assert_eq!(put_control(&client, &standins, &refusing).await.status, 200);
        let body = reservation(Uuid::new_v4());

        let refused = reserve(&client, &standins, "k-1", &body).await;

        assert_eq!(refused.status, 422);
        assert_eq!(
            refused.headers[reqwest::header::CONTENT_TYPE],
            PROBLEM_CONTENT_TYPE
        );
        assert_eq!(
            refused.body,
            json!({
                "type": "https://orders.example/problems/out-of-stock",
                "title": "Out of stock",
                "status": 422,
                "detail": "SKU SKU-1 is out of stock",
                "sku": SKU,
            })
        );
        assert_eq!(ledger(&client, &standins).await.effects, vec![]);

        // Back in stock: the key keeps its decision; only a new key sees the new stock.
        assert_eq!(
            put_control(&client, &standins, &json!({})).await.status,
            200
        );
        let again = reserve(&client, &standins, "k-1", &body).await;
        assert_eq!((again.status, &again.body), (422, &refused.body));
        assert_eq!(reserve(&client, &standins, "k-2", &body).await.status, 201);
        assert_eq!(ledger(&client, &standins).await.count(Kind::Reservation), 1);
    }

    #[tokio::test]
    async fn unknown_and_unshippable_skus_are_refused() {
        let config = quick_with(|c| {
            c.inventory.unknown.insert(SKU.into());
            c.fulfilment.unshippable.insert(SKU.into());
        });
        let (standins, client) =
            start(StandInConfig::from_json(config.to_string().as_bytes()).expect("valid config"))
                .await;
        let order = Uuid::new_v4();
        let body = reservation(order);

        let unknown = reserve(&client, &standins, "k-1", &body).await;
        let shipments = format!("{}/fulfilment/shipments", standins.url);
        let unshippable = post(&client, &shipments, Some("k-1"), &shipment(order)).await;

        assert_eq!(unknown.status, 422);
        assert_eq!(
            unknown.body["type"],
            "https://orders.example/problems/unknown-sku"
        );
        assert_eq!(unknown.body["title"], "Unknown SKU");
        assert_eq!(unshippable.status, 422);
        assert_eq!(
            unshippable.body["type"],
            "https://orders.example/problems/unshippable"
        );
        assert_eq!(unshippable.body["title"], "Cannot ship");
        assert_eq!(unshippable.body["sku"], SKU);
        assert_eq!(ledger(&client, &standins).await.effects, vec![]);
    }

    #[tokio::test]
    async fn injected_errors_answer_503_and_store_nothing_under_the_key() {
        let mut config = quick();
        config.accounting.error_rate = 1.0;
        let (standins, client) = start(config).await;
        let sales = format!("{}/accounting/sales", standins.url);
        let sale = json!({
            "orderId": Uuid::new_v4(),
            "customerId": "customer-1",
            "total": { "amount": 1999, "currency": "EUR" },
        });

        let failed = post(&client, &sales, Some("k-1"), &sale).await;

        assert_eq!(failed.status, 503);
        assert_eq!(failed.headers[reqwest::header::RETRY_AFTER], "1");
        assert_eq!(
            failed.body["type"],
            "https://orders.example/problems/unavailable"
        );
        assert_eq!(ledger(&client, &standins).await.effects, vec![]);

        assert_eq!(
            put_control(&client, &standins, &json!({})).await.status,
            200
        );
        let booked = post(&client, &sales, Some("k-1"), &sale).await;
        let replayed = post(&client, &sales, Some("k-1"), &sale).await;
        assert_eq!(booked.status, 201);
        assert!(booked.body["bookingId"].is_string(), "{}", booked.body);
        assert_eq!((replayed.status, &replayed.body), (201, &booked.body));
        assert_eq!(ledger(&client, &standins).await.count(Kind::Sale), 1);
    }

    #[tokio::test]
    async fn an_outage_answers_503_until_it_ends() {
        let (standins, client) = start(quick()).await;
        let outage = format!("{}/_control/inventory/outage", standins.url);
        // Long enough that the requests below fall inside it on any machine.
        let set = post(&client, &outage, None, &json!({ "seconds": 3600 })).await;
        assert_eq!(set.status, 200);
        assert!(
            set.body["inventory"]["downUntil"].is_string(),
            "{}",
            set.body
        );
        let order = Uuid::new_v4();
        let body = reservation(order);

        let during = reserve(&client, &standins, "k-1", &body).await;
        let shipments = format!("{}/fulfilment/shipments", standins.url);
        let elsewhere = post(&client, &shipments, Some("k-1"), &shipment(order)).await;

        assert_eq!(during.status, 503);
        assert_eq!(during.headers[reqwest::header::RETRY_AFTER], "1");
        assert_eq!(elsewhere.status, 201, "only inventory is down");
        // A second outage replaces the first: it ends a second from now.
        let set = post(&client, &outage, None, &json!({ "seconds": 1 })).await;
        assert_eq!(set.status, 200);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let after = reserve(&client, &standins, "k-1", &body).await;
            if after.status == 201 {
                break;
            }
            assert_eq!(after.status, 503);
            assert!(
                tokio::time::Instant::now() < deadline,
                "the outage never ended"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(ledger(&client, &standins).await.count(Kind::Reservation), 1);
    }

    /// A repeat of a request still being processed gets 409 with `Retry-After`, as the IETF
    /// Idempotency-Key draft says; once the first is decided, the repeat gets its answer.
    #[tokio::test]
    async fn a_repeat_while_the_first_is_processed_gets_409_then_the_answer() {
        let mut config = quick();
        // Long enough that the repeats below arrive while it is processed, on any machine.
        config.inventory.latency_ms = Latency {
            min: 5000,
            max: 5000,
        };
        let (standins, client) = start(config).await;
        let order = Uuid::new_v4();
        let body = reservation(order);
        let first = reserve(&client, &standins, "k-1", &body);
        let repeat = async {
            // Until the first request is in progress at the service.
            while ledger(&client, &standins).await.in_progress == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let during = reserve(&client, &standins, "k-1", &body).await;
            let release = post(
                &client,
                &format!("{}/inventory/reservations/{order}/release", standins.url),
                Some("k-release"),
                &json!({ "orderId": order, "reason": "r" }),
            )
            .await;
            (during, release)
        };
        let (first, (during, release)) = tokio::join!(first, repeat);
        assert_eq!(first.status, 201);
        assert_eq!(during.status, 409, "{}", during.body);
        assert_eq!(during.headers[reqwest::header::RETRY_AFTER], "1");
        assert_eq!(
            release.status, 409,
            "a release waits for the reservation to be decided: {}",
            release.body
        );
        let after = reserve(&client, &standins, "k-1", &body).await;
        assert_eq!((after.status, &after.body), (201, &first.body));
        assert_eq!(ledger(&client, &standins).await.count(Kind::Reservation), 1);
    }

    /// An answer lost after the effect: the effect is in the ledger and stored under the key,
    /// the caller got a 500 or a dropped connection, and a repeat gets the stored answer.
    #[tokio::test]
    async fn a_lost_answer_leaves_the_effect_done_and_the_repeat_gets_it() {
        let mut config = quick();
        config.inventory.lost_answer_rate = 1.0;
        config.seed = Some(7);
        let (standins, client) = start(config).await;
        let url = format!("{}/inventory/reservations", standins.url);
        let mut server_errors = 0;
        let mut dropped = 0;
        let bodies: Vec<Value> = (0..12).map(|_| reservation(Uuid::new_v4())).collect();
        for (i, body) in bodies.iter().enumerate() {
            let key = format!("k-{i}");
            let lost = client
                .post(&url)
                .header(IDEMPOTENCY_KEY, &key)
                .json(body)
                .send()
                .await;
            match lost {
                Ok(response) if response.status() == 500 => server_errors += 1,
                // The status line came, the body did not: the connection dropped.
                Ok(response) => {
                    assert!(response.bytes().await.is_err(), "{key}: the body arrived");
                    dropped += 1;
                }
                Err(_) => dropped += 1,
            }
        }
        assert!(
            server_errors > 0 && dropped > 0,
            "{server_errors} {dropped}"
        );
        assert_eq!(
            ledger(&client, &standins).await.count(Kind::Reservation),
            12
        );
        // The effect stands under its key: answers to repeats are lost too (rate 1), so
        // turn the fault off and ask again.
        let mut config = quick();
        config.seed = Some(7);
        let set = put_control(
            &client,
            &standins,
            &serde_json::to_value(&config).expect("json"),
        )
        .await;
        assert_eq!(set.status, 200);
        for (i, body) in bodies.iter().enumerate() {
            let again = reserve(&client, &standins, &format!("k-{i}"), body).await;
            assert_eq!(again.status, 201, "{}", again.body);
            assert!(again.body["reservationId"].is_string(), "{}", again.body);
        }
        assert_eq!(
            ledger(&client, &standins).await.count(Kind::Reservation),
            12
        );
    }

    /// With one seed, one sequence of requests meets the same faults.
    #[tokio::test]
    async fn the_faults_are_drawn_from_the_seed() {
        let run = || async {
            let mut config = quick();
            config.seed = Some(42);
            config.inventory.error_rate = 0.5;
            let (standins, client) = start(config).await;
            let mut statuses = Vec::new();
            for i in 0..20 {
                let body = reservation(Uuid::from_u128(i));
                statuses.push(
                    reserve(&client, &standins, &format!("k-{i}"), &body)
                        .await
                        .status,
                );
            }
            statuses
        };
        let first = run().await;
        assert!(first.contains(&503) && first.contains(&201), "{first:?}");
        assert_eq!(first, run().await);
    }

    #[test]
    fn the_realistic_config_is_valid_and_turns_every_fault_on() {
        let config = StandInConfig::realistic(1);
        config.validate().expect("valid");
        for service in Service::ALL {
            let faults = config.faults(service);
            assert!(faults.error_rate > 0.0 && faults.lost_answer_rate > 0.0);
            assert!(faults.slow.rate > 0.0 && faults.slow.ms.min >= 1000);
        }
        let rates = StandInConfig::from_json(
            br#"{"inventory":{"lostAnswerRate":2,"slow":{"rate":-1,"ms":{"min":5,"max":1}}}}"#,
        )
        .expect_err("invalid")
        .to_string();
        for field in [
            "inventory.lostAnswerRate",
            "inventory.slow.rate",
            "inventory.slow.ms.min",
        ] {
            assert!(rates.contains(field), "{field}: {rates}");
        }
    }

    #[tokio::test]
    async fn outage_of_an_unknown_service_is_404() {
        let (standins, client) = start(quick()).await;
        let outage = format!("{}/_control/billing/outage", standins.url);
        let reply = post(&client, &outage, None, &json!({ "seconds": 1 })).await;
        assert_eq!(reply.status, 404);
        assert_eq!(
            reply.body["type"],
            "https://orders.example/problems/unknown-service"
        );
    }

    #[tokio::test]
    async fn one_order_reserved_under_two_keys_is_a_duplicate() {
        let (standins, client) = start(quick()).await;
        let order = Uuid::new_v4();
        let body = reservation(order);
        reserve(&client, &standins, "k-1", &body).await;
        reserve(&client, &standins, "k-2", &body).await;
        reserve(&client, &standins, "other", &reservation(Uuid::new_v4())).await;

        let ledger = ledger(&client, &standins).await;

        assert_eq!(ledger.count(Kind::Reservation), 3);
        assert_eq!(
            ledger.duplicates,
            vec![Duplicate {
                service: Service::Inventory,
                kind: Kind::Reservation,
                order_id: order,
                count: 2,
            }]
        );
    }

    #[tokio::test]
    async fn release_needs_a_reservation() {
        let (standins, client) = start(quick()).await;
        let order = Uuid::new_v4();
        let release = format!("{}/inventory/reservations/{order}/release", standins.url);
        let body = json!({ "orderId": order, "reason": "cancelled" });

        let unreserved = post(&client, &release, Some("r-1"), &body).await;
        reserve(&client, &standins, "k-1", &reservation(order)).await;
        let released = post(&client, &release, Some("r-2"), &body).await;

        assert_eq!(unreserved.status, 404);
        assert_eq!(
            unreserved.body["type"],
            "https://orders.example/problems/not-reserved"
        );
        assert_eq!(
            (released.status, &released.body),
            (200, &json!({ "released": true }))
        );
        assert_eq!(ledger(&client, &standins).await.count(Kind::Release), 1);
    }

    #[tokio::test]
    async fn a_request_without_idempotency_key_is_400_and_does_nothing() {
        let (standins, client) = start(quick()).await;
        let url = format!("{}/inventory/reservations", standins.url);

        let reply = post(&client, &url, None, &reservation(Uuid::new_v4())).await;

        assert_eq!(reply.status, 400);
        assert_eq!(
            reply.body["type"],
            "https://orders.example/problems/missing-idempotency-key"
        );
        assert_eq!(ledger(&client, &standins).await.effects, vec![]);
    }

    #[tokio::test]
    async fn a_malformed_effect_request_is_400_naming_the_field() {
        let (standins, client) = start(quick()).await;
        let mut body = reservation(Uuid::new_v4());
        body["lines"][0]["quantity"] = json!("two");

        let reply = reserve(&client, &standins, "k-1", &body).await;

        assert_eq!(reply.status, 400);
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("lines[0].quantity"), "{detail}");
    }

    #[tokio::test]
    async fn concurrent_requests_with_one_key_perform_one_effect() {
        let mut config = quick();
        config.inventory.latency_ms = Latency { min: 50, max: 50 };
        let (standins, client) = start(config).await;
        let body = reservation(Uuid::new_v4());

        let replies =
            futures::future::join_all((0..10).map(|_| reserve(&client, &standins, "k-1", &body)))
                .await;

        let created: Vec<&Value> = replies
            .iter()
            .filter(|reply| reply.status == 201)
            .map(|reply| &reply.body)
            .collect();
        assert!(!created.is_empty(), "the first request succeeds");
        assert!(created.iter().all(|body| *body == created[0]));
        for reply in &replies {
            assert!(
                reply.status == 201
                    || (reply.status == 409
                        && reply.body["type"] == "https://orders.example/problems/in-progress"),
                "{} {}",
                reply.status,
                reply.body
            );
        }
        assert_eq!(ledger(&client, &standins).await.count(Kind::Reservation), 1);
    }

    #[tokio::test]
    async fn an_invalid_control_body_is_400_naming_the_field_and_changes_nothing() {
        let (standins, client) = start(quick()).await;
        let before = client
            .get(format!("{}/_control", standins.url))
            .send()
            .await
            .expect("request sent")
            .json::<Value>()
            .await
            .expect("a config");

        for (body, field) in [
            (
                json!({ "inventory": { "errorRate": 1.5 } }),
                "inventory.errorRate",
            ),
            (
                json!({ "fulfilment": { "errorRate": "often" } }),
                "fulfilment.errorRate",
            ),
            (json!({ "accounting": { "errorrate": 0.5 } }), "errorrate"),
            (
                json!({ "inventory": { "latencyMs": { "min": 30, "max": 20 } } }),
                "inventory.latencyMs.min",
            ),
        ] {
            let reply = put_control(&client, &standins, &body).await;
            assert_eq!(reply.status, 400, "{body}");
            let detail = reply.body["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(field), "{body}: {detail}");
        }
        let after = client
            .get(format!("{}/_control", standins.url))
            .send()
            .await
            .expect("request sent")
            .json::<Value>()
            .await
            .expect("a config");
        assert_eq!(after, before);
    }

    #[test]
    fn an_empty_config_has_the_documented_defaults() {
        let config = StandInConfig::from_json(b"{}").expect("valid config");
        assert_eq!(config.inventory.latency_ms, Latency { min: 2, max: 20 });
        assert_eq!(config.accounting.error_rate, 0.0);
        assert!(!config.fulfilment.down);
        assert_eq!(config.inventory.down_until, None);
        assert!(config.inventory.out_of_stock.is_empty());
    }
}
