-- One customer's orders and every step of each, newest first (for support).
-- parameters: customer id, first date, last date (yyyy-MM-dd)
SELECT event_time,
       order_id,
       event_type,
       total_minor,
       currency,
       reason,
       reference
FROM order_events
WHERE customer_id = ?
  AND date BETWEEN ? AND ?
ORDER BY event_time DESC, event_id
