//! CPU cost of the contract per order: what the gateway spends before PutRecord, and what a
//! consumer spends decoding a record. `cargo bench -p ingest --bench contract`.

use criterion::{Criterion, criterion_group, criterion_main};
use ingest::envelope::Envelope;
use ingest::order::{OrderPlaced, OrderRequest};
use ingest::schema::parse_order_request;
use serde_json::Value;

fn bodies() -> [(&'static str, Value); 2] {
    let parse = |text: &str| serde_json::from_str::<Value>(text).expect("example is JSON");
    [
        (
            "web, 2 lines",
            parse(include_str!("../examples/valid/web-two-lines.json")),
        ),
        (
            "wholesale, 100 lines",
            parse(include_str!("../examples/valid/wholesale-at-limits.json")),
        ),
    ]
}

fn contract(c: &mut Criterion) {
    for (name, body) in bodies() {
        let text = serde_json::to_vec(&body).expect("json");
        let mut group = c.benchmark_group(name);
        group.bench_function("parse JSON", |b| {
            b.iter(|| serde_json::from_slice::<Value>(&text).expect("json"))
        });
        group.bench_function("schema + typed request", |b| {
            b.iter(|| parse_order_request(&body).expect("valid"))
        });
        let request: OrderRequest = parse_order_request(&body).expect("valid");
        group.bench_function("business rules", |b| {
            b.iter(|| request.clone().into_placed("customer-1").expect("valid"))
        });
        let order = request.into_placed("customer-1").expect("valid");
        let envelope =
            Envelope::order_placed(order, "req".into(), time::OffsetDateTime::UNIX_EPOCH);
        group.bench_function("envelope to bytes", |b| b.iter(|| envelope.to_bytes()));
        let bytes = envelope.to_bytes();
        group.bench_function("record to order (consumer)", |b| {
            b.iter(|| serde_json::from_slice::<Envelope<OrderPlaced>>(&bytes).expect("decodes"))
        });
        group.finish();
    }
}

criterion_group!(benches, contract);
criterion_main!(benches);
