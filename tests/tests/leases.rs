//! Leases shared by several standalone workers of one consumer (processors::lease,
//! processors::host::efo), on the local stack through the real SDK clients: the lease table's
//! conditional writes, two `consumer` processes splitting the shards, failover after SIGKILL,
//! release on SIGTERM, and a reshard up and down under two workers that keeps each customer's
//! order.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use devstack::workspace_binary;
use ingest::config::consumers;
use pipeline_tests::{TestPipeline, spawn_with_logs};
use processors::batch::{BatchConfig, Handled, RecordError, RecordHandler};
use processors::lease::{LeaseError, LeaseTable};
use processors::record::StreamRecord;
use tokio::process::Child;
use tokio::time::Instant;
use uuid::Uuid;

/// Short, where a test waits for leases to expire.
const LEASE: Duration = Duration::from_millis(3000);
/// Long, where a test shows that something happens without waiting for an expiry: anything
/// under it cannot have come from one, however slow the machine.
const LONG_LEASE: Duration = Duration::from_secs(30);

fn table(pipeline: &TestPipeline, worker: &str, lease: Duration) -> LeaseTable {
    LeaseTable::new(
        pipeline.stack.dynamodb(),
        &pipeline.stack.names.leases_table,
        consumers::MATERIALISER,
        worker,
        lease,
    )
}

/// Who holds each open shard's lease now (expired leases count for nobody).
async fn owners(pipeline: &TestPipeline) -> HashMap<String, Option<String>> {
    let now = processors::lease::now_ms();
    pipeline
        .leases(consumers::MATERIALISER)
        .list()
        .await
        .expect("the lease table")
        .into_iter()
        .filter(|l| !l.checkpoint.shard_ended)
        .map(|l| {
            let owner = l.live_owner(now).map(str::to_owned);
            (l.shard_id, owner)
        })
        .collect()
}

fn count(owners: &HashMap<String, Option<String>>, worker: &str) -> usize {
    owners
        .values()
        .filter(|o| o.as_deref() == Some(worker))
        .count()
}

