//! Verifies a deployed stack end to end, from its Pulumi outputs: a throwaway Cognito user
//! sends the shared API Gateway test vectors (`ingest/api-gateway/vectors.json`) with fresh
//! order ids, each record then read from the stream is compared byte for byte with the
//! vector's expected envelope, the orders are read back through `GET`, no dead letter may
//! appear, and optionally the records must reach the archive. The user is deleted at the end,
//! whatever happened. Run by `verify-stack`; tested against the local stack.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, MessageActionType};
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ShardIteratorType;
use ingest::error_chain;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;
use uuid::Uuid;

use crate::client;

/// The vectors the local gateway's code writes and the Pulumi tests render the mapping
/// templates against.
const VECTORS: &str = include_str!("../../ingest/api-gateway/vectors.json");

/// The stack outputs the check needs (`pulumi stack output --json`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackOutputs {
    pub api_url: String,
    pub user_pool_id: String,
    /// The app client Pulumi creates with `verifierClient: true`.
    pub verifier_client_id: Option<String>,
    pub stream_name: String,
    pub dead_letter_bucket: String,
    pub archive_bucket: String,
}

/// The AWS clients, from the usual configuration (endpoints included, for the local stack).
pub struct Clients {
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub kinesis: aws_sdk_kinesis::Client,
    pub s3: aws_sdk_s3::Client,
    pub http: reqwest::Client,
}

pub struct VerifyOptions {
    /// How long to wait for the records on the stream and the orders behind `GET`.
    pub timeout: Duration,
    /// Also wait this long for the records to reach the archive bucket.
    pub archive_timeout: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "the stack has no verifier app client (verifierClientId): set `pulumi config set verifierClient true` and run pulumi up"
    )]
    NoVerifierClient,
    #[error("creating the throwaway user in the user pool: {0}")]
    User(String),
    #[error("the embedded test vectors: {0}")]
    Vectors(String),
}

/// One check and how it went.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub ok: bool,
    /// The throwaway user's `sub`: the customer id of the orders this run placed.
    pub customer_id: String,
    pub order_ids: Vec<Uuid>,
    pub checks: Vec<Check>,
    /// Whether the throwaway user was deleted.
    pub user_deleted: bool,
}

