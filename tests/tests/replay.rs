//! The replay tool against the local stack: a window read from the stream's retention or from
//! the archive is put back exactly (each record once, keys and each customer's order kept), and
//! a replay stopped half-way resumes without sending anything twice.

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use aws_sdk_kinesis::types::Record;
use devstack::{sample, workspace_binary};
use ingest::order::Channel;
use pipeline_tests::{TestPipeline, read_stream, small_buffer};
use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::process::Command;

/// Posts `count` orders from six customers, a few milliseconds after a time taken before and
/// before one taken after (envelope times are whole milliseconds).
async fn post(pipeline: &TestPipeline, rng: &mut StdRng, count: usize) {
    tokio::time::sleep(Duration::from_millis(5)).await;
    for i in 0..count {
        let order = sample::order(rng, Channel::Web);
        let answer = pipeline
            .post_order(&sample::customer_id(i % 6), &order)
            .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("formats")
}

fn replay_command<S: AsRef<std::ffi::OsStr>>(pipeline: &TestPipeline, args: &[S]) -> Command {
    let mut command = Command::new(workspace_binary("replay"));
    command.args(args).envs(pipeline.stack.env());
    command
}

async fn replay<S: AsRef<std::ffi::OsStr>>(
    pipeline: &TestPipeline,
    args: &[S],
) -> serde_json::Value {
    let output: Output = replay_command(pipeline, args)
        .arg("--json")
        .output()
        .await
        .expect("run `cargo build --bins` first");
    assert!(
        output.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    last_line(&output.stdout)
}

/// The summary: the last line of standard output.
fn last_line(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default()).expect("a JSON summary")
}

/// Each partition key's records (event id and a digest of the bytes), in sequence order.
fn by_key(records: &[&Record]) -> HashMap<String, Vec<(String, u64)>> {
    // Sequence numbers are decimal strings too long for u128: ordered by length, then digits.
    type Sequenced = ((usize, String), (String, u64));
    let mut keys: HashMap<String, Vec<Sequenced>> = HashMap::new();
    for record in records {
        keys.entry(record.partition_key().unwrap_or_default().to_owned())
            .or_default()
            .push((
                (
                    record.sequence_number().len(),
                    record.sequence_number().to_owned(),
                ),
                identify(record.data().as_ref()),
            ));
    }
    keys.into_iter()
        .map(|(key, mut records)| {
            records.sort();
            (key, records.into_iter().map(|(_, data)| data).collect())
        })
        .collect()
}

/// The record's event id, and a hash of its bytes (so that equal means byte for byte).
fn identify(data: &[u8]) -> (String, u64) {
    use std::hash::{Hash, Hasher};
    let id = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut hasher);
    (id, hasher.finish())
}

fn arrived_after(record: &Record, at: OffsetDateTime) -> bool {
    record
        .approximate_arrival_timestamp()
        .is_some_and(|t| t.as_nanos() >= at.unix_timestamp_nanos())
}

/// The records that arrived in `[from, to)` and those that arrived from `after` on.
async fn window_and_replayed(
    pipeline: &TestPipeline,
    from: OffsetDateTime,
    to: OffsetDateTime,
    after: OffsetDateTime,
) -> (Vec<Record>, Vec<Record>) {
    let names = &pipeline.stack.names;
    let stream = read_stream(&pipeline.stack.kinesis(), &names.stream).await;
    let window = stream
        .iter()
        .filter(|r| arrived_after(r, from) && !arrived_after(r, to))
        .cloned()
        .collect();
    let replayed = stream
        .iter()
        .filter(|r| arrived_after(r, after))
        .cloned()
        .collect();
    (window, replayed)
}

