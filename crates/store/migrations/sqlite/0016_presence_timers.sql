-- A status message may last until a time, and "busy" may be set until a time: past it,
-- `serve` clears the message, or turns the state back to available, and tells the
-- domain's open pages (`PresenceTimers`, `DirectoryStore::expire_presence`).
ALTER TABLE presence ADD COLUMN message_until INTEGER;
ALTER TABLE presence ADD COLUMN busy_until INTEGER;
CREATE INDEX presence_messages_until ON presence (message_until) WHERE message_until IS NOT NULL;
CREATE INDEX presence_busy_until ON presence (busy_until) WHERE busy_until IS NOT NULL;