#[derive(Deserialize)]
struct Vectors {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    name: String,
    batch: bool,
    body: String,
    claims: BTreeMap<String, String>,
    request_id: String,
    request_time_epoch: i64,
    expected: Option<Expected>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Expected {
    One(ExpectedRecord),
    Many(Vec<ExpectedRecord>),
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExpectedRecord {
    data: String,
    partition_key: String,
}

/// A vector as this run sends it: fresh order ids, and what the stream must then hold.
struct Sent {
    name: String,
    /// Original order id (lower case) to the fresh one.
    fresh: HashMap<String, Uuid>,
    expected: Vec<ExpectedRecord>,
    vector_sub: String,
    vector_request_id: String,
    vector_time: String,
}

/// Runs every check; `Err` only when the run could not start (no user, bad vectors).
pub async fn verify(
    outputs: &StackOutputs,
    clients: &Clients,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    let client_id = outputs
        .verifier_client_id
        .as_deref()
        .ok_or(VerifyError::NoVerifierClient)?;
    let vectors: Vectors =
        serde_json::from_str(VECTORS).map_err(|e| VerifyError::Vectors(e.to_string()))?;
    // A little before now, for clocks a little apart.
    let started = OffsetDateTime::now_utc() - time::Duration::seconds(5);
    let user = ThrowawayUser::create(&clients.cognito, &outputs.user_pool_id, client_id).await?;
    let mut checks = Vec::new();
    let sent = place_orders(outputs, clients, &user, &vectors, &mut checks).await;
    let order_ids: Vec<Uuid> = sent
        .iter()
        .flat_map(|s| s.fresh.values().copied())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !sent.is_empty() {
        compare_records(
            outputs,
            clients,
            &user.sub,
            &sent,
            started,
            options,
            &mut checks,
        )
        .await;
        read_back(outputs, clients, &user, &order_ids, options, &mut checks).await;
    }
    checks.push(no_new_dead_letters(outputs, clients, started).await);
    if let Some(timeout) = options.archive_timeout {
        checks.push(archived(outputs, clients, &order_ids, started, timeout).await);
    }
    let user_deleted = user.delete(&clients.cognito).await;
    Ok(Report {
        ok: checks.iter().all(|c| c.ok) && user_deleted,
        customer_id: user.sub,
        order_ids,
        checks,
        user_deleted,
    })
}

/// A user made for one run: a random `@example.invalid` address and password.
struct ThrowawayUser {
    pool: String,
    username: String,
    sub: String,
    id_token: String,
}

impl ThrowawayUser {
    async fn create(
        cognito: &aws_sdk_cognitoidentityprovider::Client,
        pool: &str,
        client_id: &str,
    ) -> Result<Self, VerifyError> {
        let username = format!("verify-stack-{}@example.invalid", Uuid::new_v4().simple());
        // Meets any Cognito password policy: long, mixed case, digits and a symbol.
        let password = format!(
            "Vs-{}-{}!9a",
            Uuid::new_v4().simple(),
            Uuid::new_v4().simple()
        );
        let attribute = |name: &str, value: &str| {
            AttributeType::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|e| VerifyError::User(error_chain(&e)))
        };
        cognito
            .admin_create_user()
            .user_pool_id(pool)
            .username(&username)
            .temporary_password(&password)
            .message_action(MessageActionType::Suppress)
            .user_attributes(attribute("email", &username)?)
            .user_attributes(attribute("email_verified", "true")?)
            .send()
            .await
            .map_err(|e| VerifyError::User(format!("AdminCreateUser: {}", error_chain(&e))))?;
        let mut user = Self {
            pool: pool.to_owned(),
            username,
            sub: String::new(),
            id_token: String::new(),
        };
        match user.sign_in(cognito, client_id, &password).await {
            Ok(()) => Ok(user),
            Err(error) => {
                user.delete(cognito).await;
                Err(error)
            }
        }
    }

    async fn sign_in(
        &mut self,
        cognito: &aws_sdk_cognitoidentityprovider::Client,
        client_id: &str,
        password: &str,
    ) -> Result<(), VerifyError> {
        let failed = |call: &str, e: &dyn std::error::Error| {
            VerifyError::User(format!("{call}: {}", error_chain(e)))
        };
        cognito
            .admin_set_user_password()
            .user_pool_id(&self.pool)
            .username(&self.username)
            .password(password)
            .permanent(true)
            .send()
            .await
            .map_err(|e| failed("AdminSetUserPassword", &e))?;
        let user = cognito
            .admin_get_user()
            .user_pool_id(&self.pool)
            .username(&self.username)
            .send()
            .await
            .map_err(|e| failed("AdminGetUser", &e))?;
        self.sub = user
            .user_attributes()
            .iter()
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value())
            .ok_or_else(|| VerifyError::User("the new user has no sub".into()))?
            .to_owned();
        let auth = cognito
            .admin_initiate_auth()
            .user_pool_id(&self.pool)
            .client_id(client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", &self.username)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(|e| failed("AdminInitiateAuth", &e))?;
        self.id_token = auth
            .authentication_result()
            .and_then(|r| r.id_token())
            .ok_or_else(|| {
                VerifyError::User(format!(
                    "signing in gave no ID token (challenge {:?})",
                    auth.challenge_name()
                ))
            })?
            .to_owned();
        Ok(())
    }

    /// Deletes the user; whether it is gone.
    async fn delete(&self, cognito: &aws_sdk_cognitoidentityprovider::Client) -> bool {
        match cognito
            .admin_delete_user()
            .user_pool_id(&self.pool)
            .username(&self.username)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(
                    user = self.username,
                    error = error_chain(&e),
                    "deleting the throwaway user"
                );
                false
            }
        }
    }
}

/// `2026-11-18T11:15:30.007Z`, as the envelope writes a request's time.
fn envelope_time(epoch_ms: i64) -> Option<String> {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000).ok()?;
    let text = at.format(&Rfc3339).ok()?;
    // Rfc3339 drops trailing zeros of the fraction; the envelope keeps three digits.
    let (seconds, _) = text
        .split_once('.')
        .unwrap_or((text.trim_end_matches('Z'), ""));
    Some(format!("{seconds}.{:03}Z", epoch_ms.rem_euclid(1000)))
}

/// Every order id in a vector's body, as written there.
fn order_ids_in(body: &str, batch: bool) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    let orders = if batch {
        value["orders"].as_array().cloned().unwrap_or_default()
    } else {
        vec![value]
    };
    orders
        .iter()
        .filter_map(|o| o["orderId"].as_str().map(str::to_owned))
        .collect()
}