#[tokio::test]
async fn a_window_from_the_stream_or_the_archive_is_put_back_exactly() {
    let pipeline = TestPipeline::start().await;
    let archive = pipeline.start_archive(small_buffer());
    let mut rng = StdRng::seed_from_u64(7);
    post(&pipeline, &mut rng, 12).await;
    let from = OffsetDateTime::now_utc();
    post(&pipeline, &mut rng, 30).await;
    let to = OffsetDateTime::now_utc();
    post(&pipeline, &mut rng, 12).await;
    // Not envelope: in no window, and said so.
    pipeline.put_record("c-x", b"not json".to_vec()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let archived = archive.stop().await;
    assert!(archived.objects >= 2, "{archived:?}");

    let window = [
        "--from".to_owned(),
        rfc3339(from),
        "--to".to_owned(),
        rfc3339(to),
    ];
    let window: Vec<&str> = window.iter().map(String::as_str).collect();

    let dry = replay(&pipeline, &[&window[..], &["--dry-run"]].concat()).await;
    assert_eq!(dry["window"], 30, "{dry}");
    assert_eq!(dry["customers"], 6, "{dry}");
    assert_eq!(dry["read"]["unreadable"], 1, "{dry}");
    assert_eq!(dry["delivered"], serde_json::Value::Null);

    for source in ["stream", "archive"] {
        let before = OffsetDateTime::now_utc();
        let summary = replay(&pipeline, &[&window[..], &["--source", source]].concat()).await;
        assert_eq!(summary["delivered"]["sent"], 30, "{source}: {summary}");
        // The window read back after the first replay holds each event once.
        assert_eq!(summary["read"]["selected"], 30, "{source}: {summary}");

        let (original, replayed) = window_and_replayed(&pipeline, from, to, before).await;
        assert_eq!(original.len(), 30);
        let original: Vec<&Record> = original.iter().collect();
        let replayed: Vec<&Record> = replayed.iter().collect();
        // Every record once, under its original key, each customer's in their original order.
        assert_eq!(by_key(&replayed), by_key(&original), "{source}");
    }
}

#[tokio::test]
async fn a_replay_stopped_half_way_resumes_and_sends_nothing_twice() {
    let pipeline = TestPipeline::start().await;
    let mut rng = StdRng::seed_from_u64(8);
    let from = OffsetDateTime::now_utc();
    post(&pipeline, &mut rng, 30).await;
    let to = OffsetDateTime::now_utc();
    let dir = tempfile::tempdir().expect("temp dir");
    let cursor = dir.path().join("replay.json");
    let args = [
        "--from".to_owned(),
        rfc3339(from),
        "--to".to_owned(),
        rfc3339(to),
        // Slow enough that the SIGTERM lands half way on any machine: 25 records left take
        // over 8 s when it is sent.
        "--rate".to_owned(),
        "3".to_owned(),
        "--cursor".to_owned(),
        cursor.display().to_string(),
    ];
    let before = OffsetDateTime::now_utc();

    // Slowed to 10 records a second; stopped (SIGTERM) once a few are sent.
    let first = replay_command(&pipeline, &args)
        .arg("--json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run `cargo build --bins` first");
    wait_until_done_at_least(&cursor, 5).await;
    let pid = first.id().expect("running").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(killed.success());
    let first = first.wait_with_output().await.expect("exits");
    assert!(!first.status.success(), "a stopped replay says so");
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("run the same command to resume"),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stopped = last_line(&first.stdout);
    let sent_first = stopped["delivered"]["sent"].as_u64().expect("sent");
    assert!((5..30).contains(&sent_first), "{stopped}");

    let resumed = replay(&pipeline, &args).await;
    assert_eq!(resumed["delivered"]["sent"], 30 - sent_first, "{resumed}");
    assert_eq!(resumed["done"], 30, "{resumed}");

    let (original, replayed) = window_and_replayed(&pipeline, from, to, before).await;
    let original: Vec<&Record> = original.iter().collect();
    let replayed: Vec<&Record> = replayed.iter().collect();
    assert_eq!(
        by_key(&replayed),
        by_key(&original),
        "each record once, in order"
    );

    // Run once more: the cursor says it is done, and nothing is sent.
    let again = replay(&pipeline, &args).await;
    assert_eq!(again["delivered"]["sent"], 0, "{again}");
    // Other arguments with the same cursor are refused.
    let other = replay_command(&pipeline, &args)
        .args(["--customer", "someone"])
        .output()
        .await
        .expect("runs");
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("cursor of another replay"));
}

async fn wait_until_done_at_least(cursor: &Path, records: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let done = std::fs::read(cursor)
            .ok()
            .and_then(|bytes| {
                serde_json::from_slice::<analytics::replay::spool::Cursor>(&bytes).ok()
            })
            .map_or(0, |c| c.done());
        if done >= records {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replay did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
