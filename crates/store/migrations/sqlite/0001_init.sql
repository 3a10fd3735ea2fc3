-- Ids are UUIDv7 as 16-byte BLOBs (they compare by creation time), times are
-- microseconds since the epoch, booleans are 0/1.

CREATE TABLE resellers (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE domains (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    reseller_id BLOB REFERENCES resellers (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX domains_by_updated ON domains (updated_at, id);
CREATE INDEX domains_of_reseller ON domains (reseller_id, name);
CREATE INDEX domains_of_reseller_by_updated ON domains (reseller_id, updated_at, id);

-- `seq` is the rowid the full-text index points at: an alias of the rowid, so VACUUM keeps it.
CREATE TABLE users (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    domain_id BLOB NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    extension TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    department TEXT NOT NULL,
    site TEXT NOT NULL,
    scope TEXT NOT NULL,
    listed BOOLEAN NOT NULL,
    password_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sort_key TEXT NOT NULL,
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

CREATE VIRTUAL TABLE users_fts USING fts5 (
    search_text, content = 'users', content_rowid = 'seq', tokenize = 'trigram'
);
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, search_text) VALUES (new.seq, new.search_text);
END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, search_text) VALUES ('delete', old.seq, old.search_text);
END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF search_text ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, search_text) VALUES ('delete', old.seq, old.search_text);
    INSERT INTO users_fts (rowid, search_text) VALUES (new.seq, new.search_text);
END;

-- Shared contacts have no owner; personal ones belong to a user of the same domain.
CREATE TABLE contacts (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    domain_id BLOB NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    owner_user_id BLOB,
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
    sort_key TEXT NOT NULL,
    search_text TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,
    FOREIGN KEY (owner_user_id, domain_id) REFERENCES users (id, domain_id) ON DELETE CASCADE
);
-- The store's duplicate check: one live contact per book and duplicate key, race-free.
CREATE UNIQUE INDEX live_contacts_unique ON contacts (domain_id, coalesce(owner_user_id, x''), duplicate_key)
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

CREATE VIRTUAL TABLE contacts_fts USING fts5 (
    search_text, content = 'contacts', content_rowid = 'seq', tokenize = 'trigram'
);
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, search_text) VALUES (new.seq, new.search_text);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, search_text) VALUES ('delete', old.seq, old.search_text);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF search_text ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, search_text) VALUES ('delete', old.seq, old.search_text);
    INSERT INTO contacts_fts (rowid, search_text) VALUES (new.seq, new.search_text);
END;

-- entry_id is a user or a contact; a favorite of an entry that is gone simply never shows.
CREATE TABLE favorites (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    entry_id BLOB NOT NULL,
    PRIMARY KEY (user_id, entry_id)
);

CREATE TABLE presence (
    user_id BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    chat BOOLEAN NOT NULL,
    message TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- `owner` names the layer's owner as text; domain_id/user_id let the layer go with its owner.
CREATE TABLE settings (
    layer TEXT NOT NULL,
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    domain_id BLOB REFERENCES domains (id) ON DELETE CASCADE,
    user_id BLOB REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (layer, owner, key)
);
CREATE INDEX settings_of_domain ON settings (domain_id);
CREATE INDEX settings_of_user ON settings (user_id);

-- No foreign key on domain_id: the log outlives what it tells about.
CREATE TABLE audit_log (
    id BLOB PRIMARY KEY NOT NULL,
    domain_id BLOB,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_id BLOB,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_of_domain ON audit_log (domain_id, id);

CREATE TABLE tokens (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE INDEX tokens_of_user ON tokens (user_id, kind, id);

CREATE TABLE login_failures (
    key TEXT PRIMARY KEY NOT NULL,
    count INTEGER NOT NULL,
    last_failure INTEGER
);
