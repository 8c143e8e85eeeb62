-- Customers as staff look after them: disabled and erased accounts, groups, notes.

ALTER TABLE users
    -- A disabled account cannot sign in; its sessions ended when it was disabled.
    ADD COLUMN disabled_at TIMESTAMPTZ,
    -- Personal data removed (the row stays, so orders keep their customer id).
    ADD COLUMN erased_at   TIMESTAMPTZ;

-- For the customer list's search by e-mail or name.
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);

-- Customer groups ("wholesale", "staff friends"), used by promotions later.
CREATE TABLE customer_groups (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customer_groups_name_idx ON customer_groups (lower(name));

CREATE TABLE customer_group_members (
    group_id BIGINT NOT NULL REFERENCES customer_groups (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX customer_group_members_user_idx ON customer_group_members (user_id);

-- Staff's notes about a customer.
CREATE TABLE customer_notes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    author_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    body       TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX customer_notes_user_idx ON customer_notes (user_id, id);

-- A customer's guest orders (placed with their address, signed out), for the customer
-- page and for erasure.
CREATE INDEX orders_email_idx ON orders (email);
