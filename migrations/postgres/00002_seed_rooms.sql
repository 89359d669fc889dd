-- +goose Up
-- The predefined namespaces and rooms of docs/protocol.md (as
-- ../00002_seed_rooms.sql). The identity sequences are moved past the
-- explicit ids so that rows added later get fresh ones.
INSERT INTO namespaces (id, title, img, endpoint, min_role) VALUES
    (1, 'Users',    '/static/img/user.svg',    '/user',    'user'),
    (2, 'Creators', '/static/img/creator.svg', '/creator', 'creator'),
    (3, 'Admins',   '/static/img/admin.svg',   '/admin',   'admin');

INSERT INTO rooms (id, namespace_id, title, private) VALUES
    (1, 1, 'chat',      FALSE),
    (2, 1, 'random',    FALSE),
    (3, 1, 'help',      FALSE),
    (4, 2, 'resources', FALSE),
    (5, 2, 'drafts',    FALSE),
    (6, 3, 'general',   FALSE),
    (7, 3, 'ops',       FALSE);

SELECT setval(pg_get_serial_sequence('namespaces', 'id'), (SELECT MAX(id) FROM namespaces));
SELECT setval(pg_get_serial_sequence('rooms', 'id'), (SELECT MAX(id) FROM rooms));

-- +goose Down
DELETE FROM rooms WHERE id BETWEEN 1 AND 7;
DELETE FROM namespaces WHERE id BETWEEN 1 AND 3;
