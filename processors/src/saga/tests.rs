//! The saga's decisions, one table: which answer of a service leads to which step, what is
//! recorded, what is retried, and what a give-up undoes. The services are an in-memory service
//! that keeps a key ledger as a real one does (the first request with a key decides; a repeat
//! gets the stored answer; a key reused with another body gets 422), with scripted faults; the
//! records are [`MemoryIdempotency`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use ingest::envelope::Envelope;
use ingest::lifecycle::{Stage, Step, StepData};
use ingest::order::{OrderPlaced, OrderRequest};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::downstream::{
    Booking, CallError, Downstream, ReleaseRequest, Released, Reservation, ReservationRequest,
    SaleRequest, Shipment, ShipmentRequest,
};
use super::idempotency::{Idempotency, MemoryIdempotency, Outcome};
use super::{GIVE_UP_RELEASE_REASON, SagaStage};
use crate::batch::{Handled, RecordError, RecordHandler};
use crate::dead_letter::{DeadLetter, GaveUp, GiveUp};
use crate::record::StreamRecord;

const OUT_OF_STOCK: &str = "https://orders.example/problems/out-of-stock";

/// What happens to the next call, in order.
#[derive(Clone)]
enum Fault {
    /// Answered with this error before anything is done (a 409 in progress or 503s past the
    /// client's budget, a permanent refusal).
    Before(CallError),
    /// Done and stored under the key; the answer is lost on the way back.
    Lost,
    /// Answered 2xx with this body, stored under the key (a service that forgot the reference).
    Body(Value),
}

#[derive(Default)]
struct Books {
    /// Key → (request body, stored answer).
    keys: HashMap<String, (Value, Result<Value, CallError>)>,
    /// Effects performed: (kind, order).
    effects: Vec<(&'static str, Uuid)>,
    reserved: HashSet<Uuid>,
    out_of_stock: HashSet<String>,
    script: VecDeque<Fault>,
    calls: usize,
}

/// An in-memory service for all three calls.
#[derive(Clone, Default)]
struct Services(Arc<Mutex<Books>>);

impl Services {
    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.0.lock().expect("books")
    }

    fn script(&self, faults: &[Fault]) {
        self.books().script.extend(faults.iter().cloned());
    }

    fn effects(&self, kind: &str) -> usize {
        self.books()
            .effects
            .iter()
            .filter(|(k, _)| *k == kind)
            .count()
    }

    fn effect<R: Serialize, A: DeserializeOwned>(
        &self,
        kind: &'static str,
        key: &str,
        request: &R,
        decide: impl FnOnce(&mut Books) -> Result<Value, CallError>,
    ) -> Result<A, CallError> {
        let body = serde_json::to_value(request).expect("request");
        let mut books = self.books();
        books.calls += 1;
        let fault = books.script.pop_front();
        if let Some(Fault::Before(error)) = &fault {
            return Err(error.clone());
        }
        let lost = matches!(fault, Some(Fault::Lost));
        let answer = match books.keys.get(key) {
            Some((stored, _)) if *stored != body => Err(permanent(422, None, "key reused")),
            Some((_, answer)) => answer.clone(),
            None => {
                let answer = match fault {
                    Some(Fault::Body(value)) => Ok(value),
                    _ => decide(&mut books),
                };
                if answer.is_ok() {
                    let order = body["orderId"]
                        .as_str()
                        .and_then(|id| Uuid::parse_str(id).ok())
                        .expect("order id");
                    books.effects.push((kind, order));
                }
                books
                    .keys
                    .insert(key.to_owned(), (body.clone(), answer.clone()));
                answer
            }
        };
        if lost {
            return Err(transient("the answer was lost"));
        }
        let value = answer?;
        serde_json::from_value(value.clone()).map_err(|_| CallError::Unreadable {
            service: kind.to_owned(),
            status: 201,
            expected: "its reference",
            body: value.to_string(),
        })
    }
}

fn permanent(status: u16, problem_type: Option<&str>, reason: &str) -> CallError {
    CallError::Permanent {
        service: "service".into(),
        status,
        problem_type: problem_type.map(str::to_owned),
        reason: reason.into(),
    }
}

fn transient(reason: &str) -> CallError {
    CallError::Transient {
        service: "service".into(),
        reason: reason.into(),
        retry_after: None,
    }
}