/// Sends every vector a signed-in customer can send (those with a `sub` and an expected record)
/// with fresh order ids.
async fn place_orders(
    outputs: &StackOutputs,
    clients: &Clients,
    user: &ThrowawayUser,
    vectors: &Vectors,
    checks: &mut Vec<Check>,
) -> Vec<Sent> {
    let api = outputs.api_url.trim_end_matches('/');
    let mut sent = Vec::new();
    for case in &vectors.cases {
        let (Some(expected), Some(vector_sub)) = (&case.expected, case.claims.get("sub")) else {
            continue;
        };
        if vector_sub.is_empty() {
            continue;
        }
        let Some(vector_time) = envelope_time(case.request_time_epoch) else {
            continue;
        };
        let mut body = case.body.clone();
        let mut fresh = HashMap::new();
        for written in order_ids_in(&case.body, case.batch) {
            let new = *fresh
                .entry(written.to_lowercase())
                .or_insert_with(Uuid::new_v4);
            let replacement = if written.chars().any(|c| c.is_ascii_uppercase()) {
                new.to_string().to_uppercase()
            } else {
                new.to_string()
            };
            body = body.replace(&written, &replacement);
        }
        let path = if case.batch { "orders:batch" } else { "orders" };
        let answer = client::post(
            &clients.http,
            &format!("{api}/{path}"),
            Some(&user.id_token),
            "application/json",
            body.into_bytes(),
        )
        .await;
        let accepted = if case.batch {
            answer.status == 200
                && answer.body["results"]
                    .as_array()
                    .is_some_and(|r| r.iter().all(|e| e["status"] == 202))
        } else {
            answer.status == 202
        };
        checks.push(Check {
            name: format!("POST {}", case.name),
            ok: accepted,
            detail: format!("{} {}", answer.status, answer.body),
        });
        if accepted {
            sent.push(Sent {
                name: case.name.clone(),
                fresh,
                expected: match expected {
                    Expected::One(record) => vec![record.clone()],
                    Expected::Many(records) => records.clone(),
                },
                vector_sub: vector_sub.clone(),
                vector_request_id: case.request_id.clone(),
                vector_time,
            });
        }
    }
    sent
}

/// Reads the stream from `started` until every expected record is there (or the timeout),
/// and compares each with its vector's envelope, byte for byte, after putting this run's
/// request id, time, customer and order ids in the vector's place.
async fn compare_records(
    outputs: &StackOutputs,
    clients: &Clients,
    sub: &str,
    sent: &[Sent],
    started: OffsetDateTime,
    options: &VerifyOptions,
    checks: &mut Vec<Check>,
) {
    let wanted: usize = sent.iter().map(|s| s.expected.len()).sum();
    let records = match read_customer_records(
        outputs,
        clients,
        sub,
        started,
        wanted,
        options.timeout,
    )
    .await
    {
        Ok(records) => records,
        Err(error) => {
            checks.push(Check {
                name: "read the stream".into(),
                ok: false,
                detail: error,
            });
            return;
        }
    };
    let envelopes: Vec<(Value, &Vec<u8>)> = records
        .iter()
        .filter_map(|data| Some((serde_json::from_slice(data).ok()?, data)))
        .collect();
    for s in sent {
        for (i, expected) in s.expected.iter().enumerate() {
            let name = format!("stream record of {} #{}", s.name, i + 1);
            let Ok(vector_envelope) = serde_json::from_str::<Value>(&expected.data) else {
                continue;
            };
            let id_suffix = vector_envelope["id"]
                .as_str()
                .and_then(|id| id.strip_prefix(&s.vector_request_id))
                .unwrap_or_default()
                .to_owned();
            let subject = vector_envelope["subject"]
                .as_str()
                .and_then(|o| s.fresh.get(&o.to_lowercase()))
                .map(Uuid::to_string)
                .unwrap_or_default();
            let actual = envelopes.iter().find(|(envelope, _)| {
                envelope["subject"] == subject.as_str()
                    && envelope["id"]
                        .as_str()
                        .is_some_and(|id| id.ends_with(&id_suffix))
            });
            let Some((envelope, data)) = actual else {
                checks.push(Check {
                    name,
                    ok: false,
                    detail: format!("no record for order {subject} on the stream"),
                });
                continue;
            };
            let actual_id = envelope["id"].as_str().unwrap_or_default();
            let request_id = actual_id.strip_suffix(&id_suffix).unwrap_or(actual_id);
            let time = envelope["time"].as_str().unwrap_or_default();
            let mut want = expected
                .data
                .replace(&s.vector_request_id, request_id)
                .replace(
                    &format!("\"time\":\"{}\"", s.vector_time),
                    &format!("\"time\":\"{time}\""),
                )
                .replace(&format!("\"{}\"", s.vector_sub), &format!("\"{sub}\""));
            for (original, new) in &s.fresh {
                want = want.replace(original, &new.to_string());
            }
            let partition_ok = expected.partition_key == s.vector_sub;
            checks.push(Check {
                ok: want.as_bytes() == data.as_slice() && partition_ok,
                detail: if want.as_bytes() == data.as_slice() {
                    format!("{} bytes, identical", data.len())
                } else {
                    first_difference(want.as_bytes(), data)
                },
                name,
            });
        }
    }
}

