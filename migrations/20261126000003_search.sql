-- Best sellers of the last 90 days (the no-results page) read orders by date.
CREATE INDEX orders_created_idx ON orders (created_at);

-- A search index rebuild refreshes the products changed while it ran.
CREATE INDEX event_log_product_changed_idx ON event_log (created_at) WHERE topic = 'product.changed';
