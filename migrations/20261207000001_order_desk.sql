-- The order desk: what each order has captured and refunded, refunds with their own
-- idempotency keys, how much of each line went back to stock, staff notes, the e-mails an
-- order sent, and the indexes the admin's order list needs at a million orders.

ALTER TABLE orders
    ADD COLUMN captured_minor BIGINT NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
    ADD COLUMN refunded_minor BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    ADD CONSTRAINT orders_refunded_check CHECK (refunded_minor <= captured_minor);

-- Money taken so far was the whole total (no partial capture or refund existed), and a
-- refunded order gave all of it back.
UPDATE orders SET captured_minor = total_minor
    WHERE payment_status IN ('paid', 'partially_refunded', 'refunded');
UPDATE orders SET refunded_minor = total_minor WHERE payment_status = 'refunded';

-- Units of the line put back in stock (by a cancellation or a refund that restocked).
ALTER TABLE order_lines
    ADD COLUMN restocked INT NOT NULL DEFAULT 0,
    ADD CONSTRAINT order_lines_restocked_check CHECK (restocked BETWEEN 0 AND quantity);
-- Cancelled orders were restocked in full.
UPDATE order_lines l SET restocked = l.quantity
    FROM orders o WHERE o.id = l.order_id AND o.order_status = 'cancelled' AND l.variant_id IS NOT NULL;

-- Money given back. One row per refund, written in the transaction that records it; the
-- key makes a double click or a retry one refund.
CREATE TABLE refunds (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id           BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    idempotency_key    TEXT NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 16 AND 128),
    amount_minor       BIGINT NOT NULL CHECK (amount_minor > 0),
    currency           CHAR(3) NOT NULL,
    -- `provider`: paid back through the card provider; `manual`: paid back outside the
    -- shop (a bank transfer), with the reference staff give.
    method             TEXT NOT NULL CHECK (method IN ('provider', 'manual')),
    provider_reference TEXT,
    reference          TEXT NOT NULL DEFAULT '' CHECK (length(reference) <= 200),
    -- Why, for staff (the customer sees the amount and the date).
    reason             TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    -- [{"line_no": 1, "quantity": 2}]: units put back in stock with this refund.
    restocked          JSONB NOT NULL DEFAULT '[]',
    actor_id           BIGINT REFERENCES users (id) ON DELETE SET NULL,
    actor              TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (method = 'manual' OR provider_reference IS NOT NULL)
);
CREATE INDEX refunds_order_idx ON refunds (order_id, id);

-- Staff notes on an order (never shown to the customer).
CREATE TABLE order_notes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    author_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    body       TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX order_notes_order_idx ON order_notes (order_id, id);

-- The e-mails an order sent, by their message id (a redelivered event sends the same
-- message again under the same id: one row).
CREATE TABLE order_emails (
    message_id TEXT PRIMARY KEY,
    order_id   BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    sent_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX order_emails_order_idx ON order_emails (order_id, sent_at);

-- The order list: newest first (or a date range) and by total, with each status filter
-- able to read its own orders in placing order; searches by e-mail or name start.
CREATE INDEX orders_placed_idx ON orders (created_at, id);
CREATE INDEX orders_total_idx ON orders (total_minor, id);
CREATE INDEX orders_order_status_idx ON orders (order_status, created_at, id);
CREATE INDEX orders_payment_status_idx ON orders (payment_status, created_at, id);
CREATE INDEX orders_fulfilment_status_idx ON orders (fulfilment_status, created_at, id);
-- The packing queue (paid, not shipped), refunds by amount, one method over a period.
CREATE INDEX orders_queue_idx ON orders (fulfilment_status, payment_status, created_at, id);
CREATE INDEX orders_payment_total_idx ON orders (payment_status, total_minor, id);
CREATE INDEX orders_method_placed_idx ON orders (payment_method, created_at, id);
CREATE INDEX orders_email_prefix_idx ON orders (email text_pattern_ops);
CREATE INDEX orders_name_prefix_idx ON orders (lower(ship_full_name) text_pattern_ops);

-- PayPal: the capture a PayPal order's refunds go to, and each PayPal webhook event once,
-- by its id (a redelivery finds it here and changes nothing).
ALTER TABLE payments ADD COLUMN capture_reference TEXT;
CREATE TABLE paypal_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    payload     JSONB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
