-- +goose Up
-- The predefined namespaces and rooms of docs/protocol.md.
INSERT INTO namespaces (id, title, img, endpoint, min_role) VALUES
    (1, 'Users',    '/static/img/user.svg',    '/user',    'user'),
    (2, 'Creators', '/static/img/creator.svg', '/creator', 'creator'),
    (3, 'Admins',   '/static/img/admin.svg',   '/admin',   'admin');

INSERT INTO rooms (id, namespace_id, title, private) VALUES
    (1, 1, 'chat',      0),
    (2, 1, 'random',    0),
    (3, 1, 'help',      0),
    (4, 2, 'resources', 0),
    (5, 2, 'drafts',    0),
    (6, 3, 'general',   0),
    (7, 3, 'ops',       0);

-- +goose Down
DELETE FROM rooms WHERE id BETWEEN 1 AND 7;
DELETE FROM namespaces WHERE id BETWEEN 1 AND 3;
