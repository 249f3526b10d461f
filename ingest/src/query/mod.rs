//! The read side of the orders API: `GET /orders/{orderId}` and `GET /orders`.
//!
//! Plain handlers ([`get_order`], [`list_orders`]) over domain types and a narrow port
//! ([`OrderReader`]), with a DynamoDB adapter ([`DynamoOrderReader`]) and an in-memory one.
//! Two hosts call the same handlers: `orders-query-lambda` (`processors::query`, API Gateway
//! proxy events) and the local gateway (`crate::gateway`, HTTP).
//!
//! The customer is always the authenticated one ([`CustomerId`], from the authorizer's `sub`
//! claim), never a value of the path, the query or the body. An order of another customer is
//! answered exactly like a missing one.

mod dynamo;
mod memory;

pub use dynamo::DynamoOrderReader;
pub use memory::MemoryOrderReader;

use std::future::Future;

use crate::order::{OrderPlaced, RejectedOrder, is_usable_customer_id, sortable_time};
use crate::problem::Problem;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Orders per page when the request does not say.
pub const DEFAULT_LIMIT: u32 = 20;
/// Most orders per page (also the most keys one `BatchGetItem` takes).
pub const MAX_LIMIT: u32 = 100;
/// Longest `nextToken` worth decoding; real ones are about 200 characters.
const MAX_TOKEN_LEN: usize = 1024;

/// The authenticated customer, from the authorizer's `sub` claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerId(String);

