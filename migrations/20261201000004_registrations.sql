-- A registration waits here until its e-mail link is followed: only then is the account
-- created, so the form answers the same whether or not the address has an account.
CREATE TABLE registrations (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- SHA-256 of the token sent by e-mail (set when the e-mail is made).
    token_hash    BYTEA UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ
);
CREATE INDEX registrations_expires_idx ON registrations (expires_at) WHERE used_at IS NULL;
