-- What a contact stands for: a person (every contact written before this migration), a
-- company card, or a group of other cards of its book (vCard 4.0 `KIND:group`, Apple's
-- `X-ADDRESSBOOKSERVER-KIND:group`). A column rather than a part of `details`, so the
-- directory, phone books, caller-ID and duplicate detection can leave groups out in SQL.
-- A group's members are in `details` (`members`), as clients wrote them.
ALTER TABLE contacts ADD COLUMN kind TEXT NOT NULL DEFAULT 'individual'
    CHECK (kind IN ('individual', 'organization', 'group'));

-- A company with no first or last name was written out as a company card, and is read
-- back as one: such contacts are organizations, as the app makes them from now on (it
-- also looks at the middle name, which lives in `details`; a middle name alone beside a
-- company is rarer than this needs).
UPDATE contacts SET kind = 'organization'
    WHERE first_name = '' AND last_name = '' AND company <> '';

-- An import's waiting updates carry every column a contact's fields are written to.
ALTER TABLE import_changes ADD COLUMN kind TEXT;

-- A book's groups, for the portal to list: few rows, so a partial index.
CREATE INDEX contacts_groups ON contacts (domain_id, owner_user_id, sort_key) WHERE kind = 'group' AND deleted_at IS NULL;
