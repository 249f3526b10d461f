//! Realistic orders for the demo and the tests: valid bodies, and the kinds of bad input a
//! sale event brings.

use ingest::order::{Address, Channel, Money, OrderLine, OrderRequest};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::Value;
use uuid::Uuid;

const SKUS: &[(&str, i64)] = &[
    ("TSHIRT-RED-M", 1999),
    ("TSHIRT-BLU-L", 1999),
    ("HOODIE-GRY-M", 4999),
    ("MUG-01", 850),
    ("SOCKS-3PK", 1200),
    ("CAP-BLK", 1500),
    ("POSTER-A2", 999),
];

/// A limited edition, on about one line in a hundred: the demo's inventory stand-in has none
/// left, so the orders with it are rejected as out of stock.
pub const LIMITED_SKU: &str = "LIMITED-01";

pub fn customer_id(index: usize) -> String {
    format!("customer-{index:05}")
}

/// A valid order body. Wholesale orders have more lines and larger quantities.
pub fn order(rng: &mut impl Rng, channel: Channel) -> OrderRequest {
    let (line_count, max_quantity) = match channel {
        Channel::Wholesale => (rng.random_range(3..=12), 500),
        Channel::Web | Channel::Mobile => (rng.random_range(1..=4), 3),
    };
    let lines = (0..line_count)
        .map(|_| {
            let (sku, amount) = if rng.random_ratio(1, 100) {
                (LIMITED_SKU, 2500)
            } else {
                *SKUS.choose(rng).unwrap_or(&SKUS[0])
            };
            OrderLine {
                sku: sku.to_owned(),
                quantity: rng.random_range(1..=max_quantity),
                unit_price: Money {
                    amount,
                    currency: "EUR".to_owned(),
                },
            }
        })
        .collect();
    OrderRequest {
        order_id: Uuid::from_u128(rng.random()),
        channel,
        lines,
        total: None,
        shipping_address: Address {
            name: "Sam Shopper".to_owned(),
            line1: format!("{} Market Street", rng.random_range(1..200)),
            line2: None,
            city: "Dublin".to_owned(),
            region: None,
            postal_code: "D02 X285".to_owned(),
            country: "IE".to_owned(),
        },
        payment_reference: format!("pay_{:016x}", rng.random::<u64>()),
        placed_at: time::OffsetDateTime::now_utc(),
    }
}

pub fn to_json(order: &OrderRequest) -> Value {
    serde_json::to_value(order).unwrap_or_else(|e| unreachable!("an order serialises: {e}"))
}

/// Bad input, each kind with the status the gateway must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadInput {
    /// A total that is not the sum of the lines (400, a business rule).
    WrongTotal,
    /// Lines in two currencies (400, a business rule).
    MixedCurrencies,
    /// A field the schema does not allow (400, the schema).
    SchemaViolation,
    /// Not JSON at all (400).
    NotJson,
    /// No bearer token (401).
    NoToken,
    /// A customer id in the body (400: identity comes from the token only).
    CustomerInBody,
    /// Form data instead of JSON (415).
    WrongContentType,
}

impl BadInput {
    pub const ALL: [BadInput; 7] = [
        Self::WrongTotal,
        Self::MixedCurrencies,
        Self::SchemaViolation,
        Self::NotJson,
        Self::NoToken,
        Self::CustomerInBody,
        Self::WrongContentType,
    ];

    pub fn expected_status(self) -> u16 {
        match self {
            Self::WrongTotal
            | Self::MixedCurrencies
            | Self::SchemaViolation
            | Self::NotJson
            | Self::CustomerInBody => 400,
            Self::NoToken => 401,
            Self::WrongContentType => 415,
        }
    }

    /// The body to send instead of `valid`'s.
    pub fn body(self, valid: &OrderRequest) -> Vec<u8> {
        let mut order = valid.clone();
        let json = match self {
            Self::WrongTotal => {
                order.total = Some(Money {
                    amount: 1,
                    currency: "EUR".to_owned(),
                });
                to_json(&order)
            }
            Self::MixedCurrencies => {
                order.lines.push(OrderLine {
                    sku: "MUG-01".to_owned(),
                    quantity: 1,
                    unit_price: Money {
                        amount: 900,
                        currency: "USD".to_owned(),
                    },
                });
                to_json(&order)
            }
            Self::SchemaViolation => {
                let mut json = to_json(&order);
                json["channel"] = "fax".into();
                json
            }
            Self::NotJson => return b"{\"orderId\": ".to_vec(),
            Self::CustomerInBody => {
                let mut json = to_json(&order);
                json["customerId"] = "customer-somebody-else".into();
                json
            }
            Self::NoToken | Self::WrongContentType => to_json(&order),
        };
        serde_json::to_vec(&json).unwrap_or_default()
    }
}
