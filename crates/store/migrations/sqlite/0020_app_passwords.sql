-- App passwords: one secret per address-book app (CardDAV) and device, named, listed
-- with its last use and revocable by its user (`app/src/app_passwords.rs`). Only the
-- SHA-256 of a secret is kept: secrets are random (about 80 bits), so a slow hash would
-- only slow down every CardDAV request, each of which signs in again.
CREATE TABLE app_passwords (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL,
    domain_id BLOB NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    FOREIGN KEY (user_id, domain_id) REFERENCES users (id, domain_id) ON DELETE CASCADE
);
CREATE INDEX app_passwords_by_secret ON app_passwords (user_id, secret_hash);
