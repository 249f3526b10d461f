//! Shard leases and checkpoints of the standalone consumers, in DynamoDB: one item per
//! (consumer, shard), shared by every worker of that consumer.
//!
//! An item holds the shard's parents, its checkpoint (the last record done, and whether the
//! shard has been read to its end) and its lease: the worker that owns it, a counter and an
//! expiry. Every write by the owner or a taker bumps the counter and is conditional on the
//! counter it last saw (and on the owner, for the owner's writes), so a worker whose lease was
//! taken can neither renew it nor checkpoint: the write fails and the worker stops that shard.
//! A worker that wants a share of the shards asks the owner of one to hand it over
//! (`handoffTo`, which does not bump the counter); the owner finishes its batch, checkpoints
//! and releases, and the asker takes it. Only an expired lease is taken without asking.
//!
//! Lambda hosts need none of this: the event source mapping keeps its own checkpoints.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

use crate::store::create_consumer_table;

pub mod attr {
    pub const CONSUMER: &str = "consumer";
    pub const SHARD_ID: &str = "shardId";
    pub const PARENTS: &str = "parents";
    pub const SEQUENCE_NUMBER: &str = "sequenceNumber";
    pub const SHARD_ENDED: &str = "shardEnded";
    pub const OWNER: &str = "leaseOwner";
    pub const COUNTER: &str = "leaseCounter";
    pub const EXPIRES_AT: &str = "leaseExpiresAt";
    pub const HANDOFF_TO: &str = "handoffTo";
    pub const UPDATED_AT: &str = "updatedAt";
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// Last record done; `None` if none yet.
    pub sequence_number: Option<String>,
    pub shard_ended: bool,
}

/// A shard's item as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub shard_id: String,
    pub parents: Vec<String>,
    pub checkpoint: Checkpoint,
    /// The worker that holds it; `None` when free.
    pub owner: Option<String>,
    pub counter: u64,
    /// Milliseconds since the epoch after which the lease may be taken without asking.
    pub expires_at_ms: i64,
    /// A worker that asked the owner to hand it over.
    pub handoff_to: Option<String>,
}

impl Lease {
    /// Held by a worker whose lease has not expired by `now_ms`.
    pub fn live_owner(&self, now_ms: i64) -> Option<&str> {
        self.owner
            .as_deref()
            .filter(|_| self.expires_at_ms >= now_ms)
    }
}

/// A lease this worker holds: what its next conditional write expects.
#[derive(Debug, Clone)]
pub struct Held {
    pub shard_id: String,
    pub counter: u64,
    /// When the lease runs out unless renewed, in milliseconds since the epoch (this worker's
    /// clock). Past it, this worker stops the shard whether or not the table said so: another
    /// worker may take it then.
    pub expires_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The item's owner or counter changed: another worker holds the lease now.
    #[error("the lease of {0} was taken by another worker")]
    Lost(String),
    #[error("the lease table failed")]
    Table(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("a lease item is malformed: {0}")]
    Malformed(String),
}

/// Names this worker in the lease table; unique among the running workers of a consumer. A
/// worker started again under the same name takes its leases back at once instead of waiting
/// for them to expire. Default: the host name, the process id and a random suffix, unique
/// without relying on the host name being unique.
pub const WORKER_ID_ENV: &str = "CONSUMER_WORKER_ID";
/// How long a lease lasts unless renewed, in milliseconds (default 10,000). A worker renews
/// every third of it, and takes a dead worker's leases within it plus one renewal.
pub const LEASE_MS_ENV: &str = "CONSUMER_LEASE_MS";
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum WorkerConfigError {
    #[error("{LEASE_MS_ENV}={0}: expected milliseconds from 300 to 600000")]
    Lease(String),
    #[error("{WORKER_ID_ENV} is set but empty")]
    EmptyWorker,
}

/// A standalone worker's name and lease duration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    pub worker: String,
    pub lease: Duration,
}

impl WorkerConfig {
    /// From [`WORKER_ID_ENV`] and [`LEASE_MS_ENV`].
    pub fn from_env() -> Result<Self, WorkerConfigError> {
        Self::from_vars(
            std::env::var(WORKER_ID_ENV).ok(),
            std::env::var(LEASE_MS_ENV).ok(),
        )
    }

