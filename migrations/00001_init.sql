-- +goose Up
-- Accounts. Names are ASCII only (validated by the application), so the
-- NOCASE collation makes them unique without regard to case.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL DEFAULT 'user'
                  CHECK (role IN ('user', 'creator', 'admin')),
    created_ms    INTEGER NOT NULL
);

-- Sign-in sessions. Only the SHA-256 of the token is stored; the token
-- itself lives in the user's cookie.
CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_ms);

-- Chat namespaces. min_role is the lowest role allowed to connect.
CREATE TABLE namespaces (
    id       INTEGER PRIMARY KEY,
    title    TEXT    NOT NULL,
    img      TEXT    NOT NULL,
    endpoint TEXT    NOT NULL UNIQUE CHECK (endpoint LIKE '/_%'),
    min_role TEXT    NOT NULL DEFAULT 'user'
             CHECK (min_role IN ('user', 'creator', 'admin'))
);

-- Rooms of a namespace; a title is unique within its namespace.
CREATE TABLE rooms (
    id           INTEGER PRIMARY KEY,
    namespace_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
    title        TEXT    NOT NULL,
    private      INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
    UNIQUE (namespace_id, title)
);

-- Chat messages. The author's name is kept with the message so history
-- reads need no join; user_id keeps the link to the account.
CREATE TABLE messages (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id  INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    username TEXT    NOT NULL,
    text     TEXT    NOT NULL,
    time_ms  INTEGER NOT NULL
);
CREATE INDEX messages_room_id ON messages(room_id, id);

-- +goose Down
DROP TABLE messages;
DROP TABLE rooms;
DROP TABLE namespaces;
DROP TABLE sessions;
DROP TABLE users;
