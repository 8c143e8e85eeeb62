-- A reset link is made by the event worker for its `account.reset_requested` event; a
-- redelivered event replaces its link instead of adding a second one.
ALTER TABLE password_resets ADD COLUMN event_id BIGINT UNIQUE;
