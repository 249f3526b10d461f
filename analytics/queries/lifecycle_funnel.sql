-- The lifecycle funnel: how many orders reached each step, from placed to accounted.
-- parameters: first date, last date (yyyy-MM-dd)
SELECT event_type,
       count(DISTINCT order_id) AS orders
FROM order_events
WHERE date BETWEEN ? AND ?
GROUP BY event_type
ORDER BY CASE event_type
           WHEN 'order.placed' THEN 0
           WHEN 'order.inventory_reserved' THEN 1
           WHEN 'order.inventory_rejected' THEN 2
           WHEN 'order.inventory_failed' THEN 3
           WHEN 'order.fulfilment_requested' THEN 4
           WHEN 'order.fulfilment_failed' THEN 5
           WHEN 'order.inventory_released' THEN 6
           WHEN 'order.accounted' THEN 7
           WHEN 'order.accounting_failed' THEN 8
           ELSE 9
         END,
         event_type
