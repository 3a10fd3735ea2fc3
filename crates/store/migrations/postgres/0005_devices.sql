-- Device credentials: what desk phones (XML phonebooks, LDAP) sign in with. Only hashes
-- of the secrets are kept. A device bound to a user goes when the user goes.
CREATE TABLE devices (
    id UUID PRIMARY KEY,
    domain_id UUID NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    user_id UUID,
    -- Comma-separated CIDR ranges the device may connect from; empty = anywhere.
    allowed_networks TEXT NOT NULL,
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT,
    FOREIGN KEY (user_id, domain_id) REFERENCES users (id, domain_id) ON DELETE CASCADE
);
CREATE INDEX devices_of_domain ON devices (domain_id, id);
CREATE INDEX devices_of_user ON devices (user_id, domain_id);

-- What phones cache by: a counter bumped in the same transaction as every change of the
-- domain's contacts, users or settings (see `mark_changed` in the store), and when.
ALTER TABLE domains ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN changed_at BIGINT NOT NULL DEFAULT 0;
UPDATE domains SET changed_at = updated_at;
