-- Stock movements: every change to a variant's stock on hand is a row here, with its
-- reason and who made it, so the figure on hand is always the sum of its movements
-- (`server check-stock` checks it). Written only through `services::stock`.

CREATE TABLE stock_movements (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    variant_id     BIGINT NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    delta          INT NOT NULL,
    -- The variant's stock on hand just after this movement.
    on_hand_after  INT NOT NULL CHECK (on_hand_after >= 0),
    reason         TEXT NOT NULL CHECK (reason IN ('opening', 'received', 'damaged', 'count',
                       'order', 'cancellation', 'refund_restock', 'return', 'import')),
    -- A count records a movement even when nothing differed; every other reason moves stock.
    CHECK (delta <> 0 OR reason = 'count'),
    note           TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    order_id       BIGINT REFERENCES orders (id) ON DELETE SET NULL,
    actor_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- Who, as shown: a member of staff's e-mail, "checkout", "command line".
    actor          TEXT NOT NULL DEFAULT '',
    -- An import's file (its SHA-256) : one file moves a variant's stock at most once.
    import_key     TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX stock_movements_variant_idx ON stock_movements (variant_id, id DESC);
CREATE INDEX stock_movements_order_idx ON stock_movements (order_id) WHERE order_id IS NOT NULL;
CREATE UNIQUE INDEX stock_movements_import_once ON stock_movements (variant_id, import_key)
    WHERE import_key IS NOT NULL;

-- What there was before movements were recorded: one opening movement per variant.
INSERT INTO stock_movements (variant_id, delta, on_hand_after, reason, note, actor)
SELECT id, stock_on_hand, stock_on_hand, 'opening', 'Stock on hand when movements began', 'system'
FROM variants WHERE stock_on_hand <> 0;

-- A low-stock threshold per variant: at or below it, the variant is on the low-stock list.
ALTER TABLE variants
    ADD COLUMN low_stock_threshold INT CHECK (low_stock_threshold >= 0);
CREATE INDEX variants_low_stock_idx ON variants (stock_on_hand)
    WHERE low_stock_threshold IS NOT NULL AND archived_at IS NULL;
