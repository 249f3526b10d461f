//! [`OrderReader`] in memory: the table and its `byCustomer` index over a list of views, for
//! testing the hosts without a database.

use uuid::Uuid;

use super::{Limit, OrderReader, OrderView, Page, PageKey, ReadError};
use crate::order::sortable_time;

/// Every order, paged newest first by (`placedAt`, `orderId`) as the index does.
#[derive(Clone, Debug, Default)]
pub struct MemoryOrderReader(pub Vec<OrderView>);

impl OrderReader for MemoryOrderReader {
    async fn get(&self, order_id: Uuid) -> Result<Option<OrderView>, ReadError> {
        Ok(self.0.iter().find(|o| o.order_id() == order_id).cloned())
    }

    async fn page(
        &self,
        customer_id: &str,
        limit: Limit,
        start: Option<PageKey>,
    ) -> Result<Page, ReadError> {
        let sort_key = |o: &OrderView| (sortable_time::format(o.placed_at()), o.order_id());
        let mut mine: Vec<&OrderView> = self
            .0
            .iter()
            .filter(|o| o.customer_id() == customer_id)
            .collect();
        mine.sort_by_key(|o| std::cmp::Reverse(sort_key(o)));
        let after = start.map(|k| (k.placed_at, k.order_id));
        let orders: Vec<OrderView> = mine
            .into_iter()
            .filter(|o| after.as_ref().is_none_or(|after| sort_key(o) < *after))
            .take(limit.get() as usize)
            .cloned()
            .collect();
        let next = (orders.len() == limit.get() as usize)
            .then(|| orders.last())
            .flatten()
            .map(|last| PageKey {
                customer_id: customer_id.to_owned(),
                placed_at: sortable_time::format(last.placed_at()),
                order_id: last.order_id(),
            });
        Ok(Page { orders, next })
    }
}
