//! The AWS behaviours the pipeline relies on, checked against the local engines through the
//! real SDK clients. If an engine upgrade breaks one of these, the local stack no longer tells
//! the truth about AWS. Each Kinesis row runs against both engines (`ferrokinesis::…` and
//! `kinesis_mock::…`), so the table in docs/local-stack.md is measured for each.

use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{
    PutRecordsRequestEntry, ShardIteratorType, StartingPosition, SubscribeToShardEvent,
    SubscribeToShardEventStream,
};
use devstack::{KinesisEngine, LocalStack, StackOptions};
use futures::StreamExt;
use ingest::producer::{Entry, Producer};

/// Runs each named row against both Kinesis engines, as `ferrokinesis::row` and
/// `kinesis_mock::row`.
macro_rules! on_both_kinesis_engines {
    ($($row:ident),+ $(,)?) => {
        mod ferrokinesis {
            $(
                #[tokio::test]
                async fn $row() {
                    super::$row(devstack::KinesisEngine::Ferrokinesis).await
                }
            )+
        }
        mod kinesis_mock {
            $(
                #[tokio::test]
                async fn $row() {
                    super::$row(devstack::KinesisEngine::KinesisMock).await
                }
            )+
        }
    };
}

on_both_kinesis_engines!(
    subscribe_to_shard_resumes_after_the_continuation_sequence_number_without_duplicates,
    subscribe_to_shard_after_a_record_sequence_number_skips_what_was_done,
    subscribe_to_shard_at_a_record_sequence_number_starts_with_it,
    an_at_timestamp_iterator_reads_from_that_time_on,
    at_timestamp_tells_records_a_few_milliseconds_apart,
    at_timestamp_after_the_last_record_reads_only_newer_records,
    subscribe_to_shard_at_timestamp_reads_from_that_time_on,
    concurrent_puts_while_subscribed_all_complete,
    list_shards_gives_each_child_its_parent,
    update_shard_count_gives_each_new_shard_the_shards_its_keys_came_from,
    subscribe_to_shard_reports_millis_behind_latest_until_caught_up,
);

/// The local stack on `engine`, with shard limits as asked (ferrokinesis only).
async fn stack_on(engine: KinesisEngine, shard_limits: bool) -> LocalStack {
    LocalStack::start(StackOptions {
        shard_limits,
        kinesis_engine: engine,
        ..Default::default()
    })
    .await
    .expect("stack")
}

/// The local stack with its default engines, for the DynamoDB rows.
async fn stack() -> LocalStack {
    LocalStack::start(StackOptions::default())
        .await
        .expect("stack")
}

/// Creates a stream with `shards` shards and one registered consumer; returns (stream ARN, consumer ARN).
async fn stream_with_consumer(
    kinesis: &aws_sdk_kinesis::Client,
    name: &str,
    shards: i32,
) -> (String, String) {
    let mut created = devstack::create_stream(kinesis, name, shards, &[format!("{name}-consumer")])
        .await
        .expect("stream and consumer");
    let consumer = created.consumer_arns.pop().expect("one consumer");
    (created.arn, consumer)
}

async fn put(kinesis: &aws_sdk_kinesis::Client, stream: &str, data: &str) -> String {
    kinesis
        .put_record()
        .stream_name(stream)
        .partition_key("k")
        .data(Blob::new(data.as_bytes().to_vec()))
        .send()
        .await
        .expect("PutRecord")
        .sequence_number
}

/// Subscribes and collects events until `enough` says so, the shard ends, or 30 s pass.
async fn subscribe(
    kinesis: &aws_sdk_kinesis::Client,
    consumer_arn: &str,
    shard_id: &str,
    position: StartingPosition,
    enough: impl Fn(&[SubscribeToShardEvent]) -> bool,
) -> Vec<SubscribeToShardEvent> {
    subscribe_within(
        kinesis,
        consumer_arn,
        shard_id,
        position,
        enough,
        Duration::from_secs(30),
    )
    .await
}

