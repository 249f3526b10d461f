//! `ingest/openapi.json` against the local gateway: every documented operation is exercised, and
//! every answer's status, content type, headers and body must be what the document says. The
//! request bodies are the JSON Schema file the gateway and the API Gateway model use, by
//! reference, so the document cannot drift from them.

use std::sync::Arc;
use std::time::Duration;

use devstack::downstream::{self, StandInConfig};
use devstack::sample;
use ingest::envelope::Envelope;
use ingest::order::Channel;
use pipeline_tests::TestPipeline;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

const OPENAPI: &str = include_str!("../../ingest/openapi.json");
const ORDER_SCHEMA: &str = include_str!("../../ingest/schema/order-request.schema.json");
const PROBLEMS: &str = include_str!("../../ingest/api-gateway/problems.json");
/// Where the document is taken to live, so its relative `$ref`s resolve.
const BASE: &str = "https://orders.example/ingest/openapi.json";

/// Serves the order schema for the document's `schema/order-request.schema.json` reference.
struct Files;

impl jsonschema::Retrieve for Files {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        match uri.as_str() {
            "https://orders.example/ingest/schema/order-request.schema.json" => {
                Ok(serde_json::from_str(ORDER_SCHEMA)?)
            }
            other => Err(format!("no such file in this repository: {other}").into()),
        }
    }
}

struct Document(Value);

impl Document {
    fn load() -> Self {
        let doc: Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        Self(doc)
    }

    /// A validator of `schema`, a schema object of the document (its `$ref`s resolved against
    /// the whole document and its neighbouring files).
    fn validator(&self, schema: &Value) -> jsonschema::Validator {
        let mut root = self.0.clone();
        root["$id"] = BASE.into();
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema".into();
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            root["$ref"] = reference.into();
        } else {
            root["allOf"] = json!([schema]);
        }
        jsonschema::options()
            .with_retriever(Files)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema {schema} compiles: {e}"))
    }

    fn operation(&self, method: &str, path: &str) -> &Value {
        let operation = &self.0["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        operation
    }
}

/// One request and the gateway's answer.
struct Exchange {
    method: &'static str,
    /// The documented path template.
    path: &'static str,
    status: u16,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Exchange {
    fn check(&self, doc: &Document) {
        let what = format!("{} {} → {}", self.method, self.path, self.status);
        let responses = &doc.operation(self.method, self.path)["responses"];
        let response = &responses[self.status.to_string()];
        assert!(response.is_object(), "{what}: status not documented");
        let media = self.content_type.split(';').next().unwrap_or("").trim();
        let schema = &response["content"][media]["schema"];
        assert!(
            schema.is_object(),
            "{what}: content type {media} not documented"
        );
        let validator = doc.validator(schema);
        let errors: Vec<String> = validator
            .iter_errors(&self.body)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:?} in {}", self.body);
        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            let value = self
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok());
            assert!(value.is_some(), "{what}: header {name} missing");
            let validator = doc.validator(&header["schema"]);
            let value: Value = value
                .and_then(|v| v.parse::<i64>().ok())
                .map(Value::from)
                .unwrap_or_else(|| value.unwrap_or_default().into());
            assert!(
                validator.is_valid(&value),
                "{what}: header {name} is {value}"
            );
        }
    }
}

struct Client {
    pipeline: Arc<TestPipeline>,
}

