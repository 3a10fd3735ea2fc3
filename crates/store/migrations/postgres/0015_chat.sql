-- Chat between coworkers of one domain (`ChatStore`, `chat_queries.rs`).
--
-- A message belongs to its pair of people: `low_id` and `high_id` are the two user ids
-- in order, whoever sent it, so one index walk pages a conversation newest first (ids
-- are UUIDv7, in the order they were sent). A message deleted by its sender keeps its
-- place with no text.
CREATE TABLE chat_messages (
    id UUID PRIMARY KEY NOT NULL,
    domain_id UUID NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    sender_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recipient_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    low_id UUID NOT NULL,
    high_id UUID NOT NULL,
    text TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (low_id < high_id)
);
CREATE INDEX chat_messages_of_pair ON chat_messages (low_id, high_id, id);
CREATE INDEX chat_messages_by_age ON chat_messages (domain_id, sent_at);
CREATE INDEX chat_messages_of_recipient ON chat_messages (recipient_id);

-- Each person's side of a conversation: its latest message (what the list of
-- conversations is ordered by), how far they have read and received, and how many of
-- the other's messages they have not read. Written with every message, in its
-- transaction, so the list and the unread counts never scan messages.
CREATE TABLE chat_conversations (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    peer_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    domain_id UUID NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    last_message_id UUID NOT NULL,
    read_up_to UUID,
    delivered_up_to UUID,
    unread BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, peer_id)
);
CREATE INDEX chat_conversations_by_recency ON chat_conversations (user_id, last_message_id);
CREATE INDEX chat_conversations_of_peer ON chat_conversations (peer_id);
