-- Orders and revenue per hour (UTC) by currency: accepted orders, for watching a sale.
-- parameters: first date, last date (yyyy-MM-dd)
SELECT date_trunc('hour', event_time) AS hour,
       currency,
       count(*) AS orders,
       sum(total_minor) AS revenue_minor
FROM order_events
WHERE date BETWEEN ? AND ?
  AND event_type = 'order.placed'
  AND reason IS NULL
GROUP BY date_trunc('hour', event_time), currency
ORDER BY hour, currency
