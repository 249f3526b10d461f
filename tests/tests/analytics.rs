//! The analyst side on the local stack: a burst through the whole pipeline is archived, the
//! `order-tables` job builds the Parquet tables from the archive, and every named query (run by
//! the `query` tool with DataFusion) gives the answer known from the burst.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use devstack::{sample, workspace_binary};
use ingest::envelope::Envelope;
use ingest::order::{Channel, OrderRequest};
use pipeline_tests::{TestPipeline, fast_stand_ins, small_buffer};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::process::Command;
use uuid::Uuid;

const ORDERS: usize = 24;

/// Runs an analytics tool against the stack; its standard output as JSON lines.
async fn run(pipeline: &TestPipeline, binary: &str, args: &[String]) -> Vec<Value> {
    let output = Command::new(workspace_binary(binary))
        .args(args)
        .envs(pipeline.stack.env())
        .output()
        .await
        .expect("run `cargo build --bins` first");
    assert!(
        output.status.success(),
        "{binary} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// The rows of a named query over the tables of yesterday and today (the burst is today's; a
/// run just after midnight UTC still finds it), without the summary line.
async fn query(pipeline: &TestPipeline, name: &str, params: &[&str]) -> Vec<Value> {
    let (yesterday, today) = dates();
    let mut args = vec![
        name.to_owned(),
        "--from-date".into(),
        yesterday,
        "--to-date".into(),
        today,
        "--json".into(),
    ];
    for param in params {
        args.extend(["--param".to_owned(), (*param).to_owned()]);
    }
    let mut lines = run(pipeline, "query", &args).await;
    let summary = lines.pop().expect("a summary line");
    assert_eq!(summary["rows"], lines.len(), "{summary}");
    assert!(
        summary["bytesScanned"].as_u64().expect("bytes") > 0,
        "{summary}"
    );
    lines
}

fn dates() -> (String, String) {
    let today = OffsetDateTime::now_utc().date();
    let yesterday = today.previous_day().expect("a day before");
    (yesterday.to_string(), today.to_string())
}

#[tokio::test]
async fn every_named_query_answers_what_the_burst_did() {
    let pipeline = TestPipeline::start().await;
    let archive = pipeline.start_archive(small_buffer());
    let stand_ins = fast_stand_ins(|config| {
        config.inventory.out_of_stock.insert("SOLD-OUT".into());
    })
    .await;
    let _materialiser = pipeline.start_materialiser();
    let _saga = pipeline.start_saga(&stand_ins.url);
    let mut rng = StdRng::seed_from_u64(93);

    // The burst: accepted orders from four customers, one of them for a SKU out of stock, and
    // one that breaks a rule JSON Schema cannot express (put as API Gateway would).
    let mut accepted: Vec<(String, OrderRequest)> = Vec::new();
    for i in 0..ORDERS {
        let channel = [Channel::Web, Channel::Mobile, Channel::Wholesale][i % 3];
        let mut order = sample::order(&mut rng, channel);
        if i == 5 {
            order.lines.truncate(1);
            order.lines[0].sku = "SOLD-OUT".into();
            order.total = None;
        }
        let customer = sample::customer_id(i % 4);
        let answer = pipeline.post_order(&customer, &order).await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        accepted.push((customer, order));
    }
    let sold_out = accepted[5].1.order_id;
    let broken = sample::order(&mut rng, Channel::Web)
        .into_placed("dora")
        .expect("valid");
    let broken_id = broken.order_id;
    let mut event = serde_json::to_value(Envelope::order_placed(
        broken,
        "request-broken".into(),
        OffsetDateTime::now_utc(),
    ))
    .expect("json");
    event["data"]["total"]["amount"] = 1.into();
    pipeline
        .put_record("dora", serde_json::to_vec(&event).expect("json"))
        .await;

    let ids: Vec<Uuid> = accepted.iter().map(|(_, o)| o.order_id).collect();
    let fine: Vec<Uuid> = ids.iter().copied().filter(|id| *id != sold_out).collect();
    let waiting = pipeline
        .wait_status(&fine, &["completed"], Duration::from_secs(60))
        .await;
    assert!(waiting.is_empty(), "not completed: {waiting:?}");
    let waiting = pipeline
        .wait_status(&[sold_out], &["rejected"], Duration::from_secs(30))
        .await;
    assert!(waiting.is_empty());
    tokio::time::sleep(Duration::from_millis(700)).await;
    archive.stop().await;

    let (yesterday, today) = dates();
    let days = [yesterday.as_str(), today.as_str()];
    let built = run(
        &pipeline,
        "order-tables",
        &[
            "--date".into(),
            yesterday.clone(),
            "--date".into(),
            today.clone(),
            "--json".into(),
        ],
    )
    .await;
    let events: u64 = built[0]
        .as_array()
        .expect("a list")
        .iter()
        .map(|day| day["orderEvents"].as_u64().expect("count"))
        .sum();
    // Placed: 24 + the broken one; then reserved, requested and accounted for 23, rejected for 1.
    assert_eq!(events, 25 + 3 * 23 + 1, "{built:?}");

    // Orders and revenue per hour: the accepted orders (not the broken one), by currency.
    let mut revenue: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for (_, order) in &accepted {
        let placed = order.clone().into_placed("x").expect("valid");
        let entry = revenue.entry(placed.total.currency.clone()).or_default();
        entry.0 += 1;
        entry.1 += placed.total.amount;
    }
    let mut found: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for row in query(&pipeline, "orders_per_hour", &days).await {
        let entry = found
            .entry(row["currency"].as_str().expect("currency").to_owned())
            .or_default();
        entry.0 += row["orders"].as_u64().expect("orders");
        entry.1 += row["revenue_minor"].as_i64().expect("revenue");
    }
    assert_eq!(found, revenue);

    // Top SKUs: each row's units are the burst's units of that SKU.
    let mut units: HashMap<(String, String), u64> = HashMap::new();
    for (_, order) in &accepted {
        for line in &order.lines {
            *units
                .entry((line.sku.clone(), line.unit_price.currency.clone()))
                .or_default() += u64::from(line.quantity);
        }
    }
    let top = query(&pipeline, "top_skus", &days).await;
    assert_eq!(top.len(), units.len().min(20));
    for row in &top {
        let key = (
            row["sku"].as_str().expect("sku").to_owned(),
            row["currency"].as_str().expect("currency").to_owned(),
        );
        assert_eq!(row["units"].as_u64(), units.get(&key).copied(), "{row}");
    }
    let most = units.values().max().copied();
    assert_eq!(top[0]["units"].as_u64(), most);

    // The funnel, step by step.
    let funnel: HashMap<String, u64> = query(&pipeline, "lifecycle_funnel", &days)
        .await
        .into_iter()
        .map(|row| {
            (
                row["event_type"].as_str().expect("type").to_owned(),
                row["orders"].as_u64().expect("orders"),
            )
        })
        .collect();
    let expected: HashMap<String, u64> = [
        ("order.placed", 25),
        ("order.inventory_reserved", 23),
        ("order.inventory_rejected", 1),
        ("order.fulfilment_requested", 23),
        ("order.accounted", 23),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(funnel, expected);

    // Time to each step: one row per later step, percentiles in order.
    let timing = query(
        &pipeline,
        "time_to_step",
        &[&yesterday, &today, &yesterday, &today],
    )
    .await;
    assert_eq!(timing.len(), 4, "{timing:?}");
    for row in &timing {
        let step = row["event_type"].as_str().expect("type");
        assert_eq!(row["orders"].as_u64(), expected.get(step).copied(), "{row}");
        let p = |name: &str| row[name].as_f64().expect("a number");
        assert!(0.0 <= p("p50_ms") && p("p50_ms") <= p("p95_ms") && p("p95_ms") <= p("p99_ms"));
    }

    // Rejections and failures: the broken order and the one out of stock, with why.
    let refused = query(&pipeline, "rejections_and_failures", &days).await;
    assert_eq!(refused.len(), 2, "{refused:?}");
    let reason = |event_type: &str| {
        refused
            .iter()
            .find(|r| r["event_type"] == event_type)
            .and_then(|r| r["reason"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        reason("order.placed").contains("/total/amount"),
        "{refused:?}"
    );
    assert!(
        reason("order.inventory_rejected").contains("out of stock"),
        "{refused:?}"
    );

    // One customer's history: every event of their orders, newest first.
    let customer = &accepted[5].0;
    let history = query(
        &pipeline,
        "customer_history",
        &[customer, &yesterday, &today],
    )
    .await;
    let theirs = accepted.iter().filter(|(c, _)| c == customer).count();
    // Each of their orders: placed and three steps, but the sold-out one: placed and rejected.
    assert_eq!(history.len(), theirs * 4 - 2, "{history:?}");
    assert!(
        history
            .iter()
            .all(|r| r["order_id"] != broken_id.to_string())
    );
    assert!(
        history
            .windows(2)
            .all(|w| w[0]["event_time"].as_str() >= w[1]["event_time"].as_str())
    );
}
