//! The saga end to end on the local stack: orders through the gateway, the materialiser and the
//! three stages on the standalone host, the downstream stand-ins with their effect ledger.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use devstack::downstream::{Kind, Latency, Ledger, StandInConfig, StandIns};
use devstack::{sample, workspace_binary};
use ingest::order::{Channel, OrderRequest};
use pipeline_tests::{TestPipeline, fast_stand_ins};
use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// The environment of the three stage processes, each pointed at its stand-in.
fn stage_env(pipeline: &TestPipeline, stand_ins: &StandIns) -> Vec<(String, String)> {
    let mut env = pipeline.stack.env();
    for (var, service) in [
        ("INVENTORY_URL", "inventory"),
        ("FULFILMENT_URL", "fulfilment"),
        ("ACCOUNTING_URL", "accounting"),
    ] {
        env.push((var.into(), format!("{}/{service}", stand_ins.url)));
    }
    env
}

/// Starts the three stages as `consumer` processes with `env`; they stop when dropped.
fn spawn_stages(env: &[(String, String)]) -> Vec<(tokio::process::Child, Arc<Mutex<Vec<String>>>)> {
    ["inventory", "fulfilment", "accounting"]
        .into_iter()
        .map(|stage| {
            pipeline_tests::spawn_with_logs(&workspace_binary("consumer"), &[stage], env.to_vec())
        })
        .collect()
}

/// Posts `count` orders (from `seed`) and waits until every one is completed.
async fn post_until_completed(pipeline: &TestPipeline, seed: u64, count: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let orders = post_orders(pipeline, &mut rng, count).await;
    let waiting = pipeline
        .wait_status(&orders, &["completed"], Duration::from_secs(120))
        .await;
    assert!(waiting.is_empty(), "not completed: {waiting:?}");
}

/// Posts `count` orders from a few customers through the gateway; their ids.
async fn post_orders(pipeline: &TestPipeline, rng: &mut StdRng, count: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 0..count {
        let order = sample::order(rng, Channel::Web);
        let answer = pipeline
            .post_order(&sample::customer_id(i % 5), &order)
            .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        ids.push(order.order_id);
    }
    ids
}

/// An order of one line of `sku`.
async fn post_sku(pipeline: &TestPipeline, rng: &mut StdRng, sku: &str) -> Uuid {
    let mut order: OrderRequest = sample::order(rng, Channel::Web);
    order.lines.truncate(1);
    order.lines[0].sku = sku.to_owned();
    let answer = pipeline.post_order("customer-sku", &order).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    order.order_id
}

/// Replaces the stand-ins' config while they run.
async fn set_stand_ins(stand_ins: &StandIns, config: &StandInConfig) {
    let set = reqwest::Client::new()
        .put(format!("{}/_control", stand_ins.url))
        .json(config)
        .send()
        .await
        .expect("control");
    assert_eq!(set.status(), 200);
}

/// Each order's status against what the services decided for it, from the stand-ins' ledger:
/// completed = one reservation, shipment and sale; rejected = nothing; released = one
/// reservation and one release, nothing shipped or booked; failed = nothing held (every
/// reservation released). Returns every order that breaks this, with what it has.
async fn inconsistent(
    pipeline: &TestPipeline,
    ledger: &Ledger,
    orders: &[Uuid],
) -> Vec<(Uuid, Option<String>, [usize; 4])> {
    let mut wrong = Vec::new();
    for &order in orders {
        let count = |kind: Kind| {
            ledger
                .effects
                .iter()
                .filter(|e| e.kind == kind && e.order_id == order)
                .count()
        };
        let effects = [
            count(Kind::Reservation),
            count(Kind::Release),
            count(Kind::Shipment),
            count(Kind::Sale),
        ];
        let status = pipeline.order_status(order).await;
        let consistent = match status.as_deref() {
            Some("completed") => effects == [1, 0, 1, 1],
            Some("rejected") => effects == [0, 0, 0, 0],
            Some("released") => effects == [1, 1, 0, 0],
            Some("failed") => effects[0] == effects[1] && effects[2] == 0 && effects[3] == 0,
            _ => false,
        };
        if !consistent {
            wrong.push((order, status, effects));
        }
    }
    wrong
}

