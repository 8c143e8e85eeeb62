-- Secrets the shop makes for itself at first start (the key that signs order links), so
-- every instance uses the same one. Only used when SECRET_KEY is not configured.
CREATE TABLE shop_secrets (
    name       TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