/// Reads the shard as a real client does, for at most `bound`: subscribes at `position` and,
/// whenever a subscription ends or goes quiet (AWS ends each after at most 5 minutes; a slow
/// engine may end one sooner), subscribes again after the last event's continuation sequence
/// number. Stops when `enough` says so, or when the shard ends (an event with no continuation).
/// What arrived by then is returned, and the caller's assertions say what is missing.
async fn subscribe_within(
    kinesis: &aws_sdk_kinesis::Client,
    consumer_arn: &str,
    shard_id: &str,
    mut position: StartingPosition,
    enough: impl Fn(&[SubscribeToShardEvent]) -> bool,
    bound: Duration,
) -> Vec<SubscribeToShardEvent> {
    let deadline = tokio::time::Instant::now() + bound;
    let mut events: Vec<SubscribeToShardEvent> = Vec::new();
    while !enough(&events) && tokio::time::Instant::now() < deadline {
        let subscribed = kinesis
            .subscribe_to_shard()
            .consumer_arn(consumer_arn)
            .shard_id(shard_id)
            .starting_position(position.clone())
            .send()
            .await;
        // AWS takes one SubscribeToShard per consumer and shard every 5 s (LimitExceeded, or
        // ResourceInUse while the last one is still open): a client waits and asks again.
        let mut stream = match subscribed {
            Ok(output) => output.event_stream,
            Err(error) if tokio::time::Instant::now() + Duration::from_secs(1) < deadline => {
                eprintln!("SubscribeToShard refused, again in 1 s: {error:?}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(error) => panic!("SubscribeToShard: {error:?}"),
        };
        while !enough(&events) {
            match tokio::time::timeout_at(deadline, stream.recv()).await {
                Ok(Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(event)))) => {
                    events.push(event)
                }
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) | Err(_) => break,
                Ok(Err(error)) => panic!("subscription failed: {error:?}"),
            }
        }
        // Where the last event says to go on from; no event yet: the same position again.
        if let Some(last) = events.last() {
            let continuation = last.continuation_sequence_number();
            if continuation.is_empty() {
                break;
            }
            position = self::position(ShardIteratorType::AfterSequenceNumber, Some(continuation));
        }
    }
    events
}

fn data(events: &[SubscribeToShardEvent]) -> Vec<String> {
    events
        .iter()
        .flat_map(|e| e.records())
        .map(|r| String::from_utf8_lossy(r.data().as_ref()).into_owned())
        .collect()
}

fn position(kind: ShardIteratorType, sequence_number: Option<&str>) -> StartingPosition {
    StartingPosition::builder()
        .r#type(kind)
        .set_sequence_number(sequence_number.map(str::to_owned))
        .build()
        .expect("position")
}

fn at_timestamp(from: DateTime) -> StartingPosition {
    StartingPosition::builder()
        .r#type(ShardIteratorType::AtTimestamp)
        .timestamp(from)
        .build()
        .expect("position")
}

/// The records `GetRecords` returns from an `AT_TIMESTAMP` iterator at `from`.
async fn read_at_timestamp(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
    from: DateTime,
) -> Vec<String> {
    let iterator = kinesis
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::AtTimestamp)
        .timestamp(from)
        .send()
        .await
        .expect("GetShardIterator")
        .shard_iterator
        .expect("iterator");
    let records = kinesis
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .expect("GetRecords");
    records
        .records()
        .iter()
        .map(|r| String::from_utf8_lossy(r.data().as_ref()).into_owned())
        .collect()
}

fn now() -> DateTime {
    DateTime::from(std::time::SystemTime::now())
}

const SHARD: &str = "shardId-000000000000";

