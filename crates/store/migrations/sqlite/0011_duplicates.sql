-- Possible duplicates in a book, and what merging them leaves behind
-- (`DuplicateStore`, `duplicates_queries.rs`).
--
-- A book's duplicates are its live contacts grouped by one of their keys: a number's
-- E.164 form (in any of the four number columns), the email (case aside), or the sort
-- key (folded names and company) when there is a company. Each grouping walks one of
-- these indexes (the sort key's is `live_contacts_by_name`) in key order, so a page of
-- groups never compares contacts pairwise.
CREATE INDEX live_contacts_by_work_phone_e164 ON contacts (domain_id, owner_user_id, work_phone_e164)
    WHERE deleted_at IS NULL AND work_phone_e164 IS NOT NULL;
CREATE INDEX live_contacts_by_mobile_phone_e164 ON contacts (domain_id, owner_user_id, mobile_phone_e164)
    WHERE deleted_at IS NULL AND mobile_phone_e164 IS NOT NULL;
CREATE INDEX live_contacts_by_home_phone_e164 ON contacts (domain_id, owner_user_id, home_phone_e164)
    WHERE deleted_at IS NULL AND home_phone_e164 IS NOT NULL;
CREATE INDEX live_contacts_by_fax_e164 ON contacts (domain_id, owner_user_id, fax_e164)
    WHERE deleted_at IS NULL AND fax_e164 IS NOT NULL;
CREATE INDEX live_contacts_by_email ON contacts (domain_id, owner_user_id, lower(email))
    WHERE deleted_at IS NULL AND email <> '';

-- Two contacts someone said are not the same person: never offered as duplicates again.
-- The smaller id comes first, so a pair has one row.
CREATE TABLE not_duplicates (
    id_a BLOB NOT NULL,
    id_b BLOB NOT NULL,
    domain_id BLOB NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    owner_user_id BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (id_a, id_b),
    CHECK (id_a < id_b),
    FOREIGN KEY (owner_user_id, domain_id) REFERENCES users (id, domain_id) ON DELETE CASCADE
);
CREATE INDEX not_duplicates_of_owner ON not_duplicates (owner_user_id);

-- A contact merged into another: its id (the UID files and phones carry) now stands for
-- the survivor, so an import or a favorite naming it reaches the survivor. Restoring the
-- merged contact from the trash deletes its row. No foreign key to `contacts`: the row
-- outlives the merged contact's 30 days in the trash, which is when it matters most.
CREATE TABLE merged_contacts (
    id BLOB PRIMARY KEY NOT NULL,
    survivor_id BLOB NOT NULL,
    domain_id BLOB NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    owner_user_id BLOB,
    merged_at INTEGER NOT NULL,
    FOREIGN KEY (owner_user_id, domain_id) REFERENCES users (id, domain_id) ON DELETE CASCADE
);
CREATE INDEX merged_contacts_by_survivor ON merged_contacts (survivor_id);
CREATE INDEX merged_contacts_of_owner ON merged_contacts (owner_user_id);
