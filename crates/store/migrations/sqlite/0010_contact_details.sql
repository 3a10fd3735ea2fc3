-- Contacts that keep everything they were given.
--
-- `details` holds what the columns do not (`ContactDetails` of the core crate, as JSON):
-- every number with its kind and label, every email, addresses, web addresses, dates,
-- messaging handles, the parts of a name beyond first and last, the department, and the
-- properties of a file kept verbatim. A contact whose columns say everything about it
-- (at most one number of each of the four kinds and one email, without labels) keeps
-- '{}', as every contact written before this version does: its numbers and email are
-- read from their columns, so it reads the same as before.
ALTER TABLE contacts ADD COLUMN details TEXT NOT NULL DEFAULT '{}';

-- Caller-ID keys (`PhoneNumber::lookup_key`) of the numbers beyond the four columns, so
-- a look-up finds a contact by any of its numbers with one more index probe.
CREATE TABLE contact_numbers (
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    domain_id BLOB NOT NULL,
    owner_user_id BLOB,
    position INTEGER NOT NULL,
    lookup_key TEXT NOT NULL,
    PRIMARY KEY (contact_id, position)
);
CREATE INDEX contact_numbers_by_key ON contact_numbers (domain_id, owner_user_id, lookup_key);
CREATE INDEX contact_numbers_of_owner ON contact_numbers (owner_user_id);

-- An import's waiting updates carry the new details too (see 0008_pending_imports).
ALTER TABLE import_changes ADD COLUMN details TEXT;
