-- Imports into PostgreSQL keep one transaction (MVCC blocks no other writer), so these
-- stay empty there; the same schema keeps the shared SQL valid on both back-ends.
--
-- Imports write in short transactions into rows no reader sees, and one short last
-- commit makes them visible: a long import never holds SQLite's one write lock for long.
--
-- While an import runs it has a `pending_imports` row; the contacts it creates and the
-- audit entries it writes carry its id in `import_id`, and every reader skips rows whose
-- import is still pending. Updates and trashing wait in `import_changes` and are applied
-- by the last commit, which also deletes the `pending_imports` row. After that commit
-- `import_id` is cleared a few thousand rows at a time. An import that fails, is
-- abandoned or was running when the process died is discarded (its rows deleted, its
-- `pending_imports` row last) when it ends, or else when the server next starts.
CREATE TABLE pending_imports (
    id UUID PRIMARY KEY,
    domain_id UUID NOT NULL,
    started_at BIGINT NOT NULL,
    -- Set by every short transaction of the import: one idle for long is dead.
    alive_at BIGINT NOT NULL
);

ALTER TABLE contacts ADD COLUMN import_id UUID;
CREATE INDEX contacts_of_import ON contacts (import_id) WHERE import_id IS NOT NULL;
ALTER TABLE audit_log ADD COLUMN import_id UUID;
CREATE INDEX audit_log_of_import ON audit_log (import_id) WHERE import_id IS NOT NULL;

-- An import's updates (the new values) and contacts to trash (`trash`, no values),
-- applied at its last commit; the last one planned for a contact wins.
CREATE TABLE import_changes (
    import_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    trash BOOLEAN NOT NULL,
    first_name TEXT,
    last_name TEXT,
    company TEXT,
    title TEXT,
    work_phone TEXT,
    work_phone_e164 TEXT,
    mobile_phone TEXT,
    mobile_phone_e164 TEXT,
    home_phone TEXT,
    home_phone_e164 TEXT,
    fax TEXT,
    fax_e164 TEXT,
    email TEXT,
    notes TEXT,
    duplicate_key TEXT,
    sort_key TEXT COLLATE "C",
    search_text TEXT,
    work_phone_key TEXT,
    mobile_phone_key TEXT,
    home_phone_key TEXT,
    fax_key TEXT,
    PRIMARY KEY (import_id, contact_id)
);
-- An import's look-ups find the contacts its waiting updates give a duplicate key.
CREATE INDEX import_changes_by_key ON import_changes (import_id, duplicate_key);
