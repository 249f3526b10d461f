//! A local implementation of the Lambda Runtime API (`next`, `response`, `error`), enough to run
//! a function binary as Lambda would and see what it answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function answered for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

/// One invocation: its request id, event, and how long the function has (its timeout).
type Invocation = (String, Value, Duration);

/// The function timeout [`RuntimeApi::invoke`] gives.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

struct Shared {
    pending: Mutex<mpsc::Receiver<Invocation>>,
    outcomes: mpsc::Sender<(String, Outcome)>,
    /// Each invocation's deadline as handed to the function, epoch milliseconds.
    deadlines: std::sync::Mutex<HashMap<String, i128>>,
    /// Each invocation's deadline less the time its answer arrived, milliseconds.
    margins: std::sync::Mutex<HashMap<String, i128>>,
}

impl Shared {
    fn answered(&self, request_id: &str) {
        let deadlines = self.deadlines.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(deadline) = deadlines.get(request_id) {
            self.margins
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(request_id.to_owned(), deadline - now_ms());
        }
    }
}

fn now_ms() -> i128 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

pub struct RuntimeApi {
    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    invocations: mpsc::Sender<Invocation>,
    outcomes: mpsc::Receiver<(String, Outcome)>,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let (invocations, pending) = mpsc::channel(16);
        let (outcome_tx, outcomes) = mpsc::channel(16);
        let shared = Arc::new(Shared {
            pending: Mutex::new(pending),
            outcomes: outcome_tx,
            deadlines: Default::default(),
            margins: Default::default(),
        });
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("runtime API serves")
        });
        Self {
            address,
            invocations,
            outcomes,
            shared,
        }
    }

    /// How long before its deadline the function answered `request_id`, in milliseconds
    /// (negative: after it); `None` if it has not answered.
    pub fn margin_ms(&self, request_id: &str) -> Option<i128> {
        self.shared
            .margins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(request_id)
            .copied()
    }

    /// The environment Lambda gives a function.
    pub fn function_env(&self, function_name: &str) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address.as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/local"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&mut self, request_id: &str, event: Value) -> Outcome {
        self.invoke_within(request_id, event, DEFAULT_TIMEOUT).await
    }

    /// Invokes the function with `timeout` to answer in (the deadline the Runtime API gives).
    pub async fn invoke_within(
        &mut self,
        request_id: &str,
        event: Value,
        timeout: Duration,
    ) -> Outcome {
        self.invocations
            .send((request_id.to_owned(), event, timeout))
            .await
            .expect("runtime API alive");
        // Generous: it includes the function's start on a loaded machine.
        let (id, outcome) =
            tokio::time::timeout(timeout + Duration::from_secs(120), self.outcomes.recv())
                .await
                .expect("the function answered")
                .expect("runtime API alive");
        assert_eq!(
            id, request_id,
            "the answer names the invocation it belongs to"
        );
        outcome
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let Some((request_id, event, timeout)) = shared.pending.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = (time::OffsetDateTime::now_utc() + timeout).unix_timestamp_nanos() / 1_000_000;
    shared
        .deadlines
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(request_id.clone(), deadline);
    let mut headers = HeaderMap::new();
    let header = |value: &str| HeaderValue::from_str(value).expect("header value");
    headers.insert("lambda-runtime-aws-request-id", header(&request_id));
    headers.insert("lambda-runtime-deadline-ms", header(&deadline.to_string()));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header("arn:aws:lambda:us-east-1:000000000000:function:local"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        header("Root=1-00000000-000000000000000000000000;Sampled=0"),
    );
    (StatusCode::OK, headers, axum::Json(event)).into_response()
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.answered(&id);
    let _ = shared.outcomes.send((id, Outcome::Response(value))).await;
    StatusCode::ACCEPTED
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.answered(&id);
    let _ = shared.outcomes.send((id, Outcome::Error(value))).await;
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = shared
        .outcomes
        .send(("init".to_owned(), Outcome::Error(value)))
        .await;
    StatusCode::ACCEPTED
}
