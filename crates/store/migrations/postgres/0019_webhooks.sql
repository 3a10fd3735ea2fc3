-- Webhook subscriptions: each follows its domain's directory feed with its own cursor
-- and POSTs what changed to a URL (`app/src/webhooks.rs`). The secret signs deliveries,
-- so it is kept as given (the server must compute the same HMAC as the receiver).
-- `lease_owner`/`lease_until`: the one server delivering the subscription just now.
CREATE TABLE webhooks (
    id UUID PRIMARY KEY,
    domain_id UUID NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    contacts BOOLEAN NOT NULL,
    presence BOOLEAN NOT NULL,
    secret TEXT NOT NULL,
    cursor TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_attempt_at BIGINT,
    last_status BIGINT,
    last_error TEXT,
    failures BIGINT NOT NULL DEFAULT 0,
    failing_since BIGINT,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    lease_owner UUID,
    lease_until BIGINT
);
CREATE INDEX webhooks_of_domain ON webhooks (domain_id, id);
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE NOT paused;