    fn from_vars(
        worker: Option<String>,
        lease_ms: Option<String>,
    ) -> Result<Self, WorkerConfigError> {
        let worker = match worker {
            Some(name) if name.trim().is_empty() => return Err(WorkerConfigError::EmptyWorker),
            Some(name) => name.trim().to_owned(),
            None => format!(
                "{}-{}-{}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into()),
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
        };
        let lease = match lease_ms {
            None => DEFAULT_LEASE,
            Some(value) => match value.trim().parse::<u64>() {
                Ok(ms @ 300..=600_000) => Duration::from_millis(ms),
                _ => return Err(WorkerConfigError::Lease(value)),
            },
        };
        Ok(Self { worker, lease })
    }
}

/// The lease table of one consumer, as seen by one worker.
#[derive(Clone)]
pub struct LeaseTable {
    client: Client,
    table: String,
    consumer: String,
    worker: String,
    duration: Duration,
}

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Whether `error` is DynamoDB's "the condition was not met".
fn condition_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    error: &SdkError<E, R>,
) -> bool {
    error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

fn table_error<E: std::error::Error + Send + Sync + 'static>(error: E) -> LeaseError {
    LeaseError::Table(Box::new(error))
}

impl LeaseTable {
    /// `worker` names this worker in the table (unique per process); `duration` is how long a
    /// lease lasts unless renewed.
    pub fn new(
        client: Client,
        table: impl Into<String>,
        consumer: impl Into<String>,
        worker: impl Into<String>,
        duration: Duration,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            consumer: consumer.into(),
            worker: worker.into(),
            duration,
        }
    }

    pub fn worker(&self) -> &str {
        &self.worker
    }

    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    pub fn duration(&self) -> Duration {
        self.duration
    }

    fn expiry(&self) -> i64 {
        now_ms() + self.duration.as_millis() as i64
    }

    /// Creates the shard's item, free and with no checkpoint, unless it exists.
    pub async fn ensure(&self, shard_id: &str, parents: &[String]) -> Result<(), LeaseError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::CONSUMER, s(&self.consumer))
            .item(attr::SHARD_ID, s(shard_id))
            .item(
                attr::PARENTS,
                AttributeValue::L(parents.iter().map(s).collect()),
            )
            .item(attr::SHARD_ENDED, AttributeValue::Bool(false))
            .item(attr::COUNTER, n(0))
            .item(attr::EXPIRES_AT, n(0))
            .condition_expression("attribute_not_exists(#shard)")
            .expression_attribute_names("#shard", attr::SHARD_ID)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if condition_failed(&error) => Ok(()),
            Err(error) => Err(table_error(error)),
        }
    }

    /// Every shard's item of this consumer.
    pub async fn list(&self) -> Result<Vec<Lease>, LeaseError> {
        let mut leases = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#consumer = :consumer")
            .expression_attribute_names("#consumer", attr::CONSUMER)
            .expression_attribute_values(":consumer", s(&self.consumer))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            leases.push(lease(&item.map_err(table_error)?)?);
        }
        Ok(leases)
    }

    /// One shard's item, if it exists.
    pub async fn load(&self, shard_id: &str) -> Result<Option<Lease>, LeaseError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::CONSUMER, s(&self.consumer))
            .key(attr::SHARD_ID, s(shard_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(table_error)?;
        output.item.as_ref().map(lease).transpose()
    }

    /// Takes `seen` (free, expired or handed over) if nothing was written to it since it was
    /// read; `None` if another worker got there first.
    pub async fn take(&self, seen: &Lease) -> Result<Option<(Held, Lease)>, LeaseError> {
        let expires_at_ms = self.expiry();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::CONSUMER, s(&self.consumer))
            .key(attr::SHARD_ID, s(&seen.shard_id))
            .update_expression(
                "SET #owner = :me, #counter = #counter + :one, #expires = :expires REMOVE #handoff",
            )
            .condition_expression("#counter = :seen")
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_names("#counter", attr::COUNTER)
            .expression_attribute_names("#expires", attr::EXPIRES_AT)
            .expression_attribute_names("#handoff", attr::HANDOFF_TO)
            .expression_attribute_values(":me", s(&self.worker))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(expires_at_ms))
            .expression_attribute_values(":seen", n(seen.counter))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let lease = lease(&output.attributes.unwrap_or_default())?;
                let held = Held {
                    shard_id: lease.shard_id.clone(),
                    counter: lease.counter,
                    expires_at_ms,
                };
                Ok(Some((held, lease)))
            }
            Err(error) if condition_failed(&error) => Ok(None),
            Err(error) => Err(table_error(error)),
        }
    }

    /// A write by the holder of `held`: bumps the counter, conditional on owner and counter.
    /// Returns the item as written.
    async fn write_held(
        &self,
        held: &mut Held,
        set: &str,
        values: Vec<(&str, AttributeValue)>,
        remove: &str,
        expires_at_ms: i64,
    ) -> Result<Lease, LeaseError> {
        let mut update = format!("SET #counter = #counter + :one, #expires = :expires{set}");
        if !remove.is_empty() {
            update.push_str(" REMOVE ");
            update.push_str(remove);
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::CONSUMER, s(&self.consumer))
            .key(attr::SHARD_ID, s(&held.shard_id))
            .update_expression(&update)
            .condition_expression("#owner = :me AND #counter = :held")
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_names("#counter", attr::COUNTER)
            .expression_attribute_names("#expires", attr::EXPIRES_AT)
            .expression_attribute_values(":me", s(&self.worker))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":held", n(held.counter))
            .expression_attribute_values(":expires", n(expires_at_ms))
            .return_values(ReturnValue::AllNew);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        for (placeholder, name) in [
            ("#sequence", attr::SEQUENCE_NUMBER),
            ("#ended", attr::SHARD_ENDED),
            ("#updated", attr::UPDATED_AT),
            ("#handoff", attr::HANDOFF_TO),
        ] {
            if update.contains(placeholder) {
                request = request.expression_attribute_names(placeholder, name);
            }
        }
        match request.send().await {
            Ok(output) => {
                let lease = lease(&output.attributes.unwrap_or_default())?;
                held.counter = lease.counter;
                held.expires_at_ms = expires_at_ms;
                Ok(lease)
            }
            Err(error) if condition_failed(&error) => Err(LeaseError::Lost(held.shard_id.clone())),
            Err(error) => Err(table_error(error)),
        }
    }

    /// Extends the lease; returns the worker that asked for it to be handed over, if any.
    pub async fn renew(&self, held: &mut Held) -> Result<Option<String>, LeaseError> {
        let lease = self
            .write_held(held, "", Vec::new(), "", self.expiry())
            .await?;
        Ok(lease.handoff_to)
    }

    /// Records `checkpoint` (which also proves the holder alive, so it extends the lease).
    pub async fn checkpoint(
        &self,
        held: &mut Held,
        checkpoint: &Checkpoint,
    ) -> Result<(), LeaseError> {
        let mut set = ", #ended = :ended, #updated = :updated".to_owned();
        let mut values = vec![
            (":ended", AttributeValue::Bool(checkpoint.shard_ended)),
            (
                ":updated",
                s(ingest::order::sortable_time::format(
                    OffsetDateTime::now_utc(),
                )),
            ),
        ];
        if let Some(sequence_number) = &checkpoint.sequence_number {
            set.push_str(", #sequence = :sequence");
            values.push((":sequence", s(sequence_number)));
        }
        self.write_held(held, &set, values, "", self.expiry())
            .await
            .map(drop)
    }

    /// Gives the lease up at once, so another worker may take it without waiting for it to
    /// expire.
    pub async fn release(&self, held: &mut Held) -> Result<(), LeaseError> {
        self.write_held(held, "", Vec::new(), "#owner, #handoff", 0)
            .await
            .map(drop)
    }

    /// Asks the owner of `seen` to hand it over to this worker. Leaves the counter alone, so
    /// the owner's next renewal succeeds and tells it.
    pub async fn ask_handoff(&self, seen: &Lease) -> Result<bool, LeaseError> {
        let Some(owner) = &seen.owner else {
            return Ok(false);
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::CONSUMER, s(&self.consumer))
            .key(attr::SHARD_ID, s(&seen.shard_id))
            .update_expression("SET #handoff = :me")
            .condition_expression(
                "#owner = :owner AND #counter = :seen AND attribute_not_exists(#handoff)",
            )
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_names("#counter", attr::COUNTER)
            .expression_attribute_names("#handoff", attr::HANDOFF_TO)
            .expression_attribute_values(":me", s(&self.worker))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":seen", n(seen.counter))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if condition_failed(&error) => Ok(false),
            Err(error) => Err(table_error(error)),
        }
    }
}

