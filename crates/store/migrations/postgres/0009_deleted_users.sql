-- Deleted users wait here (30 days by default) with every row that was theirs, as one JSON
-- snapshot (the user, their own contacts, favorites, settings, devices, allowed numbers and
-- presence), so that a mistaken delete can be undone. Nothing but a restore reads it.
CREATE TABLE deleted_users (
    id UUID PRIMARY KEY,
    domain_id UUID NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    extension TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    scope TEXT NOT NULL,
    site TEXT NOT NULL,
    deleted_at BIGINT NOT NULL,
    deleted_by TEXT NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE INDEX deleted_users_of_domain ON deleted_users (domain_id, id);
CREATE INDEX deleted_users_by_age ON deleted_users (deleted_at);
