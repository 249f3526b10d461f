//! DynamoDB write units a batch consumed: cost comes first, and writes are its largest item.
//!
//! The engine runs each batch [`metered`]; every write of the consumers' adapters asks DynamoDB
//! for its consumed capacity (`ReturnConsumedCapacity::TOTAL`, the table and its indexes) and
//! [`record`]s it. The batch's metrics line carries the sum (`WriteCapacityUnits`), so each
//! consumer's write cost is a CloudWatch metric, and the demo divides it by the orders.
//!
//! A write refused by its condition consumes capacity too, but DynamoDB does not say how much;
//! it is counted as [`FAILED_CONDITION_UNITS`], the least it can be.

use std::cell::Cell;
use std::future::Future;

use aws_sdk_dynamodb::types::ConsumedCapacity;

/// What a write refused by its condition is counted as: one unit, the minimum AWS charges.
pub const FAILED_CONDITION_UNITS: f64 = 1.0;

tokio::task_local! {
    static UNITS: Cell<f64>;
}

/// Runs `work` and returns what it returned with the write units it recorded. The engine runs a
/// batch's handlers on the task that calls it, so their writes are all counted.
pub async fn metered<F: Future>(work: F) -> (F::Output, f64) {
    UNITS
        .scope(Cell::new(0.0), async {
            let output = work.await;
            (output, UNITS.with(Cell::get))
        })
        .await
}

/// Adds a successful write's consumed capacity (nothing if the write was not metered).
pub fn record(consumed: Option<&ConsumedCapacity>) {
    if let Some(units) = consumed.and_then(ConsumedCapacity::capacity_units) {
        add(units);
    }
}

/// Adds a write its condition refused.
pub fn record_failed_condition() {
    add(FAILED_CONDITION_UNITS);
}

fn add(units: f64) {
    let _ = UNITS.try_with(|total| total.set(total.get() + units));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_in_concurrent_handlers_of_one_batch_add_up_and_nothing_leaks_outside() {
        let consumed = |units| ConsumedCapacity::builder().capacity_units(units).build();
        let ((), units) = metered(async {
            tokio::join!(
                async { record(Some(&consumed(2.0))) },
                async {
                    record(Some(&consumed(1.0)));
                    record_failed_condition();
                },
                async { record(None) },
            );
        })
        .await;
        assert_eq!(units, 4.0);
        record(Some(&consumed(5.0)));
        let ((), again) = metered(async {}).await;
        assert_eq!(again, 0.0);
    }
}
