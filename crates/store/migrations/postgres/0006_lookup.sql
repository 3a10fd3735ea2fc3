-- Caller-ID look-ups (and call blocking).
--
-- A look-up finds contacts by the last seven digits of any of their numbers (all the
-- digits of shorter ones): `<number>_key`, computed in Rust when a contact is written
-- (`PhoneNumber::lookup_key`, from the E.164 form or else the digits as typed). Every
-- matching rule (same E.164, same national number, one number ending the other) implies
-- equal keys, so one index probe per number column finds every candidate of one book.
ALTER TABLE contacts ADD COLUMN work_phone_key TEXT;
ALTER TABLE contacts ADD COLUMN mobile_phone_key TEXT;
ALTER TABLE contacts ADD COLUMN home_phone_key TEXT;
ALTER TABLE contacts ADD COLUMN fax_key TEXT;
-- Contacts written before this version: the same keys, worked out in SQL.
UPDATE contacts SET
    work_phone_key = CASE WHEN work_phone_e164 IS NOT NULL THEN right(replace(work_phone_e164, '+', ''), 7)
        WHEN work_phone IS NOT NULL THEN right(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(work_phone, ' ', ''), '+', ''), '-', ''), '(', ''), ')', ''), '.', ''), ',', ''), '/', ''), '#', ''), '*', ''), 'x', ''), 'X', ''), 7) END,
    mobile_phone_key = CASE WHEN mobile_phone_e164 IS NOT NULL THEN right(replace(mobile_phone_e164, '+', ''), 7)
        WHEN mobile_phone IS NOT NULL THEN right(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(mobile_phone, ' ', ''), '+', ''), '-', ''), '(', ''), ')', ''), '.', ''), ',', ''), '/', ''), '#', ''), '*', ''), 'x', ''), 'X', ''), 7) END,
    home_phone_key = CASE WHEN home_phone_e164 IS NOT NULL THEN right(replace(home_phone_e164, '+', ''), 7)
        WHEN home_phone IS NOT NULL THEN right(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(home_phone, ' ', ''), '+', ''), '-', ''), '(', ''), ')', ''), '.', ''), ',', ''), '/', ''), '#', ''), '*', ''), 'x', ''), 'X', ''), 7) END,
    fax_key = CASE WHEN fax_e164 IS NOT NULL THEN right(replace(fax_e164, '+', ''), 7)
        WHEN fax IS NOT NULL THEN right(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(fax, ' ', ''), '+', ''), '-', ''), '(', ''), ')', ''), '.', ''), ',', ''), '/', ''), '#', ''), '*', ''), 'x', ''), 'X', ''), 7) END;
CREATE INDEX live_contacts_by_work_phone_key ON contacts (domain_id, owner_user_id, work_phone_key)
    WHERE deleted_at IS NULL AND work_phone_key IS NOT NULL;
CREATE INDEX live_contacts_by_mobile_phone_key ON contacts (domain_id, owner_user_id, mobile_phone_key)
    WHERE deleted_at IS NULL AND mobile_phone_key IS NOT NULL;
CREATE INDEX live_contacts_by_home_phone_key ON contacts (domain_id, owner_user_id, home_phone_key)
    WHERE deleted_at IS NULL AND home_phone_key IS NOT NULL;
CREATE INDEX live_contacts_by_fax_key ON contacts (domain_id, owner_user_id, fax_key)
    WHERE deleted_at IS NULL AND fax_key IS NOT NULL;

-- A domain's blocked numbers (`+12065550100`) and prefixes (`+1900`), both kept as
-- E.164 digits after a `+`. A look-up asks for every prefix of the calling number at
-- once (`pattern IN (…)`), which this unique key answers.
CREATE TABLE blocked_numbers (
    id UUID PRIMARY KEY,
    domain_id UUID NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    pattern TEXT COLLATE "C" NOT NULL,
    is_prefix BOOLEAN NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (domain_id, pattern)
);

-- A user's numbers that ring through although the domain blocks them (E.164).
CREATE TABLE allowed_numbers (
    id UUID PRIMARY KEY,
    domain_id UUID NOT NULL,
    user_id UUID NOT NULL,
    number TEXT COLLATE "C" NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, number),
    FOREIGN KEY (user_id, domain_id) REFERENCES users (id, domain_id) ON DELETE CASCADE
);