/// Where two byte strings first differ, with some context of each.
fn first_difference(want: &[u8], got: &[u8]) -> String {
    let at = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let around = |bytes: &[u8]| {
        let from = at.saturating_sub(40);
        String::from_utf8_lossy(&bytes[from..(at + 40).min(bytes.len())]).into_owned()
    };
    format!(
        "differs at byte {at} (expected {} bytes, got {}): expected …{}… got …{}…",
        want.len(),
        got.len(),
        around(want),
        around(got)
    )
}

/// The data of every record under `sub`'s partition key since `started`, once `wanted` are
/// there or `timeout` has passed.
async fn read_customer_records(
    outputs: &StackOutputs,
    clients: &Clients,
    sub: &str,
    started: OffsetDateTime,
    wanted: usize,
    timeout: Duration,
) -> Result<Vec<Vec<u8>>, String> {
    let kinesis = &clients.kinesis;
    let shards = kinesis
        .list_shards()
        .stream_name(&outputs.stream_name)
        .send()
        .await
        .map_err(|e| format!("ListShards: {}", error_chain(&e)))?;
    let since = DateTime::from_millis((started.unix_timestamp_nanos() / 1_000_000) as i64);
    let mut iterators = Vec::new();
    for shard in shards.shards() {
        let iterator = kinesis
            .get_shard_iterator()
            .stream_name(&outputs.stream_name)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::AtTimestamp)
            .timestamp(since)
            .send()
            .await
            .map_err(|e| format!("GetShardIterator: {}", error_chain(&e)))?;
        iterators.push(iterator.shard_iterator().map(str::to_owned));
    }
    let deadline = Instant::now() + timeout;
    let mut found = Vec::new();
    while found.len() < wanted && Instant::now() < deadline {
        for iterator in &mut iterators {
            let Some(current) = iterator.clone() else {
                continue;
            };
            let page = kinesis
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .map_err(|e| format!("GetRecords: {}", error_chain(&e)))?;
            found.extend(
                page.records()
                    .iter()
                    .filter(|r| r.partition_key() == Some(sub))
                    .map(|r| r.data().as_ref().to_vec()),
            );
            *iterator = page.next_shard_iterator().map(str::to_owned);
        }
        if found.len() < wanted {
            // GetRecords allows five calls a second per shard.
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
    }
    Ok(found)
}

/// `GET /orders/{id}` for each order until it is there under this customer.
async fn read_back(
    outputs: &StackOutputs,
    clients: &Clients,
    user: &ThrowawayUser,
    order_ids: &[Uuid],
    options: &VerifyOptions,
    checks: &mut Vec<Check>,
) {
    let api = outputs.api_url.trim_end_matches('/');
    for order_id in order_ids {
        let deadline = Instant::now() + options.timeout;
        let mut last = String::new();
        let mut ok = false;
        while Instant::now() < deadline {
            match clients
                .http
                .get(format!("{api}/orders/{order_id}"))
                .bearer_auth(&user.id_token)
                .send()
                .await
            {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    last = format!("{status} {body}");
                    if status == 200 {
                        ok = body["customerId"] == user.sub.as_str();
                        break;
                    }
                }
                Err(e) => last = error_chain(&e),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        checks.push(Check {
            name: format!("GET /orders/{order_id}"),
            ok,
            detail: last,
        });
    }
}

/// Keys and write times of every object under `prefix`.
async fn list(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<(String, Option<OffsetDateTime>)>, String> {
    let mut objects = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("listing {bucket}: {}", error_chain(&e)))?;
        for object in page.contents() {
            let written = object
                .last_modified()
                .and_then(|at| OffsetDateTime::from_unix_timestamp_nanos(at.as_nanos()).ok());
            objects.push((object.key().unwrap_or_default().to_owned(), written));
        }
    }
    Ok(objects)
}