/// Waits until `check` holds of the owners; how long that took.
async fn wait_owners(
    pipeline: &TestPipeline,
    timeout: Duration,
    what: &str,
    check: impl Fn(&HashMap<String, Option<String>>) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let now = owners(pipeline).await;
        if check(&now) {
            return start.elapsed();
        }
        assert!(start.elapsed() < timeout, "{what}: owners now {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn spawn_worker(pipeline: &TestPipeline, worker: &str, lease: Duration) -> Child {
    let mut env = pipeline.stack.env();
    env.push(("CONSUMER_WORKER_ID".into(), worker.into()));
    env.push(("CONSUMER_LEASE_MS".into(), lease.as_millis().to_string()));
    spawn_with_logs(&workspace_binary("consumer"), &["materialiser"], env).0
}

async fn post_orders(pipeline: &TestPipeline, seed: u64, count: usize) -> Vec<Uuid> {
    let orders = pipeline.burst(seed, count, 80).await;
    orders.iter().map(|(_, order)| order.order_id).collect()
}

#[tokio::test]
async fn a_worker_whose_lease_was_taken_can_neither_renew_nor_checkpoint() {
    let pipeline = TestPipeline::start().await;
    let short = Duration::from_millis(300);
    let first = table(&pipeline, "first", short);
    let second = table(&pipeline, "second", short);
    first
        .ensure("shard-a", &["parent".to_owned()])
        .await
        .expect("created");
    // Creating it again leaves it as it is.
    first.ensure("shard-a", &[]).await.expect("already there");
    let seen = first.load("shard-a").await.expect("read").expect("exists");
    assert_eq!(seen.parents, vec!["parent".to_owned()]);
    assert_eq!(seen.owner, None);

    let (mut held_first, _) = first.take(&seen).await.expect("take").expect("free");
    // What second saw is stale now: the counter moved.
    assert!(second.take(&seen).await.expect("take").is_none());
    let checkpoint = processors::lease::Checkpoint {
        sequence_number: Some("100".into()),
        shard_ended: false,
    };
    first
        .checkpoint(&mut held_first, &checkpoint)
        .await
        .expect("the holder checkpoints");

    // first stops renewing (paused, or cut off); once expired, second takes it.
    tokio::time::sleep(short + Duration::from_millis(100)).await;
    let expired = second.load("shard-a").await.expect("read").expect("exists");
    assert!(expired.live_owner(processors::lease::now_ms()).is_none());
    let (mut held_second, lease) = second.take(&expired).await.expect("take").expect("expired");
    assert_eq!(lease.checkpoint.sequence_number.as_deref(), Some("100"));

    // first comes back: it can write nothing more.
    let later = processors::lease::Checkpoint {
        sequence_number: Some("200".into()),
        shard_ended: false,
    };
    assert!(matches!(
        first.checkpoint(&mut held_first, &later).await,
        Err(LeaseError::Lost(_))
    ));
    assert!(matches!(
        first.renew(&mut held_first).await,
        Err(LeaseError::Lost(_))
    ));
    assert!(matches!(
        first.release(&mut held_first).await,
        Err(LeaseError::Lost(_))
    ));
    let now = second.load("shard-a").await.expect("read").expect("exists");
    assert_eq!(now.owner.as_deref(), Some("second"));
    assert_eq!(now.checkpoint.sequence_number.as_deref(), Some("100"));

    // first asks for it; second's next renewal says so; second releases; first takes it at
    // once, without waiting for an expiry.
    assert!(first.ask_handoff(&now).await.expect("asked"));
    assert!(
        !first.ask_handoff(&now).await.expect("once"),
        "asked once only"
    );
    assert_eq!(
        second.renew(&mut held_second).await.expect("renewed"),
        Some("first".to_owned())
    );
    second.release(&mut held_second).await.expect("released");
    let free = first.load("shard-a").await.expect("read").expect("exists");
    assert_eq!(free.owner, None);
    assert_eq!(free.handoff_to, None);
    assert!(first.take(&free).await.expect("take").is_some());
}

#[tokio::test]
async fn two_workers_split_four_shards_and_the_survivor_of_a_sigkill_takes_all_once_they_expire() {
    let pipeline = TestPipeline::start().await;
    let mut one = spawn_worker(&pipeline, "one", LEASE);
    let _two = spawn_worker(&pipeline, "two", LEASE);
    wait_owners(&pipeline, Duration::from_secs(30), "2 and 2", |o| {
        o.len() == 4 && count(o, "one") == 2 && count(o, "two") == 2
    })
    .await;

    let before = post_orders(&pipeline, 1, 200).await;
    one.start_kill().expect("SIGKILL");
    one.wait().await.expect("killed");
    // The dead worker's leases as it left them: nothing may take one before it expires.
    let last_expiry = pipeline
        .leases(consumers::MATERIALISER)
        .list()
        .await
        .expect("leases")
        .iter()
        .filter(|l| l.owner.as_deref() == Some("one"))
        .map(|l| l.expires_at_ms)
        .max()
        .expect("one held leases");
    let failover = wait_owners(&pipeline, Duration::from_secs(90), "two holds all 4", |o| {
        o.len() == 4 && count(o, "two") == 4
    })
    .await;
    assert!(
        processors::lease::now_ms() >= last_expiry,
        "a lease was taken from the dead worker before it expired"
    );
    let after = post_orders(&pipeline, 2, 200).await;
    let orders: Vec<Uuid> = before.into_iter().chain(after).collect();
    let missing = pipeline
        .wait_materialised(&orders, Duration::from_secs(60))
        .await;
    assert!(missing.is_empty(), "{} orders missing", missing.len());
    assert_eq!(pipeline.order_count().await, orders.len());
    // How long it took is measured, not asserted (docs/performance.md).
    eprintln!("failover after SIGKILL: {failover:?} with a {LEASE:?} lease");
}

#[tokio::test]
async fn sigterm_releases_every_lease_at_once() {
    let pipeline = TestPipeline::start().await;
    let _one = spawn_worker(&pipeline, "one", LONG_LEASE);
    let mut two = spawn_worker(&pipeline, "two", LONG_LEASE);
    wait_owners(&pipeline, Duration::from_secs(90), "2 and 2", |o| {
        o.len() == 4 && count(o, "one") == 2 && count(o, "two") == 2
    })
    .await;
    let orders = post_orders(&pipeline, 3, 100).await;
    let pid = two.id().expect("running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exited = tokio::time::timeout(Duration::from_secs(60), two.wait())
        .await
        .expect("stops within its batch")
        .expect("exit status");
    assert!(exited.success(), "{exited:?}");
    // Released as it stopped: no lease names it, expired or not.
    let leases = pipeline
        .leases(consumers::MATERIALISER)
        .list()
        .await
        .expect("leases");
    assert!(
        leases.iter().all(|l| l.owner.as_deref() != Some("two")),
        "{leases:?}"
    );
    let taken = wait_owners(&pipeline, Duration::from_secs(90), "one holds all 4", |o| {
        o.len() == 4 && count(o, "one") == 4
    })
    .await;
    // At one's next look, not after an expiry.
    assert!(
        taken < LONG_LEASE,
        "took {taken:?}: released leases are taken without waiting for them to expire"
    );
    let missing = pipeline
        .wait_materialised(&orders, Duration::from_secs(60))
        .await;
    assert!(missing.is_empty(), "{} orders missing", missing.len());
}

/// Records, per customer, the order ids in the order the handler first saw them. Takes 10 ms a
/// record, so that the shards have a backlog when the stream is resharded: a child read before
/// its parents were read to their end would then show up as a customer's orders out of order.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl RecordHandler for Recorder {
    async fn handle(&self, record: &StreamRecord) -> Result<Handled, RecordError> {
        let envelope: serde_json::Value =
            serde_json::from_slice(&record.data).map_err(|e| RecordError::Poison(e.to_string()))?;
        let order = envelope["subject"].as_str().unwrap_or_default().to_owned();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let mut seen = self.seen.lock().expect("lock");
        let orders = seen.entry(record.partition_key.clone()).or_default();
        if !orders.contains(&order) {
            orders.push(order);
        }
        Ok(Handled::Done)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn resharding_up_and_down_under_two_workers_keeps_each_customers_order() {
    let pipeline = TestPipeline::start().await;
    let recorder = Recorder::default();
    let workers: Vec<_> = ["one", "two"]
        .into_iter()
        .map(|worker| {
            // One record at a time, so that a backlog builds.
            let config = BatchConfig {
                max_concurrent_keys: 1,
                ..BatchConfig::default()
            };
            let engine = pipeline.engine(recorder.clone(), config);
            pipeline.start_worker(engine, worker, LEASE)
        })
        .collect();
    wait_owners(&pipeline, Duration::from_secs(30), "2 and 2", |o| {
        o.len() == 4 && count(o, "one") == 2 && count(o, "two") == 2
    })
    .await;

    // 60 customers, each placing orders one after another (so the stream holds them in that
    // order), while the stream goes from 4 to 8 shards and back to 4.
    let customers: Vec<String> = (0..60).map(devstack::sample::customer_id).collect();
    let sent: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    let pipeline = &pipeline;
    let sending = async {
        use devstack::sample;
        use ingest::order::Channel;
        use rand::{SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(7);
        for round in 0..12 {
            let batch: Vec<_> = customers
                .iter()
                .map(|c| (c.clone(), sample::order(&mut rng, Channel::Web)))
                .collect();
            let posts = batch.iter().map(|(customer, order)| async move {
                assert_eq!(pipeline.post_order(customer, order).await.status, 202);
            });
            futures::future::join_all(posts).await;
            {
                let mut sent = sent.lock().expect("lock");
                for (customer, order) in batch {
                    sent.entry(customer)
                        .or_default()
                        .push(order.order_id.to_string());
                }
            }
            if round % 4 == 3 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    };
    let resharding = async {
        let kinesis = pipeline.stack.kinesis();
        let stream = &pipeline.stack.names.stream;
        for target in [8, 4] {
            tokio::time::sleep(Duration::from_millis(700)).await;
            kinesis
                .update_shard_count()
                .stream_name(stream)
                .target_shard_count(target)
                .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
                .send()
                .await
                .expect("UpdateShardCount");
            devstack::wait_until_active(&kinesis, stream)
                .await
                .expect("active after resharding");
        }
    };
    tokio::join!(sending, resharding);

    let sent = sent.lock().expect("lock").clone();
    let total: usize = sent.values().map(Vec::len).sum();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let handled: usize = recorder
            .seen
            .lock()
            .expect("lock")
            .values()
            .map(Vec::len)
            .sum();
        if handled >= total {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{handled} of {total} orders handled across the reshard"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = recorder.seen.lock().expect("lock").clone();
    for (customer, orders) in &sent {
        assert_eq!(
            seen.get(customer),
            Some(orders),
            "{customer}'s orders handled out of order or missing"
        );
    }
    // Every shard of both reshards was read to its end before its children: the table says
    // every closed shard ended, and both workers read some.
    let leases = pipeline
        .leases(consumers::MATERIALISER)
        .list()
        .await
        .expect("leases");
    let open: HashSet<String> = pipeline
        .stack
        .kinesis()
        .list_shards()
        .stream_name(&pipeline.stack.names.stream)
        .send()
        .await
        .expect("ListShards")
        .shards()
        .iter()
        .filter(|s| {
            s.sequence_number_range()
                .and_then(|r| r.ending_sequence_number())
                .is_none()
        })
        .map(|s| s.shard_id().to_owned())
        .collect();
    assert_eq!(open.len(), 4);
    for lease in &leases {
        assert_eq!(
            lease.checkpoint.shard_ended,
            !open.contains(&lease.shard_id),
            "{lease:?}"
        );
    }
    assert!(leases.len() >= 4 + 8 + 4, "{} leases", leases.len());
    for (stop, _) in &workers {
        let _ = stop.send(true);
    }
    for (_, done) in workers {
        done.await.expect("the worker stops");
    }
}
