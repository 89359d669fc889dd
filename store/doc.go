// Package store implements the storage interfaces of package chat
// (NamespaceStore, MessageStore, UserStore, SessionStore) on SQLite, using
// the pure-Go driver modernc.org/sqlite, or on PostgreSQL, using
// github.com/jackc/pgx/v5 through database/sql. Both backends behave the
// same: names unique without regard to case, messages oldest first with
// growing ids, a message committed before AppendMessage returns, the same
// errors.
//
// Open takes a file path (SQLite) or a postgres:// / postgresql:// URL
// (PostgreSQL) and applies the embedded migrations of package migrations
// with goose before returning; the two dialects have their own migration
// files with the same version numbers.
//
// SQLite: the connection pragmas are set in the DSN, so every pooled
// connection gets them: WAL journal, synchronous=FULL (a committed message
// survives a power loss, which is what an acknowledgement promises), a busy
// timeout of 5s, foreign keys on, and write transactions that take the
// write lock at BEGIN (_txlock=immediate) so concurrent writers queue
// instead of failing. One file serves the nodes of one machine only.
//
// PostgreSQL: several chatd nodes share one database. The search_path URL
// parameter selects (and, when missing, creates) the schema of the tables;
// migrations hold an advisory lock so nodes starting together apply them
// once; a node opens at most 16 connections.
//
// Protocol v2 (migration 00003): a message has an edit time (edited_ms);
// DeleteMessage is a hard delete (the row leaves messages, so every history,
// page, count and search leaves it out), and a deletion by someone other
// than the author writes a row of message_deletions (who, whose, which
// message, where, its text, when) in the same transaction. Room titles are
// unique in their namespace without regard to case (an index on title
// COLLATE NOCASE, or on lower(title)). Search uses each database's
// full-text index: on SQLite an FTS5 table over messages.text (external
// content, unicode61 tokens folded to lower case, diacritics kept) kept in
// step by insert, update and delete triggers; on PostgreSQL a generated
// tsvector column in the 'simple' configuration (lower case, no stemming,
// no stop words) with a GIN index. Words are passed as text, never as
// search syntax: each one an FTS5 string, or all of them to
// plainto_tsquery.
//
// Queries are written once with ? placeholders and rewritten to $n for
// PostgreSQL. Public methods own their transaction, except AppendMessage:
// concurrent appends are stored together, up to 128 messages per
// transaction (group commit, see message.go), each caller still getting
// its own result once the shared transaction has committed. Methods return
// *chat.Error values with chat.ENOTFOUND or chat.ECONFLICT where the chat
// interfaces document them.
package store