/// No dead letter written since the run started (older ones are counted, not judged: they
/// belong to earlier incidents, and the runbooks deal with them).
async fn no_new_dead_letters(
    outputs: &StackOutputs,
    clients: &Clients,
    started: OffsetDateTime,
) -> Check {
    let name = "no new dead letters".to_owned();
    match list(&clients.s3, &outputs.dead_letter_bucket, "").await {
        Ok(objects) => {
            let new: Vec<&String> = objects
                .iter()
                .filter(|(_, at)| at.is_none_or(|at| at >= started))
                .map(|(key, _)| key)
                .collect();
            Check {
                name,
                ok: new.is_empty(),
                detail: format!(
                    "{} new, {} older in {}{}",
                    new.len(),
                    objects.len() - new.len(),
                    outputs.dead_letter_bucket,
                    new.first()
                        .map(|k| format!("; first new: {k}"))
                        .unwrap_or_default()
                ),
            }
        }
        Err(detail) => Check {
            name,
            ok: false,
            detail,
        },
    }
}

/// Every order this run placed is in an archive object written since it started.
async fn archived(
    outputs: &StackOutputs,
    clients: &Clients,
    order_ids: &[Uuid],
    started: OffsetDateTime,
    timeout: Duration,
) -> Check {
    let name = "archived".to_owned();
    let events = analytics::layout::layout().events_folder(OffsetDateTime::now_utc());
    let prefix = format!("{}/", events.split('/').next().unwrap_or_default());
    let mut missing: HashSet<String> = order_ids.iter().map(Uuid::to_string).collect();
    let mut read = HashSet::new();
    let deadline = Instant::now() + timeout;
    loop {
        let objects = match list(&clients.s3, &outputs.archive_bucket, &prefix).await {
            Ok(objects) => objects,
            Err(detail) => {
                return Check {
                    name,
                    ok: false,
                    detail,
                };
            }
        };
        for (key, _) in objects
            .into_iter()
            .filter(|(_, at)| at.is_none_or(|at| at >= started))
        {
            if !read.insert(key.clone()) {
                continue;
            }
            match subjects_in(&clients.s3, &outputs.archive_bucket, &key).await {
                Ok(subjects) => missing.retain(|id| !subjects.contains(id)),
                Err(detail) => {
                    return Check {
                        name,
                        ok: false,
                        detail,
                    };
                }
            }
        }
        if missing.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    Check {
        name,
        ok: missing.is_empty(),
        detail: format!(
            "{} of {} orders in {} objects written since the start",
            order_ids.len() - missing.len(),
            order_ids.len(),
            read.len()
        ),
    }
}

/// The envelope subjects in one archive object (GZIP, a record per line).
async fn subjects_in(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<HashSet<String>, String> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("reading {key}: {}", error_chain(&e)))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| format!("reading {key}: {}", error_chain(&e)))?
        .into_bytes();
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_ref())
        .read_to_string(&mut text)
        .map_err(|e| format!("unzipping {key}: {e}"))?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|envelope| envelope["subject"].as_str().map(str::to_owned))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_time_keeps_three_digits_of_milliseconds() {
        assert_eq!(
            envelope_time(1_795_000_530_007).as_deref(),
            Some("2026-11-18T11:15:30.007Z")
        );
        assert_eq!(
            envelope_time(1_795_000_530_000).as_deref(),
            Some("2026-11-18T11:15:30.000Z")
        );
        assert_eq!(
            envelope_time(1_795_000_530_120).as_deref(),
            Some("2026-11-18T11:15:30.120Z")
        );
    }

    #[test]
    fn every_vector_a_signed_in_customer_can_send_is_sent_and_its_time_is_found() {
        let vectors: Vectors = serde_json::from_str(VECTORS).expect("vectors");
        let sendable: Vec<&Case> = vectors
            .cases
            .iter()
            .filter(|c| c.expected.is_some() && c.claims.get("sub").is_some_and(|s| !s.is_empty()))
            .collect();
        assert_eq!(sendable.len(), 7, "6 single orders and a batch");
        for case in sendable {
            let time = envelope_time(case.request_time_epoch).expect("a time");
            let ids = order_ids_in(&case.body, case.batch);
            assert!(!ids.is_empty(), "{}: no order id", case.name);
            let datas = match case.expected.as_ref().expect("expected") {
                Expected::One(r) => vec![r.data.clone()],
                Expected::Many(rs) => rs.iter().map(|r| r.data.clone()).collect(),
            };
            for data in datas {
                assert!(
                    data.contains(&format!("\"time\":\"{time}\"")),
                    "{}",
                    case.name
                );
                assert!(data.contains(&case.request_id), "{}", case.name);
                assert!(data.contains(&ids[0].to_lowercase()), "{}", case.name);
            }
        }
    }

    #[test]
    fn the_first_difference_is_located() {
        let detail = first_difference(b"abcdef", b"abcxef");
        assert!(detail.starts_with("differs at byte 3"), "{detail}");
        let shorter = first_difference(b"abc", b"abcd");
        assert!(shorter.starts_with("differs at byte 3"), "{shorter}");
    }
}
