//! `order.placed`: what a customer asked for, and the business rules a JSON Schema cannot express.
//!
//! [`OrderRequest`] is the POST body as the wire carries it. [`OrderPlaced`] is the event data: it
//! only exists once every rule holds (parse, don't validate), with the customer taken from the
//! authenticated token and the total computed from the lines.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::violation::Violation;

/// Longest customer id accepted (Kinesis partition keys are at most 256 characters).
pub const MAX_CUSTOMER_ID_LEN: usize = 128;

/// Whether a token subject can be a customer id: 1 to [`MAX_CUSTOMER_ID_LEN`] printable ASCII
/// characters. The same rule holds for the subject a Cognito authorizer passes to a Lambda.
pub fn is_usable_customer_id(subject: &str) -> bool {
    !subject.is_empty()
        && subject.chars().count() <= MAX_CUSTOMER_ID_LEN
        && subject.chars().all(|c| c.is_ascii_graphic())
}

/// At most this many lines in one order (also in the JSON Schema, checked again here because the
/// consumers see orders that did not come through the local gateway).
pub const MAX_LINES: usize = 100;
/// Bounds of one line's quantity; wholesale buyers order in the thousands.
pub const MAX_QUANTITY: u32 = 10_000;
/// Largest unit price, in minor units. With the bounds above every total fits an `i64`.
pub const MAX_UNIT_AMOUNT: i64 = 100_000_000;

/// The sales channel an order came from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Web,
    Mobile,
    Wholesale,
}

/// An amount of money: integer minor units plus an ISO 4217 code. Never a float.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Money {
    pub amount: i64,
    pub currency: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub sku: String,
    pub quantity: u32,
    pub unit_price: Money,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
}

/// The body of `POST /orders`, as sent. See `schema/order-request.schema.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderRequest {
    pub order_id: Uuid,
    pub channel: Channel,
    pub lines: Vec<OrderLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
    pub shipping_address: Address,
    pub payment_reference: String,
    /// UTC to the millisecond, as JavaScript's `Date.toISOString()` writes it. The schema
    /// accepts only that form, so the API Gateway mapping template can copy it unchanged.
    #[serde(with = "sortable_time")]
    pub placed_at: OffsetDateTime,
}

/// The data of an `order.placed` event: a valid order of an authenticated customer.
///
/// Unlike [`OrderRequest`], the event types (and the money, lines and address in them) accept
/// fields they do not know: an additive change to an event must not make it poison in a
/// consumer built before it. The HTTP contract stays strict through `OrderRequest` and the JSON
/// Schema, which refuse unknown fields at every level.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderPlaced {
    pub order_id: Uuid,
    pub customer_id: String,
    pub channel: Channel,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub shipping_address: Address,
    pub payment_reference: String,
    /// UTC to the millisecond, written with a fixed width so that it sorts as text (it is a
    /// DynamoDB sort key).
    #[serde(with = "sortable_time")]
    pub placed_at: OffsetDateTime,
}

impl OrderRequest {
    /// Applies the business rules and binds the order to `customer_id`, the token's subject.
    ///
    /// Returns every violated rule, each with the JSON pointer of the offending value. The body
    /// has no customer field: identity comes from the token only.
    pub fn into_placed(self, customer_id: &str) -> Result<OrderPlaced, Vec<Violation>> {
        let total = check_rules(&self.lines, self.total.as_ref())?;
        Ok(OrderPlaced {
            order_id: self.order_id,
            customer_id: customer_id.to_owned(),
            channel: self.channel,
            lines: self.lines,
            total,
            shipping_address: self.shipping_address,
            payment_reference: self.payment_reference,
            placed_at: sortable_time::normalise(self.placed_at),
        })
    }
}

impl OrderPlaced {
    /// Checks the rules again on an order read from the stream, which may not have come through
    /// a validating gateway.
    pub fn check(&self) -> Result<(), Vec<Violation>> {
        let total = check_rules(&self.lines, Some(&self.total))?;
        debug_assert_eq!(total, self.total);
        Ok(())
    }
}

/// The rules the JSON Schema cannot express (or that must hold on orders from any source):
/// at least one line, bounded lines and quantities, one currency per order, and a given total
/// equal to the sum of the lines. Returns the order's total.
fn check_rules(lines: &[OrderLine], given_total: Option<&Money>) -> Result<Money, Vec<Violation>> {
    let mut violations = Vec::new();
    if lines.is_empty() {
        violations.push(Violation::new("/lines", "an order needs at least one line"));
    }
    if lines.len() > MAX_LINES {
        violations.push(Violation::new(
            "/lines",
            format!(
                "an order has at most {MAX_LINES} lines, this one has {}",
                lines.len()
            ),
        ));
    }
    let currency = lines.first().map(|line| line.unit_price.currency.as_str());
    let mut sum: i64 = 0;
    for (i, line) in lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            violations.push(Violation::new(
                format!("/lines/{i}/quantity"),
                format!(
                    "quantity must be between 1 and {MAX_QUANTITY}, got {}",
                    line.quantity
                ),
            ));
        }
        if !(0..=MAX_UNIT_AMOUNT).contains(&line.unit_price.amount) {
            violations.push(Violation::new(
                format!("/lines/{i}/unitPrice/amount"),
                format!(
                    "unit price must be between 0 and {MAX_UNIT_AMOUNT} minor units, got {}",
                    line.unit_price.amount
                ),
            ));
        }
        if !is_currency_code(&line.unit_price.currency) {
            violations.push(Violation::new(
                format!("/lines/{i}/unitPrice/currency"),
                format!("'{}' is not an ISO 4217 code", line.unit_price.currency),
            ));
        } else if Some(line.unit_price.currency.as_str()) != currency {
            violations.push(Violation::new(
                format!("/lines/{i}/unitPrice/currency"),
                format!(
                    "an order has one currency: line 0 is in {}, this line is in {}",
                    currency.unwrap_or_default(),
                    line.unit_price.currency
                ),
            ));
        }
        // Bounded above, so this cannot overflow; checked anyway rather than trusted.
        sum = i64::from(line.quantity)
            .checked_mul(line.unit_price.amount)
            .and_then(|amount| sum.checked_add(amount))
            .unwrap_or(i64::MAX);
    }
    let currency = currency.unwrap_or_default().to_owned();
    if let Some(total) = given_total {
        if total.currency != currency && !lines.is_empty() {
            violations.push(Violation::new(
                "/total/currency",
                format!(
                    "total is in {}, the lines are in {currency}",
                    total.currency
                ),
            ));
        }
        if total.amount != sum {
            violations.push(Violation::new(
                "/total/amount",
                format!(
                    "total {} does not equal the sum of the lines {sum}",
                    total.amount
                ),
            ));
        }
    }
    if violations.is_empty() {
        Ok(Money {
            amount: sum,
            currency,
        })
    } else {
        Err(violations)
    }
}