impl CustomerId {
    /// The customer named by a token subject, if it is a usable customer id (the same rule the
    /// local gateway applies).
    pub fn from_subject(subject: &str) -> Result<Self, QueryError> {
        if is_usable_customer_id(subject) {
            Ok(Self(subject.to_owned()))
        } else {
            Err(QueryError::Unauthenticated(
                "the token's subject is not a usable customer id",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An order id from a path: a hyphenated UUID in any case, as stored (lowercase).
pub fn parse_order_id(raw: &str) -> Result<Uuid, QueryError> {
    let invalid = || QueryError::InvalidRequest(format!("orderId '{raw}' is not a UUID"));
    // `Uuid::parse_str` also takes the simple, braced and URN forms; ids are only ever written
    // hyphenated, so only that form names an order.
    if raw.len() != 36 {
        return Err(invalid());
    }
    Uuid::parse_str(raw).map_err(|_| invalid())
}

/// The page size of `GET /orders`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    /// The `limit` query parameter, if any.
    pub fn parse(raw: Option<&str>) -> Result<Self, QueryError> {
        let Some(raw) = raw else {
            return Ok(Self(DEFAULT_LIMIT));
        };
        match raw.parse::<u32>() {
            Ok(limit)
                if (1..=MAX_LIMIT).contains(&limit) && raw.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Ok(Self(limit))
            }
            _ => Err(QueryError::InvalidRequest(format!(
                "limit must be a whole number from 1 to {MAX_LIMIT}, got '{raw}'"
            ))),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Where the next page of a customer's orders starts: the last key of the index query (its
/// `LastEvaluatedKey`: the index keys plus the table key).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageKey {
    pub customer_id: String,
    /// As stored: fixed-width UTC (see [`sortable_time`]).
    pub placed_at: String,
    pub order_id: Uuid,
}

impl PageKey {
    /// The opaque `nextToken`: the key as JSON, base64url without padding.
    pub fn to_token(&self) -> String {
        let json = serde_json::to_vec(self)
            .unwrap_or_else(|e| unreachable!("a struct of strings serialises: {e}"));
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a `nextToken` back, accepting it only if it continues `customer`'s own listing.
    pub fn from_token(token: &str, customer: &CustomerId) -> Result<Self, QueryError> {
        let invalid = |why: &str| QueryError::InvalidRequest(format!("nextToken {why}"));
        if token.len() > MAX_TOKEN_LEN {
            return Err(invalid("is too long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| invalid("is not a token this API issued"))?;
        let key: Self = serde_json::from_slice(&bytes)
            .map_err(|_| invalid("is not a token this API issued"))?;
        if key.customer_id != customer.as_str() {
            return Err(invalid("belongs to another listing"));
        }
        let canonical = time::OffsetDateTime::parse(
            &key.placed_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map(sortable_time::format);
        if canonical.as_deref() != Ok(key.placed_at.as_str()) {
            return Err(invalid("is not a token this API issued"));
        }
        Ok(key)
    }
}

/// An order as the read endpoints return it: the placed order with its status and what happened
/// to it since (see docs/saga.md), or an order rejected on arrival for breaking the rules.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(untagged)]
pub enum OrderView {
    Placed(Box<PlacedOrderView>),
    Rejected(RejectedOrderView),
}

/// The `order.placed` data, its status, and the lifecycle steps since.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PlacedOrderView {
    #[serde(flatten)]
    pub order: OrderPlaced,
    pub status: String,
    /// Each lifecycle step seen, by step name (`inventory_reserved`, `accounted`, …): when it
    /// happened, and the service's reason (a rejection or failure) or reference. Empty while
    /// the order is only placed.
    #[serde(default)]
    pub steps: std::collections::BTreeMap<String, StepView>,
}

/// An order the API accepted (API Gateway checks only the JSON Schema) that breaks a business
/// rule: who placed it, when, and every violation. Its status is always `rejected`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RejectedOrderView {
    #[serde(flatten)]
    pub order: RejectedOrder,
    pub status: String,
}

impl OrderView {
    pub fn order_id(&self) -> Uuid {
        match self {
            Self::Placed(view) => view.order.order_id,
            Self::Rejected(view) => view.order.order_id,
        }
    }

    pub fn customer_id(&self) -> &str {
        match self {
            Self::Placed(view) => &view.order.customer_id,
            Self::Rejected(view) => &view.order.customer_id,
        }
    }

    pub fn placed_at(&self) -> time::OffsetDateTime {
        match self {
            Self::Placed(view) => view.order.placed_at,
            Self::Rejected(view) => view.order.placed_at,
        }
    }

    pub fn status(&self) -> &str {
        match self {
            Self::Placed(view) => &view.status,
            Self::Rejected(view) => &view.status,
        }
    }
}

/// One lifecycle step of an order, as the read endpoints return it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    #[serde(with = "sortable_time")]
    pub at: time::OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// The body of `GET /orders`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderList {
    /// Newest first.
    pub orders: Vec<OrderView>,
    /// Present when there may be more: send it back as `nextToken` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// One page of a customer's orders, newest first, as the store read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub orders: Vec<OrderView>,
    /// Set when the store stopped at `limit`: where the next page starts.
    pub next: Option<PageKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the orders table failed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An item (or key) that does not have the shape the materialiser writes.
    #[error("the stored order {key} cannot be read")]
    Corrupt {
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Reads materialised orders.
pub trait OrderReader: Send + Sync {
    /// The order with this id, whoever it belongs to.
    fn get(
        &self,
        order_id: Uuid,
    ) -> impl Future<Output = Result<Option<OrderView>, ReadError>> + Send;

    /// Up to `limit` of `customer_id`'s orders, newest first, after `start` if given.
    fn page(
        &self,
        customer_id: &str,
        limit: Limit,
        start: Option<PageKey>,
    ) -> impl Future<Output = Result<Page, ReadError>> + Send;
}

/// Why a read request got no orders. Each maps to one problem ([`QueryError::problem`]).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("not authenticated: {0}")]
    Unauthenticated(&'static str),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("no such order for this customer")]
    NotFound,
    #[error(transparent)]
    Read(#[from] ReadError),
}

impl QueryError {
    /// What the client is told: never the cause of a store failure.
    pub fn problem(&self) -> Problem {
        match self {
            Self::Unauthenticated(why) => Problem::unauthenticated((*why).to_owned()),
            Self::InvalidRequest(detail) => Problem::invalid_request(detail.clone()),
            Self::NotFound => Problem::not_found(),
            Self::Read(ReadError::Unavailable(_)) => Problem::read_unavailable(),
            Self::Read(ReadError::Corrupt { .. }) => Problem::internal(),
        }
    }
}

/// `GET /orders/{orderId}`: the caller's order, or [`QueryError::NotFound`] if there is no such
/// order or it is another customer's.
pub async fn get_order(
    store: &impl OrderReader,
    customer: &CustomerId,
    order_id: Uuid,
) -> Result<OrderView, QueryError> {
    match store.get(order_id).await? {
        Some(order) if order.customer_id() == customer.as_str() => Ok(order),
        Some(_) | None => Err(QueryError::NotFound),
    }
}

/// `GET /orders`: one page of the caller's orders, newest first. `next_token` is the
/// `nextToken` of the previous page, checked to continue the caller's own listing.
pub async fn list_orders(
    store: &impl OrderReader,
    customer: &CustomerId,
    limit: Limit,
    next_token: Option<&str>,
) -> Result<OrderList, QueryError> {
    let start = next_token
        .map(|token| PageKey::from_token(token, customer))
        .transpose()?;
    let page = store.page(customer.as_str(), limit, start).await?;
    Ok(OrderList {
        orders: page.orders,
        next_token: page.next.as_ref().map(PageKey::to_token),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::order::{Address, Channel, Money, OrderLine};

    pub(crate) fn view(customer: &str, order_id: Uuid, placed_at: &str) -> OrderView {
        OrderView::Placed(Box::new(PlacedOrderView {
            order: OrderPlaced {
                order_id,
                customer_id: customer.to_owned(),
                channel: Channel::Web,
                lines: vec![OrderLine {
                    sku: "MUG-01".to_owned(),
                    quantity: 2,
                    unit_price: Money {
                        amount: 850,
                        currency: "EUR".to_owned(),
                    },
                }],
                total: Money {
                    amount: 1700,
                    currency: "EUR".to_owned(),
                },
                shipping_address: Address {
                    name: "Ada Lovelace".to_owned(),
                    line1: "12 St James's Square".to_owned(),
                    line2: None,
                    city: "London".to_owned(),
                    region: None,
                    postal_code: "SW1Y 4JH".to_owned(),
                    country: "GB".to_owned(),
                },
                payment_reference: "pay_1".to_owned(),
                placed_at: time::OffsetDateTime::parse(
                    placed_at,
                    &time::format_description::well_known::Rfc3339,
                )
                .expect("test time"),
            },
            status: "placed".to_owned(),
            steps: Default::default(),
        }))
    }

    fn customer(id: &str) -> CustomerId {
        CustomerId::from_subject(id).expect("usable")
    }

    fn key(customer: &str) -> PageKey {
        PageKey {
            customer_id: customer.to_owned(),
            placed_at: "2026-11-23T09:15:30.120Z".to_owned(),
            order_id: Uuid::from_u128(7),
        }
    }

    #[test]
    fn a_token_round_trips_for_its_own_customer() {
        let key = key("customer-1");
        let token = key.to_token();
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "url-safe, unpadded: {token}"
        );
        assert_eq!(
            PageKey::from_token(&token, &customer("customer-1")).ok(),
            Some(key)
        );
    }

    #[test]
    fn tokens_that_are_not_ours_are_invalid_requests() {
        let caller = customer("customer-1");
        let encode = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let cases = [
            ("another customer's", key("customer-2").to_token()),
            ("empty", String::new()),
            ("not base64", "not base64!".to_owned()),
            (
                "padded base64",
                format!("{}=", key("customer-1").to_token()),
            ),
            ("not JSON", encode("orders please")),
            (
                "missing a field",
                encode(r#"{"customerId":"customer-1","placedAt":"2026-11-23T09:15:30.120Z"}"#),
            ),
            (
                "an extra field",
                encode(
                    r#"{"customerId":"customer-1","placedAt":"2026-11-23T09:15:30.120Z","orderId":"00000000-0000-0000-0000-000000000007","status":"placed"}"#,
                ),
            ),
            (
                "a bad order id",
                encode(
                    r#"{"customerId":"customer-1","placedAt":"2026-11-23T09:15:30.120Z","orderId":"7"}"#,
                ),
            ),
            (
                "a time that is not stored so",
                encode(
                    r#"{"customerId":"customer-1","placedAt":"2026-11-23T10:15:30+01:00","orderId":"00000000-0000-0000-0000-000000000007"}"#,
                ),
            ),
            ("too long", "A".repeat(MAX_TOKEN_LEN + 1)),
        ];
        for (case, token) in cases {
            let result = PageKey::from_token(&token, &caller);
            assert!(
                matches!(result, Err(QueryError::InvalidRequest(_))),
                "{case}: {result:?}"
            );
        }
    }

    #[test]
    fn limit_defaults_to_20_and_takes_1_to_100() {
        assert_eq!(Limit::parse(None).ok(), Some(Limit(DEFAULT_LIMIT)));
        for (raw, expected) in [("1", 1), ("37", 37), ("100", 100)] {
            assert_eq!(Limit::parse(Some(raw)).ok(), Some(Limit(expected)), "{raw}");
        }
        for raw in [
            "0",
            "101",
            "-1",
            "+5",
            "1.5",
            "",
            " 5",
            "twenty",
            "99999999999",
        ] {
            assert!(
                matches!(Limit::parse(Some(raw)), Err(QueryError::InvalidRequest(_))),
                "{raw:?} should be refused"
            );
        }
    }

    #[test]
    fn order_ids_are_hyphenated_uuids_in_any_case() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(
            parse_order_id(id).map(|u| u.to_string()).ok().as_deref(),
            Some(id)
        );
        assert_eq!(
            parse_order_id(&id.to_uppercase())
                .map(|u| u.to_string())
                .ok()
                .as_deref(),
            Some(id),
            "normalised to lowercase, as stored"
        );
        for raw in [
            "",
            "42",
            "0f8fad5bd9cb469fa16570867728950e",
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
        ] {
            assert!(
                matches!(parse_order_id(raw), Err(QueryError::InvalidRequest(_))),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn a_customer_is_a_usable_subject() {
        assert!(CustomerId::from_subject("6f1c2a7e-1111-4a2b-9c3d-0123456789ab").is_ok());
        for subject in ["", "with space", &"x".repeat(129)] {
            assert!(matches!(
                CustomerId::from_subject(subject),
                Err(QueryError::Unauthenticated(_))
            ));
        }
    }

    #[test]
    fn the_view_is_the_placed_order_plus_status_and_steps_in_camel_case() {
        let view = view("customer-1", Uuid::from_u128(1), "2026-11-23T09:15:30.120Z");
        let json = serde_json::to_value(&view).expect("serialises");
        let OrderView::Placed(placed) = &view else {
            unreachable!("a placed order")
        };
        let mut expected = serde_json::to_value(&placed.order).expect("serialises");
        expected["status"] = "placed".into();
        expected["steps"] = serde_json::json!({});
        assert_eq!(json, expected);
        assert_eq!(json["placedAt"], "2026-11-23T09:15:30.120Z");
        assert_eq!(json["shippingAddress"]["postalCode"], "SW1Y 4JH");
    }

    #[tokio::test]
    async fn another_customers_order_is_not_found_like_a_missing_one() {
        let id = Uuid::from_u128(1);
        let store = MemoryOrderReader(vec![view("customer-1", id, "2026-11-23T09:15:30.120Z")]);
        assert!(get_order(&store, &customer("customer-1"), id).await.is_ok());
        let other = get_order(&store, &customer("customer-2"), id).await;
        let missing = get_order(&store, &customer("customer-1"), Uuid::from_u128(2)).await;
        let (Err(other), Err(missing)) = (other, missing) else {
            panic!("both must fail");
        };
        assert!(matches!(other, QueryError::NotFound));
        assert_eq!(other.problem(), missing.problem());
    }

    #[tokio::test]
    async fn listing_pages_through_own_orders_newest_first() {
        let mut orders: Vec<OrderView> = (1..=5)
            .map(|i| {
                view(
                    "customer-1",
                    Uuid::from_u128(i),
                    &format!("2026-11-23T09:00:0{i}.000Z"),
                )
            })
            .collect();
        orders.push(view(
            "customer-2",
            Uuid::from_u128(9),
            "2026-11-23T09:00:09.000Z",
        ));
        let store = MemoryOrderReader(orders);
        let me = customer("customer-1");
        let limit = Limit::parse(Some("3")).expect("limit");
        let first = list_orders(&store, &me, limit, None).await.expect("page 1");
        let token = first.next_token.clone().expect("more to come");
        let second = list_orders(&store, &me, limit, Some(&token))
            .await
            .expect("page 2");
        let ids: Vec<u128> = first
            .orders
            .iter()
            .chain(&second.orders)
            .map(|o| o.order_id().as_u128())
            .collect();
        assert_eq!(ids, [5, 4, 3, 2, 1]);
        assert_eq!(second.next_token, None);
        let stolen = list_orders(&store, &customer("customer-2"), limit, Some(&token)).await;
        assert!(matches!(stolen, Err(QueryError::InvalidRequest(_))));
    }
}