impl Client {
    async fn send(
        &self,
        method: &'static str,
        path: &'static str,
        url_path: &str,
        customer: Option<&str>,
        content_type: &str,
        body: Option<Vec<u8>>,
    ) -> Exchange {
        let url = format!("{}{url_path}", self.pipeline.gateway_url);
        let mut request = match method {
            "post" => self.pipeline.http.post(url),
            _ => self.pipeline.http.get(url),
        };
        if let Some(customer) = customer {
            request = request.bearer_auth(self.pipeline.tokens.token(customer, 60));
        }
        if let Some(body) = body {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response.json().await.unwrap_or(Value::Null);
        Exchange {
            method,
            path,
            status,
            content_type,
            headers,
            body,
        }
    }
}

#[tokio::test]
async fn every_answer_of_the_local_gateway_is_as_the_openapi_document_says() {
    let doc = Document::load();
    let pipeline = Arc::new(TestPipeline::start().await);
    let stand_ins = downstream::serve(StandInConfig::default())
        .await
        .expect("stand-ins");
    let _materialiser = pipeline.start_materialiser();
    let _saga = pipeline.start_saga(&stand_ins.url);
    let client = Client {
        pipeline: pipeline.clone(),
    };
    let mut rng = StdRng::seed_from_u64(71);
    let json = |value: &Value| Some(serde_json::to_vec(value).expect("json"));
    let order = serde_json::to_value(sample::order(&mut rng, Channel::Web)).expect("json");
    let order_id = order["orderId"].as_str().expect("id").to_owned();
    let mut bad_total = serde_json::to_value(sample::order(&mut rng, Channel::Web)).expect("json");
    bad_total["total"] = json!({ "amount": 1, "currency": "EUR" });
    let batch = json!({ "orders": [
        serde_json::to_value(sample::order(&mut rng, Channel::Wholesale)).expect("json"),
        serde_json::to_value(sample::order(&mut rng, Channel::Wholesale)).expect("json"),
    ]});
    let bad_batch = json!({ "orders": [order.clone(), bad_total.clone()] });
    let app_json = "application/json";

    // The writes: (path, customer, content type, body); each path is its own URL.
    let writes = [
        ("/orders", Some("ada"), app_json, json(&order)),
        ("/orders", Some("ada"), app_json, json(&bad_total)),
        ("/orders", Some("ada"), app_json, Some(b"{nope".to_vec())),
        ("/orders", None, app_json, json(&order)),
        ("/orders", Some("ada"), "text/plain", json(&order)),
        (
            "/orders",
            Some("ada"),
            app_json,
            Some(vec![b' '; 70 * 1024]),
        ),
        ("/orders:batch", Some("ada"), app_json, json(&batch)),
        ("/orders:batch", Some("ada"), app_json, json(&bad_batch)),
    ];
    let mut exchanges = Vec::new();
    for (path, customer, content_type, body) in writes {
        exchanges.push(
            client
                .send("post", path, path, customer, content_type, body)
                .await,
        );
    }

    // An order that breaks a rule, as API Gateway would have put it on the stream.
    let mut rejected = serde_json::to_value(Envelope::order_placed(
        sample::order(&mut rng, Channel::Mobile)
            .into_placed("ada")
            .expect("valid"),
        "request-1".into(),
        time::OffsetDateTime::now_utc(),
    ))
    .expect("json");
    rejected["data"]["lines"][0]["unitPrice"]["currency"] = "XYZ".into();
    let rejected_id = rejected["subject"].as_str().expect("id").to_owned();
    pipeline
        .put_record("ada", serde_json::to_vec(&rejected).expect("json"))
        .await;
    let completed = pipeline
        .wait_status(
            &[order_id.parse().expect("uuid")],
            &["completed"],
            Duration::from_secs(60),
        )
        .await;
    assert!(completed.is_empty(), "{completed:?}");
    let rejected_stored = pipeline
        .wait_status(
            &[rejected_id.parse().expect("uuid")],
            &["rejected"],
            Duration::from_secs(30),
        )
        .await;
    assert!(rejected_stored.is_empty(), "{rejected_stored:?}");

    let get = "application/json";
    for (customer, url_path) in [
        (Some("ada"), format!("/orders/{order_id}")),
        (Some("ada"), format!("/orders/{rejected_id}")),
        (Some("bob"), format!("/orders/{order_id}")),
        (Some("ada"), "/orders/not-a-uuid".to_owned()),
        (None, format!("/orders/{order_id}")),
    ] {
        exchanges.push(
            client
                .send("get", "/orders/{orderId}", &url_path, customer, get, None)
                .await,
        );
    }
    for (customer, url_path) in [
        (Some("ada"), "/orders?limit=1"),
        (Some("ada"), "/orders"),
        (Some("ada"), "/orders?limit=101"),
        (Some("ada"), "/orders?nextToken=forged"),
        (None, "/orders"),
    ] {
        exchanges.push(
            client
                .send("get", "/orders", url_path, customer, get, None)
                .await,
        );
    }

    let statuses: Vec<(String, u16)> = exchanges
        .iter()
        .map(|e| (format!("{} {}", e.method, e.path), e.status))
        .collect();
    assert_eq!(
        statuses.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        [
            202, 400, 400, 401, 415, 413, 200, 400, 200, 200, 404, 400, 401, 200, 200, 400, 400,
            401
        ],
        "{statuses:?}"
    );
    assert_eq!(
        exchanges[8].body["status"], "completed",
        "{}",
        exchanges[8].body
    );
    assert_eq!(
        exchanges[9].body["status"], "rejected",
        "{}",
        exchanges[9].body
    );
    assert!(
        exchanges[13].body["nextToken"].is_string(),
        "{}",
        exchanges[13].body
    );
    for exchange in &exchanges {
        exchange.check(&doc);
    }

    // Every documented operation was exercised.
    for (path, methods) in doc.0["paths"].as_object().expect("paths") {
        for method in methods.as_object().expect("methods").keys() {
            assert!(
                exchanges
                    .iter()
                    .any(|e| e.path == path && e.method == method),
                "{method} {path} is documented but not exercised here"
            );
        }
    }
}

#[test]
fn the_documented_requests_are_the_schema_file_and_every_problem_is_documented() {
    let doc = Document::load();
    let place =
        &doc.operation("post", "/orders")["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(place["$ref"], "schema/order-request.schema.json");
    // The reference resolves to the file: every example gets the same verdict through the
    // document as from the file alone (as the gateway and the API Gateway model check it).
    let through_document = doc.validator(place);
    let file = jsonschema::draft4::new(&serde_json::from_str(ORDER_SCHEMA).expect("schema"))
        .expect("draft 4 schema");
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/examples");
    let mut refused = 0;
    for dir in ["valid", "invalid"] {
        for entry in std::fs::read_dir(examples.join(dir)).expect("examples") {
            let path = entry.expect("entry").path();
            if path.file_name().is_some_and(|n| n == "expected.json") {
                continue;
            }
            let example: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
            let verdict = file.is_valid(&example);
            assert_eq!(
                through_document.is_valid(&example),
                verdict,
                "{}",
                path.display()
            );
            assert!(verdict || dir == "invalid", "{}", path.display());
            refused += usize::from(!verdict);
        }
    }
    assert!(
        refused >= 10,
        "the schema refuses most invalid examples: {refused}"
    );
    let problems: Value = serde_json::from_str(PROBLEMS).expect("problems.json");
    let documented = &doc.0["components"]["schemas"]["Problem"]["properties"]["type"]["enum"];
    for problem in problems["problems"].as_object().expect("problems").values() {
        assert!(
            documented
                .as_array()
                .expect("enum")
                .contains(&problem["type"]),
            "{} is not in the document",
            problem["type"]
        );
    }
}