async fn subscribe_to_shard_resumes_after_the_continuation_sequence_number_without_duplicates(
    engine: KinesisEngine,
) {
    let stack = stack_on(engine, false).await;
    let kinesis = stack.kinesis();
    let (_, consumer) = stream_with_consumer(&kinesis, "resume", 1).await;
    for i in 0..10 {
        put(&kinesis, "resume", &format!("a{i}")).await;
    }
    let first = subscribe(
        &kinesis,
        &consumer,
        SHARD,
        position(ShardIteratorType::TrimHorizon, None),
        |e| data(e).len() >= 10,
    )
    .await;
    assert_eq!(
        data(&first),
        (0..10).map(|i| format!("a{i}")).collect::<Vec<_>>()
    );
    let continuation = first
        .last()
        .expect("events")
        .continuation_sequence_number()
        .to_owned();
    assert!(
        !continuation.is_empty(),
        "an open shard always gives a continuation"
    );
    assert!(first.iter().all(|e| e.millis_behind_latest() >= 0));

    for i in 0..5 {
        put(&kinesis, "resume", &format!("b{i}")).await;
    }
    // A new subscription within 5 s of the last would get ResourceInUseException on AWS.
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let second = subscribe(
        &kinesis,
        &consumer,
        SHARD,
        position(ShardIteratorType::AfterSequenceNumber, Some(&continuation)),
        |e| data(e).len() >= 5,
    )
    .await;
    assert_eq!(
        data(&second),
        (0..5).map(|i| format!("b{i}")).collect::<Vec<_>>()
    );
}

/// Puts r0 to r5 on a one-shard stream and subscribes at `kind` of r3's sequence number; returns
/// the records delivered once `expected` have arrived.
async fn subscribe_relative_to_the_fourth_record(
    engine: KinesisEngine,
    kind: ShardIteratorType,
    expected: usize,
) -> Vec<String> {
    let stack = stack_on(engine, false).await;
    let kinesis = stack.kinesis();
    let (_, consumer) = stream_with_consumer(&kinesis, "six", 1).await;
    let mut sequence_numbers = Vec::new();
    for i in 0..6 {
        sequence_numbers.push(put(&kinesis, "six", &format!("r{i}")).await);
    }
    let events = subscribe(
        &kinesis,
        &consumer,
        SHARD,
        position(kind, Some(&sequence_numbers[3])),
        |e| data(e).len() >= expected,
    )
    .await;
    data(&events)
}

async fn subscribe_to_shard_after_a_record_sequence_number_skips_what_was_done(
    engine: KinesisEngine,
) {
    let got =
        subscribe_relative_to_the_fourth_record(engine, ShardIteratorType::AfterSequenceNumber, 2)
            .await;
    assert_eq!(got, ["r4", "r5"]);
}

async fn subscribe_to_shard_at_a_record_sequence_number_starts_with_it(engine: KinesisEngine) {
    let got =
        subscribe_relative_to_the_fourth_record(engine, ShardIteratorType::AtSequenceNumber, 3)
            .await;
    assert_eq!(got, ["r3", "r4", "r5"]);
}

async fn an_at_timestamp_iterator_reads_from_that_time_on(engine: KinesisEngine) {
    let stack = stack_on(engine, false).await;
    let kinesis = stack.kinesis();
    stream_with_consumer(&kinesis, "replay", 1).await;
    put(&kinesis, "replay", "old").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let from = now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    put(&kinesis, "replay", "new-1").await;
    put(&kinesis, "replay", "new-2").await;
    assert_eq!(
        read_at_timestamp(&kinesis, "replay", from).await,
        ["new-1", "new-2"]
    );
}

/// AWS keeps arrival times to the millisecond, so a replay window can start between two
/// records put within the same second.
async fn at_timestamp_tells_records_a_few_milliseconds_apart(engine: KinesisEngine) {
    let stack = stack_on(engine, false).await;
    let kinesis = stack.kinesis();
    stream_with_consumer(&kinesis, "millis", 1).await;
    put(&kinesis, "millis", "before").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let from = now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    put(&kinesis, "millis", "after").await;
    assert_eq!(read_at_timestamp(&kinesis, "millis", from).await, ["after"]);
}