impl Downstream for Services {
    async fn reserve(&self, key: &str, r: &ReservationRequest) -> Result<Reservation, CallError> {
        self.effect("reservation", key, r, |books| {
            if r.lines.iter().any(|l| books.out_of_stock.contains(&l.sku)) {
                return Err(permanent(422, Some(OUT_OF_STOCK), "out of stock"));
            }
            books.reserved.insert(r.order_id);
            Ok(json!({ "reservationId": "res-1" }))
        })
    }

    async fn release(&self, key: &str, r: &ReleaseRequest) -> Result<Released, CallError> {
        self.effect("release", key, r, |books| {
            if books.reserved.contains(&r.order_id) {
                Ok(json!({ "released": true }))
            } else {
                Err(permanent(404, None, "never reserved"))
            }
        })
    }

    async fn ship(&self, key: &str, r: &ShipmentRequest) -> Result<Shipment, CallError> {
        self.effect("shipment", key, r, |_| Ok(json!({ "shipmentId": "shp-1" })))
    }

    async fn book(&self, key: &str, r: &SaleRequest) -> Result<Booking, CallError> {
        self.effect("sale", key, r, |_| Ok(json!({ "bookingId": "bkg-1" })))
    }
}

fn order() -> OrderPlaced {
    let request: OrderRequest = serde_json::from_str(include_str!(
        "../../../ingest/examples/valid/web-two-lines.json"
    ))
    .expect("example");
    request.into_placed("customer-1").expect("valid")
}

fn record(data: Vec<u8>) -> StreamRecord {
    StreamRecord {
        shard_id: "shardId-000000000000".into(),
        sequence_number: "1".into(),
        partition_key: "customer-1".into(),
        data: data.into(),
        arrived_at: OffsetDateTime::now_utc(),
    }
}

fn placed(order: &OrderPlaced) -> StreamRecord {
    record(
        Envelope::order_placed(order.clone(), "req-1".into(), OffsetDateTime::now_utc()).to_bytes(),
    )
}

fn step(step: Step, order: &OrderPlaced, reason: Option<&str>) -> StreamRecord {
    let data = StepData {
        order: order.clone(),
        reason: reason.map(str::to_owned),
        reference: None,
    };
    record(Envelope::step(step, data, OffsetDateTime::now_utc()).to_bytes())
}

/// The dead letter of a record given up after the attempt limit.
fn letter(record: &StreamRecord, reason: &str) -> DeadLetter {
    letter_for(record, reason, GaveUp::AttemptLimit)
}

fn letter_for(record: &StreamRecord, reason: &str, gave_up: GaveUp) -> DeadLetter {
    DeadLetter::new(GiveUp {
        consumer: "orders-test",
        stream: "orders",
        record,
        attempts: 10,
        first_failed_at: OffsetDateTime::now_utc(),
        gave_up,
        reason: reason.into(),
    })
}

