-- Accounts: users with roles, their saved addresses and one-time password reset tokens.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Stored trimmed and lower-cased, so one mailbox is one account.
    email         TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    name          TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    -- argon2id PHC string; never leaves the auth service.
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'admin')),
    -- Bumped when the password changes, so every older session stops working.
    auth_epoch    INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE addresses (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    full_name   TEXT NOT NULL CHECK (length(full_name) BETWEEN 1 AND 100),
    line1       TEXT NOT NULL CHECK (length(line1) BETWEEN 1 AND 120),
    line2       TEXT NOT NULL DEFAULT '' CHECK (length(line2) <= 120),
    city        TEXT NOT NULL CHECK (length(city) BETWEEN 1 AND 80),
    region      TEXT NOT NULL DEFAULT '' CHECK (length(region) <= 80),
    postal_code TEXT NOT NULL CHECK (length(postal_code) BETWEEN 1 AND 16),
    country     TEXT NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    phone       TEXT NOT NULL DEFAULT '' CHECK (length(phone) <= 32),
    is_default  BOOLEAN NOT NULL DEFAULT false,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX addresses_user_idx ON addresses (user_id, id);
-- At most one default shipping address per user.
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default;

CREATE TABLE password_resets (
    -- SHA-256 of the token sent by e-mail; the token itself is never stored.
    token_hash BYTEA PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);
