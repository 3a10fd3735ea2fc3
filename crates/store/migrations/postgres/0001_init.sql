-- Times are microseconds since the epoch. Sort keys use the "C" collation so they
-- compare byte by byte, exactly as in SQLite.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE resellers (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE domains (
    id UUID PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT NOT NULL,
    reseller_id UUID REFERENCES resellers (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX domains_by_updated ON domains (updated_at, id);
CREATE INDEX domains_of_reseller ON domains (reseller_id, name);
CREATE INDEX domains_of_reseller_by_updated ON domains (reseller_id, updated_at, id);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    domain_id UUID NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    extension TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    department TEXT NOT NULL,
    site TEXT NOT NULL,
    scope TEXT NOT NULL,
    listed BOOLEAN NOT NULL,
    password_hash TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    sort_key TEXT COLLATE "C" NOT NULL,
    search_text TEXT NOT NULL,
    UNIQUE (domain_id, extension),
    -- Lets personal contacts reference (owner, domain) so an owner is always of the contact's domain.
    UNIQUE (id, domain_id)
);
CREATE INDEX users_by_name ON users (domain_id, sort_key, id);
CREATE INDEX users_by_updated ON users (domain_id, updated_at, id);
CREATE INDEX users_of_site_by_name ON users (domain_id, site, sort_key, id);
CREATE INDEX users_of_site_by_updated ON users (domain_id, site, updated_at, id);
CREATE INDEX listed_users_by_name ON users (domain_id, sort_key, id) WHERE listed;
CREATE INDEX listed_users_by_updated ON users (domain_id, updated_at, id) WHERE listed;
CREATE INDEX listed_users_of_department ON users (domain_id, department, sort_key, id) WHERE listed;
CREATE INDEX listed_users_of_site ON users (domain_id, site, sort_key, id) WHERE listed;
CREATE INDEX users_search ON users USING gin (search_text gin_trgm_ops);

-- Shared contacts have no owner; personal ones belong to a user of the same domain.
CREATE TABLE contacts (
    id UUID PRIMARY KEY,
    domain_id UUID NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    owner_user_id UUID,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    company TEXT NOT NULL,
    title TEXT NOT NULL,
    work_phone TEXT,
    work_phone_e164 TEXT,
    mobile_phone TEXT,
    mobile_phone_e164 TEXT,
    home_phone TEXT,
    home_phone_e164 TEXT,
    fax TEXT,
    fax_e164 TEXT,
    email TEXT NOT NULL,
    notes TEXT NOT NULL,
    duplicate_key TEXT NOT NULL,
    sort_key TEXT COLLATE "C" NOT NULL,
    search_text TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    FOREIGN KEY (owner_user_id, domain_id) REFERENCES users (id, domain_id) ON DELETE CASCADE
);
-- The store's duplicate check: one live contact per book and duplicate key, race-free.
CREATE UNIQUE INDEX live_contacts_unique
    ON contacts (domain_id, coalesce(owner_user_id, '00000000-0000-0000-0000-000000000000'), duplicate_key)
    WHERE deleted_at IS NULL;
-- Personal books by (domain, owner); shared ones get their own indexes because PostgreSQL
-- does not see `owner_user_id IS NULL` as fixing that column for ORDER BY.
CREATE INDEX live_contacts_by_name ON contacts (domain_id, owner_user_id, sort_key, id) WHERE deleted_at IS NULL;
CREATE INDEX live_contacts_by_updated ON contacts (domain_id, owner_user_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX live_shared_contacts_by_name ON contacts (domain_id, sort_key, id)
    WHERE deleted_at IS NULL AND owner_user_id IS NULL;
CREATE INDEX live_shared_contacts_by_updated ON contacts (domain_id, updated_at, id)
    WHERE deleted_at IS NULL AND owner_user_id IS NULL;
CREATE INDEX trashed_contacts_by_name ON contacts (domain_id, sort_key, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX trashed_contacts_by_updated ON contacts (domain_id, updated_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX trashed_contacts_by_age ON contacts (deleted_at) WHERE deleted_at IS NOT NULL;
-- Cascading deletes of users look their personal contacts up by owner.
CREATE INDEX contacts_of_owner ON contacts (owner_user_id, domain_id);
CREATE INDEX contacts_search ON contacts USING gin (search_text gin_trgm_ops);

-- entry_id is a user or a contact; a favorite of an entry that is gone simply never shows.
CREATE TABLE favorites (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    entry_id UUID NOT NULL,
    PRIMARY KEY (user_id, entry_id)
);

CREATE TABLE presence (
    user_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    chat BOOLEAN NOT NULL,
    message TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- `owner` names the layer's owner as text; domain_id/user_id let the layer go with its owner.
CREATE TABLE settings (
    layer TEXT COLLATE "C" NOT NULL,
    owner TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    domain_id UUID REFERENCES domains (id) ON DELETE CASCADE,
    user_id UUID REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (layer, owner, key)
);
CREATE INDEX settings_of_domain ON settings (domain_id);
CREATE INDEX settings_of_user ON settings (user_id);

-- No foreign key on domain_id: the log outlives what it tells about.
CREATE TABLE audit_log (
    id UUID PRIMARY KEY,
    domain_id UUID,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_id UUID,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_of_domain ON audit_log (domain_id, id);

CREATE TABLE tokens (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX tokens_of_user ON tokens (user_id, kind, id);

CREATE TABLE login_failures (
    key TEXT COLLATE "C" PRIMARY KEY,
    count BIGINT NOT NULL,
    last_failure BIGINT
);