/// A window that starts after the newest record holds nothing yet: the iterator starts at the
/// tip of the shard, not at its oldest record.
async fn at_timestamp_after_the_last_record_reads_only_newer_records(engine: KinesisEngine) {
    let stack = stack_on(engine, false).await;
    let kinesis = stack.kinesis();
    let (_, consumer) = stream_with_consumer(&kinesis, "tip", 1).await;
    put(&kinesis, "tip", "old").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let from = now();
    assert!(
        read_at_timestamp(&kinesis, "tip", from).await.is_empty(),
        "GetRecords from after the newest record"
    );
    let events = subscribe(&kinesis, &consumer, SHARD, at_timestamp(from), |e| {
        !data(e).is_empty()
    });
    let writer = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        put(&kinesis, "tip", "new").await;
    };
    let (events, ()) = futures::future::join(events, writer).await;
    assert_eq!(
        data(&events),
        ["new"],
        "SubscribeToShard from after the newest record"
    );
}

async fn subscribe_to_shard_at_timestamp_reads_from_that_time_on(engine: KinesisEngine) {
    let stack = stack_on(engine, false).await;
    let kinesis = stack.kinesis();
    let (_, consumer) = stream_with_consumer(&kinesis, "window", 1).await;
    put(&kinesis, "window", "old-1").await;
    put(&kinesis, "window", "old-2").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let from = now();
    tokio::time::sleep(Duration::from_millis(50)).await;
    put(&kinesis, "window", "new-1").await;
    put(&kinesis, "window", "new-2").await;
    let events = subscribe(&kinesis, &consumer, SHARD, at_timestamp(from), |e| {
        data(e).len() >= 2
    })
    .await;
    assert_eq!(data(&events), ["new-1", "new-2"]);
}

/// Puts while the shard is being read, by a subscription and by `GetRecords` polling: the load
/// that deadlocked ferrokinesis 0.7.0 on the stack's two engine workers (see
/// devstack/vendor/PATCHES.md).
async fn concurrent_puts_while_subscribed_all_complete(engine: KinesisEngine) {
    const RECORDS: usize = 2000;
    let stack = stack_on(engine, false).await;
    let kinesis = stack.kinesis();
    let (_, consumer) = stream_with_consumer(&kinesis, "busy", 1).await;
    // Bounds generous for the slowest engine on a loaded machine: they only stop a hung run.
    let reader = subscribe_within(
        &kinesis,
        &consumer,
        SHARD,
        position(ShardIteratorType::TrimHorizon, None),
        |e| data(e).len() >= RECORDS,
        Duration::from_secs(240),
    );
    let writers = futures::stream::iter(0..RECORDS)
        .map(|i| {
            let kinesis = kinesis.clone();
            async move { put(&kinesis, "busy", &format!("{i}")).await }
        })
        .buffer_unordered(100)
        .collect::<Vec<_>>();
    let done = std::sync::atomic::AtomicBool::new(false);
    let pollers = futures::future::join_all((0..3).map(|_| async {
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            read_at_timestamp(&kinesis, "busy", DateTime::from_secs(0)).await;
        }
    }));
    let work = async {
        let (events, _) = futures::future::join(reader, writers).await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        events
    };
    let (events, _) = tokio::time::timeout(
        Duration::from_secs(300),
        futures::future::join(work, pollers),
    )
    .await
    .expect("no deadlock: the puts, the subscription and the polling finish within 300 s");
    let mut got = data(&events);
    assert_eq!(got.len(), RECORDS, "every record once");
    got.sort();
    got.dedup();
    assert_eq!(got.len(), RECORDS, "no record twice, none passed over");
}