/// A handler's result in words: `emit <type>`, `rejected <type>`, `transient`, `poison`,
/// `skipped`, `done`.
fn said(result: &Result<Handled, RecordError>) -> String {
    let types = |entries: &[ingest::producer::Entry]| {
        entries
            .iter()
            .map(|e| {
                let event: Value = serde_json::from_slice(&e.data).expect("event");
                event["type"].as_str().unwrap_or_default().to_owned()
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    match result {
        Ok(Handled::Emit(entries)) => format!("emit {}", types(entries)),
        Ok(Handled::Rejected { emit, .. }) => format!("rejected {}", types(emit)),
        Ok(Handled::Skipped) => "skipped".into(),
        Ok(Handled::Done) => "done".into(),
        Err(RecordError::Transient(_)) => "transient".into(),
        Err(RecordError::Poison(_)) => "poison".into(),
    }
}

fn stage(stage: Stage, services: &Services) -> SagaStage<Services, MemoryIdempotency> {
    SagaStage::new(
        stage,
        "orders-test",
        services.clone(),
        MemoryIdempotency::default(),
    )
}

async fn recorded(stage: &SagaStage<Services, MemoryIdempotency>, key: &str) -> Option<Step> {
    stage
        .records
        .lookup("orders-test", key)
        .await
        .expect("records")
        .map(|outcome| outcome.step)
}

struct Case {
    name: &'static str,
    stage: Stage,
    /// The input event: `None` for `order.placed`, else the step.
    input: Option<Step>,
    faults: Vec<Fault>,
    out_of_stock: bool,
    /// What each delivery of the input said, in order.
    said: Vec<&'static str>,
    /// The call's record afterwards.
    recorded: Option<Step>,
    /// Effects of each kind afterwards.
    effects: &'static [(&'static str, usize)],
}

/// Every decision a stage makes on an answer, each delivery of its input in turn.
#[tokio::test]
async fn each_answer_leads_to_its_step_its_record_and_its_retry() {
    let in_progress = || Fault::Before(transient("409: a request with this key is in progress"));
    let cases = vec![
        Case {
            name: "success with a reference",
            stage: Stage::Inventory,
            input: None,
            faults: vec![],
            out_of_stock: false,
            said: vec!["emit order.inventory_reserved"],
            recorded: Some(Step::InventoryReserved),
            effects: &[("reservation", 1)],
        },
        Case {
            name: "409 in progress past the budget, then the answer",
            stage: Stage::Inventory,
            input: None,
            faults: vec![in_progress()],
            out_of_stock: false,
            said: vec!["transient", "emit order.inventory_reserved"],
            recorded: Some(Step::InventoryReserved),
            effects: &[("reservation", 1)],
        },
        Case {
            name: "409 in progress, then 422 out of stock",
            stage: Stage::Inventory,
            input: None,
            faults: vec![in_progress()],
            out_of_stock: true,
            said: vec!["transient", "rejected order.inventory_rejected"],
            recorded: Some(Step::InventoryRejected),
            effects: &[("reservation", 0)],
        },
        Case {
            name: "the answer lost after the effect",
            stage: Stage::Inventory,
            input: None,
            faults: vec![Fault::Lost],
            out_of_stock: false,
            said: vec!["transient", "emit order.inventory_reserved"],
            recorded: Some(Step::InventoryReserved),
            effects: &[("reservation", 1)],
        },
        Case {
            name: "422 out of stock",
            stage: Stage::Inventory,
            input: None,
            faults: vec![],
            out_of_stock: true,
            said: vec![
                "rejected order.inventory_rejected",
                "rejected order.inventory_rejected",
            ],
            recorded: Some(Step::InventoryRejected),
            effects: &[("reservation", 0)],
        },
        Case {
            name: "a 2xx without the reference is not a success, nor a refusal",
            stage: Stage::Inventory,
            input: None,
            faults: vec![Fault::Body(json!({}))],
            out_of_stock: false,
            said: vec!["transient", "transient"],
            recorded: None,
            effects: &[("reservation", 1)],
        },
        Case {
            name: "a permanent 4xx",
            stage: Stage::Fulfilment,
            input: Some(Step::InventoryReserved),
            faults: vec![Fault::Before(permanent(400, None, "bad request"))],
            out_of_stock: false,
            said: vec!["poison"],
            recorded: None,
            effects: &[("shipment", 0)],
        },
        Case {
            name: "503s past the budget, then the answer",
            stage: Stage::Accounting,
            input: Some(Step::FulfilmentRequested),
            faults: vec![Fault::Before(transient("503"))],
            out_of_stock: false,
            said: vec!["transient", "emit order.accounted", "emit order.accounted"],
            recorded: Some(Step::Accounted),
            effects: &[("sale", 1)],
        },
        Case {
            name: "404 on release: nothing was reserved",
            stage: Stage::Inventory,
            input: Some(Step::FulfilmentFailed),
            faults: vec![],
            out_of_stock: false,
            said: vec!["emit order.inventory_released"],
            recorded: Some(Step::InventoryReleased),
            effects: &[("release", 0)],
        },
        Case {
            name: "events a stage does not react to",
            stage: Stage::Fulfilment,
            input: Some(Step::Accounted),
            faults: vec![],
            out_of_stock: false,
            said: vec!["skipped"],
            recorded: None,
            effects: &[("shipment", 0)],
        },
    ];
    for case in cases {
        let services = Services::default();
        services.script(&case.faults);
        let order = order();
        if case.out_of_stock {
            let sku = order.lines[0].sku.clone();
            services.books().out_of_stock.insert(sku);
        }
        let stage = stage(case.stage, &services);
        let input = match case.input {
            None => placed(&order),
            Some(step_) => step(step_, &order, Some("why")),
        };
        let mut saw = Vec::new();
        for _ in &case.said {
            saw.push(said(&stage.handle(&input).await));
        }
        assert_eq!(saw, case.said, "{}", case.name);
        let key = match (case.stage, case.input) {
            (Stage::Inventory, None) => format!("{}:inventory", order.order_id),
            (Stage::Inventory, Some(_)) => format!("{}:inventory_release", order.order_id),
            (Stage::Fulfilment, _) => format!("{}:fulfilment", order.order_id),
            (Stage::Accounting, _) => format!("{}:accounting", order.order_id),
        };
        assert_eq!(recorded(&stage, &key).await, case.recorded, "{}", case.name);
        for (kind, count) in case.effects {
            assert_eq!(services.effects(kind), *count, "{}: {kind}", case.name);
        }
    }
}

#[tokio::test]
async fn a_key_reused_with_another_body_is_refused_for_good_and_nothing_is_recorded() {
    let services = Services::default();
    let order = order();
    let key = format!("{}:inventory", order.order_id);
    services
        .books()
        .keys
        .insert(key.clone(), (json!({ "other": true }), Ok(json!({}))));
    let stage = stage(Stage::Inventory, &services);
    assert_eq!(said(&stage.handle(&placed(&order)).await), "poison");
    assert_eq!(recorded(&stage, &key).await, None);
}

/// A redelivery that finds the outcome recorded (by an attempt that crashed after recording,
/// or by another worker) calls nothing, and emits what was recorded.
#[tokio::test]
async fn a_recorded_outcome_is_emitted_again_without_a_call() {
    let services = Services::default();
    let order = order();
    let stage = stage(Stage::Fulfilment, &services);
    let key = format!("{}:fulfilment", order.order_id);
    let outcome = Outcome::of(Step::FulfilmentRequested, Some("shp-9".into()), None);
    stage
        .records
        .record("orders-test", &key, &outcome)
        .await
        .expect("recorded");
    let input = step(Step::InventoryReserved, &order, None);
    assert_eq!(
        said(&stage.handle(&input).await),
        "emit order.fulfilment_requested"
    );
    assert_eq!(services.books().calls, 0);
}

/// Two attempts record different outcomes: the first stands, and the second acts on it.
#[tokio::test]
async fn the_first_outcome_recorded_stands() {
    let records = MemoryIdempotency::default();
    let first = Outcome::of(Step::InventoryReserved, Some("res-1".into()), None);
    let second = Outcome::of(Step::InventoryFailed, None, Some("gave up".into()));
    assert_eq!(records.record("c", "k", &first).await.expect("ok"), first);
    assert_eq!(records.record("c", "k", &second).await.expect("ok"), first);
    assert_eq!(records.lookup("c", "k").await.expect("ok"), Some(first));
}

/// Inventory gives up after an attempt reached the service and lost its answer: the
/// reservation is released before the order ends failed, the failure is kept, and a redrive
/// re-emits it without reserving again.
#[tokio::test]
async fn giving_up_on_a_sent_reservation_releases_it_and_a_redrive_reserves_nothing() {
    let services = Services::default();
    services.script(&[Fault::Lost]);
    let order = order();
    let stage = stage(Stage::Inventory, &services);
    let input = placed(&order);
    assert_eq!(said(&stage.handle(&input).await), "transient");
    assert_eq!(services.effects("reservation"), 1, "made, answer lost");

    let emitted = stage
        .dead_lettered(&input, &letter(&input, "10 attempts"))
        .await;
    assert_eq!(
        said(&Ok(Handled::Emit(emitted))),
        "emit order.inventory_failed"
    );
    assert_eq!(services.effects("release"), 1, "the stock is given back");
    let key = format!("{}:inventory", order.order_id);
    assert_eq!(recorded(&stage, &key).await, Some(Step::InventoryFailed));

    let calls = services.books().calls;
    assert_eq!(
        said(&stage.handle(&input).await),
        "emit order.inventory_failed"
    );
    assert_eq!(services.books().calls, calls, "a redrive calls nothing");
    assert_eq!(services.effects("reservation"), 1);
}

/// A give-up where nothing was reserved: the release answers 404, the order ends failed.
#[tokio::test]
async fn giving_up_when_nothing_was_reserved_ends_failed_holding_nothing() {
    let services = Services::default();
    services.script(&[Fault::Before(transient("503"))]);
    let order = order();
    let stage = stage(Stage::Inventory, &services);
    let input = placed(&order);
    assert_eq!(said(&stage.handle(&input).await), "transient");
    let emitted = stage.dead_lettered(&input, &letter(&input, "down")).await;
    assert_eq!(
        said(&Ok(Handled::Emit(emitted))),
        "emit order.inventory_failed"
    );
    assert_eq!(services.effects("reservation"), 0);
    assert_eq!(services.effects("release"), 0);
    let release_key = format!("{}:inventory_release", order.order_id);
    let (body, answer) = services
        .books()
        .keys
        .get(&release_key)
        .cloned()
        .expect("the release was asked");
    assert_eq!(body["reason"], GIVE_UP_RELEASE_REASON);
    assert!(matches!(
        answer,
        Err(CallError::Permanent { status: 404, .. })
    ));
    let key = format!("{}:inventory", order.order_id);
    assert_eq!(recorded(&stage, &key).await, Some(Step::InventoryFailed));
}

/// A give-up whose release fails too: nothing is kept, the reason says stock may be held, and
/// a redrive once the service is back finishes the order with the reservation it kept.
#[tokio::test]
async fn a_give_up_that_cannot_release_keeps_nothing_and_a_redrive_finishes_the_order() {
    let services = Services::default();
    services.script(&[Fault::Lost, Fault::Before(transient("503"))]);
    let order = order();
    let stage = stage(Stage::Inventory, &services);
    let input = placed(&order);
    assert_eq!(said(&stage.handle(&input).await), "transient");
    let emitted = stage.dead_lettered(&input, &letter(&input, "down")).await;
    let event: Value = serde_json::from_slice(&emitted[0].data).expect("event");
    assert_eq!(event["type"], "order.inventory_failed");
    let reason = event["data"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("stock may be held"), "{reason}");
    let key = format!("{}:inventory", order.order_id);
    assert_eq!(recorded(&stage, &key).await, None);

    assert_eq!(
        said(&stage.handle(&input).await),
        "emit order.inventory_reserved"
    );
    assert_eq!(services.effects("reservation"), 1);
    assert_eq!(services.effects("release"), 0);
}

/// Fulfilment's refusal is kept (inventory gives the stock back on it), so a redrive never
/// ships; a give-up past the attempt limit emits nothing (a shipment may exist) and a redrive
/// ships once; accounting's give-up is not kept, so a redrive books the sale.
#[tokio::test]
async fn fulfilment_fails_only_on_a_refusal_and_accountings_give_up_is_redriven() {
    let services = Services::default();
    let order = order();
    let fulfilment = stage(Stage::Fulfilment, &services);
    let reserved = step(Step::InventoryReserved, &order, None);
    let refused = letter_for(&reserved, "422 unshippable", GaveUp::Poison);
    let emitted = fulfilment.dead_lettered(&reserved, &refused).await;
    assert_eq!(
        said(&Ok(Handled::Emit(emitted))),
        "emit order.fulfilment_failed"
    );
    assert_eq!(
        said(&fulfilment.handle(&reserved).await),
        "emit order.fulfilment_failed"
    );
    assert_eq!(services.effects("shipment"), 0);

    let other = ingest::order::OrderRequest {
        order_id: Uuid::from_u128(2),
        ..serde_json::from_str(include_str!(
            "../../../ingest/examples/valid/web-two-lines.json"
        ))
        .expect("example")
    }
    .into_placed("customer-1")
    .expect("valid");
    let reserved = step(Step::InventoryReserved, &other, None);
    services.script(&[Fault::Lost]);
    assert_eq!(said(&fulfilment.handle(&reserved).await), "transient");
    let emitted = fulfilment
        .dead_lettered(&reserved, &letter(&reserved, "answers lost"))
        .await;
    assert!(emitted.is_empty(), "a shipment may exist: no failure");
    let key = format!("{}:fulfilment", other.order_id);
    assert_eq!(recorded(&fulfilment, &key).await, None);
    assert_eq!(
        said(&fulfilment.handle(&reserved).await),
        "emit order.fulfilment_requested"
    );
    assert_eq!(services.effects("shipment"), 1);

    let accounting = stage(Stage::Accounting, &services);
    let requested = step(Step::FulfilmentRequested, &order, None);
    let emitted = accounting
        .dead_lettered(&requested, &letter(&requested, "down"))
        .await;
    assert_eq!(
        said(&Ok(Handled::Emit(emitted))),
        "emit order.accounting_failed"
    );
    assert_eq!(
        said(&accounting.handle(&requested).await),
        "emit order.accounted"
    );
    assert_eq!(services.effects("sale"), 1);
}
