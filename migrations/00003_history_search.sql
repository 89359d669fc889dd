-- +goose Up
-- Chat protocol v2: edited messages, rooms created live (titles unique
-- without regard to case), the audit of moderators' deletions and the
-- full-text index of message texts.

-- When a message was last edited (ms since the epoch); 0 = never.
ALTER TABLE messages ADD COLUMN edited_ms INTEGER NOT NULL DEFAULT 0;

-- Room titles are ASCII (validated by the application), so NOCASE makes
-- them unique in their namespace without regard to case.
CREATE UNIQUE INDEX rooms_title_nocase ON rooms(namespace_id, title COLLATE NOCASE);

-- Every deletion of a message by someone other than its author (a
-- moderator). The message itself is gone from messages (a hard delete);
-- this keeps who deleted what, whose it was, where, its text and when.
-- No foreign keys: the row outlives the message and its room.
CREATE TABLE message_deletions (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL,
    namespace  TEXT    NOT NULL,
    room       TEXT    NOT NULL,
    author_id  INTEGER NOT NULL,
    author     TEXT    NOT NULL,
    deleter_id INTEGER NOT NULL,
    deleter    TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    posted_ms  INTEGER NOT NULL,
    deleted_ms INTEGER NOT NULL
);

-- The full-text index of message texts: an FTS5 table over the text
-- column of messages (external content, so the text is stored once), kept
-- in step by the triggers below. Tokens are runs of Unicode letters and
-- digits, folded to lower case; diacritics are kept (as PostgreSQL's
-- 'simple' configuration does).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text, content='messages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 0'
);

-- +goose StatementBegin
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
-- +goose StatementEnd

-- Index the messages stored before this migration.
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');

-- +goose Down
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_insert;
DROP TABLE messages_fts;
DROP TABLE message_deletions;
DROP INDEX rooms_title_nocase;
ALTER TABLE messages DROP COLUMN edited_ms;
