-- Staff with roles, invitations by e-mail, two-factor sign-in, and the audit log.

-- Roles: the one administrator role becomes owner (it could do everything), beside four
-- narrower ones.
ALTER TABLE users DROP CONSTRAINT users_role_check;
UPDATE users SET role = 'owner' WHERE role = 'admin';
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('customer', 'owner', 'admin', 'catalog', 'orders', 'support'));
CREATE INDEX users_staff_idx ON users (role) WHERE role <> 'customer';

-- An invitation to join the staff: a one-time link e-mailed through the event log.
CREATE TABLE staff_invites (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       TEXT NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'catalog', 'orders', 'support')),
    invited_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- SHA-256 of the link's token, set when the e-mail is made.
    token_hash  BYTEA UNIQUE,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX staff_invites_open_idx ON staff_invites (email) WHERE used_at IS NULL AND revoked_at IS NULL;

-- TOTP (RFC 6238) of a member of staff. `enabled_at` is null while enrolment waits for
-- its first code; `last_step` is the time step of the last code used, so a code works
-- once.
CREATE TABLE staff_two_factor (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     BYTEA NOT NULL CHECK (length(secret) >= 16),
    enabled_at TIMESTAMPTZ,
    last_step  BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Ten one-time recovery codes per member of staff, stored as SHA-256 (each has 50 random
-- bits; only a slow hash would help a guessable secret, and these are not guessable).
CREATE TABLE staff_recovery_codes (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    used_at   TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);

-- Every admin write: who (a member of staff, or the command line), when, from which
-- address, which entity, and before and after of each changed field. Written in the
-- transaction of the change it records. Append-only: the triggers below refuse any update,
-- delete or truncate, whoever asks.
CREATE TABLE audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- No foreign key: the record outlives the account.
    actor_id   BIGINT,
    actor      TEXT NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    action     TEXT NOT NULL,
    -- {"field": {"before": …, "after": …}, …}
    changes    JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_at_idx ON audit_log (at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