/// `MillisBehindLatest` is how far the last record of an event is behind the tip of the shard:
/// more than zero while a backlog is being read (consumers alarm on it), zero once caught up.
async fn subscribe_to_shard_reports_millis_behind_latest_until_caught_up(engine: KinesisEngine) {
    // More than one event's worth (10,000 records on AWS and both engines).
    const RECORDS: usize = 10_500;
    let stack = stack_on(engine, false).await;
    let kinesis = stack.kinesis();
    let (_, consumer) = stream_with_consumer(&kinesis, "backlog", 1).await;
    for chunk in (0..RECORDS).collect::<Vec<_>>().chunks(500) {
        let entries = chunk
            .iter()
            .map(|i| {
                PutRecordsRequestEntry::builder()
                    .partition_key("k")
                    .data(Blob::new(i.to_string().into_bytes()))
                    .build()
                    .expect("entry")
            })
            .collect();
        let output = kinesis
            .put_records()
            .stream_name("backlog")
            .set_records(Some(entries))
            .send()
            .await
            .expect("PutRecords");
        assert_eq!(output.failed_record_count(), Some(0));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = subscribe_within(
        &kinesis,
        &consumer,
        SHARD,
        position(ShardIteratorType::TrimHorizon, None),
        |e| data(e).len() >= RECORDS,
        Duration::from_secs(240),
    )
    .await;
    assert_eq!(data(&events).len(), RECORDS);
    let behind: Vec<i64> = events
        .iter()
        .filter(|e| !e.records().is_empty())
        .map(|e| e.millis_behind_latest())
        .collect();
    assert!(
        behind.first().is_some_and(|&ms| ms >= 300),
        "behind while the backlog is read: {behind:?}"
    );
    assert_eq!(behind.last(), Some(&0), "caught up at the end: {behind:?}");
}

/// Splits the only shard of `stream` in two and waits until the stream is ACTIVE again.
async fn split(kinesis: &aws_sdk_kinesis::Client, stream: &str) {
    kinesis
        .split_shard()
        .stream_name(stream)
        .shard_to_split(SHARD)
        .new_starting_hash_key((1u128 << 127).to_string())
        .send()
        .await
        .expect("SplitShard");
    // The stream is UPDATING until the children exist; ferrokinesis refuses reads until then.
    devstack::wait_until_active(kinesis, stream)
        .await
        .expect("stream active after the split");
}

/// Resharding with `UpdateShardCount` (4 → 8 → 4): AWS gets there by splits and merges, so each
/// new shard names as parents the shards its hash keys came from, and a consumer that reads
/// parents to their end first keeps each key's order. Checked on the open shards after each
/// step: every parent is closed, and together the parents cover the child's keys.
async fn update_shard_count_gives_each_new_shard_the_shards_its_keys_came_from(
    engine: KinesisEngine,
) {
    let stack = stack_on(engine, false).await;
    let kinesis = stack.kinesis();
    stream_with_consumer(&kinesis, "rescaled", 4).await;
    for (target, parents_each) in [(8, 1), (4, 2)] {
        kinesis
            .update_shard_count()
            .stream_name("rescaled")
            .target_shard_count(target)
            .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
            .send()
            .await
            .expect("UpdateShardCount");
        devstack::wait_until_active(&kinesis, "rescaled")
            .await
            .expect("active after resharding");
        let shards = kinesis
            .list_shards()
            .stream_name("rescaled")
            .send()
            .await
            .expect("ListShards")
            .shards()
            .to_vec();
        let range = |shard: &aws_sdk_kinesis::types::Shard| {
            let keys = shard.hash_key_range().expect("hash key range");
            let parse = |k: &str| k.parse::<u128>().expect("a hash key");
            (
                parse(keys.starting_hash_key()),
                parse(keys.ending_hash_key()),
            )
        };
        let open: Vec<_> = shards
            .iter()
            .filter(|s| {
                s.sequence_number_range()
                    .and_then(|r| r.ending_sequence_number())
                    .is_none()
            })
            .collect();
        assert_eq!(open.len(), target as usize);
        for child in open {
            let parents: Vec<_> = [child.parent_shard_id(), child.adjacent_parent_shard_id()]
                .into_iter()
                .flatten()
                .map(|id| {
                    shards
                        .iter()
                        .find(|s| s.shard_id() == id)
                        .unwrap_or_else(|| panic!("parent {id} listed"))
                })
                .collect();
            assert_eq!(
                parents.len(),
                parents_each,
                "{} after resharding to {target}",
                child.shard_id()
            );
            let (start, end) = range(child);
            let from = parents.iter().map(|p| range(p).0).min().expect("a parent");
            let to = parents.iter().map(|p| range(p).1).max().expect("a parent");
            assert!(
                from <= start && end <= to,
                "{}'s keys come from its parents",
                child.shard_id()
            );
            for parent in parents {
                assert!(
                    parent
                        .sequence_number_range()
                        .and_then(|r| r.ending_sequence_number())
                        .is_some(),
                    "{} is closed",
                    parent.shard_id()
                );
            }
        }
    }
}

async fn list_shards_gives_each_child_its_parent(engine: KinesisEngine) {
    let stack = stack_on(engine, false).await;
    let kinesis = stack.kinesis();
    stream_with_consumer(&kinesis, "family", 1).await;
    split(&kinesis, "family").await;
    let listed = kinesis
        .list_shards()
        .stream_name("family")
        .send()
        .await
        .expect("ListShards");
    let children: Vec<_> = listed
        .shards()
        .iter()
        .filter(|s| s.parent_shard_id() == Some(SHARD))
        .collect();
    assert_eq!(children.len(), 2);
}

/// AWS ends a closed shard with one event that names the children and has no continuation,
/// after the last record; the subscription then ends.
#[tokio::test]
async fn the_end_of_a_closed_shard_names_its_children_and_has_no_continuation() {
    let stack = stack_on(KinesisEngine::Ferrokinesis, false).await;
    let kinesis = stack.kinesis();
    let (_, consumer) = stream_with_consumer(&kinesis, "split", 1).await;
    put(&kinesis, "split", "before-1").await;
    put(&kinesis, "split", "before-2").await;
    split(&kinesis, "split").await;
    let events = subscribe(
        &kinesis,
        &consumer,
        SHARD,
        position(ShardIteratorType::TrimHorizon, None),
        |_| false,
    )
    .await;
    assert_eq!(data(&events), ["before-1", "before-2"]);
    let (last, before) = events.split_last().expect("events");
    assert_eq!(last.child_shards().len(), 2);
    assert!(
        last.child_shards()
            .iter()
            .all(|c| c.parent_shards().contains(&SHARD.to_owned()))
    );
    assert_eq!(
        last.continuation_sequence_number(),
        "",
        "no continuation at the end of a shard"
    );
    assert!(last.records().is_empty());
    assert!(
        before
            .iter()
            .all(|e| e.child_shards().is_empty() && !e.continuation_sequence_number().is_empty()),
        "only the last event ends the shard"
    );
}

/// kinesis-mock 0.6.2 never ends a closed shard: it keeps sending empty events with a
/// continuation and no children. If this fails, it has learnt to: update docs/local-stack.md.
#[tokio::test]
async fn kinesis_mock_does_not_end_a_closed_shard() {
    let stack = stack_on(KinesisEngine::KinesisMock, false).await;
    let kinesis = stack.kinesis();
    let (_, consumer) = stream_with_consumer(&kinesis, "split", 1).await;
    put(&kinesis, "split", "before").await;
    split(&kinesis, "split").await;
    let events = subscribe(
        &kinesis,
        &consumer,
        SHARD,
        position(ShardIteratorType::TrimHorizon, None),
        |events| events.len() >= 5,
    )
    .await;
    assert_eq!(data(&events), ["before"]);
    assert!(events.len() >= 5, "the subscription goes on");
    assert!(
        events
            .iter()
            .all(|e| e.child_shards().is_empty() && !e.continuation_sequence_number().is_empty())
    );
}

/// ferrokinesis only: kinesis-mock has no shard limits (the stack refuses to start it with them).
#[tokio::test]
async fn put_records_reports_each_failed_entry_and_the_producer_returns_only_what_landed() {
    let stack = stack_on(KinesisEngine::Ferrokinesis, true).await;
    let kinesis = stack.kinesis();
    stream_with_consumer(&kinesis, "throttled", 1).await;
    // 500 entries of 2.5 KB into one shard: more than its 1 MB/s.
    let entries: Vec<PutRecordsRequestEntry> = (0..500)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("k{i}"))
                .data(Blob::new(vec![b'x'; 2500]))
                .build()
                .expect("entry")
        })
        .collect();
    let output = kinesis
        .put_records()
        .stream_name("throttled")
        .set_records(Some(entries))
        .send()
        .await
        .expect("PutRecords");
    let failed = output.failed_record_count.unwrap_or_default();
    assert!(
        failed > 0,
        "the shard's limit was exceeded, so some entries failed"
    );
    let failures: Vec<_> = output
        .records()
        .iter()
        .filter(|r| r.error_code.is_some())
        .collect();
    assert_eq!(
        failures.len() as i32,
        failed,
        "FailedRecordCount matches the entries with an error code"
    );
    for failure in failures {
        assert_eq!(
            failure.error_code.as_deref(),
            Some("ProvisionedThroughputExceededException")
        );
        assert!(failure.sequence_number.is_none());
    }
    assert!(
        output
            .records()
            .iter()
            .filter(|r| r.error_code.is_none())
            .all(|r| r.sequence_number.is_some())
    );

    // The producer retries only the failed entries and reports exactly what is on the stream.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let producer = Producer::new(kinesis.clone(), "throttled");
    let entries = (0..500)
        .map(|i| Entry {
            partition_key: format!("p{i}"),
            data: vec![b'y'; 2500],
        })
        .collect();
    let results = producer.put_batch(entries).await;
    let landed: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|p| p.sequence_number.clone())
        .collect();
    let on_stream = pipeline_tests::read_stream(&kinesis, "throttled").await;
    let from_producer = on_stream
        .iter()
        .filter(|r| r.data().as_ref()[0] == b'y')
        .count();
    assert_eq!(
        from_producer,
        landed.len(),
        "every Ok is on the stream and every Err is not"
    );

    // The consumers' patient producer waits out the throttled second: 1.25 MB into a shard
    // that takes 1 MB/s all lands.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let patient = Producer::new(kinesis.clone(), "throttled").patient();
    let entries = (0..500)
        .map(|i| Entry {
            partition_key: format!("p{i}"),
            data: vec![b'z'; 2500],
        })
        .collect();
    let refused: Vec<_> = patient
        .put_batch(entries)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert!(refused.is_empty(), "still refused: {refused:?}");
}

