-- Webhook subscriptions: each follows its domain's directory feed with its own cursor
-- and POSTs what changed to a URL (`app/src/webhooks.rs`). The secret signs deliveries,
-- so it is kept as given (the server must compute the same HMAC as the receiver).
-- `lease_owner`/`lease_until`: the one server delivering the subscription just now.
CREATE TABLE webhooks (
    id BLOB PRIMARY KEY NOT NULL,
    domain_id BLOB NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    contacts BOOLEAN NOT NULL,
    presence BOOLEAN NOT NULL,
    secret TEXT NOT NULL,
    cursor TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_attempt_at INTEGER,
    last_status INTEGER,
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    failing_since INTEGER,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    lease_owner BLOB,
    lease_until INTEGER
);
CREATE INDEX webhooks_of_domain ON webhooks (domain_id, id);
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE NOT paused;
