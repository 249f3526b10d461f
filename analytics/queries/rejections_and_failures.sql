-- Rejections and failures by step and reason: what the API or a stage refused or gave up on, and why.
-- parameters: first date, last date (yyyy-MM-dd)
SELECT event_type,
       reason,
       count(DISTINCT order_id) AS orders
FROM order_events
WHERE date BETWEEN ? AND ?
  AND reason IS NOT NULL
GROUP BY event_type, reason
ORDER BY orders DESC, event_type, reason
