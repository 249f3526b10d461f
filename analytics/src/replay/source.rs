//! Where a window is read from: the stream's retention or the archive.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_kinesis::types::{Shard, ShardIteratorType};
use time::OffsetDateTime;

use super::{ReadTotals, Window, WindowRecord};
use crate::archive::{ARRIVAL_SLACK, ArchiveError, RawArchive};

/// Kinesis allows five `GetRecords` a second per shard; a reader keeps under it.
const GET_RECORDS_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read the stream {stream}")]
    Stream {
        stream: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("cannot keep the window's records")]
    Sink(#[source] std::io::Error),
}

/// Reads the window from the stream's retention: every shard, parents before children, from
/// `AT_TIMESTAMP` `from` until a record arrives after `to` (plus [`ARRIVAL_SLACK`]), the shard's
/// tip, or a closed shard's end. Each shard's records come in sequence order, so each
/// customer's events come in their original order.
pub async fn read_stream(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
    window: &Window,
    mut sink: impl FnMut(WindowRecord) -> std::io::Result<()>,
) -> Result<ReadTotals, SourceError> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| SourceError::Stream {
        stream: stream.to_owned(),
        source,
    };
    let mut selector = Selector::new(window);
    let stop_at = window.to + ARRIVAL_SLACK;
    for shard in parents_first(list_shards(kinesis, stream).await.map_err(fail)?) {
        let mut iterator = kinesis
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::AtTimestamp)
            .timestamp(to_smithy(window.from))
            .send()
            .await
            .map_err(|e| fail(Box::new(e)))?
            .shard_iterator;
        'shard: while let Some(current) = iterator.take() {
            let output = kinesis
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .map_err(|e| fail(Box::new(e)))?;
            for record in output.records() {
                let arrived = record
                    .approximate_arrival_timestamp()
                    .and_then(|at| OffsetDateTime::from_unix_timestamp_nanos(at.as_nanos()).ok());
                if arrived.is_some_and(|at| at >= stop_at) {
                    break 'shard;
                }
                let data = bytes::Bytes::copy_from_slice(record.data().as_ref());
                if let Some(selected) = selector.offer(data) {
                    sink(selected).map_err(SourceError::Sink)?;
                }
            }
            let at_tip = output.records().is_empty() && output.millis_behind_latest == Some(0);
            if at_tip {
                break;
            }
            iterator = output.next_shard_iterator;
            tokio::time::sleep(GET_RECORDS_INTERVAL).await;
        }
    }
    Ok(selector.totals)
}

/// Reads the window from the archive: the objects of the hours that can hold it, each record
/// kept if its own time is in the window (an object holds records from its folder's hour on).
///
/// Objects come in key order, which is the order they were written, to the second: a later
/// object holds later records of each shard. Objects written in the same second sort by their
/// random id, so their records are put in time order (stably) before they are sent on.
pub async fn read_archive(
    archive: &RawArchive,
    window: &Window,
    mut sink: impl FnMut(WindowRecord) -> std::io::Result<()>,
) -> Result<ReadTotals, SourceError> {
    let mut selector = Selector::new(window);
    let objects = archive.objects_for(window.from, window.to).await?;
    let mut start = 0;
    while start < objects.len() {
        let second = written_second(&objects[start].key);
        let end = objects[start..]
            .iter()
            .position(|o| written_second(&o.key) != second)
            .map_or(objects.len(), |n| start + n);
        let mut selected = Vec::new();
        for object in &objects[start..end] {
            for data in archive.records(&object.key).await? {
                selected.extend(selector.offer(data));
            }
        }
        selected.sort_by_key(|r| r.time);
        for record in selected {
            sink(record).map_err(SourceError::Sink)?;
        }
        start = end;
    }
    Ok(selector.totals)
}

/// An object's key without its random id: `…/orders-archive-1-2026-11-25-09-14-03`.
fn written_second(key: &str) -> &str {
    // The id is a UUID (five groups) and `.gz`.
    key.rsplitn(6, '-').last().unwrap_or(key)
}

/// Picks the window's records, each event once: a window that was replayed before is on the
/// stream (and in the archive) twice, and is sent once.
struct Selector<'a> {
    window: &'a Window,
    seen: HashSet<String>,
    totals: ReadTotals,
}

impl<'a> Selector<'a> {
    fn new(window: &'a Window) -> Self {
        Self {
            window,
            seen: HashSet::new(),
            totals: ReadTotals::default(),
        }
    }

