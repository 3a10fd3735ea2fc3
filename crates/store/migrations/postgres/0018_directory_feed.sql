-- The directory feed (`FeedStore`, `feed_queries.rs`): what changed in a domain's
-- directory, in the order the changes committed, for apps that keep a copy.
--
-- One row per entry (a coworker, a shared or a personal contact) and per star a user
-- gave, holding the number of its latest change: a change moves the row to the end
-- rather than adding one, so the table stays the size of the directory (plus the
-- deleted entries of the last 30 days). `audience_id` is the one user who sees the row
-- (a personal contact's owner, the user who starred), or the nil id for everyone who
-- sees the entry. What the row says (upsert or delete, and the entry) is read when the
-- feed is read, with the reader's permissions of that moment.
--
-- The numbers come from `domains.feed_seq`, taken in the writing transaction by an
-- UPDATE of the domain's row: its lock is held to the commit, so a domain's writers
-- commit in the order of their numbers and a reader never passes a number that commits
-- late. `feed_floor` is the highest number of a deleted entry's row forgotten after 30
-- days: a cursor below it has missed a deletion and must start again.
ALTER TABLE domains ADD COLUMN feed_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN feed_floor BIGINT NOT NULL DEFAULT 0;

CREATE TABLE directory_changes (
    domain_id UUID NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    entry_id UUID NOT NULL,
    audience_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (domain_id, entry_id, audience_id)
);
CREATE INDEX directory_changes_in_order ON directory_changes (domain_id, seq, entry_id, audience_id);
CREATE INDEX directory_changes_by_age ON directory_changes (changed_at);

-- What exists now, as number 0.
INSERT INTO directory_changes (domain_id, entry_id, audience_id, seq, changed_at)
SELECT domain_id, id, coalesce(owner_user_id, CAST('00000000-0000-0000-0000-000000000000' AS UUID)), 0, updated_at FROM contacts WHERE deleted_at IS NULL;
INSERT INTO directory_changes (domain_id, entry_id, audience_id, seq, changed_at)
SELECT domain_id, id, CAST('00000000-0000-0000-0000-000000000000' AS UUID), 0, updated_at FROM users;
INSERT INTO directory_changes (domain_id, entry_id, audience_id, seq, changed_at)
SELECT users.domain_id, favorites.entry_id, favorites.user_id, 0, users.updated_at
FROM favorites JOIN users ON users.id = favorites.user_id
ON CONFLICT DO NOTHING;
