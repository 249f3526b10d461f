-- The 20 SKUs ordered most (units in accepted orders), with their revenue per currency.
-- parameters: first date, last date (yyyy-MM-dd)
SELECT sku,
       currency,
       sum(quantity) AS units,
       count(DISTINCT order_id) AS orders,
       sum(line_total_minor) AS revenue_minor
FROM order_lines
WHERE date BETWEEN ? AND ?
GROUP BY sku, currency
ORDER BY units DESC, sku, currency
LIMIT 20