/// An `order.placed` that breaks a business rule although the API accepted it: API Gateway
/// checks only the JSON Schema, so an order with two currencies, a total that is not the sum of
/// its lines or a time that does not exist reaches the stream. It is kept, as rejected, so that
/// its customer can see why (see [`crate::envelope::decode`]); no stage acts on it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RejectedOrder {
    pub order_id: Uuid,
    pub customer_id: String,
    /// When the shopper placed it; when the API accepted it if the time given does not exist.
    #[serde(with = "sortable_time")]
    pub placed_at: OffsetDateTime,
    /// Every broken rule, with the JSON pointer of the offending value in the order.
    pub violations: Vec<Violation>,
}

impl RejectedOrder {
    /// The violations in one line, as logs and metrics carry a rejection's reason.
    pub fn reason(&self) -> String {
        let list: Vec<String> = self.violations.iter().map(ToString::to_string).collect();
        list.join("; ")
    }
}

/// Timestamps that sort as text: UTC, millisecond precision, fixed width
/// (`2026-11-23T09:15:30.120Z`). Reading accepts any RFC 3339 time.
pub mod sortable_time {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    use time::{OffsetDateTime, UtcOffset};

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

    /// UTC, truncated to the millisecond.
    pub fn normalise(at: OffsetDateTime) -> OffsetDateTime {
        let at = at.to_offset(UtcOffset::UTC);
        at.replace_millisecond(at.millisecond()).unwrap_or(at)
    }

    pub fn format(at: OffsetDateTime) -> String {
        normalise(at)
            .format(FORMAT)
            .unwrap_or_else(|e| unreachable!("fixed format: {e}"))
    }

    pub fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(*at))
    }

    /// Reads any RFC 3339 time, normalised.
    pub fn parse(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
        OffsetDateTime::parse(text, &Rfc3339).map(normalise)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }
}

fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: u32, amount: i64, currency: &str) -> OrderLine {
        OrderLine {
            sku: "SKU-1".into(),
            quantity,
            unit_price: Money {
                amount,
                currency: currency.into(),
            },
        }
    }

    fn pointers(result: Result<Money, Vec<Violation>>) -> Vec<String> {
        result
            .expect_err("should be rejected")
            .into_iter()
            .map(|v| v.pointer)
            .collect()
    }

    #[test]
    fn total_is_the_sum_of_quantity_times_unit_price() {
        let total = check_rules(&[line(3, 250, "EUR"), line(1, 1, "EUR")], None);
        assert_eq!(
            total,
            Ok(Money {
                amount: 751,
                currency: "EUR".into()
            })
        );
    }

    #[test]
    fn an_order_without_lines_is_rejected() {
        assert_eq!(pointers(check_rules(&[], None)), ["/lines"]);
    }

    #[test]
    fn an_order_with_too_many_lines_is_rejected() {
        let lines = vec![line(1, 1, "EUR"); MAX_LINES + 1];
        assert_eq!(pointers(check_rules(&lines, None)), ["/lines"]);
    }

    #[test]
    fn each_rule_names_its_own_pointer() {
        let lines = [line(0, 5, "EUR"), line(2, -1, "USD"), line(1, 1, "eu")];
        let total = Money {
            amount: 7,
            currency: "GBP".into(),
        };
        assert_eq!(
            pointers(check_rules(&lines, Some(&total))),
            [
                "/lines/0/quantity",
                "/lines/1/unitPrice/amount",
                "/lines/1/unitPrice/currency",
                "/lines/2/unitPrice/currency",
                "/total/currency",
                "/total/amount",
            ]
        );
    }

    #[test]
    fn placed_at_sorts_as_text() {
        use time::macros::datetime;
        let earlier = sortable_time::format(datetime!(2026-11-23 10:15:30 +01:00));
        let later = sortable_time::format(datetime!(2026-11-23 09:15:30.123456 UTC));
        assert_eq!(earlier, "2026-11-23T09:15:30.000Z");
        assert_eq!(later, "2026-11-23T09:15:30.123Z");
        assert!(earlier < later);
    }

    #[test]
    fn the_largest_order_does_not_overflow() {
        let lines = vec![line(MAX_QUANTITY, MAX_UNIT_AMOUNT, "JPY"); MAX_LINES];
        let expected = i64::from(MAX_QUANTITY) * MAX_UNIT_AMOUNT * MAX_LINES as i64;
        assert_eq!(check_rules(&lines, None).map(|m| m.amount), Ok(expected));
    }
}