    fn offer(&mut self, data: bytes::Bytes) -> Option<WindowRecord> {
        self.totals.read += 1;
        let Some(head) = super::Head::of(&data) else {
            self.totals.unreadable += 1;
            return None;
        };
        if !self.window.contains(&head) {
            return None;
        }
        if !self.seen.insert(head.id.clone()) {
            self.totals.duplicates += 1;
            return None;
        }
        self.totals.selected += 1;
        Some(WindowRecord::from_head(head, data))
    }
}

async fn list_shards(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
) -> Result<Vec<Shard>, Box<dyn std::error::Error + Send + Sync>> {
    let mut shards = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        // The stream name and a next token are mutually exclusive.
        let request = match &next_token {
            Some(token) => kinesis.list_shards().next_token(token),
            None => kinesis.list_shards().stream_name(stream),
        };
        let output = request.send().await?;
        shards.extend(output.shards().iter().cloned());
        match output.next_token {
            Some(token) => next_token = Some(token),
            None => return Ok(shards),
        }
    }
}

/// The shards in an order where every shard comes after its parents (those still listed), so a
/// customer's events from before a reshard come before those after it.
fn parents_first(shards: Vec<Shard>) -> Vec<Shard> {
    let listed: HashSet<String> = shards.iter().map(|s| s.shard_id().to_owned()).collect();
    let mut waiting: HashMap<String, Shard> = shards
        .into_iter()
        .map(|s| (s.shard_id().to_owned(), s))
        .collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut ordered = Vec::with_capacity(waiting.len());
    while !waiting.is_empty() {
        let mut ready: Vec<String> = waiting
            .values()
            .filter(|s| {
                [s.parent_shard_id(), s.adjacent_parent_shard_id()]
                    .into_iter()
                    .flatten()
                    .all(|p| done.contains(p) || !listed.contains(p))
            })
            .map(|s| s.shard_id().to_owned())
            .collect();
        if ready.is_empty() {
            // A cycle cannot happen in Kinesis; take the rest as listed rather than loop.
            ready = waiting.keys().cloned().collect();
        }
        ready.sort();
        for id in ready {
            if let Some(shard) = waiting.remove(&id) {
                done.insert(id);
                ordered.push(shard);
            }
        }
    }
    ordered
}

fn to_smithy(at: OffsetDateTime) -> aws_sdk_kinesis::primitives::DateTime {
    aws_sdk_kinesis::primitives::DateTime::from_millis(
        i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>, adjacent: Option<&str>) -> Shard {
        Shard::builder()
            .shard_id(id)
            .set_parent_shard_id(parent.map(str::to_owned))
            .set_adjacent_parent_shard_id(adjacent.map(str::to_owned))
            .hash_key_range(
                aws_sdk_kinesis::types::HashKeyRange::builder()
                    .starting_hash_key("0")
                    .ending_hash_key("1")
                    .build()
                    .expect("both keys"),
            )
            .sequence_number_range(
                aws_sdk_kinesis::types::SequenceNumberRange::builder()
                    .starting_sequence_number("0")
                    .build()
                    .expect("start"),
            )
            .build()
            .expect("required fields")
    }

    #[test]
    fn objects_written_in_the_same_second_share_a_group() {
        let a = "events/year=2026/month=11/day=25/hour=09/orders-archive-1-2026-11-25-09-14-03-8b0f6f2e-2f53-4d6a-9d4a-3f1c2b7e9a10.gz";
        let b = "events/year=2026/month=11/day=25/hour=09/orders-archive-1-2026-11-25-09-14-03-00000000-0000-0000-0000-000000000001.gz";
        let c = "events/year=2026/month=11/day=25/hour=09/orders-archive-1-2026-11-25-09-14-04-00000000-0000-0000-0000-000000000001.gz";
        assert_eq!(written_second(a), written_second(b));
        assert_ne!(written_second(b), written_second(c));
        assert!(written_second(a).ends_with("orders-archive-1-2026-11-25-09-14-03"));
    }

    #[test]
    fn children_come_after_both_parents_and_expired_parents_are_ignored() {
        let ordered = parents_first(vec![
            shard("merged", Some("b"), Some("a")),
            shard("b", Some("expired"), None),
            shard("a", None, None),
            shard("split-1", Some("merged"), None),
        ]);
        let ids: Vec<&str> = ordered.iter().map(|s| s.shard_id()).collect();
        assert_eq!(ids, ["a", "b", "merged", "split-1"]);
    }
}
