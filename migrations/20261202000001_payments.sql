-- Payments of their own: an order's single status becomes an order status, a payment
-- status and a fulfilment status, "needs review" becomes a flag with a reason, the old
-- manual method splits into bank transfer and pay on delivery, and card payments get
-- their records (per payment: authorised, captured, refunded; each change a row).

ALTER TABLE orders
    ADD COLUMN order_status      TEXT,
    ADD COLUMN payment_status    TEXT,
    ADD COLUMN fulfilment_status TEXT,
    -- Set when something needs a person to look (an amount that does not match, money
    -- taken on a cancelled order); cleared by staff with a reason.
    ADD COLUMN review_reason     TEXT,
    ADD COLUMN review_flagged_at TIMESTAMPTZ;

UPDATE orders SET
    order_status = CASE status WHEN 'delivered' THEN 'completed' WHEN 'cancelled' THEN 'cancelled' ELSE 'open' END,
    payment_status = CASE
        WHEN status = 'pending_payment' THEN 'pending'
        -- A cancelled order that had been paid was paid back outside the shop.
        WHEN status = 'cancelled' AND EXISTS (
            SELECT 1 FROM event_log e
            WHERE e.topic = 'order.paid' AND e.payload->>'order_id' = orders.id::text) THEN 'refunded'
        WHEN status = 'cancelled' THEN 'voided'
        ELSE 'paid' END,
    fulfilment_status = CASE status WHEN 'fulfilled' THEN 'fulfilled' WHEN 'delivered' THEN 'delivered' ELSE 'unfulfilled' END,
    -- The one manual method offered "transfer, or pay the courier on delivery": its
    -- orders become pay on delivery, which may ship unpaid and never expires (as bank
    -- transfers, unpaid ones would be cancelled after 72 hours).
    payment_method = CASE payment_method WHEN 'manual' THEN 'pay_on_delivery' ELSE payment_method END;

DROP INDEX orders_unpaid_email_idx;
DROP INDEX orders_unpaid_network_idx;
-- The provider's reference lives in `payments` now (one row per order and provider).
ALTER TABLE orders DROP COLUMN status, DROP COLUMN payment_reference;
ALTER TABLE orders
    ALTER COLUMN order_status SET NOT NULL,
    ALTER COLUMN payment_status SET NOT NULL,
    ALTER COLUMN fulfilment_status SET NOT NULL,
    ADD CONSTRAINT orders_order_status_check CHECK (order_status IN ('open', 'completed', 'cancelled')),
    ADD CONSTRAINT orders_payment_status_check CHECK (payment_status IN
        ('pending', 'authorised', 'paid', 'partially_refunded', 'refunded', 'voided', 'failed')),
    ADD CONSTRAINT orders_fulfilment_status_check CHECK (fulfilment_status IN ('unfulfilled', 'fulfilled', 'delivered')),
    ADD CONSTRAINT orders_review_check CHECK ((review_reason IS NULL) = (review_flagged_at IS NULL));

-- Open orders not yet paid hold stock: counted per e-mail and network at checkout, and
-- found by the expiry job per method and age.
CREATE INDEX orders_unpaid_email_idx ON orders (email)
    WHERE order_status = 'open' AND payment_status IN ('pending', 'failed');
CREATE INDEX orders_unpaid_network_idx ON orders (placed_from)
    WHERE order_status = 'open' AND payment_status IN ('pending', 'failed');
CREATE INDEX orders_unpaid_age_idx ON orders (payment_method, created_at)
    WHERE order_status = 'open' AND payment_status IN ('pending', 'failed');
CREATE INDEX orders_review_idx ON orders (review_flagged_at) WHERE review_reason IS NOT NULL;

-- One payment per order and provider (a Stripe PaymentIntent): what was asked, and what
-- the provider has authorised, captured and refunded so far.
CREATE TABLE payments (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    reference        TEXT NOT NULL,
    -- What the shopper's browser needs to finish a card payment (Stripe's client secret).
    client_secret    TEXT,
    currency         CHAR(3) NOT NULL,
    amount_minor     BIGINT NOT NULL CHECK (amount_minor >= 0),
    authorised_minor BIGINT NOT NULL DEFAULT 0 CHECK (authorised_minor >= 0),
    captured_minor   BIGINT NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
    refunded_minor   BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= captured_minor),
    -- The provider's own word for its state (`requires_payment_method`, `succeeded`, …).
    provider_status  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (provider, reference),
    UNIQUE (order_id, provider)
);
CREATE INDEX payments_open_idx ON payments (created_at)
    WHERE provider_status NOT IN ('succeeded', 'canceled');

-- Every change to an order's money, append-only, with who caused it.
CREATE TABLE payment_records (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id           BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    payment_id         BIGINT REFERENCES payments (id) ON DELETE CASCADE,
    kind               TEXT NOT NULL CHECK (kind IN
        ('requested', 'authorised', 'captured', 'refunded', 'failed', 'voided', 'flagged')),
    amount_minor       BIGINT NOT NULL,
    currency           CHAR(3) NOT NULL,
    -- The provider's id for what happened (an event, a PaymentIntent, a charge).
    provider_reference TEXT,
    caused_by          TEXT NOT NULL CHECK (caused_by IN ('webhook', 'shopper', 'admin', 'reconciliation', 'system')),
    note               TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX payment_records_order_idx ON payment_records (order_id, id);

-- Each Stripe event once, by its id: a redelivery finds it here and changes nothing.
CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    payload     JSONB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Scheduled jobs: one row per job; whichever instance moves `next_run_at` first runs it.
CREATE TABLE scheduled_jobs (
    name             TEXT PRIMARY KEY,
    next_run_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_started_at  TIMESTAMPTZ,
    last_finished_at TIMESTAMPTZ,
    last_outcome     TEXT,
    last_error       TEXT,
    runs             BIGINT NOT NULL DEFAULT 0
);
