-- Presence that reflects reality: a phone system's line state and the person's open
-- sessions feed the shown state and chat dot (`state`, `chat`, `chat_away`), which
-- the store derives in every presence write (`directory_queries.rs`, `derive`).
-- What a person set by hand stays apart: `manual_state` (NULL: none) and `manual_chat`.
ALTER TABLE presence ADD COLUMN manual_state TEXT;
ALTER TABLE presence ADD COLUMN manual_chat BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE presence SET manual_state = state, manual_chat = chat;
ALTER TABLE presence ADD COLUMN chat_away BOOLEAN NOT NULL DEFAULT FALSE;
-- The line state a PBX credential last reported (NULL: none), and when.
ALTER TABLE presence ADD COLUMN line_state TEXT;
ALTER TABLE presence ADD COLUMN line_at INTEGER;
-- Whether a session (an open event stream) of the person is connected on any server,
-- when they were last active in one, and whether that is long enough ago to be away.
ALTER TABLE presence ADD COLUMN connected BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE presence ADD COLUMN active_at INTEGER;
ALTER TABLE presence ADD COLUMN away BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX presence_connected ON presence (active_at) WHERE connected;

-- One row per open event stream, on whichever server holds it. The server renews
-- `expires_at` while the stream is open; a crashed server's rows expire and go.
CREATE TABLE presence_connections (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX presence_connections_of_user ON presence_connections (user_id, expires_at);
CREATE INDEX presence_connections_expiry ON presence_connections (expires_at);

-- Credentials of phone systems (PBXes) and other integrations: each may report the
-- line state of its one domain's users, and nothing else. The secret is kept as its
-- SHA-256 hash.
CREATE TABLE pbx_credentials (
    id BLOB PRIMARY KEY NOT NULL,
    domain_id BLOB NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX pbx_credentials_of_domain ON pbx_credentials (domain_id, id);
