//! `verify-stack`, the one-command check of a deployed stack, run against the local pipeline
//! with a local Cognito user pool (cognito-local): the same code, local endpoints. The gateway
//! accepts the pool's RS256 ID tokens as API Gateway's Cognito authorizer does.

use std::process::Output;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, MessageActionType};
use devstack::cognito::{LocalCognito, LocalPool};
use devstack::pipeline::{LocalPipeline, PipelineOptions};
use devstack::{KinesisEngine, workspace_binary};
use serde_json::{Value, json};

struct Setup {
    cognito: LocalCognito,
    pool: LocalPool,
    pipeline: LocalPipeline,
    dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let cognito = LocalCognito::start().await.expect("cognito-local starts");
    let pool = cognito.create_pool("orders").await.expect("a pool");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = PipelineOptions::sale(
        KinesisEngine::Ferrokinesis,
        true,
        dir.path().join("pipeline"),
    );
    options.cognito_issuer = Some(pool.issuer.clone());
    // Flush the archive within seconds, so that the archive check does not wait 15 minutes.
    options.archive.buffer_interval = Duration::from_secs(2);
    let pipeline = LocalPipeline::start(options).await.expect("the pipeline");
    Setup {
        cognito,
        pool,
        pipeline,
        dir,
    }
}

/// Runs `verify-stack --json` with the stack's outputs, as `pulumi stack output --json`
/// writes them, and the local endpoints in the environment.
async fn verify_stack(setup: &Setup, extra: &[&str]) -> (Output, Value) {
    let names = &setup.pipeline.stack.names;
    let outputs = json!({
        "apiUrl": setup.pipeline.gateway_url,
        "userPoolId": setup.pool.id,
        "verifierClientId": setup.pool.client_id,
        "streamName": names.stream,
        "deadLetterBucket": names.dead_letter_bucket,
        "archiveBucket": names.archive_bucket,
        "ordersTableName": names.orders_table,
    });
    let file = setup.dir.path().join("outputs.json");
    std::fs::write(&file, outputs.to_string()).expect("outputs written");
    let output = tokio::process::Command::new(workspace_binary("verify-stack"))
        .arg("--outputs")
        .arg(&file)
        .args(["--json", "--timeout", "60"])
        .args(extra)
        .envs(setup.pipeline.stack.env())
        .env(
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            &setup.cognito.endpoint,
        )
        .output()
        .await
        .expect("verify-stack runs (cargo build --workspace --bins first)");
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output, report)
}

async fn users(setup: &Setup) -> usize {
    setup
        .cognito
        .client()
        .list_users()
        .user_pool_id(&setup.pool.id)
        .send()
        .await
        .expect("ListUsers")
        .users()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_stack_passes_every_check_byte_for_byte_and_the_user_is_deleted() {
    let setup = setup().await;
    let (output, report) = verify_stack(&setup, &["--wait-archive", "60"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{report:#}");
    assert_eq!(report["ok"], true, "{report:#}");
    let checks = report["checks"].as_array().expect("checks");
    let named = |prefix: &str| {
        checks
            .iter()
            .filter(|c| c["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
            .count()
    };
    // Every vector a signed-in customer can send: 6 single orders and a batch of two.
    assert_eq!(named("POST "), 7, "{report:#}");
    assert_eq!(named("stream record of "), 8, "{report:#}");
    assert!(checks.iter().all(|c| c["ok"] == true), "{report:#}");
    for check in checks.iter().filter(|c| {
        c["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("stream record of "))
    }) {
        assert!(
            check["detail"]
                .as_str()
                .is_some_and(|d| d.ends_with("identical")),
            "{check}"
        );
    }
    assert_eq!(named("GET /orders/"), 7, "one per order id: {report:#}");
    assert_eq!(named("archived"), 1, "{report:#}");
    assert_eq!(report["userDeleted"], true);
    assert_eq!(users(&setup).await, 0, "the throwaway user is gone");
    // The customer of the orders is the user's sub, from the token, as on AWS.
    let customer = report["customerId"].as_str().expect("customer");
    assert!(uuid::Uuid::parse_str(customer).is_ok(), "{customer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_dead_letter_fails_the_check_and_the_user_is_still_deleted() {
    let setup = setup().await;
    // Written while verify-stack runs, so it is new to the run however long the process takes
    // to start (the check reads dead letters last, after the orders went through).
    let letter = async {
        setup
            .pipeline
            .stack
            .s3()
            .put_object()
            .bucket(&setup.pipeline.stack.names.dead_letter_bucket)
            .key("consumers/materialiser/2026/11/25/10/letter.json")
            .body(b"{}".to_vec().into())
            .send()
            .await
            .expect("a dead letter written");
    };
    let ((output, report), ()) = tokio::join!(verify_stack(&setup, &[]), letter);
    assert!(!output.status.success(), "{report:#}");
    assert_eq!(report["ok"], false);
    let dead_letters = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "no new dead letters")
        .expect("the dead-letter check");
    assert_eq!(dead_letters["ok"], false, "{dead_letters}");
    assert_eq!(report["userDeleted"], true);
    assert_eq!(users(&setup).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_takes_the_pools_id_tokens_only() {
    let setup = setup().await;
    let cognito = setup.cognito.client();
    let username = "shopper@example.invalid";
    let password = "Shopper-password-2026!";
    cognito
        .admin_create_user()
        .user_pool_id(&setup.pool.id)
        .username(username)
        .temporary_password(password)
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .expect("AdminCreateUser");
    cognito
        .admin_set_user_password()
        .user_pool_id(&setup.pool.id)
        .username(username)
        .password(password)
        .permanent(true)
        .send()
        .await
        .expect("AdminSetUserPassword");
    let auth = cognito
        .admin_initiate_auth()
        .user_pool_id(&setup.pool.id)
        .client_id(&setup.pool.client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .expect("AdminInitiateAuth");
    let tokens = auth.authentication_result().expect("tokens");
    let id_token = tokens.id_token().expect("an ID token");
    let access_token = tokens.access_token().expect("an access token");
    // The signature's last characters changed: the key no longer matches.
    let mut tampered = id_token.to_owned();
    let last = if tampered.ends_with('A') { "B" } else { "A" };
    tampered.replace_range(tampered.len() - 1.., last);

    let http = reqwest::Client::new();
    let order = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ingest/examples/valid/web-two-lines.json"
    ))
    .expect("an example order");
    let post = |token: String| {
        let http = http.clone();
        let order = order.clone();
        let url = format!("{}/orders", setup.pipeline.gateway_url);
        async move {
            http.post(url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(order)
                .send()
                .await
                .expect("an answer")
                .status()
                .as_u16()
        }
    };
    assert_eq!(post(access_token.to_owned()).await, 401, "an access token");
    assert_eq!(post(tampered).await, 401, "a tampered ID token");
    assert_eq!(post(id_token.to_owned()).await, 202, "the ID token");
}