fn lease(item: &HashMap<String, AttributeValue>) -> Result<Lease, LeaseError> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let number = |name: &str| -> Result<i64, LeaseError> {
        match item.get(name) {
            None => Ok(0),
            Some(value) => value
                .as_n()
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| LeaseError::Malformed(format!("{name} is not a number"))),
        }
    };
    let shard_id =
        text(attr::SHARD_ID).ok_or_else(|| LeaseError::Malformed("no shardId".into()))?;
    Ok(Lease {
        parents: item
            .get(attr::PARENTS)
            .and_then(|v| v.as_l().ok())
            .map(|parents| {
                parents
                    .iter()
                    .filter_map(|p| p.as_s().ok().cloned())
                    .collect()
            })
            .unwrap_or_default(),
        checkpoint: Checkpoint {
            sequence_number: text(attr::SEQUENCE_NUMBER),
            shard_ended: item
                .get(attr::SHARD_ENDED)
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
        },
        owner: text(attr::OWNER),
        counter: u64::try_from(number(attr::COUNTER)?)
            .map_err(|_| LeaseError::Malformed("a negative counter".into()))?,
        expires_at_ms: number(attr::EXPIRES_AT)?,
        handoff_to: text(attr::HANDOFF_TO),
        shard_id,
    })
}

