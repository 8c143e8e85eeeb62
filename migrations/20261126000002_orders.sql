-- Orders: shipping rates, tax rates, orders with their lines as snapshots, and the event
-- log (transactional outbox) that workers read.

CREATE TABLE shipping_methods (
    code            TEXT PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9-]*$'),
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    price_minor     BIGINT NOT NULL CHECK (price_minor >= 0),
    currency        CHAR(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Free when the subtotal reaches this amount (NULL: never free).
    free_over_minor BIGINT CHECK (free_over_minor >= 0),
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    position        INT NOT NULL DEFAULT 0
);
INSERT INTO shipping_methods (code, name, description, price_minor, currency, free_over_minor, position) VALUES
    ('standard', 'Standard', '3–5 working days; free on orders over $75', 595, 'USD', 7500, 1),
    ('express', 'Express', 'Next working day', 1495, 'USD', NULL, 2);

CREATE TABLE tax_rates (
    country   CHAR(2) PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
    -- Basis points: 2000 = 20 %.
    rate_bps  INT NOT NULL CHECK (rate_bps BETWEEN 0 AND 10000)
);
INSERT INTO tax_rates (country, rate_bps) VALUES
    ('US', 0), ('CA', 500), ('GB', 2000), ('IE', 2300), ('DE', 1900), ('FR', 2000),
    ('NL', 2100), ('BE', 2100), ('AT', 2000), ('IT', 2200), ('ES', 2100), ('PT', 2300),
    ('SE', 2500), ('DK', 2500), ('FI', 2550), ('NO', 2500), ('PL', 2300), ('CH', 810),
    ('AU', 1000), ('NZ', 1500), ('JP', 1000);

CREATE SEQUENCE order_number_seq START 100001;

CREATE TABLE orders (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number           TEXT NOT NULL UNIQUE,
    user_id          BIGINT REFERENCES users (id) ON DELETE SET NULL,
    email            TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    status           TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'fulfilled', 'delivered', 'cancelled')),
    currency         CHAR(3) NOT NULL,
    subtotal_minor   BIGINT NOT NULL CHECK (subtotal_minor >= 0),
    shipping_minor   BIGINT NOT NULL CHECK (shipping_minor >= 0),
    tax_minor        BIGINT NOT NULL CHECK (tax_minor >= 0),
    total_minor      BIGINT NOT NULL CHECK (total_minor = subtotal_minor + shipping_minor + tax_minor),
    tax_rate_bps     INT NOT NULL,
    shipping_code    TEXT NOT NULL,
    shipping_name    TEXT NOT NULL,
    payment_method   TEXT NOT NULL,
    payment_reference TEXT,
    ship_full_name   TEXT NOT NULL,
    ship_line1       TEXT NOT NULL,
    ship_line2       TEXT NOT NULL,
    ship_city        TEXT NOT NULL,
    ship_region      TEXT NOT NULL,
    ship_postal_code TEXT NOT NULL,
    ship_country     TEXT NOT NULL,
    ship_phone       TEXT NOT NULL,
    -- A double submit or retry of one checkout carries the same key: one order.
    idempotency_key  TEXT NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 16 AND 128),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC) WHERE user_id IS NOT NULL;

CREATE TABLE order_lines (
    order_id         BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no          INT NOT NULL,
    variant_id       BIGINT REFERENCES variants (id) ON DELETE SET NULL,
    sku              TEXT NOT NULL,
    product_name     TEXT NOT NULL,
    product_slug     TEXT NOT NULL,
    variant_label    TEXT NOT NULL,
    unit_price_minor BIGINT NOT NULL CHECK (unit_price_minor >= 0),
    quantity         INT NOT NULL CHECK (quantity > 0),
    line_total_minor BIGINT NOT NULL CHECK (line_total_minor = unit_price_minor * quantity),
    PRIMARY KEY (order_id, line_no)
);

-- Transactional outbox: written in the same transaction as the change it announces.
CREATE TABLE event_log (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic        TEXT NOT NULL,
    payload      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    available_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts     INT NOT NULL DEFAULT 0,
    last_error   TEXT,
    processed_at TIMESTAMPTZ
);
CREATE INDEX event_log_pending_idx ON event_log (available_at, id) WHERE processed_at IS NULL;

-- What each consumer has done, so a redelivered event is not acted on twice.
CREATE TABLE event_consumptions (
    event_id    BIGINT NOT NULL REFERENCES event_log (id) ON DELETE CASCADE,
    consumer    TEXT NOT NULL,
    consumed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, consumer)
);