fn effects(stand_ins: &StandIns, kind: Kind, order_id: Uuid) -> usize {
    stand_ins
        .ledger()
        .effects
        .iter()
        .filter(|e| e.kind == kind && e.order_id == order_id)
        .count()
}

#[tokio::test]
async fn every_order_completes_with_one_effect_per_stage_and_a_replayed_window_adds_none() {
    let pipeline = TestPipeline::start().await;
    let stand_ins = fast_stand_ins(|_| {}).await;
    let _materialiser = pipeline.start_materialiser();
    let _saga = pipeline.start_saga(&stand_ins.url);
    let mut rng = StdRng::seed_from_u64(51);
    let orders = post_orders(&pipeline, &mut rng, 20).await;
    let waiting = pipeline
        .wait_status(&orders, &["completed"], Duration::from_secs(120))
        .await;
    assert!(waiting.is_empty(), "not completed: {waiting:?}");
    let ledger = stand_ins.ledger();
    for kind in [Kind::Reservation, Kind::Shipment, Kind::Sale] {
        assert_eq!(ledger.count(kind), 20, "{kind:?}");
    }
    assert_eq!(ledger.count(Kind::Release), 0);
    assert!(ledger.duplicates.is_empty(), "{:?}", ledger.duplicates);

    // The whole window replayed with the replay tool: onto the stream (every consumer sees each
    // record again), then straight into the inventory stage's handler.
    let window = [
        "--from",
        "2000-01-01T00:00:00Z",
        "--to",
        &OffsetDateTime::now_utc().format(&Rfc3339).expect("formats"),
    ];
    for into in ["stream", "inventory"] {
        let output = tokio::process::Command::new(workspace_binary("replay"))
            .args(window)
            .args(["--into", into])
            .envs(pipeline.stack.env())
            .env("INVENTORY_URL", format!("{}/inventory", stand_ins.url))
            .output()
            .await
            .expect("run `cargo build --bins` first");
        assert!(
            output.status.success(),
            "replay --into {into}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // A new order behind the replay, per customer key, shows the replay has been handled.
    let later = post_orders(&pipeline, &mut rng, 5).await;
    let waiting = pipeline
        .wait_status(&later, &["completed"], Duration::from_secs(120))
        .await;
    assert!(waiting.is_empty(), "not completed: {waiting:?}");
    let ledger = stand_ins.ledger();
    for kind in [Kind::Reservation, Kind::Shipment, Kind::Sale] {
        assert_eq!(ledger.count(kind), 25, "{kind:?}: the replay added effects");
    }
    assert!(ledger.duplicates.is_empty(), "{:?}", ledger.duplicates);
    for id in &orders {
        assert_eq!(
            pipeline.order_status(*id).await.as_deref(),
            Some("completed")
        );
    }
}

#[tokio::test]
async fn out_of_stock_is_rejected_and_nothing_is_shipped_or_booked() {
    let pipeline = TestPipeline::start().await;
    let stand_ins = fast_stand_ins(|config| {
        config.inventory.out_of_stock.insert("SOLD-OUT".into());
    })
    .await;
    let _materialiser = pipeline.start_materialiser();
    let _saga = pipeline.start_saga(&stand_ins.url);
    let mut rng = StdRng::seed_from_u64(52);
    let sold_out = post_sku(&pipeline, &mut rng, "SOLD-OUT").await;
    let fine = post_sku(&pipeline, &mut rng, "MUG-01").await;
    let waiting = pipeline
        .wait_status(&[sold_out], &["rejected"], Duration::from_secs(90))
        .await;
    assert!(waiting.is_empty(), "{waiting:?}");
    let waiting = pipeline
        .wait_status(&[fine], &["completed"], Duration::from_secs(90))
        .await;
    assert!(waiting.is_empty(), "{waiting:?}");
    for kind in [Kind::Reservation, Kind::Shipment, Kind::Sale] {
        assert_eq!(effects(&stand_ins, kind, sold_out), 0, "{kind:?}");
    }
    assert!(
        pipeline.dead_letters().await.is_empty(),
        "a rejection is not a failure"
    );
}

#[tokio::test]
async fn fulfilment_failing_for_good_releases_the_reservation_once() {
    let pipeline = TestPipeline::start().await;
    let stand_ins = fast_stand_ins(|config| {
        config.fulfilment.unshippable.insert("OVERSIZE".into());
    })
    .await;
    let _materialiser = pipeline.start_materialiser();
    let _saga = pipeline.start_saga(&stand_ins.url);
    let mut rng = StdRng::seed_from_u64(53);
    let oversize = post_sku(&pipeline, &mut rng, "OVERSIZE").await;
    let waiting = pipeline
        .wait_status(&[oversize], &["released"], Duration::from_secs(90))
        .await;
    assert!(waiting.is_empty(), "{waiting:?}");
    assert_eq!(effects(&stand_ins, Kind::Reservation, oversize), 1);
    assert_eq!(effects(&stand_ins, Kind::Release, oversize), 1);
    assert_eq!(effects(&stand_ins, Kind::Shipment, oversize), 0);
    assert_eq!(effects(&stand_ins, Kind::Sale, oversize), 0);
    // The fulfilment stage's permanent failure is kept as a dead letter for an operator.
    assert_eq!(pipeline.dead_letters().await.len(), 1);

    // Redriving it, even once the service would ship, ships nothing: the reservation was
    // given back, and the stage's failure is final for this order.
    let cleared = reqwest::Client::new()
        .put(format!("{}/_control", stand_ins.url))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("control");
    assert_eq!(cleared.status(), 200);
    pipeline
        .redrive(&["send", "--consumer", "orders-fulfilment"])
        .await;
    let marker = post_sku(&pipeline, &mut rng, "MUG-01").await;
    let waiting = pipeline
        .wait_status(&[marker], &["completed"], Duration::from_secs(90))
        .await;
    assert!(waiting.is_empty(), "{waiting:?}");
    assert_eq!(effects(&stand_ins, Kind::Shipment, oversize), 0);
    assert_eq!(effects(&stand_ins, Kind::Release, oversize), 1);
    assert_eq!(
        pipeline.order_status(oversize).await.as_deref(),
        Some("released")
    );
    // The stage answered the redriven event from its own record of the failure, without
    // calling the service again (which would fail it, or ship it, anew).
    assert_eq!(pipeline.dead_letters().await.len(), 1);
}

#[tokio::test]
async fn a_30_second_fulfilment_outage_mid_burst_completes_every_order_once() {
    let pipeline = TestPipeline::start().await;
    let stand_ins = fast_stand_ins(|_| {}).await;
    let _materialiser = pipeline.start_materialiser();
    // Enough attempts to outlast the outage with the tests' short retry budget.
    let _saga = pipeline.start_saga_with(&stand_ins.url, 100);
    let mut rng = StdRng::seed_from_u64(55);
    let mut orders = post_orders(&pipeline, &mut rng, 10).await;
    let outage = reqwest::Client::new()
        .post(format!("{}/_control/fulfilment/outage", stand_ins.url))
        .json(&serde_json::json!({ "seconds": 30 }))
        .send()
        .await
        .expect("outage");
    assert_eq!(outage.status(), 200);
    orders.extend(post_orders(&pipeline, &mut rng, 10).await);
    let waiting = pipeline
        .wait_status(&orders, &["completed"], Duration::from_secs(120))
        .await;
    assert!(waiting.is_empty(), "not completed: {waiting:?}");
    let ledger = stand_ins.ledger();
    for kind in [Kind::Reservation, Kind::Shipment, Kind::Sale] {
        assert_eq!(ledger.count(kind), 20, "{kind:?}");
    }
    assert!(ledger.duplicates.is_empty(), "{:?}", ledger.duplicates);
    assert!(pipeline.dead_letters().await.is_empty());
}

#[tokio::test]
async fn an_inventory_consumer_killed_after_reserving_completes_the_order_with_one_reservation() {
    let pipeline = TestPipeline::start().await;
    // The reservation is made at once; its answer takes 30 s to come back: the crash window,
    // long enough for the kill below on any machine.
    let stand_ins = fast_stand_ins(|config| {
        config.inventory.answer_delay_ms = Some(Latency {
            min: 30_000,
            max: 30_000,
        });
    })
    .await;
    let _materialiser = pipeline.start_materialiser();
    let mut env = pipeline.stack.env();
    env.push((
        "INVENTORY_URL".into(),
        format!("{}/inventory", stand_ins.url),
    ));
    env.push(("DOWNSTREAM_TIMEOUT_MS".into(), "40000".into()));
    env.push(("DOWNSTREAM_BUDGET_MS".into(), "1000".into()));
    let start_inventory = || {
        pipeline_tests::spawn_with_logs(&workspace_binary("consumer"), &["inventory"], env.clone())
    };
    let (mut inventory, _) = start_inventory();
    // Fulfilment and accounting in this process, inventory as its own process.
    let saga = pipeline.start_saga(&stand_ins.url);
    let _ = saga[0].send(true);

    let mut rng = StdRng::seed_from_u64(54);
    let order = post_sku(&pipeline, &mut rng, "MUG-01").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while effects(&stand_ins, Kind::Reservation, order) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never reserved");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL after the reservation call, before the consumer learns its result and records it.
    inventory.start_kill().expect("SIGKILL");
    let _ = inventory.wait().await;
    // Answers come back at once from now on: the restarted consumer's call gets the stored one.
    set_stand_ins(&stand_ins, &StandInConfig::default()).await;
    // The materialiser runs independently and may store the order after the reservation was
    // made; once stored, it must still be only placed: nothing recorded the reservation.
    let unstored = pipeline
        .wait_status(&[order], &["placed"], Duration::from_secs(10))
        .await;
    assert!(unstored.is_empty(), "not stored as placed: {unstored:?}");

    let (_inventory, _) = start_inventory();
    let waiting = pipeline
        .wait_status(&[order], &["completed"], Duration::from_secs(120))
        .await;
    assert!(waiting.is_empty(), "{waiting:?}");
    for kind in [Kind::Reservation, Kind::Shipment, Kind::Sale] {
        assert_eq!(effects(&stand_ins, kind, order), 1, "{kind:?}");
    }
    assert!(stand_ins.ledger().duplicates.is_empty());
}

/// Credentials the local stack gives every process (`LocalStack::env`).
const LOCAL_KEY: (&str, &str) = ("local", "local");

#[tokio::test]
async fn calls_carry_the_signature_or_key_the_services_require_and_nothing_else_passes() {
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;
    use devstack::downstream::RequiredAuth;
    use processors::saga::auth::DownstreamAuth;
    use processors::saga::client::{CallError, ServiceClient};

    let sigv4 = |secret: &str| {
        DownstreamAuth::sigv4(
            SharedCredentialsProvider::new(Credentials::new(
                LOCAL_KEY.0,
                secret,
                None,
                None,
                "test",
            )),
            "us-east-1".into(),
        )
    };
    let cases = [
        (
            RequiredAuth::Iam {
                access_key_id: LOCAL_KEY.0.into(),
                secret_access_key: LOCAL_KEY.1.into(),
            },
            vec![
                (sigv4(LOCAL_KEY.1), None),
                (sigv4("not-the-secret"), Some(403)),
                (DownstreamAuth::ApiKey("k".into()), Some(401)),
                (DownstreamAuth::None, Some(401)),
            ],
        ),
        (
            RequiredAuth::ApiKey { key: "k-1".into() },
            vec![
                (DownstreamAuth::ApiKey("k-1".into()), None),
                (DownstreamAuth::ApiKey("k-2".into()), Some(403)),
                (DownstreamAuth::None, Some(401)),
            ],
        ),
    ];
    for (required, attempts) in cases {
        let stand_ins = fast_stand_ins(|config| config.auth = required.clone()).await;
        for (index, (auth, refused)) in attempts.into_iter().enumerate() {
            let what = format!("{required:?} with {auth:?}");
            let client = ServiceClient::new(
                "accounting",
                format!("{}/accounting", stand_ins.url),
                Duration::from_secs(2),
                Duration::from_secs(1),
            )
            .expect("client")
            .with_auth(auth);
            let order_id = Uuid::from_u128(index as u128 + 1);
            let body = serde_json::json!({
                "orderId": order_id,
                "customerId": "c-1",
                "total": { "amount": 100, "currency": "EUR" },
            });
            let result = client
                .post("/sales", &format!("{order_id}:book"), &body)
                .await;
            match (refused, result) {
                (None, Ok(reply)) => assert_eq!(reply.status, 201, "{what}"),
                (Some(expected), Err(CallError::Permanent { status, .. })) => {
                    assert_eq!(status, expected, "{what}")
                }
                (expected, result) => panic!("{what}: expected {expected:?}, got {result:?}"),
            }
        }
        // Only the authenticated call had an effect.
        assert_eq!(stand_ins.ledger().count(Kind::Sale), 1, "{required:?}");
    }
}

#[tokio::test]
async fn with_iam_authorisation_the_stage_processes_sign_every_call_and_orders_complete() {
    let pipeline = TestPipeline::start().await;
    let stand_ins = fast_stand_ins(|config| {
        config.auth = devstack::downstream::RequiredAuth::Iam {
            access_key_id: LOCAL_KEY.0.into(),
            secret_access_key: LOCAL_KEY.1.into(),
        }
    })
    .await;
    let _materialiser = pipeline.start_materialiser();
    let mut env = stage_env(&pipeline, &stand_ins);
    env.push(("DOWNSTREAM_AUTH".into(), "iam".into()));
    let _stages = spawn_stages(&env);
    post_until_completed(&pipeline, 57, 5).await;
    let ledger = stand_ins.ledger();
    for kind in [Kind::Reservation, Kind::Shipment, Kind::Sale] {
        assert_eq!(ledger.count(kind), 5, "{kind:?}");
    }
}

#[tokio::test]
async fn with_an_api_key_in_parameter_store_the_stage_processes_read_it_at_start_and_orders_complete()
 {
    let pipeline = TestPipeline::start().await;
    let store = devstack::parameter_store::ParameterStore::start()
        .await
        .expect("parameter store (scripts/install-engines installs it)");
    let key = format!("key-{}", Uuid::new_v4());
    let ssm = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(&pipeline.stack.sdk_config())
            .endpoint_url(&store.endpoint)
            .build(),
    );
    ssm.put_parameter()
        .name("/orders/downstream-api-key")
        .value(&key)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("PutParameter");
    let stand_ins = fast_stand_ins(|config| {
        config.auth = devstack::downstream::RequiredAuth::ApiKey { key: key.clone() }
    })
    .await;
    let _materialiser = pipeline.start_materialiser();
    let mut env = stage_env(&pipeline, &stand_ins);
    env.push(store.env());
    env.push(("DOWNSTREAM_AUTH".into(), "api-key".into()));
    env.push((
        "DOWNSTREAM_API_KEY_PARAMETER".into(),
        "/orders/downstream-api-key".into(),
    ));
    let _stages = spawn_stages(&env);
    post_until_completed(&pipeline, 58, 5).await;
    assert_eq!(stand_ins.ledger().count(Kind::Sale), 5);

    // A parameter that does not exist stops the stage at start, naming it.
    env.retain(|(name, _)| name != "DOWNSTREAM_API_KEY_PARAMETER");
    env.push((
        "DOWNSTREAM_API_KEY_PARAMETER".into(),
        "/orders/missing".into(),
    ));
    let output = tokio::process::Command::new(workspace_binary("consumer"))
        .arg("accounting")
        .envs(env)
        .output()
        .await
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/orders/missing"), "{stderr}");
}

/// Services that behave like real ones (slow answers past the client's timeout, so that its
/// retry meets 409 in progress; answers lost after the effect; 503s), with the stages as their
/// own processes: every order ends terminal and consistent with what the services decided.
#[tokio::test(flavor = "multi_thread")]
async fn with_realistic_services_every_order_ends_consistent_with_what_they_decided() {
    let pipeline = TestPipeline::start().await;
    let mut config = StandInConfig::realistic(23);
    config.inventory.out_of_stock.insert("SOLD-OUT".into());
    let stand_ins = devstack::downstream::serve(config)
        .await
        .expect("stand-ins");
    let _materialiser = pipeline.start_materialiser();
    let _stages = spawn_stages(&stage_env(&pipeline, &stand_ins));
    let mut rng = StdRng::seed_from_u64(56);
    let mut orders = post_orders(&pipeline, &mut rng, 60).await;
    for _ in 0..5 {
        orders.push(post_sku(&pipeline, &mut rng, "SOLD-OUT").await);
    }
    let waiting = pipeline
        .wait_status(
            &orders,
            &["completed", "rejected"],
            Duration::from_secs(300),
        )
        .await;
    assert!(waiting.is_empty(), "not through the saga: {waiting:?}");
    let ledger = stand_ins.ledger();
    let wrong = inconsistent(&pipeline, &ledger, &orders).await;
    assert!(wrong.is_empty(), "inconsistent: {wrong:?}");
    assert!(ledger.duplicates.is_empty(), "{:?}", ledger.duplicates);
    // The faults happened: more requests than effects (retries after lost answers, 409s, 503s).
    let effects = ledger.effects.len();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for order in &orders {
        let status = pipeline.order_status(*order).await.unwrap_or_default();
        *statuses.entry(status).or_default() += 1;
    }
    eprintln!(
        "{} orders {statuses:?}; {} requests to the services for {effects} effects",
        orders.len(),
        ledger.requests
    );
    assert!(
        ledger.requests > effects,
        "{} requests for {effects} effects",
        ledger.requests
    );
    assert!(pipeline.dead_letters().await.is_empty());
}

/// The old service's crash, twice in a row for the same order: the stage is SIGKILLed after
/// its service performed the effect and before the stage learns the answer, restarted, and
/// SIGKILLed again while its second call (the same key) is on its way back. The order still
/// completes with one effect of each kind, for inventory and for fulfilment.
#[tokio::test(flavor = "multi_thread")]
async fn a_stage_killed_twice_in_a_row_between_the_effect_and_its_record_repeats_nothing() {
    for stage in ["inventory", "fulfilment"] {
        let pipeline = TestPipeline::start().await;
        // Every answer of this stage's service takes 30 s to come back: the crash window,
        // long enough for the kills below on any machine.
        let slow_answers = |config: &mut StandInConfig| {
            let delay = Some(Latency {
                min: 30_000,
                max: 30_000,
            });
            match stage {
                "inventory" => config.inventory.answer_delay_ms = delay,
                _ => config.fulfilment.answer_delay_ms = delay,
            }
        };
        let mut config = StandInConfig::default();
        slow_answers(&mut config);
        let stand_ins = devstack::downstream::serve(config.clone())
            .await
            .expect("stand-ins");
        let _materialiser = pipeline.start_materialiser();
        let mut env = stage_env(&pipeline, &stand_ins);
        env.push(("DOWNSTREAM_TIMEOUT_MS".into(), "40000".into()));
        let others: Vec<_> = ["inventory", "fulfilment", "accounting"]
            .into_iter()
            .filter(|other| *other != stage)
            .map(|other| {
                pipeline_tests::spawn_with_logs(
                    &workspace_binary("consumer"),
                    &[other],
                    env.clone(),
                )
            })
            .collect();
        let start = || {
            pipeline_tests::spawn_with_logs(&workspace_binary("consumer"), &[stage], env.clone()).0
        };
        let kind = match stage {
            "inventory" => Kind::Reservation,
            _ => Kind::Shipment,
        };
        let mut rng = StdRng::seed_from_u64(57);
        let order = post_sku(&pipeline, &mut rng, "MUG-01").await;

        let mut process = start();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while effects(&stand_ins, kind, order) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{stage}: never called"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // First kill: the effect is done, its answer on the way back.
        process.start_kill().expect("SIGKILL");
        let _ = process.wait().await;
        let requests = stand_ins.ledger().requests;
        let mut process = start();
        while stand_ins.ledger().requests == requests {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{stage}: never called again"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Second kill: the same key asked again, the stored answer on its way back.
        process.start_kill().expect("SIGKILL");
        let _ = process.wait().await;
        set_stand_ins(&stand_ins, &StandInConfig::default()).await;
        let _process = start();
        let waiting = pipeline
            .wait_status(&[order], &["completed"], Duration::from_secs(120))
            .await;
        assert!(waiting.is_empty(), "{stage}: {waiting:?}");
        let wrong = inconsistent(&pipeline, &stand_ins.ledger(), &[order]).await;
        assert!(wrong.is_empty(), "{stage}: {wrong:?}");
        assert!(pipeline.dead_letters().await.is_empty(), "{stage}");
        drop(others);
    }
}