pub async fn create_lease_table(
    client: &Client,
    table: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    create_consumer_table(client, table, attr::CONSUMER, attr::SHARD_ID, None).await
}

/// What a worker does with the leases at one look at the table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Leases to take now (free, expired, or handed over), in order.
    pub take: Vec<Lease>,
    /// A lease to ask its owner for, when this worker has fewer than its share and none is
    /// free: from the worker that holds the most.
    pub ask: Option<Lease>,
}

/// Decides which leases `me` takes, so that every worker ends up with an even share of the
/// shards that may be read now, and no child is read before its parents are read to their end.
///
/// A shard may be read when it is not ended and each parent is ended in the table, or has no
/// item and is no longer listed by the stream (trimmed). The workers are `me` and every owner
/// of a live lease; each should hold `ceil(readable / workers)`. `me` takes free and expired
/// leases up to that, and when none is left while another worker holds more than its share,
/// asks that worker for one. A lease the table says `me` holds but `me` is not `reading` (a
/// worker started again under the same name) counts as free for `me`: taking it bumps its
/// counter, so whatever the earlier process still does can write nothing.
pub fn plan(
    leases: &[Lease],
    listed: &HashSet<String>,
    me: &str,
    reading: &HashSet<String>,
    now_ms: i64,
) -> Plan {
    let by_shard: HashMap<&str, &Lease> = leases.iter().map(|l| (l.shard_id.as_str(), l)).collect();
    let parent_ended = |parent: &String| match by_shard.get(parent.as_str()) {
        Some(lease) => lease.checkpoint.shard_ended,
        None => !listed.contains(parent),
    };
    let readable: Vec<&Lease> = leases
        .iter()
        .filter(|l| !l.checkpoint.shard_ended && l.parents.iter().all(parent_ended))
        .collect();
    if readable.is_empty() {
        return Plan::default();
    }
    let mut held_by: HashMap<&str, Vec<&Lease>> = HashMap::new();
    held_by.insert(me, Vec::new());
    for lease in &readable {
        if let Some(owner) = holder(lease, me, reading, now_ms) {
            held_by.entry(owner).or_default().push(lease);
        }
    }
    let share = readable.len().div_ceil(held_by.len());
    let mine = held_by.get(me).map_or(0, Vec::len);
    if mine >= share {
        return Plan::default();
    }
    let wanted = share - mine;
    // Free ones first, in an order of this worker's own, so that workers starting together
    // rarely reach for the same lease.
    let mut free: Vec<&Lease> = readable
        .iter()
        .copied()
        .filter(|l| holder(l, me, reading, now_ms).is_none())
        .collect();
    free.sort_by_key(|l| spread(me, &l.shard_id));
    let take: Vec<Lease> = free.into_iter().take(wanted).cloned().collect();
    let ask = if take.len() < wanted {
        held_by
            .iter()
            .filter(|(owner, held)| **owner != me && held.len() > share)
            .max_by_key(|(owner, held)| (held.len(), *owner))
            .and_then(|(_, held)| held.iter().find(|l| l.handoff_to.is_none()))
            .map(|l| (*l).clone())
    } else {
        None
    };
    Plan { take, ask }
}

