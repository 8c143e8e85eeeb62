-- Who placed an order and from where, so a checkout key opens only its own order and
-- open unpaid orders can be capped per e-mail and per client network.
ALTER TABLE orders
    ADD COLUMN placed_by TEXT,
    ADD COLUMN placed_from TEXT,
    ADD COLUMN cart_fingerprint TEXT;

CREATE INDEX orders_unpaid_email_idx ON orders (email) WHERE status = 'pending_payment';
CREATE INDEX orders_unpaid_network_idx ON orders (placed_from) WHERE status = 'pending_payment';
