-- The directory feed's rows no longer name their domain through a foreign key: checking
-- it looked the domain's row up for every row written, a third of the time an import of
-- 100,000 contacts took to write their rows. Nothing else writes a domain's id there
-- than the statements that take the domain's next number, in the same transaction, so
-- the domain exists; `delete_domain` deletes a domain's rows with it, as the cascade did.
ALTER TABLE directory_changes DROP CONSTRAINT directory_changes_domain_id_fkey;
