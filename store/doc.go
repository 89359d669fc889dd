// Package store is the SQLite implementation of the storage interfaces of
// package chat (NamespaceStore, MessageStore, UserStore, SessionStore),
// using the pure-Go driver modernc.org/sqlite.
//
// Open applies the embedded migrations of package migrations with goose and
// sets the connection pragmas in the DSN, so every pooled connection gets
// them: WAL journal, synchronous=FULL (a committed message survives a power
// loss, which is what an acknowledgement promises), a busy timeout of 5s,
// foreign keys on, and write transactions that take the write lock at BEGIN
// (_txlock=immediate) so concurrent writers queue instead of failing.
//
// Public methods own their transaction; helpers take a *sql.Tx. Methods
// return *chat.Error values with chat.ENOTFOUND or chat.ECONFLICT where the
// chat interfaces document them.
package store
