-- What address-book apps call the user's own contacts (CardDAV, `app/src/dav.rs`): the
-- resource name a client chose for a card and the card's UID, kept so that the client
-- finds its card where it put it and a second card with the same UID is refused. A
-- contact without a row here is `{id}.vcf`, with its id as UID.
CREATE TABLE dav_names (
    contact_id UUID PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    owner_user_id UUID NOT NULL,
    name TEXT NOT NULL,
    uid TEXT NOT NULL
);
CREATE UNIQUE INDEX dav_names_by_name ON dav_names (owner_user_id, name);
CREATE UNIQUE INDEX dav_names_by_uid ON dav_names (owner_user_id, uid);