/// The fault suite's throttle (devstack/vendor/PATCHES.md, change 7): a shard held to 5 writes
/// a second refuses the rest of a second's puts as AWS does, and takes 1,000 again after.
#[tokio::test]
async fn a_shard_throttled_to_a_few_writes_a_second_refuses_the_rest_until_released() {
    let stack = stack_on(KinesisEngine::Ferrokinesis, true).await;
    let kinesis = stack.kinesis();
    stream_with_consumer(&kinesis, "held", 1).await;
    let put_20 = || async {
        let entries: Vec<PutRecordsRequestEntry> = (0..20)
            .map(|i| {
                PutRecordsRequestEntry::builder()
                    .partition_key(format!("k{i}"))
                    .data(Blob::new(b"x".to_vec()))
                    .build()
                    .expect("entry")
            })
            .collect();
        let output = kinesis
            .put_records()
            .stream_name("held")
            .set_records(Some(entries))
            .send()
            .await
            .expect("PutRecords");
        let codes: Vec<Option<String>> = output
            .records()
            .iter()
            .map(|r| r.error_code.clone())
            .collect();
        codes
    };
    assert!(stack.throttle_kinesis(Some(5)));
    let codes = put_20().await;
    let refused = codes.iter().filter(|c| c.is_some()).count();
    // The window may roll over once mid-request: at most 10 land.
    assert!((10..=15).contains(&refused), "{codes:?}");
    assert!(
        codes
            .iter()
            .flatten()
            .all(|c| c == "ProvisionedThroughputExceededException")
    );
    assert!(stack.throttle_kinesis(None));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(put_20().await.iter().all(Option::is_none));
    // Without shard limits there is nothing to throttle, and the stack says so.
    assert!(
        !stack_on(KinesisEngine::Ferrokinesis, false)
            .await
            .throttle_kinesis(Some(5))
    );
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

#[tokio::test]
async fn a_failed_conditional_write_changes_nothing_and_returns_the_old_item() {
    let stack = stack().await;
    let dynamodb = stack.dynamodb();
    let table = &stack.names.orders_table;
    let write = |customer: &str| {
        dynamodb
            .put_item()
            .table_name(table)
            .item("orderId", s("o-1"))
            .item("customerId", s(customer))
            .item("placedAt", s("2026-11-23T10:00:00.000Z"))
            .condition_expression("attribute_not_exists(orderId)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
    };
    write("c-1").await.expect("first write");
    let error = write("c-2")
        .await
        .expect_err("second write fails its condition")
        .into_service_error();
    match error {
        PutItemError::ConditionalCheckFailedException(failed) => {
            assert_eq!(failed.item().expect("old item")["customerId"], s("c-1"));
        }
        other => panic!("expected ConditionalCheckFailedException, got {other:?}"),
    }
    let item = dynamodb
        .get_item()
        .table_name(table)
        .key("orderId", s("o-1"))
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("item");
    assert_eq!(item["customerId"], s("c-1"));
}

#[tokio::test]
async fn a_cancelled_transaction_writes_nothing_and_gives_a_reason_per_item() {
    let stack = stack().await;
    let dynamodb = stack.dynamodb();
    let table = &stack.names.orders_table;
    dynamodb
        .put_item()
        .table_name(table)
        .item("orderId", s("taken"))
        .item("customerId", s("c"))
        .item("placedAt", s("t"))
        .send()
        .await
        .expect("seed");
    let put = |id: &str| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .item("orderId", s(id))
                    .item("customerId", s("c"))
                    .item("placedAt", s("t"))
                    .condition_expression("attribute_not_exists(orderId)")
                    .build()
                    .expect("put"),
            )
            .build()
    };
    let error = dynamodb
        .transact_write_items()
        .transact_items(put("fresh"))
        .transact_items(put("taken"))
        .send()
        .await
        .expect_err("the second item's condition fails")
        .into_service_error();
    match error {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => {
            let codes: Vec<Option<&str>> = cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code())
                .collect();
            assert_eq!(codes, [Some("None"), Some("ConditionalCheckFailed")]);
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
    let fresh = dynamodb
        .get_item()
        .table_name(table)
        .key("orderId", s("fresh"))
        .send()
        .await
        .expect("GetItem");
    assert!(
        fresh.item.is_none(),
        "nothing of a cancelled transaction is written"
    );
}

#[tokio::test]
async fn the_by_customer_index_lists_newest_first_with_keys_only() {
    let stack = stack().await;
    let dynamodb = stack.dynamodb();
    let table = &stack.names.orders_table;
    for (id, customer, at) in [
        ("o-1", "c-1", "2026-11-23T09:00:00.000Z"),
        ("o-2", "c-1", "2026-11-23T11:00:00.000Z"),
        ("o-3", "c-2", "2026-11-23T10:00:00.000Z"),
        ("o-4", "c-1", "2026-11-23T10:00:00.000Z"),
    ] {
        dynamodb
            .put_item()
            .table_name(table)
            .item("orderId", s(id))
            .item("customerId", s(customer))
            .item("placedAt", s(at))
            .item("status", s("placed"))
            .send()
            .await
            .expect("PutItem");
    }
    let output = dynamodb
        .query()
        .table_name(table)
        .index_name(ingest::config::orders_table::BY_CUSTOMER_INDEX)
        .key_condition_expression("customerId = :c")
        .expression_attribute_values(":c", s("c-1"))
        .scan_index_forward(false)
        .send()
        .await
        .expect("Query");
    let ids: Vec<&str> = output
        .items()
        .iter()
        .filter_map(|i| i["orderId"].as_s().ok().map(String::as_str))
        .collect();
    assert_eq!(ids, ["o-2", "o-4", "o-1"]);
    assert!(
        output.items().iter().all(|i| !i.contains_key("status")),
        "the index projects keys only"
    );
}
