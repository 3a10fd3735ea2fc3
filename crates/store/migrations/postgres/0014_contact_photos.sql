-- Contacts' photos (`PhotoStore`, `photos_queries.rs`): one per contact, apart from the
-- contact's row so that lists, look-ups and the in-memory books never read the bytes.
-- The image is kept as it was given; `media_type` is what its first bytes say it is, and
-- `hash` (SHA-256, hex) is its `ETag`. A photo goes with its contact: it stays while the
-- contact is in the trash and is deleted with it (and with its user or domain).
CREATE TABLE contact_photos (
    contact_id UUID PRIMARY KEY NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    media_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The same table as SQLite's, which writes an import in short transactions (see
-- `0008_pending_imports.sql`); here an import is one transaction and never uses it.
CREATE TABLE import_photos (
    import_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    media_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (import_id, contact_id)
);