/// Who holds `lease` as `me` sees it: its live owner, unless that is `me` by name only.
fn holder<'a>(
    lease: &'a Lease,
    me: &str,
    reading: &HashSet<String>,
    now_ms: i64,
) -> Option<&'a str> {
    lease
        .live_owner(now_ms)
        .filter(|owner| *owner != me || reading.contains(&lease.shard_id))
}

/// A stable, worker-specific order of shards (FNV-1a of worker and shard).
fn spread(worker: &str, shard_id: &str) -> u64 {
    worker
        .bytes()
        .chain([0])
        .chain(shard_id.bytes())
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn lease(shard: &str, owner: Option<&str>) -> Lease {
        Lease {
            shard_id: shard.into(),
            parents: Vec::new(),
            checkpoint: Checkpoint::default(),
            owner: owner.map(Into::into),
            counter: 1,
            expires_at_ms: NOW + 5_000,
            handoff_to: None,
        }
    }

    fn none() -> HashSet<String> {
        HashSet::new()
    }

    /// What `worker` reads: every lease the table says it holds.
    fn reading_all(leases: &[Lease], worker: &str) -> HashSet<String> {
        leases
            .iter()
            .filter(|l| l.owner.as_deref() == Some(worker))
            .map(|l| l.shard_id.clone())
            .collect()
    }

    fn shards(plan: &Plan) -> Vec<&str> {
        plan.take.iter().map(|l| l.shard_id.as_str()).collect()
    }

    fn listed(shards: &[&str]) -> HashSet<String> {
        shards.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_worker_config_takes_its_name_and_lease_and_refuses_nonsense() {
        let config = WorkerConfig::from_vars(Some("w1".into()), Some("3000".into()));
        assert_eq!(
            config.ok(),
            Some(WorkerConfig {
                worker: "w1".into(),
                lease: Duration::from_secs(3)
            })
        );
        let default = WorkerConfig::from_vars(None, None).expect("defaults");
        assert_eq!(default.lease, DEFAULT_LEASE);
        assert!(
            default
                .worker
                .contains(&format!("-{}-", std::process::id()))
        );
        let again = WorkerConfig::from_vars(None, None).expect("defaults");
        assert_ne!(default.worker, again.worker, "unique per start");
        assert!(WorkerConfig::from_vars(Some(" ".into()), None).is_err());
        for bad in ["0", "299", "600001", "ten", "-5"] {
            assert!(
                WorkerConfig::from_vars(None, Some(bad.into())).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_lone_worker_takes_every_free_lease() {
        let leases: Vec<Lease> = ["s0", "s1", "s2", "s3"]
            .iter()
            .map(|s| lease(s, None))
            .collect();
        let plan = plan(
            &leases,
            &listed(&["s0", "s1", "s2", "s3"]),
            "a",
            &none(),
            NOW,
        );
        assert_eq!(plan.take.len(), 4);
        assert_eq!(plan.ask, None);
    }

    #[test]
    fn a_second_worker_asks_for_one_lease_at_a_time_until_even() {
        let all = listed(&["s0", "s1", "s2", "s3"]);
        let mut leases: Vec<Lease> = ["s0", "s1", "s2", "s3"]
            .iter()
            .map(|s| lease(s, Some("a")))
            .collect();
        let first = plan(&leases, &all, "b", &none(), NOW);
        assert!(first.take.is_empty());
        let asked = first.ask.expect("asks a for one");
        assert_eq!(asked.owner.as_deref(), Some("a"));
        // a handed it over and b took it; b asks for one more, then is content.
        leases.retain(|l| l.shard_id != asked.shard_id);
        leases.push(lease(&asked.shard_id, Some("b")));
        let second = plan(&leases, &all, "b", &reading_all(&leases, "b"), NOW);
        assert!(second.ask.is_some());
        let asked = second.ask.expect("one more");
        leases.retain(|l| l.shard_id != asked.shard_id);
        leases.push(lease(&asked.shard_id, Some("b")));
        assert_eq!(
            plan(&leases, &all, "b", &reading_all(&leases, "b"), NOW),
            Plan::default()
        );
        // a, holding its share, asks nothing back.
        assert_eq!(
            plan(&leases, &all, "a", &reading_all(&leases, "a"), NOW),
            Plan::default()
        );
    }

    #[test]
    fn the_leases_of_a_dead_worker_are_taken_once_expired() {
        let all = listed(&["s0", "s1", "s2", "s3"]);
        let mut leases = vec![
            lease("s0", Some("a")),
            lease("s1", Some("a")),
            lease("s2", Some("dead")),
            lease("s3", Some("dead")),
        ];
        // Not yet expired: a holds its share of 4 among 2 workers.
        assert_eq!(
            plan(&leases, &all, "a", &reading_all(&leases, "a"), NOW),
            Plan::default()
        );
        for l in &mut leases[2..] {
            l.expires_at_ms = NOW - 1;
        }
        let plan = plan(&leases, &all, "a", &reading_all(&leases, "a"), NOW);
        assert_eq!(shards(&plan).len(), 2);
        assert!(shards(&plan).iter().all(|s| ["s2", "s3"].contains(s)));
    }

    #[test]
    fn a_child_waits_for_every_parent_to_end() {
        let mut parent_a = lease("p0", Some("a"));
        let parent_b = lease("p1", None);
        let mut child = lease("c0", None);
        child.parents = vec!["p0".into(), "p1".into()];
        let all = listed(&["p0", "p1", "c0"]);
        let leases = vec![parent_a.clone(), parent_b.clone(), child.clone()];
        // Both parents open: the child is not readable; the free parent is.
        assert_eq!(shards(&plan(&leases, &all, "b", &none(), NOW)), vec!["p1"]);
        parent_a.checkpoint.shard_ended = true;
        let leases = vec![parent_a.clone(), parent_b.clone(), child.clone()];
        assert_eq!(shards(&plan(&leases, &all, "b", &none(), NOW)), vec!["p1"]);
        let mut ended_b = parent_b;
        ended_b.checkpoint.shard_ended = true;
        let leases = vec![parent_a, ended_b, child];
        assert_eq!(shards(&plan(&leases, &all, "b", &none(), NOW)), vec!["c0"]);
    }

    #[test]
    fn a_trimmed_parent_counts_as_ended_but_an_unknown_listed_one_does_not() {
        let mut child = lease("c0", None);
        child.parents = vec!["p0".into()];
        let leases = vec![child];
        // p0 still listed but without an item yet (discovered later): wait.
        assert!(
            plan(&leases, &listed(&["p0", "c0"]), "a", &none(), NOW)
                .take
                .is_empty()
        );
        // p0 trimmed from the stream: nothing left to read in it.
        assert_eq!(
            shards(&plan(&leases, &listed(&["c0"]), "a", &none(), NOW)),
            vec!["c0"]
        );
    }

    #[test]
    fn a_worker_started_again_under_its_name_takes_its_leases_back_at_once() {
        let all = listed(&["s0", "s1"]);
        let leases = vec![lease("s0", Some("a")), lease("s1", Some("a"))];
        // The table says a holds both, unexpired; the new process named a reads neither.
        assert_eq!(shards(&plan(&leases, &all, "a", &none(), NOW)).len(), 2);
        // Another worker must still wait or ask.
        assert!(plan(&leases, &all, "b", &none(), NOW).take.is_empty());
    }

    #[test]
    fn ended_shards_count_for_nobody() {
        let mut ended = lease("s0", Some("a"));
        ended.checkpoint.shard_ended = true;
        let leases = vec![ended, lease("s1", None)];
        assert_eq!(
            shards(&plan(&leases, &listed(&["s0", "s1"]), "b", &none(), NOW)),
            vec!["s1"]
        );
    }

    #[test]
    fn a_lease_already_asked_for_is_not_asked_again() {
        let all = listed(&["s0", "s1", "s2"]);
        let mut leases: Vec<Lease> = ["s0", "s1", "s2"]
            .iter()
            .map(|s| lease(s, Some("a")))
            .collect();
        for l in &mut leases {
            l.handoff_to = Some("c".into());
        }
        assert_eq!(plan(&leases, &all, "b", &none(), NOW).ask, None);
    }

    #[test]
    fn workers_starting_together_reach_for_different_leases_first() {
        let shards_listed: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
        let leases: Vec<Lease> = shards_listed.iter().map(|s| lease(s, None)).collect();
        let all: HashSet<String> = shards_listed.iter().cloned().collect();
        let a = plan(&leases, &all, "worker-a", &none(), NOW);
        let b = plan(&leases, &all, "worker-b", &none(), NOW);
        assert_ne!(a.take[0].shard_id, b.take[0].shard_id);
    }
}
