-- A person's own contacts reach a desk phone only with their say (see app::authz):
-- a phone set up by its bound user shows them at once, one set up by someone else only
-- once that user turned `own_contacts_on_phones` on. Devices made before this column
-- have no known creator and so wait for the user's consent.
ALTER TABLE devices ADD COLUMN created_by BLOB;
ALTER TABLE users ADD COLUMN own_contacts_on_phones BOOLEAN NOT NULL DEFAULT 0;

-- The audit log, which managers and providers read, keeps nothing of what a person's own
-- contacts hold: entries written before that rule lose their contents here.
UPDATE audit_log SET details = '{"book":"personal"}'
WHERE action IN ('contact.create', 'contact.update', 'contact.delete', 'contact.restore')
    AND (details LIKE '%"book":"personal"%' OR target_id IN (SELECT id FROM contacts WHERE owner_user_id IS NOT NULL));
