-- Time from the API accepting an order to each later step, p50/p95/p99 in milliseconds.
-- parameters: first date, last date of the orders (yyyy-MM-dd); first date, last date of their steps
WITH placed AS (
  SELECT order_id, min(event_time) AS accepted
  FROM order_events
  WHERE date BETWEEN ? AND ?
    AND event_type = 'order.placed'
  GROUP BY order_id
)
SELECT e.event_type,
       count(*) AS orders,
       approx_percentile(to_milliseconds(e.event_time - p.accepted), 0.5) AS p50_ms,
       approx_percentile(to_milliseconds(e.event_time - p.accepted), 0.95) AS p95_ms,
       approx_percentile(to_milliseconds(e.event_time - p.accepted), 0.99) AS p99_ms
FROM order_events e
JOIN placed p ON p.order_id = e.order_id
WHERE e.date BETWEEN ? AND ?
  AND e.event_type <> 'order.placed'
GROUP BY e.event_type
ORDER BY p50_ms, e.event_type
