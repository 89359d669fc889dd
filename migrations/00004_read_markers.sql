-- +goose Up
-- Read markers: the id of the last message each user has read in each
-- room (unread counts are the messages after it). A user without a row
-- for a room has read nothing there (marker 0).
CREATE TABLE read_markers (
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    room_id      INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    last_read_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, room_id)
) WITHOUT ROWID;
-- For the cascade of a room's deletion.
CREATE INDEX read_markers_room ON read_markers(room_id);

-- +goose Down
DROP TABLE read_markers;
