-- Possible duplicates by any number (see 0011_duplicates): the E.164 form of the numbers
-- beyond the four columns, beside their caller-ID keys. Rows written before this version
-- take it from the contact's details, where every number keeps its E.164 form.
ALTER TABLE contact_numbers ADD COLUMN e164 TEXT;
UPDATE contact_numbers SET e164 = (
    SELECT contacts.details::jsonb -> 'phones' -> contact_numbers.position -> 'number' ->> 'e164'
    FROM contacts WHERE contacts.id = contact_numbers.contact_id
);
CREATE INDEX contact_numbers_by_e164 ON contact_numbers (domain_id, owner_user_id, e164) WHERE e164 IS NOT NULL;
